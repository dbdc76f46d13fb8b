package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/console"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// cookieOf returns the session cookie the fixture's browser holds.
func (f *fixture) cookieOf() *http.Cookie {
	f.t.Helper()
	u, _ := url.Parse(f.hs.URL)
	for _, c := range f.c.Jar.Cookies(u) {
		if c.Name == console.CookieName {
			return c
		}
	}
	f.t.Fatal("the signed-in browser holds no session cookie")
	return nil
}

// getWith fetches path with the cookie alone, following no redirect.
func (f *fixture) getWith(ck *http.Cookie, path string) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.hs.URL+path, nil)
	req.AddCookie(ck)
	resp, err := f.bare.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func refused(resp *http.Response) bool {
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/login"
}

// TestLogoutEndsTheSession: a cookie captured before logout is refused after
// it (issue 14: "a console cookie is dead after logout").
func TestLogoutEndsTheSession(t *testing.T) {
	f := newFixture(t, true)
	stolen := f.cookieOf()
	if resp := f.getWith(stolen, "/server"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the cookie before logout: %d", resp.StatusCode)
	}
	d := f.post("/logout", nil)
	if d.url.Path != "/login" {
		t.Fatalf("after logout: at %s", d.url)
	}
	if resp := f.getWith(stolen, "/server"); !refused(resp) {
		t.Fatalf("the cookie captured before logout, after it: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSessionCookieIsRandom: every sign-in gets its own cookie value, not
// one derived from the credential (which would be the same forever).
func TestSessionCookieIsRandom(t *testing.T) {
	f := newFixture(t, true)
	first := f.cookieOf().Value
	resp, err := f.bare.PostForm(f.hs.URL+"/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 {
		t.Fatalf("second sign-in: cookies %v", cs)
	}
	if cs[0].Value == first || first == mac("tokenlab console session") || len(first) < 32 {
		t.Fatalf("cookie values %q then %q: want two different random values", first, cs[0].Value)
	}
}

// TestSecureCookieOverTLS: over TLS the cookie is Secure and __Host-.
func TestSecureCookieOverTLS(t *testing.T) {
	f := newFixture(t, true)
	hs := httptest.NewTLSServer(f.hs.Config.Handler)
	defer hs.Close()
	c := hs.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(hs.URL+"/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || cs[0].Name != "__Host-"+console.CookieName || !cs[0].Secure || cs[0].Path != "/" || cs[0].Domain != "" || !cs[0].HttpOnly {
		t.Fatalf("over TLS the cookie is %+v, want __Host-%s, Secure, HttpOnly, Path=/ and no Domain", cs, console.CookieName)
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/server", nil)
	req.AddCookie(cs[0])
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the __Host- cookie over TLS: %d", resp.StatusCode)
	}
}

// TestSessionLimits: a session ends after 30 minutes unused and 12 hours
// after sign-in however busy, on the console's own clock; moving the
// server's virtual clock signs nobody out.
func TestSessionLimits(t *testing.T) {
	f := newFixture(t, true)
	ck := f.cookieOf()
	// Busy: every 29 minutes, up to just before 12 hours.
	for range 24 {
		f.wall.Step(29 * time.Minute)
		if resp := f.getWith(ck, "/server"); resp.StatusCode != http.StatusOK {
			t.Fatalf("a session used every 29 minutes, %s after sign-in: %d", f.wall.Now().Sub(start), resp.StatusCode)
		}
	}
	// The server's clock moves 30 days: the console clock does not.
	f.post("/clock", url.Values{"advance": {"30d"}})
	if resp := f.getWith(ck, "/server"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the server's clock moved 30 days: %d", resp.StatusCode)
	}
	f.wall.Set(start.Add(console.DefaultSessionMax - time.Second))
	if resp := f.getWith(ck, "/server"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a second before the absolute limit: %d", resp.StatusCode)
	}
	f.wall.Set(start.Add(console.DefaultSessionMax))
	if resp := f.getWith(ck, "/server"); !refused(resp) {
		t.Fatalf("12 hours after sign-in: %d, want 303 to /login", resp.StatusCode)
	}

	// Idle: a fresh session unused for 30 minutes is over.
	f = newFixture(t, true)
	ck = f.cookieOf()
	f.wall.Step(console.DefaultSessionIdle - time.Second)
	if resp := f.getWith(ck, "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a second before the idle limit: %d", resp.StatusCode)
	}
	f.wall.Step(console.DefaultSessionIdle)
	if resp := f.getWith(ck, "/"); !refused(resp) {
		t.Fatalf("30 minutes unused: %d, want 303 to /login", resp.StatusCode)
	}
	// Once over, it stays over.
	f.wall.Step(-time.Hour)
	if resp := f.getWith(ck, "/"); !refused(resp) {
		t.Fatalf("an ended session came back: %d", resp.StatusCode)
	}

	// The limits are options.
	f = newFixtureWith(t, true, func(o *console.Options) { o.SessionIdle, o.SessionMax = time.Minute, 3*time.Minute })
	ck = f.cookieOf()
	f.wall.Step(61 * time.Second)
	if resp := f.getWith(ck, "/"); !refused(resp) {
		t.Fatalf("SessionIdle 1m, 61 s unused: %d", resp.StatusCode)
	}
	f = newFixtureWith(t, true, func(o *console.Options) { o.SessionIdle, o.SessionMax = time.Minute, 3*time.Minute })
	ck = f.cookieOf()
	for range 3 {
		f.wall.Step(59 * time.Second)
		f.getWith(ck, "/")
	}
	f.wall.Step(4 * time.Second)
	if resp := f.getWith(ck, "/"); !refused(resp) {
		t.Fatalf("SessionMax 3m, 3m1s after sign-in: %d", resp.StatusCode)
	}
}

// TestSecureCookieBehindTLS: with BehindTLS (a proxy terminates TLS) the
// cookie is Secure and __Host- though the request came over plain HTTP,
// and the unprefixed cookie is not accepted.
func TestSecureCookieBehindTLS(t *testing.T) {
	// Not newFixture: its browser keeps a Secure cookie off plain HTTP.
	srv, _, err := servertest.Open(t.TempDir(), server.Policy{}, start)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h, err := console.New(console.Options{Server: srv, Store: emulator.OpenStore(filepath.Join(t.TempDir(), "tokens.json")),
		AdminToken: adminToken, BehindTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	f := &fixture{t: t, hs: hs, bare: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := f.bare.PostForm(f.hs.URL+"/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || cs[0].Name != "__Host-"+console.CookieName || !cs[0].Secure || cs[0].Path != "/" || cs[0].Domain != "" {
		t.Fatalf("behind TLS the cookie is %+v, want __Host-%s, Secure, Path=/", cs, console.CookieName)
	}
	if resp := f.getWith(cs[0], "/server"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the __Host- cookie: %d", resp.StatusCode)
	}
	plain := &http.Cookie{Name: console.CookieName, Value: cs[0].Value}
	if resp := f.getWith(plain, "/server"); !refused(resp) {
		t.Fatalf("the session under the unprefixed name: %d, want 303 to /login", resp.StatusCode)
	}
}
