package server

import (
	"bytes"
	"context"
	"errors"
	"runtime"

	"golang.org/x/crypto/bcrypt"
)

// The password hash functions. They are variables so that a test can check
// where they run: never inside a write transaction (see checkPassword).
var (
	comparePassword = bcrypt.CompareHashAndPassword
	hashPassword    = bcrypt.GenerateFromPassword
)

// checkPassword compares password with the account's hash in a read, outside
// any write transaction: bcrypt is slow by design (tens of milliseconds), and
// every write of the server runs on the store's one committer, so a
// comparison there would hold up every verification behind it. It returns
// the hash it compared with, for passwordChecked. A missing account is no
// error: ok is false.
func (s *Server) checkPassword(ctx context.Context, userID, password string) (hash []byte, ok bool, err error) {
	var acc Account
	err = s.view(ctx, func(tx Tx) (err error) { acc, err = tx.Account(userID); return err })
	if errors.Is(err, ErrNoRecord) {
		// Compare anyway, with a hash of the same cost, so that the answer
		// takes as long as for an account that exists: the time of a login
		// must not tell which user IDs are accounts.
		dummy, derr := s.dummyHash()
		if derr != nil {
			return nil, false, derr
		}
		_, err = comparePasswordLimited(ctx, dummy, []byte(password))
		return nil, false, err
	}
	if err != nil {
		return nil, false, err
	}
	ok, err = comparePasswordLimited(ctx, acc.PasswordHash, []byte(password))
	return acc.PasswordHash, ok, err
}

// bcryptSlots bounds how many password hashes are compared or made at once:
// half the processors, at least one. bcrypt is slow on purpose, so a flood
// of wrong-password logins would otherwise take every core and starve the
// verifications, which need little CPU but need it now. The flood waits its
// turn instead (or gives up with its request's context).
var bcryptSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

func withBcryptSlot(ctx context.Context, f func()) error {
	select {
	case bcryptSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-bcryptSlots }()
	f()
	return nil
}

// comparePasswordLimited is comparePassword in a bcrypt slot.
func comparePasswordLimited(ctx context.Context, hash, password []byte) (ok bool, err error) {
	err = withBcryptSlot(ctx, func() { ok = comparePassword(hash, password) == nil })
	return ok, err
}

// hashPasswordLimited is hashPassword in a bcrypt slot.
func hashPasswordLimited(ctx context.Context, password []byte, cost int) (hash []byte, err error) {
	if serr := withBcryptSlot(ctx, func() { hash, err = hashPassword(password, cost) }); serr != nil {
		return nil, serr
	}
	return hash, err
}

// dummyHash is a hash of a random password at the policy's cost, made once,
// that logins for unknown users are compared with.
func (s *Server) dummyHash() ([]byte, error) {
	s.dummyOnce.Do(func() {
		s.dummy, s.dummyErr = hashPasswordLimited(context.Background(), []byte(randomString(16, "abcdefghijkmnopqrstuvwxyz23456789")), s.policy.PasswordCost)
	})
	return s.dummy, s.dummyErr
}

// passwordChecked reads the account in the write transaction and refuses it
// as wrong credentials unless checkPassword's answer still holds: the
// password matched, and the hash it matched is still the account's. A
// password changed in between (by the user, or by a revocation's temporary
// password) refuses the login rather than trusting a comparison with the old
// one.
func (s *Server) passwordChecked(tx Tx, userID string, checked []byte, ok bool) (Account, error) {
	acc, err := tx.Account(userID)
	if errors.Is(err, ErrNoRecord) || err == nil && (!ok || !bytes.Equal(acc.PasswordHash, checked)) {
		return acc, s.refuse(CodeCredentialsInvalid, "wrong user or password")
	}
	return acc, err
}

// tempPassword is a temporary password and its hash, made before the write
// transaction that sets it.
type tempPassword struct {
	plain string
	hash  []byte
}

func (s *Server) newTempPassword(ctx context.Context) (*tempPassword, error) {
	p := randomString(16, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
	h, err := hashPasswordLimited(ctx, []byte(p), s.policy.PasswordCost)
	if err != nil {
		return nil, err
	}
	return &tempPassword{plain: p, hash: h}, nil
}

// errNeedTempPassword rolls back a revocation that turned out to need a
// temporary password nobody had made: Revoke makes one and runs it again.
var errNeedTempPassword = errors.New("a temporary password is needed")
