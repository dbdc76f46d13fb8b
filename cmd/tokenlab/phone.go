package main

import (
	"context"
	"fmt"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// The phone OTP and identity proofing verbs: a person's view of
// docs/lifecycle.md, “Phone OTP and identity proofing”, against a server.

func (a *app) phoneCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "phone",
		Short: "Register, verify and remove a user's phones for phone OTP on a server",
		Long: `Phone OTP on a server: register a phone (a code is sent to it, into the
server's outbox), verify it with that code, send login codes, remove it, and
renew the phone OTP subscription. Once the account holds an OTP credential,
adding or removing a phone takes --session: the ID of a phone or hardware OTP
login of the user.`,
		Args: noArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.phoneAddCommand(), a.phoneVerifyCommand(), a.phoneRmCommand(), a.phoneSendCommand(),
		a.phoneListCommand(), a.phoneRenewCommand())
	return cmd
}

// phoneFlags are the flags every phone verb has.
type phoneFlags struct {
	r            remoteFlags
	user, number string
}

func (p *phoneFlags) add(cmd *cobra.Command, number bool) {
	p.r.add(cmd)
	cmd.Flags().StringVar(&p.user, "user", "", "account user ID")
	if number {
		cmd.Flags().StringVar(&p.number, "number", "", "the phone number, E.164: +17035550100")
	}
}

// check refuses a missing user or a malformed number before anything is
// sent, saying what the number must look like.
func (p *phoneFlags) check(number bool) error {
	if p.user == "" || number && p.number == "" {
		if number {
			return usagef("give --user and --number")
		}
		return usagef("give --user")
	}
	if number {
		if err := server.CheckPhoneNumber(p.number); err != nil {
			return usagef("invalid --number %q: %v", p.number, err)
		}
	}
	return nil
}

func (a *app) phoneAddCommand() *cobra.Command {
	var (
		p               phoneFlags
		method, session string
	)
	cmd := &cobra.Command{
		Use:   "add --user U --number +17035550100 [--method text|voice] [--session ID]",
		Short: "Register a phone; a code to verify it with is sent to it",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(true); err != nil {
				return err
			}
			if err := server.CheckPhoneMethod(method); err != nil {
				return usagef("invalid --method %q: use text or voice", method)
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := p.r.client().AddPhone(ctx, p.user, p.number, method, session)
			if err != nil {
				return remoteErr(err)
			}
			if p.r.asJSON {
				return writeJSON(a, v)
			}
			_, err = fmt.Fprintf(a.stdout, "registered %s (%s) for %s, not verified yet: a code was sent to it (tokenlab phone verify)\n", v.Number, v.Method, p.user)
			return err
		}),
	}
	p.add(cmd, true)
	cmd.Flags().StringVar(&method, "method", server.PhoneText, "how the phone gets its codes: text or voice")
	cmd.Flags().StringVar(&session, "session", "", "a phone or hardware OTP session of the user (needed once the account holds an OTP credential)")
	return cmd
}

// Codes as the outbox writes them: a phone code, a proofing activation code.
var (
	outboxPhoneCode    = regexp.MustCompile(`One-Time Password is (\d{6})\.`)
	outboxProofingCode = regexp.MustCompile(`activation code is ([A-Z0-9]{10})\.`)
)

// fromOutbox is the code of the user's last notification of one of kinds
// (to recipient, when not empty), read from the server's outbox, which
// needs the administrator credential: in a lab, the phone or the letter.
func fromOutbox(ctx context.Context, c *client.Client, user, recipient string, re *regexp.Regexp, kinds ...server.NotificationKind) (string, error) {
	ns, err := c.Notifications(ctx, user)
	if err != nil {
		return "", remoteErr(err)
	}
	for i := len(ns) - 1; i >= 0; i-- {
		n := ns[i]
		if recipient != "" && n.Recipient != recipient {
			continue
		}
		for _, k := range kinds {
			if n.Kind == k {
				if m := re.FindStringSubmatch(n.Body); m != nil {
					return m[1], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no code for %s in the server's outbox", user)
}

func (a *app) phoneVerifyCommand() *cobra.Command {
	var (
		p          phoneFlags
		code       string
		fromOutbox bool
	)
	cmd := &cobra.Command{
		Use:   "verify --user U --number N (--code C | --from-outbox)",
		Short: "Verify a phone with the code sent to it",
		Long: `Verify a registered phone with the code sent to it: only a verified phone logs
in. --from-outbox takes the last code sent to the number from the server's
outbox (the administrator credential), as a lab reads the phone.`,
		Args: noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(true); err != nil {
				return err
			}
			if err := codeOrOutbox(code, fromOutbox); err != nil {
				return err
			}
			if !fromOutbox {
				if err := server.CheckPhoneCode(code); err != nil {
					return usagef("invalid --code: %v", err)
				}
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			c := p.r.client()
			if fromOutbox {
				var err error
				if code, err = outboxCode(ctx, c, p.user, p.number); err != nil {
					return err
				}
			}
			v, err := c.VerifyPhone(ctx, p.user, p.number, code)
			if err != nil {
				return remoteErr(err)
			}
			if p.r.asJSON {
				return writeJSON(a, v)
			}
			_, err = fmt.Fprintf(a.stdout, "verified %s (%s) for %s\n", v.Number, v.Method, p.user)
			return err
		}),
	}
	p.add(cmd, true)
	cmd.Flags().StringVar(&code, "code", "", "the 6-digit code sent to the phone")
	cmd.Flags().BoolVar(&fromOutbox, "from-outbox", false, "take the code from the server's outbox")
	return cmd
}

// codeOrOutbox refuses both a code and --from-outbox, or neither.
func codeOrOutbox(code string, fromOutbox bool) error {
	switch {
	case fromOutbox && code != "":
		return usagef("give --code or --from-outbox, not both")
	case !fromOutbox && code == "":
		return usagef("give --code, or --from-outbox to take it from the server's outbox")
	}
	return nil
}

// outboxCode is the last code sent by text or voice to number for user.
func outboxCode(ctx context.Context, c *client.Client, user, number string) (string, error) {
	return fromOutbox(ctx, c, user, number, outboxPhoneCode, server.NotificationPhoneCodeText, server.NotificationPhoneCodeVoice)
}

func (a *app) phoneRmCommand() *cobra.Command {
	var (
		p       phoneFlags
		session string
	)
	cmd := &cobra.Command{
		Use:   "rm --user U --number N [--session ID]",
		Short: "Remove a phone",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(true); err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			if err := p.r.client().RemovePhone(ctx, p.user, p.number, session); err != nil {
				return remoteErr(err)
			}
			_, err := fmt.Fprintf(a.stdout, "removed %s from %s\n", p.number, p.user)
			return err
		}),
	}
	p.add(cmd, true)
	cmd.Flags().StringVar(&session, "session", "", "a phone or hardware OTP session of the user (needed once the account holds an OTP credential)")
	return cmd
}

func (a *app) phoneSendCommand() *cobra.Command {
	var p phoneFlags
	cmd := &cobra.Command{
		Use:   "send --user U --number N",
		Short: "Send a code to a phone (again): a login code, or its verification code",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(true); err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := p.r.client().SendPhoneCode(ctx, p.user, p.number)
			if err != nil {
				return remoteErr(err)
			}
			if p.r.asJSON {
				return writeJSON(a, v)
			}
			_, err = fmt.Fprintf(a.stdout, "sent a %s code to %s by %s, valid until %s\n", v.Purpose, v.Number, v.Method, v.ExpiresAt.UTC().Format(time.RFC3339))
			return err
		}),
	}
	p.add(cmd, true)
	return cmd
}

// printPhones prints the phones and their subscription.
func (a *app) printPhones(v server.PhonesView) error {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, ph := range v.Phones {
		state := "not verified"
		if ph.Verified {
			state = "verified"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\tadded %s\n", ph.Number, ph.Method, state, ph.AddedAt.UTC().Format(time.RFC3339))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	line := "subscription: none (it starts when a phone is first verified)"
	if s := v.Subscription; s != nil {
		line = fmt.Sprintf("subscription: %s, expires %s, renewable until %s", s.Status, s.ExpiresAt.UTC().Format(time.RFC3339), s.RenewBy.UTC().Format(time.RFC3339))
	}
	if v.OwnerID != v.UserID {
		line += fmt.Sprintf(" (the phones of %s, to which %s is connected)", v.OwnerID, v.UserID)
	}
	_, err := fmt.Fprintln(a.stdout, line)
	return err
}

func (a *app) phoneListCommand() *cobra.Command {
	var p phoneFlags
	cmd := &cobra.Command{
		Use:   "list --user U",
		Short: "Show the phones a user logs in with, and their subscription",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(false); err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := p.r.client().Phones(ctx, p.user)
			if err != nil {
				return remoteErr(err)
			}
			if p.r.asJSON {
				return writeJSON(a, v)
			}
			return a.printPhones(v)
		}),
	}
	p.add(cmd, false)
	return cmd
}

func (a *app) phoneRenewCommand() *cobra.Command {
	var (
		p  phoneFlags
		by string
	)
	cmd := &cobra.Command{
		Use:   "renew --user U [--by user|admin]",
		Short: "Renew a user's phone OTP subscription for another period",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(false); err != nil {
				return err
			}
			actor := server.AsUser(p.user)
			switch by {
			case "user":
			case "admin":
				actor = server.AsAdmin("cli")
			default:
				return usagef("invalid --by %q: use user or admin", by)
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := p.r.client().RenewPhoneSubscription(ctx, actor, p.user)
			if err != nil {
				return remoteErr(err)
			}
			if p.r.asJSON {
				return writeJSON(a, v)
			}
			return a.printPhones(v)
		}),
	}
	p.add(cmd, false)
	cmd.Flags().StringVar(&by, "by", "user", "who renews: user or admin")
	return cmd
}

func (a *app) proofingCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proofing",
		Short: "Record identity proofing outcomes and enter activation codes on a server",
		Long: `Identity proofing on a server: an administrator records the proofing
service's outcome (passed, postal, live or failed); postal and live yield an
activation code (into the server's outbox) that the user enters.`,
		Args: noArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.proofingRecordCommand(), a.proofingCodeCommand(), a.proofingStatusCommand())
	return cmd
}

func (a *app) printProofing(v server.ProofingView, asJSON bool) error {
	if asJSON {
		return writeJSON(a, v)
	}
	line := v.UserID + ": not proofed"
	if v.Proofed {
		line = v.UserID + ": proofed"
	}
	if v.Outcome != "" {
		line += ", last outcome " + v.Outcome
	}
	if v.CodePending {
		line += ", an activation code is pending (tokenlab proofing code)"
	}
	_, err := fmt.Fprintln(a.stdout, line)
	return err
}

func (a *app) proofingRecordCommand() *cobra.Command {
	var (
		p       phoneFlags
		outcome string
	)
	cmd := &cobra.Command{
		Use:   "record --user U --outcome passed|postal|live|failed",
		Short: "Record the proofing service's outcome (administrator credential)",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(false); err != nil {
				return err
			}
			if err := server.CheckProofingOutcome(outcome); err != nil {
				return usagef("invalid --outcome %q: use passed, postal, live or failed", outcome)
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := p.r.client().RecordProofing(ctx, server.AsAdmin("cli"), p.user, outcome)
			if err != nil {
				return remoteErr(err)
			}
			return a.printProofing(v, p.r.asJSON)
		}),
	}
	p.add(cmd, false)
	cmd.Flags().StringVar(&outcome, "outcome", "", "passed, postal, live or failed")
	return cmd
}

func (a *app) proofingCodeCommand() *cobra.Command {
	var (
		p          phoneFlags
		code       string
		fromOutbox bool
	)
	cmd := &cobra.Command{
		Use:   "code --user U (--code C | --from-outbox)",
		Short: "Enter a proofing activation code",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(false); err != nil {
				return err
			}
			if err := codeOrOutbox(code, fromOutbox); err != nil {
				return err
			}
			if !fromOutbox {
				if _, err := server.NormalProofingCode(code); err != nil {
					return usagef("invalid --code: %v", err)
				}
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			c := p.r.client()
			if fromOutbox {
				var err error
				if code, err = proofingOutboxCode(ctx, c, p.user); err != nil {
					return err
				}
			}
			v, err := c.EnterProofingCode(ctx, p.user, code)
			if err != nil {
				return remoteErr(err)
			}
			return a.printProofing(v, p.r.asJSON)
		}),
	}
	p.add(cmd, false)
	cmd.Flags().StringVar(&code, "code", "", "the activation code: 10 letters and digits")
	cmd.Flags().BoolVar(&fromOutbox, "from-outbox", false, "take the code from the server's outbox (the letter, or the agent's word)")
	return cmd
}

// proofingOutboxCode is the last activation code sent to user.
func proofingOutboxCode(ctx context.Context, c *client.Client, user string) (string, error) {
	return fromOutbox(ctx, c, user, "", outboxProofingCode, server.NotificationProofingCodePostal, server.NotificationProofingCodeLive)
}

func (a *app) proofingStatusCommand() *cobra.Command {
	var p phoneFlags
	cmd := &cobra.Command{
		Use:   "status --user U",
		Short: "Show a user's identity proofing",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := p.check(false); err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			v, err := p.r.client().Proofing(ctx, p.user)
			if err != nil {
				return remoteErr(err)
			}
			return a.printProofing(v, p.r.asJSON)
		}),
	}
	p.add(cmd, false)
	return cmd
}
