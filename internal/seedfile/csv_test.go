package seedfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// RFC 4226's test secret, "12345678901234567890", and RFC 6238's longer ones.
const (
	rfcSeed20 = "3132333435363738393031323334353637383930"
	rfcSeed32 = "3132333435363738393031323334353637383930313233343536373839303132"
	rfcSeed64 = "31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334"
)

func txtHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Token
	}{
		{
			name: "all columns",
			in:   "TL001, " + rfcSeed20 + ", TOTP, 8, 60\nTL002," + rfcSeed20 + ",HOTP,6,42\n",
			want: []Token{
				{Serial: "TL001", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 8, Period: time.Minute, Secret: txtHex(t, rfcSeed20)},
				{Serial: "TL002", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 6, Counter: 42, Secret: txtHex(t, rfcSeed20)},
			},
		},
		{
			name: "defaults, lower-case type and upper-case hex",
			in:   "TL001, " + strings.ToUpper(rfcSeed32) + ", totp\nTL002, " + rfcSeed64 + ", Hotp, 8\n",
			want: []Token{
				{Serial: "TL001", Kind: oath.TOTP, Algorithm: oath.SHA256, Digits: 6, Period: 30 * time.Second, Secret: txtHex(t, rfcSeed32)},
				{Serial: "TL002", Kind: oath.HOTP, Algorithm: oath.SHA512, Digits: 8, Secret: txtHex(t, rfcSeed64)},
			},
		},
		{
			name: "other seed lengths are SHA1; empty fields are defaults",
			in:   "TL003, 00112233445566778899aabbccddeeff, TOTP, , \n",
			want: []Token{
				{Serial: "TL003", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: txtHex(t, "00112233445566778899aabbccddeeff")},
			},
		},
		{
			name: "comments, blank lines, header, CRLF and BOM",
			in: "\xef\xbb\xbf# exported by hand\r\n\r\nserial,seed,type,digits,timestep\r\n" +
				"  # indented comment\r\nTL001, " + rfcSeed20 + ", TOTP, 6, 30\r\n,,,,\r\n",
			want: []Token{
				{Serial: "TL001", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: txtHex(t, rfcSeed20)},
			},
		},
		{
			name: "header whose second field is not hex",
			in:   "token, key, kind\nTL001, " + rfcSeed20 + ", HOTP, 6, 7\n",
			want: []Token{
				{Serial: "TL001", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 6, Counter: 7, Secret: txtHex(t, rfcSeed20)},
			},
		},
		{
			name: "a token named serial is not a header",
			in:   "serial, " + rfcSeed20 + ", TOTP\n",
			want: []Token{
				{Serial: "serial", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: txtHex(t, rfcSeed20)},
			},
		},
		{
			name: "spreadsheet padding after the fifth column",
			in:   "TL001, " + rfcSeed20 + ", TOTP, 6, 30,,,\n",
			want: []Token{
				{Serial: "TL001", Kind: oath.TOTP, Algorithm: oath.SHA1, Digits: 6, Period: 30 * time.Second, Secret: txtHex(t, rfcSeed20)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCSV([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeCSVErrors(t *testing.T) {
	const seed = rfcSeed20
	tests := []struct {
		name  string
		in    string
		where string
		want  string // a substring of the message
	}{
		{"empty file", "", "", "the file has no tokens"},
		{"only comments and a header", "# nothing\nserial, seed, type\n", "", "the file has no tokens"},
		{"seed not hex", "TL001, " + seed + ", TOTP\nTL002, " + seed[:10] + "zz" + seed[12:] + ", TOTP\n", "line 2", "seed is not hex"},
		{"mistyped seed on the first line", "TL001, " + seed[:10] + "zz" + seed[12:] + ", TOTP\n", "line 1", "seed is not hex"},
		{"odd seed", "TL001, " + seed + "a, TOTP\n", "line 1", "odd number of hex digits"},
		{"no seed", "TL001, " + seed + ", TOTP\nTL002, , TOTP\n", "line 2", "no seed"},
		{"no serial", "TL001, " + seed + ", TOTP\n, " + seed + ", TOTP\n", "line 2", "no serial number"},
		{"bad type", "TL001, " + seed + ", XOTP\n", "line 1", `type "XOTP": use TOTP or HOTP`},
		{"seed in the type column", "TL001, " + seed + ", " + seed + "\n", "line 1", "type (40 characters): use TOTP or HOTP"},
		{"no type", "TL001, " + seed + ", TOTP\nTL002, " + seed + "\n", "line 2", "no type column"},
		{"digits not a number", "TL001, " + seed + ", TOTP, 7x\n", "line 1", `digits "7x" is not a number`},
		{"digits out of range", "TL001, " + seed + ", TOTP, 5\n", "line 1", `digits "5" out of range: use 6 to 10`},
		{"step not a number", "TL001, " + seed + ", TOTP, 6, 30s\n", "line 1", `step "30s" is not a whole number of seconds`},
		{"zero step", "TL001, " + seed + ", TOTP, 6, 0\n", "line 1", `step "0" is not a whole number of seconds from 1`},
		{"negative counter", "TL001, " + seed + ", HOTP, 6, -1\n", "line 1", `counter "-1" is not a number`},
		{"counter overflows", "TL001, " + seed + ", HOTP, 6, 18446744073709551616\n", "line 1", `counter (20 characters) is not a number`},
		{"too many columns", "TL001, " + seed + ", TOTP, 6, 30, SHA1\n", "line 1", "too many columns: use serial, seed_hex, TOTP|HOTP, digits, step|counter"},
		{"duplicate serial", "TL001, " + seed + ", TOTP\n# x\nTL001, " + rfcSeed32 + ", HOTP\n", "line 3", `serial "TL001" is on lines 1 and 3`},
		{"bad line after a header", "serial, seed, type\nTL001, " + seed + ", TOTP\nbad\n", "line 3", "no type column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := DecodeCSV([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error, got %+v", toks)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Format != CSV || e.Where != tt.where {
				t.Errorf("error %#v: want a *Error for csv at %q", err, tt.where)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			for _, s := range []string{seed, seed[:16], seed[24:], strings.ToUpper(seed[8:24]), rfcSeed32[:12]} {
				if strings.Contains(strings.ToLower(msg), strings.ToLower(s)) {
					t.Errorf("error %q contains part of the seed", msg)
				}
			}
		})
	}
}

// txtSampleTokens are the tokens of the round trips: TOTP and HOTP, 6 and 8
// digits, 30 and 60 s, each algorithm with a secret of its key size.
func txtSampleTokens(issuer string) []Token {
	var out []Token
	n := 0
	for _, alg := range []oath.Algorithm{oath.SHA1, oath.SHA256, oath.SHA512} {
		for _, kind := range []oath.Kind{oath.TOTP, oath.HOTP} {
			for _, digits := range []int{6, 8} {
				for _, v := range []uint64{30, 60} {
					n++
					secret := make([]byte, alg.KeySize())
					for i := range secret {
						secret[i] = byte(n*31 + i*7)
					}
					tok := Token{
						Serial:    fmt.Sprintf("TL%04d", n),
						Issuer:    issuer,
						Kind:      kind,
						Algorithm: alg,
						Digits:    digits,
						Secret:    secret,
					}
					if kind == oath.TOTP {
						tok.Period = time.Duration(v) * time.Second
					} else {
						tok.Counter = v * 1000
					}
					out = append(out, tok)
				}
			}
		}
	}
	return out
}

// txtSameCodes checks that got computes the codes of want.
func txtSameCodes(t *testing.T, want, got Token) {
	t.Helper()
	gw, err := oath.NewGenerator(want.Secret, want.Algorithm, want.Digits)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := oath.NewGenerator(got.Secret, got.Algorithm, got.Digits)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 5, 17, 12, 34, 56, 0, time.UTC)
	sw, _, err := oath.TimeStep(at, want.period())
	if err != nil {
		t.Fatal(err)
	}
	sg, _, err := oath.TimeStep(at, got.period())
	if err != nil {
		t.Fatal(err)
	}
	counters := [][2]uint64{{0, 0}, {1, 1}, {want.Counter, got.Counter}, {want.Counter + 9, got.Counter + 9}}
	if want.Kind == oath.TOTP {
		counters = append(counters, [2]uint64{sw, sg})
	}
	for _, c := range counters {
		if w, g := gw.Code(c[0]), gg.Code(c[1]); w != g {
			t.Errorf("%s: code %d is %s, want %s", want.Serial, c[0], g, w)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	want := txtSampleTokens("")
	// A SHA1 token whose secret is not 20 bytes is representable too.
	want = append(want, Token{Serial: "TL-short", Kind: oath.HOTP, Algorithm: oath.SHA1, Digits: 6, Counter: 3, Secret: []byte("0123456789abcdef")})
	var buf bytes.Buffer
	if err := EncodeCSV(&buf, want); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "# serial, seed_hex, type, digits, step|counter\n") {
		t.Errorf("no header:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "\nTL0001, "+hex.EncodeToString(want[0].Secret)+", TOTP, 6, 30\n") {
		t.Errorf("unexpected layout:\n%s", buf.String())
	}
	got, err := DecodeCSV(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	for i := range want {
		txtSameCodes(t, want[i], got[i])
	}
}

func TestCSVPeriodZeroIs30s(t *testing.T) {
	var buf bytes.Buffer
	tok := Token{Serial: "TL1", Kind: oath.TOTP, Digits: 6, Secret: txtHex(t, rfcSeed20)}
	if err := EncodeCSV(&buf, []Token{tok}); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeCSV(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Period != 30*time.Second {
		t.Errorf("period %v, want 30s", got[0].Period)
	}
}

func TestEncodeCSVErrors(t *testing.T) {
	seed20, seed32 := txtHex(t, rfcSeed20), txtHex(t, rfcSeed32)
	tests := []struct {
		name string
		tok  Token
		want string
	}{
		{"SHA1 with a 32-byte secret", Token{Serial: "A1", Algorithm: oath.SHA1, Digits: 6, Secret: seed32}, "token 1 (A1): a 32-byte seed means SHA256 in CSV, but the token is SHA1: export it as pskc or otpauth instead"},
		{"SHA256 with a 20-byte secret", Token{Serial: "A2", Algorithm: oath.SHA256, Digits: 6, Secret: seed20}, "token 1 (A2): a 20-byte seed means SHA1 in CSV, but the token is SHA256"},
		{"SHA512 with a 16-byte secret", Token{Serial: "A3", Algorithm: oath.SHA512, Digits: 6, Secret: seed20[:16]}, "export it as pskc or otpauth instead"},
		{"comma in the serial", Token{Serial: "A,4", Digits: 6, Secret: seed20}, "cannot hold a comma"},
		{"newline in the serial", Token{Serial: "A\n5", Digits: 6, Secret: seed20}, "cannot hold a comma or a newline"},
		{"serial starts with #", Token{Serial: " #6", Digits: 6, Secret: seed20}, "start with #"},
		{"invalid token", Token{Serial: "A7", Digits: 5, Secret: seed20}, "token 1 (A7): digits 5 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := EncodeCSV(&bytes.Buffer{}, []Token{tt.tok})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), rfcSeed20[:16]) || strings.Contains(err.Error(), rfcSeed32[:16]) {
				t.Errorf("error %q contains the seed", err)
			}
		})
	}
}

// txtMapSecret substitutes every character of a secret by another of the
// same class (hex digit, base32 letter or digit), keeping its case, so a
// secret stays valid or invalid and keeps its length. Characters after a %
// (an escape) are kept.
func txtMapSecret(s string, base32 bool) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '%':
			i += 2
		case base32 && 'a' <= c && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case base32 && 'A' <= c && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		case base32 && '2' <= c && c <= '7':
			b[i] = '2' + (c-'2'+3)%6
		case !base32 && '0' <= c && c <= '9':
			b[i] = '0' + (c-'0'+5)%10
		case !base32 && 'a' <= c && c <= 'f':
			b[i] = 'a' + (c-'a'+3)%6
		case !base32 && 'A' <= c && c <= 'F':
			b[i] = 'A' + (c-'A'+3)%6
		}
	}
	return string(b)
}

// csvMapSeeds substitutes the seed column of every line.
func csvMapSeeds(in string) string {
	lines := strings.Split(in, "\n")
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) > 1 {
			f[1] = txtMapSecret(f[1], false)
		}
		lines[i] = strings.Join(f, ",")
	}
	return strings.Join(lines, "\n")
}

// txtCheckLeak checks that an error does not contain a run of 8 characters
// of the input's secrets: any such run would change when the secrets are
// substituted (mapped is the input with substituted secrets, err2 its error).
func txtCheckLeak(t *testing.T, secrets []string, err, err2 error) {
	t.Helper()
	if (err == nil) != (err2 == nil) {
		t.Fatalf("substituting the secrets changes the outcome: %v / %v", err, err2)
	}
	if err == nil {
		return
	}
	msg, msg2 := err.Error(), err2.Error()
	for _, s := range secrets {
		for i := 0; i+8 <= len(s); i++ {
			for _, w := range []string{s[i : i+8], strings.ToUpper(s[i : i+8])} {
				if strings.Contains(msg, w) && !strings.Contains(msg2, w) {
					t.Fatalf("error %q holds %q of a secret", msg, w)
				}
			}
		}
	}
	if msg != msg2 {
		t.Fatalf("the error depends on the secret:\n%s\n%s", msg, msg2)
	}
}

// csvSeeds returns the seed column of every line.
func csvSeeds(in string) []string {
	var out []string
	for _, l := range strings.Split(in, "\n") {
		if f := strings.Split(l, ","); len(f) > 1 {
			out = append(out, f[1])
		}
	}
	return out
}

// txtReencode checks that tokens encode to f and decode to equal tokens.
func txtReencode(t *testing.T, tokens []Token, f Format, mustEncode bool) {
	t.Helper()
	enc, dec := EncodeCSV, DecodeCSV
	if f == OTPAuth {
		enc, dec = EncodeOTPAuth, DecodeOTPAuth
	}
	want := tokens
	if f == CSV {
		want = make([]Token, len(tokens))
		for i, tok := range tokens {
			tok.Issuer = "" // CSV does not carry it
			want[i] = tok
		}
	}
	var buf bytes.Buffer
	if err := enc(&buf, want); err != nil {
		if mustEncode {
			t.Fatalf("cannot encode decoded tokens as %s: %v", f, err)
		}
		return
	}
	got, err := dec(buf.Bytes())
	if err != nil {
		if f == CSV && !mustEncode && strings.Contains(err.Error(), "must be unique") {
			return // otpauth allows one account name under two issuers
		}
		t.Fatalf("cannot decode what %s encoded: %v\n%q", f, err, buf.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s round trip:\ngot  %+v\nwant %+v\n%q", f, got, want, buf.String())
	}
}

func FuzzDecodeCSV(f *testing.F) {
	f.Add("TL001, " + rfcSeed20 + ", TOTP, 8, 60\nTL002," + rfcSeed20 + ",HOTP,6,42\n")
	f.Add("\xef\xbb\xbf# c\r\n\r\nserial,seed,type,digits,timestep\r\nTL001, " + rfcSeed32 + ", totp\r\n")
	f.Add("TL003, " + rfcSeed64 + ", Hotp, , \n,,,\n")
	f.Add("TL001, " + rfcSeed20 + ", " + rfcSeed20 + "\n")
	f.Add("TL001, " + rfcSeed20 + "a, TOTP, 7x, 30s, x\nTL001, " + rfcSeed20 + ", TOTP\n")
	f.Add("TL001, " + rfcSeed20 + "a, TOTP\n")
	f.Add("TL001, " + rfcSeed20 + ", TOTP\nTL001, " + rfcSeed20 + ", HOTP, 8, 5\n")
	f.Fuzz(func(t *testing.T, in string) {
		tokens, err := DecodeCSV([]byte(in))
		_, err2 := DecodeCSV([]byte(csvMapSeeds(in)))
		txtCheckLeak(t, csvSeeds(in), err, err2)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, tok := range tokens {
			if err := tok.Validate(); err != nil {
				t.Fatalf("decoded an invalid token: %v", err)
			}
		}
		txtReencode(t, tokens, CSV, true)
		txtReencode(t, tokens, OTPAuth, true)
	})
}
