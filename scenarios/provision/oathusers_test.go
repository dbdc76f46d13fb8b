package provision

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// usersFileLines reads a users file as liboath does: whitespace-separated
// fields, one user a line.
func usersFileLines(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string][]string{}
	for l := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 {
			t.Fatalf("a line liboath cannot read: %q", l)
		}
		if _, dup := lines[f[1]]; dup {
			t.Fatalf("user %s twice", f[1])
		}
		lines[f[1]] = f
	}
	return lines
}

func TestOathUsersFileLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.oath")
	p, err := Open(context.Background(), "oath-usersfile:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "oath-usersfile" || !slices.Equal(p.Digits(), []int{6, 8}) {
		t.Fatalf("%s takes %v", p.Name(), p.Digits())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("Open did not create the users file 0600: %v %v", st, err)
	}
	u8, err := p.NewUser(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	u6, err := p.NewUser(context.Background(), Options{Digits: 6})
	if err != nil {
		t.Fatal(err)
	}
	lines := usersFileLines(t, path)
	for _, c := range []struct {
		u    User
		typ  string
		want int
	}{{u8, "HOTP/T30/8", 8}, {u6, "HOTP/T30/6", 6}} {
		f := lines[c.u.ID]
		spec := c.u.Token.Spec()
		if f == nil || f[0] != c.typ || f[2] != "-" || f[3] != hex.EncodeToString(spec.Secret) || len(f) != 4 {
			t.Errorf("user %s: line %q, want %s %s - %x", c.u.ID, f, c.typ, c.u.ID, spec.Secret)
		}
		if spec.Digits != c.want || len(spec.Secret) != 20 || spec.Period != 30*time.Second {
			t.Errorf("user %s: token %d digits, %d-byte secret, %v step", c.u.ID, spec.Digits, len(spec.Secret), spec.Period)
		}
		if !strings.HasPrefix(c.u.ID, "tl-") || strings.ToLower(c.u.ID) != c.u.ID || c.u.Password != "" {
			t.Errorf("user %q password %q: want a lower-case tl- name and no password", c.u.ID, c.u.Password)
		}
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock file was left behind (pam_oath then refuses every login): %v", err)
	}
}

func TestOathUsersFileDigitsOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.oath")
	p, err := Open(context.Background(), "oath-usersfile:"+path+"?digits=6", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Digits(), []int{6}) {
		t.Fatalf("digits=6: Digits() = %v", p.Digits())
	}
	if _, err := p.NewUser(context.Background(), Options{Digits: 8}); !errors.Is(err, ErrDigits) {
		t.Fatalf("an 8-digit user on a 6-digit system: %v, want ErrDigits", err)
	}
	u, err := p.NewUser(context.Background(), Options{})
	if err != nil || u.Token.Spec().Digits != 6 {
		t.Fatalf("the default on a 6-digit system: %v %v", u, err)
	}
}

func TestOathUsersFileKeepsLinesApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.oath")
	// A hand-edited file without its last newline.
	if err := os.WriteFile(path, []byte("HOTP/T30/8 admin - 00112233"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Open(context.Background(), "oath-usersfile:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.NewUser(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := usersFileLines(t, path)
	if lines["admin"] == nil || lines[u.ID] == nil || len(lines["admin"]) != 4 {
		t.Fatalf("lines ran together: %v", lines)
	}
}

// TestOathUsersFileWaitsForALoginsLock: while liboath holds PATH.lock
// (a login rewriting the file) no line is appended.
func TestOathUsersFileWaitsForALoginsLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.oath")
	p, err := Open(context.Background(), "oath-usersfile:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.NewUser(ctx, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("NewUser with the lock held: %v, want it to wait until the deadline", err)
	}
	if n := len(usersFileLines(t, path)); n != 0 {
		t.Fatalf("%d lines written under a login's lock", n)
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatalf("NewUser removed a lock it did not hold: %v", err)
	}
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewUser(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
}

// rewriteLikeLiboath267 is what liboath 2.6.7 does after a good login:
// PATH.lock created exclusively (giving up, as a refused login, when it
// exists), every line copied to PATH.new, renamed over PATH, lock removed.
// It reports whether it rewrote.
func rewriteLikeLiboath267(t *testing.T, path string) bool {
	in, err := os.Open(path) // opened before the lock, as liboath does
	if err != nil {
		t.Error(err)
		return false
	}
	defer in.Close()
	lock, err := os.OpenFile(path+".lock", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false
	}
	defer func() { lock.Close(); os.Remove(path + ".lock") }()
	if err := syscall.FcntlFlock(lock.Fd(), syscall.F_SETLKW, &syscall.Flock_t{Type: syscall.F_WRLCK}); err != nil {
		t.Error(err)
		return false
	}
	data, err := io.ReadAll(in)
	if err != nil {
		t.Error(err)
		return false
	}
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Error(err)
		return false
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Error(err)
		return false
	}
	return true
}

// rewriteLikeLiboath2612 is liboath 2.6.12's rewrite: the users file
// itself locked (open file description lock), checked to be still the file
// at PATH, copied to a new file renamed over it.
func rewriteLikeLiboath2612(t *testing.T, path string) bool {
	for {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Error(err)
			return false
		}
		if err := syscall.FcntlFlock(f.Fd(), fOFDSetLKW, &syscall.Flock_t{Type: syscall.F_WRLCK}); err != nil {
			f.Close()
			t.Error(err)
			return false
		}
		held, _ := f.Stat()
		now, err := os.Stat(path)
		if err != nil || !os.SameFile(held, now) {
			f.Close()
			continue
		}
		data, err := io.ReadAll(f)
		if err == nil {
			tmp := fmt.Sprintf("%s.new.%d", path, os.Getpid())
			if err = os.WriteFile(tmp, data, 0o600); err == nil {
				err = os.Rename(tmp, path)
			}
		}
		f.Close()
		if err != nil {
			t.Error(err)
		}
		return err == nil
	}
}

// TestOathUsersFileLosesNoLineToLogins adds users from many goroutines
// while logins rewrite the file the way each liboath generation does:
// every user's line must survive.
func TestOathUsersFileLosesNoLineToLogins(t *testing.T) {
	for name, rewrite := range map[string]func(*testing.T, string) bool{
		"liboath 2.6.7":  rewriteLikeLiboath267,
		"liboath 2.6.12": rewriteLikeLiboath2612,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.oath")
			p, err := Open(context.Background(), "oath-usersfile:"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			const users = 40
			done := make(chan struct{})
			rewrites := 0
			var rw sync.WaitGroup
			rw.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if rewrite(t, path) {
						rewrites++
					}
					// Logins come and go; one rewriting back to back
					// forever would starve any writer, liboath's own too.
					runtime.Gosched()
				}
			})
			var wg sync.WaitGroup
			ids := make([]string, users)
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
			close(done)
			rw.Wait()
			lines := usersFileLines(t, path)
			for _, id := range ids {
				if lines[id] == nil {
					t.Errorf("user %s's line was lost", id)
				}
			}
			if len(lines) != users {
				t.Errorf("%d lines, want %d", len(lines), users)
			}
			t.Logf("%d rewrites while %d users were added", rewrites, users)
		})
	}
}
