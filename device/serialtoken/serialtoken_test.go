package serialtoken_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/device"
	"github.com/tokenlab/tokenlab/device/serialtoken"
)

// counter is a fake HOTP-like token: each press gives the next number.
type counter struct {
	mu   sync.Mutex
	n    int
	dead bool
}

func (c *counter) Press() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return "", errors.New("button did not register (dead-button fault)")
	}
	c.n++
	return fmt.Sprintf("%08d", c.n), nil
}

func (c *counter) Info() map[string]string {
	return map[string]string{"serial": "VIRT0616534657375", "kind": "hotp", "digits": "8"}
}

func serve(t *testing.T, tok serialtoken.Token) *serialtoken.Server {
	t.Helper()
	srv, err := serialtoken.Open(tok)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	return srv
}

func open(t *testing.T, path string) *device.SerialReader {
	t.Helper()
	r, err := device.OpenSerial(path, device.SerialOptions{BaudRate: 115200, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func ctxT(t *testing.T) context.Context {
	// Bounds real tty I/O, not a TOTP step.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSerialReaderOnARealPTY: the serial reader against a virtual token on
// a kernel pseudo-terminal: INFO, PRESS, a button pressed on the device.
func TestSerialReaderOnARealPTY(t *testing.T) {
	tok := &counter{}
	srv := serve(t, tok)
	r := open(t, srv.Path())
	ctx := ctxT(t)

	info, err := r.Info(ctx)
	if err != nil || info["serial"] != "VIRT0616534657375" || info["kind"] != "hotp" {
		t.Fatalf("INFO: %v %v", info, err)
	}
	if r.Device() != "serial "+srv.Path()+" (VIRT0616534657375)" {
		t.Fatalf("device %q", r.Device())
	}
	c, err := r.Press(ctx)
	if err != nil || c.Value != "00000001" || c.Device != r.Device() || c.At.IsZero() {
		t.Fatalf("PRESS: %+v %v", c, err)
	}
	// The button pressed on the device: the code arrives unasked.
	if _, err := srv.PressButton(); err != nil {
		t.Fatal(err)
	}
	c, err = r.ReadCode(ctx)
	if err != nil || c.Value != "00000002" {
		t.Fatalf("button: %+v %v", c, err)
	}
	// Several codes in a row, read with ReadCodes.
	for range 3 {
		if _, err := srv.PressButton(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := device.ReadCodes(ctx, r, 3, func(c device.Code) error { got = append(got, c.Value); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[00000003 00000004 00000005]" {
		t.Fatalf("codes %v", got)
	}
}

func TestReaderReopensTheSameTTY(t *testing.T) {
	srv := serve(t, &counter{})
	for i := 1; i <= 3; i++ {
		r, err := device.OpenSerial(srv.Path(), device.SerialOptions{Poll: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Press(ctxT(t))
		r.Close()
		if err != nil || c.Value != fmt.Sprintf("%08d", i) {
			t.Fatalf("open %d: %+v %v", i, c, err)
		}
	}
}

func TestCancelStopsABlockedRead(t *testing.T) {
	srv := serve(t, &counter{})
	r := open(t, srv.Path())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.ReadCode(ctx)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second): // bounds the reader's poll, not a TOTP step
		t.Fatal("ReadCode did not stop on cancel")
	}
}

func TestDeviceErrorsReachTheReader(t *testing.T) {
	tok := &counter{dead: true}
	srv := serve(t, tok)
	r := open(t, srv.Path())
	if _, err := r.Press(ctxT(t)); err == nil || err.Error() != "serial "+srv.Path()+" says: button did not register (dead-button fault)" {
		t.Fatalf("got %v", err)
	}
}

func TestOpenSerialErrors(t *testing.T) {
	if _, err := device.OpenSerial("/dev/no-such-tty", device.SerialOptions{}); !errors.Is(err, device.ErrNoDevice) {
		t.Fatalf("missing tty: %v", err)
	}
}

func TestInfoLine(t *testing.T) {
	got := serialtoken.InfoLine(map[string]string{"serial": "S 1", "kind": "totp", "digits": "8"})
	if got != "INFO digits=8 kind=totp serial=S_1" {
		t.Fatalf("%q", got)
	}
	ev, err := device.ParseLine(got)
	if err != nil || ev.Info["serial"] != "S_1" {
		t.Fatalf("%+v %v", ev, err)
	}
}

// TestServesOnAConnection: the protocol on a socket, as behind an emulated
// machine's USB serial adapter: answers, an unasked code when the button is
// pressed, Serve ending when the other end hangs up.
func TestServesOnAConnection(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "tok.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	srv := serialtoken.NewConn(&counter{}, conn, "unix:tok.sock")
	defer srv.Close()
	if srv.Path() != "unix:tok.sock" {
		t.Fatalf("path %q", srv.Path())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()

	lines := bufio.NewReader(client)
	client.SetDeadline(time.Now().Add(10 * time.Second)) // bounds socket I/O, not a TOTP step
	if _, err := client.Write([]byte("INFO\r\nPRESS\nBOGUS\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.PressButton(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		l, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, strings.TrimSuffix(l, "\n"))
	}
	// The button line may come before or after the answers: it is written
	// from this goroutine while Serve answers from its own.
	sort.Strings(got)
	want := []string{"00000001", "00000002", "ERR unknown command: use INFO or PRESS", "INFO digits=8 kind=hotp serial=VIRT0616534657375"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	client.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after hang-up: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not end when the other end hung up")
	}
}

// TestCancelStopsServingAConnection: Serve's blocked read on a socket ends
// with its context, and the connection can still be closed.
func TestCancelStopsServingAConnection(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	srv := serialtoken.NewConn(&counter{}, a, "pipe")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop on cancel")
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
