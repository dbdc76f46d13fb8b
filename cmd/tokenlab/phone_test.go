package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// TestPhoneAndProofingVerbs drives phone OTP and identity proofing through
// the CLI against the real binary, tokenlab serve --virtual-clock: a phone
// registered, verified from the outbox, its codes sent, a second phone that
// needs a phone OTP session, the subscription expired and renewed; a postal
// proofing code entered. Malformed input is a usage error (exit 2) that
// says what to type, before anything is sent.
func TestPhoneAndProofingVerbs(t *testing.T) {
	bin := buildBinary(t)
	const tok = "phone-cli-admin-credential-0123"
	_, url := startServe(t, bin, "--data", t.TempDir(), "--admin-token", tok, "--virtual-clock", "--clock-start", "2026-11-23T09:00:10Z")
	t.Setenv("TOKENLAB_SERVER", url)
	t.Setenv("TOKENLAB_ADMIN_TOKEN", tok)
	t.Setenv("TOKENLAB_HOME", t.TempDir())
	ctx := context.Background()
	c := client.New(url, tok)
	if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: "pat", Email: "p@example.com", FirstName: "P", LastName: "Q", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	must := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		if code != want {
			t.Fatalf("tokenlab %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	const n, n2 = "+17035550100", "+447700900123"

	// Usage errors, before anything is sent.
	if out := must(2, "phone", "add", "--user", "pat", "--number", "703-555-0100"); !strings.Contains(out, "E.164") {
		t.Fatal(out)
	}
	must(2, "phone", "add", "--user", "pat", "--number", n, "--method", "sms")
	must(2, "phone", "add", "--number", n)
	must(2, "phone", "verify", "--user", "pat", "--number", n)
	must(2, "phone", "verify", "--user", "pat", "--number", n, "--code", "123456", "--from-outbox")
	must(2, "phone", "verify", "--user", "pat", "--number", n, "--code", "12345")
	must(2, "phone", "renew", "--user", "pat", "--by", "king")
	must(2, "proofing", "record", "--user", "pat", "--outcome", "maybe")
	must(2, "proofing", "code", "--user", "pat", "--code", "short")
	if pv, err := c.Phones(ctx, "pat"); err != nil || len(pv.Phones) != 0 {
		t.Fatalf("%+v %v", pv, err)
	}

	// A phone registered and verified with the code from the outbox.
	if out := must(0, "phone", "add", "--user", "pat", "--number", n); !strings.Contains(out, "registered "+n+" (text) for pat, not verified yet") {
		t.Fatal(out)
	}
	if out := must(0, "phone", "verify", "--user", "pat", "--number", n, "--from-outbox"); !strings.Contains(out, "verified "+n) {
		t.Fatal(out)
	}
	if out := must(0, "phone", "list", "--user", "pat"); !regexp.MustCompile(`\+17035550100\s+text\s+verified`).MatchString(out) ||
		!strings.Contains(out, "subscription: active, expires 2027-11-23T09:") {
		t.Fatal(out)
	}
	if out := must(0, "phone", "send", "--user", "pat", "--number", n); !strings.Contains(out, "sent a login code to "+n+" by text, valid until 2026-11-23T09:02:") {
		t.Fatal(out)
	}
	code := regexp.MustCompile(`is (\d{6})\.`)
	ns, err := c.Notifications(ctx, "pat")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := c.LoginWithPhone(ctx, "pat", "long password", n, code.FindStringSubmatch(ns[len(ns)-1].Body)[1])
	if err != nil {
		t.Fatal(err)
	}

	// A second phone needs the phone OTP session.
	if out := must(1, "phone", "add", "--user", "pat", "--number", n2, "--method", "voice"); !strings.Contains(out, "tokenlab: phone_otp_required: For the protection of your account") {
		t.Fatal(out)
	}
	must(0, "phone", "add", "--user", "pat", "--number", n2, "--method", "voice", "--session", ss.ID)
	if out := must(0, "phone", "send", "--user", "pat", "--number", n2); !strings.Contains(out, "sent a verify code to "+n2+" by voice") {
		t.Fatal(out) // a phone not verified yet gets its verification code again
	}
	must(0, "phone", "rm", "--user", "pat", "--number", n2, "--session", ss.ID)
	if out := must(1, "phone", "rm", "--user", "pat", "--number", n2, "--session", ss.ID); !strings.Contains(out, "not_found") {
		t.Fatal(out)
	}

	// A year on the subscription has expired; renewed, the phone logs in again.
	if out := must(0, "clock", "advance", "365d"); !strings.Contains(out, "phone OTP subscriptions: 1 reminders, 1 expired, 0 lapsed") {
		t.Fatal(out)
	}
	if out := must(1, "phone", "send", "--user", "pat", "--number", n); !strings.Contains(out, "phone_subscription_expired: Your Phone OTP subscription has expired.") {
		t.Fatal(out)
	}
	if out := must(0, "phone", "renew", "--user", "pat"); !strings.Contains(out, "subscription: active, expires 2028-11-22T09:") {
		t.Fatal(out)
	}
	must(0, "phone", "send", "--user", "pat", "--number", n, "--json")

	// Identity proofing: the administrator's outcome, the user's code.
	if out := must(0, "proofing", "record", "--user", "pat", "--outcome", "postal"); !strings.Contains(out, "pat: not proofed, last outcome postal, an activation code is pending") {
		t.Fatal(out)
	}
	if out := must(1, "proofing", "code", "--user", "pat", "--code", "WRONGCODE0"); !strings.Contains(out, "proofing_code_incorrect: The proofing activation code you entered is incorrect.") {
		t.Fatal(out)
	}
	if out := must(0, "proofing", "code", "--user", "pat", "--from-outbox"); !strings.Contains(out, "pat: proofed") {
		t.Fatal(out)
	}
	if out := must(0, "proofing", "status", "--user", "pat", "--json"); !strings.Contains(out, `"proofed": true`) {
		t.Fatal(out)
	}
	if out := must(1, "proofing", "record", "--user", "pat", "--outcome", "passed"); !strings.Contains(out, "conflict") {
		t.Fatal(out)
	}
}
