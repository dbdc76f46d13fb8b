package server

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
)

// Config is what a Server needs. Store and SeedKey are required; a nil
// Clock is the system clock and a zero Policy the guide's defaults.
type Config struct {
	Store   Store
	Clock   Clock
	Policy  Policy
	SeedKey []byte
}

// Server is the verification service. Its methods are the portal's flows;
// each runs in one store transaction. It is safe for concurrent use.
type Server struct {
	store  Store
	clock  Clock
	policy Policy
	msgs   messages
	sealer *sealer

	gensMu sync.Mutex
	gens   map[string]*oath.Generator // decoded seeds, by serial
}

// New makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	sl, err := newSealer(cfg.SeedKey)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	p := cfg.Policy.withDefaults()
	return &Server{store: cfg.Store, clock: cfg.Clock, policy: p, msgs: newMessages(p), sealer: sl, gens: map[string]*oath.Generator{}}, nil
}

// Policy returns the policy in force, defaults filled in. It never fails: the
// error is there for Service, whose remote implementation may.
func (s *Server) Policy(context.Context) (Policy, error) { return s.policy, nil }

// Clock is the server's clock.
func (s *Server) Clock() Clock { return s.clock }

// Now is the server's time.
func (s *Server) Now(context.Context) (time.Time, error) { return s.clock.Now(), nil }

// The server and the HTTP client are one service.
var _ Service = (*Server)(nil)

// Close closes the store.
func (s *Server) Close() error { return s.store.Close() }

// Actor is who asks for an operation.
type Actor struct {
	ID    string
	Admin bool
}

// AsUser is a user acting for themselves.
func AsUser(userID string) Actor { return Actor{ID: userID} }

// AsAdmin is an administrator.
func AsAdmin(id string) Actor { return Actor{ID: id, Admin: true} }

// System is the server itself (the sweep).
var System = Actor{ID: "system", Admin: true}

func (a Actor) String() string {
	if a.Admin && a != System {
		return "admin:" + a.ID
	}
	return a.ID
}

// do runs fn in one Update and audits the outcome. A refusal (*Error)
// commits what fn wrote before refusing — a failure counter, a lock — and is
// audited with its code; any other error rolls everything back.
func (s *Server) do(ctx context.Context, actor Actor, action, target string, fn func(tx Tx, now time.Time) error) error {
	var refusal *Error
	err := s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		err := fn(tx, now)
		outcome := "ok"
		if err != nil {
			if !errors.As(err, &refusal) {
				return err
			}
			outcome = string(refusal.Code)
		}
		detail := ""
		if refusal != nil {
			detail = refusal.Detail
		}
		_, aerr := tx.AddAudit(AuditEntry{At: now, Actor: actor.String(), Action: action, Target: target, Outcome: outcome, Detail: detail})
		return aerr
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	return nil
}

// view runs fn in a read transaction.
func (s *Server) view(ctx context.Context, fn func(tx Tx) error) error {
	return s.store.View(ctx, fn)
}

// generator returns the token's decoded seed, cached.
func (s *Server) generator(t *Token) (*oath.Generator, error) {
	s.gensMu.Lock()
	defer s.gensMu.Unlock()
	if g, ok := s.gens[t.Serial]; ok {
		return g, nil
	}
	secret, err := s.sealer.open(t.Serial, t.SealedSecret)
	if err != nil {
		return nil, err
	}
	g, err := oath.NewGenerator(secret, t.Algorithm, t.Digits)
	clear(secret)
	if err != nil {
		return nil, err
	}
	s.gens[t.Serial] = g
	return g, nil
}

// parseCode reads a code of the token's length; a malformed one is a bad
// request, not a wrong code.
func (s *Server) parseCode(t *Token, code string) (uint64, error) {
	if len(code) != t.Digits {
		return 0, s.refuse(CodeBadRequest, "the code must be %d digits", t.Digits)
	}
	var v uint64
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return 0, s.refuse(CodeBadRequest, "the code must be %d digits", t.Digits)
		}
		v = v*10 + uint64(c-'0')
	}
	return v, nil
}

// equal compares two code values in constant time.
func equal(a, b uint64) bool {
	var x, y [8]byte
	binary.BigEndian.PutUint64(x[:], a)
	binary.BigEndian.PutUint64(y[:], b)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// step is the server's current step for a TOTP token (0 for HOTP, which
// has no clock).
func (t *Token) step(now time.Time) int64 {
	if t.Kind == oath.HOTP || t.PeriodS <= 0 {
		return 0
	}
	return now.Unix() / t.PeriodS
}

// nearest is the i-th step of a search around center, nearest first
// (center, -1, +1, -2, +2, …), so that when a code matches twice the closer
// step wins. i runs from 0 to 2×radius.
func nearest(center int64, i int) int64 {
	d := int64(i+1) / 2
	if i%2 == 1 {
		return center - d
	}
	return center + d
}

// MatchCode looks for code among the 2×radius+1 steps around center: it
// returns the matching step later than last, or reports a match only at
// steps up to last (a replay). It allocates nothing.
func MatchCode(gen *oath.Generator, code uint64, center int64, radius int, last int64) (step int64, ok, replayed bool) {
	for i := range 2*radius + 1 {
		st := nearest(center, i)
		if st < 0 || !equal(gen.Value(uint64(st)), code) {
			continue
		}
		if st <= last {
			replayed = true
			continue
		}
		return st, true, false
	}
	return 0, false, replayed
}

// MatchPair looks for two consecutive codes, the first among 2×radius+1
// steps around center, after last; it returns the second code's step.
func MatchPair(gen *oath.Generator, c1, c2 uint64, center int64, radius int, last int64) (step int64, ok, replayed bool) {
	for i := range 2*radius + 1 {
		s1 := nearest(center, i)
		if s1 < 0 || !equal(gen.Value(uint64(s1)), c1) || !equal(gen.Value(uint64(s1+1)), c2) {
			continue
		}
		if s1 <= last {
			replayed = true
			continue
		}
		return s1 + 1, true, false
	}
	return 0, false, replayed
}

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
	SuspendedBy   string    `json:"suspended_by,omitempty"`
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
	var v TokenView
	err := s.view(ctx, func(tx Tx) error {
		t, err := tx.Token(serial)
		if errors.Is(err, ErrNotFound) {
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
	var out []Notification
	err := s.view(ctx, func(tx Tx) (err error) { out, err = tx.Notifications(userID); return err })
	return out, err
}

// Audit lists the audit log for a target ("" for all), oldest first, at
// most limit entries (the newest).
func (s *Server) Audit(ctx context.Context, target string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.view(ctx, func(tx Tx) (err error) { out, err = tx.Audit(target, limit); return err })
	return out, err
}

// notify records an e-mail in the outbox.
func (s *Server) notify(tx Tx, now time.Time, acc Account, kind, subject, body string) error {
	_, err := tx.AddNotification(Notification{UserID: acc.UserID, Recipient: acc.Email, Kind: kind, Subject: subject, Body: body, CreatedAt: now})
	return err
}
