// Package serialtoken serves a virtual token speaking the device package's
// serial line protocol: a code line when its button is pressed, and answers
// to INFO and PRESS. It serves on a pseudo-terminal — a real kernel tty, no
// hardware: the serial reader is tested against it — or on any connection,
// such as the socket behind an emulated machine's USB serial adapter.
// tokenlab token attach uses it to put an emulator token where a serial key
// would be.
package serialtoken

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// Token is what is served: a button and an identity.
type Token interface {
	// Press presses the button and returns the code shown.
	Press() (string, error)
	// Info is what the device says of itself: serial, kind, digits…
	Info() map[string]string
}

// Server is a virtual serial device on a pty or a connection.
type Server struct {
	tok  Token
	conn io.ReadWriter // commands come in, lines go out
	path string
	// wake makes a read blocked in Serve return, once Serve's context ends.
	wake      func()
	closeFn   func() error
	closeOnce sync.Once
	closeErr  error
	mu        sync.Mutex // one line at a time
}

// Open makes a pty and serves on its master side. Its slave side stays open
// in this process, so that a reader may open and close the tty as often as it
// likes; it is raw, so the tty echoes nothing back.
func Open(tok Token) (*Server, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("cannot open a pseudo-terminal: %w", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("cannot make the pseudo-terminal raw: %w", err)
	}
	return &Server{
		tok: tok, conn: master, path: slave.Name(),
		// The master's read is a blocking syscall that closing does not
		// interrupt: a line written on the slave side wakes it.
		wake:    func() { _, _ = slave.Write([]byte("\n")) },
		closeFn: func() error { return errors.Join(master.Close(), slave.Close()) },
	}, nil
}

// NewConn serves on conn, an established connection whose other end is the
// host side of a serial line: a QEMU usb-serial chardev socket, say. name is
// what Path returns. Close closes conn.
func NewConn(tok Token, conn io.ReadWriteCloser, name string) *Server {
	s := &Server{tok: tok, conn: conn, path: name, closeFn: conn.Close}
	if d, ok := conn.(interface{ SetReadDeadline(time.Time) error }); ok {
		// A socket's read returns at its deadline, and the connection stays
		// usable for Close.
		s.wake = func() { _ = d.SetReadDeadline(time.Now()) }
	} else {
		s.wake = func() { _ = s.Close() }
	}
	return s
}

// Path is the tty a reader opens, e.g. /dev/pts/3, or the name given to
// NewConn.
func (s *Server) Path() string { return s.path }

// Close closes the pty or the connection. Closing twice is not an error.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.closeFn() })
	return s.closeErr
}

func (s *Server) writeLine(line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := io.WriteString(s.conn, line+"\n")
	return err
}

// PressButton presses the token's button: its code goes out as a line, and
// is returned (for the person pressing it to see).
func (s *Server) PressButton() (string, error) {
	code, err := s.tok.Press()
	if err != nil {
		_ = s.writeLine("ERR " + oneLine(err.Error()))
		return "", err
	}
	return code, s.writeLine(code)
}

// InfoLine is the INFO answer for info, fields in a stable order.
func InfoLine(info map[string]string) string {
	keys := make([]string, 0, len(info))
	for k := range info {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("INFO")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, strings.ReplaceAll(info[k], " ", "_"))
	}
	return b.String()
}

// Serve answers the host's commands until ctx ends or the pty or connection
// is closed (for a connection, by its other end too: Serve then returns
// nil). Unknown commands get an ERR line; they do not stop the device.
func (s *Server) Serve(ctx context.Context) error {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			s.wake()
		case <-stop:
		}
	}()
	sc := bufio.NewScanner(s.conn)
	sc.Buffer(make([]byte, 512), 512)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "":
		case "INFO":
			if err := s.writeLine(InfoLine(s.tok.Info())); err != nil {
				return err
			}
		case "PRESS":
			_, _ = s.PressButton()
		default:
			if err := s.writeLine("ERR unknown command: use INFO or PRESS"); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
