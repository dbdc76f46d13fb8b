package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/internal/oathtool"
	"github.com/tokenlab/tokenlab/scenarios/fleetload"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server/perf"
)

func (a *app) benchCommand() *cobra.Command {
	var (
		r           remoteFlags
		duration    time.Duration
		concurrency int
		tokens      int
		loginFlood  int
		benchtime   time.Duration
		apiURL      string
		provSpec    string
	)
	cmd := &cobra.Command{
		Use:   "bench [--server URL] [--provision P] [--duration D] [--concurrency N] [--tokens N] [--json]",
		Short: "Measure tokenlab against pquerna/otp and oathtool, and load-test a server",
		Long: `Run the micro-benchmarks — code generation, verification (accept, reject) and
the worst-case resync search — against pquerna/otp doing the same work, and
one code against one oathtool run, and print each speed-up as a ratio from
the same run. With --server, also load-test that server (it needs
--virtual-clock): seed tokens and accounts through the API with the
administrator credential, then send verify requests for --duration with
--concurrency workers — fresh, wrong and replayed codes, each answer checked
(a wrong answer fails the run) — and print throughput and p50/p99 latency.
Every verification is acknowledged only once it is on disk, so few workers
measure latency and many (32 or more) the server's throughput. With
--login-flood N, a second phase as long sends the same verifications while N
workers log in with a wrong password, again and again, and prints both
phases' latencies: a password check must not slow a verification down.

--json prints one object: "ratios" maps each comparison to our speed-up,
"details" has the ns/op, and "load" (with --server) has verifications_per_s,
p50_ms and p99_ms, with the concurrency and tokens it ran with, and "flood"
the second phase's (with --login-flood).

--server radius://SECRET@HOST:PORT load-tests a server's RADIUS listener
(tokenlab serve --radius, with a clients file that holds this machine and
SECRET): the HTTP API of --api seeds the tokens and moves the clock, the same
load runs first over HTTP and then as Access-Requests, and both are printed
("load" and "radius_load"), side by side from one run.

--server radius://SECRET@HOST:PORT --provision P load-tests any OTP system
behind RADIUS, tokenlab or not, with a fleet of --tokens virtual tokens and
valid codes only; the micro-benchmarks are not run. P makes the users, as for
tokenlab probe: tokenlab+http://HOST:PORT (tokenlab serve, with
$TOKENLAB_ADMIN_TOKEN; its tokens are imported as one PSKC file),
oath-usersfile:PATH (pam_oath), google-authenticator:DIR or pskc:. Then for
--duration, --concurrency workers each take a user that has not logged in in
its token's current 30 s step, press its token and send the code as an
Access-Request (PAP, with a Message-Authenticator): an Access-Accept is
expected; a reject is counted with its Reply-Message, and more than 1% of them
(or of requests unanswered after two retransmissions) fail the run, exit
status 1. A user logs in at most once a step, since the systems refuse a
replayed step: against tokenlab serve --virtual-clock the run moves the clock
one step once every user has logged in; on a real clock the workers wait for
the next step, and the time they waited is printed (a run that waits more than
a tenth of its time says the fleet is too small for the rate). It prints the
fleet size, the concurrency, the provisioning time, accepts and accepts per
second over the whole run, p50/p99 latency and the rejects; --json prints
{"fleet_load": {...}} with users, concurrency, clock, provision_s, duration_s,
logins, accepts, accepts_per_s, p50_ms, p99_ms, rejects, reject_messages,
no_answer, steps, clock_move_s, waiting_s and note. Each user's account and
token stay on the system.`,
		Example: "  tokenlab bench\n  tokenlab bench --server http://127.0.0.1:8080 --duration 10s --concurrency 8 --json\n  tokenlab bench --server radius://SECRET@127.0.0.1:1812 --api http://127.0.0.1:8080 --concurrency 32\n" +
			"  tokenlab bench --server radius://SECRET@127.0.0.1:1812 --provision oath-usersfile:/etc/users.oath --tokens 3000 --concurrency 16 --duration 20s",
		Args: noArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			if concurrency < 1 || tokens < 1 || duration <= 0 || loginFlood < 0 {
				return usagef("--concurrency and --tokens must be at least 1, --duration positive and --login-flood not negative")
			}
			radiusAddr, radiusSecret, err := parseRadiusTarget(r.server)
			if err != nil {
				return err
			}
			if provSpec != "" {
				switch {
				case radiusAddr == "":
					return usagef("--provision drives a fleet over RADIUS: give --server radius://SECRET@HOST:PORT")
				case apiURL != "" || loginFlood != 0:
					return usagef("--provision does not mix with --api or --login-flood: those are tokenlab's own load test")
				}
				return a.benchFleet(r.server, provSpec, r.asJSON, fleetload.Options{Users: tokens, Concurrency: concurrency, Duration: duration})
			}
			testing.Init()
			if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := struct {
				Ratios  map[string]float64     `json:"ratios"`
				Details map[string]perf.Result `json:"details"`
				Load    *perf.LoadResult       `json:"load,omitempty"`
				// RadiusLoad is the same load over RADIUS (--server radius://…).
				RadiusLoad *perf.LoadResult `json:"radius_load,omitempty"`
			}{Ratios: map[string]float64{}, Details: map[string]perf.Result{}}
			for _, c := range perf.Cases() {
				if !r.asJSON {
					fmt.Fprintf(a.stderr, "measuring %s…\n", c.Name)
				}
				res := perf.Measure(c)
				out.Ratios[c.Name+"_vs_pquerna"], out.Details[c.Name+"_vs_pquerna"] = res.Ratio, res
			}
			if _, err := oathtool.Path(); err == nil {
				res, err := perf.Oathtool(ctx, 50)
				if err != nil {
					return err
				}
				out.Ratios["code_vs_oathtool"], out.Details["code_vs_oathtool"] = res.Ratio, res
			} else if !r.asJSON {
				fmt.Fprintf(a.stderr, "no oathtool comparison: %v\n", err)
			}
			if radiusAddr != "" {
				r.server = apiURL // seeding and the clock go through the API
			}
			if cmd.Flags().Changed("server") || os.Getenv("TOKENLAB_SERVER") != "" && r.server != "" {
				if !r.asJSON {
					fmt.Fprintf(a.stderr, "load test of %s for %v…\n", r.client().BaseURL, duration)
				}
				lr, err := perf.Load(ctx, r.client(), perf.LoadOptions{Tokens: tokens, Concurrency: concurrency, Duration: duration, LoginFlood: loginFlood})
				if err != nil {
					return remoteErr(err)
				}
				out.Load = &lr
			}
			if radiusAddr != "" {
				// Side by side: the same load over RADIUS, on the same server.
				if !r.asJSON {
					fmt.Fprintf(a.stderr, "RADIUS load test of %s for %v…\n", radiusAddr, duration)
				}
				pol, err := r.client().Policy(ctx)
				if err != nil {
					return remoteErr(err)
				}
				lr, err := perf.Load(ctx, r.client(), perf.LoadOptions{Tokens: tokens, Concurrency: concurrency, Duration: duration,
					Verify: perf.RadiusVerifier(radiusAddr, []byte(radiusSecret), pol)})
				if err != nil {
					return fmt.Errorf("RADIUS load test: %w", remoteErr(err))
				}
				out.RadiusLoad = &lr
			}
			if r.asJSON {
				return writeJSON(a, out)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "COMPARISON\tTOKENLAB\tBASELINE\tSPEED-UP")
			for _, name := range []string{"code_vs_pquerna", "verify_accept_center_vs_pquerna", "verify_accept_edge_vs_pquerna", "verify_reject_vs_pquerna", "resync_worst_case_vs_pquerna", "code_vs_oathtool"} {
				if d, ok := out.Details[name]; ok {
					fmt.Fprintf(w, "%s\t%s\t%s\t%.1f×\n", name, ns(d.OursNsOp), ns(d.BaseNsOp), d.Ratio)
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if l := out.Load; l != nil {
				fmt.Fprintf(a.stdout, "\nload: %d verifications of %d tokens, %d at once (%d fresh, %d wrong, %d replayed, every answer right) at %.0f/s, p50 %.2f ms, p99 %.2f ms\n",
					l.Verifications, l.Tokens, l.Concurrency, l.Fresh, l.Wrong, l.Replayed, l.VerificationsPS, l.P50ms, l.P99ms)
				if fl := l.Flood; fl != nil {
					fmt.Fprintf(a.stdout, "under a login flood (%d workers, %d wrong-password logins at %.0f/s, p50 %.2f ms): %d verifications at %.0f/s, p50 %.2f ms, p99 %.2f ms\n",
						fl.Workers, fl.Logins, fl.LoginsPS, fl.LoginP50ms, fl.Verifications, fl.VerificationsPS, fl.P50ms, fl.P99ms)
				}
			}
			if l := out.RadiusLoad; l != nil {
				fmt.Fprintf(a.stdout, "RADIUS load: %d Access-Requests of %d tokens, %d at once (%d accepted, %d wrong, %d replayed, every answer right) at %.0f/s, p50 %.2f ms, p99 %.2f ms\n",
					l.Verifications, l.Tokens, l.Concurrency, l.Fresh, l.Wrong, l.Replayed, l.VerificationsPS, l.P50ms, l.P99ms)
			}
			return nil
		}),
	}
	r.add(cmd)
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 10*time.Second, "how long the load test sends requests")
	f.IntVar(&concurrency, "concurrency", 8, "parallel requests of the load test")
	f.IntVar(&tokens, "tokens", 200, "tokens and accounts the load test seeds")
	f.IntVar(&loginFlood, "login-flood", 0, "workers sending wrong-password logins in a second load phase (0: none)")
	f.DurationVar(&benchtime, "benchtime", time.Second, "how long each micro-benchmark runs")
	f.StringVar(&provSpec, "provision", "", "with --server radius://…: load-test any system with a fleet of --tokens users made by this provisioner (tokenlab+http://HOST:PORT, oath-usersfile:PATH, …)")
	f.StringVar(&apiURL, "api", "", "with --server radius://…: the server's HTTP API, which seeds the tokens and moves the clock (default $TOKENLAB_SERVER, else "+DefaultServer+")")
	return cmd
}

func ns(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f ns", v)
}

// parseRadiusTarget reads --server radius://SECRET@HOST:PORT; another
// --server is no RADIUS target ("", "", nil).
func parseRadiusTarget(s string) (addr, secret string, err error) {
	if !strings.HasPrefix(s, "radius://") {
		return "", "", nil
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.User.Username() == "" || u.Port() == "" || u.Path != "" && u.Path != "/" {
		return "", "", usagef("--server radius://SECRET@HOST:PORT: the shared secret, the host and the port are required")
	}
	return u.Host, u.User.Username(), nil
}

// benchFleetRetries is how many times an unanswered Access-Request is sent
// again, as a NAS does: a request lost once is the network's, not a refusal.
const benchFleetRetries = 2

// benchFleet is bench --server radius://… --provision P: the fleet load of
// scenarios/fleetload. The result is printed even when the run failed (too
// many rejects), since it says what was refused.
func (a *app) benchFleet(target, spec string, asJSON bool, o fleetload.Options) error {
	rc, err := radclient.Parse(target)
	if err != nil {
		return usageError{err}
	}
	rc.Retries = benchFleetRetries
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prov, err := provision.Open(ctx, spec, nil)
	if errors.Is(err, provision.ErrUnknownScheme) {
		return usageError{fmt.Errorf("--provision: %w", err)}
	}
	if err != nil {
		return err
	}
	defer prov.Close()
	if !asJSON {
		o.Log = func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }
	}
	res, err := fleetload.Run(ctx, rc, prov, o)
	if res.Logins == 0 && err != nil {
		return err // nothing was sent: provisioning failed
	}
	if asJSON {
		if werr := writeJSON(a, struct {
			FleetLoad fleetload.Result `json:"fleet_load"`
		}{res}); werr != nil {
			return werr
		}
		return err
	}
	batch := ""
	if res.Batch {
		batch = " (one batch)"
	}
	fmt.Fprintf(a.stdout, "fleet load of %s: %d users made with %s in %.1f s%s, %d at once, %s clock\n",
		res.Target, res.Users, res.Provisioner, res.ProvisionS, batch, res.Concurrency, res.Clock)
	fmt.Fprintf(a.stdout, "%d accepted in %.1f s: %.1f/s, p50 %.2f ms, p99 %.2f ms; %d rejected, %d unanswered; %d steps",
		res.Accepts, res.DurationS, res.AcceptsPS, res.P50ms, res.P99ms, res.Rejects, res.NoAnswer, res.Steps)
	switch res.Clock {
	case "virtual":
		fmt.Fprintf(a.stdout, ", %.2f s moving the clock\n", res.ClockMoveS)
	default:
		fmt.Fprintf(a.stdout, ", %.1f s waiting for a step\n", res.WaitingS)
	}
	for msg, n := range res.RejectMessages {
		fmt.Fprintf(a.stdout, "  rejected ×%d: %s\n", n, msg)
	}
	if res.Note != "" {
		fmt.Fprintf(a.stdout, "note: %s\n", res.Note)
	}
	return err
}
