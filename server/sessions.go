package server

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Login checks a user's password and, when otp is not empty, their
// hardware token's code. Without a code the session has password strength
// ("Skip OTP"): applications that need more refuse it until it is elevated.
// A login with the token sets the "remember my token" cookie flag.
func (s *Server) Login(ctx context.Context, userID, password, otp string) (Session, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Session{}, err
	}
	var out Session
	err := s.do(ctx, AsUser(userID), "session.login", userID, func(tx Tx, now time.Time) error {
		acc, err := tx.Account(userID)
		if errors.Is(err, ErrNoRecord) || err == nil && bcrypt.CompareHashAndPassword(acc.PasswordHash, []byte(password)) != nil {
			return s.refuse(CodeCredentialsInvalid, "wrong user or password")
		}
		if err != nil {
			return err
		}
		ss := Session{ID: randomString(32, "abcdefghijklmnopqrstuvwxyz0123456789"), UserID: userID, CreatedAt: now,
			Strength: Strength{Credential: CredentialPassword, Level: 1}}
		if otp != "" {
			_, t, err := s.verifyTx(tx, now, acc, otp)
			if err != nil {
				return err
			}
			ss.Strength = Strength{Credential: CredentialHardwareOTP, Level: tokenLevel(t, acc)}
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

func (s *Server) session(tx Tx, id string) (Session, error) {
	ss, err := tx.Session(id)
	if errors.Is(err, ErrNoRecord) || err == nil && !ss.EndedAt.IsZero() {
		return ss, s.refuse(CodeSessionInvalid, "no live session %q", id)
	}
	return ss, err
}

// Elevate raises a password-strength session to hardware OTP with a code of
// the user's token, without logging out (the guide's "Elevate Credential
// Strength"). The code is checked exactly as at login.
func (s *Server) Elevate(ctx context.Context, sessionID, otp string) (Session, error) {
	if err := s.checkIDs(sessionRef(&sessionID)); err != nil {
		return Session{}, err
	}
	var out Session
	err := s.do(ctx, Actor{ID: "session"}, "session.elevate", sessionID, func(tx Tx, now time.Time) error {
		ss, err := s.session(tx, sessionID)
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
		out = ss
		return tx.PutSession(ss)
	})
	return out, err
}

// Access is a session launching an application: refused when the
// application's terms are not accepted or it needs a stronger credential.
func (s *Server) Access(ctx context.Context, sessionID, appID string) error {
	if err := s.checkIDs(sessionRef(&sessionID), appRef(&appID)); err != nil {
		return err
	}
	return s.do(ctx, Actor{ID: "session"}, "application.access", appID, func(tx Tx, now time.Time) error {
		ss, err := s.session(tx, sessionID)
		if err != nil {
			return err
		}
		app, err := tx.Application(appID)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no application %q", appID)
		}
		if err != nil {
			return err
		}
		if app.Terms != "" {
			if ok, err := tx.TermsAccepted(ss.UserID, appID); err != nil {
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

// Session returns a session.
func (s *Server) Session(ctx context.Context, id string) (Session, error) {
	if err := s.checkIDs(sessionRef(&id)); err != nil {
		return Session{}, err
	}
	var out Session
	err := s.view(ctx, func(tx Tx) (err error) { out, err = tx.Session(id); return err })
	if errors.Is(err, ErrNoRecord) {
		return out, s.refuse(CodeSessionInvalid, "no session %q", id)
	}
	return out, err
}

// Logout ends a session.
func (s *Server) Logout(ctx context.Context, id string) error {
	if err := s.checkIDs(sessionRef(&id)); err != nil {
		return err
	}
	return s.do(ctx, Actor{ID: "session"}, "session.logout", id, func(tx Tx, now time.Time) error {
		ss, err := s.session(tx, id)
		if err != nil {
			return err
		}
		ss.EndedAt = now
		return tx.PutSession(ss)
	})
}
