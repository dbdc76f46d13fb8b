package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// serveRadius starts tokenlab serve --radius, with a virtual clock or the
// real one, and returns its API URL and RADIUS address.
func serveRadius(t *testing.T, bin string, virtual bool) (url, addr string) {
	t.Helper()
	dir := t.TempDir()
	clients := filepath.Join(dir, "clients")
	if err := os.WriteFile(clients, []byte("127.0.0.1/32 "+radiusSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--admin-token", radiusAdminToken,
		"--radius", "127.0.0.1:0", "--radius-clients", clients, "--store", filepath.Join(dir, "tokens.json")}
	if virtual {
		args = append(args, "--virtual-clock")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TOKENLAB_HOME="+dir)
	found := startWatching(t, cmd, regexp.MustCompile(`listening on (https?://\S+)`), regexp.MustCompile(`RADIUS on udp (\S+)`))
	return found[0], found[1]
}

// junitCounts reads the suite's tests, skipped and failures from a JUnit
// report.
func junitCounts(t *testing.T, report []byte) (tests, skipped, failures int) {
	t.Helper()
	m := regexp.MustCompile(`<testsuite name="tokenlab scenarios"[^>]* tests="(\d+)"[^>]* skipped="(\d+)"[^>]* failures="(\d+)"`).FindSubmatch(report)
	if m == nil {
		t.Fatalf("no testsuite in the JUnit report:\n%.500s", report)
	}
	return atoi(m[1]), atoi(m[2]), atoi(m[3])
}

// TestScenariosOverRadius: tokenlab scenarios --target radius://… with
// tokenlab serve's own API as the provisioner. With a virtual clock every
// spec runs, its codes checked over RADIUS; with a real clock the specs
// that move the clock are skipped, and the reason is in the console output
// and the JUnit report.
func TestScenariosOverRadius(t *testing.T) {
	bin := buildBinary(t)
	scenarios := func(url, addr, junit string, extra ...string) (string, error) {
		args := append([]string{"scenarios", "--target", "radius://" + radiusSecret + "@" + addr, "--provision", "tokenlab+" + url,
			"--admin-token", radiusAdminToken, "--junit-report", junit}, extra...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}

	url, addr := serveRadius(t, bin, true)
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, err := scenarios(url, addr, junit)
	if err != nil {
		t.Fatalf("tokenlab scenarios over RADIUS: %v\n%s", err, out)
	}
	report, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if tests, skipped, failures := junitCounts(t, report); tests < 90 || skipped != 0 || failures != 0 {
		t.Fatalf("a virtual clock over RADIUS: %d tests, %d skipped, %d failures: every spec should run", tests, skipped, failures)
	}

	url, addr = serveRadius(t, bin, false)
	junit = filepath.Join(t.TempDir(), "junit.xml")
	out, err = scenarios(url, addr, junit, "--label-filter", "expiry || lockout")
	if err != nil {
		t.Fatalf("tokenlab scenarios over RADIUS, real clock: %v\n%s", err, out)
	}
	report, err = os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	tests, skipped, failures := junitCounts(t, report)
	if skipped < 5 || tests-skipped < 3 || failures != 0 {
		t.Fatalf("a real clock over RADIUS: %d tests, %d skipped, %d failures: the expiry specs skip, the lockout table runs", tests, skipped, failures)
	}
	reason := "radius target radius://…@" + addr + " with provisioner tokenlab+http: no clock role — its clock is real"
	if !strings.Contains(string(report), `<skipped message="skipped - `+reason) {
		t.Errorf("the JUnit report does not give the skip reason %q:\n%.2000s", reason, report)
	}
	if !strings.Contains(out, reason) {
		t.Errorf("the console output does not give the skip reason %q:\n%.3000s", reason, out)
	}
	if strings.Contains(out+string(report), radiusSecret) {
		t.Error("the shared secret is in the output or the report")
	}
}

// TestScenariosRadiusNeedsAProvisioner: RADIUS cannot create tokens, so a
// RADIUS target without --provision is an error that says what to give,
// and --provision belongs to a RADIUS target.
func TestScenariosRadiusNeedsAProvisioner(t *testing.T) {
	code, _, stderr := runCLI(t, "scenarios", "--target", "radius://"+radiusSecret+"@127.0.0.1:1812")
	if code == 0 || !strings.Contains(stderr, "needs --provision") || strings.Contains(stderr, radiusSecret) {
		t.Fatalf("radius without a provisioner: %d %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "scenarios", "--target", "http://127.0.0.1:1", "--provision", "oath-usersfile:/nonexistent")
	if code == 0 || !strings.Contains(stderr, "--provision is for a RADIUS target") {
		t.Fatalf("a provisioner without radius: %d %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "scenarios", "--target", "radius://127.0.0.1:1812", "--provision", "tokenlab+http://127.0.0.1:1")
	if code == 0 || !strings.Contains(stderr, "radius://SECRET@HOST:PORT") {
		t.Fatalf("a radius target without a secret: %d %s", code, stderr)
	}
}
