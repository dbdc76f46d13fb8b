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
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// Target is a verification server as the specs drive it. The methods are the
// server's flows with the Go client's signatures, so that *client.Client is
// (almost) one already; every refusal is an error that matches the server's
// sentinels with errors.Is and gives a *server.Error with errors.As.
type Target interface {
	// Now is the server's time; Advance moves a virtual clock and sweeps.
	Now(ctx context.Context) (time.Time, error)
	Advance(ctx context.Context, d time.Duration) (server.SweepReport, error)
	// Names are the operator's and portal's names the messages carry.
	Names(ctx context.Context) (operator, portal string, err error)

	ImportSeedFile(ctx context.Context, data []byte) ([]string, error)
	CreateAccount(ctx context.Context, n server.NewAccount) (server.AccountView, error)
	Account(ctx context.Context, userID string) (server.AccountView, error)
	Connect(ctx context.Context, parentID, childID string) (server.AccountView, error)
	Sponsor(ctx context.Context, r client.SponsorRequest) (server.Sponsorship, error)
	CreateLicenceKey(ctx context.Context, serial string, level int) (string, error)
	RedeemLicenceKey(ctx context.Context, userID, key string) error
	CreateApplication(ctx context.Context, app server.Application) error
	AcceptTerms(ctx context.Context, userID, appID string) error

	Activate(ctx context.Context, userID, serial, otp1, otp2 string) (server.TokenView, error)
	Verify(ctx context.Context, userID, otp string) (server.Verification, error)
	Token(ctx context.Context, serial string) (server.TokenView, error)
	Resync(ctx context.Context, serial string, by client.By, otp1, otp2 string) (server.TokenView, error)
	Suspend(ctx context.Context, serial string, by client.By) (server.TokenView, error)
	Enable(ctx context.Context, serial string, by client.By) (server.TokenView, error)
	Revoke(ctx context.Context, serial string, by client.By) (server.TokenView, error)
	Renew(ctx context.Context, serial string, by client.By) (server.TokenView, error)
	Reset(ctx context.Context, serial string) (server.TokenView, error)

	Login(ctx context.Context, userID, password, otp string) (server.Session, error)
	Elevate(ctx context.Context, sessionID, otp string) (server.Session, error)
	Access(ctx context.Context, sessionID, appID string) error
	Notifications(ctx context.Context, userID string) ([]server.Notification, error)
}

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
			return &goAPI{srv: srv, clk: vclk}, Capabilities{MoveClock: true}, func() { srv.Close() }, nil
		}},
		{Name: "http", open: func(dir string) (Target, Capabilities, func(), error) {
			srv, vclk, err := newServer(dir)
			if err != nil {
				return nil, Capabilities{}, nil, err
			}
			hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "scenario-admin", VirtualClock: vclk}))
			return &remote{Client: client.New(hs.URL, "scenario-admin")}, Capabilities{MoveClock: true}, func() { hs.Close(); srv.Close() }, nil
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

// goAPI adapts the in-process server's Go API to Target.
type goAPI struct {
	srv *server.Server
	clk *clock.Virtual
}

var admin = server.AsAdmin("scenarios")

func (g *goAPI) Now(context.Context) (time.Time, error) { return g.clk.Now(), nil }

func (g *goAPI) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	g.clk.Step(d)
	return g.srv.Sweep(ctx)
}

func (g *goAPI) Names(context.Context) (string, string, error) {
	p := g.srv.Policy()
	return p.OperatorName, p.PortalName, nil
}

func (g *goAPI) ImportSeedFile(ctx context.Context, data []byte) ([]string, error) {
	return g.srv.ImportSeedFile(ctx, admin, data, seedfile.DecodeOptions{})
}

func (g *goAPI) CreateAccount(ctx context.Context, n server.NewAccount) (server.AccountView, error) {
	return g.srv.CreateAccount(ctx, admin, n)
}

func (g *goAPI) Account(ctx context.Context, id string) (server.AccountView, error) {
	return g.srv.Account(ctx, id)
}

func (g *goAPI) Connect(ctx context.Context, parent, child string) (server.AccountView, error) {
	if err := g.srv.ConnectAccounts(ctx, server.AsUser(parent), parent, child); err != nil {
		return server.AccountView{}, err
	}
	return g.srv.Account(ctx, child)
}

func (g *goAPI) Sponsor(ctx context.Context, r client.SponsorRequest) (server.Sponsorship, error) {
	sp := server.Sponsorship{UserID: r.UserID, Serial: r.Serial, ApplicationID: r.ApplicationID, Level: server.Level(r.Level)}
	if r.ActivateBy != nil {
		sp.ActivateBy = *r.ActivateBy
	}
	return g.srv.Sponsor(ctx, admin, sp)
}

func (g *goAPI) CreateLicenceKey(ctx context.Context, serial string, level int) (string, error) {
	return g.srv.CreateLicenceKey(ctx, admin, serial, server.Level(level))
}

func (g *goAPI) RedeemLicenceKey(ctx context.Context, user, key string) error {
	return g.srv.RedeemLicenceKey(ctx, user, key)
}

func (g *goAPI) CreateApplication(ctx context.Context, app server.Application) error {
	return g.srv.CreateApplication(ctx, admin, app)
}

func (g *goAPI) AcceptTerms(ctx context.Context, user, app string) error {
	return g.srv.AcceptTerms(ctx, user, app)
}

func (g *goAPI) Activate(ctx context.Context, user, serial, o1, o2 string) (server.TokenView, error) {
	return g.srv.Activate(ctx, user, serial, o1, o2)
}

func (g *goAPI) Verify(ctx context.Context, user, otp string) (server.Verification, error) {
	return g.srv.Verify(ctx, user, otp)
}

func (g *goAPI) Token(ctx context.Context, serial string) (server.TokenView, error) {
	return g.srv.Token(ctx, serial)
}

// actor is who a client.By names: the owner by default, as over HTTP.
func (g *goAPI) actor(ctx context.Context, serial string, by client.By) (server.Actor, error) {
	switch {
	case by.Admin:
		return admin, nil
	case by.UserID != "":
		return server.AsUser(by.UserID), nil
	}
	v, err := g.srv.Token(ctx, serial)
	if err != nil {
		return server.Actor{}, err
	}
	if v.OwnerID == "" {
		// As over HTTP: a token without an owner needs the acting user named.
		return server.Actor{}, &server.Error{Code: server.CodeBadRequest, Message: "The request is not valid.", Detail: "token " + serial + " has no owner yet: give user_id"}
	}
	return server.AsUser(v.OwnerID), nil
}

func (g *goAPI) Resync(ctx context.Context, serial string, by client.By, o1, o2 string) (server.TokenView, error) {
	a, err := g.actor(ctx, serial, by)
	if err != nil {
		return server.TokenView{}, err
	}
	return g.srv.Resync(ctx, a, serial, o1, o2)
}

func (g *goAPI) lifecycle(ctx context.Context, serial string, by client.By, do func(server.Actor) error) (server.TokenView, error) {
	a, err := g.actor(ctx, serial, by)
	if err != nil {
		return server.TokenView{}, err
	}
	if err := do(a); err != nil {
		return server.TokenView{}, err
	}
	return g.srv.Token(ctx, serial)
}

func (g *goAPI) Suspend(ctx context.Context, serial string, by client.By) (server.TokenView, error) {
	return g.lifecycle(ctx, serial, by, func(a server.Actor) error { return g.srv.Suspend(ctx, a, serial) })
}

func (g *goAPI) Enable(ctx context.Context, serial string, by client.By) (server.TokenView, error) {
	return g.lifecycle(ctx, serial, by, func(a server.Actor) error { return g.srv.Enable(ctx, a, serial) })
}

func (g *goAPI) Revoke(ctx context.Context, serial string, by client.By) (server.TokenView, error) {
	return g.lifecycle(ctx, serial, by, func(a server.Actor) error { return g.srv.Revoke(ctx, a, serial) })
}

func (g *goAPI) Renew(ctx context.Context, serial string, by client.By) (server.TokenView, error) {
	return g.lifecycle(ctx, serial, by, func(a server.Actor) error { _, err := g.srv.Renew(ctx, a, serial); return err })
}

func (g *goAPI) Reset(ctx context.Context, serial string) (server.TokenView, error) {
	if err := g.srv.ResetToken(ctx, admin, serial); err != nil {
		return server.TokenView{}, err
	}
	return g.srv.Token(ctx, serial)
}

func (g *goAPI) Login(ctx context.Context, user, password, otp string) (server.Session, error) {
	return g.srv.Login(ctx, user, password, otp)
}

func (g *goAPI) Elevate(ctx context.Context, id, otp string) (server.Session, error) {
	return g.srv.Elevate(ctx, id, otp)
}

func (g *goAPI) Access(ctx context.Context, id, app string) error { return g.srv.Access(ctx, id, app) }

func (g *goAPI) Notifications(ctx context.Context, user string) ([]server.Notification, error) {
	return g.srv.Notifications(ctx, user)
}

// remote adapts the Go client to Target.
type remote struct{ *client.Client }

func (r *remote) Now(ctx context.Context) (time.Time, error) {
	cs, err := r.Clock(ctx)
	return cs.Now, err
}

func (r *remote) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	cs, err := r.AdvanceClock(ctx, d.String())
	if err != nil || cs.Sweep == nil {
		return server.SweepReport{}, err
	}
	return *cs.Sweep, nil
}

func (r *remote) Names(ctx context.Context) (string, string, error) {
	p, err := r.Policy(ctx)
	if err != nil {
		return "", "", err
	}
	op, _ := p["operator_name"].(string)
	portal, _ := p["portal_name"].(string)
	return op, portal, nil
}

func (r *remote) ImportSeedFile(ctx context.Context, data []byte) ([]string, error) {
	res, err := r.ImportInventory(ctx, data, "", nil, "")
	return res.Serials, err
}

func (r *remote) Reset(ctx context.Context, serial string) (server.TokenView, error) {
	return r.Client.Reset(ctx, serial)
}
