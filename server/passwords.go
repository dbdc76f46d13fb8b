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

// passwordSlots is how many password comparisons and hashes run at once:
// all the CPUs but one, at least one. bcrypt is slow by design and needs no
// credential to set off (a login with a wrong password does), so without a
// bound a flood of logins takes every CPU, and a verification, which needs
// a millisecond of one, waits behind dozens of them: 32 parallel
// wrong-password logins on 2 CPUs took a verification from 2.5 ms to 290 ms
// (800 ms at worst). The comparisons past the bound wait their turn.
func passwordSlots() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// withPasswordSlot runs fn, a bcrypt comparison or hash, when one of the
// server's password slots is free, or gives up when ctx ends first.
func (s *Server) withPasswordSlot(ctx context.Context, fn func()) error {
	select {
	case s.pwSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.pwSlots }()
	fn()
	return nil
}

// hash hashes a password at the policy's cost in a password slot.
func (s *Server) hash(ctx context.Context, password []byte) (hash []byte, err error) {
	if serr := s.withPasswordSlot(ctx, func() { hash, err = hashPassword(password, s.policy.PasswordCost) }); serr != nil {
		return nil, serr
	}
	return hash, err
}

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
		var derr error
		if err := s.withPasswordSlot(ctx, func() {
			var dummy []byte
			if dummy, derr = s.dummyHash(); derr == nil {
				_ = comparePassword(dummy, []byte(password))
			}
		}); err != nil {
			return nil, false, err
		}
		return nil, false, derr
	}
	if err != nil {
		return nil, false, err
	}
	if err := s.withPasswordSlot(ctx, func() { ok = comparePassword(acc.PasswordHash, []byte(password)) == nil }); err != nil {
		return nil, false, err
	}
	return acc.PasswordHash, ok, nil
}

// dummyHash is a hash of a random password at the policy's cost, made once,
// that logins for unknown users are compared with. It runs in the password
// slot of the first such login.
func (s *Server) dummyHash() ([]byte, error) {
	s.dummyOnce.Do(func() {
		s.dummy, s.dummyErr = hashPassword([]byte(randomString(16, "abcdefghijkmnopqrstuvwxyz23456789")), s.policy.PasswordCost)
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
	h, err := s.hash(ctx, []byte(p))
	if err != nil {
		return nil, err
	}
	return &tempPassword{plain: p, hash: h}, nil
}

// errNeedTempPassword rolls back a revocation that turned out to need a
// temporary password nobody had made: Revoke makes one and runs it again.
var errNeedTempPassword = errors.New("a temporary password is needed")
