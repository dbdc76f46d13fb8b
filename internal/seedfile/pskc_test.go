package seedfile

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/fixture"
	"github.com/tokenlab/tokenlab/internal/oath"
)

// sampleTokens covers every kind, algorithm, digit count and period.
func sampleTokens() []Token {
	var out []Token
	n := 0
	for _, alg := range []oath.Algorithm{oath.SHA1, oath.SHA256, oath.SHA512} {
		for _, kind := range []oath.Kind{oath.TOTP, oath.HOTP} {
			for _, digits := range []int{6, 8} {
				n++
				secret := make([]byte, alg.KeySize())
				for i := range secret {
					secret[i] = byte(n*31 + i*7)
				}
				t := Token{Serial: "VIRT" + strings.Repeat("0", 12) + string(rune('A'+n)), Manufacturer: "tokenlab", Issuer: "QA & Co <lab>",
					Kind: kind, Algorithm: alg, Digits: digits, Secret: secret}
				if kind == oath.HOTP {
					t.Counter = uint64(n * 1000)
				} else {
					t.Period = []time.Duration{30 * time.Second, 60 * time.Second}[n%2]
					t.DriftSteps = int64(n%3 - 1)
				}
				if n == 3 {
					t.NotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
					t.NotAfter = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
				}
				out = append(out, t)
			}
		}
	}
	return out
}

// sameTokens compares what a round trip must keep, and the codes.
func sameTokens(t *testing.T, got, want []Token) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d tokens, want %d", len(got), len(want))
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for i := range want {
		g, w := got[i], want[i]
		if g.Serial != w.Serial || g.Kind != w.Kind || g.Algorithm != w.Algorithm || g.Digits != w.Digits ||
			g.period() != w.period() || g.Counter != w.Counter || !bytes.Equal(g.Secret, w.Secret) ||
			!g.NotBefore.Equal(w.NotBefore) || !g.NotAfter.Equal(w.NotAfter) {
			t.Errorf("token %d:\n got %+v\nwant %+v", i, g, w)
			continue
		}
		gg, _ := oath.NewGenerator(g.Secret, g.Algorithm, g.Digits)
		wg, _ := oath.NewGenerator(w.Secret, w.Algorithm, w.Digits)
		step, _, _ := oath.TimeStep(at, w.period())
		if w.Kind == oath.HOTP {
			step = w.Counter
		}
		if gg.Code(step) != wg.Code(step) {
			t.Errorf("token %d codes differ", i)
		}
	}
}

func encodePSKC(t *testing.T, tokens []Token, opts EncodeOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	opts.Format = PSKC
	if err := Encode(&b, tokens, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPSKCRoundTrip(t *testing.T) {
	tokens := sampleTokens()
	key128, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	key192 := append(bytes.Clone(key128), key128[:8]...)
	key256 := append(bytes.Clone(key128), key128...)
	for _, c := range []struct {
		name string
		enc  EncodeOptions
		dec  DecodeOptions
	}{
		{"plain", EncodeOptions{}, DecodeOptions{}},
		{"aes128", EncodeOptions{Key: key128}, DecodeOptions{Key: key128}},
		{"aes192", EncodeOptions{Key: key192}, DecodeOptions{Key: key192}},
		{"aes256", EncodeOptions{Key: key256}, DecodeOptions{Key: key256}},
		{"password", EncodeOptions{Password: "correct horse", Iterations: 1000}, DecodeOptions{Password: "correct horse"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := encodePSKC(t, tokens, c.enc)
			if c.enc.Key != nil || c.enc.Password != "" {
				for _, tok := range tokens {
					if bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(tok.Secret))) {
						t.Fatal("an encrypted export holds a secret in the clear")
					}
				}
				if _, err := Decode(data, DecodeOptions{}); !errors.Is(err, ErrKeyNeeded) {
					t.Fatalf("without the key: %v", err)
				}
			}
			got, err := Decode(data, c.dec)
			if err != nil {
				t.Fatal(err)
			}
			sameTokens(t, got, tokens)
		})
	}
}

func TestPSKCWrongKeyOrTamperingRejectsTheFile(t *testing.T) {
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	tokens := sampleTokens()[:2]
	data := encodePSKC(t, tokens, EncodeOptions{Key: key})
	wrong := bytes.Clone(key)
	wrong[0] ^= 1
	if _, err := Decode(data, DecodeOptions{Key: wrong}); !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrMAC) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := Decode(data, DecodeOptions{Key: key[:8]}); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "needs 16") {
		t.Fatalf("short key: %v", err)
	}
	// Swap the two secrets' ciphertexts: each still decrypts, but its MAC
	// no longer matches.
	f, err := ParsePSKC(data)
	if err != nil {
		t.Fatal(err)
	}
	c0, c1 := f.Keys[0].secret.enc.cipher, f.Keys[1].secret.enc.cipher
	b0, b1 := base64.StdEncoding.EncodeToString(c0), base64.StdEncoding.EncodeToString(c1)
	swapped := strings.NewReplacer(b0, b1, b1, b0).Replace(string(data))
	_, err = Decode([]byte(swapped), DecodeOptions{Key: key})
	if !errors.Is(err, ErrMAC) || !strings.Contains(err.Error(), "KeyPackage 1/Key/Data/Secret") {
		t.Fatalf("tampered file: %v", err)
	}
	if toks, err := Decode([]byte(swapped), DecodeOptions{Key: key, IgnoreMAC: true}); err != nil || len(toks) != 2 {
		t.Fatalf("IgnoreMAC: %v", err)
	}
	if _, err := Decode(encodePSKC(t, tokens, EncodeOptions{Password: "pw", Iterations: 1000}), DecodeOptions{Password: "PW"}); err == nil {
		t.Fatal("a wrong password decrypted")
	}
}

func TestPSKCErrorsNeverShowASecret(t *testing.T) {
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	tokens := sampleTokens()
	for _, data := range [][]byte{encodePSKC(t, tokens, EncodeOptions{}), encodePSKC(t, tokens, EncodeOptions{Key: key})} {
		// Damage every secret in ways the reader must refuse.
		for _, damage := range []func(string) string{
			func(s string) string { return strings.Replace(s, "<SerialNo>", "<SerialNo><Bad>", 1) },
			func(s string) string { return strings.Replace(s, "</Secret>", "</Secrets>", 1) },
			func(s string) string { return strings.Replace(s, `Length="6"`, `Length="six"`, 1) },
			func(s string) string { return strings.Replace(s, "<PlainValue>", "<PlainValue>!!", 1) },
			func(s string) string { return strings.Replace(s, "<xenc:CipherValue>", "<xenc:CipherValue>AAAA", 1) },
		} {
			_, err := Decode([]byte(damage(string(data))), DecodeOptions{Key: key})
			if err == nil {
				continue
			}
			for _, tok := range tokens {
				for _, form := range []string{hex.EncodeToString(tok.Secret), base64.StdEncoding.EncodeToString(tok.Secret)[:12]} {
					if strings.Contains(err.Error(), form) {
						t.Fatalf("error shows a secret: %v", err)
					}
				}
			}
		}
	}
}

func TestAESKeyWrapRFC3394(t *testing.T) {
	// RFC 3394 §4.1 and §4.6: 128-bit data with a 128-bit KEK, 256-bit data with a 256-bit KEK.
	for _, c := range []struct{ kek, data, wrapped string }{
		{"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
			"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		kek, _ := hex.DecodeString(c.kek)
		data, _ := hex.DecodeString(c.data)
		block, _ := aes.NewCipher(kek)
		wrapped, err := wrapKey(block, data)
		if err != nil || !strings.EqualFold(hex.EncodeToString(wrapped), c.wrapped) {
			t.Fatalf("wrap: %X, %v; want %s", wrapped, err, c.wrapped)
		}
		plain, err := unwrapKey(block, wrapped)
		if err != nil || !bytes.Equal(plain, data) {
			t.Fatalf("unwrap: %X, %v", plain, err)
		}
		wrapped[3] ^= 1
		if _, err := unwrapKey(block, wrapped); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("unwrap of a damaged wrap: %v", err)
		}
	}
}

func requirePSKCTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("pskctool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pskctool not found: install it with 'apt-get install pskctool' (make test does this); required when CI=true")
		}
		t.Skip("pskctool not found: apt-get install pskctool")
	}
	return p
}

// TestPSKCExportPassesPskctool checks exports with libpskc, a second
// implementation: --validate must print OK (it exits 0 even when it prints
// FAIL), and for plain exports --info must show our serials and secrets.
func TestPSKCExportPassesPskctool(t *testing.T) {
	tool := requirePSKCTool(t)
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	tokens := sampleTokens()
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		opts EncodeOptions
	}{{"plain", EncodeOptions{}}, {"aes128", EncodeOptions{Key: key}}, {"password", EncodeOptions{Password: "pw", Iterations: 1000}}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".pskcxml")
			if err := os.WriteFile(path, encodePSKC(t, tokens, c.opts), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, tool, "--validate", path)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || strings.TrimSpace(stdout.String()) != "OK" {
				t.Fatalf("pskctool --validate: %v: %s %s", err, stdout.String(), stderr.String())
			}
			if c.opts.Key != nil || c.opts.Password != "" {
				return // libpskc cannot decrypt: our own import proves these
			}
			info, err := exec.CommandContext(ctx, tool, "--info", path).Output()
			if err != nil {
				t.Fatalf("pskctool --info: %v: %s", err, info)
			}
			for _, tok := range tokens {
				if !strings.Contains(string(info), "SerialNo: "+tok.Serial+"\n") {
					t.Errorf("pskctool --info does not show serial %s", tok.Serial)
				}
				if !strings.Contains(string(info), "Key Secret (base64): "+base64.StdEncoding.EncodeToString(tok.Secret)+"\n") {
					t.Errorf("pskctool --info does not show the secret of %s", tok.Serial)
				}
			}
		})
	}
}

func TestEncodePSKCRefusesBadOptions(t *testing.T) {
	var b bytes.Buffer
	if err := EncodePSKC(&b, sampleTokens()[:1], EncodeOptions{Key: make([]byte, 15)}); err == nil || !strings.Contains(err.Error(), "use 16, 24 or 32") {
		t.Fatalf("15-byte key: %v", err)
	}
	if err := Encode(&b, sampleTokens()[:1], EncodeOptions{Format: CSV, Password: "x"}); err == nil || !strings.Contains(err.Error(), "export as pskc") {
		t.Fatalf("encrypted CSV: %v", err)
	}
	if err := Encode(&b, []Token{{Serial: "X", Digits: 8}}, EncodeOptions{}); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Fatalf("token without a secret: %v", err)
	}
}

// FuzzDecodePSKC feeds the reader mutations of the corpus: it must never
// panic, and what it accepts must survive an export and an import.
func FuzzDecodePSKC(f *testing.F) {
	root := fixture.Path("pskc-corpus")
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".md") && !strings.HasSuffix(path, ".pem") {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b, "12345678901234567890123456789012", "qwerty")
			}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte, keyHex, password string) {
		key, _ := hex.DecodeString(keyHex)
		pf, err := ParsePSKC(data)
		if err != nil {
			return
		}
		if pf.Derivation != nil && pf.Derivation.Iterations > 10_000 {
			password = "" // keep each run fast
		}
		if err := pf.Unlock(DecodeOptions{Key: key, Password: password}); err != nil {
			return
		}
		toks, err := pf.Tokens()
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := EncodePSKC(&b, toks, EncodeOptions{}); err != nil {
			t.Fatalf("re-encoding accepted tokens: %v", err)
		}
		again, err := DecodePSKC(b.Bytes(), DecodeOptions{})
		if err != nil {
			t.Fatalf("re-reading our own export: %v", err)
		}
		sameTokens(t, again, toks)
	})
}

// A hostile file must not make an import expensive: absurd PBKDF2 work and
// absurdly long integers are refused before any work is done.
func TestPSKCRefusesExpensiveInput(t *testing.T) {
	pbkdf2 := `<KeyContainer Version="1.0"><EncryptionKey><DerivedKey><KeyDerivationMethod Algorithm="pbkdf2"><PBKDF2-params><Salt><Specified>AAAA</Specified></Salt><IterationCount>1000001</IterationCount><KeyLength>16</KeyLength></PBKDF2-params></KeyDerivationMethod></DerivedKey></EncryptionKey><KeyPackage><Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><EncryptedValue><EncryptionMethod Algorithm="aes128-cbc"/><CipherData><CipherValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</CipherValue></CipherData></EncryptedValue></Secret></Data></Key></KeyPackage></KeyContainer>`
	if _, err := DecodePSKC([]byte(pbkdf2), DecodeOptions{Password: "x"}); !errors.Is(err, ErrKeyDerivation) || !strings.Contains(err.Error(), "at most 1000000 iterations") {
		t.Fatalf("a million and one iterations: %v", err)
	}
	long := `<KeyContainer Version="1.0"><KeyPackage><Key><Data><Counter><PlainValue>` + strings.Repeat("9", 100_000) + `</PlainValue></Counter></Data></Key></KeyPackage></KeyContainer>`
	if _, err := ParsePSKC([]byte(long)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("a 100000-digit counter: %v", err)
	}
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	if _, err := ParsePSKC([]byte(deep)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("deep nesting: %v", err)
	}
}
