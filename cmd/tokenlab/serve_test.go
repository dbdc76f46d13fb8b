package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// buildBinary builds tokenlab once for the tests that run the real binary.
// admin is the administrator the tests act as.
var admin = server.AsAdmin("test")

// The binary the tests that run a real process share: built once per run of
// the package (each build links some 30 MB), removed when the run ends (see
// TestMain).
var (
	buildOnce          sync.Once
	builtDir, builtBin string
	buildOut           []byte
	buildErr           error
)

func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if builtDir, buildErr = os.MkdirTemp("", "tokenlab-test-bin-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "tokenlab")
		buildOut, buildErr = exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// startServe runs tokenlab serve and returns its URL once it listens.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	found := startWatching(t, cmd, regexp.MustCompile(`listening on (https?://\S+)`))
	return cmd, found[0]
}

// startWatching starts cmd, stopped when the test ends, and waits until its
// standard error has matched every pattern; it returns each pattern's first
// group.
func startWatching(t *testing.T, cmd *exec.Cmd, patterns ...*regexp.Regexp) []string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		got, left := make([]string, len(patterns)), len(patterns)
		for sc.Scan() {
			for i, re := range patterns {
				if m := re.FindStringSubmatch(sc.Text()); m != nil && got[i] == "" {
					got[i] = m[1]
					left--
				}
			}
			if left == 0 {
				found <- got
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case got := <-found:
		return got
	case <-time.After(30 * time.Second): // bounds a real process start, not a TOTP step
		t.Fatalf("%s did not start listening", strings.Join(cmd.Args[:2], " "))
	}
	return nil
}

// TestRestartOfTheRealBinary: start, verify, SIGKILL, start again — the
// used code is refused and the counters are intact.
// activateRita imports a TOTP token with the RFC 6238 test secret as
// serial (through in), makes the account rita and sponsors the token to it,
// and activates it with the codes of the step before start and of start
// (through act, which may be another replica): it returns the token's code
// at a time.
func activateRita(ctx context.Context, t *testing.T, in, act *client.Client, serial string, start time.Time) func(time.Time) string {
	t.Helper()
	if _, err := in.ImportSeedFile(ctx, admin, []byte(serial+", 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := act.CreateAccount(ctx, admin, server.NewAccount{UserID: "rita", Email: "r@example.com", FirstName: "R", LastName: "S", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Sponsor(ctx, admin, server.Sponsorship{UserID: "rita", Serial: serial}); err != nil {
		t.Fatal(err)
	}
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	code := func(at time.Time) string { return gen.Code(uint64(at.Unix() / 30)) }
	if _, err := act.Activate(ctx, "rita", serial, code(start.Add(-30*time.Second)), code(start)); err != nil {
		t.Fatal(err)
	}
	return code
}

func TestRestartOfTheRealBinary(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	srv, url := startServe(t, bin, "--data", data, "--admin-token", "restart-admin-credential-0123", "--virtual-clock", "--clock-start", start.Format(time.RFC3339))
	c := client.New(url, "restart-admin-credential-0123")
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	code := activateRita(ctx, t, c, c, "R1", start)
	cs, err := c.AdvanceClock(ctx, "30s")
	if err != nil {
		t.Fatal(err)
	}
	used := code(cs.Now)
	if _, err := c.Verify(ctx, "rita", used); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Verify(ctx, "rita", "00000000"); !errors.Is(err, server.ErrOTPInvalid) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	before, err := c.Token(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()

	_, url = startServe(t, bin, "--data", data, "--admin-token", "restart-admin-credential-0123", "--virtual-clock", "--clock-start", cs.Now.Format(time.RFC3339Nano))
	c = client.New(url, "restart-admin-credential-0123")
	after, err := c.Token(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	if *after.LastStep != *before.LastStep || after.FailCount != 2 || after.DriftSteps != before.DriftSteps || after.Status != server.StatusActive {
		t.Fatalf("after SIGKILL and restart: %+v, before %+v", after, before)
	}
	if _, err := c.Verify(ctx, "rita", used); !errors.Is(err, server.ErrOTPReplayed) {
		t.Fatalf("the used code after a restart: %v", err)
	}
	// The seed key and administrator credential files are private.
	for _, f := range []string{server.SeedKeyFile, sqlitestore.FileName} {
		if fi, err := os.Stat(filepath.Join(data, f)); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v %v", f, fi.Mode(), err)
		}
	}
}

// TestGeneratedAdminTokenIsPrintedOnce: without a credential, serve makes
// one, saves it 0600 and prints it only the first time.
func TestGeneratedAdminTokenIsPrintedOnce(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "")
	tok, generated, err := loadAdminToken("", dir)
	if err != nil || !generated || len(tok) != 48 {
		t.Fatalf("%q %v %v", tok, generated, err)
	}
	again, generated, err := loadAdminToken("", dir)
	if err != nil || generated || again != tok {
		t.Fatalf("second start: %q %v %v", again, generated, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, AdminTokenFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "from-env")
	if tok, _, _ := loadAdminToken("", dir); tok != "from-env" {
		t.Fatal("the environment does not win over the file")
	}
	if tok, _, _ := loadAdminToken("from-flag", dir); tok != "from-flag" {
		t.Fatal("the flag does not win")
	}
}

// TestRemoteVerbs drives an in-process server through the CLI verbs, with
// --press taking codes from the local token store at the server's clock.
func TestRemoteVerbs(t *testing.T) {
	srv, vclk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "cli-admin-credential-0123456789", VirtualClock: vclk}))
	defer hs.Close()
	t.Setenv("TOKENLAB_SERVER", hs.URL)
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "cli-admin-credential-0123456789")
	t.Setenv("TOKENLAB_HOME", t.TempDir())

	must := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		if code != want {
			t.Fatalf("tokenlab %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	must(0, "token", "new", "--serial", "CLI1")
	must(0, "token", "export", "--format", "csv")
	_, csv, _ := runCLI(t, "token", "export", "--format", "csv")
	ctx := context.Background()
	c := client.New(hs.URL, "cli-admin-credential-0123456789")
	if _, err := c.ImportSeedFile(ctx, admin, []byte(csv), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: "cli", Email: "c@example.com", FirstName: "C", LastName: "L", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: "cli", Serial: "CLI1"}); err != nil {
		t.Fatal(err)
	}
	if out := must(0, "activate", "--user", "cli", "--serial", "CLI1", "--press"); !strings.Contains(out, "activated CLI1: Active (Active)") {
		t.Fatal(out)
	}
	must(0, "clock", "advance", "30s")
	if out := must(0, "verify", "--user", "cli", "--press"); !strings.Contains(out, "accepted") {
		t.Fatal(out)
	}
	if out := must(1, "verify", "--user", "cli", "--press"); !strings.Contains(out, "tokenlab: otp_replayed: ") {
		t.Fatal(out)
	}
	for range 5 {
		must(1, "verify", "--user", "cli", "--otp", "00000000")
	}
	if out := must(0, "status", "CLI1"); !strings.Contains(out, "Active (Locked)") {
		t.Fatal(out)
	}
	must(0, "clock", "advance", "1m")
	if out := must(0, "resync", "CLI1", "--press"); !strings.Contains(out, "resynchronised CLI1: Active (Active)") {
		t.Fatal(out)
	}
	must(0, "suspend", "CLI1", "--by", "admin")
	if out := must(1, "enable", "CLI1"); !strings.Contains(out, "forbidden") {
		t.Fatal(out)
	}
	must(0, "enable", "CLI1", "--by", "admin")
	if out := must(0, "clock", "advance", "400d"); !strings.Contains(out, "1 expired") {
		t.Fatal(out)
	}
	must(0, "renew", "CLI1")
	must(0, "revoke", "CLI1", "--by", "user")
	if out := must(0, "status", "CLI1", "--json"); !strings.Contains(out, `"status": "revoked"`) {
		t.Fatal(out)
	}
	if out := must(0, "notifications", "--user", "cli"); !strings.Contains(out, "temporary_password") {
		t.Fatal(out)
	}
	must(2, "verify", "--user", "cli")
	must(2, "verify", "--user", "cli", "--otp", "1", "--press")
	must(2, "resync", "CLI1", "--press", "--by", "king")
	must(2, "clock", "forward")
	if out := must(0, "token", "press", "CLI1", "--server-clock", "--json"); !strings.Contains(out, `"pressed_at": "2027-12-28T09:`) {
		t.Fatal(out)
	}
}

// TestScenariosAgainstARealServer is the QA workflow: tokenlab serve
// --virtual-clock in one process, tokenlab scenarios --target in another,
// with a JUnit report.
func TestScenariosAgainstARealServer(t *testing.T) {
	bin := buildBinary(t)
	_, url := startServe(t, bin, "--data", t.TempDir(), "--admin-token", "qa-admin-credential-0123456789", "--virtual-clock")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	cmd := exec.Command(bin, "scenarios", "--target", url, "--admin-token", "qa-admin-credential-0123456789", "--junit-report", junit)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tokenlab scenarios: %v\n%s", err, out)
	}
	report, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<testsuite name="tokenlab scenarios"[^>]* tests="(\d+)"[^>]* skipped="(\d+)"[^>]* failures="(\d+)"`).FindSubmatch(report)
	if m == nil {
		t.Fatalf("no testsuite in the JUnit report:\n%.500s", report)
	}
	if tests, failures := atoi(m[1]), atoi(m[3]); tests < 40 || failures != 0 {
		t.Fatalf("JUnit: %s tests, %s skipped, %s failures", m[1], m[2], m[3])
	}
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestBenchCommand runs tokenlab bench --json briefly against an in-process
// server with a virtual clock: every ratio is there and the load test's
// answers were all checked.
func TestBenchCommand(t *testing.T) {
	srv, vclk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "bench-admin-credential-01234567", VirtualClock: vclk}))
	defer hs.Close()
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "bench-admin-credential-01234567")
	code, out, errOut := runCLI(t, "bench", "--server", hs.URL, "--duration", "500ms", "--tokens", "10", "--concurrency", "4", "--benchtime", "20ms", "--json")
	if code != 0 {
		t.Fatalf("bench: %d %s", code, errOut)
	}
	var got struct {
		Ratios map[string]float64 `json:"ratios"`
		Load   struct {
			Concurrency     int     `json:"concurrency"`
			Tokens          int     `json:"tokens"`
			Verifications   int     `json:"verifications"`
			VerificationsPS float64 `json:"verifications_per_s"`
			P50ms, P99ms    float64
		} `json:"load"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []string{"code_vs_pquerna", "verify_accept_center_vs_pquerna", "verify_accept_edge_vs_pquerna", "verify_reject_vs_pquerna", "resync_worst_case_vs_pquerna"}
	if _, err := exec.LookPath("oathtool"); err == nil || os.Getenv("CI") == "true" {
		want = append(want, "code_vs_oathtool")
	}
	for _, name := range want {
		if got.Ratios[name] <= 0 {
			t.Errorf("ratio %s missing: %v", name, got.Ratios)
		}
	}
	if got.Load.Verifications < 10 || got.Load.VerificationsPS <= 0 || got.Load.Concurrency != 4 || got.Load.Tokens != 10 {
		t.Fatalf("load %+v", got.Load)
	}
	if code, _, _ := runCLI(t, "bench", "--concurrency", "0"); code != 2 {
		t.Fatal("--concurrency 0 is not a usage error")
	}
}
