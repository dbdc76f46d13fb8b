package provision

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
)

// oathUsersFile provisions users into a liboath users file, the file
// pam_oath (usersfile=PATH) and oathtool's tooling read. A line is
//
//	HOTP/T30/8 USER - HEX
//
// the token type (TOTP with a 30 s step and 8 digits), the user, the
// password ("-": none, the code alone logs in) and the hex secret;
// liboath appends the moving factor, the last code and its time itself
// on every login, rewriting the whole file.
//
// The option digits=6, digits=8 or digits=6,8 says which lengths the
// system takes (pam_oath's digits= option refuses codes of any other
// length); by default both.
type oathUsersFile struct {
	path   string
	digits []int
	clk    emulator.Clock
	// mu serialises this process's appends: the file locks below are the
	// process's, so two goroutines would both "hold" them.
	mu sync.Mutex
}

func openOathUsersFile(_ context.Context, rest string, clk emulator.Clock) (Provisioner, error) {
	path, opts, err := splitOptions("oath-usersfile", rest, "digits")
	if err != nil {
		return nil, err
	}
	p := &oathUsersFile{path: path, digits: []int{6, 8}, clk: orSystem(clk)}
	if s := opts.Get("digits"); s != "" {
		if p.digits, err = parseDigits("oath-usersfile", s); err != nil {
			return nil, err
		}
	}
	// Create the file if it is missing (pam_oath refuses every login
	// without one) and find out now, not at the first user, if it cannot
	// be written.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("oath-usersfile: %w: give a users file this program may write (pam_oath's usersfile= option)", err)
	}
	return p, f.Close()
}

func (p *oathUsersFile) Name() string  { return "oath-usersfile" }
func (p *oathUsersFile) Digits() []int { return append([]int(nil), p.digits...) }
func (p *oathUsersFile) Close() error  { return nil }

func (p *oathUsersFile) NewUser(ctx context.Context, o Options) (User, error) {
	digits, err := pickDigits("oath-usersfile", p.digits, o)
	if err != nil {
		return User{}, err
	}
	id, err := newUserID()
	if err != nil {
		return User{}, err
	}
	tok, err := newTOTP(digits, p.clk)
	if err != nil {
		return User{}, err
	}
	line := fmt.Sprintf("HOTP/T30/%d %s - %s\n", digits, id, hex.EncodeToString(tok.Spec().Secret))
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := appendUsersFile(ctx, p.path, line); err != nil {
		return User{}, err
	}
	return User{ID: id, Token: tok}, nil
}

// lockWait bounds how long NewUser waits for a login to finish its
// rewrite: a pam_oath update holds the lock for a few milliseconds.
const lockWait = 10 * time.Second

// appendUsersFile appends line to the users file under the locks liboath
// takes when it rewrites the file after a login, so that neither write is
// lost:
//
//   - liboath up to 2.6.11 (Debian 12 has 2.6.7) creates PATH.lock with
//     O_EXCL, takes an fcntl write lock on it, writes PATH.new, renames it
//     over PATH and removes PATH.lock. A login that finds PATH.lock already
//     there fails (pam_oath refuses the valid code and records nothing), so
//     we hold it only for the append itself. Older releases opened it
//     without O_EXCL and relied on the fcntl lock alone, which we take too.
//   - liboath 2.6.12 and later lock PATH itself (an open-file-description
//     lock) and check, once locked, that PATH is still the file they
//     opened; we do the same, so we append to the file the next rewrite
//     will read.
func appendUsersFile(ctx context.Context, path, line string) error {
	lock, err := createLockFile(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer func() {
		os.Remove(lock.Name())
		lock.Close()
	}()
	if err := posixLock(lock); err != nil {
		return fmt.Errorf("oath-usersfile: locking %s: %w", lock.Name(), err)
	}
	f, err := openLockedUsersFile(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	// A hand-edited file may lack its last newline; our line must not run
	// into the one before.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	// No fsync: the file holds test accounts, and a shorter hold of the
	// lock means fewer logins refused for finding it taken.
	if _, err := io.WriteString(f, line); err != nil {
		return fmt.Errorf("oath-usersfile: writing %s: %w", path, err)
	}
	return nil
}

// createLockFile creates path exclusively, waiting while a login holds it.
func createLockFile(ctx context.Context, path string) (*os.File, error) {
	deadline := time.Now().Add(lockWait)
	wait := time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("oath-usersfile: %w: the users file's directory must be writable", err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("oath-usersfile: %s has existed for %v: a login is stuck updating the users file, or a crashed one left the lock; remove it if no login is running", path, lockWait)
		}
		// liboath offers nothing to wait on but the file's absence; a login
		// holds it for milliseconds, so poll, backing off.
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// openLockedUsersFile opens path for appending with the file itself
// locked, and makes sure it is still the file at path once locked (a
// rewrite may have renamed a new one over it meanwhile); it tries again
// with the new file until lockWait has passed.
func openLockedUsersFile(ctx context.Context, path string) (*os.File, error) {
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("oath-usersfile: %w", err)
		}
		if err := fileLock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("oath-usersfile: locking %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("oath-usersfile: %s was replaced every time we locked it for %v: is something rewriting it in a loop?", path, lockWait)
		}
	}
}
