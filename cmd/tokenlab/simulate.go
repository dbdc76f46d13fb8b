package main

import (
	"bytes"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/scenarios/driftsim"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
)

func (a *app) simulateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Simulate token fleets on a virtual clock",
		Args:  noArgs,
		RunE:  groupRunE,
	}
	var (
		o        driftsim.Fleet
		policy   string
		plot     string
		asJSON   bool
		everyStr string
	)
	drift := &cobra.Command{
		Use:   "drift --tokens N --days D --every DURATION --ppm-max F --policy fixed|offset|rate|all [--plot FILE] [--json]",
		Short: "Compare the drift tracking policies on a drifting fleet",
		Long: `Run a fleet whose clocks drift (rates drawn from the fleet seed between
--ppm-min and --ppm-max, either way) through the server's login decisions —
the same window and learning as the server, on step numbers — using each
token every --every for --days. A refused code is retried twice a step later,
then the user resyncs. Per policy it reports the share of logins whose first
code was refused, the resyncs, the lockouts and the mean codes accepted per
attempt (the online-guessing cost); --plot writes the monthly refused share
as an SVG.`,
		Example: "  tokenlab simulate drift --tokens 10000 --days 730 --every 24h --ppm-max 12 --policy all --plot drift.svg",
		Args:    noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			every, err := parseEvery(everyStr)
			if err != nil {
				return err
			}
			o.Every = every
			switch {
			case o.Tokens < 1 || o.Tokens > 1_000_000:
				return usagef("invalid --tokens %d: use 1 to 1000000", o.Tokens)
			case o.Days < 1 || o.Days > 20*365:
				return usagef("invalid --days %d: use 1 to 7300", o.Days)
			case o.PPMMax < o.PPMMin || o.PPMMin < 0 || o.PPMMax > 1000:
				return usagef("use 0 <= --ppm-min <= --ppm-max <= 1000")
			}
			policies := []string{server.DriftFixed, server.DriftOffset, server.DriftRate}
			if policy != "all" {
				if policy != server.DriftFixed && policy != server.DriftOffset && policy != server.DriftRate {
					return usagef("invalid --policy %q: use fixed, offset, rate or all", policy)
				}
				policies = []string{policy}
			}
			var progress func(float64)
			showProgress := !asJSON && isTerminal(os.Stderr)
			if showProgress {
				progress = func(done float64) {
					fmt.Fprintf(a.stderr, "\rsimulating %d tokens × %d days: %3.0f%%", o.Tokens, o.Days, 100*done)
				}
			}
			results := driftsim.Compare(o, policies, progress)
			if showProgress {
				fmt.Fprintln(a.stderr)
			}
			if plot != "" {
				var svg bytes.Buffer
				if err := driftsim.WriteSVG(&svg, o, policies, results); err != nil {
					return err
				}
				if err := os.WriteFile(plot, svg.Bytes(), 0o644); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(a, results)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "POLICY\tLOGINS REFUSED\tRESYNCS\tLOCKOUTS\tCODES PER ATTEMPT\n")
			for _, p := range policies {
				r := results[p]
				fmt.Fprintf(w, "%s\t%.2f%%\t%d\t%d\t%.2f\n", p, 100*r.RefusedShare, r.Resyncs, r.Lockouts, r.CodesPerAttempt)
			}
			if plot != "" {
				fmt.Fprintf(a.stderr, "plot written to %s\n", plot)
			}
			return w.Flush()
		}),
	}
	f := drift.Flags()
	f.IntVar(&o.Tokens, "tokens", 1000, "tokens in the fleet")
	f.IntVar(&o.Days, "days", 730, "days to simulate")
	f.StringVar(&everyStr, "every", "24h", "how often each token is used, e.g. 24h, 30d, 90d")
	f.Float64Var(&o.PPMMin, "ppm-min", 3, "smallest drift rate, either way")
	f.Float64Var(&o.PPMMax, "ppm-max", 12, "largest drift rate, either way")
	f.StringVar(&o.Seed, "seed", "simulate", "fleet seed")
	f.StringVar(&policy, "policy", "all", "fixed, offset, rate or all")
	f.StringVar(&plot, "plot", "", "write the monthly refused share as an SVG plot to FILE")
	f.BoolVar(&asJSON, "json", false, "print an object keyed by policy")
	cmd.AddCommand(drift)
	return cmd
}

// parseEvery reads a Go duration or days ("90d"), as the API's clock does.
func parseEvery(s string) (time.Duration, error) {
	d, err := httpapi.ParseDuration(s)
	if err != nil || d < time.Hour {
		return 0, usagef("invalid --every %q: use a duration of an hour or more, e.g. 24h or 90d", s)
	}
	return d, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
