package server

import (
	"context"
	"errors"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// TokenView is what the server tells about a token: never its secret.
type TokenView struct {
	Serial        string    `json:"serial"`
	Status        Status    `json:"status"`
	SubStatus     string    `json:"sub_status"`
	StatusDisplay string    `json:"status_display"`
	Kind          string    `json:"kind"`
	Algorithm     string    `json:"algorithm"`
	Digits        int       `json:"digits"`
	PeriodS       int64     `json:"period_s,omitempty"`
	OwnerID       string    `json:"owner_id,omitempty"`
	Level         Level     `json:"level,omitempty"`
	FailCount     int       `json:"fail_count"`
	Blocked       bool      `json:"blocked"`
	DriftSteps    int64     `json:"drift_steps"`
	DriftPPM      float64   `json:"drift_ppm"`
	LastStep      *int64    `json:"last_step"`
	SuspendedBy   ActorKind `json:"suspended_by,omitempty"`
	ActivatedAt   time.Time `json:"activated_at,omitzero"`
	LastUsedAt    time.Time `json:"last_used_at,omitzero"`
	// ExpiresAt is null until the token is activated.
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt time.Time  `json:"revoked_at,omitzero"`
}

func viewOf(t Token) TokenView {
	v := TokenView{
		Serial: t.Serial, Status: t.Status, SubStatus: string(t.Status), StatusDisplay: t.Status.Display(t.Locked),
		Kind: t.Kind.String(), Algorithm: t.Algorithm.String(), Digits: t.Digits, OwnerID: t.OwnerID, Level: t.Level,
		FailCount: t.FailCount, Blocked: t.Blocked, DriftSteps: t.DriftSteps, DriftPPM: t.DriftPPM, SuspendedBy: t.SuspendedBy,
		ActivatedAt: t.ActivatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt,
	}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt
		v.ExpiresAt = &e
	}
	if t.Kind == oath.TOTP {
		v.PeriodS = t.PeriodS
	}
	if t.Status == StatusActive {
		v.SubStatus = "active"
		if t.Locked {
			v.SubStatus = "locked"
		}
	}
	if t.LastStep >= 0 {
		ls := t.LastStep
		v.LastStep = &ls
	}
	return v
}

// Token returns a token's view (never its secret).
func (s *Server) Token(ctx context.Context, serial string) (TokenView, error) {
	if err := s.checkIDs(serialRef(&serial)); err != nil {
		return TokenView{}, err
	}
	var v TokenView
	err := s.view(ctx, func(tx Tx) error {
		t, err := tx.Token(serial)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no token %q", serial)
		}
		if err != nil {
			return err
		}
		v = viewOf(t)
		return nil
	})
	return v, err
}

// Tokens lists tokens (views), filtered.
func (s *Server) Tokens(ctx context.Context, f TokenFilter) ([]TokenView, error) {
	if err := s.checkIDs(optional(userRef(&f.OwnerID))); err != nil {
		return nil, err
	}
	var out []TokenView
	err := s.view(ctx, func(tx Tx) error {
		ts, err := tx.Tokens(f)
		for _, t := range ts {
			out = append(out, viewOf(t))
		}
		return err
	})
	return out, err
}

// Notifications lists a user's outbox, oldest first ("" for everyone's).
func (s *Server) Notifications(ctx context.Context, userID string) ([]Notification, error) {
	if err := s.checkIDs(optional(userRef(&userID))); err != nil {
		return nil, err
	}
	var out []Notification
	err := s.view(ctx, func(tx Tx) (err error) { out, err = tx.Notifications(userID); return err })
	return out, err
}

// Audit lists the audit log for a target ("" for all), oldest first, at
// most limit entries (the newest).
func (s *Server) Audit(ctx context.Context, target string, limit int) ([]AuditEntry, error) {
	if err := s.checkAuditTarget(target); err != nil {
		return nil, err
	}
	var out []AuditEntry
	err := s.view(ctx, func(tx Tx) (err error) { out, err = tx.Audit(target, limit); return err })
	return out, err
}
