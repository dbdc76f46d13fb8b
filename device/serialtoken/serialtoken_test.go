package serialtoken_test

import (
	"context"
	"errors"
	"fmt"
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
