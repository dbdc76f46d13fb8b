package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server"
)

// ErrRejected matches an Access-Reject the harness cannot name: a foreign
// server's, whose Reply-Message (if any) is not tokenlab's catalogue.
var ErrRejected = errors.New("rejected")

// Rejected is an Access-Reject whose Reply-Message is not a catalogue
// refusal the harness knows.
type Rejected struct{ ReplyMessage string }

func (e *Rejected) Error() string {
	if e.ReplyMessage == "" {
		return "radius: Access-Reject"
	}
	return fmt.Sprintf("radius: Access-Reject: %q", e.ReplyMessage)
}

// Is matches ErrRejected.
func (e *Rejected) Is(target error) bool { return target == ErrRejected }

// ErrChallenged matches a Challenge.
var ErrChallenged = errors.New("the server asks for the next code")

// Challenge is the answer of a server with the next-code flow to a code
// outside its login window but inside its sync window (RADIUS
// Access-Challenge): neither a login nor a refusal. Verify returns it as an
// error, so that a spec that does not expect it fails saying so; a spec of
// the next-code flow (the NextCode role) answers it with
// World.AnswerChallenge.
type Challenge struct {
	User         string
	ReplyMessage string
	State        []byte
}

func (c *Challenge) Error() string {
	return fmt.Sprintf("radius: Access-Challenge (the server asks for the next code): %q", c.ReplyMessage)
}

// Is matches ErrChallenged.
func (c *Challenge) Is(target error) bool { return target == ErrChallenged }

// Radius is a server reached over RADIUS — PAP Access-Requests with a
// Message-Authenticator, sent by c — whose users come from prov, since
// RADIUS cannot create tokens. With a foreign provisioner the target has
// the Provision and Verify roles only, and its clock is the system's. With
// tokenlab's (a provision.Service) every other role goes through the
// server's API and Advance, the clock when the server's is virtual, and
// refusals are named from the Reply-Message with the server's policy.
func Radius(c *radclient.Client, prov provision.Provisioner) Kind {
	desc := fmt.Sprintf("radius target %s with provisioner %s", c, prov.Name())
	var roles Roles
	if svc, ok := prov.(provision.Service); ok {
		roles = tokenlabRoles(svc.VirtualClock()).with(NextCode)
	} else {
		roles = Roles{Provision, Verify}
	}
	// One target for every spec: the server is shared, and so are the
	// provisioner and the Reply-Message map read from its policy.
	var (
		once   sync.Once
		shared *radiusTarget
		err    error
	)
	return radiusKind("radius", desc, true, roles, func(string) (*radiusTarget, func(), error) {
		once.Do(func() { shared, err = newRadiusTarget(c, prov, time.Now) })
		return shared, func() {}, err
	})
}

// radiusKind is a RADIUS target kind with its static roles; open makes the
// target for a spec.
func radiusKind(name, desc string, shared bool, roles Roles, open func(dir string) (*radiusTarget, func(), error)) Kind {
	return Kind{Name: name, Description: desc, shared: shared, roles: roles, why: func(r Role) string {
		if roles.Has(Inspect) { // tokenlab's provisioner: only its clock can be real
			return tokenlabWhy(r)
		}
		return overRadius[r]
	}, open: func(dir string) (opened, error) {
		t, closeFn, err := open(dir)
		if err != nil {
			return opened{}, err
		}
		return opened{t: t, roles: roles, close: closeFn}, nil
	}}
}

// radiusTarget checks codes over RADIUS and does everything else through
// the provisioner's service, when it has one.
type radiusTarget struct {
	// Service is the provisioner's tokenlab server; nil for a foreign
	// system, whose specs the guard keeps from reaching it (they declared
	// no role of its methods, or were skipped).
	server.Service
	rc   *radclient.Client
	prov provision.Provisioner
	svc  provision.Service // nil: a foreign system
	now  func() time.Time
	// codes names a Reply-Message's refusal (tokenlab's catalogue, with
	// the server's policy names); nil without a service.
	codes map[string]server.Code

	mu      sync.Mutex
	serials map[string]string // provisioned user → the serial of its token
}

func newRadiusTarget(rc *radclient.Client, prov provision.Provisioner, now func() time.Time) (*radiusTarget, error) {
	r := &radiusTarget{rc: rc, prov: prov, now: now, serials: map[string]string{}}
	if svc, ok := prov.(provision.Service); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pol, err := svc.Policy(ctx)
		if err != nil {
			return nil, fmt.Errorf("provisioner %s: reading the policy: %w", prov.Name(), err)
		}
		r.svc, r.Service, r.codes = svc, svc.Service(), map[string]server.Code{}
		for c, m := range pol.Messages() {
			r.codes[m] = c
		}
	}
	return r, nil
}

// provisioned is a target whose users come from a provisioner.
type provisioned interface {
	newUser(ctx context.Context) (provision.User, error)
}

func (r *radiusTarget) newUser(ctx context.Context) (provision.User, error) {
	var o provision.Options
	if ds := r.prov.Digits(); len(ds) > 0 && !slices.Contains(ds, 8) {
		o.Digits = ds[0] // 8 where the system takes it, as the specs' devices
	}
	u, err := r.prov.NewUser(ctx, o)
	if err != nil {
		return provision.User{}, fmt.Errorf("provisioner %s: %w", r.prov.Name(), err)
	}
	r.mu.Lock()
	r.serials[u.ID] = u.Token.Serial()
	r.mu.Unlock()
	return u, nil
}

// Now is the server's time: the service's, else the system's (a foreign
// provisioner's tokens keep the system's time too).
func (r *radiusTarget) Now(ctx context.Context) (time.Time, error) {
	if r.Service != nil {
		return r.Service.Now(ctx)
	}
	return r.now(), nil
}

// Verify sends the code as a PAP Access-Request. Access-Accept is a
// Verification: the serial of the user's token, and with a service its
// step and drift read from the token (RADIUS carries neither).
// Access-Reject is the refusal its Reply-Message names, or a *Rejected.
// Access-Challenge is a *Challenge error: see Challenge.
func (r *radiusTarget) Verify(ctx context.Context, userID, otp string) (server.Verification, error) {
	a, err := r.rc.Login(ctx, userID, otp)
	if err != nil {
		return server.Verification{}, err
	}
	return r.answer(ctx, userID, a)
}

// AnswerChallenge answers a next-code challenge with the next code.
func (r *radiusTarget) AnswerChallenge(ctx context.Context, ch *Challenge, otp string) (server.Verification, error) {
	a, err := r.rc.Respond(ctx, ch.User, otp, ch.State)
	if err != nil {
		return server.Verification{}, err
	}
	return r.answer(ctx, ch.User, a)
}

func (r *radiusTarget) answer(ctx context.Context, userID string, a radclient.Answer) (server.Verification, error) {
	switch {
	case a.Accepted():
		return r.accepted(ctx, userID)
	case a.Challenged():
		return server.Verification{}, &Challenge{User: userID, ReplyMessage: a.ReplyMessage, State: a.State}
	}
	if c, ok := r.codes[a.ReplyMessage]; ok {
		return server.Verification{}, &server.Error{Code: c, Message: a.ReplyMessage}
	}
	return server.Verification{}, &Rejected{ReplyMessage: a.ReplyMessage}
}

// accepted fills what it can of an accepted login's Verification.
func (r *radiusTarget) accepted(ctx context.Context, userID string) (server.Verification, error) {
	r.mu.Lock()
	v := server.Verification{Serial: r.serials[userID]}
	r.mu.Unlock()
	if r.Service == nil {
		return v, nil
	}
	// The login token is the account's active one, or its parent's for a
	// connected account.
	owner := userID
	acc, err := r.Account(ctx, userID)
	if err != nil {
		return v, fmt.Errorf("reading the account of an accepted login: %w", err)
	}
	if acc.ParentID != "" {
		owner = acc.ParentID
	}
	ts, err := r.Tokens(ctx, server.TokenFilter{OwnerID: owner, Status: server.StatusActive})
	if err != nil {
		return v, fmt.Errorf("reading the token of an accepted login: %w", err)
	}
	if len(ts) != 1 {
		return v, fmt.Errorf("an accepted login of %s, who has %d active tokens", userID, len(ts))
	}
	v.Serial, v.DriftSteps = ts[0].Serial, ts[0].DriftSteps
	if ts[0].LastStep != nil {
		v.Step = *ts[0].LastStep
	}
	return v, nil
}

// Advance moves the service's clock.
func (r *radiusTarget) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	if r.svc == nil {
		return server.SweepReport{}, errors.New("a foreign system's clock cannot be moved")
	}
	return r.svc.Advance(ctx, d)
}

// Policy is the service's policy.
func (r *radiusTarget) Policy(ctx context.Context) (server.Policy, error) {
	if r.svc == nil {
		return server.Policy{}, errors.New("a foreign system has no tokenlab policy")
	}
	return r.svc.Policy(ctx)
}
