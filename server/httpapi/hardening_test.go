package httpapi_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// TestServiceCredentialMustNameTheUser: with the service credential, a token
// action without user_id used to act as the token's owner, so a portal bug
// (or a forged request through it) suspended or revoked anyone's token. The
// service credential must now say which user acts; the administrator
// credential may still leave it to the owner.
func TestServiceCredentialMustNameTheUser(t *testing.T) {
	e := newEnv(t, true)
	e.activeUser("alice", "A1")
	e.activeUser("bob", "B1")
	e.activeUser("carol", "C1")
	for _, action := range []string{"suspend", "enable", "revoke", "renew"} {
		for _, body := range []any{nil, "{}", map[string]string{"by": "user"}} {
			s, b := e.do("POST", "/v1/tokens/B1/"+action, serviceToken, body)
			e.refused(s, b, 400, "bad_request")
		}
	}
	c1, c2 := e.code(e.clk.Now()), e.code(e.clk.Now().Add(30e9))
	s, b := e.do("POST", "/v1/tokens/C1/resync", serviceToken, map[string]string{"otp1": c1, "otp2": c2})
	e.refused(s, b, 400, "bad_request")
	for serial, want := range map[string]string{"A1": "active", "B1": "active", "C1": "active"} {
		if got := e.token(serial)["status"]; got != want {
			t.Fatalf("%s is %v after refused actions, want %s", serial, got, want)
		}
	}

	// Naming another user is the server's forbidden; naming the owner works.
	s, b = e.do("POST", "/v1/tokens/B1/suspend", serviceToken, map[string]string{"user_id": "alice"})
	e.refused(s, b, 403, "forbidden")
	s, b = e.do("POST", "/v1/tokens/B1/suspend", serviceToken, map[string]string{"user_id": "bob"})
	e.ok(s, b, 200)
	// The administrator credential without user_id: the owner acts, as before.
	s, b = e.do("POST", "/v1/tokens/B1/enable", adminToken, nil)
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/C1/suspend", adminToken, map[string]string{"by": "user"})
	e.ok(s, b, 200)
}

// TestDuplicateAndCaseVariantKeys: encoding/json matches field names
// case-insensitively and lets the last duplicate win, so a body that a
// portal or a WAF reads as alice's ({"user_id":"alice",…} first) acted as
// someone else. A duplicate key, at any depth, and a key that is a known
// field in another case are refused, and change nothing.
func TestDuplicateAndCaseVariantKeys(t *testing.T) {
	e := newEnv(t, true)
	e.activeUser("alice", "A1")
	e.activeUser("bob", "B1")
	for _, c := range []struct{ method, path, token, body string }{
		{"POST", "/v1/tokens/B1/suspend", serviceToken, `{"user_id":"alice","User_Id":"bob"}`},
		{"POST", "/v1/tokens/B1/suspend", serviceToken, `{"User_Id":"bob"}`},
		{"POST", "/v1/tokens/B1/suspend", serviceToken, `{"USER_ID":"bob","by":"user"}`},
		{"POST", "/v1/tokens/B1/suspend", serviceToken, `{"user_id":"alice","user_id":"bob"}`},
		{"POST", "/v1/tokens/B1/suspend", adminToken, `{"by":"user","By":"admin"}`},
		{"POST", "/v1/tokens/B1/suspend", serviceToken, `{"user_id":"alice","user\u005fid":"bob"}`}, // an escape spells the same key
		{"POST", "/v1/tokens/B1/suspend", serviceToken, `{"u\u017fer_id":"bob"}`},                   // long s: encoding/json folds it to s
		{"POST", "/v1/verify", serviceToken, `{"user_id":"bob","otp":"12345678","Otp":"87654321"}`},
		{"POST", "/v1/accounts", adminToken, `{"user_id":"x","email":"x@example.com","first_name":"X","last_name":"Y","password":"long password","Role":"admin"}`},
		// Nested: min_strength.level twice, and a case variant inside.
		{"POST", "/v1/applications", adminToken, `{"id":"app","name":"App","min_strength":{"credential":"password","level":1,"level":3}}`},
		{"POST", "/v1/applications", adminToken, `{"id":"app","name":"App","min_strength":{"credential":"password","Level":3}}`},
	} {
		s, b := e.do(c.method, c.path, c.token, c.body)
		e.refused(s, b, 400, "bad_request")
		if !bytes.Contains(b, []byte("twice")) && !bytes.Contains(b, []byte("same field")) && !bytes.Contains(b, []byte("case-sensitive")) {
			t.Errorf("%s %s: refused for another reason: %s", c.path, c.body, b)
		}
	}
	if got := e.token("B1")["status"]; got != "active" {
		t.Fatalf("B1 is %v after refused bodies, want active", got)
	}
	s, b := e.do("GET", "/v1/accounts/x", adminToken, nil)
	e.refused(s, b, 404, "not_found")
	s, b = e.do("GET", "/v1/audit?target=app", adminToken, nil)
	e.ok(s, b, 200)
	if string(b) != "[]\n" {
		t.Fatalf("a refused application left an audit trail: %s", b)
	}
	// The same keys, once each and spelled as documented, are accepted.
	s, b = e.do("POST", "/v1/tokens/B1/suspend", serviceToken, `{"user_id":"bob","by":"user"}`)
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/applications", adminToken, `{"id":"app","name":"App","min_strength":{"credential":"password","level":1}}`)
	e.ok(s, b, 201)
}

// TestMetricsNeedACredential: /metrics tells anyone who asks how many
// verifications fail and which routes are hit; it needs the administrator
// credential or the metrics credential, unless the operator makes it
// public.
func TestMetricsNeedACredential(t *testing.T) {
	const metricsToken = "metrics-scraper-credential-0123"
	srv, _ := servertest.New(t, server.Policy{})
	for _, c := range []struct {
		opts  httpapi.Options
		token string
		want  int
		code  string
	}{
		{httpapi.Options{}, "", 401, "unauthorized"},
		{httpapi.Options{}, "wrong", 401, "unauthorized"},
		{httpapi.Options{}, serviceToken, 403, "forbidden"},
		{httpapi.Options{}, adminToken, 200, ""},
		{httpapi.Options{MetricsToken: metricsToken}, metricsToken, 200, ""},
		{httpapi.Options{MetricsToken: metricsToken}, "", 401, "unauthorized"},
		{httpapi.Options{MetricsPublic: true}, "", 200, ""},
	} {
		c.opts.AdminToken, c.opts.ServiceToken = adminToken, serviceToken
		hs := httptest.NewServer(httpapi.New(srv, c.opts))
		e := &env{t: t, url: hs.URL, http: hs.Client()}
		s, b := e.do("GET", "/metrics", c.token, nil)
		hs.Close()
		if c.code == "" {
			e.ok(s, b, c.want)
			if !bytes.Contains(b, []byte("go_goroutines")) {
				t.Errorf("%+v with %q: not the metrics: %.200s", c.opts, c.token, b)
			}
			continue
		}
		e.refused(s, b, c.want, c.code)
	}
}
