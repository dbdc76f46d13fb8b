package server

import (
	"context"
	"errors"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// Verification is an accepted code.
type Verification struct {
	Serial     string `json:"serial"`
	Step       int64  `json:"step"`
	DriftSteps int64  `json:"drift_steps"`
}

func (s *Server) token(tx Tx, serial string, missing Code) (Token, error) {
	t, err := tx.Token(serial)
	if errors.Is(err, ErrNoRecord) {
		return t, s.refuse(missing, "no token %q in the inventory", serial)
	}
	return t, err
}

// Activate registers a token on the user's account with two consecutive
// codes (see docs/lifecycle.md, “Activation”).
func (s *Server) Activate(ctx context.Context, userID, serial, otp1, otp2 string) (TokenView, error) {
	if err := s.checkIDs(userRef(&userID), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	var out TokenView
	err := s.do(ctx, AsUser(userID), "token.activate", serial, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		t, err := s.token(tx, serial, CodeSerialIncorrect)
		if err != nil {
			return err
		}
		if t.Status == StatusRevoked {
			return s.refuse(CodeTokenRevoked, "token %s was revoked", serial)
		}
		sp, err := tx.Sponsorship(userID, serial)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeSerialIncorrect, "%s is neither sponsored to %s nor bound by a licence key they entered", serial, userID)
		}
		if err != nil {
			return err
		}
		if t.Status != StatusPendingActivation {
			if t.OwnerID == userID {
				return s.refuse(CodeActionUnavailable, "token %s is already %s on this account", serial, t.Status)
			}
			return s.refuse(CodeSerialIncorrect, "token %s is not pending activation", serial)
		}
		if t.Blocked {
			return s.refuse(CodeActivationBlocked, "activation of %s is blocked after %d failed attempts: an administrator must reset it", serial, t.ActivationFailures)
		}
		if !sp.ActivateBy.IsZero() && now.After(sp.ActivateBy) {
			return s.refuse(CodeActionUnavailable, "the sponsorship's activation deadline %s has passed", sp.ActivateBy.UTC().Format(time.RFC3339))
		}
		if sp.ApplicationID != "" {
			if ok, err := s.termsAccepted(tx, acc, sp.ApplicationID); err != nil {
				return err
			} else if !ok {
				return s.refuse(CodeActionUnavailable, "the terms and conditions of %s are not accepted", sp.ApplicationID)
			}
		}
		if sp.Level == LevelProofed && !acc.Proofed {
			return s.refuse(CodeActionUnavailable, "a level 3 credential needs identity proofing first")
		}
		if acc.ParentID != "" {
			return s.refuse(CodeActionUnavailable, "the account is connected to %s and uses its token", acc.ParentID)
		}
		if held, err := s.heldToken(tx, userID); err != nil {
			return err
		} else if held != "" {
			return s.refuse(CodeActionUnavailable, "the account holds token %s: revoke it before activating another", held)
		}
		c1, err := s.parseCode(&t, otp1)
		if err != nil {
			return err
		}
		c2, err := s.parseCode(&t, otp2)
		if err != nil {
			return err
		}
		nowStep := t.step(now)
		step, ok, _, err := s.findPair(&t, c1, c2, nowStep+t.DriftSteps, s.policy.SyncWindow)
		if err != nil {
			return err
		}
		if !ok {
			t.ActivationFailures++
			if t.ActivationFailures >= s.policy.ActivationAttempts {
				t.Blocked = true
			}
			if err := tx.PutToken(t); err != nil {
				return err
			}
			return s.refuse(CodeOTPIncorrect, "no two consecutive codes in ±%d steps (attempt %d of %d)", s.policy.SyncWindow, t.ActivationFailures, s.policy.ActivationAttempts)
		}
		t.Status = StatusActive
		if s.policy.ApprovalRequired {
			t.Status = StatusPendingApproval
		}
		t.OwnerID, t.Level = userID, sp.Level
		t.LastStep, t.FailCount, t.FailureTimes, t.ActivationFailures, t.ResyncFailures, t.Locked = step, 0, nil, 0, 0, false
		if t.Kind == oath.TOTP {
			t.AnchorAt, t.DriftPPM, t.RateSamples = time.Time{}, 0, 0
			s.synced(&t, now, step-nowStep)
		}
		t.ActivatedAt, t.LastUsedAt = now, now
		purchased := t.PurchasedAt
		if purchased.IsZero() {
			purchased = now
		}
		t.ExpiresAt = purchased.Add(s.policy.Validity)
		t.Reminders = nil
		s.schedule(&t)
		sp.Used = true
		if err := tx.PutSponsorship(sp); err != nil {
			return err
		}
		if err := tx.PutToken(t); err != nil {
			return err
		}
		out = viewOf(t)
		return s.notify(tx, now, acc, noteActivation, noteValues{serial: serial, expires: date(t.ExpiresAt)})
	})
	return out, err
}

// heldToken returns the serial of a non-revoked token the account holds, or "".
func (s *Server) heldToken(tx Tx, userID string) (string, error) {
	owned, err := tx.Tokens(TokenFilter{OwnerID: userID})
	if err != nil {
		return "", err
	}
	for _, t := range owned {
		if t.Status != StatusRevoked {
			return t.Serial, nil
		}
	}
	return "", nil
}

// loginToken finds the token a user logs in with: their own, or — for a
// connected child account without a credential of its own — the parent's.
// A revoked token is no credential (a child may be connected with one), so
// the parent's token comes before the account's own revoked one; that one
// answers only when there is nothing else, so that its owner hears it was
// revoked.
func (s *Server) loginToken(tx Tx, acc Account) (Token, error) {
	var revoked *Token
	for _, id := range []string{acc.UserID, acc.ParentID} {
		if id == "" {
			continue
		}
		owned, err := tx.Tokens(TokenFilter{OwnerID: id})
		if err != nil {
			return Token{}, err
		}
		for i, t := range owned {
			if t.Status != StatusRevoked {
				return t, nil
			}
			if id == acc.UserID {
				revoked = &owned[i]
			}
		}
	}
	if revoked != nil {
		return *revoked, nil
	}
	return Token{}, s.refuse(CodeNoToken, "account %s has no hardware token", acc.UserID)
}

// usable refuses a login with a token in a state that cannot log in.
func (s *Server) usable(t Token, now time.Time) error {
	switch {
	case t.Status == StatusRevoked:
		return s.refuse(CodeTokenRevoked, "token %s was revoked", t.Serial)
	case t.Status == StatusExpired || t.Status == StatusActive && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return s.refuse(CodeTokenExpired, "token %s expired on %s", t.Serial, t.ExpiresAt.UTC().Format(time.RFC3339))
	case t.Status == StatusPendingApproval:
		return s.refusePendingApproval(t.Serial)
	case t.Status != StatusActive:
		return s.refuse(CodeTokenUnusable, "token %s is %s", t.Serial, t.Status)
	case t.Locked:
		return s.refuse(CodeTokenLocked, "token %s is locked after too many wrong codes (%d in a row, %d in %s)", t.Serial, t.FailCount, len(t.FailureTimes), s.policy.LockoutBudgetWindow)
	}
	return nil
}

// refusePendingApproval refuses a login or a resync of a token pending
// approval, with the guide's message for it (MessageVariants).
func (s *Server) refusePendingApproval(serial string) error {
	e := s.refuse(CodeTokenUnusable, "token %s is pending approval: an administrator must approve it", serial)
	e.Message = s.msgs["pending_approval"]
	return e
}

// verifyTx checks a login code against the user's token and records the
// outcome (see docs/lifecycle.md, “Login and verification”).
func (s *Server) verifyTx(tx Tx, now time.Time, acc Account, otp string) (Verification, Token, error) {
	return s.verifyOrChallengeTx(tx, now, acc, otp, nil)
}

// verifyOrChallengeTx is verifyTx; with nc, a TOTP code outside the login
// window but within the sync window is neither accepted nor counted: nc is
// filled in with its step instead, and the error is nil with a zero
// Verification (see VerifyOrChallenge).
func (s *Server) verifyOrChallengeTx(tx Tx, now time.Time, acc Account, otp string, nc *nextCode) (Verification, Token, error) {
	t, err := s.loginToken(tx, acc)
	if err != nil {
		return Verification{}, t, err
	}
	if err := s.usable(t, now); err != nil {
		return Verification{}, t, err
	}
	code, err := s.parseCode(&t, otp)
	if err != nil {
		return Verification{}, t, err
	}
	gen, err := s.generator(&t)
	if err != nil {
		return Verification{}, t, err
	}
	var (
		st           int64
		ok, replayed bool
		nowStep      int64
		center       = addSat(t.LastStep, 1) // an HOTP counter at the end of the range does not wrap
		radius       = s.policy.HOTPLookAhead
	)
	if t.Kind == oath.TOTP {
		nowStep = t.step(now)
		center, radius = s.loginWindow(&t, now)
	}
	// HOTP: the look-ahead either side of the next counter also finds
	// recently used counters, so that their replay is named as such.
	st, ok, replayed = gen.Match(code, center, radius, t.LastStep)
	if ok {
		t.LastStep, t.FailCount, t.LastUsedAt = st, 0, now
		if t.Kind == oath.TOTP {
			s.synced(&t, now, st-nowStep)
		}
		if err := tx.PutToken(t); err != nil {
			return Verification{}, t, err
		}
		return Verification{Serial: t.Serial, Step: st, DriftSteps: t.DriftSteps}, t, nil
	}
	if replayed {
		return Verification{}, t, s.refuse(CodeOTPReplayed, "the code of token %s was already accepted", t.Serial)
	}
	if nc != nil && t.Kind == oath.TOTP && !s.policy.NoNextCodeChallenge {
		if st, ok, _ := gen.Match(code, nowStep+t.DriftSteps, s.policy.SyncWindow, t.LastStep); ok {
			nc.serial, nc.step = t.Serial, st
			return Verification{}, t, nil
		}
	}
	err = s.wrongCode(tx, &t, now)
	return Verification{}, t, err
}

// wrongCode counts a wrong login code against the token, locks it when a
// lockout rule says so, and returns the refusal.
func (s *Server) wrongCode(tx Tx, t *Token, now time.Time) error {
	// Two rules lock (docs/lifecycle.md, “Lockout”): LockoutThreshold wrong
	// codes in a row, and LockoutBudget in the budget's window, successes
	// between them or not.
	t.FailCount++
	t.FailureTimes = s.policy.addFailure(t.FailureTimes, now)
	if t.FailCount >= s.policy.LockoutThreshold || len(t.FailureTimes) >= s.policy.LockoutBudget {
		t.Locked = true
		t.endSessions()
	}
	if err := tx.PutToken(*t); err != nil {
		return err
	}
	return s.refuse(CodeOTPInvalid, "wrong code for token %s (%d of %d in a row, %d of %d in %s before lockout)",
		t.Serial, t.FailCount, s.policy.LockoutThreshold, len(t.FailureTimes), s.policy.LockoutBudget, s.policy.LockoutBudgetWindow)
}

// addFailure adds a wrong login code at now to a token's FailureTimes: the
// times that have left the budget's window go, and so do the oldest beyond
// LockoutBudget, so that a token keeps at most LockoutBudget times. It
// returns a new slice and leaves times as it was.
func (p Policy) addFailure(times []time.Time, now time.Time) []time.Time {
	since := now.Add(-p.LockoutBudgetWindow)
	kept := make([]time.Time, 0, min(len(times)+1, p.LockoutBudget))
	for _, at := range times[max(0, len(times)+1-p.LockoutBudget):] {
		if at.After(since) {
			kept = append(kept, at)
		}
	}
	return append(kept, now)
}

// Verify checks a login code of the user's hardware token. A code is
// accepted within ±LoginWindow steps of the server's time plus the learned
// drift, once; success updates the drift and clears the failure counter.
func (s *Server) Verify(ctx context.Context, userID, otp string) (Verification, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Verification{}, err
	}
	var out Verification
	err := s.do(ctx, AsUser(userID), "token.verify", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		out, _, err = s.verifyTx(tx, now, acc, otp)
		return err
	})
	return out, err
}

// mayManage refuses an actor who is neither an administrator, nor the
// administrator of the organization of the token's owner, nor the token's
// owner (or, for a pending token, the user it is sponsored to). An
// organization administrator's claim is checked against their account even
// on their own token; a token on no account is no organization's.
func (s *Server) mayManage(tx Tx, actor Actor, t Token) error {
	switch {
	case actor.Admin:
		return nil
	case actor.OrgAdmin && t.OwnerID == "":
		return s.refuse(CodeForbidden, "token %s is on no account: %s acts on the accounts of their organization", t.Serial, actor)
	case actor.OrgAdmin:
		return s.orgAdminOver(tx, actor, t.OwnerID)
	case actor.ID != "" && actor.ID == t.OwnerID:
		return nil
	}
	if actor.ID != "" && t.Status == StatusPendingActivation {
		if _, err := tx.Sponsorship(actor.ID, t.Serial); err == nil {
			return nil
		}
	}
	return s.refuse(CodeForbidden, "%s may not manage token %s", actor, t.Serial)
}

// manageable loads a token an actor acts on: it must exist, the actor must
// be its owner (or the user it is sponsored to) or an administrator, and it
// must not be revoked — revocation is permanent.
func (s *Server) manageable(tx Tx, actor Actor, serial string) (Token, error) {
	t, err := s.token(tx, serial, CodeNotFound)
	if err != nil {
		return t, err
	}
	if err := s.mayManage(tx, actor, t); err != nil {
		return t, err
	}
	if t.Status == StatusRevoked {
		return t, s.refuse(CodeTokenRevoked, "token %s was revoked", serial)
	}
	return t, nil
}

// Resync re-synchronises (reactivates) a token with two consecutive codes:
// the drift is set, the lock and failure counter cleared, and both codes
// are consumed.
func (s *Server) Resync(ctx context.Context, actor Actor, serial, otp1, otp2 string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	var out TokenView
	err := s.do(ctx, actor, "token.resync", serial, func(tx Tx, now time.Time) error {
		t, err := s.manageable(tx, actor, serial)
		if err != nil {
			return err
		}
		switch t.Status {
		case StatusActive:
		case StatusExpired:
			return s.refuse(CodeTokenExpired, "token %s expired", serial)
		case StatusPendingActivation:
			return s.refuse(CodeActionUnavailable, "token %s is not activated yet", serial)
		case StatusPendingApproval:
			return s.refusePendingApproval(serial)
		default:
			return s.refuse(CodeTokenUnusable, "only an Active token can be resynchronised; %s is %s", serial, t.Status)
		}
		if t.Blocked {
			return s.refuse(CodeActivationBlocked, "resync of %s is blocked after %d failed attempts: an administrator must reset it", serial, t.ResyncFailures)
		}
		c1, err := s.parseCode(&t, otp1)
		if err != nil {
			return err
		}
		c2, err := s.parseCode(&t, otp2)
		if err != nil {
			return err
		}
		nowStep := t.step(now)
		step, ok, replayed, err := s.findPair(&t, c1, c2, nowStep+t.DriftSteps, s.policy.SyncWindow)
		if err != nil {
			return err
		}
		if !ok && replayed {
			return s.refuse(CodeOTPReplayed, "the codes of token %s were already accepted", serial)
		}
		if !ok {
			t.ResyncFailures++
			if t.ResyncFailures >= s.policy.ResyncAttempts {
				t.Blocked = true
			}
			if err := tx.PutToken(t); err != nil {
				return err
			}
			return s.refuse(CodeOTPIncorrect, "no two consecutive codes in ±%d steps (attempt %d of %d)", s.policy.SyncWindow, t.ResyncFailures, s.policy.ResyncAttempts)
		}
		// Proof of holding the token: it unlocks, and both lockout rules
		// start again (docs/lifecycle.md, “Lockout”).
		t.LastStep, t.Locked, t.FailCount, t.FailureTimes, t.ResyncFailures, t.LastUsedAt = step, false, 0, nil, 0, now
		if t.Kind == oath.TOTP {
			s.synced(&t, now, step-nowStep)
		}
		out = viewOf(t)
		return tx.PutToken(t)
	})
	return out, err
}

// Reset is an administrator's reset: it unblocks activation and resync
// after too many failed attempts. It does not unlock a locked token: only a
// resync does.
func (s *Server) Reset(ctx context.Context, actor Actor, serial string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	return s.tokenAction(ctx, actor, "token.reset", serial, func(tx Tx, now time.Time) (Token, error) {
		if !actor.Admin {
			return Token{}, s.refuse(CodeForbidden, "only an administrator resets a token")
		}
		t, err := s.token(tx, serial, CodeNotFound)
		if err != nil {
			return t, err
		}
		if t.Status == StatusRevoked {
			return t, s.refuse(CodeTokenRevoked, "token %s was revoked", serial)
		}
		t.Blocked, t.ActivationFailures, t.ResyncFailures = false, 0, 0
		return t, tx.PutToken(t)
	})
}

// Approve moves a token from Pending Approval to Active (Policy.ApprovalRequired).
func (s *Server) Approve(ctx context.Context, actor Actor, serial string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	return s.tokenAction(ctx, actor, "token.approve", serial, func(tx Tx, now time.Time) (Token, error) {
		if !actor.Admin {
			return Token{}, s.refuse(CodeForbidden, "only an administrator approves a token")
		}
		t, err := s.token(tx, serial, CodeNotFound)
		if err != nil {
			return t, err
		}
		if t.Status != StatusPendingApproval {
			return t, s.refuse(CodeActionUnavailable, "token %s is %s, not pending approval", serial, t.Status)
		}
		t.Status = StatusActive
		s.schedule(&t)
		return t, tx.PutToken(t)
	})
}

// Suspend suspends an active token, by its user or an administrator.
func (s *Server) Suspend(ctx context.Context, actor Actor, serial string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	return s.tokenAction(ctx, actor, "token.suspend", serial, func(tx Tx, now time.Time) (Token, error) {
		t, err := s.manageable(tx, actor, serial)
		if err != nil {
			return t, err
		}
		if t.Status != StatusActive {
			return t, s.refuse(CodeActionUnavailable, "only an Active token can be suspended; %s is %s", serial, t.Status)
		}
		t.Status, t.SuspendedBy, t.SuspendedAt, t.Reminders = StatusSuspended, actor.kind(), now, nil
		t.endSessions()
		s.schedule(&t)
		return t, tx.PutToken(t)
	})
}

// Enable re-enables a suspended token. A token an administrator suspended
// only an administrator may re-enable.
func (s *Server) Enable(ctx context.Context, actor Actor, serial string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	return s.tokenAction(ctx, actor, "token.enable", serial, func(tx Tx, now time.Time) (Token, error) {
		t, err := s.manageable(tx, actor, serial)
		if err != nil {
			return t, err
		}
		if t.Status != StatusSuspended {
			return t, s.refuse(CodeActionUnavailable, "token %s is %s, not suspended", serial, t.Status)
		}
		if t.SuspendedBy == ActorAdmin && actor.kind() != ActorAdmin {
			return t, s.refuse(CodeForbidden, "token %s was suspended by an administrator: only an administrator may re-enable it", serial)
		}
		t.Status, t.SuspendedBy, t.SuspendedAt, t.Reminders = StatusActive, "", time.Time{}, nil
		s.schedule(&t)
		return t, tx.PutToken(t)
	})
}

// Renew moves the expiry one validity period (a year) past the previous
// expiry date; an expired token becomes Active again.
func (s *Server) Renew(ctx context.Context, actor Actor, serial string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	return s.tokenAction(ctx, actor, "token.renew", serial, func(tx Tx, now time.Time) (Token, error) {
		t, err := s.manageable(tx, actor, serial)
		if err != nil {
			return t, err
		}
		switch t.Status {
		case StatusActive, StatusExpired, StatusSuspended:
		default:
			return t, s.refuse(CodeActionUnavailable, "token %s is %s: only an activated token is renewed", serial, t.Status)
		}
		if !now.Before(t.ExpiresAt) {
			// Expired, or due and not yet swept: its sessions ended at the
			// expiry and stay ended.
			t.endSessions()
		}
		t.ExpiresAt = t.ExpiresAt.Add(s.policy.Validity)
		if t.Status == StatusExpired {
			t.Status = StatusActive
		}
		t.Reminders = nil
		s.schedule(&t)
		return t, tx.PutToken(t)
	})
}

// Revoke revokes a token for good, by its user or an administrator, from
// Pending Activation, Active (locked or not), Expired or Suspended. The
// user's sessions end, their password is reset to a temporary one sent by
// e-mail, and the "remember my token" cookie is cleared; an administrator's
// revocation also sends the user a revocation notice. A token that was never
// activated is no account's credential: revoking it (the administrator, or
// the user it is sponsored to) has no side effects on an account.
//
// The temporary password is hashed before the write transaction, never in it
// (checkPassword says why): a read first says whether the revocation will
// need one. If the token turns out to be on an account when the transaction
// runs though the read said it was not, the transaction rolls back and runs
// again with a password.
func (s *Server) Revoke(ctx context.Context, actor Actor, serial string) (TokenView, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	var temp *tempPassword
	var need bool
	err := s.view(ctx, func(tx Tx) error {
		t, err := s.manageable(tx, actor, serial)
		need = err == nil && t.OwnerID != "" && revocable(t.Status)
		return nil // a refusal is the write transaction's to give and audit
	})
	if err != nil {
		return TokenView{}, err
	}
	if need {
		if temp, err = s.newTempPassword(ctx); err != nil {
			return TokenView{}, err
		}
	}
	for {
		v, err := s.revoke(ctx, actor, serial, temp)
		if errors.Is(err, errNeedTempPassword) && temp == nil {
			if temp, err = s.newTempPassword(ctx); err != nil {
				return TokenView{}, err
			}
			continue
		}
		return v, err
	}
}

// revocable reports a status a token can be revoked from.
func revocable(st Status) bool {
	switch st {
	case StatusPendingActivation, StatusActive, StatusExpired, StatusSuspended:
		return true
	}
	return false
}

// revoke is Revoke's write transaction; it fails with errNeedTempPassword
// when the token is on an account and temp is nil.
func (s *Server) revoke(ctx context.Context, actor Actor, serial string, temp *tempPassword) (TokenView, error) {
	return s.tokenAction(ctx, actor, "token.revoke", serial, func(tx Tx, now time.Time) (Token, error) {
		t, err := s.manageable(tx, actor, serial)
		if err != nil {
			return t, err
		}
		if !revocable(t.Status) {
			return t, s.refuse(CodeActionUnavailable, "a token %s cannot be revoked", t.Status)
		}
		by := actor.kind()
		t.Status, t.RevokedAt, t.RevokedBy, t.NextEventAt = StatusRevoked, now, by, time.Time{}
		t.endSessions() // a connected child's sessions too
		if err := tx.PutToken(t); err != nil {
			return t, err
		}
		if t.OwnerID == "" {
			return t, nil // never activated: no account's credential, no side effects
		}
		acc, err := tx.Account(t.OwnerID)
		if errors.Is(err, ErrNoRecord) {
			return t, nil
		}
		if err != nil {
			return t, err
		}
		if temp == nil {
			return t, errNeedTempPassword
		}
		return t, s.revocationEffects(tx, now, &acc, t, by, temp)
	})
}

// tokenAction runs a lifecycle action that an Actor takes on a token and
// answers with the token's view after it, read in the same transaction.
func (s *Server) tokenAction(ctx context.Context, actor Actor, action, serial string, fn func(tx Tx, now time.Time) (Token, error)) (TokenView, error) {
	if err := CheckActor(actor); err != nil {
		return TokenView{}, err
	}
	var out TokenView
	err := s.do(ctx, actor, action, serial, func(tx Tx, now time.Time) error {
		t, err := fn(tx, now)
		if err == nil {
			out = viewOf(t)
		}
		return err
	})
	if err != nil {
		return TokenView{}, err
	}
	return out, nil
}

// revocationEffects ends the user's sessions, resets the password, clears
// the remember-token cookie and sends the e-mails.
func (s *Server) revocationEffects(tx Tx, now time.Time, acc *Account, t Token, by ActorKind, temp *tempPassword) error {
	sessions, err := tx.Sessions(acc.UserID)
	if err != nil {
		return err
	}
	for _, ss := range sessions {
		if ss.EndedAt.IsZero() {
			ss.EndedAt = now
			if err := tx.PutSession(ss); err != nil {
				return err
			}
		}
	}
	acc.RememberToken = false
	if by == ActorAdmin {
		if err := s.notify(tx, now, *acc, noteRevokedByAdmin, noteValues{serial: t.Serial}); err != nil {
			return err
		}
	}
	if err := s.resetPassword(tx, now, acc, t.Serial, temp); err != nil {
		return err
	}
	// Losing the only credential means proofing again.
	if err := s.dropProofingWithoutCredential(tx, acc, now, t.Serial); err != nil {
		return err
	}
	return tx.PutAccount(*acc)
}
