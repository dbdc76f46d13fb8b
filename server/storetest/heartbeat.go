package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// testHeartbeat: the health check's record (server.Server.Health) reads
// as zero before the first write and as the last write after, to the
// nanosecond, in a View as in an Update; a View cannot write it, a failed
// Update leaves it, and it outlives a restart.
func (h *harness) testHeartbeat(t *testing.T) {
	dir := t.TempDir()
	s := h.openIn(t, dir)
	expect := func(s server.Store, where string, want time.Time) {
		t.Helper()
		for _, r := range readers(s) {
			var got time.Time
			if err := r.run(t.Context(), func(tx server.Tx) (err error) { got, err = tx.Heartbeat(); return err }); err != nil {
				t.Fatalf("%s: heartbeat in a %s: %v", where, r.name, err)
			}
			if !got.Equal(want) {
				t.Errorf("%s: heartbeat in a %s is %v, want %v", where, r.name, got, want)
			}
		}
	}
	expect(s, "new store", time.Time{})
	first := time.Date(2026, 11, 23, 9, 0, 10, 123456789, time.FixedZone("CET", 3600))
	second := first.Add(1500 * time.Millisecond)
	update(t, s, func(tx server.Tx) error { return tx.PutHeartbeat(first) })
	expect(s, "after a write", first)
	update(t, s, func(tx server.Tx) error { return tx.PutHeartbeat(second) })
	expect(s, "after a second write", second)

	err := s.Update(t.Context(), func(tx server.Tx) error {
		if err := tx.PutHeartbeat(second.Add(time.Hour)); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("failing update: got %v, want its error", err)
	}
	if err := s.View(t.Context(), func(tx server.Tx) error { return tx.PutHeartbeat(second.Add(2 * time.Hour)) }); err == nil {
		t.Errorf("PutHeartbeat in a View succeeded")
	}
	expect(s, "after a failed update and a write in a view", second)

	if h.opts.noRestart != "" {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	expect(h.openIn(t, dir), "after re-opening", second)
}
