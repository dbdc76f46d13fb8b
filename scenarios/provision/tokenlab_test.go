package provision_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

const adminToken = "provision-admin-credential-0123456789"

// serve is an in-process tokenlab server over HTTP; vclk nil gives it the
// machine's clock.
func serve(t *testing.T, virtual bool) (*server.Server, *server.VirtualClock, string) {
	t.Helper()
	var (
		srv  *server.Server
		vclk *server.VirtualClock
	)
	if virtual {
		srv, vclk = servertest.New(t, server.Policy{})
	} else {
		st, err := sqlitestore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, 32)
		rand.Read(key)
		srv, err = server.New(server.Config{Store: st, Clock: clock.System{}, SeedKey: key, Policy: server.Policy{PasswordCost: 4}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
	}
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: vclk}))
	t.Cleanup(hs.Close)
	return srv, vclk, hs.URL
}

func open(t *testing.T, url string) provision.Service {
	t.Helper()
	t.Setenv("TOKENLAB_ADMIN_TOKEN", adminToken)
	p, err := provision.Open(context.Background(), "tokenlab+"+url, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.(provision.Service)
	if !ok {
		t.Fatalf("%T has not the Service role", p)
	}
	return s
}

// TestProvisionTokenlabVirtualClock: a new user logs in at once with the
// code its token shows; the activation's codes are used; the password is
// the account's; NewUser moved the clock one step.
func TestProvisionTokenlabVirtualClock(t *testing.T) {
	ctx := context.Background()
	srv, vclk, url := serve(t, true)
	p := open(t, url)
	if p.Name() != "tokenlab+http" || !p.VirtualClock() {
		t.Fatalf("name %q, virtual %v", p.Name(), p.VirtualClock())
	}
	before := vclk.Now()
	u, err := p.NewUser(ctx, provision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := vclk.Now().Sub(before); got != 60*time.Second {
		t.Fatalf("NewUser moved the clock by %v, want two steps", got)
	}
	now := vclk.Now()
	shown, err := u.Token.Press()
	if err != nil {
		t.Fatal(err)
	}
	if !shown.TokenTime.Equal(now) || len(shown.Code) != 8 {
		t.Fatalf("the token shows %+v at %v: its true time must be the server's", shown, now)
	}
	// The step before is inside the login window and unused: the
	// activation's codes are two steps and more behind.
	prev, _ := u.Token.PressAt(now.Add(-30 * time.Second))
	if _, err := srv.Verify(ctx, u.ID, prev.Code); err != nil {
		t.Fatalf("the code of the step before: %v, want it unused and accepted", err)
	}
	v, err := p.Service().Verify(ctx, u.ID, shown.Code)
	if err != nil {
		t.Fatalf("the code shown after NewUser: %v", err)
	}
	if v.DriftSteps != 0 {
		t.Fatalf("drift %d, want 0", v.DriftSteps)
	}
	if _, err := p.Advance(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	next, _ := u.Token.Press()
	if _, err := srv.Login(ctx, u.ID, u.Password, next.Code); err != nil {
		t.Fatalf("the password NewUser returned: %v", err)
	}

	six, err := p.NewUser(ctx, provision.Options{Digits: 6})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := six.Token.Press()
	if len(d.Code) != 6 {
		t.Fatalf("a 6-digit token shows %q", d.Code)
	}
	if _, err := srv.Verify(ctx, six.ID, d.Code); err != nil {
		t.Fatal(err)
	}
	if six.ID == u.ID || six.Token.Serial() == u.Token.Serial() {
		t.Fatal("two NewUsers gave the same user or token")
	}
	if _, err := p.NewUser(ctx, provision.Options{Digits: 7}); !errors.Is(err, provision.ErrDigits) {
		t.Fatalf("7 digits: %v", err)
	}
}

// TestProvisionTokenlabRealClock: on a real clock the user is activated
// with the two steps before now and logs in with the code shown now.
func TestProvisionTokenlabRealClock(t *testing.T) {
	ctx := context.Background()
	srv, _, url := serve(t, false)
	p := open(t, url)
	if p.VirtualClock() {
		t.Fatal("a real clock reported virtual")
	}
	if _, err := p.Advance(ctx, time.Second); err == nil || !strings.Contains(err.Error(), "--virtual-clock") {
		t.Fatalf("Advance on a real clock: %v", err)
	}
	// A step may change between the press and the answer: that attempt
	// says nothing, and is made again with a new user.
	for attempt := 1; ; attempt++ {
		u, err := p.NewUser(ctx, provision.Options{})
		if err != nil {
			t.Fatal(err)
		}
		shown, _ := u.Token.Press()
		_, verr := srv.Verify(ctx, u.ID, shown.Code)
		after, _ := u.Token.Press()
		if after.Step != shown.Step && attempt < 3 {
			continue
		}
		if verr != nil {
			t.Fatalf("the code shown after NewUser: %v", verr)
		}
		break
	}
}

func TestProvisionTokenlabOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, _, url := serve(t, true)
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "")
	if _, err := provision.Open(ctx, "tokenlab+"+url, nil); err == nil || !strings.Contains(err.Error(), "set TOKENLAB_ADMIN_TOKEN") {
		t.Errorf("no credential: %v", err)
	}
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "not-the-credential-0123456789abcdef")
	if _, err := provision.Open(ctx, "tokenlab+"+url, nil); err == nil || !strings.Contains(err.Error(), "TOKENLAB_ADMIN_TOKEN the server's administrator credential") {
		t.Errorf("a wrong credential: %v", err)
	}
	t.Setenv("TOKENLAB_ADMIN_TOKEN", adminToken)
	for _, bad := range []string{"tokenlab+http:127.0.0.1:1", "tokenlab+http://", "tokenlab+http://u@127.0.0.1:1", "tokenlab+http://127.0.0.1:1/v1"} {
		if _, err := provision.Open(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "want tokenlab+http://HOST:PORT") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := provision.Open(ctx, "nosuch:thing", nil); !errors.Is(err, provision.ErrUnknownScheme) || !strings.Contains(err.Error(), "tokenlab+http:") {
		t.Errorf("unknown scheme: %v", err)
	}
	if _, err := provision.Open(ctx, "tokenlab+http://127.0.0.1:1", nil); err == nil || !strings.Contains(err.Error(), "is tokenlab serve running there?") {
		t.Errorf("nothing listening: %v", err)
	}
}

// TestProvisionTokenlabBatch: NewUsers makes n distinct users, moves a
// virtual clock one step for all of them, and each logs in at once with the
// code its token shows, with no drift learned.
func TestProvisionTokenlabBatch(t *testing.T) {
	ctx := context.Background()
	srv, vclk, url := serve(t, true)
	p := open(t, url)
	b, ok := p.(provision.Batch)
	if !ok {
		t.Fatalf("%T has not the Batch role", p)
	}
	before := vclk.Now()
	users, err := b.NewUsers(ctx, 40, provision.Options{Digits: 6})
	if err != nil {
		t.Fatal(err)
	}
	if got := vclk.Now().Sub(before); got != 30*time.Second {
		t.Fatalf("NewUsers moved the clock by %v, want one step for the batch", got)
	}
	if len(users) != 40 {
		t.Fatalf("%d users, want 40", len(users))
	}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u.ID] || seen[u.Token.Serial()] {
			t.Fatalf("%s or %s twice", u.ID, u.Token.Serial())
		}
		seen[u.ID], seen[u.Token.Serial()] = true, true
		d, err := u.Token.PressAt(vclk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Code) != 6 {
			t.Fatalf("a 6-digit token shows %q", d.Code)
		}
		v, err := srv.Verify(ctx, u.ID, d.Code)
		if err != nil || v.DriftSteps != 0 {
			t.Fatalf("%s, the code shown after NewUsers: %+v %v", u.ID, v, err)
		}
	}
	if _, err := srv.Login(ctx, users[0].ID, users[0].Password, ""); err != nil {
		t.Fatalf("the password NewUsers returned: %v", err)
	}
	if _, err := b.NewUsers(ctx, 1, provision.Options{Digits: 7}); !errors.Is(err, provision.ErrDigits) {
		t.Fatalf("7 digits: %v", err)
	}
}

// TestProvisionTokenlabBatchRealClock: on a real clock the batch's users
// log in with the code shown now.
func TestProvisionTokenlabBatchRealClock(t *testing.T) {
	ctx := context.Background()
	srv, _, url := serve(t, false)
	p := open(t, url)
	users, err := p.(provision.Batch).NewUsers(ctx, 5, provision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		shown, _ := u.Token.Press()
		_, verr := srv.Verify(ctx, u.ID, shown.Code)
		// A step may change between the press and the answer; the step
		// before is then the activation's, used.
		if after, _ := u.Token.Press(); verr != nil && after.Step == shown.Step {
			t.Fatalf("%s, the code shown after NewUsers: %v", u.ID, verr)
		}
	}
}
