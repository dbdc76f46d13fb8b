package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// Challenge is a next-code challenge, the "next tokencode" mode hardware
// tokens are known for: a code outside the login window but within the sync
// window was right for the token, but too far from the server's time to log
// in with. The token's next code resynchronises it and logs in
// (AnswerChallenge).
type Challenge struct {
	// ID names the challenge to AnswerChallenge (RADIUS carries it in
	// State). It is random and says nothing of the token.
	ID        string    `json:"id"`
	Serial    string    `json:"serial"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NextCodeMessage is what a user is asked when challenged.
const NextCodeMessage = "Wait for your token to show a new code, then enter the new code."

// nextCode is what verifyOrChallengeTx found: the step of a code within the
// sync window.
type nextCode struct {
	serial string
	step   int64
}

// pendingChallenge is a challenge waiting for its answer.
type pendingChallenge struct {
	user, serial string
	step         int64 // the challenged code's step: the answer is step+1
	expires      time.Time
}

// challenges are the pending challenges, in memory: a restart forgets them,
// and the user logs in again.
type challenges struct {
	mu     sync.Mutex
	byID   map[string]pendingChallenge
	byUser map[string]string // one challenge per user: a new one replaces it
}

// maxPendingChallenges bounds the memory the challenges take.
const maxPendingChallenges = 100000

func (c *challenges) add(p pendingChallenge, now time.Time) string {
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID, c.byUser = map[string]pendingChallenge{}, map[string]string{}
	}
	if old, ok := c.byUser[p.user]; ok {
		delete(c.byID, old)
	}
	if len(c.byID) >= maxPendingChallenges {
		for k, v := range c.byID {
			if !now.Before(v.expires) {
				delete(c.byID, k)
				delete(c.byUser, v.user)
			}
		}
		for k, v := range c.byID { // still full: forget one
			if len(c.byID) < maxPendingChallenges {
				break
			}
			delete(c.byID, k)
			delete(c.byUser, v.user)
		}
	}
	c.byID[id] = p
	c.byUser[p.user] = id
	return id
}

// take removes and returns the challenge: an answer ends it, right or wrong.
func (c *challenges) take(id string) (pendingChallenge, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.byID[id]
	if ok {
		delete(c.byID, id)
		if c.byUser[p.user] == id {
			delete(c.byUser, p.user)
		}
	}
	return p, ok
}

// challengeSteps is how many of the token's steps a challenge waits for its
// answer: the next code shows within one, and the user types it.
const challengeSteps = 3

// VerifyOrChallenge is Verify with the next-code challenge: a TOTP code
// outside the login window but within ±SyncWindow steps of the server's
// time plus the learned drift is neither accepted nor counted as a wrong
// code; it returns a Challenge instead (and a zero Verification, no
// error). The policy's NoNextCodeChallenge turns this off. Everything else
// is Verify's: the same refusals, lockout counting and drift learning. The
// audit log records a challenge as token.verify with outcome
// next_code_required.
func (s *Server) VerifyOrChallenge(ctx context.Context, userID, otp string) (Verification, *Challenge, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Verification{}, nil, err
	}
	return s.verifyOrChallengeAs(ctx, userID, otp, func(tx Tx) (Account, error) { return s.account(tx, userID) })
}

// AnswerChallenge is the user's answer to a next-code challenge: the
// token's code for the step right after the challenged one resynchronises
// the token (its drift is learned as a resync learns it) and logs in.
// Anything else — another code, an expired or unknown challenge, another
// user's — is a wrong code that counts towards the lockout, and the
// challenge ends either way.
func (s *Server) AnswerChallenge(ctx context.Context, userID, challengeID, otp string) (Verification, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Verification{}, err
	}
	p, found := s.challenges.take(challengeID)
	var out Verification
	err := s.do(ctx, AsUser(userID), "token.verify_next_code", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		t, err := s.loginToken(tx, acc)
		if err != nil {
			return err
		}
		if err := s.usable(t, now); err != nil {
			return err
		}
		code, err := s.parseCode(&t, otp)
		if err != nil {
			return err
		}
		if !found || p.user != userID || p.serial != t.Serial || !now.Before(p.expires) || t.Kind != oath.TOTP {
			return s.wrongCode(tx, &t, now)
		}
		gen, err := s.generator(&t)
		if err != nil {
			return err
		}
		next := p.step + 1
		if next <= t.LastStep {
			return s.refuse(CodeOTPReplayed, "token %s has accepted a later code since the challenge", t.Serial)
		}
		if _, ok, _ := gen.Match(code, next, 0, t.LastStep); !ok {
			return s.wrongCode(tx, &t, now)
		}
		t.LastStep, t.FailCount, t.LastUsedAt = next, 0, now
		s.synced(&t, now, next-t.step(now))
		if err := tx.PutToken(t); err != nil {
			return err
		}
		out = Verification{Serial: t.Serial, Step: next, DriftSteps: t.DriftSteps}
		return nil
	})
	return out, err
}

// VerifyPasswordAndCode is VerifyOrChallenge for a secret that is the
// account's password followed by the code (the token's number of digits),
// as VPNs send it in RADIUS's User-Password under the policy's
// RadiusPasswordAndCode. A wrong password is credentials_invalid, and then
// the code is not checked: it neither counts nor is used.
func (s *Server) VerifyPasswordAndCode(ctx context.Context, userID, passwordAndCode string) (Verification, *Challenge, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Verification{}, nil, err
	}
	digits := 6
	_ = s.view(ctx, func(tx Tx) error {
		acc, err := tx.Account(userID)
		if err != nil {
			return err
		}
		t, err := s.loginToken(tx, acc)
		if err == nil {
			digits = t.Digits
		}
		return nil
	})
	if len(passwordAndCode) <= digits {
		return Verification{}, nil, s.refuse(CodeCredentialsInvalid, "the password and the %d-digit code are required", digits)
	}
	split := len(passwordAndCode) - digits
	password, otp := passwordAndCode[:split], passwordAndCode[split:]
	checked, ok, err := s.checkPassword(ctx, userID, password)
	if err != nil {
		return Verification{}, nil, err
	}
	return s.verifyOrChallengeAs(ctx, userID, otp, func(tx Tx) (Account, error) { return s.passwordChecked(tx, userID, checked, ok) })
}

// verifyOrChallengeAs verifies otp for the account that account reads in
// the write transaction (with or without a password check), and opens a
// challenge when the code asks for the next one.
func (s *Server) verifyOrChallengeAs(ctx context.Context, userID, otp string, account func(Tx) (Account, error)) (Verification, *Challenge, error) {
	var (
		out     Verification
		ch      *Challenge
		pending pendingChallenge
		at      time.Time
	)
	err := s.doOutcome(ctx, AsUser(userID), "token.verify", userID, func(tx Tx, now time.Time) (string, error) {
		// The Update may run this again (Store): every run starts afresh.
		out, ch = Verification{}, nil
		acc, err := account(tx)
		if err != nil {
			return "", err
		}
		var t Token
		var nc nextCode
		out, t, err = s.verifyOrChallengeTx(tx, now, acc, otp, &nc)
		if err != nil || nc.serial == "" {
			return "", err
		}
		exp := now.Add(challengeSteps * time.Duration(t.PeriodS) * time.Second)
		ch = &Challenge{Serial: nc.serial, ExpiresAt: exp}
		pending, at = pendingChallenge{user: userID, serial: nc.serial, step: nc.step, expires: exp}, now
		return "next_code_required", nil
	})
	if err != nil {
		return Verification{}, nil, err
	}
	if ch != nil {
		// Once the Update is committed: a run that was not kept opens no
		// challenge.
		ch.ID = s.challenges.add(pending, at)
	}
	return out, ch, nil
}
