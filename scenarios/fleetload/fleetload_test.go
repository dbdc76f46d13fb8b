package fleetload_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/scenarios/fleetload"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/servertest"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

const (
	adminToken = "fleetload-admin-credential-0123456789"
	secret     = "fleetload-radius-secret-0123456789"
)

// tokenlabServer is an in-process tokenlab server with its API over HTTP
// and its RADIUS listener on loopback; virtual false gives it the
// machine's clock.
type tokenlabServer struct {
	radius *tlradius.Server
	client *radclient.Client
	prov   provision.Provisioner
	vclk   *server.VirtualClock
}

func serve(t *testing.T, virtual bool) tokenlabServer {
	t.Helper()
	var ts tokenlabServer
	var srv *server.Server
	if virtual {
		srv, ts.vclk = servertest.New(t, server.Policy{})
	} else {
		st, err := sqlitestore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, 32)
		rand.Read(key)
		if srv, err = server.New(server.Config{Store: st, Clock: clock.System{}, SeedKey: key, Policy: server.Policy{PasswordCost: 4}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
	}
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: ts.vclk}))
	t.Cleanup(hs.Close)
	cs, err := tlradius.ParseClientsBytes([]byte("127.0.0.1 " + secret))
	if err != nil {
		t.Fatal(err)
	}
	if ts.radius, err = tlradius.New(tlradius.Config{Service: srv, Clients: cs}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.radius.Serve(conn)
	t.Cleanup(func() { ts.radius.Close() })
	if ts.client, err = radclient.Parse("radius://" + secret + "@" + conn.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOKENLAB_ADMIN_TOKEN", adminToken)
	if ts.prov, err = provision.Open(context.Background(), "tokenlab+"+hs.URL, nil); err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestVirtualClockRun: every login of a run against tokenlab with a
// virtual clock is accepted, the listener saw exactly those, and the run
// went through more than one step (the fleet is small), moving the clock
// once between them.
func TestVirtualClockRun(t *testing.T) {
	ts := serve(t, true)
	before := ts.vclk.Now()
	res, err := fleetload.Run(context.Background(), ts.client, ts.prov, fleetload.Options{Users: 20, Concurrency: 4, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v\n%+v", err, res)
	}
	if res.Clock != "virtual" || !res.Batch || res.Users != 20 || res.Concurrency != 4 || res.Provisioner != "tokenlab+http" {
		t.Fatalf("%+v", res)
	}
	if res.Accepts == 0 || res.Rejects != 0 || res.NoAnswer != 0 || res.Logins != res.Accepts || res.AcceptsPS <= 0 || res.P99ms < res.P50ms {
		t.Fatalf("%+v", res)
	}
	if got := ts.radius.Count(tlradius.Accepted); got != uint64(res.Accepts) {
		t.Fatalf("the listener accepted %d, the run counted %d", got, res.Accepts)
	}
	if res.Steps < 2 {
		t.Fatalf("%d accepts of 20 users in %d steps", res.Accepts, res.Steps)
	}
	// One step for the batch's provisioning, then one per round after the
	// first.
	if moved := ts.vclk.Now().Sub(before); moved != time.Duration(res.Steps)*30*time.Second {
		t.Fatalf("the clock moved %v in %d steps", moved, res.Steps)
	}
	if res.Accepts > 20*res.Steps {
		t.Fatalf("%d accepts in %d steps of 20 users: a user logged in twice in a step", res.Accepts, res.Steps)
	}
}

// TestRealClockRun: on a real clock a small fleet is used up within its
// step, the workers wait for the next, and the result says so.
func TestRealClockRun(t *testing.T) {
	ts := serve(t, false)
	res, err := fleetload.Run(context.Background(), ts.client, ts.prov, fleetload.Options{Users: 5, Concurrency: 2, Duration: 1500 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v\n%+v", err, res)
	}
	if res.Clock != "real" || res.Accepts == 0 || res.Rejects != 0 {
		t.Fatalf("%+v", res)
	}
	// Each user logs in once per step it saw.
	if res.Accepts > 5*res.Steps {
		t.Fatalf("%d accepts in %d steps of 5 users", res.Accepts, res.Steps)
	}
	if res.WaitingS <= 0 || res.WaitingS > res.DurationS || !strings.Contains(res.Note, "fleet is too small") {
		t.Fatalf("5 users for 1.5 s: waiting %v s of %v s, note %q", res.WaitingS, res.DurationS, res.Note)
	}
	if got := ts.radius.Count(tlradius.Accepted); got != uint64(res.Accepts) {
		t.Fatalf("the listener accepted %d, the run counted %d", got, res.Accepts)
	}
}

// damaged makes every user's token of a real provisioner show codes of a
// wrong secret (the emulator's fault for a damaged token), so that the
// system really rejects them.
type damaged struct{ provision.Provisioner }

func (d damaged) NewUser(ctx context.Context, o provision.Options) (provision.User, error) {
	u, err := d.Provisioner.NewUser(ctx, o)
	if err == nil {
		err = u.Token.SetFaults(emulator.Faults{WrongSecret: true})
	}
	return u, err
}

// TestRejectsFailTheRun: logins the system rejects are counted with the
// Reply-Message and fail the run.
func TestRejectsFailTheRun(t *testing.T) {
	ts := serve(t, false)
	res, err := fleetload.Run(context.Background(), ts.client, damaged{ts.prov}, fleetload.Options{Users: 3, Concurrency: 1, Duration: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "Access-Reject") {
		t.Fatalf("a run of damaged tokens: %v", err)
	}
	if res.Rejects == 0 || res.Accepts != 0 || res.Batch || len(res.RejectMessages) == 0 {
		t.Fatalf("%+v", res)
	}
	for msg := range res.RejectMessages {
		if !strings.Contains(err.Error(), msg) {
			t.Fatalf("the error does not quote the Reply-Message %q: %v", msg, err)
		}
	}
	if got := ts.radius.Count(tlradius.Rejected); got != uint64(res.Rejects) {
		t.Fatalf("the listener rejected %d, the run counted %d", got, res.Rejects)
	}
}

// TestFleetLoadedTwice: a fleet loaded again logs in with codes no load
// used before — on a virtual clock the clock is moved first, on a real one
// the users of the step are not taken again — so no login is refused.
func TestFleetLoadedTwice(t *testing.T) {
	for _, virtual := range []bool{true, false} {
		ts := serve(t, virtual)
		o := fleetload.Options{Users: 5, Concurrency: 2, Duration: 200 * time.Millisecond}
		f, err := fleetload.Provision(context.Background(), ts.prov, o)
		if err != nil {
			t.Fatal(err)
		}
		var accepts int
		for range 2 {
			res, err := f.Load(context.Background(), ts.client, o)
			// On a real clock the second load may find every user used in
			// this step already: nothing to send is not a refusal.
			if err != nil && !(!virtual && res.Logins == 0 && strings.Contains(err.Error(), "no login was accepted")) {
				t.Fatalf("virtual %v: %v\n%+v", virtual, err, res)
			}
			if res.Rejects != 0 {
				t.Fatalf("virtual %v: %+v", virtual, res)
			}
			accepts += res.Accepts
		}
		if got := ts.radius.Count(tlradius.Accepted); got != uint64(accepts) || ts.radius.Count(tlradius.Rejected) != 0 {
			t.Fatalf("virtual %v: the listener accepted %d and rejected %d, the loads counted %d accepts", virtual, got, ts.radius.Count(tlradius.Rejected), accepts)
		}
	}
}
