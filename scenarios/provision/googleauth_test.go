package provision

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestGoogleAuthFiles(t *testing.T) {
	for _, c := range []struct {
		options string
		want    []string // the lines after the secret
	}{
		{"", []string{`" RATE_LIMIT 3 30`, `" WINDOW_SIZE 3`, `" DISALLOW_REUSE`, `" TOTP_AUTH`}},
		{"?window=17&rate_limit=off&reuse=allow", []string{`" WINDOW_SIZE 17`, `" TOTP_AUTH`}},
		{"?rate_limit=10/60&reuse=disallow", []string{`" RATE_LIMIT 10 60`, `" WINDOW_SIZE 3`, `" DISALLOW_REUSE`, `" TOTP_AUTH`}},
	} {
		t.Run(c.options, func(t *testing.T) {
			dir := t.TempDir()
			p, err := Open(context.Background(), "google-authenticator:"+dir+c.options, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name() != "google-authenticator" || !slices.Equal(p.Digits(), []int{6}) {
				t.Fatalf("%s takes %v", p.Name(), p.Digits())
			}
			u, err := p.NewUser(context.Background(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, u.ID)
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v %v, want mode 0600 (the module refuses a file others can read)", path, st, err)
			}
			data, _ := os.ReadFile(path)
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(lines[0])
			if err != nil || !bytes.Equal(secret, u.Token.Spec().Secret) {
				t.Fatalf("line 1 %q is not the token's secret in base32: %v", lines[0], err)
			}
			if !slices.Equal(lines[1:], c.want) {
				t.Fatalf("options\n%s\nwant\n%s", strings.Join(lines[1:], "\n"), strings.Join(c.want, "\n"))
			}
			if u.Token.Spec().Digits != 6 {
				t.Fatalf("a %d-digit token", u.Token.Spec().Digits)
			}
		})
	}
}

func TestGoogleAuthTakesOnlySixDigits(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(context.Background(), "google-authenticator:"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewUser(context.Background(), Options{Digits: 8}); !errors.Is(err, ErrDigits) {
		t.Fatalf("an 8-digit user: %v, want ErrDigits", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a refused user left %d files", len(ents))
	}
}

func TestGoogleAuthConcurrentUsers(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(context.Background(), "google-authenticator:"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	const users = 50
	ids := make([]string, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			u, err := p.NewUser(context.Background(), Options{})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = u.ID
		})
	}
	wg.Wait()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != users {
		t.Fatalf("%d files, want %d: %v", len(ents), users, err)
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(dir, id)); err != nil {
			t.Error(err)
		}
	}
}
