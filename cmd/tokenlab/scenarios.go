package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/scenarios"
)

func (a *app) scenariosCommand() *cobra.Command {
	var o scenarios.Options
	cmd := &cobra.Command{
		Use:   "scenarios [--target URL] [--provision P] [--label-filter EXPR] [--junit-report FILE] [--json-report FILE]",
		Short: "Run the scenario suites against the built-in server or a server under test",
		Long: `Run the scenario suites (activation, login, lockout, resync, suspension, expiry,
revocation, multi-account, strength, sessions, drift, phone, proofing, password,
roles, policy, faults) in this process. Without --target
they run against the in-process server: through its Go API, over HTTP, over
RADIUS, and over RADIUS as a minimal target. With --target URL (or
TOKENLAB_TARGET) they run against that tokenlab server, with the
administrator credential of --admin-token or TOKENLAB_ADMIN_TOKEN.

With --target radius://SECRET@HOST:PORT the codes are checked over RADIUS
(PAP with Message-Authenticator; an Access-Challenge asks for the next
code), and --provision P makes the users, since RADIUS cannot create
tokens: tokenlab+http://HOST:PORT (tokenlab serve --radius: every spec runs,
codes over RADIUS and the rest through its API), oath-usersfile:PATH,
google-authenticator:DIR or pskc:FILE?users=FILE.csv (a system tokenlab did
not write: the specs that only provision users and check codes run).

A target has roles (provision, verify, reasons, lockout, activate, resync,
suspend, revoke, expiry, clock, inspect, portal, next-code), and each spec
is labelled needs-ROLE for those it uses: a spec needing a role the target
lacks is skipped, and the reason is printed and written to the reports. The
clock is a role only of a server started with --virtual-clock.

--label-filter selects specs by label, e.g. 'lockout || resync' or
'!needs-clock'. The data tables are read from --tables (default
fixtures/scenarios, found from the working directory upwards).`,
		Example: "  tokenlab scenarios --target http://127.0.0.1:8080 --junit-report junit.xml\n  tokenlab scenarios --label-filter 'activation && !needs-clock'\n  tokenlab scenarios --target radius://SECRET@127.0.0.1:1812 --provision tokenlab+http://127.0.0.1:8080\n  tokenlab scenarios --target radius://SECRET@127.0.0.1:1812 --provision oath-usersfile:/etc/users.oath",
		Args:    noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if o.Target == "" {
				o.Target = os.Getenv("TOKENLAB_TARGET")
			}
			if o.AdminToken == "" {
				o.AdminToken = os.Getenv("TOKENLAB_ADMIN_TOKEN")
			}
			if !isTerminal(os.Stdout) {
				o.NoColor = true // a log file or a CI console
			}
			ok, err := scenarios.Run(o)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("scenarios failed: see the report above")
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "", "server URL, or radius://SECRET@HOST:PORT (default $TOKENLAB_TARGET; empty: the in-process targets)")
	f.StringVar(&o.Provision, "provision", "", "how a RADIUS target's users are made: tokenlab+http://HOST:PORT, oath-usersfile:PATH, google-authenticator:DIR, pskc:FILE?users=FILE.csv")
	f.StringVar(&o.AdminToken, "admin-token", "", "administrator credential of the target (default $TOKENLAB_ADMIN_TOKEN)")
	f.StringVar(&o.LabelFilter, "label-filter", "", "run the specs whose labels match, e.g. 'lockout || resync'")
	f.StringVar(&o.JUnitReport, "junit-report", "", "write a JUnit XML report to FILE")
	f.StringVar(&o.JSONReport, "json-report", "", "write a Ginkgo JSON report to FILE")
	f.StringVar(&o.Tables, "tables", "", "directory of the data tables (default fixtures/scenarios)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "print every spec")
	return cmd
}
