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
		Use:   "scenarios [--target URL] [--label-filter EXPR] [--junit-report FILE] [--json-report FILE]",
		Short: "Run the scenario suites against the built-in server or a server under test",
		Long: `Run the scenario suites (activation, login, lockout, resync, suspension, expiry,
revocation, multi-account, strength, sessions, drift) in this process. Without --target
they run twice, against the in-process server's Go API and over HTTP; with
--target URL (or TOKENLAB_TARGET) against that server, with the administrator
credential of --admin-token or TOKENLAB_ADMIN_TOKEN. Specs that move the
clock are labelled needs-clock and skip on a server without --virtual-clock.

--label-filter selects specs by label, e.g. 'lockout || resync' or
'!needs-clock'. The data tables are read from --tables (default
fixtures/scenarios, found from the working directory upwards).`,
		Example: "  tokenlab scenarios --target http://127.0.0.1:8080 --junit-report junit.xml\n  tokenlab scenarios --label-filter 'activation && !needs-clock'",
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
			if !scenarios.Run(o) {
				return errors.New("scenarios failed: see the report above")
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "", "server URL (default $TOKENLAB_TARGET; empty: the in-process targets)")
	f.StringVar(&o.AdminToken, "admin-token", "", "administrator credential of the target (default $TOKENLAB_ADMIN_TOKEN)")
	f.StringVar(&o.LabelFilter, "label-filter", "", "run the specs whose labels match, e.g. 'lockout || resync'")
	f.StringVar(&o.JUnitReport, "junit-report", "", "write a JUnit XML report to FILE")
	f.StringVar(&o.JSONReport, "json-report", "", "write a Ginkgo JSON report to FILE")
	f.StringVar(&o.Tables, "tables", "", "directory of the data tables (default fixtures/scenarios)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "print every spec")
	return cmd
}
