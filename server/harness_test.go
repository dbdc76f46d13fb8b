package server_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// asserted records every error code a test asserted, so that TestMain can
// fail when a catalogue code has no test.
var (
	assertedMu sync.Mutex
	asserted   = map[server.Code]bool{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && !testing.Short() && runAll() {
		var missing []string
		for _, e := range server.Catalogue {
			if !asserted[e.Code] {
				missing = append(missing, string(e.Code))
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: error codes no test asserts (code and message): %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

// runAll reports a run of the whole package (no -run filter).
func runAll() bool {
	for _, a := range os.Args {
		if strings.HasPrefix(a, "-test.run") {
			return false
		}
	}
	return true
}

// start is the fixtures' true time: a Monday morning, away from step edges.
var start = time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)

type fixture struct {
	t     testing.TB
	ctx   context.Context
	dir   string
	key   []byte
	clk   *clock.Virtual
	pol   server.Policy
	wrap  func(server.Store) server.Store // if not nil, the store the server gets is wrap's
	srv   *server.Server
	admin server.Actor
}

func newFixture(t testing.TB, pol server.Policy) *fixture {
	t.Helper()
	return newFixtureOn(t, pol, nil)
}

// newFixtureOn is newFixture on the store wrap makes of SQLite's.
func newFixtureOn(t testing.TB, pol server.Policy, wrap func(server.Store) server.Store) *fixture {
	t.Helper()
	if pol.PasswordCost == 0 {
		pol.PasswordCost = 4 // bcrypt's minimum: tests create many accounts
	}
	f := &fixture{t: t, ctx: context.Background(), dir: t.TempDir(), key: make([]byte, 32), clk: clock.NewVirtual(start), pol: pol, admin: server.AsAdmin("ops"), wrap: wrap}
	if _, err := rand.Read(f.key); err != nil {
		t.Fatal(err)
	}
	f.open()
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fixture) open() {
	st, err := sqlitestore.Open(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	var store server.Store = st
	if f.wrap != nil {
		store = f.wrap(st)
	}
	f.srv, err = server.New(server.Config{Store: store, Clock: f.clk, Policy: f.pol, SeedKey: f.key})
	if err != nil {
		f.t.Fatal(err)
	}
}

// reopen closes the store and opens it again, as a restart does.
func (f *fixture) reopen() {
	f.t.Helper()
	if err := f.srv.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

// device is a hardware token as the user holds it: a secret and its own
// clock (offset and rate against true time).
type device struct {
	serial string
	gen    *oath.Generator
	period int64
	hotp   bool
	next   uint64
	offset time.Duration
	ppm    float64
	since  time.Time
}

// code is what the device shows at true time at.
func (d *device) code(at time.Time) string {
	if d.hotp {
		c := d.gen.Code(d.next)
		d.next++
		return c
	}
	tok := at.Add(d.offset + time.Duration(d.ppm*1e-6*float64(at.Sub(d.since))))
	return d.gen.Code(uint64(tok.Unix() / d.period))
}

// wrong is a code the device does not show at at (nor around it).
func (d *device) wrong(at time.Time) string {
	for v := uint64(12345678); ; v += 1111111 {
		c := fmt.Sprintf("%0*d", d.gen.Digits(), v%uint64(math.Pow10(d.gen.Digits())))
		ok := true
		for _, dt := range []time.Duration{-60 * time.Second, -30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
			if c == d.gen.Code(uint64(at.Add(dt+d.offset).Unix()/d.period)) {
				ok = false
			}
		}
		if ok {
			return c
		}
	}
}

var serialN int

// importToken adds a fresh TOTP token (SHA1, 8 digits, 30 s) to the inventory.
func (f *fixture) importToken() *device {
	f.t.Helper()
	return f.importSeed(seedfile.Token{Kind: oath.TOTP, Digits: 8, Period: 30 * time.Second})
}

func (f *fixture) importSeed(sd seedfile.Token) *device {
	f.t.Helper()
	serialN++
	if sd.Serial == "" {
		sd.Serial = fmt.Sprintf("VIRT%013d", serialN)
	}
	if sd.Secret == nil {
		sd.Secret = make([]byte, sd.Algorithm.KeySize())
		_, _ = rand.Read(sd.Secret)
	}
	if _, err := f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{sd}); err != nil {
		f.t.Fatal(err)
	}
	gen, err := oath.NewGenerator(sd.Secret, sd.Algorithm, sd.Digits)
	if err != nil {
		f.t.Fatal(err)
	}
	p := int64(sd.Period / time.Second)
	if p == 0 {
		p = 30
	}
	return &device{serial: sd.Serial, gen: gen, period: p, hotp: sd.Kind == oath.HOTP, next: sd.Counter, since: f.clk.Now()}
}

var userN int

// user creates an account; names default so that connected accounts can match.
func (f *fixture) user(mods ...func(*server.NewAccount)) string {
	f.t.Helper()
	userN++
	n := server.NewAccount{UserID: fmt.Sprintf("user%d", userN), Email: fmt.Sprintf("user%d@example.com", userN),
		FirstName: "Ada", LastName: "Lovelace", Password: "correct horse battery"}
	for _, m := range mods {
		m(&n)
	}
	if _, err := f.srv.CreateAccount(f.ctx, f.admin, n); err != nil {
		f.t.Fatal(err)
	}
	return n.UserID
}

func (f *fixture) sponsor(user, serial string, mods ...func(*server.Sponsorship)) {
	f.t.Helper()
	sp := server.Sponsorship{UserID: user, Serial: serial}
	for _, m := range mods {
		m(&sp)
	}
	if _, err := f.srv.Sponsor(f.ctx, f.admin, sp); err != nil {
		f.t.Fatal(err)
	}
}

// activate presses the device, waits for the next step, presses again and
// activates, as the guide says.
func (f *fixture) activate(user string, d *device) (server.TokenView, error) {
	c1 := d.code(f.clk.Now())
	f.nextStepOf(d)
	c2 := d.code(f.clk.Now())
	return f.srv.Activate(f.ctx, user, d.serial, c1, c2)
}

// activeToken is a user with a sponsored, activated token.
func (f *fixture) activeToken() (string, *device) {
	f.t.Helper()
	u, d := f.user(), f.importToken()
	f.sponsor(u, d.serial)
	if _, err := f.activate(u, d); err != nil {
		f.t.Fatal(err)
	}
	f.nextStepOf(d) // the activation codes are used: log in from the next step
	return u, d
}

// nextStep moves the clock to 10 s into the next 30 s step.
func (f *fixture) nextStep() {
	now := f.clk.Now()
	f.clk.Set(now.Truncate(30 * time.Second).Add(40 * time.Second))
}

// nextStepOf moves the clock to 10 s into the device's next step.
func (f *fixture) nextStepOf(d *device) {
	p := time.Duration(d.period) * time.Second
	f.clk.Set(f.clk.Now().Truncate(p).Add(p + 10*time.Second))
}

func (f *fixture) status(serial string) server.TokenView {
	f.t.Helper()
	v, err := f.srv.Token(f.ctx, serial)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// expectCode asserts a refusal's code and that its message is the
// catalogue's (rendered for the fixture's policy).
func (f *fixture) expectCode(err error, code server.Code) {
	f.t.Helper()
	var e *server.Error
	if !errors.As(err, &e) {
		f.t.Fatalf("got %v, want a %s refusal", err, code)
	}
	if e.Code != code {
		f.t.Fatalf("got %s (%s), want %s", e.Code, e.Detail, code)
	}
	if !errors.Is(err, &server.Error{Code: code}) {
		f.t.Fatalf("errors.Is does not match %s", code)
	}
	if e.Message == "" || strings.Contains(e.Message, "{") {
		f.t.Fatalf("%s: message %q is not rendered", code, e.Message)
	}
	pol, _ := f.srv.Policy(f.ctx)
	if want := catalogueMessages(pol, code); !slices.Contains(want, e.Message) {
		f.t.Fatalf("%s message:\n got %q\nwant one of the catalogue's %q", code, e.Message, want)
	}
	assertedMu.Lock()
	asserted[code] = true
	assertedMu.Unlock()
}

func catalogueMessage(p server.Policy, code server.Code) string {
	for _, e := range server.Catalogue {
		if e.Code == code {
			return strings.NewReplacer("{operator}", p.OperatorName, "{portal}", p.PortalName, "{maxphones}", fmt.Sprint(p.MaxPhones)).Replace(e.Message)
		}
	}
	return ""
}

// catalogueMessages are the messages the catalogue gives a code, rendered
// for a policy.
func catalogueMessages(p server.Policy, code server.Code) []string {
	out := []string{catalogueMessage(p, code)}
	for _, v := range server.MessageVariants {
		if v.Code == code {
			out = append(out, strings.NewReplacer("{operator}", p.OperatorName, "{portal}", p.PortalName, "{maxphones}", fmt.Sprint(p.MaxPhones)).Replace(v.Message))
		}
	}
	return out
}

func (f *fixture) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// notifications returns the kinds of a user's outbox, in order.
func (f *fixture) notifications(user string) []server.Notification {
	f.t.Helper()
	ns, err := f.srv.Notifications(f.ctx, user)
	f.ok(err)
	return ns
}

func kinds(ns []server.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n.Kind))
	}
	return out
}

// errOf keeps the error of a call whose result the test does not need.
func errOf[T any](_ T, err error) error { return err }
