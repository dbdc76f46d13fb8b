package server_test

import (
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// guessRounds makes rounds of four wrong codes and then the right one (a
// step later), as an attacker who knows the user logs in now and then would
// guess between the logins. It stops at the first refusal of the right code
// and returns it, and the number of wrong codes sent.
func guessRounds(f *fixture, u string, d *device, rounds int) (wrong int, err error) {
	f.t.Helper()
	for range rounds {
		for range 4 {
			_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
			f.expectCode(err, server.CodeOTPInvalid)
			wrong++
		}
		f.nextStepOf(d)
		if _, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now())); err != nil {
			return wrong, err
		}
		f.nextStepOf(d)
	}
	return wrong, nil
}

// TestFailureBudgetLocksWhatTheConsecutiveRuleMisses: four wrong codes
// between legitimate logins never make five in a row, but the rolling
// budget — 20 wrong codes in a day by default — locks the token all the same
// (docs/lifecycle.md, “Lockout”), exactly as the consecutive rule locks it:
// token_locked for every code until a resync, which clears the budget.
func TestFailureBudgetLocksWhatTheConsecutiveRuleMisses(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	wrong, err := guessRounds(f, u, d, 6)
	f.expectCode(err, server.CodeTokenLocked)
	if wrong != 20 {
		t.Fatalf("locked after %d wrong codes, want 20", wrong)
	}
	if v := f.status(d.serial); v.SubStatus != "locked" || v.StatusDisplay != "Active (Locked)" {
		t.Fatalf("after the budget is spent: %+v", v)
	}
	// An administrator's reset does not unlock; a resync does, and gives a
	// whole budget back.
	f.ok(errOf(f.srv.Reset(f.ctx, f.admin, d.serial)))
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenLocked)
	c1 := d.code(f.clk.Now())
	f.nextStepOf(d)
	c2 := d.code(f.clk.Now())
	f.ok(errOf(f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)))
	f.nextStepOf(d)
	wrong, err = guessRounds(f, u, d, 4)
	f.ok(err)
	if wrong != 16 {
		t.Fatalf("%d wrong codes", wrong)
	}
}

// TestFailureBudgetRolls: wrong codes older than the window no longer count.
func TestFailureBudgetRolls(t *testing.T) {
	f := newFixture(t, server.Policy{LockoutBudget: 6, LockoutBudgetWindow: time.Hour})
	u, d := f.activeToken()
	// Four wrong codes, a login; then, half an hour later, one wrong code.
	f.ok(errOf(guessRounds(f, u, d, 1)))
	f.clk.Step(30 * time.Minute)
	f.nextStepOf(d)
	_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	// An hour after the first four they have rolled out of the window: four
	// more make five in the last hour, one short of the budget.
	f.clk.Step(31 * time.Minute)
	f.ok(errOf(f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))))
	f.nextStepOf(d)
	f.ok(errOf(guessRounds(f, u, d, 1)))
	// The sixth in the hour is the last: it is refused as a wrong code, and
	// locks.
	_, err = f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenLocked)
	if v := f.status(d.serial); v.FailCount != 1 || v.SubStatus != "locked" {
		t.Fatalf("locked by the budget with one consecutive failure: %+v", v)
	}
}
