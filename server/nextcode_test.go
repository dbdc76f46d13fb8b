package server_test

import (
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// TestNextCodeChallengeResynchronises: a token ten steps fast is challenged,
// not refused; its next code resynchronises it and logs in, and the drift is
// learned, so that the following login needs no challenge.
func TestNextCodeChallengeResynchronises(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	d.offset = 10 * 30 * time.Second
	v, ch, err := f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	if ch == nil || ch.ID == "" || ch.Serial != d.serial || v != (server.Verification{}) {
		t.Fatalf("no challenge: %+v %+v", v, ch)
	}
	if got := f.status(d.serial).FailCount; got != 0 {
		t.Fatalf("a challenge counted as a failure: %d", got)
	}
	f.nextStepOf(d)
	v, err = f.srv.AnswerChallenge(f.ctx, u, ch.ID, d.code(f.clk.Now()))
	f.ok(err)
	if v.DriftSteps != 10 || v.Serial != d.serial {
		t.Fatalf("%+v: want drift 10", v)
	}
	// The drift is learned: the next code logs in directly.
	f.nextStepOf(d)
	v, ch, err = f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	if ch != nil || v.Serial != d.serial {
		t.Fatalf("challenged again: %+v %+v", v, ch)
	}
	// The audit log says what happened.
	es, err := f.srv.Audit(f.ctx, u, 0)
	f.ok(err)
	var outcomes []string
	for _, e := range es {
		outcomes = append(outcomes, e.Action+" "+e.Outcome)
	}
	want := []string{"token.verify next_code_required", "token.verify_next_code ok", "token.verify ok"}
	if len(outcomes) < 3 || !equalTail(outcomes, want) {
		t.Fatalf("audit %q, want it to end with %q", outcomes, want)
	}
}

func equalTail(got, want []string) bool {
	got = got[len(got)-len(want):]
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestNextCodeChallengeWrongAnswerIsAFailure: anything but the next code
// counts towards the lockout, and ends the challenge.
func TestNextCodeChallengeWrongAnswerIsAFailure(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	d.offset = 10 * 30 * time.Second
	challenge := func() *server.Challenge {
		t.Helper()
		_, ch, err := f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
		f.ok(err)
		if ch == nil {
			t.Fatal("no challenge")
		}
		return ch
	}
	ch := challenge()
	// The same code again, not the next one.
	_, err := f.srv.AnswerChallenge(f.ctx, u, ch.ID, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	if got := f.status(d.serial).FailCount; got != 1 {
		t.Fatalf("fail count %d", got)
	}
	// The challenge is over: the right code no longer answers it.
	f.nextStepOf(d)
	_, err = f.srv.AnswerChallenge(f.ctx, u, ch.ID, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	// An unknown challenge, and an expired one.
	_, err = f.srv.AnswerChallenge(f.ctx, u, "no such challenge", d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	f.nextStepOf(d)
	ch = challenge()
	f.clk.Step(5 * time.Minute)
	_, err = f.srv.AnswerChallenge(f.ctx, u, ch.ID, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	if got := f.status(d.serial).FailCount; got != 4 {
		t.Fatalf("fail count %d, want 4", got)
	}
	// Another user's challenge does not answer for this one.
	u2, d2 := f.activeToken()
	d2.offset = d.offset
	_, ch2, err := f.srv.VerifyOrChallenge(f.ctx, u2, d2.code(f.clk.Now()))
	f.ok(err)
	f.nextStepOf(d2)
	_, err = f.srv.AnswerChallenge(f.ctx, u, ch2.ID, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	if v := f.status(d.serial); v.SubStatus != "locked" {
		t.Fatalf("five failures did not lock: %+v", v)
	}
}

// TestNextCodeChallengeBounds: a code in the login window logs in, one
// outside the sync window is a wrong code, a used one a replay, and the
// policy turns the challenge off.
func TestNextCodeChallengeBounds(t *testing.T) {
	f := newFixture(t, server.Policy{SyncWindow: 20})
	u, d := f.activeToken()
	v, ch, err := f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	if ch != nil || v.Serial != d.serial {
		t.Fatalf("%+v %+v", v, ch)
	}
	_, _, err = f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPReplayed)
	d.offset = 21 * 30 * time.Second
	_, ch, err = f.srv.VerifyOrChallenge(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	if ch != nil {
		t.Fatal("challenged outside the sync window")
	}

	g := newFixture(t, server.Policy{NoNextCodeChallenge: true})
	u, d = g.activeToken()
	d.offset = 10 * 30 * time.Second
	_, ch, err = g.srv.VerifyOrChallenge(g.ctx, u, d.code(g.clk.Now()))
	g.expectCode(err, server.CodeOTPInvalid)
	if ch != nil || g.status(d.serial).FailCount != 1 {
		t.Fatal("challenged with the challenge off")
	}
}

// TestVerifyPasswordAndCode: the password followed by the code; a wrong
// password is credentials_invalid and leaves the code unused and uncounted.
func TestVerifyPasswordAndCode(t *testing.T) {
	f := newFixture(t, server.Policy{RadiusPasswordAndCode: true})
	u, d := f.activeToken()
	code := d.code(f.clk.Now())
	_, _, err := f.srv.VerifyPasswordAndCode(f.ctx, u, "wrong password"+code)
	f.expectCode(err, server.CodeCredentialsInvalid)
	if got := f.status(d.serial).FailCount; got != 0 {
		t.Fatalf("a wrong password counted against the token: %d", got)
	}
	v, ch, err := f.srv.VerifyPasswordAndCode(f.ctx, u, "correct horse battery"+code)
	f.ok(err)
	if ch != nil || v.Serial != d.serial {
		t.Fatalf("%+v %+v", v, ch)
	}
	_, _, err = f.srv.VerifyPasswordAndCode(f.ctx, u, "correct horse battery"+code)
	f.expectCode(err, server.CodeOTPReplayed)
	_, _, err = f.srv.VerifyPasswordAndCode(f.ctx, u, "correct horse battery"+d.wrong(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	_, _, err = f.srv.VerifyPasswordAndCode(f.ctx, u, "1234")
	f.expectCode(err, server.CodeCredentialsInvalid)
	_, _, err = f.srv.VerifyPasswordAndCode(f.ctx, "nobody", "correct horse battery"+code)
	f.expectCode(err, server.CodeCredentialsInvalid)
	// Ten steps fast: the challenge, answered with the code alone.
	d.offset = 10 * 30 * time.Second
	f.nextStepOf(d)
	_, ch, err = f.srv.VerifyPasswordAndCode(f.ctx, u, "correct horse battery"+d.code(f.clk.Now()))
	f.ok(err)
	if ch == nil {
		t.Fatal("no challenge")
	}
	f.nextStepOf(d)
	_, err = f.srv.AnswerChallenge(f.ctx, u, ch.ID, d.code(f.clk.Now()))
	f.ok(err)
}
