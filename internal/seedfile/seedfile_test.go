package seedfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestEveryFormatRoundTrips: export then import gives identical tokens, with
// the same codes, in every format for every algorithm, kind and digit count.
func TestEveryFormatRoundTrips(t *testing.T) {
	tokens := sampleTokens()
	for _, f := range []Format{PSKC, CSV, OTPAuth} {
		t.Run(f.String(), func(t *testing.T) {
			var b bytes.Buffer
			if err := Encode(&b, tokens, EncodeOptions{Format: f}); err != nil {
				t.Fatal(err)
			}
			if got := Detect(b.Bytes()); got != f {
				t.Fatalf("an export in %s is detected as %s", f, got)
			}
			got, err := Decode(b.Bytes(), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// CSV and otpauth carry no validity dates: compare what they carry.
			want := tokens
			if f != PSKC {
				want = make([]Token, len(tokens))
				for i, tok := range tokens {
					tok.NotBefore, tok.NotAfter = got[i].NotBefore, got[i].NotAfter
					want[i] = tok
				}
			}
			sameTokens(t, got, want)
		})
	}
}

func TestDetect(t *testing.T) {
	for in, want := range map[string]Format{
		"\xef\xbb\xbf  <?xml version=\"1.0\"?><KeyContainer/>": PSKC,
		"<KeyContainer/>":                        PSKC,
		"# comment\n\notpauth://totp/x?secret=A": OTPAuth,
		"OTPAUTH://hotp/x?secret=A":              OTPAuth,
		"serial, seed\nA1, 3132, TOTP":           CSV,
		"":                                       CSV,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Auto, "auto": Auto, "PSKC": PSKC, "xml": PSKC, "csv": CSV, "otpauth": OTPAuth, "uri": OTPAuth} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("json"); err == nil || !strings.Contains(err.Error(), "use auto, pskc, csv or otpauth") {
		t.Errorf("ParseFormat(json): %v", err)
	}
}

func TestErrorsLocateAndUnwrap(t *testing.T) {
	_, err := Decode([]byte("A1, zz, TOTP, 8, 30\n"), DecodeOptions{})
	var fe *Error
	if !errors.As(err, &fe) || fe.Format != CSV || fe.Where != "line 1" || !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %#v", err)
	}
	_, err = Decode([]byte(`<KeyContainer Version="1.0"><KeyPackage><Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:ocra"><Data><Secret><PlainValue>MTIz</PlainValue></Secret></Data></Key></KeyPackage></KeyContainer>`), DecodeOptions{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "KeyPackage 1/Key") || !strings.Contains(err.Error(), "ocra") {
		t.Fatalf("an OCRA key: %v", err)
	}
}
