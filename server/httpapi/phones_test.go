package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// phoneEnv is an API with both credentials and a virtual clock, whose
// request log the test reads.
func phoneEnv(t *testing.T) (*env, *bytes.Buffer) {
	t.Helper()
	srv, clk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, ServiceToken: serviceToken, VirtualClock: clk,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &env{t: t, url: hs.URL, clk: clk, http: hs.Client()}, &log
}

// refusedAs checks a refusal's status and code, and that its message is
// the catalogue's, as the default policy words it.
func (e *env) refusedAs(status int, body []byte, wantStatus int, code server.Code) {
	e.t.Helper()
	e.refused(status, body, wantStatus, string(code))
	var r struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &r)
	if want := server.DefaultPolicy().Messages()[code]; r.Error.Message != want {
		e.t.Fatalf("%s: message %q, want %q", code, r.Error.Message, want)
	}
}

// badRequestSaying checks a bad_request whose message says what.
func (e *env) badRequestSaying(status int, body []byte, what string) {
	e.t.Helper()
	e.refused(status, body, 400, "bad_request")
	var r struct {
		Error struct{ Message string } `json:"error"`
	}
	if _ = json.Unmarshal(body, &r); !strings.Contains(r.Error.Message, what) {
		e.t.Fatalf("the refusal does not say %q: %s", what, body)
	}
}

// lastCode is the code of the last notification of user whose body
// matches re.
func (e *env) lastCode(user string, re *regexp.Regexp) string {
	e.t.Helper()
	s, b := e.do("GET", "/v1/notifications?user_id="+user, adminToken, nil)
	e.ok(s, b, 200)
	var ns []server.Notification
	if err := json.Unmarshal(b, &ns); err != nil {
		e.t.Fatal(err)
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(ns[i].Body); m != nil {
			return m[1]
		}
	}
	e.t.Fatalf("no code for %s", user)
	return ""
}

var (
	phoneCodeRe    = regexp.MustCompile(`One-Time Password is (\d{6})\.`)
	proofingCodeRe = regexp.MustCompile(`activation code is ([A-Z0-9]{10})\.`)
)

func (e *env) account(user string) {
	e.t.Helper()
	s, b := e.do("POST", "/v1/accounts", adminToken, map[string]string{"user_id": user, "email": user + "@example.com", "first_name": "A", "last_name": "B", "password": "long password"})
	e.ok(s, b, 201)
}

func decodeAs[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// TestPhoneOTPOverHTTP is issue 17's phone OTP over HTTP, with the service
// credential a portal holds: register, verify, send, log in, elevate,
// change phones with a phone OTP session, renew.
func TestPhoneOTPOverHTTP(t *testing.T) {
	e, log := phoneEnv(t)
	e.account("pat")
	const n = "+17035550100"
	phones := "/v1/accounts/pat/phones"

	// Malformed requests say what is wrong, and change nothing.
	s, b := e.do("POST", phones, serviceToken, map[string]string{"number": "703-555-0100", "method": "text"})
	e.badRequestSaying(s, b, "in international form")
	s, b = e.do("POST", phones, serviceToken, map[string]string{"number": n, "method": "sms"})
	e.refusedAs(s, b, 400, server.CodeBadRequest) // the portal's to get right
	s, b = e.do("POST", phones, serviceToken, map[string]string{"number": n})
	e.badRequestSaying(s, b, `"method" is required`)
	s, b = e.do("POST", phones, serviceToken, `{"number":"`+n+`","method":"text","Number":"+17035550199"}`)
	e.refused(s, b, 400, "bad_request")
	s, b = e.do("POST", phones, serviceToken, map[string]string{"number": strings.Repeat("1", 70000), "method": "text"})
	e.refused(s, b, 413, "bad_request")
	s, b = e.do("GET", phones, serviceToken, nil)
	e.ok(s, b, 200)
	if pv := decodeAs[server.PhonesView](t, b); len(pv.Phones) != 0 || pv.Subscription != nil {
		t.Fatalf("%s", b)
	}
	if !strings.Contains(string(b), `"subscription": null`) {
		t.Fatalf("no subscription is null: %s", b)
	}

	// Registered: 201, not verified, a code sent.
	s, b = e.do("POST", phones, serviceToken, map[string]string{"number": n, "method": "text"})
	e.ok(s, b, 201)
	if v := decodeAs[server.PhoneView](t, b); v.Number != n || v.Method != "text" || v.Verified {
		t.Fatalf("%s", b)
	}
	if !strings.Contains(string(b), `"verified": false`) {
		t.Fatalf("%s", b)
	}
	code := e.lastCode("pat", phoneCodeRe)
	s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": n})
	e.ok(s, b, 201)
	if v := decodeAs[server.PhoneCodeSent](t, b); v.Purpose != "verify" {
		t.Fatalf("%s", b)
	}
	resent := e.lastCode("pat", phoneCodeRe)
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password", "phone": n, "phone_code": resent})
	e.refusedAs(s, b, 403, server.CodePhoneUnverified)

	// Verified.
	s, b = e.do("POST", phones+"/7035550100/verify", serviceToken, map[string]string{"code": resent})
	e.badRequestSaying(s, b, "in international form")
	s, b = e.do("POST", phones+"/"+n+"/verify", serviceToken, map[string]string{"code": "12345"})
	e.badRequestSaying(s, b, "Enter the 6-digit One-Time Password")
	if code != resent {
		s, b = e.do("POST", phones+"/"+n+"/verify", serviceToken, map[string]string{"code": code})
		e.refusedAs(s, b, 422, server.CodePhoneCodeIncorrect)
	}
	s, b = e.do("POST", phones+"/"+n+"/verify", serviceToken, map[string]string{"code": resent})
	e.ok(s, b, 200)
	if v := decodeAs[server.PhoneView](t, b); !v.Verified {
		t.Fatalf("%s", b)
	}
	s, b = e.do("POST", phones+"/"+n+"/verify", serviceToken, map[string]string{"code": resent})
	e.refusedAs(s, b, 409, server.CodeConflict)

	// Logged in with a login code, once.
	s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": "+17035550199"})
	e.refusedAs(s, b, 404, server.CodeNotFound)
	s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": n})
	e.ok(s, b, 201)
	if v := decodeAs[server.PhoneCodeSent](t, b); v.Purpose != "login" || !v.ExpiresAt.Equal(e.clk.Now().Add(2*time.Minute)) {
		t.Fatalf("%s", b)
	}
	code = e.lastCode("pat", phoneCodeRe)
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password", "phone": n, "phone_code": code, "otp": "12345678"})
	e.badRequestSaying(s, b, "not both")
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password", "phone": n})
	e.badRequestSaying(s, b, "go together")
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password", "phone": n, "phone_code": code})
	e.ok(s, b, 201)
	phoneSession := decodeAs[server.Session](t, b)
	if phoneSession.Strength != (server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}) || phoneSession.Phone != n {
		t.Fatalf("%s", b)
	}
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password", "phone": n, "phone_code": code})
	e.refusedAs(s, b, 422, server.CodePhoneCodeIncorrect)

	// Changing phones takes the phone OTP session.
	const n2 = "+447700900123"
	s, b = e.do("POST", phones, serviceToken, map[string]string{"number": n2, "method": "voice"})
	e.refusedAs(s, b, 403, server.CodePhoneOTPRequired)
	s, b = e.do("POST", phones, serviceToken, map[string]string{"number": n2, "method": "voice", "session_id": phoneSession.ID})
	e.ok(s, b, 201)
	s, b = e.do("DELETE", phones+"/"+n2, serviceToken, nil)
	e.refusedAs(s, b, 403, server.CodePhoneOTPRequired)
	s, b = e.do("DELETE", phones+"/"+n2, serviceToken, map[string]string{"session_id": phoneSession.ID})
	e.ok(s, b, 204)
	s, b = e.do("DELETE", phones+"/"+n2, serviceToken, map[string]string{"session_id": phoneSession.ID})
	e.refusedAs(s, b, 404, server.CodeNotFound)

	// A password session elevated with a phone code.
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password"})
	e.ok(s, b, 201)
	pwSession := decodeAs[server.Session](t, b)
	s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": n})
	e.ok(s, b, 201)
	code = e.lastCode("pat", phoneCodeRe)
	s, b = e.do("POST", "/v1/sessions/"+pwSession.ID+"/elevate", serviceToken, map[string]string{"phone": n})
	e.badRequestSaying(s, b, "go together")
	s, b = e.do("POST", "/v1/sessions/"+pwSession.ID+"/elevate", serviceToken, map[string]string{"phone": n, "phone_code": code})
	e.ok(s, b, 200)
	if v := decodeAs[server.Session](t, b); v.Strength.Credential != server.CredentialPhoneOTP {
		t.Fatalf("%s", b)
	}

	// Too many codes to one number.
	for {
		s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": n})
		if s != 201 {
			e.refusedAs(s, b, 429, server.CodePhoneCodeLimit)
			break
		}
	}

	// The subscription: expired a year on, renewed by the user; the service
	// credential does not renew as an administrator.
	s, b = e.do("POST", "/v1/clock", adminToken, map[string]string{"advance": "365d"})
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"phone_expired": 1`) || !strings.Contains(string(b), `"phone_reminders": 1`) {
		t.Fatalf("the sweep: %s", b)
	}
	s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": n})
	e.refusedAs(s, b, 403, server.CodePhoneSubscriptionExpired)
	s, b = e.do("POST", "/v1/accounts/pat/phone-subscription/renew", serviceToken, map[string]string{"by": "admin"})
	e.refused(s, b, 403, "forbidden")
	s, b = e.do("POST", "/v1/accounts/pat/phone-subscription/renew", serviceToken, nil)
	e.ok(s, b, 200)
	if v := decodeAs[server.PhonesView](t, b); v.Subscription.Status != "active" {
		t.Fatalf("%s", b)
	}
	s, b = e.do("POST", "/v1/phone-codes", serviceToken, map[string]string{"user_id": "pat", "number": n})
	e.ok(s, b, 201)

	// Lapsed, two years later.
	s, b = e.do("POST", "/v1/clock", adminToken, map[string]string{"advance": "731d"})
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"phone_lapsed": 1`) {
		t.Fatalf("the sweep: %s", b)
	}
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "pat", "password": "long password", "phone": n, "phone_code": "123456"})
	e.refusedAs(s, b, 403, server.CodePhoneSubscriptionLapsed)
	s, b = e.do("POST", "/v1/accounts/pat/phone-subscription/renew", adminToken, nil)
	e.refusedAs(s, b, 403, server.CodePhoneSubscriptionLapsed)

	// Never a code or a password in the request log.
	for _, secret := range []string{code, resent, "long password"} {
		if strings.Contains(log.String(), secret) {
			t.Fatalf("the request log holds %q", secret)
		}
	}
	if !strings.Contains(log.String(), "/v1/phone-codes") {
		t.Fatal("the request log is empty")
	}
}

// TestProofingOverHTTP: the outcome is the administrator's; the user
// enters the code.
func TestProofingOverHTTP(t *testing.T) {
	e, _ := phoneEnv(t)
	e.account("pat")
	proofing := "/v1/accounts/pat/proofing"
	s, b := e.do("POST", proofing, serviceToken, map[string]string{"outcome": "passed"})
	e.refused(s, b, 403, "forbidden")
	s, b = e.do("POST", proofing, adminToken, map[string]string{"outcome": "maybe"})
	e.refusedAs(s, b, 400, server.CodeBadRequest)
	s, b = e.do("POST", "/v1/accounts/nobody/proofing", adminToken, map[string]string{"outcome": "postal"})
	e.refusedAs(s, b, 404, server.CodeNotFound)
	s, b = e.do("POST", proofing+"/code", serviceToken, map[string]string{"code": "ABCDEFGHJK"})
	e.refusedAs(s, b, 422, server.CodeProofingCodeInvalid)

	s, b = e.do("POST", proofing, adminToken, map[string]string{"outcome": "postal"})
	e.ok(s, b, 200)
	if v := decodeAs[server.ProofingView](t, b); v.Proofed || !v.CodePending || v.Outcome != "postal" {
		t.Fatalf("%s", b)
	}
	code := e.lastCode("pat", proofingCodeRe)
	s, b = e.do("GET", proofing, serviceToken, nil)
	e.ok(s, b, 200)
	if strings.Contains(string(b), code) {
		t.Fatalf("the view shows the code: %s", b)
	}
	s, b = e.do("POST", proofing+"/code", serviceToken, map[string]string{"code": "short"})
	e.badRequestSaying(s, b, "Enter the 10-character proofing activation code")
	s, b = e.do("POST", proofing+"/code", serviceToken, map[string]string{"code": "WRONGCODE0"})
	e.refusedAs(s, b, 422, server.CodeProofingCodeInvalid)
	s, b = e.do("POST", proofing+"/code", serviceToken, map[string]string{"code": strings.ToLower(code)})
	e.ok(s, b, 200)
	if v := decodeAs[server.ProofingView](t, b); !v.Proofed || v.CodePending {
		t.Fatalf("%s", b)
	}
	s, b = e.do("POST", proofing, adminToken, map[string]string{"outcome": "live"})
	e.refusedAs(s, b, 409, server.CodeConflict)

	// Live: the agent's code, in the outbox as proofing_code_live.
	e.account("lee")
	s, b = e.do("POST", "/v1/accounts/lee/proofing", adminToken, map[string]string{"outcome": "live"})
	e.ok(s, b, 200)
	s, b = e.do("GET", "/v1/notifications?user_id=lee", adminToken, nil)
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"kind": "proofing_code_live"`) {
		t.Fatalf("%s", b)
	}
	s, b = e.do("POST", "/v1/accounts/lee/proofing/code", serviceToken, map[string]string{"code": e.lastCode("lee", proofingCodeRe)})
	e.ok(s, b, 200)
}
