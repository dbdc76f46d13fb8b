package seedfile

import (
	"bytes"
	"encoding/base32"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenlab/tokenlab/internal/benchratio"
	"github.com/tokenlab/tokenlab/internal/oath"
)

// otpSecret is the key URI format's example secret, "Hello!\xde\xad\xbe\xef".
const otpSecret = "JBSWY3DPEHPK3PXP"

var otpSecretBytes = []byte("Hello!\xde\xad\xbe\xef")

func TestDecodeOTPAuth(t *testing.T) {
	b32 := func(s string) string { return base32.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		in   string
		want []Token
	}{
		{
			name: "the format's example",
			in:   "otpauth://totp/Example:alice@google.com?secret=" + otpSecret + "&issuer=Example",
			want: []Token{{Serial: "alice@google.com", Issuer: "Example", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: otpSecretBytes}},
		},
		{
			name: "all parameters, escapes and a space after the colon",
			in:   "otpauth://totp/ACME%20Co:%20john%2Fdoe?secret=" + b32(rfcSecret32) + "&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60&image=x",
			want: []Token{{Serial: "john/doe", Issuer: "ACME Co", Kind: oath.TOTP, Algorithm: oath.SHA256, Digits: 8, Period: time.Minute, Secret: []byte(rfcSecret32)}},
		},
		{
			name: "issuer parameter wins over the label",
			in:   "otpauth://totp/Old:alice?secret=" + otpSecret + "&issuer=New+Co&algorithm=sha512",
			want: []Token{{Serial: "alice", Issuer: "New Co", Kind: oath.TOTP, Algorithm: oath.SHA512, Digits: 6, Period: 30 * time.Second, Secret: otpSecretBytes}},
		},
		{
			name: "hotp, no issuer, lower case secret with padding",
			in:   "otpauth://hotp/TL001?secret=" + strings.ToLower(b32("12345678901234567890")) + "&counter=5&digits=8",
			want: []Token{{Serial: "TL001", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 8, Counter: 5, Secret: []byte("12345678901234567890")}},
		},
		{
			name: "hotp without a counter starts at 0",
			in:   "otpauth://hotp/TL001?secret=" + otpSecret,
			want: []Token{{Serial: "TL001", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 6, Secret: otpSecretBytes}},
		},
		{
			name: "comments, blank lines, CRLF, BOM, upper-case scheme and spaced secret",
			in: "\xef\xbb\xbf# my tokens\r\n\r\n  OTPAUTH://TOTP/a?secret=JBSW%20Y3DP%20EHPK%203PXP  \r\n" +
				"# another\r\notpauth://hotp/b?secret=" + otpSecret + "&counter=18446744073709551615\r\n",
			want: []Token{
				{Serial: "a", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: otpSecretBytes},
				{Serial: "b", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 6, Counter: 1<<64 - 1, Secret: otpSecretBytes},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeOTPAuth([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

const rfcSecret32 = "12345678901234567890123456789012"

func TestDecodeOTPAuthErrors(t *testing.T) {
	const s = otpSecret
	tests := []struct {
		name  string
		in    string
		is    error
		where string
		want  string
	}{
		{"empty file", "# nothing\n\n", ErrMalformed, "", "the file has no tokens"},
		{"other scheme", "https://totp/a?secret=" + s, ErrMalformed, "line 1", "not an otpauth:// URI"},
		{"no slashes", "otpauth:totp/a?secret=" + s, ErrMalformed, "line 1", "not an otpauth:// URI"},
		{"bad escape in the label", "otpauth://totp/a%zz?secret=" + s, ErrMalformed, "line 1", "not a valid URI"},
		{"bad escape in the query", "otpauth://totp/a?secret=" + s + "&issuer=%zz", ErrMalformed, "line 1", "the query is not valid"},
		{"bad type", "otpauth://xotp/a?secret=" + s, ErrMalformed, "line 1", `type "xotp": use totp or hotp`},
		{"long type", "otpauth://" + s + "/a?secret=" + s, ErrMalformed, "line 1", "type (16 characters): use totp or hotp"},
		{"no account", "otpauth://totp/ACME:?secret=" + s, ErrMalformed, "line 1", "no account name"},
		{"no secret", "otpauth://totp/a?issuer=x", ErrMalformed, "line 1", "no secret"},
		{"secret not base32", "otpauth://totp/a?secret=" + s[:15] + "1", ErrMalformed, "line 1", "secret is not base32"},
		{"secret of a bad length", "otpauth://totp/a?secret=" + s + "A", ErrMalformed, "line 1", "secret is not base32"},
		{"secret given twice", "otpauth://totp/a?secret=" + s + "&secret=" + s, ErrMalformed, "line 1", `parameter "secret" is given 2 times`},
		{"unknown algorithm", "otpauth://totp/a?secret=" + s + "&algorithm=MD5", ErrUnsupported, "line 1", `algorithm "MD5": use SHA1, SHA256 or SHA512`},
		{"digits not a number", "otpauth://totp/a?secret=" + s + "&digits=7x", ErrMalformed, "line 1", `digits "7x" is not a number`},
		{"digits out of range", "otpauth://totp/a?secret=" + s + "&digits=4", ErrMalformed, "line 1", `digits "4" out of range: use 6 to 10`},
		{"zero period", "otpauth://totp/a?secret=" + s + "&period=0", ErrMalformed, "line 1", `period "0" is not a whole number of seconds`},
		{"bad counter", "otpauth://hotp/a?secret=" + s + "&counter=-1", ErrMalformed, "line 1", `counter "-1" is not a number`},
		{"located", "# c\notpauth://totp/a?secret=" + s + "\r\n\r\nnot a uri " + s + "\n", ErrMalformed, "line 4", "not an otpauth:// URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := DecodeOTPAuth([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error, got %+v", toks)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("%v does not wrap %v", err, tt.is)
			}
			var e *Error
			if !errors.As(err, &e) || e.Format != OTPAuth || e.Where != tt.where {
				t.Errorf("error %#v: want a *Error for otpauth at %q", err, tt.where)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			for _, part := range []string{s[:8], s[4:12], s[8:]} {
				if strings.Contains(strings.ToUpper(msg), part) {
					t.Errorf("error %q contains part of the secret", msg)
				}
			}
		})
	}
}

func TestOTPAuthRoundTrip(t *testing.T) {
	want := append(txtSampleTokens("ACME Co"), txtSampleTokens("")...)
	for i := len(want) / 2; i < len(want); i++ {
		want[i].Serial += "-bare"
	}
	odd := []Token{
		// Not representable in CSV, fine in otpauth.
		{Serial: "sha1-32", Issuer: "x", Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: []byte(rfcSecret32)},
		{Serial: "a:b", Algorithm: oath.SHA1, Digits: 7, Period: 45 * time.Second, Secret: otpSecretBytes},
		{Serial: "c:d", Issuer: "Iss:uer", Algorithm: oath.SHA256, Digits: 10, Period: 30 * time.Second, Secret: otpSecretBytes},
		{Serial: "e", Issuer: "Iss:uer", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 6, Counter: 1<<64 - 1, Secret: otpSecretBytes},
		{Serial: "john doe/100%?#&=+ é", Issuer: "A&B=C+D %/?#", Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: []byte{0}},
	}
	bare := len(want) / 2
	want = append(want, odd...)
	var buf bytes.Buffer
	if err := EncodeOTPAuth(&buf, want); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if lines[0] != "otpauth://totp/ACME%20Co:TL0001?secret="+base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(want[0].Secret)+"&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30" {
		t.Errorf("unexpected first line %q", lines[0])
	}
	if !strings.HasPrefix(lines[bare], "otpauth://totp/TL0001-bare?secret=") || strings.Contains(lines[bare], "issuer") {
		t.Errorf("no issuer: unexpected line %q", lines[bare])
	}
	if !strings.HasPrefix(lines[4], "otpauth://hotp/ACME%20Co:TL0005?secret=") || !strings.HasSuffix(lines[4], "&issuer=ACME%20Co&algorithm=SHA1&digits=6&counter=30000") {
		t.Errorf("unexpected hotp line %q", lines[4])
	}
	got, err := DecodeOTPAuth(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v\n%s", got, want, buf.String())
	}
	for i := range want {
		txtSameCodes(t, want[i], got[i])
	}
}

func TestEncodeOTPAuthInvalid(t *testing.T) {
	err := EncodeOTPAuth(&bytes.Buffer{}, []Token{{Serial: "A1", Digits: 6, Period: 1500 * time.Millisecond, Secret: otpSecretBytes}})
	if err == nil || !strings.Contains(err.Error(), "token 1 (A1): period 1.5s") {
		t.Errorf("got %v, want an error about the period", err)
	}
}

// TestPquerna checks that URIs made by github.com/pquerna/otp decode to tokens
// with its codes, and that pquerna reads the URIs tokenlab writes.
func TestPquerna(t *testing.T) {
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, alg := range []oath.Algorithm{oath.SHA1, oath.SHA256, oath.SHA512} {
		for _, digits := range []otp.Digits{otp.DigitsSix, otp.DigitsEight} {
			for _, period := range []uint{30, 60} {
				secret := bytes.Repeat([]byte{byte(alg) + 0x5a}, alg.KeySize())
				key, err := totp.Generate(totp.GenerateOpts{Issuer: "ACME Co", AccountName: "alice@example.com",
					Period: period, Secret: secret, Digits: digits, Algorithm: benchratio.PquernaAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				toks, err := DecodeOTPAuth([]byte(key.URL()))
				if err != nil {
					t.Fatalf("%s: %v", key.URL(), err)
				}
				tok := toks[0]
				if tok.Serial != "alice@example.com" || tok.Issuer != "ACME Co" || tok.Algorithm != alg || tok.Digits != digits.Length() ||
					tok.Period != time.Duration(period)*time.Second || !bytes.Equal(tok.Secret, secret) {
					t.Fatalf("%s decodes to %+v", key.URL(), tok)
				}
				opts := totp.ValidateOpts{Period: period, Digits: digits, Algorithm: benchratio.PquernaAlgorithm(alg)}
				want, err := totp.GenerateCodeCustom(key.Secret(), at, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := txtTOTP(t, tok, at); got != want {
					t.Errorf("%s: code %s, pquerna %s", key.URL(), got, want)
				}

				// And back: pquerna reads what tokenlab writes.
				var buf bytes.Buffer
				if err := EncodeOTPAuth(&buf, toks); err != nil {
					t.Fatal(err)
				}
				back, err := otp.NewKeyFromURL(strings.TrimSpace(buf.String()))
				if err != nil {
					t.Fatal(err)
				}
				if back.Issuer() != "ACME Co" || back.AccountName() != "alice@example.com" || back.Period() != uint64(period) ||
					back.Digits() != digits || back.Algorithm() != benchratio.PquernaAlgorithm(alg) || back.Secret() != key.Secret() {
					t.Errorf("pquerna reads %s differently from %s", buf.String(), key.URL())
				}
			}
		}
	}

	key, err := hotp.Generate(hotp.GenerateOpts{Issuer: "ACME", AccountName: "TL9", Secret: []byte("12345678901234567890"), Digits: otp.DigitsEight})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := DecodeOTPAuth([]byte(key.URL()))
	if err != nil {
		t.Fatalf("%s: %v", key.URL(), err)
	}
	g, err := oath.NewGenerator(toks[0].Secret, toks[0].Algorithm, toks[0].Digits)
	if err != nil {
		t.Fatal(err)
	}
	for c := toks[0].Counter; c < 5; c++ {
		want, err := hotp.GenerateCodeCustom(key.Secret(), c, hotp.ValidateOpts{Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Code(c); got != want {
			t.Errorf("hotp counter %d: code %s, pquerna %s", c, got, want)
		}
	}
}

func txtTOTP(t *testing.T, tok Token, at time.Time) string {
	t.Helper()
	g, err := oath.NewGenerator(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		t.Fatal(err)
	}
	step, _, err := oath.TimeStep(at, tok.period())
	if err != nil {
		t.Fatal(err)
	}
	return g.Code(step)
}

// otpauthSecrets returns the values of the secret parameters ("?secret=" or
// "&secret=" up to the next &, # or space) and the input with them
// substituted by txtMapSecret.
func otpauthSecrets(in string) (secrets []string, mapped string) {
	var b strings.Builder
	for i := 0; i < len(in); {
		j := strings.Index(in[i:], "secret=")
		if j < 0 {
			b.WriteString(in[i:])
			break
		}
		start := i + j + len("secret=")
		b.WriteString(in[i:start])
		i = start
		if j := i - len("secret=") - 1; j < 0 || (in[j] != '?' && in[j] != '&') {
			continue
		}
		end := strings.IndexAny(in[start:], "&# \t\r\n")
		if end < 0 {
			end = len(in) - start
		}
		secrets = append(secrets, in[start:start+end])
		b.WriteString(txtMapSecret(in[start:start+end], true))
		i = start + end
	}
	return secrets, b.String()
}

func FuzzDecodeOTPAuth(f *testing.F) {
	f.Add("otpauth://totp/Example:alice@google.com?secret=" + otpSecret + "&issuer=Example")
	f.Add("otpauth://totp/ACME%20Co:%20john%2Fdoe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60")
	f.Add("\xef\xbb\xbf# c\r\n\r\n  OTPAUTH://HOTP/a?secret=jbsw%20y3dp%20ehpk%203pxp====&counter=7\r\n")
	f.Add("otpauth://totp/:a:b?secret=AE&issuer=Iss:uer&algorithm=MD5")
	f.Add("otpauth://" + otpSecret + "/a?secret=" + otpSecret + "&secret=" + otpSecret + "&digits=" + otpSecret)
	f.Add("otpauth://totp/a%zz?secret=" + otpSecret + "&period=0")
	f.Fuzz(func(t *testing.T, in string) {
		tokens, err := DecodeOTPAuth([]byte(in))
		secrets, mapped := otpauthSecrets(in)
		_, err2 := DecodeOTPAuth([]byte(mapped))
		txtCheckLeak(t, secrets, err, err2)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%v wraps neither ErrMalformed nor ErrUnsupported", err)
			}
			return
		}
		for _, tok := range tokens {
			if err := tok.Validate(); err != nil {
				t.Fatalf("decoded an invalid token: %v", err)
			}
		}
		txtReencode(t, tokens, OTPAuth, true)
		txtReencode(t, tokens, CSV, false)
	})
}
