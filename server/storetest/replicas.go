package storetest

import (
	"errors"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// RunReplicaTests runs the tests of a store that several processes open on
// the same data at once — replicas of the server behind a load balancer
// on one database, or two processes on one SQLite file: two stores opened
// on one dir must behave together as one store. Updates racing on both
// lose no update and accept an OTP step once, and what one commits the
// other sees at once, in a View and in an Update (a store that caches rows
// must notice the other's commits).
//
// open is RunTests's; it is called twice on the same dir, and both stores
// stay open.
func RunReplicaTests(t *testing.T, open func(t *testing.T, dir string) server.Store, opts ...Option) {
	h := &harness{open: open}
	for _, o := range opts {
		o(&h.opts)
	}
	pair := func(t *testing.T) (server.Store, server.Store) {
		dir := t.TempDir()
		return h.openIn(t, dir), h.openIn(t, dir)
	}
	t.Run("ConcurrentIncrements", func(t *testing.T) {
		a, b := pair(t)
		concurrentIncrements(t, a, b)
	})
	t.Run("OnceEveryStep", func(t *testing.T) {
		a, b := pair(t)
		onceEveryStep(t, a, b)
	})
	t.Run("SeeEachOthersCommits", func(t *testing.T) {
		a, b := pair(t)
		for i, s := range []server.Store{a, b, a, b} {
			other := []server.Store{b, a}[i%2]
			// Read first, so that a store that caches what it read holds
			// the old state when the other writes.
			var before server.Token
			update(t, other, func(tx server.Tx) error {
				var err error
				before, err = tx.Token("T1")
				if errors.Is(err, server.ErrNoRecord) {
					return nil
				}
				return err
			})
			update(t, s, func(tx server.Tx) error {
				return tx.PutToken(server.Token{Serial: "T1", LastStep: before.LastStep + 1, FailCount: i})
			})
			for _, r := range readers(other) {
				err := r.run(t.Context(), func(tx server.Tx) error {
					k, err := tx.Token("T1")
					if err != nil {
						return err
					}
					if k.LastStep != int64(i+1) || k.FailCount != i {
						t.Errorf("round %d: a %s on the other store read last step %d, fail count %d; want %d, %d", i, r.name, k.LastStep, k.FailCount, i+1, i)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("round %d: %s: %v", i, r.name, err)
				}
			}
		}
	})
}
