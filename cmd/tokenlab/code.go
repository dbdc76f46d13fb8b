package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/internal/oath"
)

func (a *app) codeCommand() *cobra.Command {
	var (
		secretHex, at string
		counter       uint64
		codes         oathFlags
	)
	cmd := &cobra.Command{
		Use:   "code --secret-hex HEX [--algorithm sha1|sha256|sha512] [--digits 6|8] [--period 30] [--at @UNIX|RFC3339] [--counter N]",
		Short: "Print the OTP code of a secret (TOTP at a time, or HOTP at a counter)",
		Long: `Print the code of a secret on one line: TOTP at --at (default now), or HOTP
when --counter is given. The same maths as the virtual tokens, with no token
store: a calculator for checking what a token or a server should show.`,
		Example: `  tokenlab code --secret-hex 3132333435363738393031323334353637383930 --at @59
  tokenlab code --secret-hex 3132333435363738393031323334353637383930 --digits 6 --counter 0`,
		Args: noArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			secret, err := parseSecretHex(secretHex)
			if err != nil {
				return err
			}
			alg, digits, p, err := codes.parse()
			if err != nil {
				return err
			}
			gen, err := oath.NewGenerator(secret, alg, digits)
			if err != nil {
				return usageError{err}
			}
			if cmd.Flags().Changed("counter") {
				if cmd.Flags().Changed("at") {
					return usagef("--at and --counter do not mix: --at is for TOTP, --counter for HOTP")
				}
				_, err = fmt.Fprintln(a.stdout, gen.Code(counter))
				return err
			}
			now := a.clock.Now()
			if at != "" {
				if now, err = parseAt(at); err != nil {
					return err
				}
			}
			step, _, err := oath.TimeStep(now, p)
			if err != nil {
				return usageError{err}
			}
			_, err = fmt.Fprintln(a.stdout, gen.Code(step))
			return err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&secretHex, "secret-hex", "", "the secret, hex encoded (required)")
	codes.add(cmd)
	f.StringVar(&at, "at", "", "true time for TOTP: @UNIX or RFC 3339 (default now)")
	f.Uint64Var(&counter, "counter", 0, "HOTP counter: print the HOTP code instead of TOTP")
	_ = cmd.MarkFlagRequired("secret-hex")
	return cmd
}
