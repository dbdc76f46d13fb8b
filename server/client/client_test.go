package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

const (
	adminToken    = "client-test-admin-credential"
	alicePassword = "alice-pass-Zq8!"
	wrongPassword = "not-alices-pass-7"
	seedPassword  = "seed-file-pw-K3y"
)

var start = time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)

// secrets must appear in no error string.
var secrets = []string{adminToken, alicePassword, wrongPassword, seedPassword, "0badc0de0badc0de"}

type env struct {
	t    *testing.T
	ctx  context.Context
	clk  *clock.Virtual
	url  string
	c    *client.Client
	errs []error // every error seen, checked for secrets at the end
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, vclk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, start)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: vclk}))
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	e := &env{t: t, ctx: context.Background(), clk: vclk, url: ts.URL, c: client.New(ts.URL+"/", adminToken)}
	t.Cleanup(e.checkSecrets)
	return e
}

// must fails the test on err.
func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.errs = append(e.errs, err)
		e.t.Fatal(err)
	}
}

// refused checks that err is a refusal matching sentinel with status.
func (e *env) refused(err error, sentinel *server.Error, status int) *client.Error {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("no error; want %s", sentinel.Code)
	}
	e.errs = append(e.errs, err)
	if !errors.Is(err, sentinel) {
		e.t.Fatalf("error %v is not %s", err, sentinel.Code)
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		e.t.Fatalf("error %v is not a *client.Error", err)
	}
	if ce.Status != status || ce.Message == "" {
		e.t.Fatalf("error %+v: want status %d and a message", ce, status)
	}
	var se *server.Error
	if !errors.As(err, &se) || se.Code != sentinel.Code || se.Message != ce.Message {
		e.t.Fatalf("errors.As to *server.Error gave %+v for %v", se, err)
	}
	return ce
}

func (e *env) checkSecrets() {
	for _, err := range e.errs {
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				e.t.Errorf("error %q holds the secret %q", err, s)
			}
		}
	}
}

var gen = func() *oath.Generator {
	g, err := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	if err != nil {
		panic(err)
	}
	return g
}()

// code is the token's code at the virtual clock's now.
func (e *env) code() string { return gen.Code(uint64(e.clk.Now().Unix() / 30)) }

// next advances the virtual clock one step (through the API) and returns
// the new code.
func (e *env) next() string {
	e.t.Helper()
	before := e.clk.Now()
	st, err := e.c.AdvanceClock(e.ctx, "30s")
	e.must(err)
	if !st.Virtual || !st.Now.Equal(before.Add(30*time.Second)) || st.Sweep == nil {
		e.t.Fatalf("AdvanceClock: %+v, want now %v", st, before.Add(30*time.Second))
	}
	return e.code()
}

// admin is the administrator the tests act as; over HTTP the credential
// makes it one.
var admin = server.AsAdmin("test")

func TestFlow(t *testing.T) {
	e := newEnv(t)
	ctx, c := e.ctx, e.c
	if c.BaseURL != e.url || c.AuthToken != adminToken || c.HTTP == nil || c.HTTP.Timeout != 30*time.Second {
		t.Fatalf("New: %+v", c)
	}
	e.must(c.Health(ctx))
	pol, err := c.Policy(ctx)
	e.must(err)
	if pol.LockoutThreshold != 5 || pol.PortalName != "MAG" {
		t.Fatalf("policy: %v", pol)
	}

	// Inventory.
	_, err = c.ImportSeedFile(ctx, admin, []byte("SER1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "bogus", Key: []byte{0x0b, 0xad, 0xc0, 0xde, 0x0b, 0xad, 0xc0, 0xde}, Password: seedPassword})
	e.refused(err, server.ErrBadRequest, 400)
	res, err := c.ImportSeedFile(ctx, admin, []byte("SER1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"})
	e.must(err)
	if !slices.Equal(res, []string{"SER1"}) {
		t.Fatalf("import: %+v", res)
	}
	res, err = c.ImportSeedFile(ctx, admin, []byte("SER2, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: ""})
	e.must(err)
	if len(res) != 1 {
		t.Fatalf("import: %+v", res)
	}
	_, err = c.ImportSeedFile(ctx, admin, []byte("SER1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"})
	e.refused(err, server.ErrConflict, 409)

	// Accounts.
	alice := server.NewAccount{UserID: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell", Password: alicePassword, Organization: "Wonder"}
	av, err := c.CreateAccount(ctx, admin, alice)
	e.must(err)
	if av.UserID != "alice" || av.Role != server.RoleUser || !av.CreatedAt.Equal(start) {
		t.Fatalf("account: %+v", av)
	}
	_, err = c.CreateAccount(ctx, admin, alice)
	e.refused(err, server.ErrConflict, 409)
	bad := alice
	bad.UserID, bad.Password = "shorty", "short"
	_, err = c.CreateAccount(ctx, admin, bad)
	e.refused(err, server.ErrBadRequest, 400)
	bob := alice
	bob.UserID, bob.Password = "bob", wrongPassword+"x"
	_, err = c.CreateAccount(ctx, admin, bob)
	e.must(err)
	carol := server.NewAccount{UserID: "carol", Email: "carol@example.com", FirstName: "Carol", LastName: "C", Password: "carol-pass-123"}
	_, err = c.CreateAccount(ctx, admin, carol)
	e.must(err)
	all, err := c.Accounts(ctx)
	e.must(err)
	if len(all) != 3 {
		t.Fatalf("accounts: %+v", all)
	}
	av, err = c.Account(ctx, "alice")
	e.must(err)
	if av.Email != "alice@example.com" {
		t.Fatalf("account: %+v", av)
	}
	_, err = c.Account(ctx, "nobody")
	e.refused(err, server.ErrNotExist, 404)
	child, err := c.Connect(ctx, admin, "alice", "bob")
	e.must(err)
	if child.UserID != "bob" || child.ParentID != "alice" {
		t.Fatalf("connect: %+v", child)
	}

	// Applications, sponsorship, licence keys.
	e.must(c.CreateApplication(ctx, admin, server.Application{ID: "app1", Name: "Portal app", Terms: "Be nice.",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}}))
	e.refused(c.CreateApplication(ctx, admin, server.Application{ID: "app2"}), server.ErrBadRequest, 400)
	deadline := start.Add(7 * 24 * time.Hour)
	sp, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: "alice", Serial: "SER1", ActivateBy: deadline, ApplicationID: "app1"})
	e.must(err)
	if sp.UserID != "alice" || sp.Serial != "SER1" || sp.Level != 2 || !sp.ActivateBy.Equal(deadline) || sp.ApplicationID != "app1" {
		t.Fatalf("sponsorship: %+v", sp)
	}
	_, err = c.Sponsor(ctx, admin, server.Sponsorship{UserID: "alice", Serial: "NOPE"})
	e.refused(err, server.ErrNotExist, 404)
	key, err := c.CreateLicenceKey(ctx, admin, "SER2", 0)
	e.must(err)
	if len(key) != 19 {
		t.Fatalf("licence key %q", key)
	}
	e.must(c.RedeemLicenceKey(ctx, "carol", key))
	e.refused(c.RedeemLicenceKey(ctx, "carol", "AAAA-2222-3333-4444"), server.ErrNotExist, 404)

	// Activation: refused until the terms are accepted.
	otp1 := e.code()
	_, err = c.Activate(ctx, "alice", "SER1", otp1, otp1)
	e.refused(err, server.ErrActionUnavailable, 403)
	// A user may not accept them; Wonder's organization administrator
	// accepts them for Wonder.
	e.refused(c.AcceptTerms(ctx, "alice", "app1"), server.ErrForbidden, 403)
	_, err = c.CreateAccount(ctx, admin, server.NewAccount{UserID: "queen", Email: "queen@example.com", FirstName: "Queen", LastName: "Hearts",
		Password: "off with their heads", Organization: "Wonder", Role: server.RoleOrgAdmin})
	e.must(err)
	e.must(c.AcceptTerms(ctx, "queen", "app1"))
	otp2 := e.next()
	tv, err := c.Activate(ctx, "alice", "SER1", otp1, otp2)
	e.must(err)
	actStep := e.clk.Now().Unix() / 30
	if tv.Status != server.StatusActive || tv.OwnerID != "alice" || tv.LastStep == nil || *tv.LastStep != actStep {
		t.Fatalf("activate: %+v", tv)
	}

	// Verification and replay.
	otp := e.next()
	v, err := c.Verify(ctx, "alice", otp)
	e.must(err)
	if v.Serial != "SER1" || v.Step != actStep+1 || v.DriftSteps != 0 {
		t.Fatalf("verify: %+v", v)
	}
	_, err = c.Verify(ctx, "alice", otp)
	if !errors.Is(err, server.ErrOTPReplayed) {
		t.Fatalf("replay: %v", err)
	}
	var se *server.Error
	if !errors.As(err, &se) || se.Code != server.CodeOTPReplayed || se.Message == "" {
		t.Fatalf("errors.As *server.Error: %+v", se)
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusConflict || ce.Code != "otp_replayed" {
		t.Fatalf("errors.As *client.Error: %+v", ce)
	}
	if errors.Is(err, server.ErrOTPInvalid) || server.CodeOf(err) != server.CodeOTPReplayed {
		t.Fatalf("replay matches the wrong codes: %v", err)
	}
	e.refused(err, server.ErrOTPReplayed, 409)
	_, err = c.Verify(ctx, "alice", "123")
	e.refused(err, server.ErrBadRequest, 400)

	// The token's view.
	tv, err = c.Token(ctx, "SER1")
	e.must(err)
	if tv.Serial != "SER1" || tv.Status != server.StatusActive || tv.SubStatus != "active" || tv.StatusDisplay != "Active (Active)" ||
		tv.Kind != "totp" || tv.Algorithm != "sha1" || tv.Digits != 8 || tv.PeriodS != 30 || tv.OwnerID != "alice" || tv.Level != 2 ||
		tv.FailCount != 0 || tv.Blocked || tv.LastStep == nil || *tv.LastStep != actStep+1 || tv.ExpiresAt == nil ||
		!tv.ExpiresAt.Equal(start.Add(365*24*time.Hour)) || tv.ActivatedAt.IsZero() {
		t.Fatalf("token view: %+v", tv)
	}
	tvs, err := c.Tokens(ctx, server.TokenFilter{OwnerID: "alice"})
	e.must(err)
	if len(tvs) != 1 || tvs[0].Serial != "SER1" {
		t.Fatalf("tokens of alice: %+v", tvs)
	}
	tvs, err = c.Tokens(ctx, server.TokenFilter{Status: server.StatusPendingActivation})
	e.must(err)
	if len(tvs) != 1 || tvs[0].Serial != "SER2" {
		t.Fatalf("pending tokens: %+v", tvs)
	}

	// Missing tokens, odd serials: the token route answers, not the mux —
	// not_found for a serial that could exist, bad_request for one no
	// serial can be (docs/lifecycle.md, “Identifiers”).
	for serial, want := range map[string]*server.Error{"NOPE": server.ErrNotExist, "..": server.ErrNotExist,
		"no such/serial": server.ErrBadRequest, "a?b#c": server.ErrBadRequest} {
		_, err = c.Token(ctx, serial)
		status := 404
		if want == server.ErrBadRequest {
			status = 400
		}
		ce := e.refused(err, want, status)
		if strings.Contains(ce.Message, "route") {
			t.Fatalf("Token(%q) reached no route: %v", serial, err)
		}
	}

	// Resync with two later consecutive codes.
	r1 := e.next()
	r2 := e.next()
	tv, err = c.Resync(ctx, server.AsUser("alice"), "SER1", r1, r2)
	e.must(err)
	if *tv.LastStep != e.clk.Now().Unix()/30 {
		t.Fatalf("resync: %+v", tv)
	}

	// Suspend and enable, by the user and by an administrator.
	tv, err = c.Suspend(ctx, server.AsUser("alice"), "SER1")
	e.must(err)
	if tv.Status != server.StatusSuspended || tv.SuspendedBy != "user" {
		t.Fatalf("suspend by owner: %+v", tv)
	}
	_, err = c.Verify(ctx, "alice", e.next())
	e.refused(err, server.ErrTokenUnusable, 403)
	_, err = c.Enable(ctx, server.AsUser("carol"), "SER1")
	e.refused(err, server.ErrForbidden, 403)
	tv, err = c.Enable(ctx, server.AsUser("alice"), "SER1")
	e.must(err)
	if tv.Status != server.StatusActive || tv.SuspendedBy != "" {
		t.Fatalf("enable by user: %+v", tv)
	}
	tv, err = c.Suspend(ctx, admin, "SER1")
	e.must(err)
	if tv.Status != server.StatusSuspended || tv.SuspendedBy != "admin" {
		t.Fatalf("suspend by admin: %+v", tv)
	}
	_, err = c.Enable(ctx, server.AsUser("alice"), "SER1")
	e.refused(err, server.ErrForbidden, 403)
	tv, err = c.Enable(ctx, admin, "SER1")
	e.must(err)
	if tv.Status != server.StatusActive {
		t.Fatalf("enable by admin: %+v", tv)
	}
	_, err = c.Approve(ctx, admin, "SER1")
	e.refused(err, server.ErrActionUnavailable, 403)
	tv, err = c.Reset(ctx, admin, "SER1")
	e.must(err)
	if tv.Status != server.StatusActive || tv.Blocked {
		t.Fatalf("reset: %+v", tv)
	}

	// Sessions: login, elevate, access, logout.
	_, err = c.Login(ctx, "alice", wrongPassword, "")
	e.refused(err, server.ErrCredentialsInvalid, 401)
	ss, err := c.Login(ctx, "alice", alicePassword, "")
	e.must(err)
	if ss.ID == "" || ss.UserID != "alice" || ss.Strength.Credential != server.CredentialPassword {
		t.Fatalf("login: %+v", ss)
	}
	e.refused(c.Access(ctx, ss.ID, "app1"), server.ErrStrengthTooLow, 403)
	el, err := c.Elevate(ctx, ss.ID, e.next())
	e.must(err)
	if el.ID != ss.ID || el.Strength != (server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}) {
		t.Fatalf("elevate: %+v", el)
	}
	e.must(c.Access(ctx, ss.ID, "app1"))
	e.refused(c.Access(ctx, ss.ID, "nope"), server.ErrNotExist, 404)
	got, err := c.Session(ctx, ss.ID)
	e.must(err)
	if got.Strength.Credential != server.CredentialHardwareOTP || !got.EndedAt.IsZero() {
		t.Fatalf("session: %+v", got)
	}
	e.must(c.Logout(ctx, ss.ID))
	e.refused(c.Access(ctx, ss.ID, "app1"), server.ErrSessionInvalid, 401)
	e.refused(c.Logout(ctx, ss.ID), server.ErrSessionInvalid, 401)
	_, err = c.Session(ctx, "no-such-session")
	e.refused(err, server.ErrSessionInvalid, 401)
	ss2, err := c.Login(ctx, "bob", wrongPassword+"x", e.next()) // bob uses alice's token
	e.must(err)
	if ss2.Strength.Credential != server.CredentialHardwareOTP {
		t.Fatalf("login with the parent's token: %+v", ss2)
	}

	// Notifications and audit.
	ns, err := c.Notifications(ctx, "alice")
	e.must(err)
	var kinds []string
	for _, n := range ns {
		kinds = append(kinds, string(n.Kind))
	}
	if !slices.Contains(kinds, "sponsorship") || !slices.Contains(kinds, "activation") {
		t.Fatalf("notifications: %v", kinds)
	}
	everyone, err := c.Notifications(ctx, "")
	e.must(err)
	if len(everyone) < len(ns) {
		t.Fatalf("all notifications: %d < %d", len(everyone), len(ns))
	}
	audit, err := c.Audit(ctx, "SER1", 0)
	e.must(err)
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	for _, want := range []string{"token.sponsor", "token.activate", "token.suspend", "token.enable", "token.resync"} {
		if !slices.Contains(actions, want) {
			t.Fatalf("audit of SER1 lacks %s: %v", want, actions)
		}
	}
	last, err := c.Audit(ctx, "", 3)
	e.must(err)
	if len(last) != 3 {
		t.Fatalf("audit limit 3: %d entries", len(last))
	}

	// The clock and the sweep.
	cs, err := c.Clock(ctx)
	e.must(err)
	if !cs.Virtual || !cs.Now.Equal(e.clk.Now()) || cs.Sweep != nil {
		t.Fatalf("clock: %+v", cs)
	}
	_, err = c.AdvanceClock(ctx, "soon")
	e.refused(err, server.ErrBadRequest, 400)
	cs, err = c.AdvanceClock(ctx, "340d")
	e.must(err)
	if cs.Sweep == nil || cs.Sweep.Reminders != 1 || cs.Sweep.Expired != 0 {
		t.Fatalf("advance 340d: %+v", cs)
	}
	cs, err = c.SetClock(ctx, start.Add(366*24*time.Hour))
	e.must(err)
	// SER1 expires (SER2 was sold at start too, but never activated).
	if !cs.Now.Equal(start.Add(366*24*time.Hour)) || cs.Sweep == nil || *cs.Sweep != (server.SweepReport{Expired: 1}) {
		t.Fatalf("set clock: %+v", cs)
	}
	_, err = c.Verify(ctx, "alice", e.code())
	e.refused(err, server.ErrTokenExpired, 403)
	rep, err := c.Sweep(ctx)
	e.must(err)
	if rep != (server.SweepReport{}) {
		t.Fatalf("second sweep: %+v", rep)
	}
	tv, err = c.Renew(ctx, server.AsUser("alice"), "SER1")
	e.must(err)
	if tv.Status != server.StatusActive || !tv.ExpiresAt.Equal(start.Add(2*365*24*time.Hour)) {
		t.Fatalf("renew: %+v", tv)
	}
	tv, err = c.Revoke(ctx, admin, "SER1")
	e.must(err)
	if tv.Status != server.StatusRevoked {
		t.Fatalf("revoke: %+v", tv)
	}
	_, err = c.Verify(ctx, "alice", e.code())
	e.refused(err, server.ErrTokenRevoked, 403)
}

// TestCredential: a wrong or missing credential is unauthorized; public
// routes need none.
func TestCredential(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{"not-" + adminToken, ""} {
		c := client.New(e.url, tok)
		e.must(c.Health(e.ctx))
		_, err := c.Token(e.ctx, "SER1")
		e.errs = append(e.errs, err)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 401 || ce.Code != "unauthorized" {
			t.Fatalf("token %q: %v", tok, err)
		}
		if errors.Is(err, server.ErrNotExist) || errors.Is(err, server.ErrCredentialsInvalid) || server.CodeOf(err) != "unauthorized" {
			t.Fatalf("unauthorized matches a server sentinel: %v", err)
		}
		if strings.Contains(err.Error(), tok) && tok != "" {
			t.Fatalf("error holds the token: %v", err)
		}
	}
	// An administrator actor needs the administrator credential: an admin
	// client passes, and the route is refused to nobody else (no service
	// token here).
	_, err := e.c.Suspend(e.ctx, admin, "NOPE")
	e.refused(err, server.ErrNotExist, 404)
}

// TestRawAnswers checks the requests the client sends and how it reads
// answers that are not the API's error JSON.
func TestRawAnswers(t *testing.T) {
	long := strings.Repeat("x", 300)
	var (
		mu   sync.Mutex
		last http.Header
	)
	seen := func() http.Header { mu.Lock(); defer mu.Unlock(); return last }
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Header.Clone()
		mu.Unlock()
		switch r.URL.Path {
		case "/gw/v1/tokens/S1":
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		case "/gw/v1/tokens/S2":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(long))
		case "/gw/v1/tokens/S3":
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("not json"))
		default:
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte(`{"error":{"code":"token_locked","message":"locked"}}`))
		}
	}))
	defer ts.Close()
	c := client.New(ts.URL+"/gw/", "tok-"+adminToken)
	ctx := context.Background()

	_, err := c.Token(ctx, "S1")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 502 || ce.Code != "http_502" || ce.Message != "<html>bad gateway</html>\n" {
		t.Fatalf("502: %#v", err)
	}
	if seen().Get("Authorization") != "Bearer tok-"+adminToken || seen().Get("Accept") != "application/json" || seen().Get("Content-Type") != "" {
		t.Fatalf("GET headers: %v", seen())
	}
	_, err = c.Token(ctx, "S2")
	if !errors.As(err, &ce) || ce.Status != 503 || ce.Code != "http_503" || ce.Message != long[:200] {
		t.Fatalf("503: %#v", err)
	}
	_, err = c.Token(ctx, "S3")
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "GET /v1/tokens/{serial}") {
		t.Fatalf("malformed answer: %v", err)
	}
	_, err = c.Verify(ctx, "u", "12345678")
	if !errors.Is(err, server.ErrTokenLocked) || !errors.As(err, &ce) || ce.Status != http.StatusTeapot {
		t.Fatalf("418: %v", err)
	}
	if seen().Get("Content-Type") != "application/json" {
		t.Fatalf("POST headers: %v", seen())
	}
	_, err = c.ImportSeedFile(ctx, admin, []byte("x"), server.ImportOptions{Format: ""})
	if seen().Get("Content-Type") != "text/plain" || !errors.Is(err, server.ErrTokenLocked) {
		t.Fatalf("import: %v %v", err, seen())
	}
	if strings.Contains(err.Error(), adminToken) {
		t.Fatalf("error holds the token: %v", err)
	}
	if (&client.Client{BaseURL: ts.URL + "/gw"}).Health(ctx) == nil {
		t.Fatal("a zero Client's Health on a teapot passed")
	}
	if seen().Get("Authorization") != "" {
		t.Fatalf("empty Token sent Authorization: %v", seen())
	}
}

// TestTransportErrors: a transport error names the method and the route,
// unwraps to its cause, and never shows the query, a body or the token.
func TestTransportErrors(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	c := client.New(url, adminToken)
	ctx := context.Background()
	_, err := c.ImportSeedFile(ctx, admin, []byte("SER1, 3132333435363738393031323334353637383930"), server.ImportOptions{Format: "pskc", Key: []byte{0x0b, 0xad, 0xc0, 0xde, 0x0b, 0xad, 0xc0, 0xde}, Password: seedPassword})
	if err == nil || !strings.Contains(err.Error(), "POST /v1/inventory") {
		t.Fatalf("import on a closed server: %v", err)
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		t.Fatalf("a transport error is a *client.Error: %v", err)
	}
	_, err2 := c.Login(ctx, "alice", alicePassword, "")
	_, err3 := c.Elevate(ctx, "secret-session-id", "12345678")
	if err3 == nil || strings.Contains(err3.Error(), "secret-session-id") || !strings.Contains(err3.Error(), "POST /v1/sessions/{id}/elevate") {
		t.Fatalf("elevate on a closed server: %v", err3)
	}
	bad := client.New("http://bad host\x7f/?password="+seedPassword, adminToken)
	err4 := bad.Health(ctx)
	for _, err := range []error{err, err2, err3, err4} {
		if err == nil {
			t.Fatal("no error")
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("error %q holds %q", err, s)
			}
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Health(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
