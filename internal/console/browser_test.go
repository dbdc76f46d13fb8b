package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/console"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// chromiumPath finds Debian's chromium; in CI a missing browser fails.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: install it with 'apt-get install chromium' (make test does this); required when CI=true")
	}
	t.Skip("chromium not found: apt-get install chromium")
	return ""
}

// TestConsoleInARealBrowser drives the console in headless Chromium: sign
// in with a login link, press a virtual token's button, read the code on
// its LCD, activate the token through the page, move the clock, see the
// status change, keep a screenshot of the token page, log out and sign in
// again with the login form.
func TestConsoleInARealBrowser(t *testing.T) {
	browser := chromiumPath(t)
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	// Tokens valid 10 days, so that +30 days on the page expires one.
	srv, vclk, err := servertest.Open(t.TempDir(), server.Policy{Validity: 10 * 24 * time.Hour}, start)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	store := emulator.OpenStore(filepath.Join(t.TempDir(), "tokens.json"))
	const serial = "VIRT0616534657375"
	secret := []byte("12345678901234567890")
	spec := emulator.Spec{Serial: serial, Secret: secret, Digits: 8, Period: 30 * time.Second, Created: start, Drift: emulator.Drift{Start: start}}
	if err := store.Update(func(set *emulator.TokenSet) error { return set.Add(spec) }); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := server.AsAdmin("test")
	if _, err := srv.ImportSeeds(ctx, admin, []seedfile.Token{spec.Seed()}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateAccount(ctx, admin, server.NewAccount{UserID: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Demo", Password: "demo password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Sponsor(ctx, admin, server.Sponsorship{UserID: "alice", Serial: serial}); err != nil {
		t.Fatal(err)
	}
	web, err := console.New(console.Options{Server: srv, Store: store, AdminToken: "browser-admin-credential-0123456", VirtualClock: vclk})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", httpapi.New(srv, httpapi.Options{AdminToken: "browser-admin-credential-0123456", VirtualClock: vclk}))
	mux.Handle("/", web)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	bctx, cancel := context.WithTimeout(bctx, 90*time.Second) // bounds a real browser, not a TOTP step
	defer cancel()

	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// submit clicks a form's button and waits until the next page has loaded.
	submit := func(sel string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`window.__tokenlabMarker = 1`)); err != nil {
			t.Fatal(err)
		}
		do(chromedp.Click(chromedp.CSS(sel)))
		// The check itself is interrupted while the browser navigates: ask
		// again until the new page has loaded (bounded by bctx).
		for {
			loaded, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__tokenlabMarker === undefined && document.readyState === "complete"`))
			if err == nil && loaded {
				return
			}
			if bctx.Err() != nil {
				t.Fatalf("after clicking %s the page did not load: %v", sel, err)
			}
			select {
			case <-bctx.Done():
			case <-time.After(20 * time.Millisecond): // a real browser navigating, not a TOTP step
			}
		}
	}
	gen, _ := oath.NewGenerator(secret, oath.SHA1, 8)
	want := gen.Code(uint64(vclk.Now().Unix() / 30))

	// Sign in with the login link tokenlab serve would print.
	do(chromedp.Navigate(web.LoginLink(hs.URL)), chromedp.WaitVisible(chromedp.CSS("#token-"+serial)))
	// Press the button: the LCD shows the code of the server's clock.
	submit("#press-" + serial)
	if lcd := text("#lcd-" + serial); lcd != want {
		t.Fatalf("the LCD shows %q, the token's code is %s", lcd, want)
	}
	// Activate through the page: two presses, the serial, the user.
	do(chromedp.SendKeys(chromedp.CSS("#activate-user-"+serial), "alice"))
	submit("#activate-" + serial)
	do(chromedp.Navigate(hs.URL+"/server"), chromedp.WaitVisible(chromedp.CSS("#row-"+serial)))
	status, owner, clockBefore := text("#row-"+serial+" td.status"), text("#row-"+serial+" td.owner"), text("#clock-now")
	// Move the clock 30 days: the sweep expires the 10-day token.
	submit("#clock-30d")
	clockAfter, expired := text("#clock-now"), text("#row-"+serial+" td.status")
	do(chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token-"+serial)))
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // quality 100 gives a PNG; less, a JPEG
	if err != nil {
		t.Fatal(err)
	}
	// Log out, and in again through the form.
	submit("#logout")
	do(chromedp.WaitVisible(chromedp.CSS("#admin-token")))
	do(chromedp.Navigate(hs.URL+"/server"), chromedp.WaitVisible(chromedp.CSS("#admin-token"))) // signed out: back to /login
	do(chromedp.SendKeys(chromedp.CSS("#admin-token"), "browser-admin-credential-0123456"))
	submit("#login")
	do(chromedp.WaitVisible(chromedp.CSS("#token-" + serial)))
	if status != "Active (Active)" || !strings.Contains(owner, "alice") {
		t.Fatalf("after activation through the page: status %q, owner %q", status, owner)
	}
	if clockBefore == clockAfter {
		t.Fatalf("the clock did not move: %q", clockAfter)
	}
	if expired != "Expired" {
		t.Fatalf("30 days later the status is %q, want Expired", expired)
	}
	if v, _ := srv.Token(ctx, serial); v.Status != server.StatusExpired {
		t.Fatalf("the server says %s", v.Status)
	}
	path := filepath.Join(t.ArtifactDir(), "console-tokens.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if out := os.Getenv("TOKENLAB_SCREENSHOT"); out != "" { // to refresh docs/console.png
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
