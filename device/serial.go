package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"go.bug.st/serial"
)

// The serial line protocol
//
// A serial key talks in lines of ASCII ending with "\n" ("\r\n" is
// accepted). The device sends:
//
//	94287082                  a code: 6 to 10 digits (or 32 to 48 modhex
//	                          letters), sent when its button is pressed
//	INFO serial=S kind=totp digits=8
//	                          the answer to INFO: key=value pairs
//	ERR message               the answer to a command it cannot do
//	# anything                a comment, ignored
//
// A device may also take commands from the host (one that does not simply
// ignores them):
//
//	INFO                      asks for the INFO line
//	PRESS                     asks for a code, as if its button were pressed
//
// tokenlab token attach SERIAL --pty serves a virtual token that speaks it.

// EventKind is the kind of a line from a device.
type EventKind int

// Line kinds.
const (
	EventCode EventKind = iota + 1
	EventInfo
	EventError
	EventComment
)

// Event is one parsed line.
type Event struct {
	Kind    EventKind
	Code    string
	Info    map[string]string
	Message string
}

// ErrBadLine is returned for a line that is not in the protocol.
var ErrBadLine = errors.New("not a line of the protocol")

// MaxLine bounds a line; longer input is an error, not a growing buffer.
const MaxLine = 512

// ParseLine parses one line of the protocol (without its line ending).
func ParseLine(line string) (Event, error) {
	line = strings.TrimRight(line, "\r")
	t := strings.TrimSpace(line)
	switch {
	case len(line) > MaxLine:
		return Event{}, fmt.Errorf("%w: %d characters is longer than %d", ErrBadLine, len(line), MaxLine)
	case t == "" || strings.HasPrefix(t, "#"):
		return Event{Kind: EventComment}, nil
	case t == "INFO" || strings.HasPrefix(t, "INFO "):
		info := map[string]string{}
		for _, f := range strings.Fields(strings.TrimPrefix(t, "INFO")) {
			k, v, ok := strings.Cut(f, "=")
			if !ok || k == "" {
				return Event{}, fmt.Errorf("%w: INFO field %q is not key=value", ErrBadLine, f)
			}
			info[k] = v
		}
		return Event{Kind: EventInfo, Info: info}, nil
	case t == "ERR" || strings.HasPrefix(t, "ERR "):
		return Event{Kind: EventError, Message: strings.TrimSpace(strings.TrimPrefix(t, "ERR"))}, nil
	case isCode(t):
		return Event{Kind: EventCode, Code: t}, nil
	}
	// Never echo the line: it may be a mistyped code.
	return Event{}, fmt.Errorf("%w: a line of %d characters is neither a code, INFO, ERR nor a comment", ErrBadLine, len(t))
}

func isCode(s string) bool {
	if len(s) >= 6 && len(s) <= 10 && strings.Trim(s, "0123456789") == "" {
		return true
	}
	return len(s) >= 32 && len(s) <= 48 && strings.Trim(s, "cbdefghijklnrtuv") == ""
}

// SerialOptions configure a serial key. Zero values mean 9600 baud and a
// 100 ms poll for context cancellation.
type SerialOptions struct {
	BaudRate int
	// Poll is how long one read waits before checking the context again.
	Poll time.Duration
}

// port is what the reader needs of a serial port: go.bug.st/serial's Port.
type port interface {
	io.ReadWriteCloser
	SetReadTimeout(time.Duration) error
}

// SerialReader reads codes from a key on a serial port.
type SerialReader struct {
	port   port
	path   string
	poll   time.Duration
	buf    []byte
	device string
}

// OpenSerial opens the key on path (e.g. /dev/ttyACM0, or the tty that
// tokenlab token attach printed).
func OpenSerial(path string, o SerialOptions) (*SerialReader, error) {
	if o.BaudRate == 0 {
		o.BaudRate = 9600
	}
	if o.Poll == 0 {
		o.Poll = 100 * time.Millisecond
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: o.BaudRate})
	if err != nil {
		return nil, serialError(path, err)
	}
	if err := p.SetReadTimeout(o.Poll); err != nil {
		p.Close()
		return nil, fmt.Errorf("serial %s: %w", path, err)
	}
	return &SerialReader{port: p, path: path, poll: o.Poll, device: "serial " + path}, nil
}

func serialError(path string, err error) error {
	var pe *serial.PortError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("serial %s: %w", path, ErrNoDevice)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("serial %s: %w", path, ErrPermission)
	case errors.As(err, &pe) && pe.Code() == serial.PortBusy:
		return fmt.Errorf("serial %s: %w", path, ErrBusy)
	case errors.As(err, &pe) && pe.Code() == serial.PortNotFound:
		return fmt.Errorf("serial %s: %w", path, ErrNoDevice)
	case errors.As(err, &pe) && pe.Code() == serial.PermissionDenied:
		return fmt.Errorf("serial %s: %w", path, ErrPermission)
	}
	return fmt.Errorf("serial %s: %w", path, err)
}

// Device names the key.
func (r *SerialReader) Device() string { return r.device }

// Close closes the port.
func (r *SerialReader) Close() error { return r.port.Close() }

// readEvent reads the next line that is not a comment.
func (r *SerialReader) readEvent(ctx context.Context) (Event, error) {
	chunk := make([]byte, 128)
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			line := string(r.buf[:i])
			r.buf = r.buf[i+1:]
			ev, err := ParseLine(line)
			if err != nil {
				return Event{}, fmt.Errorf("%s: %w", r.device, err)
			}
			if ev.Kind != EventComment {
				return ev, nil
			}
			continue
		}
		if len(r.buf) > MaxLine {
			r.buf = r.buf[:0]
			return Event{}, fmt.Errorf("%s: %w: no line end within %d bytes", r.device, ErrBadLine, MaxLine)
		}
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		n, err := r.port.Read(chunk)
		if err != nil {
			return Event{}, fmt.Errorf("%s: %w", r.device, err)
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
}

// ReadCode waits for the next code (the button pressed, or a PRESS answered).
func (r *SerialReader) ReadCode(ctx context.Context) (Code, error) {
	for {
		ev, err := r.readEvent(ctx)
		if err != nil {
			return Code{}, err
		}
		switch ev.Kind {
		case EventCode:
			return Code{Value: ev.Code, Device: r.device, At: time.Now()}, nil
		case EventError:
			return Code{}, fmt.Errorf("%s says: %s", r.device, ev.Message)
		}
	}
}

func (r *SerialReader) command(cmd string) error {
	_, err := io.WriteString(r.port, cmd+"\n")
	return err
}

// Press asks the device for a code, for devices that take commands.
func (r *SerialReader) Press(ctx context.Context) (Code, error) {
	if err := r.command("PRESS"); err != nil {
		return Code{}, err
	}
	return r.ReadCode(ctx)
}

// Info asks the device who it is: serial, kind, digits… It names the
// device by its serial from then on.
func (r *SerialReader) Info(ctx context.Context) (map[string]string, error) {
	if err := r.command("INFO"); err != nil {
		return nil, err
	}
	for {
		ev, err := r.readEvent(ctx)
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case EventInfo:
			if s := ev.Info["serial"]; s != "" {
				r.device = fmt.Sprintf("serial %s (%s)", r.path, s)
			}
			return ev.Info, nil
		case EventError:
			return nil, fmt.Errorf("%s says: %s", r.device, ev.Message)
		}
	}
}
