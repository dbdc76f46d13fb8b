package probe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
)

// Target is a deployment as the probe reaches it: RADIUS for the logins,
// a provisioner for the users.
type Target struct {
	RADIUS      *radclient.Client
	Provisioner provision.Provisioner
}

// Options bound the probe. Zero values are the defaults.
type Options struct {
	// MaxWindow is how many steps either way the window is probed (default
	// 10).
	MaxWindow int
	// MaxLockout is how many wrong codes are tried before the lockout
	// threshold is reported as none (default 20).
	MaxLockout int
	// NoAnswerTimeout is how long a request the server may rightly ignore
	// (one without Message-Authenticator, a retransmission) waits for an
	// answer (default 2 s).
	NoAnswerTimeout time.Duration
	// RetransmitAfter is how long after its answer a request is sent again
	// to see how a retransmission is treated (default 1 s): as a NAS's
	// timeout would, after the server has finished with the first copy.
	RetransmitAfter time.Duration
	// Log, when set, is told what is being measured.
	Log func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.MaxWindow <= 0 {
		o.MaxWindow = 10
	}
	if o.MaxLockout <= 0 {
		o.MaxLockout = 20
	}
	if o.NoAnswerTimeout <= 0 {
		o.NoAnswerTimeout = 2 * time.Second
	}
	if o.RetransmitAfter <= 0 {
		o.RetransmitAfter = time.Second
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return o
}

// maxTries bounds the attempts of one measurement on a real clock, made
// again when the step changed while it ran.
const maxTries = 3

// nearSteps is how far either side of a user's creation no wrong code may
// be one of its token's codes: past tokenlab's ±1000-step sync window.
const nearSteps = 1100

// prober is one run: the target, what it learned of it, and the answers'
// statistics.
type prober struct {
	t   Target
	o   Options
	svc provision.Service // nil without the Service role
	// virtual: the server's clock is virtual and svc moves it.
	virtual bool
	// passwordAndCode: tokenlab's radius_password_and_code policy, under
	// which User-Password is the account's password followed by the code.
	passwordAndCode bool
	// clockTok is a token the probe reads the step from on a real clock.
	clockTok *emulator.Token

	users, requests, answers, unsignedAnswers, redone int
	latencies                                         []time.Duration
	rep                                               Report
}

// Run probes the target and returns the report. An error means the probe
// could not measure at all (no answer, the baseline login refused, the
// provisioner failing); a property it could not measure is null or noted
// in the report instead.
func Run(ctx context.Context, t Target, o Options) (Report, error) {
	if t.RADIUS == nil || t.Provisioner == nil {
		return Report{}, errors.New("probe: the target needs a RADIUS client and a provisioner")
	}
	p := &prober{t: t, o: o.withDefaults()}
	p.rep = Report{Target: t.RADIUS.String(), Provisioner: t.Provisioner.Name(), Clock: "real", Notes: map[string]string{}}
	if s, ok := t.Provisioner.(provision.Service); ok {
		p.svc = s
		p.virtual = s.VirtualClock()
		pol, err := s.Policy(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("probe: reading the server's policy: %w", err)
		}
		p.passwordAndCode = pol.RadiusPasswordAndCode
	}
	if p.virtual {
		p.rep.Clock = "virtual"
	}
	began := time.Now()
	steps := []struct {
		what string
		fn   func(context.Context) error
	}{
		{"a first login", p.baseline},
		{"the window", p.window},
		{"replays", p.replay},
		{"older codes", p.olderCode},
		{"code lengths", p.digits},
		{"the lockout", p.lockout},
		{"drift learning", p.drift},
		{"the next-code challenge", p.nextCode},
		{"Message-Authenticator", p.messageAuthenticator},
		{"retransmissions", p.retransmission},
	}
	for _, s := range steps {
		p.o.Log("probing %s…", s.what)
		if err := s.fn(ctx); err != nil {
			return Report{}, fmt.Errorf("probe of %s: %s: %w", p.rep.Target, s.what, err)
		}
	}
	p.rep.ResponseSigned = p.answers > 0 && p.unsignedAnswers == 0
	p.rep.Notes["response_signed"] = fmt.Sprintf("%d of %d answers", p.answers-p.unsignedAnswers, p.answers)
	p.rep.Latency = latencyOf(p.latencies)
	p.rep.Notes["latency_ms"] = fmt.Sprintf("over %d answered requests", len(p.latencies))
	p.rep.Requests, p.rep.Users = p.requests, p.users
	p.rep.DurationS = roundTo(time.Since(began).Seconds(), 2)
	if p.redone > 0 {
		p.rep.Notes["probe"] = fmt.Sprintf("attempts made again, as the step changed while they ran: %d", p.redone)
	}
	return p.rep, nil
}

// user is a fresh user of the target and its token.
type user struct {
	provision.User
	period time.Duration
	near   map[string]bool // the token's codes near its creation, made on demand
	made   time.Time
}

func (p *prober) newUser(ctx context.Context, digits int) (*user, error) {
	u, err := p.t.Provisioner.NewUser(ctx, provision.Options{Digits: digits})
	if err != nil {
		return nil, err
	}
	spec := u.Token.Spec()
	if spec.Kind != emulator.TOTP {
		return nil, fmt.Errorf("provisioner %s made a %s token: the probe measures TOTP", p.t.Provisioner.Name(), spec.Kind)
	}
	p.users++
	nu := &user{User: u, period: spec.Period}
	now, _, err := nu.now()
	if err != nil {
		return nil, err
	}
	nu.made = now
	if p.clockTok == nil {
		p.clockTok = u.Token
	}
	return nu, nil
}

// now is the true time the token reads and its step there.
func (u *user) now() (time.Time, int64, error) {
	d, err := u.Token.Press()
	if err != nil {
		return time.Time{}, 0, err
	}
	return d.TokenTime, int64(d.Step), nil
}

// code is the code the token shows k steps after at.
func (u *user) code(at time.Time, k int) string {
	d, err := u.Token.PressAt(at.Add(time.Duration(k) * u.period))
	if err != nil {
		return ""
	}
	return d.Code
}

// wrongCode is a code of the token's length that is none of its codes
// within nearSteps of its creation.
func (u *user) wrongCode() string {
	if u.near == nil {
		u.near = map[string]bool{}
		for k := -nearSteps; k <= nearSteps; k++ {
			u.near[u.code(u.made, k)] = true
		}
	}
	digits := u.Token.Spec().Digits
	limit := big.NewInt(1)
	for range digits {
		limit.Mul(limit, big.NewInt(10))
	}
	for {
		n, _ := rand.Int(rand.Reader, limit)
		c := fmt.Sprintf("%0*d", digits, n)
		if !u.near[c] {
			return c
		}
	}
}

// password is what User-Password carries for code.
func (p *prober) password(u *user, code string) string {
	if p.passwordAndCode {
		return u.Password + code
	}
	return code
}

// login sends u's code and records the answer.
func (p *prober) login(ctx context.Context, u *user, code string) (radclient.Answer, error) {
	a, err := p.t.RADIUS.Login(ctx, u.ID, p.password(u, code))
	p.record(a, err)
	return a, err
}

// respond answers a challenge with the code alone, as a user types it.
func (p *prober) respond(ctx context.Context, u *user, code string, state []byte) (radclient.Answer, error) {
	a, err := p.t.RADIUS.Respond(ctx, u.ID, code, state)
	p.record(a, err)
	return a, err
}

func (p *prober) record(a radclient.Answer, err error) {
	p.requests++
	if err != nil {
		return
	}
	p.answers++
	if !a.SignedResponse {
		p.unsignedAnswers++
	}
	p.latencies = append(p.latencies, a.Latency)
}

// advance moves the server's virtual clock by k steps of u's token.
func (p *prober) advance(ctx context.Context, u *user, k int) error {
	_, err := p.svc.Advance(ctx, time.Duration(k)*u.period)
	return err
}

// step is the current step on a real clock.
func (p *prober) step() uint64 {
	d, err := p.clockTok.Press()
	if err != nil {
		return 0
	}
	return d.Step
}

// steady runs one attempt of a measurement; on a real clock it runs it
// again, with the new users the attempt makes, when the step changed while
// it ran (its codes may have been judged against another step).
func steady[T any](p *prober, f func() (T, error)) (T, error) {
	for try := 1; ; try++ {
		var before uint64
		if !p.virtual && p.clockTok != nil {
			before = p.step()
		}
		r, err := f()
		if err != nil || p.virtual || p.clockTok == nil || p.step() == before || try == maxTries {
			return r, err
		}
		p.redone++
	}
}

// maxReplyShown is how much of a Reply-Message a note quotes: enough to
// tell the refusals apart, short enough for a table cell.
const maxReplyShown = 48

// describe names an answer for the notes.
func describe(a radclient.Answer) string {
	s := a.Code.String()
	if m := []rune(a.ReplyMessage); len(m) > maxReplyShown {
		cut := string(m[:maxReplyShown])
		if i := strings.LastIndexByte(cut, ' '); i > 0 {
			cut = cut[:i] // at a word
		}
		s += fmt.Sprintf(" (%q…)", cut)
	} else if len(m) > 0 {
		s += fmt.Sprintf(" (%q)", a.ReplyMessage)
	}
	return s
}

// latencyOf is p50 and p99 by nearest rank, in milliseconds.
func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		i = min(max(i, 0), len(s)-1)
		return roundTo(float64(s[i])/float64(time.Millisecond), 3)
	}
	return Latency{P50: rank(0.50), P99: rank(0.99)}
}

func roundTo(f float64, places int) float64 {
	m := math.Pow(10, float64(places))
	return math.Round(f*m) / m
}
