package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

func TestActivationWithTwoConsecutiveCodes(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.user(), f.importToken()
	if got := f.status(d.serial); got.Status != server.StatusPendingActivation || got.LastStep != nil {
		t.Fatalf("imported token: %+v", got)
	}
	f.sponsor(u, d.serial)
	v, err := f.activate(u, d)
	f.ok(err)
	wantStep := f.clk.Now().Unix() / 30
	if v.Status != server.StatusActive || v.SubStatus != "active" || v.StatusDisplay != "Active (Active)" || v.OwnerID != u ||
		v.LastStep == nil || *v.LastStep != wantStep || v.DriftSteps != 0 {
		t.Fatalf("activated: %+v", v)
	}
	// Valid a year from purchase (the sponsorship, made at the start).
	if want := start.Add(365 * 24 * time.Hour); !v.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", v.ExpiresAt, want)
	}
	if k := kinds(f.notifications(u)); strings.Join(k, ",") != "sponsorship,activation" {
		t.Fatalf("outbox %v", k)
	}
}

func TestActivationFixesTheDrift(t *testing.T) {
	for _, c := range []struct {
		offset time.Duration
		ok     bool
		drift  int64
	}{
		{0, true, 0},
		{95 * time.Second, true, 3},
		{-4 * time.Hour, true, -480},
		{1000 * 30 * time.Second, true, 1000},
		{-999 * 30 * time.Second, true, -999},
		{1002 * 30 * time.Second, false, 0}, // the first code is 1002 steps away
	} {
		f := newFixture(t, server.Policy{})
		u, d := f.user(), f.importToken()
		d.offset = c.offset
		f.sponsor(u, d.serial)
		v, err := f.activate(u, d)
		if !c.ok {
			f.expectCode(err, server.CodeOTPIncorrect)
			continue
		}
		f.ok(err)
		if v.DriftSteps != c.drift {
			t.Errorf("offset %v: drift %d steps, want %d", c.offset, v.DriftSteps, c.drift)
		}
	}
}

func TestActivationRefusals(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.user(), f.importToken()

	// A serial the inventory does not hold, or one not sponsored to the user.
	_, err := f.srv.Activate(f.ctx, u, "NOPE", "12345678", "23456789")
	f.expectCode(err, server.CodeSerialIncorrect)
	_, err = f.activate(u, d)
	f.expectCode(err, server.CodeSerialIncorrect)

	// Malformed codes are a bad request and do not count as an attempt.
	f.sponsor(u, d.serial)
	_, err = f.srv.Activate(f.ctx, u, d.serial, "1234", "abcdefgh")
	f.expectCode(err, server.CodeBadRequest)
	if f.status(d.serial).Blocked {
		t.Fatal("a malformed request counted")
	}

	// Codes that are not consecutive.
	c1 := d.code(f.clk.Now())
	f.nextStep()
	f.nextStep()
	c3 := d.code(f.clk.Now())
	_, err = f.srv.Activate(f.ctx, u, d.serial, c1, c3)
	f.expectCode(err, server.CodeOTPIncorrect)
	// The same code twice, and the two codes swapped.
	_, err = f.srv.Activate(f.ctx, u, d.serial, c3, c3)
	f.expectCode(err, server.CodeOTPIncorrect)
	// The third failure blocks; the next attempt, right codes or not, is blocked.
	_, err = f.srv.Activate(f.ctx, u, d.serial, c3, c1)
	f.expectCode(err, server.CodeOTPIncorrect)
	if v := f.status(d.serial); !v.Blocked || v.Status != server.StatusPendingActivation {
		t.Fatalf("after 3 failures: %+v", v)
	}
	_, err = f.activate(u, d)
	f.expectCode(err, server.CodeActivationBlocked)

	// Only an administrator resets it.
	f.expectCode(errOf(f.srv.Reset(f.ctx, server.AsUser(u), d.serial)), server.CodeForbidden)
	f.ok(errOf(f.srv.Reset(f.ctx, f.admin, d.serial)))
	_, err = f.activate(u, d)
	f.ok(err)

	// Activating again is not possible.
	_, err = f.activate(u, d)
	f.expectCode(err, server.CodeActionUnavailable)
}

func TestActivationPreconditions(t *testing.T) {
	f := newFixture(t, server.Policy{})
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "pim", Name: "PIM", Terms: "Be nice.",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}}))

	t.Run("terms of the sponsoring application must be accepted first", func(t *testing.T) {
		// Accepted by the organization's administrator, for the user's
		// organization (TestRoleTermsNeedTheGuidesRole).
		orgAdmin := f.user(func(n *server.NewAccount) { n.Organization, n.Role = "Acme", server.RoleOrgAdmin })
		u, d := f.user(func(n *server.NewAccount) { n.Organization = "Acme" }), f.importToken()
		f.sponsor(u, d.serial, func(s *server.Sponsorship) { s.ApplicationID = "pim" })
		_, err := f.activate(u, d)
		f.expectCode(err, server.CodeActionUnavailable)
		f.ok(f.srv.AcceptTerms(f.ctx, orgAdmin, "pim"))
		f.nextStep()
		_, err = f.activate(u, d)
		f.ok(err)
	})
	t.Run("a sponsorship past its deadline cannot be activated", func(t *testing.T) {
		u, d := f.user(), f.importToken()
		f.sponsor(u, d.serial, func(s *server.Sponsorship) { s.ActivateBy = f.clk.Now().Add(7 * 24 * time.Hour) })
		f.clk.Step(8 * 24 * time.Hour)
		_, err := f.activate(u, d)
		f.expectCode(err, server.CodeActionUnavailable)
	})
	t.Run("one non-revoked hardware token per account", func(t *testing.T) {
		u, d1 := f.activeToken()
		d2 := f.importToken()
		f.sponsor(u, d2.serial)
		_, err := f.activate(u, d2)
		f.expectCode(err, server.CodeActionUnavailable)
		// Revocation comes before a replacement.
		f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d1.serial)))
		f.nextStep()
		_, err = f.activate(u, d2)
		f.ok(err)
	})
	t.Run("a revoked serial can never be activated again", func(t *testing.T) {
		u, d := f.user(), f.importToken()
		f.sponsor(u, d.serial)
		f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, d.serial)))
		_, err := f.activate(u, d)
		f.expectCode(err, server.CodeTokenRevoked)
		other := f.user()
		_, err = f.activate(other, d)
		f.expectCode(err, server.CodeTokenRevoked)
	})
	t.Run("a level 3 credential needs identity proofing", func(t *testing.T) {
		u, d := f.user(), f.importToken()
		key, err := f.srv.CreateLicenceKey(f.ctx, f.admin, d.serial, 3)
		f.ok(err)
		_, err = f.activate(u, d)
		f.expectCode(err, server.CodeSerialIncorrect) // the key is not entered yet
		f.ok(f.srv.RedeemLicenceKey(f.ctx, u, key))
		_, err = f.activate(u, d)
		f.expectCode(err, server.CodeActionUnavailable)
		f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPassed)))
		f.nextStep()
		v, err := f.activate(u, d)
		f.ok(err)
		if v.Level != 3 {
			t.Fatalf("level %d, want 3", v.Level)
		}
		// The key is bound to that serial: another user cannot redeem it.
		f.expectCode(f.srv.RedeemLicenceKey(f.ctx, f.user(), key), server.CodeConflict)
		f.expectCode(f.srv.RedeemLicenceKey(f.ctx, u, "NO-SUCH-KEY"), server.CodeNotFound)
	})
	t.Run("with approval required the token waits in Pending Approval", func(t *testing.T) {
		g := newFixture(t, server.Policy{ApprovalRequired: true})
		u, d := g.user(), g.importToken()
		g.sponsor(u, d.serial)
		v, err := g.activate(u, d)
		g.ok(err)
		if v.Status != server.StatusPendingApproval {
			t.Fatalf("status %s", v.Status)
		}
		g.nextStep()
		// A login and a resync are refused with the guide's message for a
		// token pending approval, which leaves out the advice to re-activate.
		pending := "You cannot use your token to log into MAG at this time. Follow the link below to log in without a One-Time Password Token."
		_, err = g.srv.Verify(g.ctx, u, d.code(g.clk.Now()))
		g.expectCode(err, server.CodeTokenUnusable)
		if e := err.(*server.Error); e.Message != pending {
			t.Errorf("login with a token pending approval: %q", e.Message)
		}
		_, err = g.srv.Resync(g.ctx, server.AsUser(u), d.serial, d.code(g.clk.Now()), d.code(g.clk.Now().Add(30*time.Second)))
		g.expectCode(err, server.CodeTokenUnusable)
		if e := err.(*server.Error); e.Message != pending {
			t.Errorf("resync of a token pending approval: %q", e.Message)
		}
		g.ok(errOf(g.srv.Approve(g.ctx, g.admin, d.serial)))
		_, err = g.srv.Verify(g.ctx, u, d.code(g.clk.Now()))
		g.ok(err)
	})
}

func TestActivationOfHOTPAndOtherAlgorithms(t *testing.T) {
	f := newFixture(t, server.Policy{})
	for _, sd := range []seedfile.Token{
		{Kind: oath.HOTP, Digits: 6, Counter: 40},
		{Kind: oath.TOTP, Algorithm: oath.SHA256, Digits: 6, Period: time.Minute},
		{Kind: oath.TOTP, Algorithm: oath.SHA512, Digits: 8},
	} {
		u, d := f.user(), f.importSeed(sd)
		f.sponsor(u, d.serial)
		v, err := f.activate(u, d)
		f.ok(err)
		f.nextStepOf(d)
		ver, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
		f.ok(err)
		if sd.Kind == oath.HOTP && (*v.LastStep != 41 || ver.Step != 42) {
			t.Fatalf("HOTP: activation step %d, login step %d; want 41 and 42", *v.LastStep, ver.Step)
		}
	}
}
