package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
)

// Config is what a Server needs. Store and SeedKey are required; a nil
// Clock is the system clock and a zero Policy the guide's defaults. New
// refuses a Policy that Policy.Validate refuses.
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
	// codeKey keys the HMAC under which phone and proofing codes are kept
	// (codeHash).
	codeKey []byte

	gensMu sync.Mutex
	gens   map[string]*oath.Generator // decoded seeds, by serial

	challenges challenges // pending next-code challenges (nextcode.go)

	dummyOnce sync.Once
	dummy     []byte // see dummyHash
	dummyErr  error
}

// New makes a Server. It refuses a seed key other than the one the
// store's seeds are sealed with (ErrSeedKeyMismatch), and records the
// key's check value in a store that has none (docs/lifecycle.md, “The seed
// key”). It refuses a store that holds a user ID or serial in another
// case than the one lookups use (ErrOtherSpellings; docs/lifecycle.md,
// “Identifiers”).
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	sl, err := newSealer(cfg.SeedKey)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	p := cfg.Policy.withDefaults()
	s := &Server{store: cfg.Store, clock: cfg.Clock, policy: p, msgs: newMessages(p), sealer: sl, codeKey: deriveCodeKey(cfg.SeedKey),
		gens: map[string]*oath.Generator{}}
	if err := s.checkSeedKey(context.Background(), cfg.SeedKey); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := s.checkSpellings(context.Background()); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return s, nil
}

// Policy returns the policy in force, defaults filled in. It never fails: the
// error is there for Service, whose remote implementation may.
func (s *Server) Policy(context.Context) (Policy, error) { return s.policy, nil }

// Clock is the server's clock.
func (s *Server) Clock() Clock { return s.clock }

// Now is the server's time.
func (s *Server) Now(ctx context.Context) (time.Time, error) { return s.now(ctx) }

// now is the clock's time; a clock kept in the store may fail to tell it.
func (s *Server) now(ctx context.Context) (time.Time, error) {
	if c, ok := s.clock.(SharedClock); ok {
		return c.NowContext(ctx)
	}
	return s.clock.Now(), nil
}

// nowTx is the clock's time for an Update: read in its transaction when
// the clock is kept in the store (SharedClock).
func (s *Server) nowTx(tx Tx) (time.Time, error) {
	if c, ok := s.clock.(SharedClock); ok {
		return c.NowTx(tx)
	}
	return s.clock.Now(), nil
}

// The server and the HTTP client are one service.
var _ Service = (*Server)(nil)

// Close closes the store.
func (s *Server) Close() error { return s.store.Close() }

// Actor is who asks for an operation: a user acting for themselves, an
// organization administrator acting on the accounts of their organization,
// or the operator's administrator, who acts on anyone's.
type Actor struct {
	ID    string
	Admin bool
	// OrgAdmin is an account acting in its Organization Administrator role:
	// ID is its user ID. The server checks the claim against the account
	// (role org_admin, an organization) on every call, and lets it act only
	// on accounts of the same organization (docs/lifecycle.md, “Accounts
	// and roles”). The caller's word is never enough: a portal's page, or
	// a bug in it, must not make a user an administrator.
	OrgAdmin bool
}

// AsUser is a user acting for themselves.
func AsUser(userID string) Actor { return Actor{ID: userID} }

// AsAdmin is an administrator.
func AsAdmin(id string) Actor { return Actor{ID: id, Admin: true} }

// AsOrgAdmin is the account userID acting as its organization's
// administrator.
func AsOrgAdmin(userID string) Actor { return Actor{ID: userID, OrgAdmin: true} }

// System is the server itself (the sweep).
var System = Actor{ID: "system", Admin: true}

// kind is the actor as a token records who suspended or revoked it. An
// organization administrator's act is an administrator's: the guide sends
// the user of a token "suspended by an Administrator" to their Organization
// Administrator, and counts their revocation as an administrator's.
func (a Actor) kind() ActorKind {
	if a.Admin || a.OrgAdmin {
		return ActorAdmin
	}
	return ActorUser
}

func (a Actor) String() string {
	switch {
	case a.Admin && a != System:
		return "admin:" + a.ID
	case a.OrgAdmin:
		return "org_admin:" + a.ID
	}
	return a.ID
}

// do runs fn in one Update and audits the outcome. A refusal (*Error)
// commits what fn wrote before refusing — a failure counter, a lock — and is
// audited with its code; any other error rolls everything back.
func (s *Server) do(ctx context.Context, actor Actor, action, target string, fn func(tx Tx, now time.Time) error) error {
	return s.doOutcome(ctx, actor, action, target, func(tx Tx, now time.Time) (string, error) { return "", fn(tx, now) })
}

// doOutcome is do for an action whose success has more than one outcome: a
// non-empty outcome from fn is the audit entry's instead of "ok".
func (s *Server) doOutcome(ctx context.Context, actor Actor, action, target string, fn func(tx Tx, now time.Time) (string, error)) error {
	var refusal *Error
	err := s.store.Update(ctx, func(tx Tx) error {
		refusal = nil // the Update may run fn again (Store): only the last run's refusal counts
		now, err := s.nowTx(tx)
		if err != nil {
			return err
		}
		outcome, err := fn(tx, now)
		if outcome == "" {
			outcome = "ok"
		}
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
		if o, _ := ctx.Value(originKey{}).(string); o != "" {
			// First, so that clipping a long detail keeps it.
			detail = strings.TrimSuffix("via "+o+"; "+detail, "; ")
		}
		return addAudit(tx, auditEntry(AuditEntry{At: now, Actor: actor.String(), Action: action, Target: target, Outcome: outcome, Detail: detail}))
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	return nil
}

type originKey struct{}

// WithOrigin returns a context that says where a call comes from, e.g.
// "radius 10.0.0.7:41234": the audit entries of the calls made with it
// record it in their detail ("via radius 10.0.0.7:41234; …").
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// view runs fn in a read transaction.
func (s *Server) view(ctx context.Context, fn func(tx Tx) error) error {
	return s.store.View(ctx, fn)
}
