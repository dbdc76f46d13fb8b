package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

func TestLoginWindowIsOneStepAroundTimePlusDrift(t *testing.T) {
	for _, c := range []struct {
		name   string
		offset time.Duration // the device's clock against true time, after activation
		ok     bool
	}{
		{"same step", 0, true},
		{"one step fast", 30 * time.Second, true},
		{"one step slow", -30 * time.Second, true},
		{"two steps fast", 60 * time.Second, false},
		{"two steps slow", -60 * time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, server.Policy{})
			u, d := f.activeToken()
			f.nextStep()
			f.nextStep()
			d.offset = c.offset
			v, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
			if !c.ok {
				f.expectCode(err, server.CodeOTPInvalid)
				if got := f.status(d.serial).FailCount; got != 1 {
					t.Fatalf("fail count %d", got)
				}
				return
			}
			f.ok(err)
			if want := int64(c.offset / (30 * time.Second)); v.DriftSteps != want || v.Serial != d.serial {
				t.Fatalf("%+v: drift %d, want %d", v, v.DriftSteps, want)
			}
		})
	}
}

func TestACodeIsAcceptedOnceEver(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	code := d.code(f.clk.Now())
	_, err := f.srv.Verify(f.ctx, u, code)
	f.ok(err)
	for range 3 {
		_, err = f.srv.Verify(f.ctx, u, code)
		f.expectCode(err, server.CodeOTPReplayed)
	}
	// Still replayed after the step has passed (within the window), and a
	// replay does not count towards the lockout.
	f.clk.Step(30 * time.Second)
	_, err = f.srv.Verify(f.ctx, u, code)
	f.expectCode(err, server.CodeOTPReplayed)
	if got := f.status(d.serial).FailCount; got != 0 {
		t.Fatalf("replays counted: fail count %d", got)
	}
	// An earlier step than the last accepted one is refused too: a device
	// one step slow cannot go back once a later code was accepted.
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	d.offset = -30 * time.Second
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPReplayed)
}

func TestLockoutAfterFiveWrongCodesUntilResync(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	for i := 1; i <= 5; i++ {
		_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
		f.expectCode(err, server.CodeOTPInvalid)
		if v := f.status(d.serial); v.FailCount != i || (i == 5) != (v.SubStatus == "locked") {
			t.Fatalf("after %d wrong codes: %+v", i, v)
		}
	}
	v := f.status(d.serial)
	if v.Status != server.StatusActive || v.StatusDisplay != "Active (Locked)" {
		t.Fatalf("locked token shows %+v", v)
	}
	// A locked token refuses every code, right or wrong, and survives a restart.
	f.reopen()
	f.nextStep()
	_, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenLocked)
	_, err = f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
	f.expectCode(err, server.CodeTokenLocked)
	// An administrator's reset does not unlock: only a resync does.
	f.ok(errOf(f.srv.Reset(f.ctx, f.admin, d.serial)))
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenLocked)
	f.nextStep()
	c1 := d.code(f.clk.Now())
	f.nextStep()
	c2 := d.code(f.clk.Now())
	rv, err := f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)
	f.ok(err)
	if rv.SubStatus != "active" || rv.FailCount != 0 {
		t.Fatalf("after resync: %+v", rv)
	}
	// Both resync codes are consumed.
	_, err = f.srv.Verify(f.ctx, u, c2)
	f.expectCode(err, server.CodeOTPReplayed)
	_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)
	f.expectCode(err, server.CodeOTPReplayed)
	f.nextStep()
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
}

func TestASuccessClearsTheFailureCounter(t *testing.T) {
	f := newFixture(t, server.Policy{LockoutThreshold: 3})
	u, d := f.activeToken()
	for range 2 {
		_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
		f.expectCode(err, server.CodeOTPInvalid)
	}
	_, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	f.nextStep()
	for range 2 {
		_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
		f.expectCode(err, server.CodeOTPInvalid)
	}
	if v := f.status(d.serial); v.SubStatus == "locked" || v.FailCount != 2 {
		t.Fatalf("consecutive failures only: %+v", v)
	}
}

func TestResyncRepairsALargeDriftAndBlocksAfterFailures(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	d.offset = 40 * time.Minute // 80 steps: far outside the login window
	_, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	c1 := d.code(f.clk.Now())
	f.nextStep()
	c2 := d.code(f.clk.Now())
	rv, err := f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)
	f.ok(err)
	if rv.DriftSteps != 80 {
		t.Fatalf("drift after resync %d, want 80", rv.DriftSteps)
	}
	f.nextStep()
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)

	// Three failed resyncs block it until an administrator resets it.
	for i := range 3 {
		_, err := f.srv.Resync(f.ctx, server.AsUser(u), d.serial, d.wrong(f.clk.Now()), d.wrong(f.clk.Now().Add(time.Hour)))
		f.expectCode(err, server.CodeOTPIncorrect)
		if blocked := f.status(d.serial).Blocked; blocked != (i == 2) {
			t.Fatalf("after %d failures blocked=%v", i+1, blocked)
		}
	}
	f.nextStep()
	c1 = d.code(f.clk.Now())
	f.nextStep()
	c2 = d.code(f.clk.Now())
	_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)
	f.expectCode(err, server.CodeActivationBlocked)
	f.ok(errOf(f.srv.Reset(f.ctx, f.admin, d.serial)))
	_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)
	f.ok(err)
	// Another user may not resync someone's token; an administrator may.
	_, err = f.srv.Resync(f.ctx, server.AsUser(f.user()), d.serial, c1, c2)
	f.expectCode(err, server.CodeForbidden)
}

func TestLoginRefusalsByStatus(t *testing.T) {
	f := newFixture(t, server.Policy{})
	// No token on the account.
	_, err := f.srv.Verify(f.ctx, f.user(), "12345678")
	f.expectCode(err, server.CodeNoToken)
	// Pending activation: sponsored but not activated.
	u, d := f.user(), f.importToken()
	f.sponsor(u, d.serial)
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeNoToken)

	u, d = f.activeToken()
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)))
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenUnusable)
	_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, "12345678", "12345678")
	f.expectCode(err, server.CodeTokenUnusable)
	f.ok(errOf(f.srv.Enable(f.ctx, server.AsUser(u), d.serial)))
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)

	f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, d.serial)))
	f.nextStep()
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenRevoked)
	_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, "12345678", "12345678")
	f.expectCode(err, server.CodeTokenRevoked)
}

func TestMalformedLoginCodeIsABadRequestThatChangesNothing(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	for _, code := range []string{"", "1234567", "123456789", "12a45678", " 2345678"} {
		_, err := f.srv.Verify(f.ctx, u, code)
		f.expectCode(err, server.CodeBadRequest)
	}
	if v := f.status(d.serial); v.FailCount != 0 {
		t.Fatalf("bad requests counted: %+v", v)
	}
	_, err := f.srv.Verify(f.ctx, "nobody", "12345678")
	f.expectCode(err, server.CodeNotFound)
}

func TestAuditRecordsEveryOutcome(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	_, _ = f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
	_, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	entries, err := f.srv.Audit(f.ctx, "", 0)
	f.ok(err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+"="+e.Outcome)
	}
	want := "account.create=ok inventory.import=ok token.sponsor=ok token.activate=ok token.verify=otp_invalid token.verify=ok"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, e := range entries {
		if e.At.IsZero() || e.Actor == "" {
			t.Fatalf("incomplete entry %+v", e)
		}
	}
}
