package server

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Login checks a user's password and, when otp is not empty, their
// hardware token's code. Without a code the session has password strength
// ("Skip OTP"): applications that need more refuse it until it is elevated.
// A login with the token sets the "remember my token" cookie flag.
//
// The password is compared before the write transaction, which only checks
// that the hash compared is still the account's (checkPassword).
func (s *Server) Login(ctx context.Context, userID, password, otp string) (Session, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Session{}, err
	}
	checked, ok, err := s.checkPassword(ctx, userID, password)
	if err != nil {
		return Session{}, err
	}
	var out Session
	err = s.do(ctx, AsUser(userID), "session.login", userID, func(tx Tx, now time.Time) error {
		acc, err := s.passwordChecked(tx, userID, checked, ok)
		if err != nil {
			return err
		}
		ss := Session{ID: randomString(32, "abcdefghijklmnopqrstuvwxyz0123456789"), UserID: userID, CreatedAt: now,
			LastUsedAt: now, Strength: Strength{Credential: CredentialPassword, Level: 1}, MustChangePassword: acc.TemporaryPassword}
		if otp != "" {
			_, t, err := s.verifyTx(tx, now, acc, otp)
			if err != nil {
				return err
			}
			ss.Strength = Strength{Credential: CredentialHardwareOTP, Level: tokenLevel(t, acc)}
			ss.Serial, ss.TokenEpoch = t.Serial, t.SessionEpoch
			acc.RememberToken = true
			if err := tx.PutAccount(acc); err != nil {
				return err
			}
		}
		out = ss
		return tx.PutSession(ss)
	})
	return out, err
}

// tokenLevel is a token's level; a level 2 token of a proofed user counts as 3.
func tokenLevel(t Token, acc Account) Level {
	if t.Level == LevelProofed || acc.Proofed {
		return LevelProofed
	}
	return LevelUnproofed
}

// liveSession loads a session that a write uses (Elevate, Access, Logout):
// it refuses one that has ended, recording when if nothing had yet, and
// counts the use as activity, which keeps the session from idling out.
func (s *Server) liveSession(tx Tx, id string, now time.Time) (Session, error) {
	ss, err := tx.Session(id)
	if errors.Is(err, ErrNoRecord) {
		return ss, s.refuse(CodeSessionInvalid, "no session %q", id)
	}
	if err != nil {
		return ss, err
	}
	end, why, err := s.sessionEnd(tx, ss, now)
	if err != nil {
		return ss, err
	}
	if why != "" {
		if ss.EndedAt.IsZero() {
			ss.EndedAt = end
			if err := tx.PutSession(ss); err != nil {
				return ss, err
			}
		}
		return ss, s.refuse(CodeSessionInvalid, "session %q has ended: %s", id, why)
	}
	ss.LastUsedAt = now
	return ss, tx.PutSession(ss)
}

// sessionEnd says whether a session has ended at now, when, and why (""
// while it is live): logged out or ended by a revocation (EndedAt),
// SessionIdleTimeout after its last use, SessionMaxLifetime after the login,
// or, for a session whose strength came from a hardware token, as soon as
// that token has stopped being usable, even if it is usable again now
// (docs/lifecycle.md, “Sessions”).
func (s *Server) sessionEnd(tx Tx, ss Session, now time.Time) (time.Time, string, error) {
	if !ss.EndedAt.IsZero() {
		return ss.EndedAt, "at " + ss.EndedAt.UTC().Format(time.RFC3339), nil
	}
	last := ss.LastUsedAt
	if last.IsZero() {
		last = ss.CreatedAt
	}
	end, why := last.Add(s.policy.SessionIdleTimeout), fmt.Sprintf("unused for %s", s.policy.SessionIdleTimeout)
	if limit := ss.CreatedAt.Add(s.policy.SessionMaxLifetime); limit.Before(end) {
		end, why = limit, fmt.Sprintf("%s after the login", s.policy.SessionMaxLifetime)
	}
	if !now.Before(end) {
		return end, why, nil
	}
	if ss.Strength.Credential == CredentialPhoneOTP && ss.PhoneOwner != "" {
		return s.phoneSessionEnd(tx, ss, now) // phone.go
	}
	if ss.Strength.Credential != CredentialHardwareOTP || ss.Serial == "" {
		return time.Time{}, "", nil
	}
	t, err := tx.Token(ss.Serial)
	if errors.Is(err, ErrNoRecord) {
		return now, fmt.Sprintf("its token %s is gone", ss.Serial), nil
	}
	if err != nil {
		return time.Time{}, "", err
	}
	if t.SessionEpoch != ss.TokenEpoch || s.usable(t, now) != nil {
		return now, fmt.Sprintf("its token %s stopped being usable", ss.Serial), nil
	}
	return time.Time{}, "", nil
}

// endSessions ends the hardware OTP sessions the token gave their strength:
// the token has stopped being usable to log in (suspended, locked, expired,
// revoked). It changes the token only; each session finds out when it is
// next used (sessionEnd), which reaches the sessions of connected accounts
// too.
func (t *Token) endSessions() { t.SessionEpoch++ }

// Elevate raises a password-strength session to hardware OTP with a code of
// the user's token, without logging out (the guide's "Elevate Credential
// Strength"). The code is checked exactly as at login.
func (s *Server) Elevate(ctx context.Context, sessionID, otp string) (Session, error) {
	if err := s.checkIDs(sessionRef(&sessionID)); err != nil {
		return Session{}, err
	}
	var out Session
	err := s.do(ctx, Actor{ID: "session"}, "session.elevate", sessionID, func(tx Tx, now time.Time) error {
		ss, err := s.liveSession(tx, sessionID, now)
		if err != nil {
			return err
		}
		acc, err := s.account(tx, ss.UserID)
		if err != nil {
			return err
		}
		_, t, err := s.verifyTx(tx, now, acc, otp)
		if err != nil {
			return err
		}
		ss.Strength = Strength{Credential: CredentialHardwareOTP, Level: tokenLevel(t, acc)}
		ss.Serial, ss.TokenEpoch = t.Serial, t.SessionEpoch
		ss.MustChangePassword = acc.TemporaryPassword
		out = ss
		return tx.PutSession(ss)
	})
	return out, err
}

// Access is a session launching an application: refused while the
// account's password is a temporary one (password_change_required: the
// guide's "When prompted, enter a new permanent password" comes before
// anything else), when the application's terms are not accepted for the
// user's organization, or when it needs a stronger credential.
func (s *Server) Access(ctx context.Context, sessionID, appID string) error {
	if err := s.checkIDs(sessionRef(&sessionID), appRef(&appID)); err != nil {
		return err
	}
	return s.do(ctx, Actor{ID: "session"}, "application.access", appID, func(tx Tx, now time.Time) error {
		ss, err := s.liveSession(tx, sessionID, now)
		if err != nil {
			return err
		}
		acc, err := s.account(tx, ss.UserID)
		if err != nil {
			return err
		}
		if acc.TemporaryPassword {
			return s.refuse(CodePasswordChangeRequired, "%s logged in with a temporary password and has not changed it", ss.UserID)
		}
		app, err := tx.Application(appID)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no application %q", appID)
		}
		if err != nil {
			return err
		}
		if app.Terms != "" {
			if ok, err := s.termsAccepted(tx, acc, appID); err != nil {
				return err
			} else if !ok {
				return s.refuse(CodeTermsNotAccepted, "%s has not accepted the terms of %s", ss.UserID, appID)
			}
		}
		if !ss.Strength.Meets(app.MinStrength) {
			return s.refuse(CodeStrengthTooLow, "%s needs %s level %d; the session has %s level %d", appID,
				app.MinStrength.Credential, app.MinStrength.Level, ss.Strength.Credential, ss.Strength.Level)
		}
		return nil
	})
}

// Session returns a live session; one that has ended is session_invalid.
// Looking at a session is not using it: it does not keep it from idling
// out.
func (s *Server) Session(ctx context.Context, id string) (Session, error) {
	if err := s.checkIDs(sessionRef(&id)); err != nil {
		return Session{}, err
	}
	now, err := s.now(ctx)
	if err != nil {
		return Session{}, err
	}
	var out Session
	err = s.view(ctx, func(tx Tx) error {
		ss, err := tx.Session(id)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeSessionInvalid, "no session %q", id)
		}
		if err != nil {
			return err
		}
		_, why, err := s.sessionEnd(tx, ss, now)
		if err != nil {
			return err
		}
		if why != "" {
			return s.refuse(CodeSessionInvalid, "session %q has ended: %s", id, why)
		}
		// The flag is the account's now, not what it was at the login: a
		// change of password lifts it for the sessions already open.
		acc, err := tx.Account(ss.UserID)
		if err != nil && !errors.Is(err, ErrNoRecord) {
			return err
		}
		ss.MustChangePassword = acc.TemporaryPassword
		out = ss
		return nil
	})
	return out, err
}

// Logout ends a session.
func (s *Server) Logout(ctx context.Context, id string) error {
	if err := s.checkIDs(sessionRef(&id)); err != nil {
		return err
	}
	return s.do(ctx, Actor{ID: "session"}, "session.logout", id, func(tx Tx, now time.Time) error {
		ss, err := s.liveSession(tx, id, now)
		if err != nil {
			return err
		}
		ss.EndedAt = now
		return tx.PutSession(ss)
	})
}
