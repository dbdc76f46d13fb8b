package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// Option tells the suite what a store cannot do.
type Option func(*options)

type options struct {
	noRestart string // why the store cannot be re-opened with its data; "" if it can
}

// NoRestart marks a store whose data does not outlive Close (an in-memory
// store): the tests that close and re-open it are skipped, with reason.
func NoRestart(reason string) Option {
	return func(o *options) { o.noRestart = reason }
}

// RunTests runs the conformance suite on the store open opens. open opens,
// or re-opens, the store whose data lives in dir, and fails t if it
// cannot; see the package documentation.
func RunTests(t *testing.T, open func(t *testing.T, dir string) server.Store, opts ...Option) {
	h := &harness{open: open}
	for _, o := range opts {
		o(&h.opts)
	}
	for _, tt := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"RoundTrip", h.testRoundTrip},
		{"PutReplaces", h.testPutReplaces},
		{"Copies", h.testCopies},
		{"NotFound", h.testNotFound},
		{"Lists", h.testLists},
		{"Tokens", h.testTokens},
		{"TokensOfOwnersInUpdates", h.testTokensOfOwnersInUpdates},
		{"TokensDue", h.testTokensDue},
		{"AccountsDue", h.testAccountsDue},
		{"Sessions", h.testSessions},
		{"Notifications", h.testNotifications},
		{"Audit", h.testAudit},
		{"Heartbeat", h.testHeartbeat},
		{"PruneAudit", h.testPruneAudit},
		{"Meta", h.testMeta},
		{"UpdateErrorChangesNothing", h.testUpdateErrorChangesNothing},
		{"UpdatePanicChangesNothing", h.testUpdatePanicChangesNothing},
		{"ViewSeesOnlyCommitted", h.testViewSeesOnlyCommitted},
		{"ViewChangesNothing", h.testViewChangesNothing},
		{"ConcurrentIncrements", h.testConcurrentIncrements},
		{"OnceEveryStep", h.testOnceEveryStep},
		{"ConcurrentUpdatesKeepTheirOutcome", h.testConcurrentOutcomes},
		{"Cancelled", h.testCancelled},
		{"Closed", h.testClosed},
		{"Restart", h.testRestart},
		{"RestartDuringUpdates", h.testRestartDuringUpdates},
	} {
		t.Run(tt.name, tt.run)
	}
}

type harness struct {
	open func(t *testing.T, dir string) server.Store
	opts options
}

// fresh opens a store in a new directory, closed at the end of the test.
func (h *harness) fresh(t *testing.T) server.Store {
	t.Helper()
	return h.openIn(t, t.TempDir())
}

// openIn opens the store in dir. It is closed at the end of the test unless
// the test closed it.
func (h *harness) openIn(t *testing.T, dir string) server.Store {
	t.Helper()
	s := h.open(t, dir)
	if s == nil {
		t.Fatalf("open %s returned no store", dir)
	}
	c := &onceCloser{Store: s}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// needRestart skips a test that re-opens a store, if the store cannot.
func (h *harness) needRestart(t *testing.T) {
	t.Helper()
	if h.opts.noRestart != "" {
		t.Skipf("the store cannot be re-opened with its data: %s", h.opts.noRestart)
	}
}

// onceCloser closes the store once, so that the test's cleanup does not
// close again a store the test closed; closing twice is not what the suite
// tests.
type onceCloser struct {
	server.Store
	once sync.Once
	err  error
}

func (c *onceCloser) Close() error {
	c.once.Do(func() { c.err = c.Store.Close() })
	return c.err
}

// update runs fn in an Update and fails the test if it fails.
func update(t *testing.T, s server.Store, fn func(server.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in a View and fails the test if it fails.
func view(t *testing.T, s server.Store, fn func(server.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// readers are the two ways to read: a View, and an Update (which a store
// may serve differently, from a cache or the writer's connection).
func readers(s server.Store) []struct {
	name string
	run  func(context.Context, func(server.Tx) error) error
} {
	return []struct {
		name string
		run  func(context.Context, func(server.Tx) error) error
	}{{"view", s.View}, {"update", s.Update}}
}

// returnsWithin runs f and fails the test if it has not returned after d:
// a store that hangs fails the test rather than the whole run.
func returnsWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s has not returned after %v", what, d)
	}
}

// putAll puts every record in one Update.
func putAll[T any](t *testing.T, s server.Store, put func(server.Tx, T) error, vs ...T) {
	t.Helper()
	update(t, s, func(tx server.Tx) error {
		for _, v := range vs {
			if err := put(tx, v); err != nil {
				return err
			}
		}
		return nil
	})
}
