package device

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeEndpoint stands in for gousb's interrupt IN endpoint: each read takes
// the next report or error from the channel, and blocks until ctx ends when
// there is none, returning an error of its own as gousb does (a cancelled
// transfer), not ctx.Err().
type fakeEndpoint struct {
	reports chan fakeRead
	reads   int
	// blocked, when set, hears each time a read finds no report and blocks.
	blocked chan struct{}
}

type fakeRead struct {
	report []byte
	err    error
}

var (
	errFakeCancelled = errors.New("fake: transfer was cancelled")
	errFakeOverflow  = errors.New("fake: device sent more data than requested")
)

func newFakeEndpoint(reports ...[]byte) *fakeEndpoint {
	f := &fakeEndpoint{reports: make(chan fakeRead, 1024)}
	f.send(reports...)
	return f
}

func (f *fakeEndpoint) send(reports ...[]byte) {
	for _, r := range reports {
		f.reports <- fakeRead{report: r}
	}
}

func (f *fakeEndpoint) ReadContext(ctx context.Context, buf []byte) (int, error) {
	f.reads++
	var r fakeRead
	select {
	case r = <-f.reports:
	default:
		// No report waiting: the read blocks, as on a quiet key.
		if f.blocked != nil {
			select {
			case f.blocked <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return 0, errFakeCancelled
		case r = <-f.reports:
		}
	}
	{
		if r.err != nil {
			return 0, r.err
		}
		if len(r.report) > len(buf) { // as libusb: the buffer must hold a whole packet
			return copy(buf, r.report), errFakeOverflow
		}
		return copy(buf, r.report), nil
	}
}

// testCtx ends with the test or after 5 s, so that a broken reader fails
// rather than hangs.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestKeyReaderReadsCode(t *testing.T) {
	f := loadHIDFixture(t, "hotp-8-digits-enter.json")
	src := newFakeEndpoint(f.reports(t)...)
	closed := 0
	r := newKeyReader(src, "usb 1050:0407 bus 1 address 5", 8, func() error { closed++; return nil })
	before := time.Now()
	c, err := r.ReadCode(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Value != "94287082" || c.Device != "usb 1050:0407 bus 1 address 5" || c.At.Before(before) || c.At.After(time.Now()) {
		t.Fatalf("code %+v", c)
	}
	if r.Device() != c.Device {
		t.Fatalf("Device() %q", r.Device())
	}
	if err := r.Close(); err != nil || closed != 1 {
		t.Fatalf("Close: %v, closed %d times", err, closed)
	}
	if err := r.Close(); err != nil || closed != 1 {
		t.Fatalf("second Close: %v, closed %d times", err, closed)
	}
}

func TestKeyReaderEveryFixture(t *testing.T) {
	for _, name := range hidFixtureNames(t) {
		f := loadHIDFixture(t, name)
		// A buffer of a whole packet, as OpenUSB gives: longer reports
		// arrive whole and are skipped.
		r := newKeyReader(newFakeEndpoint(f.reports(t)...), "fake", 64, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var got []string
		err := ReadCodes(ctx, r, len(f.Codes), func(c Code) error { got = append(got, c.Value); return nil })
		cancel()
		if err != nil || strings.Join(got, "\n") != strings.Join(f.Codes, "\n") {
			t.Errorf("%s: %q, %v; want %q", name, got, err, f.Codes)
		}
	}
}

func TestKeyReaderTwoCodesInOneReport(t *testing.T) {
	src := newFakeEndpoint(
		[]byte{0, 0, 0x1e, 0, 0, 0, 0, 0},
		[]byte{0, 0, 0x28, 0x1f, 0x58, 0, 0, 0}, // 1 Enter 2 keypad-Enter at once
		make([]byte, 8),
	)
	r := newKeyReader(src, "fake", 8, nil)
	for _, want := range []string{"1", "2"} {
		c, err := r.ReadCode(testCtx(t))
		if err != nil || c.Value != want {
			t.Fatalf("%+v, %v; want %q", c, err, want)
		}
	}
}

func TestKeyReaderCancelStopsBlockedRead(t *testing.T) {
	src := newFakeEndpoint()
	src.blocked = make(chan struct{}, 1)
	r := newKeyReader(src, "fake", 8, nil)
	// Half a code, then the key goes quiet and the read blocks.
	src.send(press(0, 0x1e)...)
	src.send(press(0, 0x1f)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.ReadCode(ctx); done <- err }()
	<-src.blocked // the read is blocked now: cancel must interrupt it
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || errors.Is(err, errFakeCancelled) {
			t.Fatalf("ReadCode after cancel: %v, want ctx.Err()", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadCode did not return after cancel")
	}

	// A deadline works the same way.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := r.ReadCode(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadCode past its deadline: %v", err)
	}

	// What was typed before the cancel is kept: the code goes on.
	src.send(press(0, 0x20)...)
	src.send(press(0, 0x28)...)
	c, err := r.ReadCode(testCtx(t))
	if err != nil || c.Value != "123" {
		t.Fatalf("after cancel: %+v, %v", c, err)
	}

	// An already ended context does not read at all.
	reads := src.reads
	if _, err := r.ReadCode(ctx); !errors.Is(err, context.DeadlineExceeded) || src.reads != reads {
		t.Fatalf("ended ctx: %v, %d reads", err, src.reads-reads)
	}
}

func TestKeyReaderSkipsPartialReports(t *testing.T) {
	src := newFakeEndpoint(
		[]byte{0, 0, 0x1e, 0, 0, 0, 0, 0}, make([]byte, 8),
		[]byte{0, 0, 0x28, 0, 0}, // partial, holding Enter: skipped
		[]byte{},                 // empty: skipped
		[]byte{0, 0, 0x1f, 0, 0, 0, 0, 0}, make([]byte, 8),
		[]byte{0, 0, 0x28, 0, 0, 0, 0, 0}, make([]byte, 8),
	)
	r := newKeyReader(src, "fake", 8, nil)
	c, err := r.ReadCode(testCtx(t))
	if err != nil || c.Value != "12" {
		t.Fatalf("%+v, %v", c, err)
	}
}

func TestKeyReaderLargeBuffer(t *testing.T) {
	// A 64-byte packet buffer: an 8-byte transfer is still one report.
	src := newFakeEndpoint(press(0, 0x1e)[0], make([]byte, 8), press(0, 0x28)[0])
	r := newKeyReader(src, "fake", 64, nil)
	if r.bufSize != 64 || newKeyReader(src, "fake", 0, nil).bufSize != BootReportSize {
		t.Fatal("buffer size")
	}
	if c, err := r.ReadCode(testCtx(t)); err != nil || c.Value != "1" {
		t.Fatalf("%+v, %v", c, err)
	}
}

func TestKeyReaderSourceError(t *testing.T) {
	src := newFakeEndpoint(press(0, 0x1e)...)
	unplugged := errors.New("fake: device was disconnected")
	src.reports <- fakeRead{err: unplugged}
	r := newKeyReader(src, "usb 1050:0407 bus 1 address 5", 8, nil)
	_, err := r.ReadCode(testCtx(t))
	if !errors.Is(err, unplugged) || !strings.Contains(err.Error(), "usb 1050:0407 bus 1 address 5") {
		t.Fatalf("ReadCode: %v", err)
	}
	// The error of a source that maps it to one a user can act on stays
	// visible through the wrapping.
	src.reports <- fakeRead{err: ErrNoDevice}
	if _, err := r.ReadCode(testCtx(t)); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("ReadCode: %v", err)
	}
}
