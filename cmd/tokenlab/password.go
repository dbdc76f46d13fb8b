package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (a *app) passwordCommand() *cobra.Command {
	var (
		r    remoteFlags
		user string
	)
	cmd := &cobra.Command{
		Use:   "password --user U",
		Short: "Change a user's password on a server (the temporary one a revocation sent, or the permanent one)",
		Long: `Change a user's password: the current one (the temporary System-Generated
Password a revocation e-mailed, or the permanent one) and a new permanent one.

Both are read from standard input, never from the command line (where other
users of the machine would see them): the current one on the first line, the
new one on the second, e.g.

  printf '%s\n%s\n' "$TEMP" "$NEW" | tokenlab password --user tina

On a terminal it asks for them without echo, and for the new one twice, as the
portal does ("Re-enter the password in the Confirm Password field").`,
		Args: noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if user == "" {
				return usagef("give --user")
			}
			current, next, err := a.readPasswords()
			if err != nil {
				return err
			}
			ctx, cancel := remoteCtx()
			defer cancel()
			if err := r.client().ChangePassword(ctx, user, current, next); err != nil {
				return remoteErr(err)
			}
			if r.asJSON {
				return writeJSON(a, map[string]string{"user_id": user, "status": "changed"})
			}
			_, err = fmt.Fprintf(a.stdout, "changed the password of %s\n", user)
			return err
		}),
	}
	r.add(cmd)
	cmd.Flags().StringVar(&user, "user", "", "account user ID")
	return cmd
}

// readPasswords reads the current and the new password: without echo and
// the new one twice on a terminal, else a line each from standard input.
func (a *app) readPasswords() (current, next string, err error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(a.stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(a.stderr)
			return string(b), err
		}
		if current, err = ask("Current password: "); err != nil {
			return "", "", err
		}
		if next, err = ask("New password: "); err != nil {
			return "", "", err
		}
		again, err := ask("Confirm new password: ")
		if err != nil {
			return "", "", err
		}
		if again != next {
			return "", "", usagef("the two new passwords differ: nothing was changed")
		}
		return current, next, nil
	}
	sc := bufio.NewScanner(io.LimitReader(a.stdin, 4096)) // two passwords of at most 72 bytes each
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("reading the passwords: %w", err)
	}
	if len(lines) < 2 || lines[0] == "" || lines[1] == "" {
		return "", "", usagef("give the current password and the new one on standard input, one per line")
	}
	return lines[0], lines[1], nil
}
