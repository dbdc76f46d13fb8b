// Package harness is what the scenario suites run against: a Target — a
// verification server reached through tokenlab's Go API, over HTTP in
// process or remotely, or over RADIUS with a provisioner — with the Roles
// it has, and a World that gives each spec fresh accounts, virtual tokens
// (the emulator) and assertions.
//
// It follows the conformance-suite pattern of go-cloud's drivertest and
// dex's storage tests: one set of specs, many targets. Targets are small
// capabilities, not one big interface: provisioning a user with a token,
// checking a code, activation, resync, suspension, revocation, expiry,
// moving the clock, reading a token's state… each a Role a target may or
// may not have. A spec declares what it uses (World.Needs, labels
// needs-ROLE); on a target without it the spec is skipped before it starts,
// and the reason — the target, its provisioner and the missing role — is
// in the console output and the JUnit and JSON reports. What the spec sees
// as World.T is a guard: calling a method of a role the spec did not
// declare fails the spec, on every target, so a declaration cannot be
// forgotten without make test saying so.
//
// The tokenlab targets (in process, over HTTP, a remote tokenlab) have
// every role but RADIUS's next-code challenge, and the clock only when it
// is virtual. A RADIUS target checks codes over RADIUS and gets its users
// from a provision.Provisioner: a foreign one (pam_oath's users file,
// google-authenticator files, a seed file) gives only Provision and
// Verify; tokenlab's own (provision.Service) gives every other role
// through the server's API, so that against tokenlab serve --radius
// --virtual-clock every spec runs with its codes checked over RADIUS.
package harness

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// Target is a verification server as the specs drive it: the service's one
// Go API (server.Service, which *server.Server and *client.Client both
// implement), and a way to move its clock. Every refusal is an error that
// matches the server's sentinels with errors.Is and gives a *server.Error
// with errors.As — on a target with the Reasons role; elsewhere a refusal
// may only match ErrRejected. A target implements every method, but a
// spec reaches only those of the roles the target has.
type Target interface {
	server.Service
	// Advance moves a virtual clock and sweeps.
	Advance(ctx context.Context, d time.Duration) (server.SweepReport, error)
}

// Admin is the administrator the specs act as.
var Admin = server.AsAdmin("scenarios")

// Capabilities are what a target can do: its roles, and whether it is one
// server for every spec.
type Capabilities struct {
	Roles Roles
	// Shared: one server for every spec (a remote target), so specs that
	// move the clock must not run in parallel with others.
	Shared bool
}

// Kind names a target: one way of reaching a server.
type Kind struct {
	Name string
	// Description names the target in skip reasons, with its provisioner
	// when it has one: "radius target radius://…@10.0.0.5:1812 with
	// provisioner oath-usersfile".
	Description string
	// shared: one server for every spec (see Capabilities.Shared).
	shared bool
	// roles, when known before a target is opened, let a spec that needs
	// more skip without opening one.
	roles Roles
	// why says why the target lacks a role, for skip reasons.
	why func(Role) string
	// open makes the target for one spec (or, for a shared target, returns
	// the shared one); close releases it.
	open func(dir string) (opened, error)
}

// opened is a target made for a spec.
type opened struct {
	t     Target
	roles Roles
	close func()
}

// Start is where the in-process targets' virtual clocks start.
var Start = servertest.Start

// InProcess are the targets make test runs: the Go API; the same server
// over HTTP through httptest and the Go client; over RADIUS on a loopback
// port, with every other role through the Go API; and a minimal target —
// tokenlab over RADIUS whose users come from a provisioner that offers
// nothing more, as pam_oath's would — on which most specs skip.
func InProcess() []Kind {
	return []Kind{
		{Name: "go-api", Description: "go-api target", roles: tokenlabRoles(true), open: func(dir string) (opened, error) {
			srv, vclk, err := newServer(dir)
			if err != nil {
				return opened{}, err
			}
			return opened{t: &goAPI{Server: srv, clk: vclk}, roles: tokenlabRoles(true), close: func() { srv.Close() }}, nil
		}},
		{Name: "http", Description: "http target", roles: tokenlabRoles(true), open: func(dir string) (opened, error) {
			srv, vclk, err := newServer(dir)
			if err != nil {
				return opened{}, err
			}
			hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "scenario-admin-credential-0123", VirtualClock: vclk}))
			return opened{t: &remote{Client: client.New(hs.URL, "scenario-admin-credential-0123")}, roles: tokenlabRoles(true), close: func() { hs.Close(); srv.Close() }}, nil
		}},
		InProcessRadius(),
		Minimal(),
	}
}

// inProcessSecret is the in-process RADIUS listeners' shared secret.
const inProcessSecret = "scenario-radius-secret-0123456789"

// radiusServer is an in-process server with a RADIUS listener on a
// loopback port, and a client of it.
func radiusServer(dir string) (*goAPI, *radclient.Client, func(), error) {
	srv, vclk, err := newServer(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	rs, err := tlradius.New(tlradius.Config{Service: srv, Clients: []tlradius.Client{{Net: netip.MustParsePrefix("127.0.0.1/32"), Secret: []byte(inProcessSecret)}}})
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rs.Serve(conn) // nil after Close
	}()
	closeFn := func() {
		rs.Close()
		<-done // the requests being answered finish before the store closes
		srv.Close()
	}
	// A loopback exchange is answered in microseconds; the timeout only
	// bounds a spec that would otherwise hang on a listener that died.
	rc := &radclient.Client{Addr: conn.LocalAddr().String(), Secret: []byte(inProcessSecret), Timeout: 10 * time.Second}
	return &goAPI{Server: srv, clk: vclk}, rc, closeFn, nil
}

// InProcessRadius is the in-process server checking codes over RADIUS
// (PAP with Message-Authenticator, on a loopback UDP port), with every
// other role through its Go API: tokenlab's own provisioner (a
// provision.Service) on a virtual clock.
func InProcessRadius() Kind {
	return radiusKind("radius", "radius target (in process, over loopback UDP) with provisioner tokenlab", false, tokenlabRoles(true).with(NextCode),
		func(dir string) (*radiusTarget, func(), error) {
			api, rc, closeFn, err := radiusServer(dir)
			if err != nil {
				return nil, nil, err
			}
			rt, err := newRadiusTarget(rc, TokenlabProvisioner(api, true), api.clk.Now)
			if err != nil {
				closeFn()
				return nil, nil, err
			}
			return rt, closeFn, nil
		})
}

// Minimal is the in-process server over RADIUS whose users come from a
// provisioner that offers only Provision and Verify, as a pam_oath users
// file does: it proves that specs skip with their reasons and that the
// guard catches a spec using a role it did not declare. Its clock is
// virtual but only the provisioner moves it, as enrolment takes a step.
func Minimal() Kind {
	return radiusKind("minimal", "minimal target (tokenlab over RADIUS, in process) with provisioner minimal", false, Roles{Provision, Verify},
		func(dir string) (*radiusTarget, func(), error) {
			api, rc, closeFn, err := radiusServer(dir)
			if err != nil {
				return nil, nil, err
			}
			rt, err := newRadiusTarget(rc, minimalProvisioner{TokenlabProvisioner(api, true)}, api.clk.Now)
			if err != nil {
				closeFn()
				return nil, nil, err
			}
			return rt, closeFn, nil
		})
}

// minimalProvisioner hides a provisioner's other roles: only
// provision.Provisioner's methods are promoted from the interface.
type minimalProvisioner struct{ provision.Provisioner }

func (minimalProvisioner) Name() string { return "minimal" }

// Remote is a server at url (tokenlab serve, or the system under test),
// with the administrator credential. It can move the clock when the server
// says its clock is virtual.
func Remote(url, adminToken string) Kind {
	return Kind{Name: "remote", Description: "remote target " + url, shared: true, why: tokenlabWhy,
		open: func(string) (opened, error) {
			c := client.New(url, adminToken)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cs, err := c.Clock(ctx)
			if err != nil {
				return opened{}, fmt.Errorf("target %s does not answer: %w", url, err)
			}
			return opened{t: &remote{Client: c}, roles: tokenlabRoles(cs.Virtual), close: func() {}}, nil
		}}
}

// tokenlabWhy is why a tokenlab target lacks a role: only the clock can be
// missing, or the next-code challenge, which is RADIUS's.
func tokenlabWhy(r Role) string {
	switch r {
	case Clock:
		return "its clock is real and cannot be moved (start the server with --virtual-clock)"
	case NextCode:
		return "the next-code challenge is RADIUS's (run against --target radius://…)"
	}
	return "not offered"
}

// Selected is the targets to run: the remote one named by TOKENLAB_TARGET
// (with TOKENLAB_ADMIN_TOKEN), else the in-process targets. The scenarios
// command sets Override instead.
func Selected() []Kind {
	if Override != nil {
		return Override
	}
	if url := os.Getenv("TOKENLAB_TARGET"); url != "" {
		return []Kind{Remote(url, os.Getenv("TOKENLAB_ADMIN_TOKEN"))}
	}
	return InProcess()
}

// Override, when set, replaces the environment's choice of targets.
var Override []Kind

func newServer(dir string) (*server.Server, *clock.Virtual, error) {
	return servertest.Open(dir, server.Policy{}, Start)
}

// goAPI is the in-process server and the virtual clock it was given.
type goAPI struct {
	*server.Server
	clk *clock.Virtual
}

func (g *goAPI) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	g.clk.Step(d)
	return g.Sweep(ctx)
}

// remote is a server over HTTP, whose clock moves when it is virtual.
type remote struct{ *client.Client }

func (r *remote) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	cs, err := r.AdvanceClock(ctx, d.String())
	if err != nil || cs.Sweep == nil {
		return server.SweepReport{}, err
	}
	return *cs.Sweep, nil
}

// with is the set with r added.
func (rs Roles) with(r Role) Roles {
	if rs.Has(r) {
		return rs
	}
	return append(rs[:len(rs):len(rs)], r)
}

// RemoteTarget is a tokenlab server over HTTP as a Target, for a
// provisioner (TokenlabProvisioner) of a RADIUS target in front of it.
func RemoteTarget(c *client.Client) Target { return &remote{Client: c} }
