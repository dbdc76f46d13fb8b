package peers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
)

// The tests log in over real RADIUS at real time. A code pressed just
// before a step boundary may reach the server in the next step; every
// system here accepts the step before, so no assertion depends on where in
// its step a test runs.

func client(t *testing.T, p *Peer) *radclient.Client {
	t.Helper()
	c, err := radclient.Parse(p.RADIUS)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func open(t *testing.T, spec string) provision.Provisioner {
	t.Helper()
	prov, err := provision.Open(context.Background(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prov.Close() })
	return prov
}

func newUser(t *testing.T, prov provision.Provisioner, o provision.Options) provision.User {
	t.Helper()
	u, err := prov.NewUser(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// codeAt is the code of tok's secret, with digits digits, for true time
// now plus steps steps.
func codeAt(t *testing.T, tok *emulator.Token, digits, steps int) string {
	t.Helper()
	s := tok.Spec()
	gen, err := oath.NewGenerator(s.Secret, s.Algorithm, digits)
	if err != nil {
		t.Fatal(err)
	}
	step := time.Now().Unix()/int64(s.Period/time.Second) + int64(steps)
	return gen.Code(uint64(step))
}

// wrongCode is a code of tok's length that no step within ten of now
// shows, so that no window can make it right.
func wrongCode(t *testing.T, tok *emulator.Token) string {
	t.Helper()
	d := tok.Spec().Digits
	near := map[string]bool{}
	for s := -10; s <= 10; s++ {
		near[codeAt(t, tok, d, s)] = true
	}
	for n := 0; ; n++ {
		c := fmt.Sprintf("%0*d", d, n)
		if !near[c] {
			return c
		}
	}
}

func press(t *testing.T, tok *emulator.Token) string {
	t.Helper()
	d, err := tok.Press()
	if err != nil {
		t.Fatal(err)
	}
	return d.Code
}

// expect logs user in with code and checks the answer.
func expect(t *testing.T, c *radclient.Client, user, code string, accept bool, why string) radclient.Answer {
	t.Helper()
	a, err := c.Login(context.Background(), user, code)
	if err != nil {
		t.Fatalf("%s: %v", why, err)
	}
	if a.Accepted() != accept {
		t.Fatalf("%s: %v for %s with %s, want accepted=%v", why, a.Code, user, code, accept)
	}
	return a
}

func TestPAMOathEightDigits(t *testing.T) {
	p := StartFreeRADIUSOath(t, Config{Digits: 8, Window: 1})
	t.Logf("FreeRADIUS with pam_oath answered %v after exec", p.Started)
	c := client(t, p)
	prov := open(t, p.Provisioner)
	if !slices.Equal(prov.Digits(), []int{8}) {
		t.Fatalf("the provisioner of a digits=8 peer takes %v", prov.Digits())
	}
	if _, err := prov.NewUser(context.Background(), provision.Options{Digits: 6}); !errors.Is(err, provision.ErrDigits) {
		t.Fatalf("a 6-digit user on a digits=8 peer: %v, want ErrDigits", err)
	}

	u := newUser(t, prov, provision.Options{})
	code := press(t, u.Token)
	a := expect(t, c, u.ID, code, true, "the code the token shows")
	expect(t, c, u.ID, code, false, "the same code again")
	expect(t, c, u.ID, wrongCode(t, u.Token), false, "a wrong code")
	t.Logf("FreeRADIUS 3 signs its answers with a Message-Authenticator: %v", a.SignedResponse)

	// digits=8 refuses the last six digits of a right code, and the code
	// is not spent by the refusal.
	v := newUser(t, prov, provision.Options{})
	code = press(t, v.Token)
	expect(t, c, v.ID, code[2:], false, "six digits on a digits=8 peer")
	expect(t, c, v.ID, code, true, "the eight digits after the six were refused")
}

func TestPAMOathSixDigits(t *testing.T) {
	p := StartFreeRADIUSOath(t, Config{Digits: 6, Window: 1})
	c := client(t, p)
	prov := open(t, p.Provisioner)
	if !slices.Equal(prov.Digits(), []int{6}) {
		t.Fatalf("the provisioner of a digits=6 peer takes %v", prov.Digits())
	}
	u := newUser(t, prov, provision.Options{})
	if u.Token.Spec().Digits != 6 {
		t.Fatalf("a %d-digit token", u.Token.Spec().Digits)
	}
	// Eight digits of the same secret: pam_oath reads the first two as a
	// password, which the user does not have.
	expect(t, c, u.ID, codeAt(t, u.Token, 8, 0), false, "eight digits on a digits=6 peer")
	code := press(t, u.Token)
	expect(t, c, u.ID, code, true, "the code the token shows")
	expect(t, c, u.ID, code, false, "the same code again")
	expect(t, c, u.ID, wrongCode(t, u.Token), false, "a wrong code")
}

// TestPAMOathWithoutDigitsTakesSixOfEight: with no digits= option pam_oath
// checks a code at the length it is typed, so an 8-digit token's last six
// digits log in: the token is as strong as a 6-digit one.
func TestPAMOathWithoutDigitsTakesSixOfEight(t *testing.T) {
	p := StartFreeRADIUSOath(t, Config{Window: 1})
	c := client(t, p)
	prov := open(t, p.Provisioner)
	if !slices.Equal(prov.Digits(), []int{6, 8}) {
		t.Fatalf("the provisioner of a peer without digits= takes %v", prov.Digits())
	}
	u6 := newUser(t, prov, provision.Options{Digits: 6})
	expect(t, c, u6.ID, press(t, u6.Token), true, "a 6-digit token")
	u8 := newUser(t, prov, provision.Options{Digits: 8})
	code := press(t, u8.Token)
	expect(t, c, u8.ID, code[2:], true, "the last six digits of an 8-digit code")
	expect(t, c, u8.ID, code, false, "the eight digits of the step just used")
}

// TestPAMOathAcceptsOnlyLaterCodes: liboath keeps the last code used and
// takes a code only from a later step, so once the next step's code has
// logged in, the current one (unused, inside the window) is refused.
func TestPAMOathAcceptsOnlyLaterCodes(t *testing.T) {
	p := StartFreeRADIUSOath(t, Config{Digits: 8, Window: 1})
	c := client(t, p)
	u := newUser(t, open(t, p.Provisioner), provision.Options{})
	now, next := codeAt(t, u.Token, 8, 0), codeAt(t, u.Token, 8, 1)
	expect(t, c, u.ID, next, true, "the next step's code, inside window=1")
	expect(t, c, u.ID, now, false, "the current step's code after the next one's")
}

// TestPAMOathUsersAddedWhileOthersLogIn: users added while pam_oath
// rewrites the users file after each login all log in afterwards.
func TestPAMOathUsersAddedWhileOthersLogIn(t *testing.T) {
	p := StartFreeRADIUSOath(t, Config{Digits: 8, Window: 1})
	c := client(t, p)
	prov := open(t, p.Provisioner)
	const n = 12
	first := make([]provision.User, n)
	for i := range first {
		first[i] = newUser(t, prov, provision.Options{})
	}
	second := make([]provision.User, n)
	var wg sync.WaitGroup
	refused := 0
	var mu sync.Mutex
	for i := range n {
		wg.Go(func() {
			u, err := prov.NewUser(context.Background(), provision.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			second[i] = u
		})
		wg.Go(func() {
			a, err := c.Login(context.Background(), first[i].ID, press(t, first[i].Token))
			if err != nil {
				t.Error(err)
				return
			}
			if !a.Accepted() {
				// pam_oath refuses a good code when it finds the users
				// file locked by our append (FreeRADIUS runs one PAM
				// call at a time, so never by another login): counted,
				// not failed, see the package doc.
				mu.Lock()
				refused++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d of %d logins made alongside %d new users were refused for the lock", refused, n, n)
	for _, u := range second {
		if u.ID == "" {
			continue
		}
		expect(t, c, u.ID, press(t, u.Token), true, "a user added while others logged in")
	}
}

func TestGoogleAuthenticator(t *testing.T) {
	p := StartFreeRADIUSGoogleAuth(t, Config{})
	t.Logf("FreeRADIUS with pam_google_authenticator answered %v after exec", p.Started)
	c := client(t, p)
	prov := open(t, p.Provisioner)
	if !slices.Equal(prov.Digits(), []int{6}) {
		t.Fatalf("google-authenticator takes %v", prov.Digits())
	}
	if _, err := prov.NewUser(context.Background(), provision.Options{Digits: 8}); !errors.Is(err, provision.ErrDigits) {
		t.Fatalf("an 8-digit user: %v, want ErrDigits", err)
	}

	// The recommended settings: 3 attempts per 30 s, refusals included,
	// so the next step's code (inside the window, never used) is refused
	// too.
	u := newUser(t, prov, provision.Options{})
	code := press(t, u.Token)
	expect(t, c, u.ID, code, true, "the code the token shows")
	expect(t, c, u.ID, code, false, "the same code again")
	expect(t, c, u.ID, wrongCode(t, u.Token), false, "a wrong code")
	expect(t, c, u.ID, codeAt(t, u.Token, 6, 1), false, "a fourth attempt within 30 s")

	// Without the rate limit the same sequence ends in a login, so the
	// refusal above was the limit's.
	free := open(t, p.Provisioner+"?rate_limit=off")
	v := newUser(t, free, provision.Options{})
	code = press(t, v.Token)
	expect(t, c, v.ID, code, true, "the code the token shows")
	expect(t, c, v.ID, code, false, "the same code again")
	expect(t, c, v.ID, wrongCode(t, v.Token), false, "a wrong code")
	expect(t, c, v.ID, codeAt(t, v.Token, 8, 0), false, "eight digits of the same secret")
	expect(t, c, v.ID, codeAt(t, v.Token, 6, 1), true, "the next step's code, unlimited")
}

// TestGoogleAuthenticatorAcceptsAnEarlierUnusedCode: DISALLOW_REUSE
// refuses the steps already used, not those before them, unlike liboath
// (TestPAMOathAcceptsOnlyLaterCodes).
func TestGoogleAuthenticatorAcceptsAnEarlierUnusedCode(t *testing.T) {
	p := StartFreeRADIUSGoogleAuth(t, Config{})
	c := client(t, p)
	u := newUser(t, open(t, p.Provisioner), provision.Options{})
	now, next := codeAt(t, u.Token, 6, 0), codeAt(t, u.Token, 6, 1)
	expect(t, c, u.ID, next, true, "the next step's code, inside the window")
	expect(t, c, u.ID, now, true, "the current step's code after the next one's")
	expect(t, c, u.ID, now, false, "the current step's code again")
}

func TestGoogleAuthenticatorReuseAllowed(t *testing.T) {
	p := StartFreeRADIUSGoogleAuth(t, Config{AllowReuse: true, RateLimit: "off"})
	if !strings.Contains(p.Provisioner, "reuse=allow") || !strings.Contains(p.Provisioner, "rate_limit=off") {
		t.Fatalf("the provisioner spec %q does not carry the options", p.Provisioner)
	}
	c := client(t, p)
	u := newUser(t, open(t, p.Provisioner), provision.Options{})
	code := press(t, u.Token)
	expect(t, c, u.ID, code, true, "the code the token shows")
	expect(t, c, u.ID, code, true, "the same code again, reuse allowed")
}

// TestMessageAuthenticator: FreeRADIUS answers an Access-Request without a
// Message-Authenticator unless told to require one.
func TestMessageAuthenticator(t *testing.T) {
	for _, require := range []bool{false, true} {
		t.Run(fmt.Sprintf("require=%v", require), func(t *testing.T) {
			p := StartFreeRADIUSOath(t, Config{Digits: 8, Window: 1, RequireMessageAuthenticator: require})
			c := client(t, p)
			c.Timeout = time.Second // a dropped request: the wait is the test
			u := newUser(t, open(t, p.Provisioner), provision.Options{})
			a, err := c.Do(context.Background(), radclient.Request{User: u.ID, Password: press(t, u.Token), Unsigned: true})
			if require {
				if !errors.Is(err, radclient.ErrNoAnswer) {
					t.Fatalf("an unsigned request with require_message_authenticator: %v %v, want no answer", a.Code, err)
				}
				return
			}
			if err != nil || !a.Accepted() {
				t.Fatalf("an unsigned request: %v %v, want Access-Accept", a.Code, err)
			}
		})
	}
}

func TestStartRefusesBadConfigs(t *testing.T) {
	Require(t, PAMOath)
	Require(t, GoogleAuthenticator)
	for _, c := range []Config{
		{System: PAMOath, Digits: 7},
		{System: GoogleAuthenticator, Digits: 8},
		{System: PAMOath, RateLimit: "3/30"},
		{System: PAMOath, Window: -1},
		{System: 9},
	} {
		if p, err := Start(context.Background(), c); err == nil {
			p.Stop()
			t.Errorf("Start(%+v) succeeded", c)
		}
	}
}

func TestStopRemovesEverything(t *testing.T) {
	Require(t, PAMOath)
	p, err := Start(context.Background(), Config{System: PAMOath})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, p)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p.pamFile(), p.Dir} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s is left after Stop", f)
		}
	}
	c.Timeout = 200 * time.Millisecond // a stopped server: the wait is the test
	if _, err := c.Login(context.Background(), "nobody", "12345678"); err == nil {
		t.Error("a stopped FreeRADIUS answered")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}
