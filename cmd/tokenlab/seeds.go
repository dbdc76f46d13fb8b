package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// maxSeedFile bounds what import reads: real seed files are kilobytes to a
// few megabytes.
const maxSeedFile = 64 << 20

func parseKeyHex(flag, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil || len(b) == 0 {
		return nil, usagef("%s is not hex: give the key as hex, two digits per byte", flag)
	}
	return b, nil
}

func (a *app) tokenImportCommand(store func() (*emulator.Store, error)) *cobra.Command {
	var (
		format, keyHex, password string
		replace, ignoreMAC       bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE [--format auto|pskc|csv|otpauth] [--key HEX | --password P]",
		Short: "Import the tokens of a seed file (PSKC, OATH CSV, otpauth URIs) into the store",
		Long: `Import every token of a seed file into the store, all or nothing. FILE '-'
reads standard input. The format is detected unless --format says it:
  pskc     RFC 6030 XML; encrypted secrets need --key (pre-shared AES or 3DES key,
           hex) or --password (PBKDF2). A ValueMAC that does not match rejects
           the whole file.
  csv      serial, seed_hex, TOTP|HOTP, digits, step|counter (hash from seed length)
  otpauth  otpauth://totp/... or otpauth://hotp/... URIs, one per line
The tokens print their serials on stdout; secrets are never printed.`,
		Example: "  tokenlab token import vendor-shipment.pskcxml --password 'from the vendor'\n  tokenlab token import seeds.csv",
		Args:    exactArgs(1, "the seed FILE to import ('-' for stdin)"),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			f, err := seedfile.ParseFormat(format)
			if err != nil {
				return usageError{err}
			}
			key, err := parseKeyHex("--key", keyHex)
			if err != nil {
				return err
			}
			if key != nil && password != "" {
				return usagef("give --key or --password, not both")
			}
			data, err := a.readSeedFile(args[0])
			if err != nil {
				return err
			}
			tokens, err := seedfile.Decode(data, seedfile.DecodeOptions{Format: f, Key: key, Password: password, IgnoreMAC: ignoreMAC})
			if errors.Is(err, seedfile.ErrKeyNeeded) {
				return fmt.Errorf("%s: %w: give --key HEX or --password P", args[0], err)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			specs := make([]emulator.Spec, 0, len(tokens))
			now := a.clock.Now()
			for _, t := range tokens {
				s, err := emulator.FromSeed(t)
				if err != nil {
					return fmt.Errorf("%s: %w: nothing was imported", args[0], err)
				}
				s.Created, s.Drift.Start = now, now
				specs = append(specs, s)
			}
			st, err := store()
			if err != nil {
				return err
			}
			err = st.Update(func(set *emulator.TokenSet) error {
				if replace {
					for _, s := range specs {
						if _, err := set.Get(s.Serial); err == nil {
							_ = set.Remove(s.Serial)
						}
					}
				}
				return set.Add(specs...)
			})
			if errors.Is(err, emulator.ErrExists) {
				return fmt.Errorf("%v is already in %s: nothing was imported; add --replace to overwrite", err, st.Path())
			}
			if err != nil {
				return err
			}
			for _, s := range specs {
				fmt.Fprintln(a.stdout, s.Serial)
			}
			fmt.Fprintf(a.stderr, "imported %d token(s) from %s into %s\n", len(specs), args[0], st.Path())
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "auto", "seed file format: auto, pskc, csv or otpauth")
	f.StringVar(&keyHex, "key", "", "PSKC pre-shared decryption key, hex")
	f.StringVar(&password, "password", "", "PSKC password (PBKDF2)")
	f.BoolVar(&replace, "replace", false, "overwrite tokens whose serials are already in the store")
	f.BoolVar(&ignoreMAC, "ignore-mac", false, "read secrets whose PSKC ValueMAC does not match (salvage only)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"auto", "pskc", "csv", "otpauth"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) readSeedFile(name string) ([]byte, error) {
	var r io.Reader = a.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read the seed file: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSeedFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the seed file: %w", err)
	}
	if len(data) > maxSeedFile {
		return nil, fmt.Errorf("%s is larger than %d MiB: split it", name, maxSeedFile>>20)
	}
	return data, nil
}

func (a *app) tokenExportCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	var (
		format, keyHex, password string
		iterations               int
	)
	cmd := &cobra.Command{
		Use:   "export [--format pskc|csv|otpauth] [--encrypt-key HEX | --password P] [SERIAL...]",
		Short: "Write tokens (all, or the SERIALs given) as a seed file on stdout",
		Long: `Write tokens as a seed file on stdout, for the system under test to import
the same seeds as the virtual tokens. PSKC (the default) can be encrypted:
--encrypt-key HEX (16, 24 or 32 bytes: AES-128/192/256-CBC) or --password P
(PBKDF2 to AES-128), each with an HMAC-SHA256 ValueMAC. CSV and otpauth are
always clear text. A seed file carries seeds, not a token's drift or faults:
the server has to discover those, as with real tokens.`,
		Example:           "  tokenlab token export --password s3cret > shipment.pskcxml\n  tokenlab token export --format csv VIRT0616534657375",
		ValidArgsFunction: complete,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			f, err := seedfile.ParseFormat(format)
			if err != nil || f == seedfile.Auto && format != "" {
				return usagef("invalid --format %q: use pskc, csv or otpauth", format)
			}
			key, err := parseKeyHex("--encrypt-key", keyHex)
			if err != nil {
				return err
			}
			if key != nil && password != "" {
				return usagef("give --encrypt-key or --password, not both")
			}
			if (key != nil || password != "") && f != seedfile.PSKC {
				return usagef("%s files cannot be encrypted: use --format pskc", f)
			}
			if key != nil && len(key) != 16 && len(key) != 24 && len(key) != 32 {
				return usagef("--encrypt-key is %d bytes: use 16, 24 or 32 (AES-128, -192 or -256)", len(key))
			}
			st, err := store()
			if err != nil {
				return err
			}
			var tokens []seedfile.Token
			err = st.View(func(set *emulator.TokenSet) error {
				specs := set.List()
				if len(args) > 0 {
					specs = specs[:0]
					for _, serial := range args {
						s, err := set.Get(serial)
						if err != nil {
							return err
						}
						specs = append(specs, s)
					}
				}
				for _, s := range specs {
					tokens = append(tokens, s.Seed())
				}
				return nil
			})
			if err != nil {
				return notFound(err, st)
			}
			if len(tokens) == 0 {
				return fmt.Errorf("no tokens in %s to export: create some with 'tokenlab token new' or 'tokenlab fleet new'", st.Path())
			}
			return seedfile.Encode(a.stdout, tokens, seedfile.EncodeOptions{Format: f, Key: key, Password: password, Iterations: iterations})
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "pskc", "seed file format: pskc, csv or otpauth")
	fl.StringVar(&keyHex, "encrypt-key", "", "encrypt PSKC secrets with this AES key, hex")
	fl.StringVar(&password, "password", "", "encrypt PSKC secrets with a key derived from this password (PBKDF2)")
	fl.IntVar(&iterations, "iterations", seedfile.DefaultPBKDF2Iterations, "PBKDF2 iterations for --password")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"pskc", "csv", "otpauth"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
