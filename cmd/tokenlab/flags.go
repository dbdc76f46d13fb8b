package main

import (
	"encoding/hex"
	"fmt"
	"github.com/spf13/cobra"
	"strconv"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// parseAt reads a point in true time: @UNIX seconds or RFC 3339.
func parseAt(s string) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		sec, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, usagef("invalid --at %q: use @UNIX seconds (e.g. @1700000000) or RFC 3339 (e.g. 2026-11-23T10:00:00Z)", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usagef("invalid time %q: use @UNIX seconds (e.g. @1700000000) or RFC 3339 (e.g. 2026-11-23T10:00:00Z)", s)
	}
	if t.Before(time.Unix(0, 0)) {
		return time.Time{}, usagef("invalid time %q: TOTP starts at 1970-01-01T00:00:00Z", s)
	}
	return t, nil
}

// parseSecretHex decodes a hex secret; spaces are allowed between groups.
// The secret never appears in the error.
func parseSecretHex(s string) ([]byte, error) {
	clean := strings.Join(strings.Fields(s), "")
	if clean == "" {
		return nil, usagef("empty --secret-hex: give the secret as hex, two digits per byte, e.g. 0a1b2c3d4e5f")
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, usagef("--secret-hex is not hex (%d characters; use 0-9 and a-f, two per byte)", len(clean))
	}
	if len(b) > 128 {
		return nil, usagef("--secret-hex is %d bytes: use at most 128", len(b))
	}
	return b, nil
}

// seconds renders a remaining validity as whole seconds, rounded up, the way
// a countdown shows it.
func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

func describe(kind fmt.Stringer, alg oath.Algorithm, digits int, period time.Duration) string {
	if kind.String() == "hotp" {
		return fmt.Sprintf("HOTP, %s, %d digits", strings.ToUpper(alg.String()), digits)
	}
	return fmt.Sprintf("TOTP, %s, %d digits, %v", strings.ToUpper(alg.String()), digits, period)
}

// oathFlags are the flags that describe the codes of a token or a secret:
// --algorithm, --digits and --period.
type oathFlags struct {
	algorithm      string
	digits, period int
}

func (o *oathFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.algorithm, "algorithm", "sha1", "HMAC algorithm: sha1, sha256 or sha512")
	f.IntVar(&o.digits, "digits", 8, "code length: 6 or 8")
	f.IntVar(&o.period, "period", 30, "time step in seconds: 30 or 60 on hardware tokens")
	_ = cmd.RegisterFlagCompletionFunc("algorithm", cobra.FixedCompletions([]string{"sha1", "sha256", "sha512"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("digits", cobra.FixedCompletions([]string{"6", "8"}, cobra.ShellCompDirectiveNoFileComp))
}

// parse validates the flags; every error is a usage error.
func (o *oathFlags) parse() (oath.Algorithm, int, time.Duration, error) {
	alg, err := oath.ParseAlgorithm(o.algorithm)
	if err != nil {
		return 0, 0, 0, usagef("invalid --algorithm %q: use sha1, sha256 or sha512", o.algorithm)
	}
	if o.digits != 6 && o.digits != 8 {
		return 0, 0, 0, usagef("invalid --digits %d: use 6 or 8", o.digits)
	}
	if o.period <= 0 || o.period > 86400 {
		return 0, 0, 0, usagef("invalid --period %d: use a positive number of seconds, 30 or 60 on hardware tokens", o.period)
	}
	return alg, o.digits, time.Duration(o.period) * time.Second, nil
}
