package device

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line string
		kind EventKind
		code string
	}{
		{"94287082", EventCode, "94287082"},
		{"755224\r", EventCode, "755224"},
		{" 1234567890 ", EventCode, "1234567890"},
		{"ccccccbcgujhingjrdejhgfnuetrgigvejhhgbkugded", EventCode, "ccccccbcgujhingjrdejhgfnuetrgigvejhhgbkugded"},
		{"", EventComment, ""},
		{"# booting", EventComment, ""},
		{"INFO serial=VIRT1 kind=totp", EventInfo, ""},
		{"INFO", EventInfo, ""},
		{"ERR no battery", EventError, ""},
	} {
		ev, err := ParseLine(c.line)
		if err != nil || ev.Kind != c.kind || ev.Code != c.code {
			t.Errorf("ParseLine(%q) = %+v, %v", c.line, ev, err)
		}
	}
	ev, _ := ParseLine("INFO serial=VIRT1 kind=totp")
	if ev.Info["serial"] != "VIRT1" || ev.Info["kind"] != "totp" {
		t.Errorf("info %v", ev.Info)
	}
	if ev, _ := ParseLine("ERR no battery"); ev.Message != "no battery" {
		t.Errorf("message %q", ev.Message)
	}
	for _, bad := range []string{"12345", "12345678901", "9428708x", "INFO serial", "INFO =x", "hello", strings.Repeat("1", 600)} {
		if _, err := ParseLine(bad); !errors.Is(err, ErrBadLine) {
			t.Errorf("ParseLine(%q): %v", bad, err)
		}
	}
	// The error never echoes the line: it may be a mistyped code.
	if _, err := ParseLine("9428708x"); strings.Contains(err.Error(), "9428708") {
		t.Errorf("error echoes the line: %v", err)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"94287082", "INFO serial=a kind=totp", "ERR x", "# c", "", "ccccccbcgujhingjrdejhgfnuetrgigvejhhgbkugded", "INFO a", "12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := ParseLine(line)
		if err != nil {
			if !errors.Is(err, ErrBadLine) {
				t.Fatalf("ParseLine(%q): %v is not ErrBadLine", line, err)
			}
			return
		}
		switch ev.Kind {
		case EventCode:
			if !isCode(ev.Code) || strings.ContainsAny(ev.Code, " \r\n\t") {
				t.Fatalf("code %q from %q", ev.Code, line)
			}
		case EventInfo:
			for k, v := range ev.Info {
				if k == "" || strings.ContainsAny(k+v, " \t\n") {
					t.Fatalf("info %q=%q from %q", k, v, line)
				}
			}
		case EventError, EventComment:
		default:
			t.Fatalf("kind %d", ev.Kind)
		}
	})
}
