package device

import (
	"errors"
	"fmt"
	"strings"
)

// BootReportSize is the length of a HID boot-protocol keyboard input
// report: modifier bits, a reserved byte and six key slots.
const BootReportSize = 8

// ErrPartialReport is wrapped by the error KeyboardDecoder.Feed returns for a
// report that is not BootReportSize bytes long.
var ErrPartialReport = errors.New("partial HID report")

// Modifier bits of byte 0 of a boot keyboard report.
const (
	modLeftShift  = 0x02
	modRightShift = 0x20
)

// Keyboard page (0x07) usages with a meaning of their own.
const (
	usageErrorRollOver = 0x01 // "phantom" state: too many keys down
	usageErrorUndef    = 0x03 // last of the error usages 0x01..0x03
	usageEnter         = 0x28
	usageKeypadEnter   = 0x58
)

// keyChars maps keyboard page usages to the characters a US layout types,
// without and with Shift. Usages not listed type nothing.
var keyChars = func() map[byte][2]byte {
	m := map[byte][2]byte{}
	for u := byte(0x04); u <= 0x1d; u++ { // a..z
		m[u] = [2]byte{'a' + u - 0x04, 'A' + u - 0x04}
	}
	digits, shifted := "1234567890", "!@#$%^&*()"
	for i := range 10 { // top-row 1..9, 0
		m[byte(0x1e+i)] = [2]byte{digits[i], shifted[i]}
	}
	for i := range 10 { // keypad 1..9, 0: digits whatever Shift says
		m[byte(0x59+i)] = [2]byte{digits[i], digits[i]}
	}
	for u, c := range map[byte]string{
		0x2c: "  ", 0x2d: "-_", 0x2e: "=+", 0x2f: "[{", 0x30: "]}", 0x31: `\|`,
		0x32: `\|`, // Non-US # and ~: a US layout types backslash
		0x33: ";:", 0x34: `'"`, 0x35: "`~", 0x36: ",<", 0x37: ".>", 0x38: "/?",
		0x54: "//", 0x55: "**", 0x56: "--", 0x57: "++", 0x63: "..", // keypad
	} {
		m[u] = [2]byte{c[0], c[1]}
	}
	return m
}()

// KeyboardDecoder turns the HID boot keyboard input reports a keyboard-style
// key sends into the codes it types, one code per Enter.
//
// A report is 8 bytes: modifier bits, a reserved byte, then the usages
// (keyboard page 0x07) of up to six keys that are down. A key types its
// character when it goes down, that is when it is in a report and was not in
// the one before, so a key held across several reports types once, and the
// same key pressed twice (down, all-zero release report, down) types twice.
// Characters follow a US layout: left or right Shift gives upper case letters
// and the shifted symbols; the other modifiers are ignored. Keypad digits
// are digits. Enter or keypad Enter ends the current code; an empty code (a
// lone Enter) is dropped.
//
// Reports whose key slots hold an error usage (0x01 ErrorRollOver, the
// "phantom" report sent when too many keys are down, or 0x02, 0x03) say
// nothing about which keys are down and are ignored whole. Usages that type
// no character (function keys, Tab, Backspace, …) are ignored as noise.
//
// The zero value is ready to use. A KeyboardDecoder is not safe for
// concurrent use.
type KeyboardDecoder struct {
	down    []byte // key usages down in the last report
	pending []byte // typed since the last Enter
}

// Feed decodes one report and returns the codes it ended (usually none, or
// one when it holds Enter).
//
// A report that is not 8 bytes long (a partial or otherwise malformed
// transfer) returns an error wrapping ErrPartialReport that names its length,
// and changes no state: a reader should skip it and go on feeding the
// reports that follow.
func (d *KeyboardDecoder) Feed(report []byte) (codes []string, err error) {
	if len(report) != BootReportSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d (skip it)", ErrPartialReport, len(report), BootReportSize)
	}
	keys := report[2:]
	for _, u := range keys {
		if u >= usageErrorRollOver && u <= usageErrorUndef {
			return nil, nil // phantom state: keep the keys we knew were down
		}
	}
	shift := report[0]&(modLeftShift|modRightShift) != 0
	now := make([]byte, 0, len(keys))
	for _, u := range keys {
		if u == 0 || contains(now, u) {
			continue
		}
		now = append(now, u)
		if contains(d.down, u) {
			continue // held, not pressed again
		}
		switch c, ok := keyChars[u]; {
		case u == usageEnter || u == usageKeypadEnter:
			if len(d.pending) > 0 {
				codes = append(codes, string(d.pending))
				d.pending = d.pending[:0]
			}
		case ok && shift:
			d.pending = append(d.pending, c[1])
		case ok:
			d.pending = append(d.pending, c[0])
		}
	}
	d.down = now
	return codes, nil
}

// Pending returns what has been typed since the last Enter.
func (d *KeyboardDecoder) Pending() string { return string(d.pending) }

// Reset forgets what has been typed since the last Enter and which keys are
// down.
func (d *KeyboardDecoder) Reset() {
	d.down, d.pending = nil, nil
}

func contains(s []byte, b byte) bool {
	for _, x := range s {
		if x == b {
			return true
		}
	}
	return false
}

// modhexAlphabet is Yubico's modhex: the letters for the hex digits 0..f,
// chosen to sit in the same place on most keyboard layouts.
const modhexAlphabet = "cbdefghijklnrtuv"

// IsModhex reports whether s is non-empty, even-length modhex (lower case
// cbdefghijklnrtuv, two characters a byte), as a Yubico OTP is.
func IsModhex(s string) bool {
	_, err := ModhexToHex(s)
	return err == nil
}

// ModhexToHex turns modhex into lower-case hex ("cbdefghijklnrtuv" becomes
// "0123456789abcdef"). s must be non-empty, of even length and lower case.
func ModhexToHex(s string) (string, error) {
	if s == "" || len(s)%2 != 0 {
		return "", fmt.Errorf("modhex %q: length %d, want a non-zero even length", s, len(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		n := strings.IndexByte(modhexAlphabet, s[i])
		if n < 0 {
			return "", fmt.Errorf("modhex %q: %q at %d is not one of %s", s, s[i], i, modhexAlphabet)
		}
		b.WriteByte("0123456789abcdef"[n])
	}
	return b.String(), nil
}
