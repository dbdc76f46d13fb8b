package server_test

import (
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

func TestCredentialStrengthGate(t *testing.T) {
	f := newFixture(t, server.Policy{})
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "portal", Name: "Dashboard",
		MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}))
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "pim", Name: "PIM", Terms: "terms",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}}))
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "boeing", Name: "Level 3 app",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 3}}))
	f.expectCode(f.srv.CreateApplication(f.ctx, server.AsUser("x"), server.Application{ID: "x", MinStrength: server.Strength{Credential: server.CredentialPassword}}), server.CodeForbidden)
	f.expectCode(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "pim", MinStrength: server.Strength{Credential: server.CredentialPassword}}), server.CodeConflict)

	u, d := f.activeTokenOf(in("Acme", server.RoleUser))
	orgAdmin := f.user(in("Acme", server.RoleOrgAdmin))
	_, err := f.srv.Login(f.ctx, u, "wrong password", "")
	f.expectCode(err, server.CodeCredentialsInvalid)
	// Skipping the OTP leaves the session at password strength.
	ss, err := f.srv.Login(f.ctx, u, "correct horse battery", "")
	f.ok(err)
	f.ok(f.srv.Access(f.ctx, ss.ID, "portal"))
	f.expectCode(f.srv.Access(f.ctx, ss.ID, "pim"), server.CodeTermsNotAccepted)
	f.ok(f.srv.AcceptTerms(f.ctx, orgAdmin, "pim")) // for Acme (TestRoleTermsNeedTheGuidesRole)
	f.expectCode(f.srv.Access(f.ctx, ss.ID, "pim"), server.CodeStrengthTooLow)
	// Elevating the strength in the session uses the same check as a login.
	_, err = f.srv.Elevate(f.ctx, ss.ID, d.wrong(f.clk.Now()))
	f.expectCode(err, server.CodeOTPInvalid)
	ss, err = f.srv.Elevate(f.ctx, ss.ID, d.code(f.clk.Now()))
	f.ok(err)
	if ss.Strength != (server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}) {
		t.Fatalf("elevated to %+v", ss.Strength)
	}
	f.ok(f.srv.Access(f.ctx, ss.ID, "pim"))
	// A level 2 token does not open a level 3 application, until the user is proofed.
	f.expectCode(f.srv.Access(f.ctx, ss.ID, "boeing"), server.CodeStrengthTooLow)
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPassed)))
	f.nextStep()
	ss2, err := f.srv.Login(f.ctx, u, "correct horse battery", d.code(f.clk.Now()))
	f.ok(err)
	f.ok(f.srv.Access(f.ctx, ss2.ID, "boeing"))
	// Logged out sessions are no sessions.
	f.ok(f.srv.Logout(f.ctx, ss2.ID))
	f.expectCode(f.srv.Access(f.ctx, ss2.ID, "portal"), server.CodeSessionInvalid)
	f.expectCode(f.srv.Access(f.ctx, "no-such-session", "portal"), server.CodeSessionInvalid)
	f.expectCode(f.srv.Access(f.ctx, ss.ID, "no-such-app"), server.CodeNotFound)
}

func TestOneTokenOnConnectedAccounts(t *testing.T) {
	f := newFixture(t, server.Policy{})
	parent, d := f.activeToken()
	pa, err := f.srv.Account(f.ctx, parent)
	f.ok(err)
	same := func(n *server.NewAccount) {
		n.Email, n.FirstName, n.MiddleName, n.LastName = pa.Email, pa.FirstName, pa.MiddleName, pa.LastName
	}
	child := f.user(same)

	// Before the connection the child has no token.
	_, err = f.srv.Verify(f.ctx, child, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeNoToken)
	f.ok(errOf(f.srv.Connect(f.ctx, server.AsUser(parent), parent, child)))
	_, err = f.srv.Verify(f.ctx, child, d.code(f.clk.Now()))
	f.ok(err)
	// The token's steps are shared: the parent cannot reuse the child's code.
	_, err = f.srv.Verify(f.ctx, parent, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeOTPReplayed)

	// Names must match exactly.
	other := f.user(same, func(n *server.NewAccount) { n.MiddleName = "B" })
	f.expectCode(errOf(f.srv.Connect(f.ctx, f.admin, parent, other)), server.CodeActionUnavailable)
	// A child with an active credential of its own cannot be connected.
	withPhone := f.user(same)
	f.ok(errOf(f.srv.AddPhone(f.ctx, withPhone, "+17035550100", "text", "")))
	f.expectCode(errOf(f.srv.Connect(f.ctx, f.admin, parent, withPhone)), server.CodeActionUnavailable)
	withToken, d2 := f.activeToken()
	_ = d2
	f.expectCode(errOf(f.srv.Connect(f.ctx, f.admin, parent, withToken)), server.CodeActionUnavailable)
	// Someone else may not connect accounts.
	f.expectCode(errOf(f.srv.Connect(f.ctx, server.AsUser(f.user()), parent, child)), server.CodeForbidden)
	// A connected child does not activate a token of its own.
	d3 := f.importToken()
	f.sponsor(child, d3.serial)
	_, err = f.activate(child, d3)
	f.expectCode(err, server.CodeActionUnavailable)
}

// TestChildWithARevokedTokenUsesTheParents: a revoked token is no active
// credential, so an account whose own token was revoked may be connected to
// a parent, and from then on logs in with the parent's token, as the guide
// says a child does ("You will use the Parent accounts' credentials once
// connection is complete"). Its own revoked token still answers when there
// is no parent's token to use.
func TestChildWithARevokedTokenUsesTheParents(t *testing.T) {
	f := newFixture(t, server.Policy{})
	child, own := f.activeToken()
	f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, own.serial)))
	ca, err := f.srv.Account(f.ctx, child)
	f.ok(err)
	parent := f.user(func(n *server.NewAccount) {
		n.Email, n.FirstName, n.MiddleName, n.LastName = ca.Email, ca.FirstName, ca.MiddleName, ca.LastName
	})
	f.ok(errOf(f.srv.Connect(f.ctx, f.admin, parent, child)))
	// The parent has no token yet: the child hears that its own was revoked.
	f.nextStep()
	_, err = f.srv.Verify(f.ctx, child, own.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenRevoked)

	d := f.importToken()
	f.sponsor(parent, d.serial)
	f.ok(errOf(f.activate(parent, d)))
	f.nextStep()
	v, err := f.srv.Verify(f.ctx, child, d.code(f.clk.Now()))
	f.ok(err)
	if v.Serial != d.serial {
		t.Fatalf("the child logged in with %s, want the parent's %s", v.Serial, d.serial)
	}
	// A login too, with the temporary password the revocation sent.
	ns := f.notifications(child)
	temp := ns[len(ns)-1].Body[strings.LastIndex(ns[len(ns)-1].Body, " ")+1:]
	f.nextStep()
	ss, err := f.srv.Login(f.ctx, child, temp, d.code(f.clk.Now()))
	f.ok(err)
	if ss.Strength.Credential != server.CredentialHardwareOTP {
		t.Fatalf("the child's session: %+v", ss.Strength)
	}
	// Wrong codes count against the parent's token, which they lock.
	for range 5 {
		_, err = f.srv.Verify(f.ctx, child, d.wrong(f.clk.Now()))
		f.expectCode(err, server.CodeOTPInvalid)
	}
	_, err = f.srv.Verify(f.ctx, parent, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenLocked)
}

func TestAccountsAreValidatedAndUnique(t *testing.T) {
	f := newFixture(t, server.Policy{})
	good := server.NewAccount{UserID: "jdoe", Email: "j@example.com", FirstName: "J", LastName: "Doe", Password: "long enough"}
	_, err := f.srv.CreateAccount(f.ctx, f.admin, good)
	f.ok(err)
	_, err = f.srv.CreateAccount(f.ctx, f.admin, good)
	f.expectCode(err, server.CodeConflict)
	for _, bad := range []func(*server.NewAccount){
		func(n *server.NewAccount) { n.UserID = "" },
		func(n *server.NewAccount) { n.UserID = "has space" },
		func(n *server.NewAccount) { n.Email = "not-an-address" },
		func(n *server.NewAccount) { n.Password = "short" },
		func(n *server.NewAccount) { n.Role = "king" },
		func(n *server.NewAccount) { n.LastName = "" },
	} {
		n := good
		n.UserID = "other"
		bad(&n)
		_, err := f.srv.CreateAccount(f.ctx, f.admin, n)
		f.expectCode(err, server.CodeBadRequest)
	}
	a, err := f.srv.Account(f.ctx, "jdoe")
	f.ok(err)
	if a.Role != server.RoleUser {
		t.Fatalf("default role %s", a.Role)
	}
}
