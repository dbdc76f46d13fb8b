package seedfile

import (
	"bufio"
	"encoding/base32"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// otpauthForm is the expected form, as error messages name it.
const otpauthForm = "otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30"

var otpauthBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// DecodeOTPAuth reads otpauth:// URIs (the Google Authenticator Key URI
// format), one a line; blank lines and lines that start with # are comments,
// and a UTF-8 BOM and Windows line endings are accepted.
//
// The label is ISSUER:ACCOUNT or ACCOUNT: the account name becomes the
// Serial and the issuer the Issuer, with the issuer parameter winning over
// the label's prefix. The secret is base32, in any case, with or without
// padding. The algorithm defaults to SHA1, the digits to 6 and the period to
// 30 s. The format calls the counter required for hotp, but a missing one is
// read as 0, as github.com/pquerna/otp's hotp.Generate writes none.
// Unknown parameters (image, …) are ignored; a parameter given twice is an
// error.
func DecodeOTPAuth(data []byte) ([]Token, error) {
	var tokens []Token
	for i, line := range txtLines(data) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := otpauthToken(line)
		if err == nil {
			if err = t.Validate(); err != nil {
				err = fmt.Errorf("%w: %w", ErrMalformed, err)
			}
		}
		if err != nil {
			return nil, &Error{Format: OTPAuth, Where: fmt.Sprintf("line %d", i+1), Err: err}
		}
		tokens = append(tokens, t)
	}
	if len(tokens) == 0 {
		return nil, &Error{Format: OTPAuth, Err: fmt.Errorf("%w: the file has no tokens (expected lines like %s)", ErrMalformed, otpauthForm)}
	}
	return tokens, nil
}

// otpauthToken reads one URI. Its errors never quote the URI: net/url's
// errors do, and it holds the secret.
//
// otpauthParams are the parameters of the Key URI format, safe to name.
var otpauthParams = map[string]bool{"secret": true, "issuer": true, "algorithm": true, "digits": true, "period": true, "counter": true, "image": true}

func otpauthToken(line string) (Token, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
	if !strings.HasPrefix(strings.ToLower(line), "otpauth://") {
		return Token{}, bad("not an otpauth:// URI: expected %s", otpauthForm)
	}
	u, err := url.Parse(line)
	if err != nil {
		return Token{}, bad("not a valid URI: check its %%XX escapes and that spaces and reserved characters are escaped")
	}
	if u.User != nil || u.Opaque != "" {
		return Token{}, bad("not an otpauth:// URI: expected %s", otpauthForm)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Token{}, bad("the query is not valid: check its %%XX escapes and separate the parameters with &")
	}
	for _, name := range slices.Sorted(maps.Keys(q)) { // sorted: the same file, the same error
		if v := q[name]; len(v) > 1 {
			shown := txtQuote(name)
			if otpauthParams[name] {
				shown = strconv.Quote(name)
			}
			return Token{}, bad("parameter %s is given %d times", shown, len(v))
		}
	}
	// url.Parse has accepted line, so NewKeyFromURL, which only parses it, does too.
	key, err := otp.NewKeyFromURL(line)
	if err != nil {
		return Token{}, bad("not a valid URI")
	}
	var t Token
	if t.Kind, err = oath.ParseKind(key.Type()); err != nil {
		// The "type" is the URI's host: in a broken URI it can hold the
		// query, secret and all; txtQuote quotes only plain words.
		return Token{}, bad("type %s: use totp or hotp, as in %s", txtQuote(key.Type()), otpauthForm)
	}
	t.Serial = strings.TrimSpace(key.AccountName())
	t.Issuer = strings.TrimSpace(key.Issuer())
	if t.Serial == "" {
		return Token{}, bad("no account name: the label is ISSUER:ACCOUNT or ACCOUNT, as in %s", otpauthForm)
	}

	secret := strings.ToUpper(strings.ReplaceAll(key.Secret(), " ", ""))
	secret = strings.TrimRight(secret, "=")
	if secret == "" {
		return Token{}, bad("no secret: add secret=BASE32")
	}
	switch len(secret) % 8 {
	case 1, 3, 6:
		// Go's decoder drops such a tail: a mistyped secret would be read short.
		err = base32.CorruptInputError(len(secret))
	default:
		t.Secret, err = otpauthBase32.DecodeString(secret)
	}
	if err != nil {
		// base32's error gives a position in the secret: do not wrap it.
		return Token{}, bad("secret is not base32: expected the letters A-Z and the digits 2-7, with or without = padding")
	}

	if a := q.Get("algorithm"); a != "" {
		if t.Algorithm, err = oath.ParseAlgorithm(a); err != nil {
			return Token{}, fmt.Errorf("%w: algorithm %s: use SHA1, SHA256 or SHA512", ErrUnsupported, txtQuote(a))
		}
	}
	t.Digits = txtDefaultDigits
	if d := q.Get("digits"); d != "" {
		if t.Digits, err = txtDigits(d); err != nil {
			return Token{}, err
		}
	}
	switch t.Kind {
	case oath.TOTP:
		t.Period = txtDefaultPeriod
		if p := q.Get("period"); p != "" {
			if t.Period, err = txtPeriod("period", p); err != nil {
				return Token{}, err
			}
		}
	case oath.HOTP:
		if c := q.Get("counter"); c != "" {
			if t.Counter, err = txtCounter(c); err != nil {
				return Token{}, err
			}
		}
	}
	return t, nil
}

// EncodeOTPAuth writes one otpauth:// URI a line:
//
//	otpauth://totp/ISSUER:SERIAL?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// with counter=N instead of period for hotp. The algorithm and digits are
// always written, as many apps assume SHA1 and 6 when they are missing. The
// ISSUER: prefix and the issuer parameter are left out when the token has no
// issuer. The manufacturer, key id, drift and validity dates are not written.
//
// The format forbids colons in the issuer and the account name; tokenlab
// still writes them so that they read back: an issuer with a colon goes in
// the issuer parameter only, and a serial with a colon and no issuer prefix
// gets an empty prefix (":SERIAL").
func EncodeOTPAuth(w io.Writer, tokens []Token) error {
	bw := bufio.NewWriter(w)
	for i, t := range tokens {
		if err := txtEncodable(t); err != nil {
			return fmt.Errorf("token %d (%s): %w", i+1, t.Serial, err)
		}
		label := url.PathEscape(t.Serial)
		switch {
		case t.Issuer != "" && !strings.Contains(t.Issuer, ":"):
			label = url.PathEscape(t.Issuer) + ":" + label
		case strings.Contains(t.Serial, ":"):
			label = ":" + label
		}
		// url.Values would sort the parameters: write them in the usual order,
		// escaped as url.QueryEscape does but with %20 for a space, which
		// some apps (Google Authenticator) do not read as +.
		var q strings.Builder
		q.WriteString("secret=" + otpauthBase32.EncodeToString(t.Secret))
		if t.Issuer != "" {
			q.WriteString("&issuer=" + strings.ReplaceAll(url.QueryEscape(t.Issuer), "+", "%20"))
		}
		q.WriteString("&algorithm=" + strings.ToUpper(t.Algorithm.String()))
		q.WriteString("&digits=" + strconv.Itoa(t.Digits))
		if t.Kind == oath.HOTP {
			q.WriteString("&counter=" + strconv.FormatUint(t.Counter, 10))
		} else {
			q.WriteString("&period=" + strconv.FormatInt(int64(t.period()/time.Second), 10))
		}
		fmt.Fprintf(bw, "otpauth://%s/%s?%s\n", t.Kind, label, q.String())
	}
	return bw.Flush()
}
