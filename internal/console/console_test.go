package console_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/console"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/servertest"
)

const adminToken = "console-test-admin"

// start is the fixture's true time, away from a step edge (as the server's
// harness has it).
var start = time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)

type fixture struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Virtual
	// wall is the console's own clock, for sessions and login links.
	wall  *clock.Virtual
	srv   *server.Server
	store *emulator.Store
	web   *console.Console
	hs    *httptest.Server
	// c is a signed-in browser that follows redirects; bare follows none
	// and has no cookie.
	c, bare *http.Client
}

func newFixture(t *testing.T, virtual bool) *fixture {
	t.Helper()
	return newFixtureWith(t, virtual, nil)
}

// newFixtureWith is newFixture with the console's options changed by opt.
func newFixtureWith(t *testing.T, virtual bool, opt func(*console.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), wall: clock.NewVirtual(start)}
	var err error
	if f.srv, f.clk, err = servertest.Open(t.TempDir(), server.Policy{}, start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.srv.Close() })
	f.store = emulator.OpenStore(filepath.Join(t.TempDir(), "tokens.json"))
	opts := console.Options{Server: f.srv, Store: f.store, AdminToken: adminToken, Clock: f.wall}
	if virtual {
		opts.VirtualClock = f.clk
	}
	if opt != nil {
		opt(&opts)
	}
	if f.web, err = console.New(opts); err != nil {
		t.Fatal(err)
	}
	f.hs = httptest.NewServer(f.web)
	t.Cleanup(f.hs.Close)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	f.bare = &http.Client{CheckRedirect: noRedirect}
	jar, _ := cookiejar.New(nil)
	f.c = &http.Client{Jar: jar}
	resp, err := f.c.PostForm(f.hs.URL+"/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("signing in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return f
}

func mac(msg string) string {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

var csrfValue = mac("tokenlab console csrf")

// doc is a fetched page.
type doc struct {
	t      *testing.T
	status int
	url    *url.URL
	root   *html.Node
}

func (f *fixture) get(path string) *doc {
	f.t.Helper()
	resp, err := f.c.Get(f.hs.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.parse(resp)
}

// post submits a form with the CSRF field and follows the redirect.
func (f *fixture) post(path string, form url.Values) *doc {
	f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrfValue)
	resp, err := f.c.PostForm(f.hs.URL+path, form)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.parse(resp)
}

func (f *fixture) parse(resp *http.Response) *doc {
	f.t.Helper()
	defer resp.Body.Close()
	root, err := html.Parse(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return &doc{t: f.t, status: resp.StatusCode, url: resp.Request.URL, root: root}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := find(c, match); m != nil {
			return m
		}
	}
	return nil
}

// byID returns the element with the id, or nil.
func (d *doc) byID(id string) *html.Node {
	return find(d.root, func(n *html.Node) bool { return attr(n, "id") == id })
}

// must returns the element with the id, failing the test without it.
func (d *doc) must(id string) *html.Node {
	d.t.Helper()
	n := d.byID(id)
	if n == nil {
		d.t.Fatalf("no #%s on %s (status %d); message: %q", id, d.url, d.status, d.text("message"))
	}
	return n
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// text is the text of the element with the id ("" without it).
func (d *doc) text(id string) string {
	if n := d.byID(id); n != nil {
		return textOf(n)
	}
	return ""
}

// cell is the text of the td with the class inside the element with the id.
func (d *doc) cell(id, class string) string {
	d.t.Helper()
	n := find(d.must(id), func(n *html.Node) bool {
		return n.Data == "td" && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
	})
	if n == nil {
		d.t.Fatalf("no td.%s in #%s", class, id)
	}
	return textOf(n)
}

func (d *doc) contains(id, want string) {
	d.t.Helper()
	if got := textOf(d.must(id)); !strings.Contains(got, want) {
		d.t.Fatalf("#%s on %s says %q, want it to contain %q", id, d.url, got, want)
	}
}

// code is what a healthy token with the secret shows at true time at.
func code(t *testing.T, secret []byte, at time.Time) string {
	g, err := oath.NewGenerator(secret, oath.SHA1, 8)
	if err != nil {
		t.Fatal(err)
	}
	return g.Code(uint64(at.Unix() / 30))
}

func TestSignIn(t *testing.T) {
	f := newFixture(t, true)
	for _, path := range []string{"/", "/server", "/server/audit", "/server/notifications", "/server/accounts/alice", "/nowhere"} {
		resp, err := f.bare.Get(f.hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("GET %s without the cookie: %d to %q, want 303 to /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, err := f.bare.PostForm(f.hs.URL+"/tokens", url.Values{"csrf": {csrfValue}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("POST without the cookie: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The login page: a labelled input and a button, page furniture.
	resp, err = f.bare.Get(f.hs.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	login := f.parse(resp)
	login.must("admin-token")
	login.must("login")
	if find(login.root, func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == "admin-token" }) == nil {
		t.Fatal("the credential input has no label")
	}
	if h := find(login.root, func(n *html.Node) bool { return n.Data == "html" }); attr(h, "lang") != "en" {
		t.Fatal("no lang on <html>")
	}
	if find(login.root, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "viewport" }) == nil {
		t.Fatal("no viewport meta")
	}

	// A wrong credential sets no cookie (TestNoCredentialInQuery: nor the
	// right one in a URL).
	for _, try := range []func() (*http.Response, error){
		func() (*http.Response, error) {
			return f.bare.PostForm(f.hs.URL+"/login", url.Values{"token": {"wrong"}})
		},
		func() (*http.Response, error) { return f.bare.PostForm(f.hs.URL+"/login", url.Values{"token": {""}}) },
	} {
		resp, err := try()
		if err != nil {
			t.Fatal(err)
		}
		d := f.parse(resp)
		if len(resp.Cookies()) != 0 || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong credential: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		d.contains("message", "not the administrator credential")
	}

	// The right one sets the cookie and redirects to /.
	for _, try := range []func() (*http.Response, error){
		func() (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, f.hs.URL+"/login", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			return f.bare.Do(req)
		},
		func() (*http.Response, error) {
			return f.bare.PostForm(f.hs.URL+"/login", url.Values{"token": {adminToken}})
		},
	} {
		resp, err := try()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("the right credential: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		cs := resp.Cookies()
		if len(cs) != 1 || cs[0].Name != console.CookieName || len(cs[0].Value) != 64 || !cs[0].HttpOnly ||
			cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" || cs[0].Secure || cs[0].MaxAge != 0 {
			t.Fatalf("cookie %+v, want %s=<random> HttpOnly SameSite=Strict, no Max-Age, not Secure on plain HTTP", cs, console.CookieName)
		}
	}

	// A POST without the CSRF field (or with a wrong one) is forbidden.
	for _, form := range []url.Values{{}, {"csrf": {"0000"}}} {
		form.Set("serial", "VIRT1")
		req, _ := http.NewRequest(http.MethodPost, f.hs.URL+"/tokens", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(f.cookieOf())
		resp, err := f.bare.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST with csrf %q: %d, want 403", form.Get("csrf"), resp.StatusCode)
		}
	}
	if err := f.store.View(func(set *emulator.TokenSet) error {
		if set.Len() != 0 {
			t.Fatal("a refused POST created a token")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The assets are served, embedded.
	for _, p := range []string{"/static/console.css", "/static/console.js"} {
		resp, err := f.bare.Get(f.hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) < 100 {
			t.Fatalf("GET %s: %d, %d bytes", p, resp.StatusCode, len(b))
		}
	}
}

func TestVirtualTokensAndServerViews(t *testing.T) {
	f := newFixture(t, true)
	const serial = "VIRT0000000000042"
	secret := []byte("12345678901234567890")

	// Create a token with its seed in the inventory.
	d := f.post("/tokens", url.Values{"serial": {serial}, "secret_hex": {hex.EncodeToString(secret)}, "kind": {"totp"},
		"ppm": {"0"}, "inventory": {"on"}, "back": {"/"}})
	d.contains("message", "Created "+serial)
	if d.url.Path != "/" || d.url.Fragment != "" && d.url.Fragment != "token-"+serial {
		t.Fatalf("after creating: at %s", d.url)
	}
	d.must("token-" + serial)
	if got := d.text("serial-" + serial); got != serial {
		t.Fatalf("serial on the back: %q", got)
	}
	if got := d.text("lcd-" + serial); got != "--------" {
		t.Fatalf("the LCD before any press shows %q", got)
	}
	d.contains("drift-"+serial, "+0 ppm, offset +0s")
	d.contains("server-status-"+serial, "Pending Activation")
	for _, id := range []string{"press-", "copy-", "countdown-", "drift-ppm-", "drift-offset-", "set-drift-", "set-faults-", "activate-user-", "activate-"} {
		d.must(id + serial)
	}
	if attr(d.must("press-"+serial), "type") != "submit" || attr(d.must("copy-"+serial), "type") != "button" {
		t.Fatal("press must be a submit button, copy a plain button")
	}
	for _, id := range []string{"new-serial", "new-kind", "new-ppm", "new-inventory", "create-token"} {
		d.must(id)
	}
	// Every visible input has a label.
	var unlabelled []string
	find(d.root, func(n *html.Node) bool {
		if (n.Data == "input" || n.Data == "select") && attr(n, "type") != "hidden" {
			id := attr(n, "id")
			wrapped := n.Parent != nil && n.Parent.Data == "label"
			if !wrapped && find(d.root, func(l *html.Node) bool { return l.Data == "label" && attr(l, "for") == id }) == nil {
				unlabelled = append(unlabelled, id)
			}
		}
		return false
	})
	if len(unlabelled) > 0 {
		t.Fatalf("inputs without a label: %v", unlabelled)
	}
	if find(d.root, func(n *html.Node) bool { return n.Data == "main" }) == nil {
		t.Fatal("no <main>")
	}

	srvPage := f.get("/server")
	if got := srvPage.cell("row-"+serial, "status"); got != "Pending Activation" {
		t.Fatalf("inventory status %q", got)
	}
	if find(srvPage.must("inventory"), func(n *html.Node) bool { return attr(n, "id") == "row-"+serial }) == nil {
		t.Fatal("the row is not in #inventory")
	}

	// Press: the code of the server's clock.
	d = f.post("/tokens/"+serial+"/press", url.Values{"back": {"/"}})
	want := code(t, secret, f.clk.Now())
	if got := d.text("lcd-" + serial); got != want {
		t.Fatalf("the LCD shows %q, the token's code at the server's clock is %s", got, want)
	}
	cd := d.must("countdown-" + serial)
	if attr(cd, "data-virtual") != "true" || textOf(cd) != "20 s left" { // 09:00:10: 20 s of the step left
		t.Fatalf("countdown %q (virtual %q)", textOf(cd), attr(cd, "data-virtual"))
	}
	if until, want := attr(cd, "data-valid-until-ms"), strconv.FormatInt(start.Add(20*time.Second).UnixMilli(), 10); until != want {
		t.Fatalf("data-valid-until-ms %s, want %s", until, want)
	}

	// A dead button: a blank LCD and the press did not register.
	d = f.post("/tokens/"+serial+"/faults", url.Values{"fault": {"dead-button"}, "action": {"set"}})
	d.contains("faults-"+serial, "dead-button")
	d = f.post("/tokens/"+serial+"/press", nil)
	if got := d.text("lcd-" + serial); got != "" {
		t.Fatalf("a dead button's LCD shows %q", got)
	}
	d.contains("note-"+serial, "did not register")
	d.contains("message", "did not register")
	d = f.post("/tokens/"+serial+"/faults", url.Values{"action": {"clear"}})
	d.contains("faults-"+serial, "none")

	// Drift +30 s: the next step's code.
	d = f.post("/tokens/"+serial+"/drift", url.Values{"ppm": {"0"}, "offset": {"30s"}})
	d.contains("drift-"+serial, "+0 ppm, offset +30s")
	d = f.post("/tokens/"+serial+"/press", nil)
	if got, want := d.text("lcd-"+serial), code(t, secret, f.clk.Now().Add(30*time.Second)); got != want {
		t.Fatalf("drifted +30s the LCD shows %q, want the next step's %s", got, want)
	}
	d = f.post("/tokens/"+serial+"/drift", url.Values{"ppm": {"4"}, "offset": {"0s"}})
	d.contains("drift-"+serial, "+4 ppm, offset +0s")
	d = f.post("/tokens/"+serial+"/drift", url.Values{"ppm": {"4"}, "offset": {"soon"}})
	d.contains("message", "invalid drift offset")

	// Sponsor and activate through the forms.
	if _, err := f.srv.CreateAccount(f.ctx, server.AsAdmin("test"), server.NewAccount{UserID: "alice", Email: "alice@example.com",
		FirstName: "Alice", LastName: "Demo", Password: "demo password"}); err != nil {
		t.Fatal(err)
	}
	// Not sponsored yet: the refusal shows its code and message.
	d = f.post("/tokens/"+serial+"/activate", url.Values{"user_id": {"alice"}})
	d.contains("message", "serial_incorrect: ")
	d = f.post("/server/sponsor", url.Values{"user_id": {"alice"}, "serial": {serial}, "back": {"/server"}})
	d.contains("message", "Sponsored "+serial+" to alice")
	if d.url.Path != "/server" {
		t.Fatalf("after sponsoring: at %s", d.url)
	}
	d = f.post("/tokens/"+serial+"/activate", url.Values{"user_id": {"alice"}, "back": {"/"}})
	d.contains("message", "Activated "+serial+" for alice")
	if got, want := d.text("lcd-"+serial), code(t, secret, f.clk.Now()); got != want {
		t.Fatalf("after activating the LCD shows %q, want the second code %s", got, want)
	}
	srvPage = f.get("/server")
	if got := srvPage.cell("row-"+serial, "status"); got != "Active (Active)" {
		t.Fatalf("after activation the status is %q", got)
	}
	if got := srvPage.cell("row-"+serial, "sub-status"); got != "active" {
		t.Fatalf("sub-status %q", got)
	}
	if got := srvPage.cell("row-"+serial, "owner"); got != "alice" {
		t.Fatalf("owner %q", got)
	}
	if got := srvPage.cell("row-"+serial, "fail-count"); got != "0" {
		t.Fatalf("fail count %q", got)
	}
	link := find(srvPage.must("row-"+serial), func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/server/accounts/alice" })
	if link == nil {
		t.Fatal("the owner is not a link to the account")
	}
	acc := f.get("/server/accounts/alice")
	if acc.status != http.StatusOK {
		t.Fatalf("the account page: %d", acc.status)
	}
	acc.must("row-" + serial)
	if href := attr(acc.must("outbox-link"), "href"); href != "/server/notifications?user_id=alice" {
		t.Fatalf("outbox link %q", href)
	}
	if missing := f.get("/server/accounts/nobody"); missing.status != http.StatusNotFound || !strings.Contains(missing.text("message"), "not_found") {
		t.Fatalf("a missing account: %d %q", missing.status, missing.text("message"))
	}

	// The clock: +30 s moves it and sweeps.
	before := f.get("/server").text("clock-now")
	if before != start.Format(time.RFC3339) {
		t.Fatalf("clock-now %q", before)
	}
	d = f.post("/clock", url.Values{"advance": {"30s"}, "back": {"/server"}})
	if got := d.text("clock-now"); got != start.Add(30*time.Second).Format(time.RFC3339) {
		t.Fatalf("after +30 s the clock shows %q", got)
	}
	d.contains("clock-kind", "virtual")
	d.contains("message", "Sweep")
	d.must("clock-1d")
	d = f.post("/clock", url.Values{"advance": {"30d"}, "back": {"/server"}})
	if got := d.text("clock-now"); got != start.Add(30*time.Second+30*24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("after +30 days the clock shows %q", got)
	}
	if d.url.Path != "/server" {
		t.Fatalf("after moving the clock: at %s", d.url)
	}

	// The outbox: the sponsorship and the activation.
	out := f.get("/server/notifications?user_id=alice")
	outbox := textOf(out.must("outbox"))
	for _, want := range []string{"Your OTP Hardware Token is sponsored", "Your OTP Hardware Token is active"} {
		if !strings.Contains(outbox, want) {
			t.Fatalf("the outbox lacks %q: %s", want, outbox)
		}
	}
	if strings.Index(outbox, "sponsored") > strings.Index(outbox, "is active") {
		t.Fatal("the outbox is not oldest first")
	}
	if all := f.get("/server/notifications"); !strings.Contains(textOf(all.must("outbox")), "is active") {
		t.Fatal("everyone's outbox lacks the activation")
	}

	// The audit log.
	audit := textOf(f.get("/server/audit").must("audit"))
	for _, want := range []string{"token.activate", "token.sponsor", "inventory.import", "serial_incorrect", "admin:console"} {
		if !strings.Contains(audit, want) {
			t.Fatalf("the audit log lacks %q", want)
		}
	}
}

func TestHOTPAndFaults(t *testing.T) {
	f := newFixture(t, true)
	secret := []byte("12345678901234567890")
	d := f.post("/tokens", url.Values{"serial": {"HW1"}, "secret_hex": {hex.EncodeToString(secret)}, "kind": {"hotp"}})
	d.contains("message", "Created HW1 (HOTP)")
	if !strings.Contains(d.text("server-status-HW1"), "not in the server's inventory") {
		t.Fatalf("a token created without the inventory box: %q", d.text("server-status-HW1"))
	}
	g, _ := oath.NewGenerator(secret, oath.SHA1, 8)
	for i := range uint64(3) {
		d = f.post("/tokens/HW1/press", nil)
		if got := d.text("lcd-HW1"); got != g.Code(i) {
			t.Fatalf("HOTP press %d shows %q, want %s", i, got, g.Code(i))
		}
		d.contains("countdown-HW1", "until used")
	}
	if err := f.store.View(func(set *emulator.TokenSet) error {
		s, err := set.Get("HW1")
		if err == nil && s.Counter != 3 {
			t.Fatalf("the store's counter is %d after 3 presses", s.Counter)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Drift on an HOTP token is refused with the emulator's reason.
	d = f.post("/tokens/HW1/drift", url.Values{"ppm": {"4"}})
	d.contains("message", "no clock")
	// The import button puts it in the inventory.
	d = f.post("/tokens/HW1/import", nil)
	d.contains("server-status-HW1", "Pending Activation")
	// A second token with the same serial is refused, nothing changes.
	d = f.post("/tokens", url.Values{"serial": {"HW1"}})
	d.contains("message", "already in the store")

	// A generated serial and secret, and a frozen clock.
	d = f.post("/tokens", url.Values{"kind": {"totp"}, "ppm": {"12"}, "inventory": {"on"}})
	var serial string
	find(d.root, func(n *html.Node) bool {
		if id := attr(n, "id"); strings.HasPrefix(id, "token-VIRT") && len(id) == len("token-VIRT")+13 {
			serial = strings.TrimPrefix(id, "token-")
			return true
		}
		return false
	})
	if serial == "" {
		t.Fatalf("no generated VIRT serial; message %q", d.text("message"))
	}
	d.contains("drift-"+serial, "+12 ppm")
	d = f.post("/tokens/"+serial+"/faults", url.Values{"fault": {"frozen", "wrong-secret"}, "action": {"set"}})
	d.contains("faults-"+serial, "frozen, wrong-secret")
	d = f.post("/tokens/"+serial+"/press", nil)
	first := d.text("lcd-" + serial)
	f.clk.Step(5 * time.Minute)
	d = f.post("/tokens/"+serial+"/press", nil)
	if got := d.text("lcd-" + serial); got != first || len(got) != 8 {
		t.Fatalf("a frozen token shows %q then %q", first, got)
	}
	d.contains("countdown-"+serial, "frozen")
	d = f.post("/tokens/"+serial+"/faults", url.Values{"fault": {"bogus"}})
	d.contains("message", "unknown fault")
}

func TestRealClock(t *testing.T) {
	f := newFixture(t, false)
	d := f.get("/server")
	d.contains("clock-kind", "real")
	if d.byID("clock-30s") != nil {
		t.Fatal("clock buttons with a real clock")
	}
	d = f.post("/clock", url.Values{"advance": {"30s"}})
	d.contains("message", "the clock is real")
	f.post("/tokens", url.Values{"serial": {"R1"}})
	d = f.post("/tokens/R1/press", nil)
	cd := d.must("countdown-R1")
	if attr(cd, "data-virtual") != "false" || attr(cd, "data-valid-until-ms") == "" || !strings.HasSuffix(textOf(cd), "s left") {
		t.Fatalf("countdown %q virtual=%q until=%q", textOf(cd), attr(cd, "data-virtual"), attr(cd, "data-valid-until-ms"))
	}
	// Activation refused (no account): the code and the portal's message.
	d = f.post("/tokens/R1/activate", url.Values{"user_id": {"ghost"}})
	d.contains("message", "not_found: ")
	if !strings.Contains(d.text("message-detail"), "typed") {
		t.Fatalf("detail %q", d.text("message-detail"))
	}
}
