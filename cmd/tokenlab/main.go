// Command tokenlab is the hardware OTP token emulator and test harness: virtual
// tokens you can press, seed files, a verification server and scenario suites.
//
// Exit status: 0 on success, 2 on a usage error (a bad flag, argument or
// value), 1 on any other error. Errors are one line on stderr that says what
// to do next.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/internal/clock"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// app is what every command shares: its streams, its clock, and whether a
// command's own code has started (errors before that are usage errors).
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	clock          clock.Clock
	started        bool
}

// usageError is a mistake in how tokenlab was called: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// run executes tokenlab with args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, clock: clock.System{}}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var u usageError
	usage := errors.As(err, &u) || !a.started
	msg := oneLine(err.Error())
	if usage {
		if !strings.Contains(msg, "--help") {
			msg += fmt.Sprintf(" (see '%s --help')", cmd.CommandPath())
		}
		fmt.Fprintln(stderr, "tokenlab:", msg)
		return 2
	}
	fmt.Fprintln(stderr, "tokenlab:", msg)
	return 1
}

func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}

// runE marks that a command's own code runs, so that its errors are not
// taken for usage errors.
func (a *app) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.started = true
		return fn(cmd, args)
	}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "tokenlab",
		Short: "Hardware OTP token emulator and test harness",
		Long: `tokenlab emulates hardware OTP tokens (RFC 4226 HOTP, RFC 6238 TOTP) so that
QA and CI can press virtual tokens, make them drift or fail, and prove that a
verification service handles activation, login, lockout and resync — without
physical tokens and without waiting for real time to pass.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		Args:              noArgs,
		RunE:              groupRunE,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.codeCommand(), a.tokenCommand(), a.fleetCommand(), a.demoCommand(), a.deviceCommand(), a.versionCommand(), a.serveCommand(), a.scenariosCommand(), a.benchCommand(), a.simulateCommand())
	root.AddCommand(a.remoteCommands()...)
	root.AddCommand(a.probeCommand())
	return root
}

// noArgs refuses arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usagef("unknown command %q for '%s'", args[0], cmd.CommandPath())
		}
		return usagef("'%s' takes no arguments", cmd.CommandPath())
	}
	return nil
}

// groupRunE shows the help of a command that only groups others.
func groupRunE(cmd *cobra.Command, _ []string) error { return cmd.Help() }

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("'%s' needs %s", cmd.CommandPath(), names)
		}
		return nil
	}
}

func minArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("'%s' needs %s", cmd.CommandPath(), names)
		}
		return nil
	}
}
