package server

import (
	"bytes"
	"context"
	"errors"

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
		_ = comparePassword(dummy, []byte(password))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return acc.PasswordHash, comparePassword(acc.PasswordHash, []byte(password)) == nil, nil
}

// dummyHash is a hash of a random password at the policy's cost, made once,
// that logins for unknown users are compared with.
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

func (s *Server) newTempPassword() (*tempPassword, error) {
	p := randomString(16, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
	h, err := hashPassword([]byte(p), s.policy.PasswordCost)
	if err != nil {
		return nil, err
	}
	return &tempPassword{plain: p, hash: h}, nil
}

// errNeedTempPassword rolls back a revocation that turned out to need a
// temporary password nobody had made: Revoke makes one and runs it again.
var errNeedTempPassword = errors.New("a temporary password is needed")
