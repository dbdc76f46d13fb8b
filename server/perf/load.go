package perf

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// LoadOptions shape a load test of a running server.
type LoadOptions struct {
	Tokens      int           // tokens and accounts to seed (default 200)
	Concurrency int           // parallel requests (default 8)
	Duration    time.Duration // how long to send (default 10 s); bounded
	// LoginFlood, when positive, adds a second phase of Duration: the same
	// verifications while that many workers send logins with a wrong
	// password, one after another, so that the two phases compare a
	// verification's latency idle and under a flood of password checks.
	LoginFlood int
	// Verify, when set, sends the verifications instead of the API client
	// (RadiusVerifier sends them over RADIUS); the API still seeds the
	// tokens and moves the clock. Its refusals must be *server.Error.
	Verify func(ctx context.Context, userID, otp string) error
	// Seeded, when set, is called once the tokens are seeded, before the
	// first verification: a measurement of the verifications alone starts
	// there.
	Seeded func()
}

// LoadResult is what the load test measured. Its verification figures are
// those of the first phase, without a login flood.
type LoadResult struct {
	Concurrency     int     `json:"concurrency"`
	Tokens          int     `json:"tokens"`
	Verifications   int     `json:"verifications"`
	VerificationsPS float64 `json:"verifications_per_s"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	Fresh           int     `json:"fresh"`
	Wrong           int     `json:"wrong"`
	Replayed        int     `json:"replayed"`
	Rounds          int     `json:"rounds"`
	// Flood is the second phase, with LoginFlood.
	Flood *FloodResult `json:"flood,omitempty"`
}

// FloodResult is the phase of a load test under a login flood: its
// verifications, and the wrong-password logins sent beside them.
type FloodResult struct {
	Workers         int     `json:"workers"`
	Logins          int     `json:"logins"`
	LoginsPS        float64 `json:"logins_per_s"`
	LoginP50ms      float64 `json:"login_p50_ms"`
	Verifications   int     `json:"verifications"`
	VerificationsPS float64 `json:"verifications_per_s"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
}

// tokenState is what the load test knows of a token, to know the answer.
type tokenState struct {
	user, serial string
	gen          *oath.Generator
	usedCode     string // the last accepted code, for replays
	usedStep     uint64 // its step: a replay is recognised only within the window
	fails        int
	wrongAt      []time.Time // the server's time of the wrong codes sent, for the lockout budget
}

// mayGuess reports whether a wrong code at now leaves the token unlocked:
// fewer than LockoutThreshold in a row, and fewer than LockoutBudget in its
// window (docs/lifecycle.md, “Lockout”), each with a spare.
func (t *tokenState) mayGuess(now time.Time, p server.Policy) bool {
	t.wrongAt = slices.DeleteFunc(t.wrongAt, func(at time.Time) bool { return !at.After(now.Add(-p.LockoutBudgetWindow)) })
	return t.fails < min(3, p.LockoutThreshold-2) && len(t.wrongAt) < p.LockoutBudget-2
}

// phase is what one phase of verifications measured.
type phase struct {
	latencies                           []time.Duration
	verifications, fresh, wrong, replay int
	rounds                              int
	sending                             time.Duration
}

// Load seeds its own tokens and accounts through the API (administrator
// credential), then sends verify requests for Duration: in rounds, one
// request per token per round — a fresh code, a wrong one or a replay —
// moving the server's virtual clock 30 s between rounds so every round has
// fresh steps. Every answer is checked against the expected outcome; one
// wrong answer fails the run. With LoginFlood it runs a second phase the
// same way beside a flood of wrong-password logins. The server must run with
// --virtual-clock.
func Load(ctx context.Context, c *client.Client, o LoadOptions) (LoadResult, error) {
	if o.Tokens <= 0 {
		o.Tokens = 200
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	cs, err := c.Clock(ctx)
	if err != nil {
		return LoadResult{}, err
	}
	if !cs.Virtual {
		return LoadResult{}, errors.New("the load test moves the server's clock: start the server with --virtual-clock")
	}
	tokens, err := seed(ctx, c, o.Tokens, o.Concurrency)
	if err != nil {
		return LoadResult{}, fmt.Errorf("seeding: %w", err)
	}
	pol, err := c.Policy(ctx)
	if err != nil {
		return LoadResult{}, err
	}
	if o.Seeded != nil {
		o.Seeded()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	res := LoadResult{Concurrency: o.Concurrency, Tokens: o.Tokens}
	idle, err := verifyRounds(ctx, c, tokens, rng, pol, o)
	res.Verifications, res.Fresh, res.Wrong, res.Replayed, res.Rounds = idle.verifications, idle.fresh, idle.wrong, idle.replay, idle.rounds
	if err != nil {
		return res, err
	}
	res.VerificationsPS, res.P50ms, res.P99ms = idle.rate(), percentile(idle.latencies, 0.50), percentile(idle.latencies, 0.99)
	if o.LoginFlood <= 0 {
		return res, nil
	}

	// The flood: each worker logs in with a wrong password, again and again,
	// as fast as the server answers, until the verifications are done.
	floodCtx, stop := context.WithCancel(ctx)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		logins   []time.Duration
		floodErr error
	)
	began := time.Now()
	for i := range o.LoginFlood {
		user := tokens[i%len(tokens)].user
		wg.Go(func() {
			for floodCtx.Err() == nil {
				t0 := time.Now()
				_, err := c.Login(floodCtx, user, "not the load test password", "")
				d := time.Since(t0)
				if floodCtx.Err() != nil {
					return
				}
				mu.Lock()
				if !errors.Is(err, server.ErrCredentialsInvalid) && floodErr == nil {
					floodErr = fmt.Errorf("a wrong password got %v, want credentials_invalid", err)
				}
				logins = append(logins, d)
				mu.Unlock()
			}
		})
	}
	flood, err := verifyRounds(ctx, c, tokens, rng, pol, o)
	stop()
	wg.Wait()
	elapsed := time.Since(began)
	res.Rounds += flood.rounds
	if err == nil {
		err = floodErr
	}
	if err != nil {
		return res, err
	}
	res.Flood = &FloodResult{Workers: o.LoginFlood, Logins: len(logins), LoginsPS: float64(len(logins)) / elapsed.Seconds(),
		LoginP50ms: percentile(logins, 0.50), Verifications: flood.verifications, VerificationsPS: flood.rate(),
		P50ms: percentile(flood.latencies, 0.50), P99ms: percentile(flood.latencies, 0.99)}
	return res, nil
}

func (p phase) rate() float64 { return float64(p.verifications) / p.sending.Seconds() }

// percentile is the p-th of the latencies, in milliseconds; it sorts them.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
}

// verifyRounds sends rounds of verifications for o.Duration.
func verifyRounds(ctx context.Context, c *client.Client, tokens []*tokenState, rng *rand.Rand, pol server.Policy, o LoadOptions) (phase, error) {
	var (
		ph       phase
		mu       sync.Mutex
		deadline = time.Now().Add(o.Duration)
	)
	for time.Now().Before(deadline) {
		if _, err := c.AdvanceClock(ctx, "30s"); err != nil {
			return ph, err
		}
		cs, err := c.Clock(ctx)
		if err != nil {
			return ph, err
		}
		step := uint64(cs.Now.Unix() / 30)
		type job struct {
			t    *tokenState
			code string
			kind string
			step uint64
		}
		jobs := make([]job, 0, len(tokens))
		for _, t := range tokens {
			j := job{t: t, kind: "fresh", step: step}
			switch r := rng.IntN(100); {
			case r < 15 && t.mayGuess(cs.Now, pol):
				j.kind = "wrong"
				t.wrongAt = append(t.wrongAt, cs.Now)
			case r < 30 && t.usedCode != "" && t.usedStep+1 == step:
				// Only last round's code is still in the ±1 window: an older
				// one is simply a wrong code now.
				j.kind = "replay"
			}
			switch j.kind {
			case "fresh":
				j.code = t.gen.Code(step)
			case "wrong":
				j.code = wrongCode(t.gen, step)
			case "replay":
				j.code = t.usedCode
			}
			jobs = append(jobs, j)
		}
		ch := make(chan job)
		var wg sync.WaitGroup
		var failed error
		roundStart := time.Now()
		for range o.Concurrency {
			wg.Go(func() {
				for j := range ch {
					t0 := time.Now()
					var err error
					if o.Verify != nil {
						err = o.Verify(ctx, j.t.user, j.code)
					} else {
						_, err = c.Verify(ctx, j.t.user, j.code)
					}
					d := time.Since(t0)
					var bad error
					switch j.kind {
					case "fresh":
						if err != nil {
							bad = fmt.Errorf("a fresh code was refused: %w", err)
						}
					case "wrong":
						if !errors.Is(err, server.ErrOTPInvalid) {
							bad = fmt.Errorf("a wrong code got %v, want otp_invalid", err)
						}
					case "replay":
						if !errors.Is(err, server.ErrOTPReplayed) {
							bad = fmt.Errorf("a replayed code got %v, want otp_replayed", err)
						}
					}
					mu.Lock()
					ph.latencies = append(ph.latencies, d)
					ph.verifications++
					switch j.kind {
					case "fresh":
						ph.fresh++
						j.t.usedCode, j.t.usedStep, j.t.fails = j.code, j.step, 0
					case "wrong":
						ph.wrong++
						j.t.fails++
					default:
						ph.replay++
					}
					if bad != nil && failed == nil {
						failed = fmt.Errorf("%s: %w", j.t.serial, bad)
					}
					mu.Unlock()
				}
			})
		}
		for _, j := range jobs {
			ch <- j
		}
		close(ch)
		wg.Wait()
		ph.sending += time.Since(roundStart)
		ph.rounds++
		if failed != nil {
			return ph, fmt.Errorf("wrong answer: %w", failed)
		}
		if ctx.Err() != nil {
			return ph, ctx.Err()
		}
	}
	return ph, nil
}

func wrongCode(g *oath.Generator, step uint64) string {
	for v := uint64(13579135); ; v += 7919 {
		c := oath.Format(v%100000000, 8)
		if c != g.Code(step) && c != g.Code(step-1) && c != g.Code(step+1) {
			return c
		}
	}
}

// seed imports n tokens, makes their accounts, sponsors and activates
// them, with up to workers requests at once: each account's password hash
// is deliberately slow, and the server can hash on every core.
func seed(ctx context.Context, c *client.Client, n, workers int) ([]*tokenState, error) {
	tag := fmt.Sprintf("%x", rand.Uint32())
	var csv []byte
	tokens := make([]*tokenState, n)
	for i := range tokens {
		sec := make([]byte, 20)
		for j := range sec {
			sec[j] = byte(rand.Uint32())
		}
		gen, _ := oath.NewGenerator(sec, oath.SHA1, 8)
		tokens[i] = &tokenState{user: fmt.Sprintf("load-%s-%d", tag, i), serial: fmt.Sprintf("LOAD%s%06d", tag, i), gen: gen}
		csv = fmt.Appendf(csv, "%s, %x, TOTP, 8, 30\n", tokens[i].serial, sec)
	}
	if _, err := c.ImportSeedFile(ctx, loadAdmin, csv, server.ImportOptions{Format: "csv"}); err != nil {
		return nil, err
	}
	cs, err := c.Clock(ctx)
	if err != nil {
		return nil, err
	}
	step := uint64(cs.Now.Unix() / 30)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *tokenState)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for t := range ch {
				if err := seedOne(ctx, c, t, step); err != nil {
					errs <- err
					cancel()       // the others stop at their next request
					for range ch { // let the sender finish
					}
					return
				}
			}
		})
	}
	for _, t := range tokens {
		ch <- t
	}
	close(ch)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return tokens, nil
}

// loadAdmin is the administrator the load test seeds as.
var loadAdmin = server.AsAdmin("load")

// seedOne makes a token's account, sponsors and activates the token.
func seedOne(ctx context.Context, c *client.Client, t *tokenState, step uint64) error {
	if _, err := c.CreateAccount(ctx, loadAdmin, server.NewAccount{UserID: t.user, Email: t.user + "@example.com", FirstName: "Load", LastName: "Test", Password: "load test password"}); err != nil {
		return err
	}
	if _, err := c.Sponsor(ctx, loadAdmin, server.Sponsorship{UserID: t.user, Serial: t.serial}); err != nil {
		return err
	}
	_, err := c.Activate(ctx, t.user, t.serial, t.gen.Code(step-1), t.gen.Code(step))
	return err
}
