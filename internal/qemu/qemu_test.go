package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	got, err := Text("aZ1!-_ ~\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Stroke{{"a", false}, {"z", true}, {"1", false}, {"1", true}, {"minus", false}, {"minus", true}, {"spc", false}, {"grave_accent", true}, {"ret", false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Every printable ASCII character has a key.
	for c := rune(0x20); c < 0x7f; c++ {
		if _, err := Text(string(c)); err != nil {
			t.Error(err)
		}
	}
	if _, err := Text("é"); err == nil || !strings.Contains(err.Error(), `'é' (at 0)`) {
		t.Fatalf("é: %v", err)
	}
}

func TestKeypad(t *testing.T) {
	got, err := Keypad("09\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Stroke{{"kp_0", true}, {"kp_9", true}, {"kp_enter", true}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := Keypad("1a", false); err == nil || !strings.Contains(err.Error(), `'a' (at 1)`) {
		t.Fatalf("a letter: %v", err)
	}
}

// fakeQMP is the server end of a QMP connection: it greets, then answers
// each command with answer(command, arguments), sending an event before
// every answer.
func fakeQMP(t *testing.T, answer func(cmd string, args json.RawMessage) string) (client net.Conn, commands <-chan string) {
	t.Helper()
	c, s := net.Pipe()
	t.Cleanup(func() { c.Close(); s.Close() })
	got := make(chan string, 100)
	go func() {
		defer s.Close()
		fmt.Fprintln(s, `{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}`)
		dec := json.NewDecoder(s)
		for {
			var m struct {
				Execute   string          `json:"execute"`
				Arguments json.RawMessage `json:"arguments"`
			}
			if err := dec.Decode(&m); err != nil {
				return
			}
			got <- m.Execute + " " + string(m.Arguments)
			a := answer(m.Execute, m.Arguments)
			if a == "" {
				return // hang up
			}
			fmt.Fprintf(s, `{"event": "TICK", "data": {"n": 1}, "timestamp": {"seconds": 1}}`+"\n%s\n", a)
		}
	}()
	return c, got
}

func TestQMP(t *testing.T) {
	conn, commands := fakeQMP(t, func(cmd string, _ json.RawMessage) string {
		switch cmd {
		case "qmp_capabilities", "input-send-event":
			return `{"return": {}}`
		case "query-status":
			return `{"return": {"status": "running"}}`
		case "hang-up":
			return ""
		}
		return `{"error": {"class": "CommandNotFound", "desc": "The command ` + cmd + ` has not been found"}}`
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := NewQMP(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		select {
		case c := <-commands:
			return c
		case <-ctx.Done():
			t.Fatal("the fake QMP server got no command")
			return ""
		}
	}
	if got := next(); got != "qmp_capabilities " {
		t.Fatalf("first command %q, want qmp_capabilities", got)
	}
	r, err := q.Execute(ctx, "query-status", nil)
	if err != nil || string(r) != `{"status": "running"}` {
		t.Fatalf("query-status: %s %v", r, err)
	}
	next()
	_, err = q.Execute(ctx, "no-such", map[string]int{"x": 1})
	var qe *Error
	if !errors.As(err, &qe) || qe.Class != "CommandNotFound" || err.Error() != "qmp no-such: CommandNotFound: The command no-such has not been found" {
		t.Fatalf("an unknown command: %v", err)
	}
	if got := next(); got != `no-such {"x":1}` {
		t.Fatalf("sent %q", got)
	}
	if n := len(q.Events()); n != 3 || q.Events()[0].Name != "TICK" {
		t.Fatalf("events %v, want 3 TICKs", q.Events())
	}
	// Type: Shift goes down before a shifted run and up after it.
	strokes, _ := Text("aB!c")
	if err := q.Type(ctx, strokes, 0); err != nil {
		t.Fatal(err)
	}
	var typed []string
	for range 10 {
		var m struct {
			Events []struct {
				Data struct {
					Down bool `json:"down"`
					Key  struct {
						Data string `json:"data"`
					} `json:"key"`
				} `json:"data"`
			} `json:"events"`
		}
		cmd, args, _ := strings.Cut(next(), " ")
		if err := json.Unmarshal([]byte(args), &m); cmd != "input-send-event" || err != nil || len(m.Events) != 1 {
			t.Fatalf("sent %s %s (%v)", cmd, args, err)
		}
		e := m.Events[0].Data
		typed = append(typed, fmt.Sprintf("%s%s", map[bool]string{true: "+", false: "-"}[e.Down], e.Key.Data))
	}
	if want := "+a -a +shift +b -b +1 -1 -shift +c -c"; strings.Join(typed, " ") != want {
		t.Fatalf("typed %q, want %q", strings.Join(typed, " "), want)
	}
	// The connection ends: the command in flight fails, and so do later ones.
	if _, err := q.Execute(ctx, "hang-up", nil); err == nil || !strings.Contains(err.Error(), "connection ended") {
		t.Fatalf("hang-up: %v", err)
	}
	if got := next(); got != "hang-up " {
		t.Fatalf("after typing, sent %q, want only hang-up", got)
	}
	if _, err := q.Execute(ctx, "query-status", nil); err == nil {
		t.Fatal("a command after the connection ended succeeded")
	}
}

func TestQMPNeedsAGreeting(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	go func() { fmt.Fprintln(s, `{"hello": 1}`); s.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := NewQMP(ctx, c); err == nil || !strings.Contains(err.Error(), "no greeting") {
		t.Fatalf("got %v", err)
	}
}

func TestConsole(t *testing.T) {
	r, w := io.Pipe()
	var log strings.Builder
	c := NewConsole(r, &log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		fmt.Fprint(w, "[ 0.1] kernel noise\r\nguest: ready\r\nguest: value 1\r\n")
		time.Sleep(10 * time.Millisecond) // the next line comes later, as a guest prints it: a real pipe read, bounded
		fmt.Fprint(w, "guest: value 2\r\n")
		w.Close()
	}()
	if _, err := c.Expect(ctx, regexp.MustCompile(`^guest: ready$`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1", "2"} {
		m, err := c.Expect(ctx, regexp.MustCompile(`^guest: value (\d)$`))
		if err != nil || m[1] != want {
			t.Fatalf("value: %q %v, want %s", m, err, want)
		}
	}
	// Lines are consumed in order: the first value is behind us.
	_, err := c.Expect(ctx, regexp.MustCompile(`value 1`))
	if err == nil || !errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "console ended") {
		t.Fatalf("a consumed line: %v", err)
	}
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Lines(), "|"); got != "[ 0.1] kernel noise|guest: ready|guest: value 1|guest: value 2" {
		t.Fatalf("lines %q", got)
	}
	if log.String() != "[ 0.1] kernel noise\nguest: ready\nguest: value 1\nguest: value 2\n" {
		t.Fatalf("log %q", log.String())
	}
}

func TestConsoleExpectTimesOut(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	c := NewConsole(r, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Expect(ctx, regexp.MustCompile(`never`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

// TestStartReportsQEMUFailing: a QEMU that exits at once is an error with
// what it said, not a hang waiting for its sockets.
func TestStartReportsQEMUFailing(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'qemu: could not load kernel' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(dir, "a.cpio")
	os.WriteFile(initrd, []byte("archive"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Start(ctx, Options{QEMU: fake, Kernel: "vmlinuz", Initrd: []string{initrd, initrd}, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "could not load kernel") {
		t.Fatalf("got %v", err)
	}
	// The archives were joined in order for the kernel to unpack in turn.
	if b, _ := os.ReadFile(filepath.Join(dir, "initrd.cpio")); string(b) != "archivearchive" {
		t.Fatalf("joined initrd %q", b)
	}
	if _, err := Start(ctx, Options{QEMU: fake, Dir: "/tmp/a,b"}); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Fatalf("a comma: %v", err)
	}
}
