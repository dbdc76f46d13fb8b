package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// TestPasswordRoleResetApproveVerbsOfTheRealBinary: tokenlab serve
// --virtual-clock in one process; password, reset, approve and the token
// verbs with --by org_admin from the real binary against it, as a portal's
// QA would script them.
func TestPasswordRoleResetApproveVerbsOfTheRealBinary(t *testing.T) {
	bin := buildBinary(t)
	const (
		adminCred   = "pwroles-admin-credential-0123"
		serviceCred = "pwroles-service-credential-01"
	)
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	_, url := startServe(t, bin, "--data", t.TempDir(), "--admin-token", adminCred, "--service-token", serviceCred,
		"--virtual-clock", "--clock-start", start.Format(time.RFC3339))
	ctx := context.Background()
	c := client.New(url, adminCred)

	// Acme has an organization administrator and alice; Globex has bob.
	// Each user holds an active token.
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	code := func() string {
		now, err := c.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return gen.Code(uint64(now.Unix() / 30))
	}
	next := func() string {
		if _, err := c.AdvanceClock(ctx, "30s"); err != nil {
			t.Fatal(err)
		}
		return code()
	}
	for _, a := range []server.NewAccount{
		{UserID: "olga", Organization: "Acme", Role: server.RoleOrgAdmin},
		{UserID: "alice", Organization: "Acme"},
		{UserID: "bob", Organization: "Globex"},
	} {
		a.Email, a.FirstName, a.LastName, a.Password = a.UserID+"@example.com", "F", "L", "long password"
		if _, err := c.CreateAccount(ctx, admin, a); err != nil {
			t.Fatal(err)
		}
	}
	for user, serial := range map[string]string{"alice": "ACME1", "bob": "GLOBEX1"} {
		if _, err := c.ImportSeedFile(ctx, admin, []byte(serial+", 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: user, Serial: serial}); err != nil {
			t.Fatal(err)
		}
		c1 := next()
		if _, err := c.Activate(ctx, user, serial, c1, next()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateApplication(ctx, admin, server.Application{ID: "dash", Name: "Dashboard",
		MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}); err != nil {
		t.Fatal(err)
	}

	// cli runs the binary with a credential and standard input, and checks
	// its exit status; it returns what it printed.
	cli := func(cred, stdin string, want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--server", url)...)
		cmd.Env = append(os.Environ(), "TOKENLAB_ADMIN_TOKEN="+cred, "TOKENLAB_HOME="+t.TempDir())
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("tokenlab %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	const forbidden = "tokenlab: forbidden: You are not allowed to do this. Contact your Organization Administrator."

	// The organization administrator, through a portal's credential.
	for _, verb := range []string{"suspend", "revoke", "renew"} {
		if out := cli(serviceCred, "", 1, verb, "GLOBEX1", "--by", "org_admin", "--user", "olga"); !strings.HasPrefix(out, forbidden) {
			t.Fatalf("%s of another organization's token: %s", verb, out)
		}
	}
	if out := cli(serviceCred, "", 0, "suspend", "ACME1", "--by", "org_admin", "--user", "olga"); !strings.Contains(out, "suspended ACME1: Suspended") {
		t.Fatal(out)
	}
	if out := cli(serviceCred, "", 1, "enable", "ACME1", "--by", "user", "--user", "alice"); !strings.HasPrefix(out, forbidden) {
		t.Fatal(out)
	}
	cli(serviceCred, "", 0, "enable", "ACME1", "--by", "org_admin", "--user", "olga")
	cli(serviceCred, "", 2, "suspend", "ACME1", "--by", "org_admin")
	cli(serviceCred, "", 2, "suspend", "ACME1", "--by", "owner")

	// Reset and approve are the operator's.
	if out := cli(serviceCred, "", 1, "reset", "ACME1"); !strings.HasPrefix(out, "tokenlab: forbidden: ") {
		t.Fatal(out)
	}
	if out := cli(adminCred, "", 0, "reset", "ACME1"); !strings.Contains(out, "reset ACME1: Active (Active)") {
		t.Fatal(out)
	}
	if out := cli(adminCred, "", 1, "approve", "ACME1"); !strings.HasPrefix(out, "tokenlab: action_unavailable: This action cannot be completed at this time. Contact Exostar Customer Support for assistance.") {
		t.Fatal(out)
	}
	cli(adminCred, "", 2, "approve")

	// The organization administrator revokes alice's token: her password is
	// now a temporary one, and every application refuses her sessions.
	cli(serviceCred, "", 0, "revoke", "ACME1", "--by", "org_admin", "--user", "olga")
	ns, err := c.Notifications(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	body := ns[len(ns)-1].Body
	temp := body[strings.LastIndex(body, " ")+1:]
	ss, err := c.Login(ctx, "alice", temp, "")
	if err != nil || !ss.MustChangePassword {
		t.Fatalf("login with the temporary password: %+v, %v", ss, err)
	}
	if err := c.Access(ctx, ss.ID, "dash"); server.CodeOf(err) != server.CodePasswordChangeRequired {
		t.Fatalf("access: %v", err)
	}

	// tokenlab password: the refusals, then the change.
	for _, tc := range []struct {
		stdin, prefix string
		want          int
	}{
		{temp + "\n" + temp + "\n", "tokenlab: password_rejected: Your new password does not meet the password requirements.", 1},
		{temp + "\nshort\n", "tokenlab: password_rejected: ", 1},
		{"long password\na new permanent one\n", "tokenlab: credentials_invalid: The User ID or password you entered is incorrect.", 1}, // bob's
		{temp + "\n", "tokenlab: give the current password and the new one on standard input", 2},
		{"", "tokenlab: give the current password", 2},
	} {
		if out := cli(serviceCred, tc.stdin, tc.want, "password", "--user", "alice"); !strings.HasPrefix(out, tc.prefix) {
			t.Fatalf("stdin %q: %s", tc.stdin, out)
		}
	}
	cli(serviceCred, temp+"\nnew permanent one\n", 2, "password")
	if err := c.Access(ctx, ss.ID, "dash"); server.CodeOf(err) != server.CodePasswordChangeRequired {
		t.Fatalf("access after the refusals: %v", err)
	}
	if out := cli(serviceCred, temp+"\r\na new permanent one\r\n", 0, "password", "--user", "alice"); out != "changed the password of alice\n" {
		t.Fatalf("%q", out)
	}
	if err := c.Access(ctx, ss.ID, "dash"); err != nil {
		t.Fatalf("access after the change: %v", err)
	}
	if _, err := c.Login(ctx, "alice", "a new permanent one", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "bob", "long password", ""); err != nil {
		t.Fatalf("bob's password: %v", err)
	}
}
