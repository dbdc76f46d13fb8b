// Package harness is what the scenario suites run against: a Target — the
// verification server reached through its Go API, over HTTP in process, or a
// remote server — with declared capabilities, and a World that gives each
// spec fresh accounts, virtual tokens (the emulator) and assertions.
//
// It follows the conformance-suite pattern of go-cloud's drivertest and
// dex's storage tests: one set of specs, many targets; a spec that needs a
// capability a target lacks (moving the clock) skips with the reason.
package harness

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// Target is a verification server as the specs drive it: the service's one
// Go API (server.Service, which *server.Server and *client.Client both
// implement), and a way to move its clock. Every refusal is an error that
// matches the server's sentinels with errors.Is and gives a *server.Error
// with errors.As.
type Target interface {
	server.Service
	// Advance moves a virtual clock and sweeps.
	Advance(ctx context.Context, d time.Duration) (server.SweepReport, error)
}

// Admin is the administrator the specs act as.
var Admin = server.AsAdmin("scenarios")

// Capabilities are what a target can do beyond the flows.
type Capabilities struct {
	// MoveClock: the target's clock is virtual and the specs may move it.
	MoveClock bool
	// Shared: one server for every spec (a remote target), so specs that
	// move the clock must not run in parallel with others.
	Shared bool
}

// Kind names a target: one way of reaching a server.
type Kind struct {
	Name string
	// open makes the target for one spec (or, for a shared target, returns
	// the shared one); close releases it.
	open func(dir string) (Target, Capabilities, func(), error)
}

// Start is where the in-process targets' virtual clocks start.
var Start = servertest.Start

// InProcess are the two targets make test runs: the Go API, and the same
// server over HTTP through httptest and the Go client.
func InProcess() []Kind {
	return []Kind{
		{Name: "go-api", open: func(dir string) (Target, Capabilities, func(), error) {
			srv, vclk, err := newServer(dir)
			if err != nil {
				return nil, Capabilities{}, nil, err
			}
			return &goAPI{Server: srv, clk: vclk}, Capabilities{MoveClock: true}, func() { srv.Close() }, nil
		}},
		{Name: "http", open: func(dir string) (Target, Capabilities, func(), error) {
			srv, vclk, err := newServer(dir)
			if err != nil {
				return nil, Capabilities{}, nil, err
			}
			hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "scenario-admin-credential-0123", VirtualClock: vclk}))
			return &remote{Client: client.New(hs.URL, "scenario-admin-credential-0123")}, Capabilities{MoveClock: true}, func() { hs.Close(); srv.Close() }, nil
		}},
	}
}

// Remote is a server at url (tokenlab serve, or the system under test),
// with the administrator credential. It can move the clock when the server
// says its clock is virtual.
func Remote(url, adminToken string) Kind {
	return Kind{Name: "remote", open: func(string) (Target, Capabilities, func(), error) {
		c := client.New(url, adminToken)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cs, err := c.Clock(ctx)
		if err != nil {
			return nil, Capabilities{}, nil, fmt.Errorf("target %s does not answer: %w", url, err)
		}
		return &remote{Client: c}, Capabilities{MoveClock: cs.Virtual, Shared: true}, func() {}, nil
	}}
}

// Selected is the targets to run: the remote one named by TOKENLAB_TARGET
// (with TOKENLAB_ADMIN_TOKEN), else both in-process targets. The scenarios
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
