package provision

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

func init() {
	Register("tokenlab+http", openTokenlab("http"))
	Register("tokenlab+https", openTokenlab("https"))
}

// openTokenlab reads tokenlab+http://HOST:PORT (rest is "//HOST:PORT"),
// with the administrator credential of $TOKENLAB_ADMIN_TOKEN: a credential
// has no place in a spec that is printed in reports and shell histories.
func openTokenlab(scheme string) Opener {
	return func(ctx context.Context, rest string, clk emulator.Clock) (Provisioner, error) {
		u, err := url.Parse(scheme + ":" + rest)
		if err != nil || !strings.HasPrefix(rest, "//") || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("provisioner tokenlab+%s:%s: want tokenlab+%s://HOST:PORT, the address of tokenlab serve's API", scheme, rest, scheme)
		}
		tok := os.Getenv("TOKENLAB_ADMIN_TOKEN")
		if tok == "" {
			return nil, errors.New("provisioner tokenlab+" + scheme + ": set TOKENLAB_ADMIN_TOKEN to the server's administrator credential")
		}
		t, err := OpenTokenlab(ctx, u.String(), tok, clk)
		if err != nil {
			return nil, err
		}
		t.name = "tokenlab+" + scheme
		return t, nil
	}
}

// Tokenlab provisions users on a tokenlab server (tokenlab serve) through
// its HTTP API with the administrator credential: each NewUser creates an
// account with a random password, makes a virtual token, imports its seed
// as a PSKC file, sponsors it to the account and activates it with two
// consecutive codes. It has the Service role: the specs and the probe reach
// the whole API through it, and move the server's clock when it is
// virtual.
//
// The clock. A token's true time is the Clock given to OpenTokenlab; nil
// means the server's: GET /v1/clock, asked at every press, when the
// server's clock is virtual (it stands still until moved, by Advance or
// anyone else), the machine's clock when it is real. Activation records the
// second code's step as used and learns the token's drift from it, so that:
//
//   - On a virtual clock, NewUser activates with the codes of the step
//     before the server's now and of now (drift 0), then moves the clock on
//     two steps: the code the token shows then is unused and logs in at
//     once, and so is every code of its ±1 login window, as on a system
//     whose users were just written to a file. Every NewUser moves a
//     virtual clock by two steps.
//   - On a real clock, which cannot be moved, NewUser activates with the
//     codes of the two steps before now: the code shown now is unused and
//     logs in at once, but the server has learned a drift of -1 step until
//     that first login, and the codes up to the step before now count as
//     used. A probe of the window behind now cannot be exact on such a
//     server; start it with --virtual-clock for an exact probe. Should the
//     step change during the activation (the server would learn -2), the
//     user is given up and another made.
type Tokenlab struct {
	c       server.Service
	advance AdvanceFunc
	name    string
	virtual bool
	clk     emulator.Clock
	admin   server.Actor
}

// OpenTokenlab reaches the tokenlab server at baseURL (http://HOST:PORT)
// with the administrator credential adminToken; clk is the tokens' true
// time (nil: the server's, see Tokenlab).
func OpenTokenlab(ctx context.Context, baseURL, adminToken string, clk emulator.Clock) (*Tokenlab, error) {
	c := client.New(baseURL, adminToken)
	advance := func(ctx context.Context, d time.Duration) (server.SweepReport, error) {
		cs, err := c.AdvanceClock(ctx, d.String())
		if err != nil || cs.Sweep == nil {
			return server.SweepReport{}, err
		}
		return *cs.Sweep, nil
	}
	t := &Tokenlab{c: c, advance: advance, name: "tokenlab+http", clk: clk, admin: server.AsAdmin("provision")}
	if strings.HasPrefix(baseURL, "https:") {
		t.name = "tokenlab+https"
	}
	cs, err := c.Clock(ctx)
	var ce *client.Error
	switch {
	case errors.As(err, &ce):
		return nil, t.fail("reading the server's clock at "+baseURL, err)
	case err != nil:
		return nil, fmt.Errorf("provisioner %s: %s does not answer: %w (is tokenlab serve running there?)", t.name, baseURL, err)
	}
	t.virtual = cs.Virtual
	if t.clk == nil {
		if cs.Virtual {
			t.clk = &tokenlabClock{c: c, last: cs.Now}
		} else {
			t.clk = clock.System{}
		}
	}
	return t, nil
}

// AdvanceFunc moves a tokenlab server's virtual clock by d and sweeps.
type AdvanceFunc func(ctx context.Context, d time.Duration) (server.SweepReport, error)

// NewTokenlab provisions through svc, a tokenlab server reached any way
// (in process through its Go API, or a client), as OpenTokenlab does over
// HTTP: virtual says whether advance can move its clock, clk is the
// server's time as the tokens see it (required). The scenario harness's
// in-process RADIUS targets use it.
func NewTokenlab(name string, svc server.Service, virtual bool, advance AdvanceFunc, clk emulator.Clock) *Tokenlab {
	return &Tokenlab{c: svc, advance: advance, name: name, virtual: virtual, clk: clk, admin: server.AsAdmin("provision")}
}

// tokenlabClock is a virtual server clock as the tokens see it: asked at
// every press, since anyone with the credential may move it.
type tokenlabClock struct {
	c interface {
		Now(context.Context) (time.Time, error)
	}
	mu   sync.Mutex
	last time.Time
}

// Now asks the server; if it does not answer, the last time it gave stands
// (the virtual clock stands still between moves) and the request the press
// is for will fail and say why.
func (s *tokenlabClock) Now() time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now, err := s.c.Now(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.last = now
	}
	return s.last
}

// Name is the scheme: tokenlab+http or tokenlab+https.
func (t *Tokenlab) Name() string { return t.name }

// Digits: tokenlab takes 6- and 8-digit tokens.
func (t *Tokenlab) Digits() []int { return []int{6, 8} }

// Close releases nothing: the accounts and tokens stay on the server.
func (t *Tokenlab) Close() error { return nil }

// Service is the server's whole API, as the administrator.
func (t *Tokenlab) Service() server.Service { return t.c }

// VirtualClock reports whether the server's clock is virtual.
func (t *Tokenlab) VirtualClock() bool { return t.virtual }

// Policy is the server's policy.
func (t *Tokenlab) Policy(ctx context.Context) (server.Policy, error) { return t.c.Policy(ctx) }

// Advance moves the server's virtual clock by d and sweeps.
func (t *Tokenlab) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	if !t.virtual {
		return server.SweepReport{}, errors.New("provisioner " + t.name + ": the server's clock is real and cannot be moved: start tokenlab serve with --virtual-clock")
	}
	return t.advance(ctx, d)
}

// tokenlabActivationTries bounds the users given up on a real clock because the
// step changed while they were activated (see Tokenlab).
const tokenlabActivationTries = 3

// NewUser makes an account and an active token it may log in with at once
// (see Tokenlab for what it does with the clock).
func (t *Tokenlab) NewUser(ctx context.Context, o Options) (User, error) {
	digits := o.Digits
	if digits == 0 {
		digits = 8
	}
	if digits != 6 && digits != 8 {
		return User{}, fmt.Errorf("%w: %d (tokenlab takes 6 or 8)", ErrDigits, digits)
	}
	for try := 1; ; try++ {
		u, retry, err := t.newUser(ctx, digits)
		if err == nil || !retry || try == tokenlabActivationTries {
			return u, err
		}
	}
}

// newUser makes one user; retry says the activation straddled a step on a
// real clock and another user should be made.
func (t *Tokenlab) newUser(ctx context.Context, digits int) (u User, retry bool, err error) {
	id, password := "provision-"+tokenlabHex(6), tokenlabHex(16)
	if _, err := t.c.CreateAccount(ctx, t.admin, server.NewAccount{UserID: id, Email: id + "@example.invalid",
		FirstName: "Provisioned", LastName: "User", Password: password}); err != nil {
		return User{}, false, t.fail("creating an account", err)
	}
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	now := t.clk.Now()
	tok, err := emulator.New(emulator.Spec{Serial: "PRV" + strings.ToUpper(tokenlabHex(6)), Secret: secret, Digits: digits, Created: now}, t.clk)
	if err != nil {
		return User{}, false, err
	}
	var file bytes.Buffer
	if err := seedfile.EncodePSKC(&file, []seedfile.Token{tok.Spec().Seed()}, seedfile.EncodeOptions{}); err != nil {
		return User{}, false, err
	}
	if _, err := t.c.ImportSeedFile(ctx, t.admin, file.Bytes(), server.ImportOptions{Format: "pskc"}); err != nil {
		return User{}, false, t.fail("importing the token's seed", err)
	}
	if _, err := t.c.Sponsor(ctx, t.admin, server.Sponsorship{UserID: id, Serial: tok.Serial()}); err != nil {
		return User{}, false, t.fail("sponsoring the token", err)
	}
	period := tok.Spec().Period
	var c1, c2 string
	now = t.clk.Now()
	if t.virtual {
		ds, err := tok.PressConsecutive(now)
		if err != nil {
			return User{}, false, err
		}
		c1, c2 = ds[0].Code, ds[1].Code
	} else {
		d1, err1 := tok.PressAt(now.Add(-2 * period))
		d2, err2 := tok.PressAt(now.Add(-period))
		if err := errors.Join(err1, err2); err != nil {
			return User{}, false, err
		}
		c1, c2 = d1.Code, d2.Code
	}
	v, err := t.c.Activate(ctx, id, tok.Serial(), c1, c2)
	if err != nil {
		return User{}, false, t.fail("activating the token", err)
	}
	if v.Status == server.StatusPendingApproval {
		if _, err := t.c.Approve(ctx, t.admin, tok.Serial()); err != nil {
			return User{}, false, t.fail("approving the token", err)
		}
	}
	if t.virtual {
		if _, err := t.Advance(ctx, 2*period); err != nil {
			return User{}, false, t.fail("moving the clock past the activation", err)
		}
	} else if v.DriftSteps != -1 {
		return User{}, true, fmt.Errorf("provisioner %s: the server learned a drift of %d steps at activation, not -1: is its clock a step or more off this machine's?", t.name, v.DriftSteps)
	}
	return User{ID: id, Token: tok, Password: password}, false, nil
}

// fail says which provisioning step the server refused, and what to check
// when it is the credential.
func (t *Tokenlab) fail(what string, err error) error {
	var ce *client.Error
	if errors.As(err, &ce) && (ce.Status == 401 || ce.Status == 403) {
		return fmt.Errorf("provisioner %s: %s: %w (is TOKENLAB_ADMIN_TOKEN the server's administrator credential?)", t.name, what, err)
	}
	return fmt.Errorf("provisioner %s: %s: %w", t.name, what, err)
}

func tokenlabHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Batch sizes of NewUsers. tokenlabBatchWorkers requests at once keep the
// server's committer fed (it commits concurrent requests together) while
// its one bcrypt slot per two cores hashes the new passwords; more would
// only queue. An import of tokenlabImportChunk tokens is about 2 MB of
// PSKC, far below the server's 64 MiB limit on a seed file.
const (
	tokenlabBatchWorkers = 16
	tokenlabImportChunk  = 10000
)

// NewUsers makes n users as NewUser does, but their tokens are imported as
// one PSKC file, up to tokenlabBatchWorkers accounts are made and activated
// at once, and a virtual clock is moved one step for the whole batch, not
// one per user: on a virtual clock every token is activated with the codes
// of the step before the server's now and of now, which stands still while
// the batch is made. On a real clock each user is activated as NewUser
// does, and those whose activation straddled a step are given up and made
// again.
func (t *Tokenlab) NewUsers(ctx context.Context, n int, o Options) ([]User, error) {
	digits := o.Digits
	if digits == 0 {
		digits = 8
	}
	if digits != 6 && digits != 8 {
		return nil, fmt.Errorf("%w: %d (tokenlab takes 6 or 8)", ErrDigits, digits)
	}
	var users []User
	for try := 1; len(users) < n; try++ {
		got, straddled, err := t.newUsers(ctx, n-len(users), digits)
		if err != nil {
			return nil, err
		}
		users = append(users, got...)
		if straddled > 0 && try == tokenlabActivationTries {
			return nil, fmt.Errorf("provisioner %s: %d activations straddled a step %d times running: is the server's clock a step or more off this machine's?", t.name, straddled, try)
		}
	}
	return users, nil
}

// newUsers makes up to n users; straddled counts those given up on a real
// clock because the step changed during their activation.
func (t *Tokenlab) newUsers(ctx context.Context, n, digits int) (users []User, straddled int, err error) {
	now := t.clk.Now()
	batch := make([]User, n)
	for i := range batch {
		secret := make([]byte, 20)
		_, _ = rand.Read(secret)
		tok, err := emulator.New(emulator.Spec{Serial: "PRV" + strings.ToUpper(tokenlabHex(6)), Secret: secret, Digits: digits, Created: now}, t.clk)
		if err != nil {
			return nil, 0, err
		}
		id := "provision-" + tokenlabHex(6)
		batch[i] = User{ID: id, Token: tok, Password: tokenlabHex(16)}
	}
	for start := 0; start < n; start += tokenlabImportChunk {
		seeds := make([]seedfile.Token, 0, min(tokenlabImportChunk, n-start))
		for _, u := range batch[start:min(n, start+tokenlabImportChunk)] {
			seeds = append(seeds, u.Token.Spec().Seed())
		}
		var file bytes.Buffer
		if err := seedfile.EncodePSKC(&file, seeds, seedfile.EncodeOptions{}); err != nil {
			return nil, 0, err
		}
		if _, err := t.c.ImportSeedFile(ctx, t.admin, file.Bytes(), server.ImportOptions{Format: "pskc"}); err != nil {
			return nil, 0, t.fail(fmt.Sprintf("importing %d tokens' seeds", len(seeds)), err)
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		good = make([]bool, n)
		jobs = make(chan int)
		wg   sync.WaitGroup
	)
	for range min(n, tokenlabBatchWorkers) {
		wg.Go(func() {
			for i := range jobs {
				ok, err := t.enrol(ctx, batch[i], now)
				if err != nil {
					cancel(err) // the other workers stop at their next request
					continue
				}
				mu.Lock()
				good[i] = ok
				mu.Unlock()
			}
		})
	}
send:
	for i := range batch {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	for i, u := range batch {
		if good[i] {
			users = append(users, u)
		} else {
			straddled++
		}
	}
	if t.virtual {
		if _, err := t.Advance(ctx, batch[0].Token.Spec().Period); err != nil {
			return nil, 0, t.fail("moving the clock past the activations", err)
		}
	}
	return users, straddled, nil
}

// enrol makes u's account, sponsors its imported token to it and activates
// it. On a virtual clock the codes are those of the step before vnow and of
// vnow, the server's time when the batch began; false is a real-clock
// activation that straddled a step (see NewUser).
func (t *Tokenlab) enrol(ctx context.Context, u User, vnow time.Time) (bool, error) {
	if _, err := t.c.CreateAccount(ctx, t.admin, server.NewAccount{UserID: u.ID, Email: u.ID + "@example.invalid",
		FirstName: "Provisioned", LastName: "User", Password: u.Password}); err != nil {
		return false, t.fail("creating an account", err)
	}
	if _, err := t.c.Sponsor(ctx, t.admin, server.Sponsorship{UserID: u.ID, Serial: u.Token.Serial()}); err != nil {
		return false, t.fail("sponsoring the token", err)
	}
	period := u.Token.Spec().Period
	var at [2]time.Time
	if t.virtual {
		at = [2]time.Time{vnow.Add(-period), vnow}
	} else {
		now := t.clk.Now()
		at = [2]time.Time{now.Add(-2 * period), now.Add(-period)}
	}
	d1, err1 := u.Token.PressAt(at[0])
	d2, err2 := u.Token.PressAt(at[1])
	if err := errors.Join(err1, err2); err != nil {
		return false, err
	}
	v, err := t.c.Activate(ctx, u.ID, u.Token.Serial(), d1.Code, d2.Code)
	if err != nil {
		return false, t.fail("activating the token", err)
	}
	if v.Status == server.StatusPendingApproval {
		if _, err := t.c.Approve(ctx, t.admin, u.Token.Serial()); err != nil {
			return false, t.fail("approving the token", err)
		}
	}
	switch {
	case t.virtual && v.DriftSteps != 0:
		return false, fmt.Errorf("provisioner %s: the server learned a drift of %d steps at activation, not 0: did something move its virtual clock during the batch?", t.name, v.DriftSteps)
	case !t.virtual && v.DriftSteps != -1:
		return false, nil
	}
	return true, nil
}
