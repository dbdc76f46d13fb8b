package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

const (
	adminToken   = "api-test-admin-credential-0123"
	serviceToken = "api-test-service-credential-01"
	secretHex    = "3132333435363738393031323334353637383930"
)

type env struct {
	t    testing.TB
	url  string
	clk  *clock.Virtual
	gen  *oath.Generator
	http *http.Client
}

func newEnv(t testing.TB, virtual bool) *env {
	t.Helper()
	srv, clk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	opts := httpapi.Options{AdminToken: adminToken, ServiceToken: serviceToken}
	if virtual {
		opts.VirtualClock = clk
	}
	hs := httptest.NewServer(httpapi.New(srv, opts))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	return &env{t: t, url: hs.URL, clk: clk, gen: gen, http: hs.Client()}
}

// do sends a request with a credential and returns status and body.
func (e *env) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (e *env) ok(status int, body []byte, want int) {
	e.t.Helper()
	if status != want {
		e.t.Fatalf("status %d, want %d: %s", status, want, body)
	}
}

// refused checks a refusal's status, JSON shape and code.
func (e *env) refused(status int, body []byte, wantStatus int, wantCode string) {
	e.t.Helper()
	var r struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil || status != wantStatus || r.Error.Code != wantCode || r.Error.Message == "" {
		e.t.Fatalf("got %d %s, want %d with code %s", status, body, wantStatus, wantCode)
	}
}

func (e *env) code(at time.Time) string { return e.gen.Code(uint64(at.Unix() / 30)) }

// activeUser imports the RFC token as serial, creates user, sponsors and activates.
func (e *env) activeUser(user, serial string) {
	e.t.Helper()
	s, b := e.do("POST", "/v1/inventory", adminToken, serial+", "+secretHex+", TOTP, 8, 30\n")
	e.ok(s, b, 201)
	s, b = e.do("POST", "/v1/accounts", adminToken, map[string]string{"user_id": user, "email": user + "@example.com", "first_name": "A", "last_name": "B", "password": "long password"})
	e.ok(s, b, 201)
	s, b = e.do("POST", "/v1/sponsorships", adminToken, map[string]string{"user_id": user, "serial": serial})
	e.ok(s, b, 201)
	c1 := e.code(e.clk.Now())
	e.clk.Step(30 * time.Second)
	s, b = e.do("POST", "/v1/activate", serviceToken, map[string]string{"user_id": user, "serial": serial, "otp1": c1, "otp2": e.code(e.clk.Now())})
	e.ok(s, b, 200)
	e.clk.Step(30 * time.Second)
}

func (e *env) token(serial string) map[string]any {
	e.t.Helper()
	s, b := e.do("GET", "/v1/tokens/"+serial, serviceToken, nil)
	e.ok(s, b, 200)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func TestCoreContract(t *testing.T) {
	e := newEnv(t, true)
	e.activeUser("alice", "VIRT0616534657375")
	v := e.token("VIRT0616534657375")
	for _, f := range []string{"serial", "status", "sub_status", "fail_count", "drift_steps", "last_step", "expires_at"} {
		if _, ok := v[f]; !ok {
			t.Errorf("token view lacks %s: %v", f, v)
		}
	}
	for k := range v {
		if strings.Contains(strings.ToLower(k), "secret") || strings.Contains(strings.ToLower(k), "seed") {
			t.Errorf("token view exposes %s", k)
		}
	}
	if v["status"] != "active" || v["sub_status"] != "active" {
		t.Fatalf("%v", v)
	}
	code := e.code(e.clk.Now())
	s, b := e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": "alice", "otp": code})
	e.ok(s, b, 200)
	var ver map[string]any
	_ = json.Unmarshal(b, &ver)
	if ver["serial"] != "VIRT0616534657375" || ver["step"] == nil || ver["drift_steps"] != 0.0 {
		t.Fatalf("verify answered %s", b)
	}
	s, b = e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": "alice", "otp": code})
	e.refused(s, b, 409, "otp_replayed")
	if e.token("VIRT0616534657375")["fail_count"] != 0.0 {
		t.Fatal("a replay counted towards the lockout")
	}
	for range 5 {
		s, b = e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": "alice", "otp": "00000000"})
		e.refused(s, b, 422, "otp_invalid")
	}
	s, b = e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": "alice", "otp": e.code(e.clk.Now().Add(30 * time.Second))})
	e.refused(s, b, 423, "token_locked")
	if v := e.token("VIRT0616534657375"); v["sub_status"] != "locked" || v["fail_count"] != 5.0 {
		t.Fatalf("%v", v)
	}
	c1 := e.code(e.clk.Now().Add(30 * time.Second))
	c2 := e.code(e.clk.Now().Add(60 * time.Second))
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/resync", serviceToken, map[string]string{"user_id": "alice", "otp1": c1, "otp2": c2})
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/suspend", adminToken, map[string]string{"by": "admin"})
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/enable", serviceToken, map[string]string{"by": "user", "user_id": "alice"})
	e.refused(s, b, 403, "forbidden")
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/enable", serviceToken, map[string]string{"by": "admin"})
	e.refused(s, b, 403, "forbidden") // the service credential cannot act as an administrator
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/enable", adminToken, map[string]string{"by": "admin"})
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/renew", adminToken, map[string]string{"by": "admin"})
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/VIRT0616534657375/revoke", serviceToken, map[string]string{"by": "user", "user_id": "alice"})
	e.ok(s, b, 200)
	// The outbox holds the temporary password the revocation just sent: with
	// it, whoever holds the service credential could log in as alice. It is
	// the administrator's alone.
	s, b = e.do("GET", "/v1/notifications?user_id=alice", serviceToken, nil)
	e.refused(s, b, 403, "forbidden")
	s, b = e.do("GET", "/v1/notifications?user_id=alice", adminToken, nil)
	e.ok(s, b, 200)
	var ns []server.Notification
	if err := json.Unmarshal(b, &ns); err != nil || len(ns) < 3 || ns[len(ns)-1].Kind != "temporary_password" {
		t.Fatalf("outbox %s", b)
	}
	for i := 1; i < len(ns); i++ {
		if ns[i].CreatedAt.Before(ns[i-1].CreatedAt) {
			t.Fatal("outbox is not oldest first")
		}
	}
	s, b = e.do("POST", "/v1/activate", serviceToken, map[string]string{"user_id": "alice", "serial": "NOPE", "otp1": "12345678", "otp2": "12345678"})
	e.refused(s, b, 422, "serial_incorrect")
	s, b = e.do("GET", "/v1/tokens/NOPE", serviceToken, nil)
	e.refused(s, b, 404, "not_found")
}

func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t, false)
	e.activeUser("bob", "T1")
	big := `{"user_id":"bob","otp":"` + strings.Repeat("1", httpapi.MaxBody) + `"}`
	// A body of many small keys costs the duplicate-key check CPU in
	// proportion to its size; no request of the API needs more than a few
	// KiB, so 100 KiB of keys is refused before it is looked at.
	var keys strings.Builder
	keys.WriteString(`{"user_id":"bob","otp":"12345678","x":{`)
	for i := 0; keys.Len() < 100<<10; i++ {
		fmt.Fprintf(&keys, `"k%d":0,`, i)
	}
	keys.WriteString(`"end":0}}`)
	for _, c := range []struct {
		name   string
		body   string
		status int
	}{
		{"malformed", `{"user_id":"bob","otp":`, 400},
		{"not an object", `["bob"]`, 400},
		{"unknown field", `{"user_id":"bob","otp":"12345678","admin":true}`, 400},
		{"wrong type", `{"user_id":"bob","otp":12345678}`, 400},
		{"empty", ``, 400},
		{"two values", `{"user_id":"bob","otp":"12345678"} {}`, 400},
		{"missing field", `{"user_id":"bob"}`, 400},
		{"code of letters", `{"user_id":"bob","otp":"abcdefgh"}`, 400},
		{"over the body limit", big, 413},
		{"100 KiB of keys", keys.String(), 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, b := e.do("POST", "/v1/verify", serviceToken, c.body)
			e.refused(s, b, c.status, "bad_request")
		})
	}
	if v := e.token("T1"); v["fail_count"] != 0.0 {
		t.Fatalf("bad requests counted: %v", v)
	}
	// Account creation refused on a bad field creates nothing.
	s, b := e.do("POST", "/v1/accounts", adminToken, map[string]any{"user_id": "x", "email": "x@example.com", "first_name": "X", "last_name": "Y", "password": 12})
	e.refused(s, b, 400, "bad_request")
	s, b = e.do("GET", "/v1/accounts/x", adminToken, nil)
	e.refused(s, b, 404, "not_found")
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, false)
	for _, c := range []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"GET", "/healthz", "", 200, ""},
		{"GET", "/v1/openapi.json", "", 200, ""},
		{"GET", "/metrics", "", 401, "unauthorized"},
		{"GET", "/metrics", adminToken, 200, ""},
		{"GET", "/v1/accounts", "", 401, "unauthorized"},
		{"GET", "/v1/accounts", "wrong", 401, "unauthorized"},
		{"GET", "/v1/accounts", serviceToken, 403, "forbidden"},
		{"GET", "/v1/accounts", adminToken, 200, ""},
		{"GET", "/v1/clock", serviceToken, 200, ""},
		{"POST", "/v1/clock", adminToken, 404, "not_found"}, // a real clock does not move
		{"DELETE", "/v1/verify", adminToken, 405, "bad_request"},
		{"GET", "/v1/nope", adminToken, 404, "not_found"},
	} {
		body := any(nil)
		if c.method == "POST" {
			body = map[string]string{"advance": "1s"}
		}
		s, b := e.do(c.method, c.path, c.token, body)
		if c.code == "" {
			e.ok(s, b, c.status)
			continue
		}
		e.refused(s, b, c.status, c.code)
	}
}

func TestVirtualClockMovesAndSweeps(t *testing.T) {
	e := newEnv(t, true)
	e.activeUser("carol", "T2")
	s, b := e.do("GET", "/v1/clock", serviceToken, nil)
	e.ok(s, b, 200)
	var c struct {
		Now     time.Time `json:"now"`
		Virtual bool      `json:"virtual"`
	}
	_ = json.Unmarshal(b, &c)
	if !c.Virtual || !c.Now.Equal(e.clk.Now()) {
		t.Fatalf("clock %s", b)
	}
	s, b = e.do("POST", "/v1/clock", adminToken, map[string]string{"advance": "366d"})
	e.ok(s, b, 200)
	var moved struct {
		Now   time.Time          `json:"now"`
		Sweep server.SweepReport `json:"sweep"`
	}
	_ = json.Unmarshal(b, &moved)
	if moved.Sweep.Expired != 1 || !moved.Now.Equal(c.Now.Add(366*24*time.Hour)) {
		t.Fatalf("after a year: %s", b)
	}
	if e.token("T2")["status"] != "expired" {
		t.Fatal("not expired")
	}
	s, b = e.do("POST", "/v1/clock", adminToken, map[string]string{"set": "2030-01-01T00:00:00Z"})
	e.ok(s, b, 200)
	if e.token("T2")["status"] != "revoked" {
		t.Fatal("not revoked a year after expiry")
	}
	s, b = e.do("POST", "/v1/clock", adminToken, map[string]string{"advance": "soon"})
	e.refused(s, b, 400, "bad_request")
	s, b = e.do("POST", "/v1/clock", serviceToken, map[string]string{"advance": "1s"})
	e.refused(s, b, 403, "forbidden")
}

// TestSameCodeOverHTTP: 64 parallel verify requests carrying one valid code
// over real HTTP: exactly one 200, every other 409 otp_replayed.
func TestSameCodeOverHTTP(t *testing.T) {
	e := newEnv(t, false)
	e.activeUser("dave", "T3")
	body := fmt.Sprintf(`{"user_id":"dave","otp":%q}`, e.code(e.clk.Now()))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		gun      = make(chan struct{})
	)
	for range 64 {
		wg.Go(func() {
			<-gun
			req, _ := http.NewRequestWithContext(context.Background(), "POST", e.url+"/v1/verify", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := e.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(gun)
	wg.Wait()
	if statuses[200] != 1 || statuses[409] != 63 {
		t.Fatalf("statuses %v, want one 200 and 63 409", statuses)
	}
}

func TestMetricsCountVerificationsByOutcome(t *testing.T) {
	e := newEnv(t, false)
	e.activeUser("erin", "T4")
	e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": "erin", "otp": e.code(e.clk.Now())})
	e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": "erin", "otp": "00000000"})
	s, b := e.do("GET", "/metrics", adminToken, nil)
	e.ok(s, b, 200)
	for _, want := range []string{
		`tokenlab_verifications_total{outcome="ok"} 1`,
		`tokenlab_verifications_total{outcome="otp_invalid"} 1`,
		`tokenlab_http_request_duration_seconds_bucket{route="/v1/verify",status="200",le="+Inf"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "30d": 30 * 24 * time.Hour, "1d12h": 36 * time.Hour, "-2m": -2 * time.Minute, "-1d": -24 * time.Hour} {
		if got, err := httpapi.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "x1d", "1dd", "soon", "1d-2h"} {
		if _, err := httpapi.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

// TestCredentialStrength: a credential must hold 128 bits: 32 hex digits,
// or 22 characters of anything else; Validate names the credential.
func TestCredentialStrength(t *testing.T) {
	for tok, ok := range map[string]bool{
		"": false, "qa-secret": false, "admin-secret-token": false,
		strings.Repeat("a", 31): false, strings.Repeat("a", 32): true, // hex digits only: 4 bits each
		strings.Repeat("z", 21): false, strings.Repeat("z", 22): true,
		"r4nd0m_base64url-chars": true,
	} {
		err := httpapi.CheckCredential(tok)
		if (err == nil) != ok {
			t.Errorf("CheckCredential(%q) = %v, want ok %v", tok, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "openssl rand -hex 16") {
			t.Errorf("CheckCredential(%q) = %v: does not say how to make one", tok, err)
		}
	}
	good := strings.Repeat("a", 32)
	for _, c := range []struct {
		opts httpapi.Options
		want string
	}{
		{httpapi.Options{}, "no administrator credential"},
		{httpapi.Options{AdminToken: "short"}, "the administrator credential is too short"},
		{httpapi.Options{AdminToken: good, ServiceToken: "short"}, "the service credential is too short"},
		{httpapi.Options{AdminToken: good}, ""},
		{httpapi.Options{AdminToken: good, ServiceToken: good + "s"}, ""},
	} {
		err := c.opts.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c.opts, err, c.want)
		}
	}
}
