package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

const policyAdmin = "policy-admin-credential-0123456"

// policyStart is where the virtual clock of these tests starts.
var policyStart = time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)

// writePolicy writes a policy file and returns its path.
func writePolicy(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// servePolicy starts the real binary with a virtual clock and the given
// extra arguments, and returns a client of it.
func servePolicy(t *testing.T, args ...string) (*client.Client, string) {
	t.Helper()
	_, url := startServe(t, buildBinary(t), append([]string{"--data", t.TempDir(), "--admin-token", policyAdmin,
		"--virtual-clock", "--clock-start", policyStart.Format(time.RFC3339)}, args...)...)
	return client.New(url, policyAdmin), url
}

// activeUser imports a token, sponsors it to a new user and activates it;
// it returns the code of the token at a time.
func activeUser(t *testing.T, c *client.Client, user, serial string) (server.TokenView, func(time.Time) string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.ImportSeedFile(ctx, admin, []byte(serial+", 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: user, Email: user + "@example.com", FirstName: "P", LastName: "Q", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: user, Serial: serial}); err != nil {
		t.Fatal(err)
	}
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	code := func(at time.Time) string { return gen.Code(uint64(at.Unix() / 30)) }
	v, err := c.Activate(ctx, user, serial, code(policyStart.Add(-30*time.Second)), code(policyStart))
	if err != nil {
		t.Fatal(err)
	}
	return v, code
}

// TestPolicyFileLocksOnTheThirdWrongCode: serve --policy with
// {"lockout_threshold": 3} locks a token on its third wrong code over HTTP,
// where the default policy takes five.
func TestPolicyFileLocksOnTheThirdWrongCode(t *testing.T) {
	c, _ := servePolicy(t, "--policy", writePolicy(t, `{"lockout_threshold": 3}`))
	ctx := context.Background()
	if p, err := c.Policy(ctx); err != nil || p.LockoutThreshold != 3 || p.LockoutBudget != 20 {
		t.Fatalf("GET /v1/policy: %+v, %v; want lockout_threshold 3 and the defaults for the rest", p, err)
	}
	_, code := activeUser(t, c, "lou", "LOCK3")
	for i := 1; i <= 3; i++ {
		if _, err := c.Verify(ctx, "lou", "00000000"); !errors.Is(err, server.ErrOTPInvalid) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
		v, err := c.Token(ctx, "LOCK3")
		if err != nil {
			t.Fatal(err)
		}
		if locked := v.SubStatus == "locked"; locked != (i == 3) {
			t.Fatalf("after %d wrong codes: %s", i, v.StatusDisplay)
		}
	}
	cs, err := c.AdvanceClock(ctx, "30s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx, "lou", code(cs.Now)); !errors.Is(err, server.ErrTokenLocked) {
		t.Fatalf("the right code on a locked token: %v", err)
	}
}

// TestPolicyFileMistakesStopServe: a policy file serve cannot use stops it
// with exit status 2 and a message naming the key, before it creates
// anything.
func TestPolicyFileMistakesStopServe(t *testing.T) {
	bin := buildBinary(t)
	for _, c := range []struct {
		name, doc string
		want      []string
	}{
		{"misspelt", `{"lockout_treshold": 3}`, []string{"lockout_treshold is not a policy setting: did you mean lockout_threshold?"}},
		{"wrong type", `{"lockout_threshold": "3"}`, []string{`lockout_threshold: want a whole number, not "3"`}},
		{"zero", `{"lockout_threshold": 0}`, []string{"lockout_threshold is 0: give 1 to 1000000"}},
		{"negative window", `{"login_window": -1}`, []string{"login_window is -1"}},
		{"twice", `{"lockout_threshold": 3, "lockout_threshold": 4}`, []string{`key "lockout_threshold" appears twice`}},
		{"contradiction", `{"sync_window": 5, "login_window": 6, "max_login_window": 6}`, []string{"login_window (6) is wider than sync_window (5)"}},
		{"two mistakes", `{"max_phones": -1, "approval_required": "yes"}`, []string{"max_phones is -1", "approval_required: want true or false"}},
		{"not JSON", "lockout_threshold: 3\n", []string{"--policy ", "line 1, column 1"}},
		{"no file", "", []string{"--policy: open ", "no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.json")
			if c.doc != "" {
				path = writePolicy(t, c.doc)
			}
			data := filepath.Join(t.TempDir(), "data")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds a real process, not a TOTP step
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--admin-token", policyAdmin, "--policy", path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("serve --policy %s: %v, want exit status 2\n%s", c.doc, err, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "tokenlab: --policy") {
				t.Errorf("want one line that starts with the flag, got:\n%s", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr does not say %q:\n%s", w, msg)
				}
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused policy created the data directory: %v", err)
			}
		})
	}
}

// TestPolicyFileRoundTrip: the document GET /v1/policy prints, saved and
// given back to serve, is printed back byte for byte — every key set from
// the file — and a policy flag given on the command line overrides the
// file.
func TestPolicyFileRoundTrip(t *testing.T) {
	p := server.DefaultPolicy()
	p.OperatorName, p.PortalName = "Acme", "Gate"
	p.SyncWindow, p.LoginWindow, p.DriftTracking, p.MaxDriftPPM, p.MaxLoginWindow, p.HOTPLookAhead = 500, 2, server.DriftRate, 7.5, 4, 20
	p.LockoutThreshold, p.LockoutBudget, p.LockoutBudgetWindow = 3, 12, 36*time.Hour
	p.ActivationAttempts, p.ResyncAttempts = 4, 6
	p.Validity, p.ExpiryReminder, p.SuspendedRevokeAfter, p.ExpiredRevokeAfter = 730*24*time.Hour, 2400*time.Minute, 45*24*time.Hour, 59*24*time.Hour
	p.RevocationReminders = []time.Duration{20 * 24 * time.Hour, 10 * 24 * time.Hour, 12 * time.Hour}
	p.ApprovalRequired, p.MaxPhones, p.PhoneCodeValidity = true, 5, 90*time.Second+time.Millisecond
	p.PhoneCodeAttempts, p.PhoneCodeSends, p.PhoneCodeSendWindow = 4, 8, 20*time.Minute
	p.PhoneValidity, p.PhoneRenewalWindow, p.PhoneChangeWithoutOTP = 90*24*time.Hour, 30*24*time.Hour, true
	p.SessionIdleTimeout, p.SessionMaxLifetime = 30*time.Minute, 8*time.Hour
	p.AllowShortSecrets, p.AuditRetention, p.AuditMaxEntries = true, -24*time.Hour, 5000
	p.NoNextCodeChallenge, p.RadiusPasswordAndCode = true, true
	p.PasswordMinLength = 12
	var file bytes.Buffer
	enc := json.NewEncoder(&file) // as GET /v1/policy writes it
	enc.SetIndent("", "  ")
	if err := enc.Encode(p.Document()); err != nil {
		t.Fatal(err)
	}
	def, _ := json.Marshal(server.DefaultPolicy().Document())
	var defaults map[string]any
	json.Unmarshal(def, &defaults)
	var changed map[string]any
	json.Unmarshal(file.Bytes(), &changed)
	for k, v := range defaults {
		if b1, _ := json.Marshal(v); bytes.Equal(b1, mustJSON(t, changed[k])) {
			t.Fatalf("%s is its default in the test's file: every key must be set from it", k)
		}
	}

	path := writePolicy(t, file.String())
	_, url := servePolicy(t, "--policy", path)
	if got := getPolicy(t, url); got != file.String() {
		t.Fatalf("GET /v1/policy after serve --policy:\n%s\nthe file:\n%s", got, file.String())
	}

	// The flags given override the file; those not given do not.
	_, url = servePolicy(t, "--policy", path, "--drift-tracking", "fixed", "--no-next-code-challenge=false")
	var got map[string]any
	if err := json.Unmarshal([]byte(getPolicy(t, url)), &got); err != nil {
		t.Fatal(err)
	}
	if got["drift_tracking"] != "fixed" || got["no_next_code_challenge"] != false || got["radius_password_and_code"] != true || got["lockout_threshold"] != 3.0 {
		t.Fatalf("--drift-tracking fixed --no-next-code-challenge=false over the file: %v", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// getPolicy is GET /v1/policy's body, as curl saves it.
func getPolicy(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/policy", nil)
	req.Header.Set("Authorization", "Bearer "+policyAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/policy: %s %v\n%s", resp.Status, err, b)
	}
	return string(b)
}

// TestPolicyFileApprovalRequired: with approval_required from the file,
// Pending Approval and its message are reachable over HTTP.
func TestPolicyFileApprovalRequired(t *testing.T) {
	c, _ := servePolicy(t, "--policy", writePolicy(t, `{"approval_required": true, "portal_name": "Gate"}`))
	ctx := context.Background()
	v, code := activeUser(t, c, "ann", "APPR1")
	if v.Status != server.StatusPendingApproval {
		t.Fatalf("activated with approval required: %s", v.Status)
	}
	cs, err := c.AdvanceClock(ctx, "30s")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Verify(ctx, "ann", code(cs.Now))
	var e *server.Error
	if !errors.As(err, &e) || e.Code != server.CodeTokenUnusable ||
		e.Message != "You cannot use your token to log into Gate at this time. Follow the link below to log in without a One-Time Password Token." {
		t.Fatalf("a login with a token pending approval: %v", err)
	}
	if _, err := c.Approve(ctx, admin, "APPR1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx, "ann", code(cs.Now)); err != nil {
		t.Fatalf("after the approval: %v", err)
	}
}

// TestPolicyScenariosFollowThePolicyFile runs the scenario suites' policy
// specs against serve --policy with a lockout threshold of 3 and a login
// window of 2: they read the rules from the server, so they pass, and a
// server that ignored the file (5 and 1) would fail them.
func TestPolicyScenariosFollowThePolicyFile(t *testing.T) {
	bin := buildBinary(t)
	file := writePolicy(t, `{"lockout_threshold": 3, "login_window": 2}`)
	_, url := startServe(t, bin, "--data", t.TempDir(), "--admin-token", policyAdmin, "--virtual-clock", "--policy", file)
	if got := getPolicy(t, url); !regexp.MustCompile(`"lockout_threshold":\s*3,`).MatchString(got) || !regexp.MustCompile(`"login_window":\s*2,`).MatchString(got) {
		t.Fatalf("the server's policy: %s", got)
	}
	cmd := exec.Command(bin, "scenarios", "--target", url, "--admin-token", policyAdmin, "--label-filter", "policy", "-v")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tokenlab scenarios --label-filter policy: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`Ran 2 of \d+ Specs`).Match(out) {
		t.Fatalf("want the two policy specs run:\n%s", out)
	}
}
