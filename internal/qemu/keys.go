package qemu

import (
	"context"
	"fmt"
	"time"
)

// Stroke is one key pressed and released, with Shift held down or not. Key
// is a QEMU QKeyCode name ("a", "1", "kp_1", "ret", …).
type Stroke struct {
	Key   string
	Shift bool
}

// usKeys maps the characters a US keyboard layout types to their keys.
var usKeys = func() map[rune]Stroke {
	m := map[rune]Stroke{'\n': {Key: "ret"}, ' ': {Key: "spc"}}
	for c := 'a'; c <= 'z'; c++ {
		m[c] = Stroke{Key: string(c)}
		m[c-'a'+'A'] = Stroke{Key: string(c), Shift: true}
	}
	for i, c := range "1234567890" {
		m[c] = Stroke{Key: string(c)}
		m[rune("!@#$%^&*()"[i])] = Stroke{Key: string(c), Shift: true}
	}
	for key, cs := range map[string]string{
		"minus": "-_", "equal": "=+", "bracket_left": "[{", "bracket_right": "]}",
		"backslash": `\|`, "semicolon": ";:", "apostrophe": `'"`, "grave_accent": "`~",
		"comma": ",<", "dot": ".>", "slash": "/?",
	} {
		m[rune(cs[0])] = Stroke{Key: key}
		m[rune(cs[1])] = Stroke{Key: key, Shift: true}
	}
	return m
}()

// Text returns the strokes that type s on a US layout; "\n" is Enter.
func Text(s string) ([]Stroke, error) {
	out := make([]Stroke, 0, len(s))
	for i, c := range s {
		k, ok := usKeys[c]
		if !ok {
			return nil, fmt.Errorf("no key types %q (at %d) on a US layout", c, i)
		}
		out = append(out, k)
	}
	return out, nil
}

// Keypad returns the strokes that type digits on the numeric keypad, with
// Shift held down if shift; "\n" is the keypad's Enter.
func Keypad(digits string, shift bool) ([]Stroke, error) {
	out := make([]Stroke, 0, len(digits))
	for i, c := range digits {
		switch {
		case c >= '0' && c <= '9':
			out = append(out, Stroke{Key: "kp_" + string(c), Shift: shift})
		case c == '\n':
			out = append(out, Stroke{Key: "kp_enter", Shift: shift})
		default:
			return nil, fmt.Errorf("%q (at %d) is not on the numeric keypad", c, i)
		}
	}
	return out, nil
}

// Type sends strokes to the guest's keyboard as key events, one event per
// input-send-event command with gap between them: QEMU's USB keyboard queues
// only a few events until the guest polls it, and drops the rest. Shift goes
// down before the first shifted stroke of a run and up after its last, as a
// person types.
func (q *QMP) Type(ctx context.Context, strokes []Stroke, gap time.Duration) error {
	shift := false
	send := func(key string, down bool) error {
		ev := map[string]any{"type": "key", "data": map[string]any{
			"down": down, "key": map[string]any{"type": "qcode", "data": key},
		}}
		if _, err := q.Execute(ctx, "input-send-event", map[string]any{"events": []any{ev}}); err != nil {
			return err
		}
		select {
		case <-time.After(gap):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, s := range strokes {
		if s.Shift != shift {
			if err := send("shift", s.Shift); err != nil {
				return err
			}
			shift = s.Shift
		}
		if err := send(s.Key, true); err != nil {
			return err
		}
		if err := send(s.Key, false); err != nil {
			return err
		}
	}
	if shift {
		return send("shift", false)
	}
	return nil
}
