package server_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

const pw = "correct horse battery" // the fixture's accounts' password

var codeInBody = regexp.MustCompile(`One-Time Password is (\d{6})\.`)

// phoneCode is the code of the last text or voice message to number in
// user's outbox.
func (f *fixture) phoneCode(user, number string) string {
	f.t.Helper()
	ns := f.notifications(user)
	for i := len(ns) - 1; i >= 0; i-- {
		if n := ns[i]; n.Recipient == number && (n.Kind == server.NotificationPhoneCodeText || n.Kind == server.NotificationPhoneCodeVoice) {
			if m := codeInBody.FindStringSubmatch(n.Body); m != nil {
				return m[1]
			}
			f.t.Fatalf("no code in %q", n.Body)
		}
	}
	f.t.Fatalf("no code was sent to %s for %s", number, user)
	return ""
}

// verifiedPhone registers a phone by text and verifies it with the code
// sent; sessionID as AddPhone takes it.
func (f *fixture) verifiedPhone(user, number, sessionID string) {
	f.t.Helper()
	f.ok(errOf(f.srv.AddPhone(f.ctx, user, number, server.PhoneText, sessionID)))
	v, err := f.srv.VerifyPhone(f.ctx, user, number, f.phoneCode(user, number))
	f.ok(err)
	if !v.Verified {
		f.t.Fatalf("%+v", v)
	}
}

// phoneLogin sends a login code to number and logs in with it.
func (f *fixture) phoneLogin(user, number string) server.Session {
	f.t.Helper()
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, user, number)))
	ss, err := f.srv.LoginWithPhone(f.ctx, user, pw, number, f.phoneCode(user, number))
	f.ok(err)
	return ss
}

// wrongCode is a 6-digit code other than right.
func wrongCode(right string) string {
	if right == "000000" {
		return "111111"
	}
	return "000000"
}

// TestPhoneRegistration: a phone is registered by text or voice, gets a
// code to verify it with, and logs in only once verified; at most three.
func TestPhoneRegistration(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	auditBefore, err := f.srv.Audit(f.ctx, "", 0)
	f.ok(err)
	// Malformed numbers and methods are bad requests that write nothing.
	for _, bad := range []string{"7035550100", "+1 703 555 0100", "+1-703-555-0100", "+1(703)5550100", "+0123456789",
		"+1703555", "+1234567890123456", "", "+", "＋17035550100", strings.Repeat("9", 1<<20)} {
		f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, bad, server.PhoneText, "")), server.CodeBadRequest)
	}
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, "+17035550100", "sms", "")), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, "nobody", "+17035550100", server.PhoneText, "")), server.CodeNotFound)
	if auditAfter, _ := f.srv.Audit(f.ctx, "", 0); len(auditAfter) != len(auditBefore)+1 { // the not_found only
		t.Fatalf("malformed requests were audited: %d entries, want %d", len(auditAfter), len(auditBefore)+1)
	}
	if ns := f.notifications(u); len(ns) != 0 {
		t.Fatalf("refused registrations sent %v", kinds(ns))
	}

	// Registering sends a code, by the phone's method.
	v, err := f.srv.AddPhone(f.ctx, u, "+17035550100", server.PhoneText, "")
	f.ok(err)
	if v.Number != "+17035550100" || v.Method != "text" || v.Verified || v.VerifiedAt != nil {
		t.Fatalf("%+v", v)
	}
	ns := f.notifications(u)
	if last := ns[len(ns)-1]; last.Kind != server.NotificationPhoneCodeText || last.Recipient != "+17035550100" ||
		!strings.HasSuffix(last.Body, "It expires in 2 minutes.") {
		t.Fatalf("%+v", last)
	}
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, "+447700900123", server.PhoneVoice, "")))
	if ns := f.notifications(u); ns[len(ns)-1].Kind != server.NotificationPhoneCodeVoice {
		t.Fatalf("%+v", ns[len(ns)-1])
	}
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, "+17035550100", server.PhoneVoice, "")), server.CodeConflict)
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, "+17035550102", server.PhoneText, "")))
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, "+17035550199", server.PhoneText, "")), server.CodePhoneLimit)

	// Not verified yet: it does not log in.
	sent, err := f.srv.SendPhoneCode(f.ctx, u, "+17035550100")
	f.ok(err)
	if sent.Purpose != "verify" || !sent.ExpiresAt.Equal(f.clk.Now().Add(2*time.Minute)) {
		t.Fatalf("%+v", sent)
	}
	code := f.phoneCode(u, "+17035550100")
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, "+17035550100", code)
	f.expectCode(err, server.CodePhoneUnverified)

	// A wrong code, an expired one; the code sent again verifies it.
	f.expectCode(errOf(f.srv.VerifyPhone(f.ctx, u, "+17035550100", wrongCode(code))), server.CodePhoneCodeIncorrect)
	f.expectCode(errOf(f.srv.VerifyPhone(f.ctx, u, "+17035550100", "12345")), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.VerifyPhone(f.ctx, u, "+17035550199", code)), server.CodeNotFound)
	f.clk.Step(2*time.Minute + time.Second)
	f.expectCode(errOf(f.srv.VerifyPhone(f.ctx, u, "+17035550100", code)), server.CodePhoneCodeIncorrect)
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, "+17035550100")))
	v, err = f.srv.VerifyPhone(f.ctx, u, "+17035550100", f.phoneCode(u, "+17035550100"))
	f.ok(err)
	if !v.Verified || v.VerifiedAt == nil || !v.VerifiedAt.Equal(f.clk.Now()) {
		t.Fatalf("%+v", v)
	}
	f.expectCode(errOf(f.srv.VerifyPhone(f.ctx, u, "+17035550100", "123456")), server.CodeConflict)

	// The first verified phone starts the subscription: a year.
	pv, err := f.srv.Phones(f.ctx, u)
	f.ok(err)
	if len(pv.Phones) != 3 || !pv.Phones[0].Verified || pv.Phones[1].Verified || pv.OwnerID != u || pv.Subscription == nil ||
		pv.Subscription.Status != "active" || !pv.Subscription.ExpiresAt.Equal(f.clk.Now().Add(365*day)) ||
		!pv.Subscription.RenewBy.Equal(f.clk.Now().Add(730*day)) {
		t.Fatalf("%+v %+v", pv, pv.Subscription)
	}
	if a, _ := f.srv.Account(f.ctx, u); a.Phones != 3 {
		t.Fatalf("account view: %d phones", a.Phones)
	}
}

// TestPhoneLogin: a login code is valid two minutes, serves once, is
// replaced by a new one, and is void after three wrong ones.
func TestPhoneLogin(t *testing.T) {
	f := newFixture(t, server.Policy{PhoneCodeSends: 20}) // the send limit has its own test
	u := f.user()
	const n = "+17035550100"
	f.verifiedPhone(u, n, "")

	sent, err := f.srv.SendPhoneCode(f.ctx, u, n)
	f.ok(err)
	if sent.Purpose != "login" || sent.Method != "text" {
		t.Fatalf("%+v", sent)
	}
	code := f.phoneCode(u, n)
	// A wrong password is refused before the code is looked at: the code
	// still serves.
	_, err = f.srv.LoginWithPhone(f.ctx, u, "wrong password", n, code)
	f.expectCode(err, server.CodeCredentialsInvalid)
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, "+17035550199", code)
	f.expectCode(err, server.CodeNotFound)
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, "1234567")
	f.expectCode(err, server.CodeBadRequest)
	f.clk.Step(time.Minute + 59*time.Second)
	ss, err := f.srv.LoginWithPhone(f.ctx, u, pw, n, code)
	f.ok(err)
	if ss.Strength != (server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}) || ss.Phone != n || ss.UserID != u {
		t.Fatalf("%+v", ss)
	}
	// Used once.
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, code)
	f.expectCode(err, server.CodePhoneCodeIncorrect)

	// Valid 2 minutes after it is sent.
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	code = f.phoneCode(u, n)
	f.clk.Step(2 * time.Minute)
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, code)
	f.expectCode(err, server.CodePhoneCodeIncorrect)

	// Resend: a new code replaces the old.
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	first := f.phoneCode(u, n)
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	second := f.phoneCode(u, n)
	if first != second {
		_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, first)
		f.expectCode(err, server.CodePhoneCodeIncorrect)
	}
	f.ok(errOf(f.srv.LoginWithPhone(f.ctx, u, pw, n, second)))

	// Three wrong codes void it: the right one then fails too.
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	code = f.phoneCode(u, n)
	for range 3 {
		_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, wrongCode(code))
		f.expectCode(err, server.CodePhoneCodeIncorrect)
	}
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, code)
	f.expectCode(err, server.CodePhoneCodeIncorrect)

	// Proofed, the phone is a level 3 credential.
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPassed)))
	f.clk.Step(time.Hour) // past the send limit's window
	if ss := f.phoneLogin(u, n); ss.Strength.Level != 3 {
		t.Fatalf("%+v", ss.Strength)
	}
}

// TestPhoneCodesAreSecrets: no code appears in the audit log, the codes
// kept are not the codes, and a code sent for one account does not log
// into another.
func TestPhoneCodesAreSecrets(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, v := f.user(), f.user()
	const n = "+17035550100"
	f.verifiedPhone(u, n, "")
	f.verifiedPhone(v, n, "") // one person's two accounts may share a phone
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	code := f.phoneCode(u, n)
	_, err := f.srv.LoginWithPhone(f.ctx, v, pw, n, code)
	f.expectCode(err, server.CodePhoneCodeIncorrect)
	f.ok(errOf(f.srv.LoginWithPhone(f.ctx, u, pw, n, code)))
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, u, server.ProofingPostal)))

	var codes []string
	all, err := f.srv.Notifications(f.ctx, "")
	f.ok(err)
	for _, n := range all {
		if m := regexp.MustCompile(`(?:Password|code) is ([0-9A-Z]{6,10})\.`).FindStringSubmatch(n.Body); m != nil {
			codes = append(codes, m[1])
		}
	}
	if len(codes) < 4 {
		t.Fatalf("codes %v", codes)
	}
	audit, err := f.srv.Audit(f.ctx, "", 0)
	f.ok(err)
	for _, e := range audit {
		for _, c := range codes {
			if strings.Contains(e.Detail+e.Target+e.Actor+e.Action, c) {
				t.Errorf("the audit entry %+v holds a code", e)
			}
		}
	}
}

// TestPhoneCodeSendLimit: five codes to a number within an hour, and
// removing the phone and adding it again does not start the count again.
func TestPhoneCodeSendLimit(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	const n = "+17035550100"
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, n, server.PhoneText, ""))) // 1
	for range 4 {                                                  // 2 to 5
		f.clk.Step(time.Minute)
		f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	}
	sent := len(f.notifications(u))
	f.expectCode(errOf(f.srv.SendPhoneCode(f.ctx, u, n)), server.CodePhoneCodeLimit)
	f.ok(f.srv.RemovePhone(f.ctx, u, n, "")) // no credential yet: no session needed
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, n, server.PhoneText, "")), server.CodePhoneCodeLimit)
	if pv, _ := f.srv.Phones(f.ctx, u); len(pv.Phones) != 0 {
		t.Fatalf("a refused registration registered %+v", pv.Phones)
	}
	// Another number has its own count.
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, "+17035550101", server.PhoneText, "")))
	if got := len(f.notifications(u)); got != sent+1 {
		t.Fatalf("%d notifications, want %d", got, sent+1)
	}
	// An hour after the first send, one more may go.
	f.clk.Step(time.Hour - 4*time.Minute)
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, n, server.PhoneText, "")))
	f.expectCode(errOf(f.srv.SendPhoneCode(f.ctx, u, n)), server.CodePhoneCodeLimit)

	// The account's numbers together: PhoneCodeSends × MaxPhones.
	g := newFixture(t, server.Policy{PhoneCodeSends: 2, MaxPhones: 2})
	w := g.user()
	for i, num := range []string{"+17035550100", "+17035550101", "+17035550102"} {
		if i < 2 {
			g.ok(errOf(g.srv.AddPhone(g.ctx, w, num, server.PhoneText, "")))
			g.ok(errOf(g.srv.SendPhoneCode(g.ctx, w, num)))
			continue
		}
		g.ok(g.srv.RemovePhone(g.ctx, w, "+17035550100", ""))
		g.expectCode(errOf(g.srv.AddPhone(g.ctx, w, num, server.PhoneText, "")), server.CodePhoneCodeLimit)
	}
}

// TestPhoneChangesNeedAnOTPLogin: once an account holds an OTP credential,
// its phones change only with the session of a phone or hardware OTP
// login of the account.
func TestPhoneChangesNeedAnOTPLogin(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	const a, b, c = "+17035550100", "+17035550101", "+17035550102"
	f.verifiedPhone(u, a, "") // the first phone needs no session
	pwSession, err := f.srv.Login(f.ctx, u, pw, "")
	f.ok(err)
	o := f.user()
	f.verifiedPhone(o, "+447700900123", "")
	other := f.phoneLogin(o, "+447700900123")
	for name, sid := range map[string]string{"no session": "", "a password session": pwSession.ID} {
		t.Run(name, func(t *testing.T) {
			f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, b, server.PhoneText, sid)), server.CodePhoneOTPRequired)
			f.expectCode(f.srv.RemovePhone(f.ctx, u, a, sid), server.CodePhoneOTPRequired)
			// Which numbers the account has is not told first.
			f.expectCode(f.srv.RemovePhone(f.ctx, u, c, sid), server.CodePhoneOTPRequired)
		})
	}
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, b, server.PhoneText, other.ID)), server.CodeForbidden)
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, u, b, server.PhoneText, "no-such-session")), server.CodeSessionInvalid)

	// A phone OTP login changes them.
	sa := f.phoneLogin(u, a)
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, b, server.PhoneText, sa.ID)))
	f.ok(errOf(f.srv.VerifyPhone(f.ctx, u, b, f.phoneCode(u, b)))) // verifying needs only the code
	f.expectCode(f.srv.RemovePhone(f.ctx, u, c, sa.ID), server.CodeNotFound)
	// Logged in with b, the user removes a, which a thief holds: the
	// session a gave ends, b's goes on.
	sb := f.phoneLogin(u, b)
	f.ok(f.srv.RemovePhone(f.ctx, u, a, sb.ID))
	_, err = f.srv.Session(f.ctx, sa.ID)
	f.expectCode(err, server.CodeSessionInvalid)
	f.ok(errOf(f.srv.Session(f.ctx, sb.ID)))
	_, err = f.srv.SendPhoneCode(f.ctx, u, a)
	f.expectCode(err, server.CodeNotFound)
	// The same number added again is a new phone: the old session stays ended.
	f.ok(errOf(f.srv.AddPhone(f.ctx, u, a, server.PhoneText, sb.ID)))
	_, err = f.srv.Session(f.ctx, sa.ID)
	f.expectCode(err, server.CodeSessionInvalid)

	// A token is a credential too: its holder needs a hardware OTP login.
	h, d := f.activeToken()
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, h, a, server.PhoneText, "")), server.CodePhoneOTPRequired)
	hw, err := f.srv.Login(f.ctx, h, pw, d.code(f.clk.Now()))
	f.ok(err)
	f.ok(errOf(f.srv.AddPhone(f.ctx, h, a, server.PhoneText, hw.ID)))

	// The policy may lift the rule.
	g := newFixture(t, server.Policy{PhoneChangeWithoutOTP: true})
	w := g.user()
	g.verifiedPhone(w, a, "")
	g.ok(errOf(g.srv.AddPhone(g.ctx, w, b, server.PhoneText, "")))
	g.ok(g.srv.RemovePhone(g.ctx, w, a, ""))
}

// TestPhoneElevation: a password session is elevated to phone OTP; a
// hardware OTP session is not lowered by a phone code.
func TestPhoneElevation(t *testing.T) {
	f := newFixture(t, server.Policy{})
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "pim", Name: "PIM",
		MinStrength: server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}}))
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "boeing", Name: "Boeing",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}}))
	u, d := f.activeToken()
	hw, err := f.srv.Login(f.ctx, u, pw, d.code(f.clk.Now()))
	f.ok(err)
	const n = "+17035550100"
	f.verifiedPhone(u, n, hw.ID)

	ss, err := f.srv.Login(f.ctx, u, pw, "")
	f.ok(err)
	f.expectCode(f.srv.Access(f.ctx, ss.ID, "pim"), server.CodeStrengthTooLow)
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	code := f.phoneCode(u, n)
	_, err = f.srv.ElevateWithPhone(f.ctx, ss.ID, n, wrongCode(code))
	f.expectCode(err, server.CodePhoneCodeIncorrect)
	_, err = f.srv.ElevateWithPhone(f.ctx, "no-such-session", n, code)
	f.expectCode(err, server.CodeSessionInvalid)
	up, err := f.srv.ElevateWithPhone(f.ctx, ss.ID, n, code)
	f.ok(err)
	if up.ID != ss.ID || up.Strength != (server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}) {
		t.Fatalf("%+v", up)
	}
	f.ok(f.srv.Access(f.ctx, ss.ID, "pim"))
	f.expectCode(f.srv.Access(f.ctx, ss.ID, "boeing"), server.CodeStrengthTooLow)
	_, err = f.srv.ElevateWithPhone(f.ctx, ss.ID, n, code)
	f.expectCode(err, server.CodePhoneCodeIncorrect) // used

	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	same, err := f.srv.ElevateWithPhone(f.ctx, hw.ID, n, f.phoneCode(u, n))
	f.ok(err)
	if same.Strength.Credential != server.CredentialHardwareOTP {
		t.Fatalf("a phone code lowered a hardware OTP session: %+v", same.Strength)
	}
}

// TestPhoneSubscription: a year from the first verified phone, a reminder
// 30 days before; expired, its phones do not log in until it is renewed;
// renewable for a year after, with reminders; then it lapses: its phones
// are removed and a new one must be set up.
func TestPhoneSubscription(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	const n = "+17035550100"
	t0 := f.clk.Now()
	f.verifiedPhone(u, n, "")
	early := f.phoneLogin(u, n)

	// Another user may not renew it; an administrator and the user may.
	f.expectCode(errOf(f.srv.RenewPhoneSubscription(f.ctx, server.AsUser(f.user()), u)), server.CodeForbidden)
	f.expectCode(errOf(f.srv.RenewPhoneSubscription(f.ctx, f.admin, f.user())), server.CodeNotFound)

	f.clk.Set(t0.Add(335 * day))
	if rep := f.sweep(); rep.PhoneReminders != 1 {
		t.Fatalf("%+v", rep)
	}
	// Expired at the expiry itself, before the sweep has marked it.
	f.clk.Set(t0.Add(365 * day))
	_, err := f.srv.SendPhoneCode(f.ctx, u, n)
	f.expectCode(err, server.CodePhoneSubscriptionExpired)
	if rep := f.sweep(); rep.PhoneExpired != 1 {
		t.Fatalf("%+v", rep)
	}
	pv, err := f.srv.Phones(f.ctx, u)
	f.ok(err)
	if pv.Subscription.Status != "expired" || len(pv.Phones) != 1 {
		t.Fatalf("%+v", pv.Subscription)
	}
	// Renewed: a year past the previous expiry, not past today.
	f.clk.Set(t0.Add(400 * day))
	pv, err = f.srv.RenewPhoneSubscription(f.ctx, server.AsUser(u), u)
	f.ok(err)
	if pv.Subscription.Status != "active" || !pv.Subscription.ExpiresAt.Equal(t0.Add(730*day)) {
		t.Fatalf("%+v", pv.Subscription)
	}
	s2 := f.phoneLogin(u, n)
	// Renewed ahead of time, by an administrator.
	pv, err = f.srv.RenewPhoneSubscription(f.ctx, f.admin, u)
	f.ok(err)
	if !pv.Subscription.ExpiresAt.Equal(t0.Add(1095 * day)) {
		t.Fatalf("%+v", pv.Subscription)
	}
	f.ok(f.srv.Logout(f.ctx, s2.ID))

	// Left to lapse: reminders 30, 15 and 3 days before the renewal window
	// closes; at its end it may still be renewed, just past it not.
	f.clk.Set(t0.Add(1095*day + 365*day))
	f.sweep()
	pv, err = f.srv.Phones(f.ctx, u)
	f.ok(err)
	if pv.Subscription.Status != "expired" || len(pv.Phones) != 1 {
		t.Fatalf("at the end of the renewal window: %+v", pv.Subscription)
	}
	f.clk.Step(time.Nanosecond)
	_, err = f.srv.RenewPhoneSubscription(f.ctx, server.AsUser(u), u)
	f.expectCode(err, server.CodePhoneSubscriptionLapsed)
	if rep := f.sweep(); rep.PhoneLapsed != 1 {
		t.Fatalf("%+v", rep)
	}
	if got, want := f.outbox(u, t0, "phone_expiry_reminder", "phone_expired", "phone_lapse_reminder", "phone_lapsed"),
		"phone_expiry_reminder@335d phone_expired@365d phone_expiry_reminder@1065d phone_expired@1095d "+
			"phone_lapse_reminder@1430d phone_lapse_reminder@1445d phone_lapse_reminder@1457d phone_lapsed@1460d+1ns"; got != want {
		t.Fatalf("outbox:\n got %s\nwant %s", got, want)
	}
	pv, err = f.srv.Phones(f.ctx, u)
	f.ok(err)
	if pv.Subscription.Status != "lapsed" || len(pv.Phones) != 0 || pv.Subscription.LapsedAt == nil {
		t.Fatalf("%+v %+v", pv.Subscription, pv.Phones)
	}
	_, err = f.srv.SendPhoneCode(f.ctx, u, n)
	f.expectCode(err, server.CodePhoneSubscriptionLapsed)
	_, err = f.srv.LoginWithPhone(f.ctx, u, pw, n, "123456")
	f.expectCode(err, server.CodePhoneSubscriptionLapsed)
	_, err = f.srv.Session(f.ctx, early.ID)
	f.expectCode(err, server.CodeSessionInvalid)

	// A brand-new credential: a phone registered and verified again, with
	// no session (the account holds no credential), starts a new year.
	now := f.clk.Now()
	f.verifiedPhone(u, "+17035550101", "")
	pv, err = f.srv.Phones(f.ctx, u)
	f.ok(err)
	if pv.Subscription.Status != "active" || !pv.Subscription.ExpiresAt.Equal(now.Add(365*day)) || pv.Subscription.LapsedAt != nil {
		t.Fatalf("%+v", pv.Subscription)
	}
	f.phoneLogin(u, "+17035550101")
}

// TestPhoneSessionsEndWithTheSubscription: a phone OTP session ends when
// the subscription expires, and stays ended when it is renewed.
func TestPhoneSessionsEndWithTheSubscription(t *testing.T) {
	f := newFixture(t, server.Policy{PhoneValidity: time.Hour, SessionMaxLifetime: 48 * time.Hour, SessionIdleTimeout: 48 * time.Hour})
	u := f.user()
	f.verifiedPhone(u, "+17035550100", "")
	ss := f.phoneLogin(u, "+17035550100")
	f.clk.Step(59 * time.Minute)
	f.ok(errOf(f.srv.Session(f.ctx, ss.ID)))
	f.clk.Step(time.Minute)
	_, err := f.srv.Session(f.ctx, ss.ID)
	f.expectCode(err, server.CodeSessionInvalid)
	f.ok(errOf(f.srv.RenewPhoneSubscription(f.ctx, server.AsUser(u), u)))
	_, err = f.srv.Session(f.ctx, ss.ID)
	f.expectCode(err, server.CodeSessionInvalid)
	f.phoneLogin(u, "+17035550100")
}

// TestConnectedAccountUsesItsParentsPhones: a connected account logs in
// with its parent's phones, under the parent's subscription, and has none
// of its own.
func TestConnectedAccountUsesItsParentsPhones(t *testing.T) {
	f := newFixture(t, server.Policy{PhoneCodeSends: 20})
	same := func(n *server.NewAccount) { n.Email = "ada@example.com" }
	parent, child := f.user(same), f.user(same)
	const n, unverified = "+17035550100", "+17035550101"
	f.verifiedPhone(parent, n, "")
	f.ok(errOf(f.srv.Connect(f.ctx, f.admin, parent, child)))
	ps := f.phoneLogin(parent, n)
	f.ok(errOf(f.srv.AddPhone(f.ctx, parent, unverified, server.PhoneText, ps.ID)))

	pv, err := f.srv.Phones(f.ctx, child)
	f.ok(err)
	if pv.UserID != child || pv.OwnerID != parent || len(pv.Phones) != 2 || pv.Subscription == nil {
		t.Fatalf("%+v", pv)
	}
	f.expectCode(errOf(f.srv.AddPhone(f.ctx, child, "+17035550102", server.PhoneText, "")), server.CodeActionUnavailable)
	f.expectCode(f.srv.RemovePhone(f.ctx, child, n, ""), server.CodeActionUnavailable)
	f.expectCode(errOf(f.srv.VerifyPhone(f.ctx, child, unverified, "123456")), server.CodeActionUnavailable)
	f.expectCode(errOf(f.srv.RenewPhoneSubscription(f.ctx, server.AsUser(child), child)), server.CodeActionUnavailable)
	f.expectCode(errOf(f.srv.SendPhoneCode(f.ctx, child, unverified)), server.CodePhoneUnverified)

	// The child's code goes to the parent's phone, into the child's outbox.
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, child, n)))
	code := f.phoneCode(child, n)
	_, err = f.srv.LoginWithPhone(f.ctx, parent, pw, n, code)
	f.expectCode(err, server.CodePhoneCodeIncorrect) // not the parent's code
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, child, n)))
	ss, err := f.srv.LoginWithPhone(f.ctx, child, pw, n, f.phoneCode(child, n))
	f.ok(err)
	if ss.UserID != child || ss.Strength != (server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}) || ss.PhoneOwner != parent {
		t.Fatalf("%+v", ss)
	}
	// The parent's proofing makes it level 3; its removing the phone ends
	// the child's session.
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, parent, server.ProofingPassed)))
	if ss := f.phoneLogin(child, n); ss.Strength.Level != 3 {
		t.Fatalf("%+v", ss.Strength)
	}
	f.ok(f.srv.RemovePhone(f.ctx, parent, n, f.phoneLogin(parent, n).ID))
	_, err = f.srv.Session(f.ctx, ss.ID)
	f.expectCode(err, server.CodeSessionInvalid)
}

// TestPhoneAuditTrail: every phone call is audited by its action; the
// sweep's phone events by theirs.
func TestPhoneAuditTrail(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	f.verifiedPhone(u, "+17035550100", "")
	ss := f.phoneLogin(u, "+17035550100")
	f.ok(f.srv.RemovePhone(f.ctx, u, "+17035550100", ss.ID))
	es, err := f.srv.Audit(f.ctx, u, 0)
	f.ok(err)
	var got []string
	for _, e := range es {
		got = append(got, e.Action+"="+e.Outcome)
	}
	for _, want := range []string{"phone.add=ok", "phone.verify=ok", "phone.send=ok", "session.login_phone=ok", "phone.remove=ok"} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s in %v", want, got)
		}
	}
}

// TestPhoneCodeOnceUnderConcurrentLogins: a code logs in once, however many
// logins race with it.
func TestPhoneCodeOnceUnderConcurrentLogins(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	const n = "+17035550100"
	f.verifiedPhone(u, n, "")
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, n)))
	code := f.phoneCode(u, n)
	const racers = 16
	errs := make(chan error, racers)
	for range racers {
		go func() {
			_, err := f.srv.LoginWithPhone(f.ctx, u, pw, n, code)
			errs <- err
		}()
	}
	ok := 0
	for range racers {
		err := <-errs
		switch server.CodeOf(err) {
		case "":
			if err != nil {
				t.Fatal(err)
			}
			ok++
		case server.CodePhoneCodeIncorrect:
		default:
			t.Fatalf("got %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d logins with one code", ok)
	}
}
