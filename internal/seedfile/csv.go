package seedfile

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// csvLayout is the column layout, as error messages and the header name it.
const csvLayout = "serial, seed_hex, TOTP|HOTP, digits, step|counter"

// Defaults of the optional columns and parameters.
const (
	txtDefaultDigits = 6
	txtDefaultPeriod = 30 * time.Second
	txtMaxPeriodSecs = math.MaxUint32 // keeps seconds*time.Second far from overflowing
	txtSecretRun     = 8              // values with a letter/digit run this long are never quoted
)

// DecodeCSV reads the OATH CSV layout that privacyIDEA, LinOTP and similar
// OTP servers import: one token per line,
//
//	serial, seed_hex, TOTP|HOTP, digits, step|counter
//
// Fields are separated by commas and trimmed of surrounding spaces; the type
// is case-insensitive. The digits column is optional and defaults to 6, as
// privacyIDEA assumes. The last column is the time step in seconds for TOTP
// (default 30) and the counter for HOTP (default 0). An empty field counts as
// missing, and empty columns after the fifth (a spreadsheet's padding) are
// ignored.
//
// CSV has no algorithm column: the hash is implied by the seed length, 20
// bytes for SHA1, 32 for SHA256, 64 for SHA512; a seed of any other length
// is SHA1.
//
// Blank lines and lines that start with # are comments; a UTF-8 BOM and
// Windows line endings are accepted. The first non-comment line is a header,
// and skipped, when its first field is "serial" or its second field is not
// hex, and its third field is not TOTP or HOTP (so a mistyped seed on the
// first line is reported, not skipped as a header). Any other bad line is an
// error, as is a serial that appears twice.
func DecodeCSV(data []byte) ([]Token, error) {
	lines := txtLines(data)
	var tokens []Token
	seen := make(map[string]int) // serial -> line number
	first := true
	for i, line := range lines {
		n := i + 1
		fields := strings.Split(line, ",")
		for j := range fields {
			fields[j] = strings.TrimSpace(fields[j])
		}
		fields = csvTrimTail(fields)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue // blank line, a spreadsheet's empty row, or a comment
		}
		if first {
			first = false
			if isCSVHeader(fields) {
				continue
			}
		}
		t, err := csvToken(fields)
		if err == nil {
			if err = t.Validate(); err != nil {
				err = fmt.Errorf("%w: %w", ErrMalformed, err)
			}
		}
		if err != nil {
			return nil, &Error{Format: CSV, Where: fmt.Sprintf("line %d", n), Err: err}
		}
		if prev, ok := seen[t.Serial]; ok {
			return nil, &Error{Format: CSV, Where: fmt.Sprintf("line %d", n),
				Err: fmt.Errorf("%w: serial %q is on lines %d and %d: serials must be unique", ErrMalformed, t.Serial, prev, n)}
		}
		seen[t.Serial] = n
		tokens = append(tokens, t)
	}
	if len(tokens) == 0 {
		return nil, &Error{Format: CSV, Err: fmt.Errorf("%w: the file has no tokens (expected lines of %s)", ErrMalformed, csvLayout)}
	}
	return tokens, nil
}

// txtLines drops a UTF-8 BOM and splits data into lines without their
// line endings (LF or CRLF).
func txtLines(data []byte) []string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

func csvTrimTail(fields []string) []string {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	return fields
}

func isCSVHeader(fields []string) bool {
	if len(fields) >= 3 {
		if _, err := oath.ParseKind(fields[2]); err == nil {
			return false
		}
	}
	if strings.EqualFold(fields[0], "serial") {
		return true
	}
	if len(fields) < 2 {
		return true
	}
	_, err := hex.DecodeString(fields[1])
	return err != nil || fields[1] == ""
}

// csvToken reads one line's fields. Its errors never quote the seed.
func csvToken(f []string) (Token, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
	if len(f) > 5 {
		return Token{}, bad("too many columns: use %s", csvLayout)
	}
	if len(f) < 3 {
		return Token{}, bad("no type column: use %s (digits and step|counter may be left out)", csvLayout)
	}
	t := Token{Serial: f[0], Digits: txtDefaultDigits}
	if t.Serial == "" {
		return Token{}, bad("no serial number in the first column: use %s", csvLayout)
	}
	switch {
	case f[1] == "":
		return Token{}, bad("no seed in the second column: use %s", csvLayout)
	case len(f[1])%2 != 0:
		return Token{}, bad("seed has an odd number of hex digits: expected the seed in hex, two digits a byte")
	}
	secret, err := hex.DecodeString(f[1])
	if err != nil {
		// hex's error quotes the bad character: do not wrap it.
		return Token{}, bad("seed is not hex: expected the seed in hex (0-9, a-f)")
	}
	t.Secret = secret
	t.Algorithm = csvAlgorithm(len(secret))
	k, err := oath.ParseKind(f[2])
	if err != nil {
		return Token{}, bad("type %s: use TOTP or HOTP", txtQuote(f[2]))
	}
	t.Kind = k
	if len(f) > 3 && f[3] != "" {
		if t.Digits, err = txtDigits(f[3]); err != nil {
			return Token{}, err
		}
	}
	var last string
	if len(f) > 4 {
		last = f[4]
	}
	switch t.Kind {
	case oath.TOTP:
		t.Period = txtDefaultPeriod
		if last != "" {
			if t.Period, err = txtPeriod("step", last); err != nil {
				return Token{}, err
			}
		}
	case oath.HOTP:
		if last != "" {
			if t.Counter, err = txtCounter(last); err != nil {
				return Token{}, err
			}
		}
	}
	return t, nil
}

// csvAlgorithm is the hash a CSV seed of n bytes implies.
func csvAlgorithm(n int) oath.Algorithm {
	switch n {
	case oath.SHA256.KeySize():
		return oath.SHA256
	case oath.SHA512.KeySize():
		return oath.SHA512
	}
	return oath.SHA1
}

func txtDigits(s string) (int, error) {
	d, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: digits %s is not a number: use %d to %d", ErrMalformed, txtQuote(s), oath.MinDigits, oath.MaxDigits)
	}
	if oath.CheckDigits(d) != nil {
		return 0, fmt.Errorf("%w: digits %s out of range: use %d to %d", ErrMalformed, txtQuote(s), oath.MinDigits, oath.MaxDigits)
	}
	return d, nil
}

// txtPeriod reads a time step in whole seconds; name is what the format
// calls it.
func txtPeriod(name, s string) (time.Duration, error) {
	p, err := strconv.ParseUint(s, 10, 64)
	if err != nil || p == 0 || p > txtMaxPeriodSecs {
		return 0, fmt.Errorf("%w: %s %s is not a whole number of seconds from 1 to %d (usually 30 or 60)", ErrMalformed, name, txtQuote(s), uint64(txtMaxPeriodSecs))
	}
	return time.Duration(p) * time.Second, nil
}

func txtCounter(s string) (uint64, error) {
	c, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: counter %s is not a number from 0 to %d", ErrMalformed, txtQuote(s), uint64(math.MaxUint64))
	}
	return c, nil
}

// txtQuote quotes a field for an error message only when it cannot hold a
// secret: at most 24 letters, digits, spaces, '.', '_' or '-', with no run of
// 8 or more letters and digits (as hex and base32 seeds are). Anything else
// — a seed in the wrong column, a broken URI whose query spilled into a
// field — is described by its length only.
func txtQuote(s string) string {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alnum && c != ' ' && c != '.' && c != '_' && c != '-' || len(s) > 24 {
			return fmt.Sprintf("(%d characters)", len(s))
		}
		if run = run + 1; !alnum {
			run = 0
		}
		if run >= txtSecretRun {
			return fmt.Sprintf("(%d characters)", len(s))
		}
	}
	return strconv.Quote(s)
}

// EncodeCSV writes tokens as OATH CSV: a comment header, then one line per
// token with its seed in lower-case hex. CSV carries only the serial, seed,
// type, digits and step or counter; the issuer, manufacturer, key id, drift
// and validity dates are not written.
//
// Since the hash is implied by the seed length, a token whose algorithm does
// not match its secret's length (a SHA256 token with a 20-byte secret, say)
// cannot be written: export it as pskc or otpauth. Neither can a serial that
// holds a comma or a newline, or starts with #.
func EncodeCSV(w io.Writer, tokens []Token) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# serial, seed_hex, type, digits, step|counter\n")
	for i, t := range tokens {
		if err := txtEncodable(t); err != nil {
			return fmt.Errorf("token %d (%s): %w", i+1, t.Serial, err)
		}
		if a := csvAlgorithm(len(t.Secret)); a != t.Algorithm {
			return fmt.Errorf("token %d (%s): a %d-byte seed means %s in CSV, but the token is %s: export it as pskc or otpauth instead",
				i+1, t.Serial, len(t.Secret), strings.ToUpper(a.String()), strings.ToUpper(t.Algorithm.String()))
		}
		if strings.ContainsAny(t.Serial, ",\n") || strings.HasPrefix(strings.TrimSpace(t.Serial), "#") {
			return fmt.Errorf("token %d (%s): a CSV serial cannot hold a comma or a newline, or start with #: export it as pskc or otpauth instead", i+1, t.Serial)
		}
		last := t.Counter
		if t.Kind == oath.TOTP {
			last = uint64(t.period() / time.Second)
		}
		fmt.Fprintf(bw, "%s, %s, %s, %d, %d\n", t.Serial, hex.EncodeToString(t.Secret), strings.ToUpper(t.Kind.String()), t.Digits, last)
	}
	return bw.Flush()
}

// txtEncodable is Validate plus the limits of the text formats' decoders.
func txtEncodable(t Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.Kind == oath.TOTP && t.period() > txtMaxPeriodSecs*time.Second {
		return errors.New("period too long: at most 4294967295 s")
	}
	return nil
}
