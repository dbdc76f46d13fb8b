package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/scenarios/probe"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
)

func (a *app) probeCommand() *cobra.Command {
	var (
		spec, expectFile   string
		asJSON, asMarkdown bool
		timeout            time.Duration
		o                  probe.Options
	)
	cmd := &cobra.Command{
		Use:   "probe radius://SECRET@HOST:PORT --provision P [--json|--markdown] [--expect FILE]",
		Short: "Measure how an OTP deployment behaves over RADIUS, and check it against a profile",
		Long: `Measure how an OTP system reached over RADIUS actually behaves, with fresh
users for every measurement so that none disturbs another, and print a
report: the accepted window (steps behind and ahead), whether a replayed code
and an older unused code are refused, the lockout threshold and what unlocks
it, whether a drifting token's offset is learned, the next-code challenge,
6- and 8-digit codes, whether a request without Message-Authenticator is
answered (BlastRADIUS, CVE-2024-3596), how a retransmission is treated, and
latency. Each property's note says what was sent and answered.

TARGET is radius://SECRET@HOST:PORT (default $TOKENLAB_TARGET when it is a
radius:// URL). The shared secret may instead be left out of the URL,
radius://HOST:PORT, and given in $TOKENLAB_RADIUS_SECRET, so that it is not
in the process list; this host must be one of the server's RADIUS clients.

RADIUS cannot create tokens, so --provision says how users are made:

  tokenlab+http://HOST:PORT    the server is tokenlab serve --radius: users,
  tokenlab+https://HOST:PORT   tokens, activation through its API with the
                               administrator credential of
                               $TOKENLAB_ADMIN_TOKEN. With --virtual-clock the
                               probe moves the server's clock (by about 26
                               hours in all) and is exact and fast; on a real
                               clock nothing waits, and what needs time to
                               pass is reported as not measured.

and any other provisioner registered (oath-usersfile:, google-authenticator:,
pskc:). The probe makes about 25 users and 100 requests; each user's account,
token and activation stay on the system.

--json prints the report as one object: "window":{"behind":N,"ahead":N},
"replay_refused", "older_code_refused", "lockout_threshold" (null: no lock
within --max-lockout wrong codes), "unlocks_by" (later_code, resync, clock),
"learns_drift", "next_code_challenge", "digits", "digits_accepted",
"requires_message_authenticator", "response_signed", "retransmission"
(cached, same_answer, processed_again, dropped), "latency_ms":{"p50","p99"},
the target (secret left out), the provisioner and "notes". --markdown prints
a table: property, value, how it was measured.

--expect FILE checks the report against a profile, a JSON object with any of
those properties and the values required, e.g.

  {"window": {"behind": 1, "ahead": 1}, "replay_refused": true,
   "lockout_threshold": 5, "requires_message_authenticator": true}

window may give behind, ahead or both; lockout_threshold may be null;
lockout_threshold and window's parts may be an upper bound, {"max": N}
(no lockout exceeds any); unlocks_by and digits_accepted compare as sets;
latency_ms gives upper bounds. Exit status: 0 when every property is as required (or without
--expect), 1 with the properties that differ listed when one is not (or
when the probe cannot measure), 2 on a usage error (a bad target, flag or
profile).`,
		Example: "  TOKENLAB_ADMIN_TOKEN=… tokenlab probe radius://SECRET@127.0.0.1:1812 --provision tokenlab+http://127.0.0.1:8080\n" +
			"  TOKENLAB_RADIUS_SECRET=… tokenlab probe radius://vpn-otp.example:1812 --provision oath-usersfile:/etc/users.oath --expect ci/otp-profile.json --markdown",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("'%s' takes one TARGET, radius://SECRET@HOST:PORT", cmd.CommandPath())
			}
			return nil
		},
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			target := os.Getenv("TOKENLAB_TARGET")
			if len(args) == 1 {
				target = args[0]
			} else if !strings.HasPrefix(target, "radius://") {
				target = ""
			}
			rc, err := probeTarget(target)
			if err != nil {
				return err
			}
			rc.Timeout = timeout
			switch {
			case spec == "":
				return usagef("--provision is required: RADIUS cannot create users, e.g. --provision tokenlab+http://HOST:PORT")
			case asJSON && asMarkdown:
				return usagef("--json and --markdown do not mix: choose one")
			case timeout <= 0 || o.NoAnswerTimeout <= 0 || o.RetransmitAfter <= 0:
				return usagef("--timeout, --no-answer-timeout and --retransmit-after must be positive")
			case o.MaxWindow < 1 || o.MaxLockout < 1:
				return usagef("--max-window and --max-lockout must be at least 1")
			}
			var profile *probe.Profile
			if expectFile != "" {
				data, err := os.ReadFile(expectFile)
				if err != nil {
					return usagef("--expect: %v", err)
				}
				p, err := probe.ParseProfile(data)
				if err != nil {
					return usagef("--expect %s: %v", expectFile, err)
				}
				profile = &p
			}
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
			if !asJSON && !asMarkdown {
				o.Log = func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }
			}
			rep, err := probe.Run(ctx, probe.Target{RADIUS: rc, Provisioner: prov}, o)
			if err != nil {
				return err
			}
			switch {
			case asJSON:
				err = probe.WriteJSON(a.stdout, rep)
			case asMarkdown:
				err = probe.WriteMarkdown(a.stdout, rep)
			default:
				err = probe.WriteText(a.stdout, rep)
			}
			if err != nil || profile == nil {
				return err
			}
			diffs := probe.Compare(rep, *profile)
			if !asJSON {
				fmt.Fprintln(a.stdout, expectSummary(expectFile, profile, diffs, asMarkdown))
			}
			if len(diffs) == 0 {
				return nil
			}
			var ds []string
			for _, d := range diffs {
				ds = append(ds, d.String())
			}
			return fmt.Errorf("the deployment differs from the profile %s: %s", expectFile, strings.Join(ds, "; "))
		}),
	}
	f := cmd.Flags()
	f.StringVar(&spec, "provision", "", "how users are made: tokenlab+http://HOST:PORT (with $TOKENLAB_ADMIN_TOKEN), …")
	f.StringVar(&expectFile, "expect", "", "a profile (JSON) the report must match: exit status 1 naming each property that differs")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&asMarkdown, "markdown", false, "print the report as a Markdown table")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "how long a request waits for its answer")
	f.DurationVar(&o.NoAnswerTimeout, "no-answer-timeout", 2*time.Second, "how long a request the server may rightly ignore (unsigned, a retransmission) waits")
	f.DurationVar(&o.RetransmitAfter, "retransmit-after", time.Second, "how long after its answer a request is sent again, as a NAS whose answer was lost would")
	f.IntVar(&o.MaxWindow, "max-window", 10, "the most steps either way the window is probed")
	f.IntVar(&o.MaxLockout, "max-lockout", 20, "the most wrong codes tried before the lockout threshold is none")
	return cmd
}

// probeTarget reads radius://SECRET@HOST:PORT, or radius://HOST:PORT with
// the secret in $TOKENLAB_RADIUS_SECRET. Its errors never quote the secret.
func probeTarget(target string) (*radclient.Client, error) {
	if target == "" {
		return nil, usagef("'tokenlab probe' needs TARGET, radius://SECRET@HOST:PORT (or $TOKENLAB_TARGET)")
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "radius" {
		return nil, usagef("TARGET: want radius://SECRET@HOST:PORT, the RADIUS server's shared secret, host and UDP port")
	}
	if u.User == nil {
		secret := os.Getenv("TOKENLAB_RADIUS_SECRET")
		if secret == "" {
			return nil, usagef("TARGET has no shared secret: give radius://SECRET@HOST:PORT or set TOKENLAB_RADIUS_SECRET")
		}
		u.User = url.User(secret)
	}
	rc, err := radclient.Parse(u.String())
	if err != nil {
		return nil, usagef("TARGET: want radius://SECRET@HOST:PORT, the RADIUS server's shared secret, host and UDP port")
	}
	return rc, nil
}

// expectSummary is the profile's verdict, printed after the report.
func expectSummary(file string, p *probe.Profile, diffs []probe.Difference, markdown bool) string {
	bullet := "  "
	if markdown {
		bullet = "- "
	}
	if len(diffs) == 0 {
		return fmt.Sprintf("\nprofile %s: as required (%s)", file, strings.Join(p.Keys(), ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nprofile %s: not as required\n", file)
	if markdown {
		b.WriteString("\n")
	}
	for _, d := range diffs {
		fmt.Fprintf(&b, "%s%s\n", bullet, d)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
