package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/console"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

// The demo's fixed data: a fleet seed (so the serials are the same on every
// machine), three accounts and a password anyone may read.
const (
	demoFleetSeed = "tokenlab-demo"
	demoFleetSize = 5
	demoPassword  = "demo-password"
)

var demoUsers = []string{"alice", "bob", "carol"}

// demoAccess is how the walkthrough reaches the server.
type demoAccess struct {
	url       string
	loginLink string // the web console's, single-use
	// adminEnv is the walkthrough's TOKENLAB_ADMIN_TOKEN value: see demoAdminEnv.
	adminEnv string
}

// demoAdminEnv is what the walkthrough exports as TOKENLAB_ADMIN_TOKEN: the
// credential only when serve just generated it (it prints it anyway, once);
// $(cat DIR/admin.token) when it was saved by an earlier start; "" when it
// was given (flag or environment), which the walkthrough then leaves to the
// user, so that the output does not carry it into logs.
func demoAdminEnv(flag, dir, token string, generated bool) string {
	switch {
	case generated:
		return token
	case flag == "" && os.Getenv("TOKENLAB_ADMIN_TOKEN") == "":
		return "$(cat " + shellPath(filepath.Join(dir, AdminTokenFile)) + ")"
	}
	return ""
}

// shellPath is p for the walkthrough's shell, which runs from this
// directory: $PWD/… below it, else absolute.
func shellPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return "$PWD/" + rel
		}
	}
	return abs
}

// seedDemo fills an empty server with the demo and prints the walkthrough;
// run again on the same data it changes nothing and prints it again.
func (a *app) seedDemo(ctx context.Context, srv *server.Server, f serveFlags, access demoAccess) error {
	now := srv.Clock().Now()
	specs, err := emulator.FleetSpecs(emulator.FleetSpec{Count: demoFleetSize, Seed: demoFleetSeed, Start: now}, clock.Func(func() time.Time { return now }))
	if err != nil {
		return err
	}
	st, err := f.store()
	if err != nil {
		return err
	}
	// The virtual tokens, in the local store, for the CLI to press.
	err = st.Update(func(set *emulator.TokenSet) error {
		for _, s := range specs {
			if _, err := set.Get(s.Serial); err == nil {
				continue
			}
			if err := set.Add(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The same seeds in the server's inventory.
	admin := server.AsAdmin("demo")
	var seeds []seedfile.Token
	for _, s := range specs {
		if _, err := srv.Token(ctx, s.Serial); errors.Is(err, server.ErrNotExist) {
			seeds = append(seeds, s.Seed())
		}
	}
	if len(seeds) > 0 {
		if _, err := srv.ImportSeeds(ctx, admin, seeds); err != nil {
			return err
		}
	}
	for i, u := range demoUsers {
		if _, err := srv.Account(ctx, u); err == nil {
			continue
		}
		first := strings.ToUpper(u[:1]) + u[1:]
		if _, err := srv.CreateAccount(ctx, admin, server.NewAccount{UserID: u, Email: u + "@example.com", FirstName: first, LastName: "Demo", Password: demoPassword}); err != nil {
			return err
		}
		if i < 2 { // alice and bob have sponsored tokens; carol has none yet
			if _, err := srv.Sponsor(ctx, admin, server.Sponsorship{UserID: u, Serial: specs[i].Serial}); err != nil {
				return err
			}
		}
	}
	if err := srv.CreateApplication(ctx, admin, server.Application{ID: "pim", Name: "Partner Information Manager",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelUnproofed}}); err != nil && !errors.Is(err, server.ErrConflict) {
		return err
	}
	a.printWalkthrough(access, st.Path(), specs[0].Serial)
	return nil
}

// walkthrough is the demo's copy-and-paste tour: commands and comments.
// Without adminEnv the export leaves TOKENLAB_ADMIN_TOKEN to the user.
func walkthrough(url, adminEnv, home, serial string) [][2]string {
	export := [2]string{"export PATH=$PWD/bin:$PATH TOKENLAB_SERVER=" + url + " TOKENLAB_ADMIN_TOKEN=" + adminEnv + " TOKENLAB_HOME=" + home, ""}
	if adminEnv == "" {
		export = [2]string{"export PATH=$PWD/bin:$PATH TOKENLAB_SERVER=" + url + " TOKENLAB_HOME=" + home,
			"and TOKENLAB_ADMIN_TOKEN: the credential you gave serve"}
	}
	return [][2]string{
		export,
		{"tokenlab token press " + serial + " --server-clock", "what alice's token shows now"},
		{"tokenlab activate --user alice --serial " + serial + " --press", "the serial and two consecutive codes"},
		{"tokenlab clock advance 30s", "the server's virtual clock: no waiting"},
		{"tokenlab verify --user alice --press", "accepted: serial, step, drift"},
		{"tokenlab verify --user alice --press", "the same code again: otp_replayed"},
		{"for i in 1 2 3 4 5; do tokenlab verify --user alice --otp 00000000; done", "five wrong codes lock it"},
		{"tokenlab status " + serial, "Active (Locked)"},
		{"tokenlab clock advance 1m", "press, wait, press: two fresh steps"},
		{"tokenlab resync " + serial + " --press", "two consecutive codes unlock it"},
		{"tokenlab clock advance 30s", ""},
		{"tokenlab verify --user alice --press", "accepted again"},
		{"tokenlab revoke " + serial + " --by user", "permanent"},
		{"tokenlab status " + serial, "Revoked"},
		{"tokenlab notifications --user alice", "the e-mails: a temporary password, …"},
	}
}

func (a *app) printWalkthrough(access demoAccess, storePath, serial string) {
	url, home := access.url, shellPath(filepath.Dir(storePath))
	fmt.Fprintf(a.stdout, "\ntokenlab demo: a verification server at %s with a virtual fleet.\n", url)
	fmt.Fprintf(a.stdout, "Accounts alice, bob and carol (password %q); alice's sponsored token is %s.\n", demoPassword, serial)
	fmt.Fprintf(a.stdout, "In another shell, from this directory, copy and paste:\n\n")
	steps := walkthrough(url, access.adminEnv, home, serial)
	width := 0
	for _, st := range steps[1:] {
		width = max(width, len(st[0]))
	}
	for _, st := range steps {
		if st[1] == "" {
			fmt.Fprintf(a.stdout, "  %s\n", st[0])
			continue
		}
		fmt.Fprintf(a.stdout, "  %-*s  # %s\n", width, st[0], st[1])
	}
	fmt.Fprintf(a.stdout, "\nThe web console (press alice's token on screen): %s\n", access.loginLink)
	fmt.Fprintf(a.stdout, "(the link signs in once, within %d minutes; then log in with the administrator credential).\n", int(console.LoginLinkTTL.Minutes()))
	fmt.Fprintf(a.stdout, "The API: %s/v1/openapi.json; metrics: %s/metrics (with the administrator credential as a bearer token). Stop with Ctrl-C.\n", url, url)
}
