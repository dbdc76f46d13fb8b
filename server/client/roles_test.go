package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// target is a Service and its server's virtual clock.
type target struct {
	svc server.Service
	clk *server.VirtualClock
}

// targets are the server in process and the same server over HTTP with
// the administrator credential and with the service credential (a portal).
func targets(t *testing.T) map[string]target {
	t.Helper()
	inproc, iclk := servertest.New(t, server.Policy{})
	out := map[string]target{"server": {inproc, iclk}}
	for name, cred := range map[string]string{"client (administrator)": adminToken, "client (service)": serviceToken} {
		remote, rclk := servertest.New(t, server.Policy{})
		ts := httptest.NewServer(httpapi.New(remote, httpapi.Options{AdminToken: adminToken, ServiceToken: serviceToken, VirtualClock: rclk}))
		t.Cleanup(ts.Close)
		// The service credential cannot set up (accounts, inventory): its
		// target sets up through the server and acts through the client.
		out[name] = target{&portal{Service: remote, c: client.New(ts.URL, cred)}, rclk}
	}
	return out
}

const serviceToken = "client-test-service-credential"

// portal is a Service whose setup (an administrator's calls) goes to the
// server and whose users' and organization administrators' calls go over
// HTTP, as a portal in front of the server makes them.
type portal struct {
	server.Service
	c *client.Client
}

func (p *portal) CreateAccount(ctx context.Context, a server.Actor, n server.NewAccount) (server.AccountView, error) {
	if a.Admin {
		return p.Service.CreateAccount(ctx, a, n)
	}
	return p.c.CreateAccount(ctx, a, n)
}
func (p *portal) Connect(ctx context.Context, a server.Actor, parent, child string) (server.AccountView, error) {
	return p.c.Connect(ctx, a, parent, child)
}
func (p *portal) AcceptTerms(ctx context.Context, u, app string) error {
	return p.c.AcceptTerms(ctx, u, app)
}
func (p *portal) ChangePassword(ctx context.Context, u, cur, next string) error {
	return p.c.ChangePassword(ctx, u, cur, next)
}
func (p *portal) Login(ctx context.Context, u, pw, otp string) (server.Session, error) {
	return p.c.Login(ctx, u, pw, otp)
}
func (p *portal) Session(ctx context.Context, id string) (server.Session, error) {
	return p.c.Session(ctx, id)
}
func (p *portal) Access(ctx context.Context, id, app string) error { return p.c.Access(ctx, id, app) }
func (p *portal) Logout(ctx context.Context, id string) error      { return p.c.Logout(ctx, id) }
func (p *portal) Suspend(ctx context.Context, a server.Actor, s string) (server.TokenView, error) {
	return p.c.Suspend(ctx, a, s)
}
func (p *portal) Enable(ctx context.Context, a server.Actor, s string) (server.TokenView, error) {
	return p.c.Enable(ctx, a, s)
}
func (p *portal) Revoke(ctx context.Context, a server.Actor, s string) (server.TokenView, error) {
	return p.c.Revoke(ctx, a, s)
}
func (p *portal) Renew(ctx context.Context, a server.Actor, s string) (server.TokenView, error) {
	return p.c.Renew(ctx, a, s)
}
func (p *portal) Resync(ctx context.Context, a server.Actor, s, o1, o2 string) (server.TokenView, error) {
	return p.c.Resync(ctx, a, s, o1, o2)
}
func (p *portal) Reset(ctx context.Context, a server.Actor, s string) (server.TokenView, error) {
	if a.Admin {
		return p.Service.Reset(ctx, a, s)
	}
	return p.c.Reset(ctx, a, s)
}

// refusedAs checks a refusal's code and that it carries the catalogue's
// message.
func refusedAs(t *testing.T, what string, err error, code server.Code) {
	t.Helper()
	var e *server.Error
	if !errors.Is(err, &server.Error{Code: code}) || !errors.As(err, &e) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	for _, c := range server.Catalogue {
		if c.Code == code && !strings.Contains(c.Message, "{") && e.Message != c.Message {
			t.Fatalf("%s: message %q, want the catalogue's %q", what, e.Message, c.Message)
		}
	}
}

// TestRolesAndPasswordsAlike: items 3 and 4 through server.Service, the
// same in process and over HTTP, with either credential.
func TestRolesAndPasswordsAlike(t *testing.T) {
	ctx := context.Background()
	for name, tg := range targets(t) {
		t.Run(name, func(t *testing.T) {
			svc, clk := tg.svc, tg.clk
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
			code := func() string { return gen.Code(uint64(clk.Now().Unix() / 30)) }
			next := func() string { clk.Step(30 * time.Second); return code() }
			account := func(id, org string, role server.Role) {
				_, err := svc.CreateAccount(ctx, admin, server.NewAccount{UserID: id, Email: id + "@example.com", FirstName: "F", LastName: "L",
					Password: "long password", Organization: org, Role: role})
				must(err)
			}
			active := func(user, serial string) {
				_, err := svc.ImportSeedFile(ctx, admin, []byte(serial+", 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"})
				must(err)
				_, err = svc.Sponsor(ctx, admin, server.Sponsorship{UserID: user, Serial: serial})
				must(err)
				c1 := next()
				_, err = svc.Activate(ctx, user, serial, c1, next())
				must(err)
			}
			account("olga", "Acme", server.RoleOrgAdmin)
			account("alice", "Acme", server.RoleUser)
			account("bob", "Globex", server.RoleUser)
			active("alice", "A1")
			active("bob", "B1")
			must(svc.CreateApplication(ctx, admin, server.Application{ID: "pim", Name: "PIM", Terms: "Be nice.",
				MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}))
			olga := server.AsOrgAdmin("olga")

			// Terms: the organization administrator's, for the organization.
			refusedAs(t, "a user accepting terms", svc.AcceptTerms(ctx, "alice", "pim"), server.CodeForbidden)
			ss, err := svc.Login(ctx, "alice", "long password", "")
			must(err)
			refusedAs(t, "access before the terms", svc.Access(ctx, ss.ID, "pim"), server.CodeTermsNotAccepted)
			must(svc.AcceptTerms(ctx, "olga", "pim"))
			must(svc.Access(ctx, ss.ID, "pim"))

			// The organization administrator on their organization's token,
			// and on another's.
			v, err := svc.Suspend(ctx, olga, "A1")
			must(err)
			if v.SuspendedBy != server.ActorAdmin {
				t.Fatalf("suspended %+v", v)
			}
			_, err = svc.Enable(ctx, server.AsUser("alice"), "A1")
			refusedAs(t, "the user lifting an administrator's suspension", err, server.CodeForbidden)
			_, err = svc.Enable(ctx, olga, "A1")
			must(err)
			for what, do := range map[string]func() error{
				"suspend": func() error { _, err := svc.Suspend(ctx, olga, "B1"); return err },
				"revoke":  func() error { _, err := svc.Revoke(ctx, olga, "B1"); return err },
				"renew":   func() error { _, err := svc.Renew(ctx, olga, "B1"); return err },
				"resync":  func() error { c1 := next(); _, err := svc.Resync(ctx, olga, "B1", c1, next()); return err },
				"reset":   func() error { _, err := svc.Reset(ctx, olga, "A1"); return err },
				"create an account of another organization": func() error {
					_, err := svc.CreateAccount(ctx, olga, server.NewAccount{UserID: "spy", Email: "s@example.com", FirstName: "S", LastName: "P",
						Password: "long password", Organization: "Globex"})
					return err
				},
				"connect accounts of another organization": func() error { _, err := svc.Connect(ctx, olga, "bob", "alice"); return err },
				"claimed by a user":                        func() error { _, err := svc.Suspend(ctx, server.AsOrgAdmin("alice"), "A1"); return err },
			} {
				refusedAs(t, "olga: "+what, do(), server.CodeForbidden)
			}
			if v, err := svc.Token(ctx, "B1"); err != nil || v.Status != server.StatusActive {
				t.Fatalf("bob's token after the refusals: %+v, %v", v, err)
			}
			if v, err := svc.Token(ctx, "A1"); err != nil || v.Status != server.StatusActive {
				t.Fatalf("alice's token after the refusals: %+v, %v", v, err)
			}
			carol, err := svc.CreateAccount(ctx, olga, server.NewAccount{UserID: "carol", Email: "c@example.com", FirstName: "C", LastName: "A",
				Password: "long password"})
			must(err)
			if carol.Organization != "Acme" {
				t.Fatalf("carol %+v", carol)
			}

			// The revocation by the organization administrator resets
			// alice's password; her sessions must change it first.
			_, err = svc.Revoke(ctx, olga, "A1")
			must(err)
			ns, err := svc.Notifications(ctx, "alice")
			must(err)
			body := ns[len(ns)-1].Body
			temp := body[strings.LastIndex(body, " ")+1:]
			ss, err = svc.Login(ctx, "alice", temp, "")
			must(err)
			if !ss.MustChangePassword {
				t.Fatalf("login with the temporary password: %+v", ss)
			}
			refusedAs(t, "access with the temporary password", svc.Access(ctx, ss.ID, "pim"), server.CodePasswordChangeRequired)
			must(svc.Logout(ctx, ss.ID))
			ss, err = svc.Login(ctx, "alice", temp, "")
			must(err)
			refusedAs(t, "access after logging in again", svc.Access(ctx, ss.ID, "pim"), server.CodePasswordChangeRequired)
			refusedAs(t, "the temporary password kept", svc.ChangePassword(ctx, "alice", temp, temp), server.CodePasswordRejected)
			refusedAs(t, "a short password", svc.ChangePassword(ctx, "alice", temp, "short"), server.CodePasswordRejected)
			refusedAs(t, "bob's password for alice's account", svc.ChangePassword(ctx, "alice", "long password", "a new permanent one"), server.CodeCredentialsInvalid)
			must(svc.ChangePassword(ctx, "alice", temp, "a new permanent one"))
			must(svc.Access(ctx, ss.ID, "pim"))
			if got, err := svc.Session(ctx, ss.ID); err != nil || got.MustChangePassword {
				t.Fatalf("session after the change: %+v, %v", got, err)
			}
		})
	}
}
