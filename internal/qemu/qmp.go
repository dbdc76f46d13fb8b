package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// QMP is a client of the QEMU Machine Protocol on one connection: JSON
// objects each way, the commands answered in order, events interleaved.
// Commands are sent one at a time; QMP is safe for concurrent use.
type QMP struct {
	conn    net.Conn
	mu      sync.Mutex    // one command in flight
	replies chan qmpReply // answers to commands, in order
	done    chan struct{} // closed when the connection ends
	err     error         // why it ended; read after done is closed

	evMu   sync.Mutex
	events []Event
}

// Event is an asynchronous QMP event: SHUTDOWN, RESET, …
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data"`
}

// Error is a command's error answer.
type Error struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *Error) Error() string { return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc) }

type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
}

// NewQMP reads the server's greeting on conn and negotiates capabilities,
// leaving the connection in command mode. ctx bounds the handshake.
func NewQMP(ctx context.Context, conn net.Conn) (*QMP, error) {
	q := &QMP{conn: conn, replies: make(chan qmpReply, 1), done: make(chan struct{})}
	greeting := make(chan error, 1)
	go q.read(greeting)
	select {
	case err := <-greeting:
		if err != nil {
			conn.Close()
			return nil, err
		}
	case <-ctx.Done():
		conn.Close()
		return nil, fmt.Errorf("qmp: no greeting: %w", ctx.Err())
	}
	if _, err := q.Execute(ctx, "qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// read decodes messages until the connection ends: the greeting first, then
// answers and events.
func (q *QMP) read(greeting chan<- error) {
	defer close(q.done)
	dec := json.NewDecoder(q.conn)
	var hello struct {
		QMP *json.RawMessage `json:"QMP"`
	}
	if err := dec.Decode(&hello); err != nil || hello.QMP == nil {
		q.err = fmt.Errorf("qmp: no greeting (%v): is this a QMP socket?", err)
		greeting <- q.err
		return
	}
	greeting <- nil
	for {
		var m struct {
			qmpReply
			Event
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				err = io.EOF
			}
			q.err = fmt.Errorf("qmp: connection ended: %w", err)
			return
		}
		if m.Name != "" {
			q.evMu.Lock()
			q.events = append(q.events, m.Event)
			q.evMu.Unlock()
			continue
		}
		q.replies <- m.qmpReply
	}
}

// Execute runs command with args (nil for none) and returns its answer. A
// command QEMU refuses returns an *Error.
func (q *QMP) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	msg := map[string]any{"execute": command}
	if args != nil {
		msg["arguments"] = args
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	if _, err := q.conn.Write(b); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	select {
	case r := <-q.replies:
		if r.Error != nil {
			r.Error.Command = command
			return nil, r.Error
		}
		return r.Return, nil
	case <-q.done:
		return nil, fmt.Errorf("qmp %s: %w", command, q.err)
	case <-ctx.Done():
		// The answer may still come: drop the connection rather than let it
		// answer the next command.
		q.conn.Close()
		return nil, fmt.Errorf("qmp %s: %w", command, ctx.Err())
	}
}

// Events returns the events received so far.
func (q *QMP) Events() []Event {
	q.evMu.Lock()
	defer q.evMu.Unlock()
	return append([]Event(nil), q.events...)
}

// Close closes the connection.
func (q *QMP) Close() error { return q.conn.Close() }
