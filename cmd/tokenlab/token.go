package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
)

// storeFlag adds --store to a command group and returns the store it names.
func storeFlag(cmd *cobra.Command) func() (*emulator.Store, error) {
	var path string
	cmd.PersistentFlags().StringVar(&path, "store", "", "token store file (default $TOKENLAB_HOME/tokens.json, else ~/.config/tokenlab/tokens.json)")
	return func() (*emulator.Store, error) { return openTokenStore(path) }
}

// openTokenStore opens the store at path, or the default store.
func openTokenStore(path string) (*emulator.Store, error) {
	if path != "" {
		return emulator.OpenStore(path), nil
	}
	p, err := emulator.DefaultStorePath()
	if err != nil {
		return nil, err
	}
	return emulator.OpenStore(p), nil
}

// notFound turns a missing serial into an error that says where to look.
func notFound(err error, st *emulator.Store) error {
	if errors.Is(err, emulator.ErrNotFound) {
		return fmt.Errorf("%v in %s: see 'tokenlab token list'", err, st.Path())
	}
	return err
}

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, press, inspect and break virtual tokens",
		Args:  noArgs,
		RunE:  groupRunE,
	}
	store := storeFlag(cmd)
	complete := serialCompletion(store)
	cmd.AddCommand(
		a.tokenNewCommand(store),
		a.tokenPressCommand(store, complete),
		a.tokenListCommand(store),
		a.tokenShowCommand(store, complete),
		a.tokenRmCommand(store, complete),
		a.tokenDriftCommand(store, complete),
		a.tokenFaultCommand(store, complete),
		a.tokenImportCommand(store),
		a.tokenAttachCommand(store, complete),
		a.tokenExportCommand(store, complete),
	)
	return cmd
}

func serialCompletion(store func() (*emulator.Store, error)) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		st, err := store()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		_ = st.View(func(set *emulator.TokenSet) error {
			for _, s := range set.List() {
				if strings.HasPrefix(s.Serial, prefix) {
					out = append(out, s.Serial)
				}
			}
			return nil
		})
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

type driftFlags struct {
	offset time.Duration
	ppm    float64
	start  string
}

func (d *driftFlags) add(cmd *cobra.Command, prefix string) {
	f := cmd.Flags()
	f.DurationVar(&d.offset, prefix+"offset", 0, "token clock offset from true time, e.g. 90s or -2m")
	f.Float64Var(&d.ppm, prefix+"ppm", 0, "token clock rate in parts per million (real tokens: 3 to 12)")
	f.StringVar(&d.start, prefix+"start", "", "when the rate starts to count, RFC 3339 (default now)")
}

func (d *driftFlags) drift(now time.Time) (emulator.Drift, error) {
	out := emulator.Drift{Offset: d.offset, PPM: d.ppm, Start: now}
	if d.start != "" {
		t, err := time.Parse(time.RFC3339Nano, d.start)
		if err != nil {
			return out, usagef("invalid drift start %q: use RFC 3339, e.g. 2026-01-01T00:00:00Z", d.start)
		}
		out.Start = t
	}
	return out, nil
}

func (a *app) tokenNewCommand(store func() (*emulator.Store, error)) *cobra.Command {
	var (
		serial, secretHex string
		hotp, asJSON      bool
		counter           uint64
		codes             oathFlags
		drift             driftFlags
	)
	cmd := &cobra.Command{
		Use:   "new [--serial S] [--secret-hex HEX] [--algorithm ..] [--digits ..] [--period ..] [--hotp] [--drift-offset D] [--drift-ppm F] [--drift-start RFC3339]",
		Short: "Create a virtual token in the store",
		Long: `Create a virtual token. A missing --serial or --secret-hex is generated and
printed (the secret only this once: 'token show' hides it unless asked).`,
		Example: `  tokenlab token new --serial VIRT0616534657375 --secret-hex 3132333435363738393031323334353637383930
  tokenlab token new --drift-ppm 12          # a token whose clock runs 12 ppm fast
  tokenlab token new --hotp --digits 6        # an event-based token`,
		Args: noArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			spec := emulator.Spec{Serial: serial, Counter: counter}
			var err error
			if spec.Algorithm, spec.Digits, spec.Period, err = codes.parse(); err != nil {
				return err
			}
			if hotp {
				spec.Kind = emulator.HOTP
			} else if cmd.Flags().Changed("counter") {
				return usagef("--counter is for HOTP tokens: add --hotp")
			}
			now := a.clock.Now()
			if spec.Drift, err = drift.drift(now); err != nil {
				return err
			}
			genSerial, genSecret := serial == "", secretHex == ""
			if genSerial {
				if spec.Serial, err = emulator.RandomSerial(); err != nil {
					return err
				}
			}
			if genSecret {
				spec.Secret = make([]byte, spec.Algorithm.KeySize())
				if _, err := rand.Read(spec.Secret); err != nil {
					return err
				}
			} else if spec.Secret, err = parseSecretHex(secretHex); err != nil {
				return err
			}
			tok, err := emulator.New(spec, clock.Func(func() time.Time { return now }))
			if err != nil {
				return usageError{err}
			}
			st, err := store()
			if err != nil {
				return err
			}
			err = st.Update(func(set *emulator.TokenSet) error { return set.Add(tok.Spec()) })
			if errors.Is(err, emulator.ErrExists) {
				return fmt.Errorf("token %s already exists in %s: choose another --serial or remove it with 'tokenlab token rm %s'", spec.Serial, st.Path(), spec.Serial)
			}
			if err != nil {
				return err
			}
			s := tok.Spec()
			if asJSON {
				out := map[string]any{"serial": s.Serial, "kind": s.Kind, "algorithm": s.Algorithm, "digits": s.Digits, "store": st.Path()}
				if genSecret {
					out["secret_hex"] = hex.EncodeToString(s.Secret)
				}
				return writeJSON(a, out)
			}
			fmt.Fprintf(a.stdout, "serial: %s\n", s.Serial)
			if genSecret {
				fmt.Fprintf(a.stdout, "secret-hex: %s\n", hex.EncodeToString(s.Secret))
			}
			fmt.Fprintf(a.stderr, "created %s (%s) in %s; press it with 'tokenlab token press %s'\n",
				s.Serial, describe(s.Kind, s.Algorithm, s.Digits, s.Period), st.Path(), s.Serial)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&serial, "serial", "", "serial number printed on the token (default: generated VIRT and 13 digits)")
	f.StringVar(&secretHex, "secret-hex", "", "the secret, hex encoded (default: random, of the algorithm's size)")
	codes.add(cmd)
	f.BoolVar(&hotp, "hotp", false, "make an event-based (HOTP) token instead of a time-based one")
	f.Uint64Var(&counter, "counter", 0, "HOTP: the counter of the first press")
	f.BoolVar(&asJSON, "json", false, "print the new token as JSON")
	drift.add(cmd, "drift-")
	return cmd
}

// pressJSON is the --json form of a press.
type pressJSON struct {
	Serial    string `json:"serial"`
	Code      string `json:"code"`
	Kind      string `json:"kind"`
	Step      uint64 `json:"step"`
	ValidForS *int64 `json:"valid_for_s"`
	TokenTime string `json:"token_time,omitempty"`
	PressedAt string `json:"pressed_at"`
}

func (a *app) tokenPressCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	var (
		at          string
		asJSON      bool
		serverClock bool
		remote      remoteFlags
	)
	cmd := &cobra.Command{
		Use:   "press SERIAL [--at @UNIX|RFC3339 | --server-clock] [--json]",
		Short: "Press a token's button and print the code it shows",
		Long: `Press a token's button and print the code it shows. --at is true time; the
token's own drift and faults apply on top, as on the device. An HOTP token
advances its counter in the store.

With --json: serial, code, kind, step (the token's own time step, or the HOTP
counter), valid_for_s (seconds until the token moves to its next step, rounded
up; null for HOTP, whose code is valid until used), token_time and pressed_at.`,
		Example: `  tokenlab token press VIRT0616534657375
  tokenlab token press VIRT0616534657375 --at 2027-01-01T00:00:00Z --json`,
		Args:              exactArgs(1, "the SERIAL of the token to press"),
		ValidArgsFunction: complete,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			now := a.clock.Now()
			if at != "" && serverClock {
				return usagef("give --at or --server-clock, not both")
			}
			if at != "" {
				var err error
				if now, err = parseAt(at); err != nil {
					return err
				}
			}
			if serverClock {
				ctx, cancel := remoteCtx()
				defer cancel()
				cs, err := remote.client().Clock(ctx)
				if err != nil {
					return remoteErr(err)
				}
				now = cs.Now
			}
			st, err := store()
			if err != nil {
				return err
			}
			d, _, err := st.Press(args[0], now)
			if errors.Is(err, emulator.ErrButtonDead) {
				return fmt.Errorf("token %s: %v: clear it with 'tokenlab token fault %s --clear'", args[0], err, args[0])
			}
			if err != nil {
				return notFound(err, st)
			}
			if !asJSON {
				_, err = fmt.Fprintln(a.stdout, d.Code)
				return err
			}
			out := pressJSON{Serial: d.Serial, Code: d.Code, Kind: d.Kind.String(), Step: d.Step, PressedAt: now.UTC().Format(time.RFC3339Nano)}
			if d.Kind == emulator.TOTP {
				s := seconds(d.ValidFor)
				out.ValidForS = &s
				out.TokenTime = d.TokenTime.UTC().Format(time.RFC3339Nano)
			}
			return writeJSON(a, out)
		}),
	}
	cmd.Flags().StringVar(&at, "at", "", "true time of the press: @UNIX or RFC 3339 (default now)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the press as JSON")
	cmd.Flags().BoolVar(&serverClock, "server-clock", false, "press at the clock of the server ($TOKENLAB_SERVER or --server), e.g. a virtual one")
	cmd.Flags().StringVar(&remote.server, "server", "", "server URL for --server-clock (default $TOKENLAB_SERVER, else "+DefaultServer+")")
	return cmd
}

// tokenJSON is the --json form of a token; the secret only with --reveal-secret.
type tokenJSON struct {
	Serial    string   `json:"serial"`
	Kind      string   `json:"kind"`
	Algorithm string   `json:"algorithm"`
	Digits    int      `json:"digits"`
	PeriodS   int64    `json:"period_s"`
	Counter   *uint64  `json:"counter,omitempty"`
	Created   string   `json:"created"`
	Drift     any      `json:"drift,omitempty"`
	Faults    []string `json:"faults"`
	SecretHex string   `json:"secret_hex,omitempty"`
}

func toJSON(s emulator.Spec, reveal bool) tokenJSON {
	j := tokenJSON{Serial: s.Serial, Kind: s.Kind.String(), Algorithm: s.Algorithm.String(), Digits: s.Digits,
		PeriodS: int64(s.Period / time.Second), Created: s.Created.UTC().Format(time.RFC3339), Faults: s.Faults.Names()}
	if j.Faults == nil {
		j.Faults = []string{}
	}
	if s.Kind == emulator.HOTP {
		c := s.Counter
		j.Counter = &c
	} else {
		j.Drift = map[string]any{"offset": s.Drift.Offset.String(), "ppm": s.Drift.PPM, "start": s.Drift.Start.UTC().Format(time.RFC3339)}
	}
	if reveal {
		j.SecretHex = hex.EncodeToString(s.Secret)
	}
	return j
}

func driftText(s emulator.Spec) string {
	if s.Kind == emulator.HOTP {
		return "-"
	}
	if s.Drift.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%s %+gppm", signed(s.Drift.Offset), s.Drift.PPM)
}

// signed renders a duration with its sign, e.g. +90s or -2m0s.
func signed(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}

func (a *app) tokenListCommand(store func() (*emulator.Store, error)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the tokens in the store",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			st, err := store()
			if err != nil {
				return err
			}
			return st.View(func(set *emulator.TokenSet) error {
				specs := set.List()
				if asJSON {
					out := make([]tokenJSON, 0, len(specs))
					for _, s := range specs {
						out = append(out, toJSON(s, false))
					}
					return writeJSON(a, out)
				}
				if len(specs) == 0 {
					fmt.Fprintf(a.stderr, "no tokens in %s: create one with 'tokenlab token new'\n", st.Path())
					return nil
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SERIAL\tKIND\tALGORITHM\tDIGITS\tSTEP\tDRIFT\tFAULTS")
				for _, s := range specs {
					step := fmt.Sprint(s.Period)
					if s.Kind == emulator.HOTP {
						step = fmt.Sprintf("counter %d", s.Counter)
					}
					faults := strings.Join(s.Faults.Names(), ",")
					if faults == "" {
						faults = "-"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Serial, s.Kind, s.Algorithm, s.Digits, step, driftText(s), faults)
				}
				return w.Flush()
			})
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tokens as a JSON array")
	return cmd
}

func (a *app) tokenShowCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	var asJSON, reveal bool
	cmd := &cobra.Command{
		Use:               "show SERIAL [--json] [--reveal-secret]",
		Short:             "Show one token (its secret only with --reveal-secret)",
		Args:              exactArgs(1, "the SERIAL of the token to show"),
		ValidArgsFunction: complete,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			st, err := store()
			if err != nil {
				return err
			}
			var s emulator.Spec
			if err := st.View(func(set *emulator.TokenSet) (err error) { s, err = set.Get(args[0]); return err }); err != nil {
				return notFound(err, st)
			}
			j := toJSON(s, reveal)
			if asJSON {
				return writeJSON(a, j)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "serial\t%s\n", s.Serial)
			fmt.Fprintf(w, "kind\t%s\n", describe(s.Kind, s.Algorithm, s.Digits, s.Period))
			if s.Kind == emulator.HOTP {
				fmt.Fprintf(w, "next counter\t%d\n", s.Counter)
			} else {
				fmt.Fprintf(w, "drift\toffset %s, %+g ppm from %s\n", signed(s.Drift.Offset), s.Drift.PPM, s.Drift.Start.UTC().Format(time.RFC3339))
				if tok, err := emulator.New(s, a.clock); err == nil {
					now := a.clock.Now()
					fmt.Fprintf(w, "clock now\t%s (%s from true time)\n", tok.TokenTime(now).UTC().Format(time.RFC3339), signed(tok.TokenTime(now).Sub(now).Round(time.Millisecond)))
				}
			}
			faults := strings.Join(j.Faults, ", ")
			if faults == "" {
				faults = "none"
			}
			fmt.Fprintf(w, "faults\t%s\n", faults)
			fmt.Fprintf(w, "created\t%s\n", j.Created)
			if reveal {
				fmt.Fprintf(w, "secret-hex\t%s\n", j.SecretHex)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the token as JSON")
	cmd.Flags().BoolVar(&reveal, "reveal-secret", false, "include the secret (hex) in the output")
	return cmd
}

func (a *app) tokenRmCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	return &cobra.Command{
		Use:               "rm SERIAL...",
		Short:             "Remove tokens from the store",
		Args:              minArgs(1, "at least one SERIAL to remove"),
		ValidArgsFunction: complete,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			st, err := store()
			if err != nil {
				return err
			}
			if err := st.Update(func(set *emulator.TokenSet) error { return set.Remove(args...) }); err != nil {
				return notFound(err, st)
			}
			fmt.Fprintf(a.stderr, "removed %d token(s) from %s\n", len(args), st.Path())
			return nil
		}),
	}
}

func (a *app) tokenDriftCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	var drift driftFlags
	cmd := &cobra.Command{
		Use:               "drift SERIAL [--offset D] [--ppm F] [--start RFC3339]",
		Short:             "Set a token's clock drift (offset and rate)",
		Example:           "  tokenlab token drift VIRT0616534657375 --ppm 4 --start 2026-01-01T00:00:00Z",
		Args:              exactArgs(1, "the SERIAL of the token"),
		ValidArgsFunction: complete,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			d, err := drift.drift(a.clock.Now())
			if err != nil {
				return err
			}
			return a.editToken(store, args[0], func(tok *emulator.Token) error { return tok.SetDrift(d) })
		}),
	}
	drift.add(cmd, "")
	return cmd
}

func (a *app) tokenFaultCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	var (
		frozen, reset, wrongSecret, deadButton, clear bool
		at                                            string
	)
	cmd := &cobra.Command{
		Use:   "fault SERIAL [--frozen] [--reset] [--wrong-secret] [--dead-button] [--clear] [--at T]",
		Short: "Inject faults into a token, or clear them",
		Long: `Inject faults for negative tests; they add to the faults a token has, and
--clear removes them all first.
  --frozen        the clock stops at the time it shows now (or at --at)
  --reset         a battery swap now (or at --at): the clock restarts at 1970-01-01
  --wrong-secret  the token computes with a damaged secret: its codes never verify
  --dead-button   presses do not register`,
		Example:           "  tokenlab token fault VIRT0616534657375 --dead-button\n  tokenlab token fault VIRT0616534657375 --clear",
		Args:              exactArgs(1, "the SERIAL of the token"),
		ValidArgsFunction: complete,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if !(frozen || reset || wrongSecret || deadButton || clear) {
				return usagef("say which fault: --frozen, --reset, --wrong-secret, --dead-button, or --clear")
			}
			now := a.clock.Now()
			if at != "" {
				var err error
				if now, err = parseAt(at); err != nil {
					return err
				}
			}
			return a.editToken(store, args[0], func(tok *emulator.Token) error {
				f := tok.Spec().Faults
				if clear {
					f = emulator.Faults{}
				}
				if frozen {
					f.FrozenAt = tok.TokenTime(now)
				}
				if reset {
					f.ResetAt, f.ResetTo = now, time.Time{}
				}
				f.WrongSecret = f.WrongSecret || wrongSecret
				f.DeadButton = f.DeadButton || deadButton
				return tok.SetFaults(f)
			})
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&frozen, "frozen", false, "stop the token's clock")
	f.BoolVar(&reset, "reset", false, "reset the token's clock to 1970 (battery swap)")
	f.BoolVar(&wrongSecret, "wrong-secret", false, "compute codes with a damaged secret")
	f.BoolVar(&deadButton, "dead-button", false, "make presses not register")
	f.BoolVar(&clear, "clear", false, "remove all faults first")
	f.StringVar(&at, "at", "", "true time of --frozen or --reset: @UNIX or RFC 3339 (default now)")
	return cmd
}

// editToken loads a token, applies edit and saves it, all under the store's lock.
func (a *app) editToken(store func() (*emulator.Store, error), serial string, edit func(*emulator.Token) error) error {
	st, err := store()
	if err != nil {
		return err
	}
	after, err := st.Edit(serial, a.clock.Now(), func(tok *emulator.Token) error {
		if err := edit(tok); err != nil {
			return usageError{err}
		}
		return nil
	})
	if err != nil {
		return notFound(err, st)
	}
	faults := strings.Join(after.Faults.Names(), ", ")
	if faults == "" {
		faults = "none"
	}
	fmt.Fprintf(a.stderr, "%s: drift %s, faults %s\n", serial, driftText(after), faults)
	return nil
}

// writeJSONLine prints v as one line of JSON.
func writeJSONLine(a *app, v any) error {
	return json.NewEncoder(a.stdout).Encode(v)
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
