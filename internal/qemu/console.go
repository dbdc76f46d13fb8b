package qemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

// Console collects the lines a guest writes on its serial console and lets
// a test wait for the ones it expects, in order.
type Console struct {
	mu      sync.Mutex
	lines   []string
	next    int           // the first line Expect has not consumed
	changed chan struct{} // closed and replaced when a line arrives or the console ends
	ended   bool
	err     error // why the console ended, when not at a clean EOF
}

// NewConsole reads lines from r until it ends, copying each to log (if not
// nil) as it arrives.
func NewConsole(r io.Reader, log io.Writer) *Console {
	c := &Console{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			// The guest's tty turns "\n" into "\r\n".
			line := strings.TrimRight(sc.Text(), "\r")
			if log != nil {
				fmt.Fprintln(log, line)
			}
			c.mu.Lock()
			c.lines = append(c.lines, line)
			c.signal()
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.ended, c.err = true, sc.Err()
		c.signal()
		c.mu.Unlock()
	}()
	return c
}

// signal wakes the waiters; c.mu is held.
func (c *Console) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Expect waits for the next line matching re, skipping the lines before it,
// and returns its submatches; the line after it is where the next Expect
// starts. It fails when ctx ends or the console does first.
func (c *Console) Expect(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		c.mu.Lock()
		for ; c.next < len(c.lines); c.next++ {
			if m := re.FindStringSubmatch(c.lines[c.next]); m != nil {
				c.next++
				c.mu.Unlock()
				return m, nil
			}
		}
		ended, err, changed := c.ended, c.err, c.changed
		c.mu.Unlock()
		if ended {
			if err == nil {
				err = io.EOF
			}
			return nil, fmt.Errorf("console ended before a line matching %q: %w", re, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("no console line matching %q: %w", re, ctx.Err())
		}
	}
}

// Lines returns every line so far.
func (c *Console) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// Wait waits until the console ends: the guest powered off, or QEMU exited.
func (c *Console) Wait(ctx context.Context) error {
	for {
		c.mu.Lock()
		ended, changed := c.ended, c.changed
		c.mu.Unlock()
		if ended {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
