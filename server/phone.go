package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"
)

// Phone OTP and identity proofing: the second credential type (see
// docs/lifecycle.md, “Phone OTP and identity proofing”).
// Codes that the system "sends" go to the outbox, where tests read them.

func hashCode(userID, code string) []byte {
	h := sha256.Sum256([]byte(userID + "\x00" + code))
	return h[:]
}

func validPhone(n string) bool {
	if !strings.HasPrefix(n, "+") || len(n) < 8 || len(n) > 16 {
		return false
	}
	for _, c := range n[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// AddPhone registers a phone (E.164, e.g. +17035550100) for phone OTP, by
// text or voice; at most Policy.MaxPhones.
func (s *Server) AddPhone(ctx context.Context, userID, number, method string) error {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return err
	}
	if !validPhone(number) {
		return s.refuse(CodeBadRequest, "the phone number must be in E.164 form, e.g. +17035550100")
	}
	if method != "text" && method != "voice" {
		return s.refuse(CodeBadRequest, "method must be text or voice")
	}
	return s.do(ctx, AsUser(userID), "phone.add", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		if acc.ParentID != "" {
			return s.refuse(CodeActionUnavailable, "a connected account uses its parent's credentials")
		}
		for _, p := range acc.Phones {
			if p.Number == number {
				return s.refuse(CodeConflict, "phone %s is already registered", number)
			}
		}
		if len(acc.Phones) >= s.policy.MaxPhones {
			return s.refuse(CodePhoneLimit, "%d phones already registered", len(acc.Phones))
		}
		acc.Phones = append(acc.Phones, Phone{Number: number, Method: method, AddedAt: now})
		return tx.PutAccount(acc)
	})
}

// SendPhoneCode sends a 6-digit code to a registered phone, valid for
// Policy.PhoneCodeValidity; sending again (resend) replaces the code.
func (s *Server) SendPhoneCode(ctx context.Context, userID, number string) error {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return err
	}
	code := randomString(6, "0123456789")
	return s.do(ctx, AsUser(userID), "phone.send", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		i := phoneIndex(acc, number)
		if i < 0 {
			return s.refuse(CodeNotFound, "phone %s is not registered", number)
		}
		acc.Phones[i].CodeHash, acc.Phones[i].CodeExpires = hashCode(userID, code), now.Add(s.policy.PhoneCodeValidity)
		if err := tx.PutAccount(acc); err != nil {
			return err
		}
		note := notePhoneCodeText
		if acc.Phones[i].Method == "voice" {
			note = notePhoneCodeVoice
		}
		return s.notifyTo(tx, now, userID, number, note, noteValues{code: code, validity: s.policy.PhoneCodeValidity.String()})
	})
}

func phoneIndex(acc Account, number string) int {
	for i, p := range acc.Phones {
		if p.Number == number {
			return i
		}
	}
	return -1
}

// LoginWithPhone logs in with the password and a phone code: a phone OTP
// session (level 3 when the user is proofed, else 2). A code is used once.
// The password is compared before the write transaction (checkPassword).
func (s *Server) LoginWithPhone(ctx context.Context, userID, password, number, code string) (Session, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Session{}, err
	}
	checked, ok, err := s.checkPassword(ctx, userID, password)
	if err != nil {
		return Session{}, err
	}
	var out Session
	err = s.do(ctx, AsUser(userID), "session.login_phone", userID, func(tx Tx, now time.Time) error {
		acc, err := s.passwordChecked(tx, userID, checked, ok)
		if err != nil {
			return err
		}
		i := phoneIndex(acc, number)
		if i < 0 {
			return s.refuse(CodeNotFound, "phone %s is not registered", number)
		}
		p := &acc.Phones[i]
		if p.CodeHash == nil || !now.Before(p.CodeExpires) || subtle.ConstantTimeCompare(p.CodeHash, hashCode(userID, code)) != 1 {
			return s.refuse(CodePhoneCodeIncorrect, "wrong or expired code for %s", number)
		}
		p.CodeHash, p.CodeExpires = nil, time.Time{}
		level := LevelUnproofed
		if acc.Proofed {
			level = LevelProofed
		}
		out = Session{ID: randomString(32, "abcdefghijklmnopqrstuvwxyz0123456789"), UserID: userID, CreatedAt: now,
			LastUsedAt: now, Strength: Strength{Credential: CredentialPhoneOTP, Level: level}, MustChangePassword: acc.TemporaryPassword}
		if err := tx.PutAccount(acc); err != nil {
			return err
		}
		return tx.PutSession(out)
	})
	return out, err
}

// Proofing outcomes, as the guide describes them: passed (the credit bureau
// questions were answered), postal (the bureau found the user but the
// answers were wrong: an activation code goes by post), live (the user goes
// to live video proofing), failed.
const (
	ProofingPassed = "passed"
	ProofingPostal = "postal"
	ProofingLive   = "live"
	ProofingFailed = "failed"
)

// RecordProofing records an identity proofing outcome (an administrator or
// the proofing service acting). Passed proofs the user; postal mails an
// activation code that EnterProofingCode redeems.
func (s *Server) RecordProofing(ctx context.Context, actor Actor, userID, outcome string) error {
	if err := s.checkIDs(actorRef(&actor), userRef(&userID)); err != nil {
		return err
	}
	switch outcome {
	case ProofingPassed, ProofingPostal, ProofingLive, ProofingFailed:
	default:
		return s.refuse(CodeBadRequest, "outcome must be passed, postal, live or failed")
	}
	code := randomString(10, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
	return s.do(ctx, actor, "proofing.record", userID, func(tx Tx, now time.Time) error {
		if !actor.Admin {
			return s.refuse(CodeForbidden, "only the proofing service records proofing")
		}
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		acc.Proofing = &Proofing{Outcome: outcome, At: now}
		if outcome == ProofingPassed {
			acc.Proofed = true
		}
		if outcome == ProofingPostal {
			acc.Proofing.CodeHash = hashCode(userID, code)
			if err := s.notify(tx, now, acc, noteProofingCodePostal, noteValues{code: code}); err != nil {
				return err
			}
		}
		return tx.PutAccount(acc)
	})
}

// EnterProofingCode completes proofing with the code sent by postal mail.
func (s *Server) EnterProofingCode(ctx context.Context, userID, code string) error {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return err
	}
	return s.do(ctx, AsUser(userID), "proofing.code", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		if acc.Proofing == nil || acc.Proofing.CodeHash == nil || subtle.ConstantTimeCompare(acc.Proofing.CodeHash, hashCode(userID, strings.ToUpper(strings.TrimSpace(code)))) != 1 {
			return s.refuse(CodeProofingCodeInvalid, "wrong proofing code")
		}
		acc.Proofed, acc.Proofing.Outcome, acc.Proofing.CodeHash = true, ProofingPassed, nil
		return tx.PutAccount(acc)
	})
}
