package server

import (
	"context"
	"crypto/hmac"
	"errors"
	"strings"
	"time"
)

// Identity proofing (see docs/lifecycle.md, “Phone OTP and identity
// proofing”): an administrator records the proofing service's answer; a
// postal or live outcome yields an activation code the user enters.

// Proofing outcomes, as the guide describes them: passed (the credit bureau
// questions were answered), postal (the bureau found the user but the
// answers were wrong: an activation code goes by post), live (the user
// passed live video proofing, and the agent gives the activation code),
// failed.
const (
	ProofingPassed = "passed"
	ProofingPostal = "postal"
	ProofingLive   = "live"
	ProofingFailed = "failed"
)

// proofingAlphabet is the activation codes' alphabet: no 0/O, 1/I, which a
// user copying a code from a letter would confuse.
const proofingAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// ProofingCodeLength is the length of a proofing activation code: 10 of 32
// characters, 50 bits, which no one guesses over an API.
const ProofingCodeLength = 10

// ProofingView is an account's identity proofing.
type ProofingView struct {
	UserID string `json:"user_id"`
	// Proofed is identity proofing done: the account's credentials are
	// level 3.
	Proofed bool `json:"proofed"`
	// Outcome is the last outcome recorded ("" for none), and At when.
	Outcome string     `json:"outcome,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	// CodePending is an activation code sent (postal) or given (live) and
	// not entered yet.
	CodePending bool `json:"code_pending"`
}

func proofingView(acc Account) ProofingView {
	v := ProofingView{UserID: acc.UserID, Proofed: acc.Proofed}
	if p := acc.Proofing; p != nil {
		at := p.At
		v.Outcome, v.At, v.CodePending = p.Outcome, &at, p.CodeHash != nil
	}
	return v
}

// CheckProofingOutcome refuses an outcome other than the four the guide has.
func CheckProofingOutcome(o string) error {
	switch o {
	case ProofingPassed, ProofingPostal, ProofingLive, ProofingFailed:
		return nil
	}
	return errors.New(`the outcome must be "passed", "postal", "live" or "failed"`)
}

// NormalProofingCode is a proofing code as typed put in the form it is
// kept: without surrounding space, upper-case. It refuses what cannot be a
// code (a malformed one is a bad request, not a wrong one).
func NormalProofingCode(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) != ProofingCodeLength || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return "", errors.New("a proofing activation code is 10 letters and digits")
	}
	return c, nil
}

// RecordProofing records an identity proofing outcome: an administrator
// entering the proofing service's answer. Passed proofs the user; postal
// mails an activation code and live has the agent give one (each an outbox
// entry), which EnterProofingCode redeems; a new outcome replaces a code
// still pending. An account already proofed is not proofed again
// (conflict).
func (s *Server) RecordProofing(ctx context.Context, actor Actor, userID, outcome string) (ProofingView, error) {
	if err := s.checkIDs(actorRef(&actor), userRef(&userID)); err != nil {
		return ProofingView{}, err
	}
	if err := CheckProofingOutcome(outcome); err != nil {
		return ProofingView{}, s.refuse(CodeBadRequest, "%v", err)
	}
	code := randomString(ProofingCodeLength, proofingAlphabet)
	var out ProofingView
	err := s.do(ctx, actor, "proofing.record", userID, func(tx Tx, now time.Time) error {
		if !actor.Admin {
			return s.refuse(CodeForbidden, "only an administrator records a proofing outcome")
		}
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		if acc.Proofed {
			return s.refuse(CodeConflict, "%s is proofed already", userID)
		}
		acc.Proofing = &Proofing{Outcome: outcome, At: now}
		switch outcome {
		case ProofingPassed:
			acc.Proofed = true
		case ProofingPostal, ProofingLive:
			acc.Proofing.CodeHash = s.codeHash(userID, "proofing", "", code)
			note := noteProofingCodePostal
			if outcome == ProofingLive {
				note = noteProofingCodeLive
			}
			if err := s.notify(tx, now, acc, note, noteValues{code: code}); err != nil {
				return err
			}
		}
		out = proofingView(acc)
		return tx.PutAccount(acc)
	})
	return out, err
}

// EnterProofingCode completes proofing with the activation code sent by post
// or given by the live proofing agent. A code serves once.
func (s *Server) EnterProofingCode(ctx context.Context, userID, code string) (ProofingView, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return ProofingView{}, err
	}
	c, err := NormalProofingCode(code)
	if err != nil {
		e := s.refuse(CodeBadRequest, "%v", err)
		e.Message = badProofingCodeMessage
		return ProofingView{}, e
	}
	var out ProofingView
	err = s.do(ctx, AsUser(userID), "proofing.code", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		p := acc.Proofing
		if p == nil || p.CodeHash == nil {
			return s.refuse(CodeProofingCodeInvalid, "no proofing activation code is pending for %s", userID)
		}
		if !hmac.Equal(p.CodeHash, s.codeHash(userID, "proofing", "", c)) {
			return s.refuse(CodeProofingCodeInvalid, "wrong proofing activation code")
		}
		acc.Proofed, p.CodeHash = true, nil
		out = proofingView(acc)
		return tx.PutAccount(acc)
	})
	return out, err
}

// Proofing returns an account's identity proofing.
func (s *Server) Proofing(ctx context.Context, userID string) (ProofingView, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return ProofingView{}, err
	}
	var out ProofingView
	err := s.view(ctx, func(tx Tx) error {
		acc, err := s.account(tx, userID)
		out = proofingView(acc)
		return err
	})
	return out, err
}
