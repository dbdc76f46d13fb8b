package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/conformance"
	"github.com/tokenlab/tokenlab/scenarios/peers"
	"github.com/tokenlab/tokenlab/scenarios/probe"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
)

var write = flag.String("write", "", "measure and write the report to this file (make conformance), instead of checking the committed docs/conformance.md")

// committedReport is the report a plain run checks, from this package's
// directory.
const committedReport = "../../docs/conformance.md"

// What differs from run to run, and so is neither checked nor a reason to
// rewrite the report: latency (the machine's load), and the notes that
// count requests (a measurement on a real clock is made again, with more
// requests, when the step changed while it ran).
var (
	volatileRows  = []string{"latency_ms"}
	volatileNotes = []string{"latency_ms", "response_signed", "probe"}
)

// The pam_oath peer's settings, stated in its column: a window other than
// the module's default 5, so that the row shows the window= it was given.
const (
	oathWindow = 3
	oathDigits = 8
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// TestConformance starts FreeRADIUS + pam_oath, FreeRADIUS +
// google-authenticator and tokenlab serve --radius, probes each, and writes
// the report (-write FILE) or checks that the committed one still says
// what they do.
func TestConformance(t *testing.T) {
	var committed conformance.Table
	if *write == "" {
		b, err := os.ReadFile(committedReport)
		if err != nil {
			t.Fatalf("%v: write it with 'make conformance'", err)
		}
		if committed, err = conformance.Parse(string(b)); err != nil {
			t.Fatalf("%s: %v", committedReport, err)
		}
	}
	requirePeers(t)
	began := time.Now()
	bin := buildTokenlab(t)
	t.Logf("built tokenlab in %v", time.Since(began).Round(time.Millisecond))
	oath := peers.StartFreeRADIUSOath(t, peers.Config{Window: oathWindow, Digits: oathDigits})
	ga := peers.StartFreeRADIUSGoogleAuth(t, peers.Config{})
	tl := startTokenlab(t, bin)
	t.Setenv("TOKENLAB_ADMIN_TOKEN", tl.adminToken)
	oathOptions, gaOptions := pamOptions(t, oath), googleAuthOptions(t, ga)

	targets := []struct{ radius, provision string }{
		{oath.RADIUS, oath.Provisioner},
		{ga.RADIUS, ga.Provisioner},
		{tl.radius, "tokenlab+" + tl.url},
	}
	// The three run at once: each server is its own process with its own
	// users, and what they could disturb in one another — latency, the
	// real-clock measurements' step changes, which are made again — is not
	// checked.
	reports := make([]probe.Report, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	began = time.Now()
	for i, tg := range targets {
		wg.Go(func() { reports[i], errs[i] = probeOnce(tg.radius, tg.provision) })
	}
	wg.Wait()
	t.Logf("probed the three servers in %v", time.Since(began).Round(time.Millisecond))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	versions := debianVersions(t)
	fr := "FreeRADIUS " + versions["freeradius"].upstream
	doc := conformance.Document{
		Title: "Conformance: what RADIUS OTP servers do",
		Columns: []conformance.Column{
			{Name: fmt.Sprintf("%s + pam_oath %s (%s)", fr, versions["libpam-oath"].upstream, oathOptions),
				Short: "FreeRADIUS + pam_oath", Report: reports[0]},
			{Name: fmt.Sprintf("%s + pam_google_authenticator %s (%s)", fr, versions["libpam-google-authenticator"].upstream, gaOptions),
				Short: "FreeRADIUS + pam_google_authenticator", Report: reports[1]},
			{Name: "tokenlab serve --radius --virtual-clock (default policy)",
				Short: "tokenlab serve --radius", Report: reports[2]},
		},
	}
	doc.Intro = []string{
		fmt.Sprintf("Measured by `tokenlab probe` on %s, on %s. `make conformance` measures again and rewrites this file; "+
			"`make test` measures again and fails when a row, or what a server answered, differs from what is written here "+
			"(latency and the counts of requests excepted): this is what these servers do.", time.Now().UTC().Format("2006-01-02"), machine()),
		fmt.Sprintf("FreeRADIUS and the PAM modules are the Debian packages (%s), each FreeRADIUS started for the run by "+
			"`scenarios/peers` with a private configuration directory, listening on a free loopback UDP port, every "+
			"Access-Request (PAP) handed through rlm_pam to a PAM service of its own, written to `/etc/pam.d` for the run and "+
			"removed after. pam_oath reads a liboath users file, pam_google_authenticator one file per user, written the way "+
			"`google-authenticator` writes them when its questions are answered as it recommends; users are added by the "+
			"`oath-usersfile` and `google-authenticator` provisioners and log in on the machine's real clock. tokenlab is this "+
			"repository's `tokenlab serve --radius --virtual-clock` with its default policy, users made through its API "+
			"(`tokenlab+http`), on a virtual clock the probe moves.", versions.list()),
	}
	doc.Outro = []string{
		"`scenarios/probe`'s package documentation says how each property is measured in full, and how a real clock is " +
			"handled: an attempt during which the step changed is made again with new users, and what needs time to pass " +
			"(a lock that expires) is not tried.",
		"Probe a server of your own the same way: `tokenlab probe radius://SECRET@HOST:PORT --provision P --markdown`, " +
			"where P is how users are made on it (`oath-usersfile:PATH`, `google-authenticator:DIR`, `pskc:FILE`, " +
			"`tokenlab+http://HOST:PORT`); add `--expect fixtures/probe/strict.json` to check it against a security team's " +
			"profile (exit status 1 names each property that differs).",
	}
	var md bytes.Buffer
	if err := conformance.Write(&md, doc); err != nil {
		t.Fatal(err)
	}
	if *write != "" {
		if err := os.WriteFile(*write, md.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var table []string
		for line := range strings.Lines(md.String()) {
			if strings.HasPrefix(line, "|") {
				table = append(table, strings.TrimSuffix(line, "\n"))
			}
		}
		t.Logf("wrote %s:\n%s", *write, strings.Join(table, "\n"))
		return
	}
	measured, err := conformance.Parse(md.String())
	if err != nil {
		t.Fatalf("the report this run wrote: %v\n%s", err, md.String())
	}
	diffs := conformance.Diff(committed, measured, volatileRows, volatileNotes)
	if len(diffs) == 0 {
		for i, c := range measured.Columns {
			if c != committed.Columns[i] {
				t.Logf("as committed, though measured on %q (committed: %q)", c, committed.Columns[i])
			}
		}
		return
	}
	var headers strings.Builder
	for i, c := range measured.Columns {
		if c != committed.Columns[i] {
			fmt.Fprintf(&headers, "\ncommitted for %q, measured on %q", committed.Columns[i], c)
		}
	}
	t.Errorf("%s no longer says what these servers do (if they changed, run 'make conformance' and commit it):\n%s%s\n\nthis run's report:\n%s",
		committedReport, strings.Join(diffs, "\n"), headers.String(), md.String())
}

// probeOnce probes one server with the probe's defaults, as `tokenlab
// probe` does.
func probeOnce(target, spec string) (probe.Report, error) {
	ctx := context.Background()
	rc, err := radclient.Parse(target)
	if err != nil {
		return probe.Report{}, err
	}
	prov, err := provision.Open(ctx, spec, nil)
	if err != nil {
		return probe.Report{}, err
	}
	defer prov.Close()
	return probe.Run(ctx, probe.Target{RADIUS: rc, Provisioner: prov}, probe.Options{})
}

// TestStrictProfile: the real `tokenlab probe` with the strict profile a
// security team would require exits 1 against FreeRADIUS + pam_oath,
// naming what pam_oath and FreeRADIUS lack, and 0 against tokenlab's
// RADIUS front.
func TestStrictProfile(t *testing.T) {
	requirePeers(t)
	profile, err := filepath.Abs("../../fixtures/probe/strict.json")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildTokenlab(t)
	oath := peers.StartFreeRADIUSOath(t, peers.Config{Window: oathWindow, Digits: oathDigits})
	tl := startTokenlab(t, bin)

	code, out, errOut := runProbe(t, bin, nil, oath.RADIUS, "--provision", oath.Provisioner, "--expect", profile)
	if code != 1 {
		t.Fatalf("FreeRADIUS + pam_oath against the strict profile: exit %d, want 1\n%s\n%s", code, errOut, out)
	}
	// What pam_oath (no lockout; a window of the window= it was given) and
	// FreeRADIUS (answers unsigned requests and signs no answer) lack …
	for _, want := range []string{
		"window.ahead: want at most 1, measured 3",
		"lockout_threshold: want at most 10, measured null",
		"requires_message_authenticator: want true, measured false",
		"response_signed: want true, measured false",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the differences lack %q:\n%s", want, errOut)
		}
	}
	// … and only that: replays and older codes are refused.
	for _, as := range []string{"replay_refused", "older_code_refused"} {
		if strings.Contains(errOut, as) {
			t.Errorf("%s, as required, is named: %s", as, errOut)
		}
	}

	env := []string{"TOKENLAB_ADMIN_TOKEN=" + tl.adminToken}
	code, out, errOut = runProbe(t, bin, env, tl.radius, "--provision", "tokenlab+"+tl.url, "--expect", profile)
	if code != 0 {
		t.Fatalf("tokenlab serve --radius against the strict profile: exit %d, want 0\n%s\n%s", code, errOut, out)
	}
	if want := "profile " + profile + ": as required (window, replay_refused, older_code_refused, lockout_threshold, requires_message_authenticator, response_signed)"; !strings.Contains(out, want) {
		t.Errorf("no verdict %q:\n%s", want, out)
	}
}

// runProbe runs `tokenlab probe TARGET ARGS…` and returns its exit status
// and output.
func runProbe(t *testing.T, bin string, env []string, target string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"probe", target}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	}
	t.Fatalf("running %s probe: %v", bin, err)
	return 0, "", ""
}

// requirePeers skips the test, or fails it when CI=true, unless both
// FreeRADIUS peers can run here; writing the report fails without them,
// since a report with a column missing is not the report.
func requirePeers(t *testing.T) {
	t.Helper()
	for _, s := range []peers.System{peers.PAMOath, peers.GoogleAuthenticator} {
		if *write != "" {
			if err := peers.Available(s); err != nil {
				t.Fatalf("writing the report needs every peer: %v", err)
			}
		}
		peers.Require(t, s)
	}
}

// The tokenlab binary the tests run: built once, removed by TestMain.
var (
	buildOnce          sync.Once
	builtDir, builtBin string
	buildOut           []byte
	buildErr           error
)

func buildTokenlab(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if builtDir, buildErr = os.MkdirTemp("", "tokenlab-conformance-bin-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "tokenlab")
		buildOut, buildErr = exec.Command("go", "build", "-o", builtBin, "github.com/tokenlab/tokenlab/cmd/tokenlab").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// tokenlabServe is a running tokenlab serve --radius --virtual-clock.
type tokenlabServe struct {
	url, adminToken string
	// radius is the target, radius://SECRET@HOST:PORT.
	radius string
}

// startTokenlab runs tokenlab serve --radius --virtual-clock on free
// loopback ports with temporary data, stopped when the test ends; its
// output is shown if the test failed.
func startTokenlab(t *testing.T, bin string) tokenlabServe {
	t.Helper()
	dir := t.TempDir()
	secret, admin := randomHex(t, 16), randomHex(t, 24)
	clients := filepath.Join(dir, "radius-clients")
	if err := os.WriteFile(clients, []byte("127.0.0.1/32 "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--store", filepath.Join(dir, "tokens.json"),
		"--virtual-clock", "--radius", "127.0.0.1:0", "--radius-clients", clients)
	// The credential in the environment, not the process list.
	cmd.Env = append(os.Environ(), "TOKENLAB_HOME="+dir, "TOKENLAB_ADMIN_TOKEN="+admin)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log strings.Builder
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("tokenlab serve's output:\n%s", log.String())
			mu.Unlock()
		}
	})
	patterns := []*regexp.Regexp{regexp.MustCompile(`listening on (https?://\S+)`), regexp.MustCompile(`RADIUS on udp (\S+)`)}
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		got, left := make([]string, len(patterns)), len(patterns)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			for i, re := range patterns {
				if m := re.FindStringSubmatch(sc.Text()); m != nil && got[i] == "" {
					got[i] = m[1]
					if left--; left == 0 {
						found <- got
					}
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case got := <-found:
		return tokenlabServe{url: got[0], adminToken: admin, radius: "radius://" + secret + "@" + got[1]}
	case <-time.After(30 * time.Second): // bounds a real process start, not a TOTP step
		t.Fatal("tokenlab serve --radius did not start listening")
	}
	return tokenlabServe{}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pamOptions are the options the peer gave pam_oath in its PAM service,
// as FreeRADIUS's PAM stack reads them (the users file left out: its path
// is the run's).
func pamOptions(t *testing.T, p *peers.Peer) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/etc/pam.d", p.PAMService))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		for i, w := range f {
			if w != "pam_oath.so" {
				continue
			}
			var opts []string
			for _, o := range f[i+1:] {
				if !strings.HasPrefix(o, "usersfile=") {
					opts = append(opts, o)
				}
			}
			if len(opts) == 0 {
				return "its defaults"
			}
			return strings.Join(opts, " ")
		}
	}
	t.Fatalf("no pam_oath.so in /etc/pam.d/%s:\n%s", p.PAMService, b)
	return ""
}

// googleAuthOptions are the options in the secret file of a new user of
// the peer, before any login (the module then appends the times of
// attempts and the steps used): RATE_LIMIT, WINDOW_SIZE, … (TOTP_AUTH, the
// kind, left out).
func googleAuthOptions(t *testing.T, p *peers.Peer) string {
	t.Helper()
	prov, err := provision.Open(context.Background(), p.Provisioner, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()
	u, err := prov.NewUser(context.Background(), provision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// secret=DIR/${USER}: the file is named after the user.
	b, err := os.ReadFile(filepath.Join(p.UsersFile, u.ID))
	if err != nil {
		t.Fatal(err)
	}
	var opts []string
	for line := range strings.Lines(string(b)) {
		if o, ok := strings.CutPrefix(strings.TrimSpace(line), `" `); ok && o != "TOTP_AUTH" {
			opts = append(opts, o)
		}
	}
	return strings.Join(opts, ", ")
}

// version is a Debian package's version and the upstream version in it.
type version struct{ full, upstream string }

type versions map[string]version

// debVersions reads the installed versions of the peers' packages, from
// dpkg; FreeRADIUS's from the server itself where dpkg does not know it.
func debianVersions(t *testing.T) versions {
	t.Helper()
	vs := versions{}
	for _, pkg := range []string{"freeradius", "libpam-oath", "libpam-google-authenticator"} {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
		if err != nil || len(out) == 0 {
			vs[pkg] = version{full: "not from dpkg", upstream: "(version unknown)"}
			continue
		}
		full := strings.TrimSpace(string(out))
		vs[pkg] = version{full: full, upstream: upstream(full)}
	}
	if vs["freeradius"].upstream == "(version unknown)" {
		out, _ := exec.Command("freeradius", "-v").CombinedOutput()
		if m := regexp.MustCompile(`FreeRADIUS Version (\S+?),`).FindSubmatch(out); m != nil {
			vs["freeradius"] = version{full: string(m[1]) + " (freeradius -v)", upstream: string(m[1])}
		}
	}
	return vs
}

func (vs versions) list() string {
	var s []string
	for _, pkg := range []string{"freeradius", "libpam-oath", "libpam-google-authenticator"} {
		s = append(s, pkg+" "+vs[pkg].full)
	}
	return strings.Join(s, ", ")
}

// upstream is the upstream part of a Debian version: no epoch, Debian
// revision or repack suffix ("3.2.1+dfsg-4+deb12u1" is 3.2.1).
func upstream(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	if i := strings.IndexAny(v, "+~"); i > 0 {
		v = v[:i]
	}
	return v
}

// machine says where the run was: the system, the processor and Go.
func machine() string {
	osName := runtime.GOOS
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if m := regexp.MustCompile(`(?m)^PRETTY_NAME="?([^"\n]+)"?`).FindSubmatch(b); m != nil {
			osName = string(m[1])
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		osName += ", Linux " + strings.TrimSpace(string(b))
	}
	cpu := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
			cpu = strings.Join(strings.Fields(string(m[1])), " ")
		}
	}
	return fmt.Sprintf("%s, %d × %s, %s", osName, runtime.NumCPU(), cpu, runtime.Version())
}
