package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// DefaultServer is where the remote verbs go without --server or TOKENLAB_SERVER.
const DefaultServer = "http://127.0.0.1:8080"

// remoteFlags are the flags of every verb that drives a server.
type remoteFlags struct {
	server, token, store string
	asJSON               bool
}

func (r *remoteFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&r.server, "server", "", "server URL (default $TOKENLAB_SERVER, else "+DefaultServer+")")
	f.StringVar(&r.token, "admin-token", "", "credential (default $TOKENLAB_ADMIN_TOKEN)")
	f.StringVar(&r.store, "store", "", "token store for --press (default $TOKENLAB_HOME/tokens.json)")
	f.BoolVar(&r.asJSON, "json", false, "print the server's answer as JSON")
}

func (r *remoteFlags) client() *client.Client {
	url := r.server
	if url == "" {
		url = os.Getenv("TOKENLAB_SERVER")
	}
	if url == "" {
		url = DefaultServer
	}
	tok := r.token
	if tok == "" {
		tok = os.Getenv("TOKENLAB_ADMIN_TOKEN")
	}
	return client.New(url, tok)
}

// remoteErr turns a server refusal into "code: message".
func remoteErr(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", ce.Code, ce.Message)
	}
	return err
}

func remoteCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

// localStore opens the store that --press presses the virtual tokens of.
func (r *remoteFlags) localStore() (*emulator.Store, error) { return openTokenStore(r.store) }

// pressErr says where a token --press did not find should be.
func pressErr(err error, st *emulator.Store) error {
	if errors.Is(err, emulator.ErrNotFound) {
		return fmt.Errorf("%v in %s: --press needs the virtual token in the local store", err, st.Path())
	}
	return err
}

// press presses a virtual token of the local store at true time at.
func (r *remoteFlags) press(serial string, at time.Time) (emulator.Display, error) {
	st, err := r.localStore()
	if err != nil {
		return emulator.Display{}, err
	}
	d, _, err := st.Press(serial, at)
	return d, pressErr(err, st)
}

// pressTwice gives two consecutive codes as a user would type them, at the
// server's clock.
func (r *remoteFlags) pressTwice(ctx context.Context, c *client.Client, serial string) (string, string, error) {
	st, err := r.localStore()
	if err != nil {
		return "", "", err
	}
	// A serial missing from the store is the likelier mistake: say so before
	// asking the server anything.
	if err := st.View(func(set *emulator.TokenSet) error { _, err := set.Get(serial); return err }); err != nil {
		return "", "", pressErr(err, st)
	}
	cs, err := c.Clock(ctx)
	if err != nil {
		return "", "", remoteErr(err)
	}
	ds, _, err := st.PressConsecutive(serial, cs.Now)
	if err != nil {
		return "", "", pressErr(err, st)
	}
	return ds[0].Code, ds[1].Code, nil
}

func (a *app) remoteCommands() []*cobra.Command {
	return []*cobra.Command{a.activateCommand(), a.verifyCommand(), a.resyncCommand(), a.statusCommand(),
		a.lifecycleCommand("suspend", "Suspend a token"), a.lifecycleCommand("enable", "Re-enable a suspended token"),
		a.lifecycleCommand("revoke", "Revoke a token for good"), a.lifecycleCommand("renew", "Renew a token for another year"),
		a.adminTokenCommand("reset", "Unblock a token's activation and resync after too many failed attempts"),
		a.adminTokenCommand("approve", "Approve a token that is Pending Approval"),
		a.clockCommand(), a.notificationsCommand(), a.passwordCommand(),
		a.phoneCommand(), a.proofingCommand()}
}

func (a *app) printToken(v server.TokenView, asJSON bool, verb string) error {
	if asJSON {
		return writeJSON(a, v)
	}
	exp := "-"
	if v.ExpiresAt != nil {
		exp = v.ExpiresAt.UTC().Format("2006-01-02")
	}
	last := "-"
	if v.LastStep != nil {
		last = fmt.Sprint(*v.LastStep)
	}
	owner := v.OwnerID
	if owner == "" {
		owner = "-"
	}
	if verb != "" {
		verb += " "
	}
	_, err := fmt.Fprintf(a.stdout, "%s%s: %s, owner %s, fail count %d, drift %+d steps, last step %s, expires %s\n",
		verb, v.Serial, v.StatusDisplay, owner, v.FailCount, v.DriftSteps, last, exp)
	return err
}

func (a *app) activateCommand() *cobra.Command {
	var (
		r                        remoteFlags
		user, serial, otp1, otp2 string
		press                    bool
		dev                      deviceFlags
	)
	cmd := &cobra.Command{
		Use:   "activate --user U --serial S (--otp1 C1 --otp2 C2 | --press | --device-usb ID | --device-serial PATH)",
		Short: "Activate a token on a server: its serial and two consecutive codes",
		Long: `Activate (register) a token on an account of a server. --press takes the two
consecutive codes from the virtual token of that serial in the local store, at
the server's clock: the code of the step before, and the current one.`,
		Args: noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := requireCodes(press || dev.given(), otp1, otp2); err != nil {
				return err
			}
			if user == "" || serial == "" {
				return usagef("give --user and --serial")
			}
			if dev.given() {
				codes, err := dev.codesFromDevice(a, 2)
				if err != nil {
					return err
				}
				otp1, otp2 = codes[0], codes[1]
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			c := r.client()
			if press {
				var err error
				if otp1, otp2, err = r.pressTwice(ctx, c, serial); err != nil {
					return err
				}
			}
			v, err := c.Activate(ctx, user, serial, otp1, otp2)
			if err != nil {
				return remoteErr(err)
			}
			return a.printToken(v, r.asJSON, "activated")
		}),
	}
	r.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "account user ID")
	cmd.Flags().StringVar(&serial, "serial", "", "token serial number")
	cmd.Flags().StringVar(&otp1, "otp1", "", "first code")
	cmd.Flags().StringVar(&otp2, "otp2", "", "second, consecutive code")
	cmd.Flags().BoolVar(&press, "press", false, "press the local virtual token for both codes")
	dev.add(cmd, "device-")
	return cmd
}

func requireCodes(press bool, codes ...string) error {
	given := 0
	for _, c := range codes {
		if c != "" {
			given++
		}
	}
	switch {
	case press && given > 0:
		return usagef("give codes or --press, not both")
	case !press && given != len(codes):
		return usagef("give the code%s or --press", map[bool]string{true: "s", false: ""}[len(codes) > 1])
	}
	return nil
}

func (a *app) verifyCommand() *cobra.Command {
	var (
		r                 remoteFlags
		user, otp, serial string
		press             bool
		dev               deviceFlags
	)
	cmd := &cobra.Command{
		Use:   "verify --user U (--otp CODE | --press [--serial S])",
		Short: "Verify a login code of a user's token on a server",
		Long: `Verify a login code. --press presses the user's virtual token (found on the
server, or --serial) in the local store at the server's clock.`,
		Args: noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := requireCodes(press || dev.given(), otp); err != nil {
				return err
			}
			if user == "" {
				return usagef("give --user")
			}
			if dev.given() {
				codes, err := dev.codesFromDevice(a, 1)
				if err != nil {
					return err
				}
				otp = codes[0]
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			c := r.client()
			if press {
				if serial == "" {
					ts, err := c.Tokens(ctx, server.TokenFilter{OwnerID: user})
					if err != nil {
						return remoteErr(err)
					}
					for _, t := range ts {
						if t.Status != server.StatusRevoked {
							serial = t.Serial
						}
					}
					if serial == "" {
						return fmt.Errorf("%s has no token on the server: activate one first, or give --serial", user)
					}
				}
				cs, err := c.Clock(ctx)
				if err != nil {
					return remoteErr(err)
				}
				d, err := r.press(serial, cs.Now)
				if err != nil {
					return err
				}
				otp = d.Code
			}
			v, err := c.Verify(ctx, user, otp)
			if err != nil {
				return remoteErr(err)
			}
			if r.asJSON {
				return writeJSON(a, v)
			}
			_, err = fmt.Fprintf(a.stdout, "accepted %s: %s step %d, drift %+d steps\n", otp, v.Serial, v.Step, v.DriftSteps)
			return err
		}),
	}
	r.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "account user ID")
	cmd.Flags().StringVar(&otp, "otp", "", "the code")
	cmd.Flags().StringVar(&serial, "serial", "", "with --press: the token to press (default: the user's token on the server)")
	cmd.Flags().BoolVar(&press, "press", false, "press the local virtual token")
	dev.add(cmd, "device-")
	return cmd
}

// byFlags is who acts on a token.
type byFlags struct{ by, user string }

func (b *byFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&b.by, "by", "user", "who acts: user (the owner, or --user), org_admin (--user, an organization administrator of the owner's organization) or admin")
	cmd.Flags().StringVar(&b.user, "user", "", "the acting account (default, for --by user, the token's owner)")
}

// check refuses a bad --by before anything is sent.
func (b *byFlags) check() error {
	switch {
	case b.by != "user" && b.by != "org_admin" && b.by != "admin":
		return usagef("invalid --by %q: use user, org_admin or admin", b.by)
	case b.by == "admin" && b.user != "":
		return usagef("--user is for --by user or org_admin")
	case b.by == "org_admin" && b.user == "":
		return usagef("--by org_admin needs --user: the organization administrator who acts")
	}
	return nil
}

// actor is who acts on serial: the administrator, an organization
// administrator, --user, or else the token's owner, as the server tells
// it.
func (b *byFlags) actor(ctx context.Context, c *client.Client, serial string) (server.Actor, error) {
	switch {
	case b.by == "admin":
		return server.AsAdmin("cli"), nil
	case b.by == "org_admin":
		return server.AsOrgAdmin(b.user), nil
	case b.user != "":
		return server.AsUser(b.user), nil
	}
	v, err := c.Token(ctx, serial)
	if err != nil {
		return server.Actor{}, remoteErr(err)
	}
	if v.OwnerID == "" {
		return server.Actor{}, usagef("token %s has no owner yet: give --user", serial)
	}
	return server.AsUser(v.OwnerID), nil
}

func (a *app) resyncCommand() *cobra.Command {
	var (
		r          remoteFlags
		b          byFlags
		otp1, otp2 string
		press      bool
	)
	cmd := &cobra.Command{
		Use:   "resync SERIAL (--otp1 C1 --otp2 C2 | --press) [--by user|org_admin|admin] [--user U]",
		Short: "Resynchronise (reactivate) a token with two consecutive codes",
		Args:  exactArgs(1, "the SERIAL of the token"),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			if err := requireCodes(press, otp1, otp2); err != nil {
				return err
			}
			if err := b.check(); err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			c := r.client()
			by, err := b.actor(ctx, c, args[0])
			if err != nil {
				return err
			}
			if press {
				if otp1, otp2, err = r.pressTwice(ctx, c, args[0]); err != nil {
					return err
				}
			}
			v, err := c.Resync(ctx, by, args[0], otp1, otp2)
			if err != nil {
				return remoteErr(err)
			}
			return a.printToken(v, r.asJSON, "resynchronised")
		}),
	}
	r.add(cmd)
	b.add(cmd)
	cmd.Flags().StringVar(&otp1, "otp1", "", "first code")
	cmd.Flags().StringVar(&otp2, "otp2", "", "second, consecutive code")
	cmd.Flags().BoolVar(&press, "press", false, "press the local virtual token for both codes")
	return cmd
}

func (a *app) statusCommand() *cobra.Command {
	var r remoteFlags
	cmd := &cobra.Command{
		Use:   "status SERIAL",
		Short: "Show a token's status on a server (never its secret)",
		Args:  exactArgs(1, "the SERIAL of the token"),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := r.client().Token(ctx, args[0])
			if err != nil {
				return remoteErr(err)
			}
			return a.printToken(v, r.asJSON, "")
		}),
	}
	r.add(cmd)
	return cmd
}

func (a *app) lifecycleCommand(verb, short string) *cobra.Command {
	var (
		r remoteFlags
		b byFlags
	)
	cmd := &cobra.Command{
		Use:   verb + " SERIAL [--by user|org_admin|admin] [--user U]",
		Short: short + " on a server",
		Args:  exactArgs(1, "the SERIAL of the token"),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			if err := b.check(); err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			c := r.client()
			by, err := b.actor(ctx, c, args[0])
			if err != nil {
				return err
			}
			do := map[string]func(context.Context, server.Actor, string) (server.TokenView, error){
				"suspend": c.Suspend, "enable": c.Enable, "revoke": c.Revoke, "renew": c.Renew,
			}[verb]
			v, err := do(ctx, by, args[0])
			if err != nil {
				return remoteErr(err)
			}
			return a.printToken(v, r.asJSON, map[string]string{"suspend": "suspended", "enable": "enabled", "revoke": "revoked", "renew": "renewed"}[verb])
		}),
	}
	r.add(cmd)
	b.add(cmd)
	return cmd
}

// adminTokenCommand is a token action only the operator's administrator
// takes (reset, approve): it needs the administrator credential.
func (a *app) adminTokenCommand(verb, short string) *cobra.Command {
	var r remoteFlags
	cmd := &cobra.Command{
		Use:   verb + " SERIAL",
		Short: short + " on a server (administrator credential)",
		Args:  exactArgs(1, "the SERIAL of the token"),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			ctx, cancel := remoteCtx()
			defer cancel()
			c := r.client()
			do := map[string]func(context.Context, server.Actor, string) (server.TokenView, error){"reset": c.Reset, "approve": c.Approve}[verb]
			v, err := do(ctx, server.AsAdmin("cli"), args[0])
			if err != nil {
				return remoteErr(err)
			}
			return a.printToken(v, r.asJSON, map[string]string{"reset": "reset", "approve": "approved"}[verb])
		}),
	}
	r.add(cmd)
	return cmd
}

func (a *app) clockCommand() *cobra.Command {
	var r remoteFlags
	cmd := &cobra.Command{
		Use:   "clock [advance DURATION | set RFC3339]",
		Short: "Show or move a server's clock (moving needs --virtual-clock)",
		Long: `Show the server's clock, or move a virtual one: 'clock advance 30s' (or 2h, 30d,
1d12h) or 'clock set 2027-01-01T00:00:00Z'. A move runs the expiry sweep and
prints what it did.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return nil
			case len(args) == 2 && (args[0] == "advance" || args[0] == "set"):
				return nil
			}
			return usagef("use 'tokenlab clock', 'tokenlab clock advance 30s' or 'tokenlab clock set 2027-01-01T00:00:00Z'")
		},
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			ctx, cancel := remoteCtx()
			defer cancel()
			c := r.client()
			var (
				cs  client.ClockState
				err error
			)
			switch {
			case len(args) == 0:
				cs, err = c.Clock(ctx)
			case args[0] == "advance":
				cs, err = c.AdvanceClock(ctx, args[1])
			default:
				t, perr := time.Parse(time.RFC3339Nano, args[1])
				if perr != nil {
					return usagef("invalid time %q: use RFC 3339, e.g. 2027-01-01T00:00:00Z", args[1])
				}
				cs, err = c.SetClock(ctx, t)
			}
			if err != nil {
				return remoteErr(err)
			}
			if r.asJSON {
				return writeJSON(a, cs)
			}
			kind := "real"
			if cs.Virtual {
				kind = "virtual"
			}
			line := fmt.Sprintf("%s (%s clock)", cs.Now.UTC().Format(time.RFC3339), kind)
			if cs.Sweep != nil && *cs.Sweep != (server.SweepReport{}) {
				line += fmt.Sprintf("; sweep: %d reminders, %d expired, %d revoked", cs.Sweep.Reminders, cs.Sweep.Expired, cs.Sweep.Revoked)
				if r := cs.Sweep; r.PhoneReminders+r.PhoneExpired+r.PhoneLapsed > 0 {
					line += fmt.Sprintf("; phone OTP subscriptions: %d reminders, %d expired, %d lapsed", r.PhoneReminders, r.PhoneExpired, r.PhoneLapsed)
				}
				if cs.Sweep.AuditPruned > 0 {
					line += fmt.Sprintf(", %d audit entries pruned", cs.Sweep.AuditPruned)
				}
			}
			_, err = fmt.Fprintln(a.stdout, line)
			return err
		}),
	}
	r.add(cmd)
	return cmd
}

func (a *app) notificationsCommand() *cobra.Command {
	var (
		r    remoteFlags
		user string
	)
	cmd := &cobra.Command{
		Use:   "notifications --user U",
		Short: "Show a user's outbox on a server: every e-mail the system sent",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if user == "" {
				return usagef("give --user")
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			ns, err := r.client().Notifications(ctx, user)
			if err != nil {
				return remoteErr(err)
			}
			if r.asJSON {
				return writeJSON(a, ns)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			for _, n := range ns {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", n.CreatedAt.UTC().Format(time.RFC3339), n.Kind, n.Recipient, n.Subject)
			}
			if len(ns) == 0 {
				fmt.Fprintf(a.stderr, "no notifications for %s\n", user)
			}
			return w.Flush()
		}),
	}
	r.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "account user ID")
	return cmd
}
