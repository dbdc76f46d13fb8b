package server_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

var proofingCodeInBody = regexp.MustCompile(`activation code is ([A-Z0-9]{10})\.`)

// proofingCode is the activation code of the last proofing notification of
// kind in user's outbox.
func (f *fixture) proofingCode(user string, kind server.NotificationKind) string {
	f.t.Helper()
	ns := f.notifications(user)
	for i := len(ns) - 1; i >= 0; i-- {
		if ns[i].Kind == kind {
			if m := proofingCodeInBody.FindStringSubmatch(ns[i].Body); m != nil {
				return m[1]
			}
		}
	}
	f.t.Fatalf("no %s for %s", kind, user)
	return ""
}

// TestIdentityProofingOutcomes: the administrator records the bureau's
// answer; postal and live outcomes yield a code the user enters once.
func TestIdentityProofingOutcomes(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	f.expectCode(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, "maybe")), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.RecordProofing(f.ctx, server.AsUser(u), u, server.ProofingPassed)), server.CodeForbidden)
	f.expectCode(errOf(f.srv.RecordProofing(f.ctx, server.Actor{}, u, server.ProofingPassed)), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.RecordProofing(f.ctx, f.admin, "nobody", server.ProofingPassed)), server.CodeNotFound)
	f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, u, "ABCDEFGHJK")), server.CodeProofingCodeInvalid) // none pending

	// Postal: a code by post; a wrong one, a malformed one, then the code as
	// a user types it.
	v, err := f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPostal)
	f.ok(err)
	if v.Proofed || v.Outcome != "postal" || !v.CodePending {
		t.Fatalf("%+v", v)
	}
	code := f.proofingCode(u, server.NotificationProofingCodePostal)
	f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, u, "WRONGCODE0")), server.CodeProofingCodeInvalid)
	f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, u, "SHORT")), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, u, strings.Repeat("A", 1<<20))), server.CodeBadRequest)
	v, err = f.srv.EnterProofingCode(f.ctx, u, "  "+strings.ToLower(code)+" ")
	f.ok(err)
	if !v.Proofed || v.CodePending {
		t.Fatalf("%+v", v)
	}
	// Once: and a proofed account is not proofed again.
	f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, u, code)), server.CodeProofingCodeInvalid)
	f.expectCode(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPassed)), server.CodeConflict)
	if a, _ := f.srv.Account(f.ctx, u); !a.Proofed {
		t.Fatal("the account view does not say proofed")
	}

	// Live: the agent's code.
	l := f.user()
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, l, server.ProofingLive)))
	if ns := f.notifications(l); len(ns) != 1 || ns[0].Kind != server.NotificationProofingCodeLive {
		t.Fatalf("%v", kinds(ns))
	}
	f.ok(errOf(f.srv.EnterProofingCode(f.ctx, l, f.proofingCode(l, server.NotificationProofingCodeLive))))

	// Failed: not proofed, and a code still pending is void.
	x := f.user()
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, x, server.ProofingPostal)))
	stale := f.proofingCode(x, server.NotificationProofingCodePostal)
	v, err = f.srv.RecordProofing(f.ctx, f.admin, x, server.ProofingFailed)
	f.ok(err)
	if v.Proofed || v.CodePending || v.Outcome != "failed" {
		t.Fatalf("%+v", v)
	}
	f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, x, stale)), server.CodeProofingCodeInvalid)
	// A new postal outcome (the guide's "Lost Activation Code") replaces
	// the code.
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, x, server.ProofingPostal)))
	first := f.proofingCode(x, server.NotificationProofingCodePostal)
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, x, server.ProofingPostal)))
	if second := f.proofingCode(x, server.NotificationProofingCodePostal); second != first {
		f.expectCode(errOf(f.srv.EnterProofingCode(f.ctx, x, first)), server.CodeProofingCodeInvalid)
	}

	// Passed: proofed at once.
	p := f.user()
	v, err = f.srv.RecordProofing(f.ctx, f.admin, p, server.ProofingPassed)
	f.ok(err)
	if got, _ := f.srv.Proofing(f.ctx, p); !v.Proofed || !got.Proofed || got.Outcome != "passed" {
		t.Fatalf("%+v %+v", v, got)
	}
}

// TestLosingTheOnlyCredentialClearsProofing: "if you lose your OTP token,
// you will not be able to register a new token without repeating the
// identity proofing process" — unless a phone was registered.
func TestLosingTheOnlyCredentialClearsProofing(t *testing.T) {
	f := newFixture(t, server.Policy{})
	proofed := func(u string) bool {
		f.t.Helper()
		v, err := f.srv.Proofing(f.ctx, u)
		f.ok(err)
		return v.Proofed
	}

	// A token and no phone: revoking it clears proofing, and a level 3
	// token needs proofing again.
	u, d := f.activeToken()
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPassed)))
	f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)))
	if proofed(u) {
		t.Fatal("still proofed after the only credential was revoked")
	}
	d2 := f.importToken()
	key, err := f.srv.CreateLicenceKey(f.ctx, f.admin, d2.serial, 3)
	f.ok(err)
	f.ok(f.srv.RedeemLicenceKey(f.ctx, u, key))
	_, err = f.activate(u, d2)
	f.expectCode(err, server.CodeActionUnavailable)

	// A token and a verified phone: the phone keeps the proofing; removing
	// the phone, the last credential, then clears it.
	w, dw := f.activeToken()
	hw, err := f.srv.Login(f.ctx, w, pw, dw.code(f.clk.Now()))
	f.ok(err)
	f.verifiedPhone(w, "+17035550100", hw.ID)
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, w, server.ProofingPassed)))
	f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, dw.serial)))
	if !proofed(w) {
		t.Fatal("proofing was cleared though a phone is registered")
	}
	// The revocation reset the password: the user logs in with the
	// temporary one.
	ns := f.notifications(w)
	temp := ns[len(ns)-1].Body[strings.LastIndex(ns[len(ns)-1].Body, " ")+1:]
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, w, "+17035550100")))
	ps, err := f.srv.LoginWithPhone(f.ctx, w, temp, "+17035550100", f.phoneCode(w, "+17035550100"))
	f.ok(err)
	f.ok(f.srv.RemovePhone(f.ctx, w, "+17035550100", ps.ID))
	if proofed(w) {
		t.Fatal("still proofed after the last phone was removed")
	}

	// A proofed user with no credential yet keeps the proofing: nothing
	// was lost.
	n := f.user()
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, n, server.ProofingPassed)))
	f.ok(errOf(f.srv.AddPhone(f.ctx, n, "+17035550100", server.PhoneText, "")))
	f.ok(f.srv.RemovePhone(f.ctx, n, "+17035550100", ""))
	if !proofed(n) {
		t.Fatal("proofing was cleared though no credential was lost")
	}

	// The sweep's revocation of a token suspended too long, with no phone.
	s, ds := f.activeToken()
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, s, server.ProofingPassed)))
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(s), ds.serial)))
	f.clk.Step(61 * day)
	f.sweep()
	if proofed(s) {
		t.Fatal("still proofed after the sweep revoked the only credential")
	}

	// A phone subscription that lapses, with no token.
	g := newFixture(t, server.Policy{PhoneValidity: time.Hour, PhoneRenewalWindow: time.Hour})
	p := g.user()
	g.verifiedPhone(p, "+17035550100", "")
	g.ok(errOf(g.srv.RecordProofing(g.ctx, g.admin, p, server.ProofingPassed)))
	g.clk.Step(90 * time.Minute)
	g.sweep()
	if v, _ := g.srv.Proofing(g.ctx, p); !v.Proofed {
		t.Fatal("proofing was cleared by an expiry: the subscription may still be renewed")
	}
	g.clk.Step(time.Hour)
	g.sweep()
	if v, _ := g.srv.Proofing(g.ctx, p); v.Proofed {
		t.Fatal("still proofed after the subscription lapsed")
	}
}
