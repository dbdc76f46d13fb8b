package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// rerunStore runs every Update's function twice: once in an Update that is
// rolled back after it returns, then for real — as a store that runs
// Updates side by side (server/pgstore) does when the first run cannot be
// serialised with the others.
type rerunStore struct{ server.Store }

var errRolledBack = errors.New("rolled back to run again")

func (s rerunStore) Update(ctx context.Context, fn func(server.Tx) error) error {
	err := s.Store.Update(ctx, func(tx server.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		return err
	}
	return s.Store.Update(ctx, fn)
}

// TestUpdatesMayRunTwice: the server's flows give the same results, audit,
// outbox, sweep reports and open challenges whether each Update's function
// runs once or twice (server.Store: a store may run it again) — nothing
// is counted twice or kept from the run that was not.
func TestUpdatesMayRunTwice(t *testing.T) {
	script := func(f *fixture) string {
		var out []string
		say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
		u, d := f.activeToken()
		for range 2 {
			_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
			say("wrong code: %v", errors.Is(err, server.ErrOTPInvalid))
		}
		v, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
		say("right code: %+v %v", v, err)
		_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
		say("again: %v", errors.Is(err, server.ErrOTPReplayed))
		f.nextStepOf(d)
		d.offset = 10 * 30 * time.Second
		v, ch, err := f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
		say("challenged: %+v %v %v, %d open", v, ch != nil, err, f.srv.PendingChallenges())
		f.nextStepOf(d)
		v, err = f.srv.AnswerChallenge(f.ctx, u, ch.ID, d.code(f.clk.Now()))
		say("answered: %+v %v", v, err)
		f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)))
		f.clk.Step(2 * 365 * day)
		say("sweep: %+v", f.sweep())
		say("sweep again: %+v", f.sweep())
		tv := f.status(d.serial)
		say("token: %s, %d failures, drift %d", tv.Status, tv.FailCount, tv.DriftSteps)
		es, err := f.srv.Audit(f.ctx, "", 0)
		f.ok(err)
		for _, e := range es {
			say("audit: %s %s %s", e.Action, e.Target, e.Outcome)
		}
		say("outbox: %s", f.outbox(u, start))
		return fmt.Sprintf("%q", out)
	}
	// The same serials and user IDs in both runs.
	sn, un := serialN, userN
	once := script(newFixture(t, server.Policy{}))
	serialN, userN = sn, un
	twice := script(newFixtureOn(t, server.Policy{}, func(s server.Store) server.Store { return rerunStore{s} }))
	if once != twice {
		t.Errorf("with each Update run twice:\n%s\nonce:\n%s", twice, once)
	}
}
