package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveOutput runs tokenlab serve until it prints the web console's link,
// checks that the link signs a browser in once, stops the server and
// returns what it printed.
func serveOutput(t *testing.T, bin, home string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--virtual-clock"}, args...)...)
	cmd.Env = []string{"TOKENLAB_HOME=" + home}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENLAB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// One reader of stderr to its end: the link when it comes, then all of it.
	found, all := make(chan string, 1), make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(errPipe)
		re := regexp.MustCompile(`^web console: (\S+)`)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		all <- b.String()
	}()
	var link string
	select {
	case link = <-found:
	case errOut := <-all:
		cmd.Wait()
		t.Fatalf("tokenlab serve stopped without a web console link:\n%s", errOut)
	case <-time.After(30 * time.Second): // bounds a real process start, not a TOTP step
		t.Fatal("tokenlab serve printed no web console link")
	}
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/login\?nonce=[0-9a-f]{64}$`).MatchString(link) {
		t.Fatalf("web console link %q, want http://ADDR/login?nonce=N", link)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
		resp, err := c.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusSeeOther) != (len(resp.Cookies()) == 1) {
			t.Fatalf("the printed link, use %d: %d, cookies %v; want %d", i+1, resp.StatusCode, resp.Cookies(), want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errOut := <-all
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tokenlab serve after SIGTERM: %v\n%s", err, errOut)
	}
	return out.String(), errOut
}

// TestServePrintsNoGivenCredential: a credential passed with --admin-token
// (or saved by an earlier start) appears nowhere in what serve prints, with
// or without --demo; only a credential just generated is printed. The
// console link carries a single-use nonce instead (issue 14, item 5).
func TestServePrintsNoGivenCredential(t *testing.T) {
	bin := buildBinary(t)
	const given = "given-admin-credential-4711"
	for _, demo := range [][]string{nil, {"--demo"}} {
		data := t.TempDir()
		stdout, stderr := serveOutput(t, bin, t.TempDir(), append([]string{"--data", data, "--admin-token", given}, demo...)...)
		if all := stdout + stderr; strings.Contains(all, given) {
			t.Fatalf("serve %v printed the --admin-token credential:\n%s", demo, all)
		}
		if demo != nil && !strings.Contains(stdout, "/login?nonce=") {
			t.Fatalf("the demo's walkthrough has no login link:\n%s", stdout)
		}
		if _, err := os.Stat(filepath.Join(data, AdminTokenFile)); err == nil {
			t.Fatalf("a given credential was saved in %s", AdminTokenFile)
		}
	}

	// Generated: printed on the first start only, the demo's export with it.
	data, home := t.TempDir(), t.TempDir()
	stdout, stderr := serveOutput(t, bin, home, "--data", data, "--demo")
	saved, err := os.ReadFile(filepath.Join(data, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	generated := strings.TrimSpace(string(saved))
	if !strings.Contains(stderr, "administrator credential (saved in "+filepath.Join(data, AdminTokenFile)+"): "+generated) {
		t.Fatalf("the first start does not print the generated credential:\n%s", stderr)
	}
	if !strings.Contains(stdout, "TOKENLAB_ADMIN_TOKEN="+generated+" ") {
		t.Fatalf("the demo's export lacks the generated credential:\n%s", stdout)
	}
	stdout, stderr = serveOutput(t, bin, home, "--data", data, "--demo")
	if all := stdout + stderr; strings.Contains(all, generated) {
		t.Fatalf("a restart printed the saved credential:\n%s", all)
	}
	if want := "TOKENLAB_ADMIN_TOKEN=$(cat " + filepath.Join(data, AdminTokenFile) + ")"; !strings.Contains(stdout, want) {
		t.Fatalf("the demo's export after a restart lacks %q:\n%s", want, stdout)
	}
}
