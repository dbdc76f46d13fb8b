package client_test

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

var phoneCodeIn = regexp.MustCompile(`(?:One-Time Password|activation code) is ([0-9A-Z]{6,10})\.`)

// lastCode is the code of the user's last notification that holds one.
func lastCode(t *testing.T, svc server.Service, user string) string {
	t.Helper()
	ns, err := svc.Notifications(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if m := phoneCodeIn.FindStringSubmatch(ns[i].Body); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no code for %s", user)
	return ""
}

// TestPhonesAndProofingAlike: the phone OTP and proofing calls answer
// alike in process and over HTTP — the views, and each refusal's code and
// message; and the client refuses locally what only an administrator, or
// the user themselves, may do.
func TestPhonesAndProofingAlike(t *testing.T) {
	ctx := context.Background()
	type step struct {
		what string
		code server.Code // "" for success
		msg  string
	}
	runs := map[string][]step{}
	for name, svc := range services(t) {
		var got []step
		note := func(what string, err error) {
			t.Helper()
			var e *server.Error
			s := step{what: what}
			if err != nil {
				if !errors.As(err, &e) {
					t.Fatalf("%s: %s: %v", name, what, err)
				}
				s.code, s.msg = e.Code, e.Message
			}
			got = append(got, s)
		}
		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %s: %v", name, what, err)
			}
			note(what, nil)
		}
		if _, err := svc.CreateAccount(ctx, admin, server.NewAccount{UserID: "pat", Email: "p@example.com", FirstName: "P", LastName: "Q", Password: "long password"}); err != nil {
			t.Fatal(err)
		}
		const n = "+17035550100"
		_, err := svc.AddPhone(ctx, "pat", "+1 703 555 0100", "text", "")
		note("add a malformed number", err)
		v, err := svc.AddPhone(ctx, "pat", n, "voice", "")
		must("add", err)
		if v.Verified || v.Method != "voice" {
			t.Fatalf("%s: %+v", name, v)
		}
		_, err = svc.LoginWithPhone(ctx, "pat", "long password", n, "123456")
		note("log in with an unverified phone", err)
		_, err = svc.VerifyPhone(ctx, "pat", n, lastCode(t, svc, "pat"))
		must("verify", err)
		_, err = svc.AddPhone(ctx, "pat", "+17035550101", "text", "")
		note("add without a session", err)
		sent, err := svc.SendPhoneCode(ctx, "pat", n)
		must("send", err)
		if sent.Purpose != "login" || sent.Method != "voice" {
			t.Fatalf("%s: %+v", name, sent)
		}
		ss, err := svc.LoginWithPhone(ctx, "pat", "long password", n, lastCode(t, svc, "pat"))
		must("log in", err)
		if ss.Strength.Credential != server.CredentialPhoneOTP || ss.Phone != n {
			t.Fatalf("%s: %+v", name, ss)
		}
		_, err = svc.AddPhone(ctx, "pat", "+17035550101", "text", ss.ID)
		must("add with the session", err)
		must("remove with the session", svc.RemovePhone(ctx, "pat", "+17035550101", ss.ID))
		note("remove again", svc.RemovePhone(ctx, "pat", "+17035550101", ss.ID))
		pw, err := svc.Login(ctx, "pat", "long password", "")
		must("log in with the password", err)
		_, err = svc.SendPhoneCode(ctx, "pat", n)
		must("send again", err)
		up, err := svc.ElevateWithPhone(ctx, pw.ID, n, lastCode(t, svc, "pat"))
		must("elevate", err)
		if up.Strength.Credential != server.CredentialPhoneOTP {
			t.Fatalf("%s: %+v", name, up)
		}
		pv, err := svc.Phones(ctx, "pat")
		must("list", err)
		if len(pv.Phones) != 1 || pv.Subscription == nil || pv.Subscription.Status != "active" {
			t.Fatalf("%s: %+v", name, pv)
		}
		_, err = svc.RenewPhoneSubscription(ctx, server.AsUser("pat"), "pat")
		must("renew", err)

		// Refused before anything is sent: a user renewing another's, a
		// user recording proofing, nobody acting.
		_, err = svc.RenewPhoneSubscription(ctx, server.AsUser("mallory"), "pat")
		note("renew another's", err)
		_, err = svc.RenewPhoneSubscription(ctx, server.Actor{}, "pat")
		note("renew as nobody", err)
		_, err = svc.RecordProofing(ctx, server.AsUser("pat"), "pat", server.ProofingPassed)
		note("record proofing as a user", err)
		_, err = svc.RecordProofing(ctx, server.Actor{}, "pat", server.ProofingPassed)
		note("record proofing as nobody", err)

		pr, err := svc.RecordProofing(ctx, admin, "pat", server.ProofingPostal)
		must("record postal", err)
		if !pr.CodePending || pr.Proofed {
			t.Fatalf("%s: %+v", name, pr)
		}
		_, err = svc.EnterProofingCode(ctx, "pat", "WRONGCODE0")
		note("a wrong proofing code", err)
		pr, err = svc.EnterProofingCode(ctx, "pat", lastCode(t, svc, "pat"))
		must("the proofing code", err)
		if got, err := svc.Proofing(ctx, "pat"); err != nil || !pr.Proofed || !got.Proofed {
			t.Fatalf("%s: %+v %+v %v", name, pr, got, err)
		}
		runs[name] = got
	}
	a, b := runs["server"], runs["client"]
	if len(a) != len(b) {
		t.Fatalf("server: %v\nclient: %v", a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("%s: in process %s %q, over HTTP %s %q", a[i].what, a[i].code, a[i].msg, b[i].code, b[i].msg)
		}
	}
	want := map[string]server.Code{"add a malformed number": server.CodeBadRequest, "log in with an unverified phone": server.CodePhoneUnverified,
		"add without a session": server.CodePhoneOTPRequired, "remove again": server.CodeNotFound, "renew another's": server.CodeForbidden,
		"renew as nobody": server.CodeBadRequest, "record proofing as a user": server.CodeForbidden, "record proofing as nobody": server.CodeBadRequest,
		"a wrong proofing code": server.CodeProofingCodeInvalid}
	for _, s := range a {
		if s.code != want[s.what] {
			t.Errorf("%s: got %q, want %q", s.what, s.code, want[s.what])
		}
	}
}
