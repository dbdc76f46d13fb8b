package server_test

import (
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// sessionFixture is a fixture with a user, their active token and an
// application any session opens.
func sessionFixture(t *testing.T) (*fixture, string, *device) {
	f := newFixture(t, server.Policy{})
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "portal", Name: "Dashboard",
		MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}))
	u, d := f.activeToken()
	return f, u, d
}

// expectLive asserts that the session is live: Session answers it, and
// Access opens an application (which is activity: it keeps it live).
func (f *fixture) expectLive(id string) {
	f.t.Helper()
	if ss, err := f.srv.Session(f.ctx, id); err != nil || !ss.EndedAt.IsZero() {
		f.t.Fatalf("session %s: %+v, %v; want it live", id, ss, err)
	}
	f.ok(f.srv.Access(f.ctx, id, "portal"))
}

// expectEnded asserts that Session, Access and Elevate all refuse the
// session as session_invalid.
func (f *fixture) expectEnded(id string, d *device) {
	f.t.Helper()
	_, err := f.srv.Session(f.ctx, id)
	f.expectCode(err, server.CodeSessionInvalid)
	f.expectCode(f.srv.Access(f.ctx, id, "portal"), server.CodeSessionInvalid)
	_, err = f.srv.Elevate(f.ctx, id, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeSessionInvalid)
}

// TestSessionIdleTimeout: a session ends SessionIdleTimeout (15 minutes)
// after its last use (docs/lifecycle.md, “Sessions”); using it keeps it
// live, looking at it does not.
func TestSessionIdleTimeout(t *testing.T) {
	f, u, d := sessionFixture(t)
	ss, err := f.srv.Login(f.ctx, u, "correct horse battery", "")
	f.ok(err)
	f.clk.Step(15*time.Minute - time.Second)
	f.expectLive(ss.ID) // used: 15 more minutes
	f.clk.Step(15*time.Minute - time.Second)
	if _, err := f.srv.Session(f.ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	f.clk.Step(time.Second)
	f.expectEnded(ss.ID, d)
	// Ended for good, and a new login is a new session.
	ss2, err := f.srv.Login(f.ctx, u, "correct horse battery", "")
	f.ok(err)
	f.expectLive(ss2.ID)
	f.expectEnded(ss.ID, d)
}

// TestSessionMaxLifetime: used or not, a session ends SessionMaxLifetime
// (12 hours) after the login.
func TestSessionMaxLifetime(t *testing.T) {
	f, u, d := sessionFixture(t)
	ss, err := f.srv.Login(f.ctx, u, "correct horse battery", "")
	f.ok(err)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
		f.clk.Step(10 * time.Minute)
		f.expectLive(ss.ID)
	}
	f.clk.Step(10 * time.Minute) // 12 hours after the login
	f.expectEnded(ss.ID, d)
}

// TestHardwareOTPSessionEndsWithItsToken: a session whose strength came from
// the hardware token ends when the token is suspended, locked, revoked or
// expires, and stays ended when the token comes back; a password session
// of the same user goes on.
func TestHardwareOTPSessionEndsWithItsToken(t *testing.T) {
	f, u, d := sessionFixture(t)
	const pw = "correct horse battery"
	login := func() (otp, password server.Session) {
		t.Helper()
		otp, err := f.srv.Login(f.ctx, u, pw, d.code(f.clk.Now()))
		f.ok(err)
		f.nextStepOf(d)
		password, err = f.srv.Login(f.ctx, u, pw, "")
		f.ok(err)
		return otp, password
	}

	// Suspended, then enabled again.
	otp, password := login()
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)))
	f.expectEnded(otp.ID, d)
	f.expectLive(password.ID)
	f.ok(errOf(f.srv.Enable(f.ctx, server.AsUser(u), d.serial)))
	f.expectEnded(otp.ID, d)

	// Elevated with the token, then locked by wrong codes, then resynced.
	elevated, err := f.srv.Elevate(f.ctx, password.ID, d.code(f.clk.Now()))
	f.ok(err)
	f.nextStepOf(d)
	otp, _ = login()
	for range 5 {
		_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
		f.expectCode(err, server.CodeOTPInvalid)
	}
	f.expectEnded(otp.ID, d)
	f.expectEnded(elevated.ID, d)
	c1 := d.code(f.clk.Now())
	f.nextStepOf(d)
	f.ok(errOf(f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, d.code(f.clk.Now()))))
	f.expectEnded(otp.ID, d)
	f.nextStepOf(d)

	// Expired by the sweep, then renewed.
	otp, _ = login()
	exp := *f.status(d.serial).ExpiresAt
	f.clk.Set(exp.Add(-time.Minute))
	otp2, err := f.srv.Login(f.ctx, u, pw, d.code(f.clk.Now()))
	f.ok(err)
	f.clk.Set(exp)
	f.expectEnded(otp2.ID, d) // due, before the sweep marks it
	f.sweep()
	f.ok(errOf(f.srv.Renew(f.ctx, server.AsUser(u), d.serial)))
	f.expectEnded(otp2.ID, d)
	f.nextStepOf(d)

	// Revoked: every session of the user ends, as before.
	otp, password = login()
	f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)))
	f.expectEnded(otp.ID, d)
	f.expectEnded(password.ID, d)
}

// TestAConnectedChildsSessionEndsWithTheParentsToken: the child logs in with
// the parent's token, so its session ends with that token too.
func TestAConnectedChildsSessionEndsWithTheParentsToken(t *testing.T) {
	f, parent, d := sessionFixture(t)
	pa, err := f.srv.Account(f.ctx, parent)
	f.ok(err)
	child := f.user(func(n *server.NewAccount) {
		n.Email, n.FirstName, n.MiddleName, n.LastName = pa.Email, pa.FirstName, pa.MiddleName, pa.LastName
	})
	f.ok(errOf(f.srv.Connect(f.ctx, server.AsUser(parent), parent, child)))
	ss, err := f.srv.Login(f.ctx, child, "correct horse battery", d.code(f.clk.Now()))
	f.ok(err)
	f.expectLive(ss.ID)
	f.ok(errOf(f.srv.Suspend(f.ctx, f.admin, d.serial)))
	f.expectEnded(ss.ID, d)
}
