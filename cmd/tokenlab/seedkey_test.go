package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// serveOutcome runs tokenlab serve and reports whether it came to listen
// (then it is stopped) or exited, with what it wrote on stderr.
func serveOutcome(t *testing.T, bin string, env []string, args ...string) (listening bool, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds a process start
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "listening on ") {
			listening = true
			cmd.Process.Kill()
			break
		}
	}
	cmd.Wait()
	return listening, b.String()
}

// TestServeRefusesAMissingOrWrongSeedKey: once seeds are sealed, serve
// does not start without their key — it used to make a new one, answer
// /healthz ok and fail every verification — nor with another key; the key
// may live outside the data directory, in --seed-key-file or
// TOKENLAB_SEED_KEY (docs/lifecycle.md, “The seed key”).
func TestServeRefusesAMissingOrWrongSeedKey(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	ctx := context.Background()
	noEnv := []string{"TOKENLAB_SEED_KEY="}
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	common := []string{"--data", data, "--admin-token", "key-admin-credential-0123", "--virtual-clock", "--clock-start", start.Format(time.RFC3339)}

	// A server with a sealed seed on an activated token.
	srv, url := startServe(t, bin, common...)
	c := client.New(url, "key-admin-credential-0123")
	if _, err := c.ImportSeedFile(ctx, admin, []byte("K1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: "kim", Email: "k@example.com", FirstName: "K", LastName: "M", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: "kim", Serial: "K1"}); err != nil {
		t.Fatal(err)
	}
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	code := func(at time.Time) string { return gen.Code(uint64(at.Unix() / 30)) }
	if _, err := c.Activate(ctx, "kim", "K1", code(start.Add(-30*time.Second)), code(start)); err != nil {
		t.Fatal(err)
	}
	srv.Process.Kill()
	srv.Wait()
	keyPath := filepath.Join(data, server.SeedKeyFile)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}

	// The key moves out of the data directory: serve refuses, saying what
	// to restore, and makes no new key.
	outside := filepath.Join(t.TempDir(), "tokenlab-seed.key")
	if err := os.Rename(keyPath, outside); err != nil {
		t.Fatal(err)
	}
	if up, stderr := serveOutcome(t, bin, noEnv, common...); up || !strings.Contains(stderr, keyPath) || !strings.Contains(stderr, "restore") || !strings.Contains(stderr, "unreadable") {
		t.Fatalf("without its seed key: listening %v, stderr:\n%s\nwant a refusal naming %s, to restore it, and what a new key would do", up, stderr, keyPath)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("the refused start made a new seed key")
	}

	// Another key is refused too.
	if err := os.WriteFile(keyPath, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if up, stderr := serveOutcome(t, bin, noEnv, common...); up || !strings.Contains(stderr, "not the one") {
		t.Fatalf("with another seed key: listening %v, stderr:\n%s", up, stderr)
	}
	os.Remove(keyPath)

	// The key from outside: the flag, then the environment, and the codes
	// verify.
	for name, how := range map[string]struct {
		env  []string
		args []string
	}{
		"--seed-key-file":   {noEnv, []string{"--seed-key-file", outside}},
		"TOKENLAB_SEED_KEY": {[]string{"TOKENLAB_SEED_KEY=" + hex.EncodeToString(key)}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			for _, e := range how.env {
				k, v, _ := strings.Cut(e, "=")
				t.Setenv(k, v)
			}
			at := start.Add(time.Minute)
			srv, url := startServe(t, bin, append([]string{"--data", data, "--admin-token", "key-admin-credential-0123", "--virtual-clock", "--clock-start", at.Format(time.RFC3339)}, how.args...)...)
			defer func() { srv.Process.Kill(); srv.Wait() }()
			start = at
			if _, err := client.New(url, "key-admin-credential-0123").Verify(ctx, "kim", code(at)); err != nil {
				t.Fatalf("verify with the key from %s: %v", name, err)
			}
			if _, err := os.Stat(keyPath); err == nil {
				t.Fatalf("with the key from %s serve made a %s in the data directory", name, server.SeedKeyFile)
			}
		})
	}
}
