package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// services are the two implementations of server.Service, each on a fresh
// server: the server in process, and the same server over HTTP.
func services(t *testing.T) map[string]server.Service {
	t.Helper()
	inproc, _ := servertest.New(t, server.Policy{})
	remote, vclk := servertest.New(t, server.Policy{})
	ts := httptest.NewServer(httpapi.New(remote, httpapi.Options{AdminToken: adminToken, VirtualClock: vclk}))
	t.Cleanup(ts.Close)
	return map[string]server.Service{"server": inproc, "client": client.New(ts.URL, adminToken)}
}

// TestServicesRefuseAlike: who may act is decided the same way in process
// and over HTTP — the zero Actor is refused as a bad request before anything
// happens, and an administrator's call made as a user is forbidden.
func TestServicesRefuseAlike(t *testing.T) {
	ctx := context.Background()
	csv := []byte("ALIKE1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n")
	for name, svc := range services(t) {
		t.Run(name, func(t *testing.T) {
			check := func(what string, err error, want *server.Error) {
				t.Helper()
				var e *server.Error
				if !errors.Is(err, want) || !errors.As(err, &e) || e.Message == "" {
					t.Errorf("%s: got %v, want %s with a message", what, err, want.Code)
				}
			}
			_, err := svc.ImportSeedFile(ctx, server.AsUser("mallory"), csv, server.ImportOptions{Format: "csv"})
			check("import as a user", err, server.ErrForbidden)
			_, err = svc.ImportSeedFile(ctx, server.Actor{}, csv, server.ImportOptions{Format: "csv"})
			check("import as nobody", err, server.ErrBadRequest)
			if _, err := svc.ImportSeedFile(ctx, admin, csv, server.ImportOptions{Format: "csv"}); err != nil {
				t.Fatal(err)
			}
			_, err = svc.Suspend(ctx, server.Actor{}, "ALIKE1")
			check("suspend as nobody", err, server.ErrBadRequest)
			_, err = svc.Resync(ctx, server.Actor{}, "ALIKE1", "12345678", "12345678")
			check("resync as nobody", err, server.ErrBadRequest)
			_, err = svc.Reset(ctx, server.AsUser("mallory"), "ALIKE1")
			check("reset as a user", err, server.ErrForbidden)
			_, err = svc.Approve(ctx, server.AsUser("mallory"), "ALIKE1")
			check("approve as a user", err, server.ErrForbidden)
			_, err = svc.Sponsor(ctx, server.AsUser("mallory"), server.Sponsorship{UserID: "mallory", Serial: "ALIKE1"})
			check("sponsor as a user", err, server.ErrForbidden)
			_, err = svc.CreateLicenceKey(ctx, server.AsUser("mallory"), "ALIKE1", 2)
			check("licence as a user", err, server.ErrForbidden)
			_, err = svc.Connect(ctx, server.Actor{}, "a", "b")
			check("connect as nobody", err, server.ErrBadRequest)
			_, err = svc.CreateAccount(ctx, server.Actor{}, server.NewAccount{UserID: "x"})
			check("create an account as nobody", err, server.ErrBadRequest)
			// Nothing of the refused calls happened.
			v, err := svc.Token(ctx, "ALIKE1")
			if err != nil || v.Status != server.StatusPendingActivation || v.OwnerID != "" {
				t.Fatalf("after the refusals: %+v %v", v, err)
			}
		})
	}
}
