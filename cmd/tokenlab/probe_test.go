package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeAgainstServe is issue 16's contract: tokenlab probe measures
// tokenlab serve --radius --virtual-clock as its default policy says, and
// --expect with a value it does not have exits 1 naming the property.
func TestProbeAgainstServe(t *testing.T) {
	rs := startRadiusServe(t, buildBinary(t))
	t.Setenv("TOKENLAB_ADMIN_TOKEN", radiusAdminToken)
	target := "radius://" + radiusSecret + "@" + rs.radius
	provision := "tokenlab+" + rs.url

	code, out, errOut := runCLI(t, "probe", target, "--provision", provision, "--json", "--no-answer-timeout", "500ms")
	if code != 0 {
		t.Fatalf("probe: exit %d: %s", code, errOut)
	}
	t.Logf("%s", out)
	var rep map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for key, want := range map[string]string{
		"window":                         `{"ahead":1,"behind":1}`,
		"replay_refused":                 `true`,
		"older_code_refused":             `true`,
		"lockout_threshold":              `5`,
		"unlocks_by":                     `["resync"]`,
		"learns_drift":                   `true`,
		"next_code_challenge":            `true`,
		"digits":                         `8`,
		"requires_message_authenticator": `true`,
		"response_signed":                `true`,
		"retransmission":                 `"cached"`,
		"provisioner":                    `"tokenlab+http"`,
		"target":                         `"radius://…@` + rs.radius + `"`,
	} {
		if got := compactJSON(t, rep[key]); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	if strings.Contains(out+errOut, radiusSecret) {
		t.Error("the report shows the shared secret")
	}

	// The secret from the environment, the target too; a profile that asks
	// for a lockout after 3 wrong codes and a window of 2 ahead: exit 1
	// naming both, and nothing else.
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	os.WriteFile(profile, []byte(`{"lockout_threshold": 3, "window": {"ahead": 2}, "replay_refused": true, "requires_message_authenticator": true}`), 0o600)
	t.Setenv("TOKENLAB_TARGET", "radius://"+rs.radius)
	t.Setenv("TOKENLAB_RADIUS_SECRET", radiusSecret)
	code, out, errOut = runCLI(t, "probe", "--provision", provision, "--markdown", "--expect", profile, "--no-answer-timeout", "500ms")
	if code != 1 {
		t.Fatalf("a profile the server does not match: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"lockout_threshold: want 3, measured 5", "window.ahead: want 2, measured 1"} {
		if !strings.Contains(errOut, want) || !strings.Contains(out, "- "+want) {
			t.Errorf("the differences lack %q:\nstderr: %s\nstdout: %s", want, errOut, out)
		}
	}
	if strings.Contains(errOut, "replay_refused") || strings.Contains(errOut, "requires_message_authenticator") {
		t.Errorf("a property as required is listed: %s", errOut)
	}
	if !strings.Contains(out, "| property | value | how measured |") || !strings.Contains(out, "| `lockout_threshold` | 5 wrong codes |") {
		t.Errorf("markdown:\n%s", out)
	}

	// The profile as measured: exit 0, in text.
	os.WriteFile(profile, []byte(`{"window": {"behind": 1, "ahead": 1}, "lockout_threshold": 5, "learns_drift": true, "digits": 8}`), 0o600)
	code, out, errOut = runCLI(t, "probe", "--provision", provision, "--expect", profile, "--no-answer-timeout", "500ms")
	if code != 0 {
		t.Fatalf("a matching profile: exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "profile "+profile+": as required (window, lockout_threshold, learns_drift, digits)") || !strings.Contains(out, "lockout_threshold               5 wrong codes") {
		t.Errorf("text:\n%s", out)
	}
	if !strings.Contains(errOut, "probing the lockout…") {
		t.Errorf("no progress on stderr: %s", errOut)
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "<" + string(raw) + ">"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestProbeUsage: mistakes in how probe is called are exit status 2, say
// what to do, and never quote the secret.
func TestProbeUsage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TOKENLAB_HOME", dir)
	t.Setenv("TOKENLAB_TARGET", "")
	t.Setenv("TOKENLAB_RADIUS_SECRET", "")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"replay": true}`), 0o600)
	const secret = "a-secret-that-must-not-show"
	target := "radius://" + secret + "@127.0.0.1:1812"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"probe"}, "needs TARGET, radius://SECRET@HOST:PORT (or $TOKENLAB_TARGET)"},
		{[]string{"probe", "http://127.0.0.1:8080", "--provision", "tokenlab+http://127.0.0.1:1"}, "TARGET: want radius://SECRET@HOST:PORT"},
		{[]string{"probe", "radius://127.0.0.1:1812", "--provision", "tokenlab+http://127.0.0.1:1"}, "set TOKENLAB_RADIUS_SECRET"},
		{[]string{"probe", "radius://" + secret + "@127.0.0.1", "--provision", "tokenlab+http://127.0.0.1:1"}, "TARGET: want radius://SECRET@HOST:PORT"},
		{[]string{"probe", target}, "--provision is required"},
		{[]string{"probe", target, "--provision", "nosuch:x"}, `--provision: provision: unknown provisioner "nosuch:x": use oath-usersfile:PATH, google-authenticator:DIR`},
		{[]string{"probe", target, "--provision", "tokenlab+http://127.0.0.1:1", "--json", "--markdown"}, "--json and --markdown do not mix"},
		{[]string{"probe", target, "--provision", "tokenlab+http://127.0.0.1:1", "--expect", filepath.Join(dir, "none.json")}, "--expect: open"},
		{[]string{"probe", target, "--provision", "tokenlab+http://127.0.0.1:1", "--expect", bad}, `"replay" is not a probe property`},
		{[]string{"probe", target, target}, "takes one TARGET"},
		{[]string{"probe", target, "--provision", "x:y", "--max-window", "0"}, "--max-window and --max-lockout must be at least 1"},
		{[]string{"probe", target, "--provision", "x:y", "--retransmit-after", "0s"}, "--retransmit-after must be positive"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, %s; want 2 and %q", c.args, code, stderr, c.want)
		}
		if strings.Contains(stderr, secret) {
			t.Errorf("%q: the error quotes the secret: %s", c.args, stderr)
		}
	}
	// A provisioner that cannot be reached is not a usage error.
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "an-admin-credential-0123456789abcdef")
	if code, _, stderr := runCLI(t, "probe", target, "--provision", "tokenlab+http://127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "is tokenlab serve running there?") {
		t.Errorf("an unreachable provisioner: exit %d, %s", code, stderr)
	}
}
