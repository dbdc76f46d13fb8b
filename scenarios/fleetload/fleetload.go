// Package fleetload drives a fleet of virtual tokens at any OTP system
// reached over RADIUS, with valid codes, and measures how many logins it
// accepts per second: what `tokenlab bench --server radius://… --provision
// P` runs. tokenlab's own HTTP load test, with wrong and replayed codes
// and every answer's reason checked, is server/perf; this one needs only
// what every system has, a provisioner (scenarios/provision) and RADIUS.
//
// A run provisions Options.Users users (with the provisioner's Batch role
// when it has one, else with up to Concurrency NewUser calls at once, one
// at a time on a tokenlab server with a virtual clock, where each NewUser
// moves the clock), then for Options.Duration keeps Concurrency
// Access-Requests (PAP, signed with a Message-Authenticator) in flight:
// each worker takes a user whose token's current step has not logged in
// yet, presses the token and sends its code. An Access-Accept is expected;
// a reject is counted with its Reply-Message, and more than
// Options.MaxRejectShare of them fail the run.
//
// # Steps
//
// The systems refuse a code of a step already used, so a user logs in at
// most once per 30 s step. On a tokenlab server with a virtual clock (the
// provisioner's Service role) the run moves the clock one step once every
// user has logged in in this one, as server/perf does; the time the moves
// take is part of the run's and reported apart. On a real clock the
// workers wait for the next step once every user has logged in in this
// one; the time they spend waiting is part of the run's too, reported, and
// a run that waited for more than a tenth of its time says the fleet is
// too small for the rate the system reaches.
package fleetload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
)

// Options shape a run. Zero values are the defaults.
type Options struct {
	// Users is the fleet size (default 100).
	Users int
	// Concurrency is the Access-Requests in flight (default 16).
	Concurrency int
	// Duration is how long requests are sent (default 10 s).
	Duration time.Duration
	// Digits is the tokens' code length (0: the provisioner's default).
	Digits int
	// MaxRejectShare is the share of answered logins that may be rejected
	// (or go unanswered) without failing the run (default 0.01).
	MaxRejectShare float64
	// Log, when set, is told what the run is doing (provisioning, the load).
	Log func(format string, args ...any)
	// Loading, when set, is called as the load begins and as it ends, for
	// a caller that measures the system's resources during the load alone.
	Loading func(started bool)
}

func (o *Options) defaults() {
	if o.Users <= 0 {
		o.Users = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.MaxRejectShare <= 0 {
		o.MaxRejectShare = 0.01
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Loading == nil {
		o.Loading = func(bool) {}
	}
}

// Result is what a run measured.
type Result struct {
	// Target is the RADIUS server, without its secret.
	Target string `json:"target"`
	// Provisioner is the provisioner's scheme, e.g. oath-usersfile.
	Provisioner string `json:"provisioner"`
	Users       int    `json:"users"`
	Concurrency int    `json:"concurrency"`
	// Clock is "virtual" (the run moved a tokenlab server's clock) or
	// "real".
	Clock string `json:"clock"`
	// ProvisionS is how long making the users took; Batch says the
	// provisioner made them together (its Batch role).
	ProvisionS float64 `json:"provision_s"`
	Batch      bool    `json:"provisioned_in_batch"`
	// DurationS is the load's wall time, from the first request to the
	// last answer, clock moves and waits included: the rates are over it.
	DurationS float64 `json:"duration_s"`
	// Logins are the Access-Requests sent: Accepts + Rejects + NoAnswer.
	Logins    int     `json:"logins"`
	Accepts   int     `json:"accepts"`
	AcceptsPS float64 `json:"accepts_per_s"`
	// P50ms and P99ms are the answers' latencies, retransmissions
	// included, accepts and rejects alike.
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	Rejects int     `json:"rejects"`
	// RejectMessages counts the rejects by Reply-Message ("(none)" for a
	// reject without one, as FreeRADIUS sends).
	RejectMessages map[string]int `json:"reject_messages,omitempty"`
	// NoAnswer counts requests unanswered after the client's retries.
	NoAnswer int `json:"no_answer"`
	// Steps is how many 30 s steps of the tokens the load went through.
	Steps int `json:"steps"`
	// ClockMoveS is the time spent moving a virtual clock (one request
	// per step).
	ClockMoveS float64 `json:"clock_move_s"`
	// WaitingS is, on a real clock, the time every user had already
	// logged in in its step and the workers waited for the next one.
	WaitingS float64 `json:"waiting_s"`
	// Note says what limited the run other than the system, if anything.
	Note string `json:"note,omitempty"`
}

// Run provisions o.Users users with p and sends their logins to c for
// o.Duration: Provision, then Load. The result is returned with the error
// when the load ran: a failed run (too many rejects) still says what it
// measured.
func Run(ctx context.Context, c *radclient.Client, p provision.Provisioner, o Options) (Result, error) {
	f, err := Provision(ctx, p, o)
	if err != nil {
		return f.result(c, o), err
	}
	return f.Load(ctx, c, o)
}

// Fleet is a provisioned fleet. Provisioning apart from the load lets a
// caller make two systems' fleets first and then load them one right
// after the other, or in turns, under the same conditions on the machine.
// A Fleet is loaded by one Load at a time.
type Fleet struct {
	p          provision.Provisioner
	svc        provision.Service // the server whose virtual clock the load moves; nil on a real clock
	users      []member          // with the step of each one's last login, across loads
	provisionS float64
	batch      bool
	loads      int
}

// Provision makes the fleet of o.Users users with p (o.Digits, o.Log and
// o.Concurrency, the NewUser calls at once, are read). The Fleet says how
// long it took even when it failed.
func Provision(ctx context.Context, p provision.Provisioner, o Options) (*Fleet, error) {
	o.defaults()
	f := &Fleet{p: p}
	if svc, ok := p.(provision.Service); ok && svc.VirtualClock() {
		f.svc = svc
	}
	o.Log("provisioning %d users with %s…", o.Users, p.Name())
	began := time.Now()
	users, batch, err := provisionUsers(ctx, p, f.svc != nil, o)
	f.provisionS, f.batch = time.Since(began).Seconds(), batch
	if err != nil {
		return f, fmt.Errorf("provisioning %d users with %s: %w", o.Users, p.Name(), err)
	}
	f.users = make([]member, len(users))
	for i, u := range users {
		f.users[i].u = u
	}
	o.Log("provisioned %d users in %.1f s", len(users), f.provisionS)
	return f, nil
}

// ProvisionS is how long making the fleet took, in seconds.
func (f *Fleet) ProvisionS() float64 { return f.provisionS }

// result is a Result with what is known before the load.
func (f *Fleet) result(c *radclient.Client, o Options) Result {
	o.defaults()
	res := Result{Target: c.String(), Provisioner: f.p.Name(), Users: o.Users, Concurrency: o.Concurrency, Clock: "real",
		ProvisionS: f.provisionS, Batch: f.batch}
	if f.users != nil {
		res.Users = len(f.users)
	}
	if f.svc != nil {
		res.Clock = "virtual"
	}
	return res
}

// Load sends the fleet's logins to c for o.Duration with o.Concurrency
// requests in flight (o.Users and o.Digits are the fleet's already). A
// fleet may be loaded again: on a real clock no user logs in twice in a
// step across loads; on a virtual clock a later load first moves the clock
// one step, past the steps the load before used.
func (f *Fleet) Load(ctx context.Context, c *radclient.Client, o Options) (Result, error) {
	o.defaults()
	res := f.result(c, o)
	if len(f.users) == 0 {
		return res, errors.New("fleetload: the fleet has no users: provisioning failed")
	}
	f.loads++
	if f.svc != nil && f.loads > 1 {
		if _, err := f.svc.Advance(ctx, f.users[0].u.Token.Spec().Period); err != nil {
			return res, fmt.Errorf("moving the server's clock: %w", err)
		}
	}
	o.Log("sending logins of %d users to %s for %v, %d at once…", len(f.users), c, o.Duration, o.Concurrency)
	l := &load{c: c, o: o, users: f.users, rejects: map[string]int{}}
	if svc, ok := f.p.(provision.Service); ok {
		pol, err := svc.Policy(ctx)
		if err != nil {
			return res, fmt.Errorf("reading the server's policy: %w", err)
		}
		l.passwordAndCode = pol.RadiusPasswordAndCode
	}
	conns := make([]net.Conn, o.Concurrency)
	for i := range conns {
		// One connected socket per worker, reused: a socket per request
		// would measure this machine's system calls more than the server.
		var err error
		if conns[i], err = net.Dial("udp", c.Addr); err != nil {
			return res, fmt.Errorf("radius %s: %w", c.Addr, err)
		}
		defer conns[i].Close()
	}
	o.Loading(true)
	var err error
	if f.svc != nil {
		err = l.runVirtual(ctx, f.svc, conns)
	} else {
		err = l.runReal(ctx, conns)
	}
	o.Loading(false)
	l.fill(&res)
	if err != nil {
		return res, err
	}
	if bad := res.Rejects + res.NoAnswer; bad > 0 && float64(bad) > o.MaxRejectShare*float64(res.Logins) {
		return res, fmt.Errorf("fleetload: %d of %d logins refused or unanswered (%.1f%%, more than %g%%): %s",
			bad, res.Logins, 100*float64(bad)/float64(res.Logins), 100*o.MaxRejectShare, res.reasons())
	}
	if res.Accepts == 0 {
		return res, errors.New("fleetload: no login was accepted")
	}
	return res, nil
}

// reasons lists the rejects by message, most frequent first.
func (r Result) reasons() string {
	type kv struct {
		msg string
		n   int
	}
	var ms []kv
	for m, n := range r.RejectMessages {
		ms = append(ms, kv{m, n})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].n > ms[j].n || ms[i].n == ms[j].n && ms[i].msg < ms[j].msg })
	var parts []string
	for _, kv := range ms {
		parts = append(parts, fmt.Sprintf("Access-Reject %q ×%d", kv.msg, kv.n))
	}
	if r.NoAnswer > 0 {
		parts = append(parts, fmt.Sprintf("no answer ×%d", r.NoAnswer))
	}
	return strings.Join(parts, ", ")
}

// provisionUsers makes the fleet: with the Batch role when there is one;
// else one at a time on a virtual clock (each NewUser moves it, and two at
// once would activate against a clock the other moved), at most
// Concurrency at once otherwise.
func provisionUsers(ctx context.Context, p provision.Provisioner, virtual bool, o Options) ([]provision.User, bool, error) {
	po := provision.Options{Digits: o.Digits}
	if b, ok := p.(provision.Batch); ok {
		users, err := b.NewUsers(ctx, o.Users, po)
		return users, true, err
	}
	workers := o.Concurrency
	if virtual {
		workers = 1
	}
	users := make([]provision.User, o.Users)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, o.Users) {
		wg.Go(func() {
			for i := range next {
				u, err := p.NewUser(ctx, po)
				if err != nil {
					cancel(err)
					continue
				}
				users[i] = u
			}
		})
	}
send:
	for i := range users {
		select {
		case next <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	wg.Wait()
	return users, false, context.Cause(ctx)
}

// member is a user of the fleet and the step of its last login.
type member struct {
	u        provision.User
	lastStep uint64
}

// load is a run's state, shared by its workers.
type load struct {
	c     *radclient.Client
	o     Options
	users []member
	// passwordAndCode: the system wants the account's password before the
	// code (tokenlab's radius_password_and_code policy).
	passwordAndCode bool

	mu                          sync.Mutex
	latencies                   []time.Duration
	accepts, rejected, noAnswer int
	rejects                     map[string]int
	steps                       int
	clockMoves, waiting, wall   time.Duration
	stop                        error // set when the run must end early
}

// tooManyRejects ends a run early whose logins are mostly refused: a
// misconfigured target (a wrong secret drops every request; a wrong users
// file rejects them) need not run its whole duration to say so.
func (l *load) tooManyRejects() bool {
	n := l.accepts + l.rejected + l.noAnswer
	return n >= 100 && 2*(l.rejected+l.noAnswer) > n
}

// login presses m's token at true time now, sends the code on conn and
// records the answer. It returns the step the token showed.
func (l *load) login(ctx context.Context, conn net.Conn, m *member, now time.Time) (uint64, error) {
	disp, err := m.u.Token.PressAt(now)
	if err != nil {
		return 0, fmt.Errorf("user %s: pressing its token: %w", m.u.ID, err)
	}
	password := disp.Code
	if l.passwordAndCode {
		password = m.u.Password + disp.Code
	}
	wire, p, err := l.c.Packet(radclient.Request{User: m.u.ID, Password: password})
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	var a radclient.Answer
	for try := 0; try <= l.c.Retries; try++ {
		if a, err = l.c.Exchange(ctx, conn, wire, p); !errors.Is(err, radclient.ErrNoAnswer) {
			break
		}
	}
	lat := time.Since(t0)
	if ctx.Err() != nil {
		return disp.Step, ctx.Err() // cut off by the caller, not an answer
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case errors.Is(err, radclient.ErrNoAnswer):
		l.noAnswer++
	case err != nil:
		if l.stop == nil {
			l.stop = err
		}
		return disp.Step, err
	case a.Accepted():
		l.accepts++
		l.latencies = append(l.latencies, lat)
	default:
		msg := a.ReplyMessage
		if msg == "" {
			msg = "(none)"
		}
		if a.Challenged() {
			msg = "Access-Challenge: " + msg
		}
		l.rejected++
		l.rejects[msg]++
		l.latencies = append(l.latencies, lat)
	}
	if l.tooManyRejects() && l.stop == nil {
		l.stop = errors.New("fleetload: stopped early, more than half of the first logins refused or unanswered")
	}
	return disp.Step, nil
}

// stopped reports why the workers must stop, if they must.
func (l *load) stopped(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stop
}

// period is the fleet's time step (the provisioners make 30 s tokens).
func (l *load) period() time.Duration { return l.users[0].u.Token.Spec().Period }

// runVirtual sends the load in rounds, one login per user at the server's
// virtual time, moving the clock one step between rounds.
func (l *load) runVirtual(ctx context.Context, svc provision.Service, conns []net.Conn) error {
	now, err := svc.Service().Now(ctx)
	if err != nil {
		return fmt.Errorf("reading the server's clock: %w", err)
	}
	start := time.Now()
	deadline := start.Add(l.o.Duration)
	defer func() { l.wall = time.Since(start) }()
	for {
		l.steps++
		var (
			mu   sync.Mutex
			next int
			wg   sync.WaitGroup
		)
		for _, conn := range conns {
			wg.Go(func() {
				for time.Now().Before(deadline) && l.stopped(ctx) == nil {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= len(l.users) {
						return
					}
					if _, err := l.login(ctx, conn, &l.users[i], now); err != nil {
						return // recorded in l.stop
					}
				}
			})
		}
		wg.Wait()
		if err := l.stopped(ctx); err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		t0 := time.Now()
		if _, err := svc.Advance(ctx, l.period()); err != nil {
			return fmt.Errorf("moving the server's clock: %w", err)
		}
		if now, err = svc.Service().Now(ctx); err != nil {
			return fmt.Errorf("reading the server's clock: %w", err)
		}
		l.clockMoves += time.Since(t0)
	}
}

// runReal sends the load at real time: a worker takes a user that has not
// logged in in the current step and presses its token at the instant it
// took it, so the step it was taken for is the step it shows; when every
// user has, the workers wait for the next step.
func (l *load) runReal(ctx context.Context, conns []net.Conn) error {
	period := l.period()
	stepOf := func(t time.Time) uint64 { return uint64(t.UnixNano() / int64(period)) }
	stepStart := func(s uint64) time.Time { return time.Unix(0, int64(s)*int64(period)) }
	start := time.Now()
	deadline := start.Add(l.o.Duration)
	var (
		qmu   sync.Mutex
		queue []int
		qstep uint64
		dryAt time.Time // when this step's queue ran dry
	)
	// take is the next user and the time to press it at, or the time the
	// next step begins when every user has logged in in this one.
	take := func() (i int, at time.Time, ok bool) {
		qmu.Lock()
		defer qmu.Unlock()
		now := time.Now()
		s := stepOf(now)
		if s != qstep {
			if !dryAt.IsZero() {
				l.addWaiting(stepStart(s).Sub(dryAt))
				dryAt = time.Time{}
			}
			qstep = s
			l.mu.Lock()
			l.steps++
			l.mu.Unlock()
			queue = queue[:0]
			for i := range l.users {
				if l.users[i].lastStep < s {
					queue = append(queue, i)
				}
			}
		}
		if len(queue) == 0 {
			if dryAt.IsZero() {
				dryAt = now
			}
			return 0, stepStart(s + 1), false
		}
		i = queue[0]
		queue = queue[1:]
		l.users[i].lastStep = s
		return i, now, true
	}
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && l.stopped(ctx) == nil {
				i, at, ok := take()
				if !ok {
					// Every user has logged in in this step: a system
					// refuses a second code of it, so wait for the next.
					t := time.NewTimer(time.Until(earliest(at, deadline)))
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
					}
					continue
				}
				if _, err := l.login(ctx, conn, &l.users[i], at); err != nil {
					return // recorded in l.stop
				}
			}
		})
	}
	wg.Wait()
	l.wall = time.Since(start)
	if !dryAt.IsZero() {
		l.addWaiting(earliest(time.Now(), deadline).Sub(dryAt))
	}
	return l.stopped(ctx)
}

func (l *load) addWaiting(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	l.waiting += d
	l.mu.Unlock()
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// fill writes what the load measured into r.
func (l *load) fill(r *Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.DurationS = l.wall.Seconds()
	r.Accepts, r.Rejects, r.NoAnswer = l.accepts, l.rejected, l.noAnswer
	r.Logins = l.accepts + l.rejected + l.noAnswer
	if len(l.rejects) > 0 {
		r.RejectMessages = l.rejects
	}
	if l.wall > 0 {
		r.AcceptsPS = float64(l.accepts) / l.wall.Seconds()
	}
	r.P50ms, r.P99ms = percentile(l.latencies, 0.50), percentile(l.latencies, 0.99)
	r.Steps = l.steps
	r.ClockMoveS, r.WaitingS = l.clockMoves.Seconds(), l.waiting.Seconds()
	switch {
	case l.wall > 0 && l.waiting > l.wall/10:
		perStep := len(l.users)
		r.Note = fmt.Sprintf("the fleet is too small for the rate: every user had logged in in its step for %.0f%% of the run, and %d users make at most %d logins a %v step (%.0f/s); give more users for a rate the system bounds",
			100*l.waiting.Seconds()/l.wall.Seconds(), perStep, perStep, l.period(), float64(perStep)/l.period().Seconds())
	case l.wall > 0 && l.clockMoves > l.wall/10:
		r.Note = fmt.Sprintf("moving the virtual clock took %.0f%% of the run (%d moves): a larger fleet moves it less often",
			100*l.clockMoves.Seconds()/l.wall.Seconds(), l.steps-1)
	}
}

// percentile is the p-th of ds in milliseconds; it sorts ds.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
}
