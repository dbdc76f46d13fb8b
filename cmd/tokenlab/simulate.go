package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
)

// simResult is what one policy did to the fleet.
type simResult struct {
	// RefusedShare is the share of logins whose first code was refused.
	RefusedShare float64 `json:"refused_share"`
	Resyncs      int     `json:"resyncs"`
	Lockouts     int     `json:"lockouts"`
	// CodesPerAttempt is the mean number of codes a login attempt accepted:
	// the online-guessing cost.
	CodesPerAttempt float64 `json:"codes_per_attempt"`
	Logins          int     `json:"logins"`
	Attempts        int     `json:"attempts"`
	// Monthly is the refused share for each 30-day period.
	Monthly []float64 `json:"monthly_refused_share"`
}

type simOptions struct {
	tokens         int
	days           int
	every          time.Duration
	ppmMin, ppmMax float64
	seed           string
}

// simulateDrift runs a fleet through a policy on a virtual timeline. Each
// token drifts at a rate drawn (from the fleet seed) between ppmMin and
// ppmMax either way and is used every `every`; a refused code is retried
// twice a step later, then the user resyncs.
func simulateDrift(o simOptions, policy string, progress func(float64)) simResult {
	start := time.Date(2026, 1, 1, 9, 0, 10, 0, time.UTC)
	fleet := emulator.FleetSpec{Count: o.tokens, Seed: o.seed, DriftPPMMax: 1, Start: start}
	sim := server.NewDriftSim(server.Policy{DriftTracking: policy})
	drifts := make([]emulator.Drift, o.tokens)
	toks := make([]server.Token, o.tokens)
	step := func(d emulator.Drift, at time.Time) int64 { return d.TokenTime(at).Unix() / 30 }
	for i := range toks {
		u := fleet.Member(i, start).Drift.PPM // uniform in [-1, 1]
		ppm := math.Copysign(o.ppmMin+(o.ppmMax-o.ppmMin)*math.Abs(u), u)
		drifts[i] = emulator.Drift{PPM: ppm, Start: start}
		toks[i] = server.Token{PeriodS: 30}
		sim.Activate(&toks[i], start, step(drifts[i], start))
	}
	var r simResult
	var codes float64
	sessions := int(time.Duration(o.days) * 24 * time.Hour / o.every)
	monthRefused, monthLogins := 0, 0
	nextMonth := start.Add(30 * 24 * time.Hour)
	for s := 1; s <= sessions; s++ {
		at := start.Add(time.Duration(s) * o.every)
		for at.After(nextMonth) {
			r.Monthly = append(r.Monthly, share(monthRefused, monthLogins))
			monthRefused, monthLogins = 0, 0
			nextMonth = nextMonth.Add(30 * 24 * time.Hour)
		}
		for i := range toks {
			r.Logins++
			monthLogins++
			ok := false
			for try := range 3 {
				t := at.Add(time.Duration(try) * 30 * time.Second)
				wasLocked := toks[i].Locked
				accepted, n := sim.Login(&toks[i], t, step(drifts[i], t))
				r.Attempts++
				codes += float64(n)
				if toks[i].Locked && !wasLocked {
					r.Lockouts++
				}
				if accepted {
					ok = true
					break
				}
				if try == 0 {
					r.RefusedShare++
					monthRefused++
				}
			}
			if !ok {
				t := at.Add(2 * time.Minute)
				if sim.Resync(&toks[i], t, step(drifts[i], t)) {
					r.Resyncs++
				}
			}
		}
		if progress != nil {
			progress(float64(s) / float64(sessions))
		}
	}
	if monthLogins > 0 {
		r.Monthly = append(r.Monthly, share(monthRefused, monthLogins))
	}
	r.RefusedShare = share(int(r.RefusedShare), r.Logins)
	if r.Attempts > 0 {
		r.CodesPerAttempt = codes / float64(r.Attempts)
	}
	return r
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func (a *app) simulateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Simulate token fleets on a virtual clock",
		Args:  noArgs,
		RunE:  groupRunE,
	}
	var (
		o        simOptions
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
			o.every = every
			switch {
			case o.tokens < 1 || o.tokens > 1_000_000:
				return usagef("invalid --tokens %d: use 1 to 1000000", o.tokens)
			case o.days < 1 || o.days > 20*365:
				return usagef("invalid --days %d: use 1 to 7300", o.days)
			case o.ppmMax < o.ppmMin || o.ppmMin < 0 || o.ppmMax > 1000:
				return usagef("use 0 <= --ppm-min <= --ppm-max <= 1000")
			}
			policies := []string{server.DriftFixed, server.DriftOffset, server.DriftRate}
			if policy != "all" {
				if policy != server.DriftFixed && policy != server.DriftOffset && policy != server.DriftRate {
					return usagef("invalid --policy %q: use fixed, offset, rate or all", policy)
				}
				policies = []string{policy}
			}
			results := make(map[string]simResult, len(policies))
			var mu sync.Mutex
			done := make([]float64, len(policies))
			showProgress := !asJSON && isTerminal(os.Stderr)
			var wg sync.WaitGroup
			for i, p := range policies {
				wg.Go(func() {
					res := simulateDrift(o, p, func(f float64) {
						if !showProgress {
							return
						}
						mu.Lock()
						defer mu.Unlock()
						done[i] = f
						total := 0.0
						for _, d := range done {
							total += d
						}
						fmt.Fprintf(a.stderr, "\rsimulating %d tokens × %d days: %3.0f%%", o.tokens, o.days, 100*total/float64(len(done)))
					})
					mu.Lock()
					results[p] = res
					mu.Unlock()
				})
			}
			wg.Wait()
			if showProgress {
				fmt.Fprintln(a.stderr)
			}
			if plot != "" {
				if err := os.WriteFile(plot, []byte(driftSVG(results, policies, o)), 0o644); err != nil {
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
	f.IntVar(&o.tokens, "tokens", 1000, "tokens in the fleet")
	f.IntVar(&o.days, "days", 730, "days to simulate")
	f.StringVar(&everyStr, "every", "24h", "how often each token is used, e.g. 24h, 30d, 90d")
	f.Float64Var(&o.ppmMin, "ppm-min", 3, "smallest drift rate, either way")
	f.Float64Var(&o.ppmMax, "ppm-max", 12, "largest drift rate, either way")
	f.StringVar(&o.seed, "seed", "simulate", "fleet seed")
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

// driftSVG plots the monthly refused share of each policy.
func driftSVG(results map[string]simResult, policies []string, o simOptions) string {
	const w, h, left, bottom, top, right = 720, 360, 60, 40, 40, 120
	colors := map[string]string{server.DriftFixed: "#c0392b", server.DriftOffset: "#2471a3", server.DriftRate: "#1e8449"}
	months := 1
	peak := 0.01
	for _, p := range policies {
		months = max(months, len(results[p].Monthly))
		for _, v := range results[p].Monthly {
			peak = math.Max(peak, v)
		}
	}
	peak = math.Ceil(peak*10) / 10
	x := func(i int) float64 { return left + float64(i)*(w-left-right)/math.Max(1, float64(months-1)) }
	y := func(v float64) float64 { return h - bottom - v/peak*(h-bottom-top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">Logins refused per month: %d tokens, %g–%g ppm, used every %v</text>`+"\n", left, o.tokens, o.ppmMin, o.ppmMax, o.every)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	for _, v := range []float64{0, peak / 2, peak} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n", left-6, y(v)+4, 100*v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">month</text>`+"\n", float64(w-right+left)/2, h-8)
	for i, p := range policies {
		var pts []string
		for m, v := range results[p].Monthly {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(m), y(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[p], strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s (%.1f%%)</text>`+"\n", w-right+10, top+20+18*i, colors[p], p, 100*results[p].RefusedShare)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
