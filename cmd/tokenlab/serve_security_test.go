package main

import (
	"strings"
	"testing"
	"time"
)

// goodToken is a credential of the strength serve asks for: 32 hex digits.
const goodToken = "0123456789abcdef0123456789abcdef"

// serveRefuses runs tokenlab serve in process with args and checks that it
// refuses to start with exit status 2 and a one-line message containing
// each of want. A serve that does start would never return: the bound
// turns that into a failure.
func serveRefuses(t *testing.T, args []string, want ...string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runCLI(t, append([]string{"serve", "--data", t.TempDir()}, args...)...)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		if r.code != 2 {
			t.Fatalf("tokenlab serve %s: exit %d, want 2; stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("tokenlab serve %s: stderr %q does not say %q", strings.Join(args, " "), r.stderr, w)
			}
		}
		if strings.Count(strings.TrimRight(r.stderr, "\n"), "\n") != 0 {
			t.Errorf("the refusal takes more than one line: %q", r.stderr)
		}
	case <-time.After(20 * time.Second): // bounds a start that should not happen, not a wait for time
		t.Fatalf("tokenlab serve %s started instead of refusing", strings.Join(args, " "))
	}
}

// TestServeRefusesShortCredentials: an administrator, service or metrics
// credential under 128 bits is refused before the server starts, with how
// to make a good one.
func TestServeRefusesShortCredentials(t *testing.T) {
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "")
	t.Setenv("TOKENLAB_SERVICE_TOKEN", "")
	t.Run("admin flag", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", "qa-secret"}, "--admin-token", "too short", "openssl rand -hex 16")
	})
	t.Run("31 hex digits", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken[1:]}, "--admin-token", "32 hex digits")
	})
	t.Run("admin environment", func(t *testing.T) {
		t.Setenv("TOKENLAB_ADMIN_TOKEN", "short-env-token")
		serveRefuses(t, []string{"--addr", "127.0.0.1:0"}, "TOKENLAB_ADMIN_TOKEN", "too short")
	})
	t.Run("service flag", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken, "--service-token", "portal"}, "--service-token", "too short")
	})
	t.Run("metrics flag", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken, "--metrics-token", "scraper"}, "--metrics-token", "too short")
	})
}

// TestServeMetricsFlags: a public /metrics takes no credential, so
// --metrics-public with a metrics credential is a mistake.
func TestServeMetricsFlags(t *testing.T) {
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "")
	t.Setenv("TOKENLAB_METRICS_TOKEN", "")
	serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken, "--metrics-public", "--metrics-token", goodToken + "m"},
		"--metrics-public and --metrics-token do not mix")
}
