package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/console"
)

// TestNoCredentialInQuery: /login?token=… no longer signs in: a URL ends
// up in logs and the browser's history.
func TestNoCredentialInQuery(t *testing.T) {
	f := newFixture(t, true)
	for _, q := range []string{"token=" + adminToken, "token=" + adminToken + "&nonce=x"} {
		resp, err := f.bare.Get(f.hs.URL + "/login?" + q)
		if err != nil {
			t.Fatal(err)
		}
		d := f.parse(resp)
		if len(resp.Cookies()) != 0 || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET /login?%s: %d, cookies %v; want 400 and no cookie", q, resp.StatusCode, resp.Cookies())
		}
		d.contains("message", "not accepted in a URL")
	}
	// Nor in the query of a POST.
	resp, err := f.bare.PostForm(f.hs.URL+"/login?token="+adminToken, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST /login?token=…: %d, cookies %v; want 400 and no cookie", resp.StatusCode, resp.Cookies())
	}
}

// TestBearerLogin: the credential in an Authorization header signs in.
func TestBearerLogin(t *testing.T) {
	f := newFixture(t, true)
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"Bearer " + adminToken, true},
		{"bearer " + adminToken, true},
		{"Bearer wrong", false},
		{"Basic " + adminToken, false},
	} {
		req, _ := http.NewRequest(http.MethodGet, f.hs.URL+"/login", nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := f.bare.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		signedIn := resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/" && len(resp.Cookies()) == 1
		if signedIn != tc.ok {
			t.Fatalf("Authorization: %s: %d to %q, cookies %v", strings.Fields(tc.header)[0], resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
		}
		if !tc.ok && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong header: %d, want 401", resp.StatusCode)
		}
	}
}

// TestLoginLink: the link tokenlab serve prints carries a nonce, not the
// credential; it signs in once, within LoginLinkTTL.
func TestLoginLink(t *testing.T) {
	f := newFixture(t, true)
	link := f.web.LoginLink(f.hs.URL)
	if !strings.HasPrefix(link, f.hs.URL+"/login?nonce=") || strings.Contains(link, adminToken) {
		t.Fatalf("login link %q", link)
	}
	if again := f.web.LoginLink(f.hs.URL + "/"); again == link || !strings.HasPrefix(again, f.hs.URL+"/login?nonce=") {
		t.Fatalf("a second link %q after %q: want another nonce, one slash", again, link)
	}
	get := func(u string) *http.Response {
		t.Helper()
		resp, err := f.bare.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get(link)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || len(resp.Cookies()) != 1 {
		t.Fatalf("the login link: %d to %q, cookies %v; want 303 to / and a cookie", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	if r := f.getWith(resp.Cookies()[0], "/server"); r.StatusCode != http.StatusOK {
		t.Fatalf("the link's session: %d", r.StatusCode)
	}
	// Once only.
	resp, err := f.bare.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	d := f.parse(resp)
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("the login link a second time: %d, cookies %v; want 401", resp.StatusCode, resp.Cookies())
	}
	d.contains("message", "used already or expired")

	// Within LoginLinkTTL only.
	fresh, stale := f.web.LoginLink(f.hs.URL), f.web.LoginLink(f.hs.URL)
	f.wall.Step(console.LoginLinkTTL - time.Second)
	if resp := get(fresh); resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("a link a second before it expires: %d", resp.StatusCode)
	}
	f.wall.Step(time.Second)
	if resp := get(stale); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("a link %s old: %d, cookies %v; want 401", console.LoginLinkTTL, resp.StatusCode, resp.Cookies())
	}
	for _, bogus := range []string{"", "0000", strings.Repeat("a", 64)} {
		if resp := get(f.hs.URL + "/login?nonce=" + bogus); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Fatalf("nonce %q: %d, cookies %v; want 401", bogus, resp.StatusCode, resp.Cookies())
		}
	}
}
