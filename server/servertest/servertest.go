// Package servertest makes verification servers for tests: durable (SQLite
// in a directory), with a random seed key, a virtual clock and bcrypt's
// cheapest cost, since tests create many accounts.
package servertest

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// Start is where the virtual clocks start: a Monday morning, 10 s into a
// 30 s step, away from step edges.
var Start = time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)

// Open makes a server on SQLite in dir with its virtual clock at start. A
// zero PasswordCost in pol becomes bcrypt's minimum.
func Open(dir string, pol server.Policy, start time.Time) (*server.Server, *server.VirtualClock, error) {
	st, err := sqlitestore.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		st.Close()
		return nil, nil, err
	}
	if pol.PasswordCost == 0 {
		pol.PasswordCost = 4
	}
	vclk := server.NewVirtualClock(start)
	srv, err := server.New(server.Config{Store: st, Clock: vclk, SeedKey: key, Policy: pol})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return srv, vclk, nil
}

// New makes a server for a test, closed when the test ends.
func New(tb testing.TB, pol server.Policy) (*server.Server, *server.VirtualClock) {
	tb.Helper()
	srv, vclk, err := Open(tb.TempDir(), pol, Start)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv, vclk
}
