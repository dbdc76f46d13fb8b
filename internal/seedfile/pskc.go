package seedfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// DecodePSKC reads the HOTP and TOTP tokens of a PSKC file: ParsePSKC,
// Unlock with opts, then Tokens.
func DecodePSKC(data []byte, opts DecodeOptions) ([]Token, error) {
	f, err := ParsePSKC(data)
	if err != nil {
		return nil, err
	}
	if err := f.Unlock(opts); err != nil {
		return nil, err
	}
	return f.Tokens()
}

// URNs of the key algorithms tokenlab emulates (RFC 6030 §10.2; older files
// write '#' for the last ':').
const (
	urnHOTP = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
	urnTOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
)

func keyKind(alg string) (oath.Kind, string) {
	a := strings.ToLower(alg)
	i := strings.LastIndexAny(a, ":#")
	name := a[i+1:]
	switch name {
	case "hotp":
		return oath.HOTP, name
	case "totp":
		return oath.TOTP, name
	}
	return 0, name
}

// Tokens turns the file's HOTP and TOTP keys into Tokens. PIN keys are not
// tokens and are left out. Any other key — OCRA, SecurID, YubiKey AES, a key
// whose policy tokenlab does not understand, a secret it could not decrypt —
// refuses the whole file with an error that names the key, so that an import
// never loads half a shipment.
func (f *PSKCFile) Tokens() ([]Token, error) {
	var out []Token
	for _, k := range f.Keys {
		kind, name := keyKind(k.Algorithm)
		if name == "pin" {
			continue
		}
		fail := func(err error) ([]Token, error) {
			return nil, &Error{Format: PSKC, Where: k.where + idSuffix(k), Err: err}
		}
		if name != "hotp" && name != "totp" {
			alg := k.Algorithm
			if alg == "" {
				alg = "(none)"
			}
			return fail(fmt.Errorf("%w: key algorithm %s: tokenlab emulates HOTP and TOTP tokens only", ErrUnsupported, alg))
		}
		if k.UnknownPolicyElements {
			return fail(fmt.Errorf("%w: the key's Policy has elements tokenlab does not know, and RFC 6030 says such a key must not be used", ErrUnsupported))
		}
		if k.Secret == nil {
			if k.secret != nil && k.secret.enc != nil && !f.unlocked {
				return fail(ErrKeyNeeded)
			}
			return fail(fmt.Errorf("%w: the key has no secret", ErrMalformed))
		}
		if enc := strings.ToUpper(k.Encoding); enc != "" && enc != "DECIMAL" {
			return fail(fmt.Errorf("%w: response encoding %s: tokenlab emulates decimal codes", ErrUnsupported, k.Encoding))
		}
		t := Token{
			Serial: k.Serial, Manufacturer: k.Manufacturer, Issuer: k.Issuer, KeyID: k.ID,
			Kind: kind, Digits: k.Digits, Secret: bytes.Clone(k.Secret),
			NotBefore: k.StartDate, NotAfter: k.ExpiryDate,
		}
		if t.Serial == "" {
			t.Serial = k.ID
		}
		if t.Digits == 0 {
			t.Digits = 6 // the OATH default when the file gives no ResponseFormat
		}
		if k.Suite != "" {
			alg, err := oath.ParseAlgorithm(k.Suite)
			if err != nil {
				return fail(fmt.Errorf("%w: suite %q: use HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512", ErrUnsupported, k.Suite))
			}
			t.Algorithm = alg
		}
		if k.Counter != nil {
			t.Counter = *k.Counter
		}
		if k.TimeInterval != nil {
			if *k.TimeInterval == 0 || *k.TimeInterval > 86400 {
				return fail(fmt.Errorf("%w: TimeInterval %d: use 1 to 86400 seconds", ErrMalformed, *k.TimeInterval))
			}
			t.Period = time.Duration(*k.TimeInterval) * time.Second
		}
		if k.TimeDrift != nil {
			t.DriftSteps = *k.TimeDrift
		}
		if err := t.Validate(); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrMalformed, err))
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, &Error{Format: PSKC, Err: fmt.Errorf("%w: the file holds no HOTP or TOTP key", ErrMalformed)}
	}
	return out, nil
}

func idSuffix(k *PSKCKey) string {
	if k.ID == "" {
		return ""
	}
	return fmt.Sprintf(" (Id %q)", k.ID)
}

// DefaultPBKDF2Iterations is what EncodePSKC uses for a password when
// EncodeOptions.Iterations is zero.
const DefaultPBKDF2Iterations = 100_000

// EncodePSKC writes tokens as an RFC 6030 KeyContainer, one KeyPackage per
// token. With opts.Key (16, 24 or 32 bytes: AES-128/192/256-CBC) or
// opts.Password (PBKDF2-HMAC-SHA1 to an AES-128 key) every secret is
// encrypted, and an HMAC-SHA256 ValueMAC under a random MAC key (itself
// encrypted in MACMethod/MACKey) protects it; otherwise secrets are written
// as plain base64.
func EncodePSKC(w io.Writer, tokens []Token, opts EncodeOptions) error {
	if opts.Key != nil && opts.Password != "" {
		return fmt.Errorf("give a key or a password, not both")
	}
	e := &pskcWriter{}
	var header strings.Builder
	encAlg := ""
	switch {
	case opts.Password != "":
		iter := opts.Iterations
		if iter == 0 {
			iter = DefaultPBKDF2Iterations
		}
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
		key, err := pbkdf2.Key(sha1.New, opts.Password, salt, iter, 16)
		if err != nil {
			return err
		}
		e.key, encAlg = key, uriAES128CBC
		fmt.Fprintf(&header, `  <EncryptionKey>
    <xenc11:DerivedKey>
      <xenc11:KeyDerivationMethod Algorithm="%s">
        <pkcs5:PBKDF2-params>
          <Salt><Specified>%s</Specified></Salt>
          <IterationCount>%d</IterationCount>
          <KeyLength>16</KeyLength>
        </pkcs5:PBKDF2-params>
      </xenc11:KeyDerivationMethod>
      <xenc11:MasterKeyName>Passphrase</xenc11:MasterKeyName>
    </xenc11:DerivedKey>
  </EncryptionKey>
`, uriPBKDF2, base64.StdEncoding.EncodeToString(salt), iter)
	case opts.Key != nil:
		switch len(opts.Key) {
		case 16, 24, 32:
			encAlg = fmt.Sprintf("%saes%d-cbc", uriXMLEnc, len(opts.Key)*8)
		default:
			return fmt.Errorf("the encryption key is %d bytes: use 16, 24 or 32 (AES-128, -192 or -256)", len(opts.Key))
		}
		e.key = opts.Key
		header.WriteString("  <EncryptionKey>\n    <ds:KeyName>Pre-shared-key</ds:KeyName>\n  </EncryptionKey>\n")
	}
	if e.key != nil {
		e.alg = encAlg
		e.macKey = make([]byte, 32)
		if _, err := rand.Read(e.macKey); err != nil {
			return err
		}
		mk, err := e.encrypt(e.macKey)
		if err != nil {
			return err
		}
		// MACKey is itself an xenc EncryptedDataType: no EncryptedValue wrapper.
		fmt.Fprintf(&header, "  <MACMethod Algorithm=\"%s\">\n    <MACKey>\n%s    </MACKey>\n  </MACMethod>\n", uriHMAC256, e.cipherElements(mk, "      "))
	}

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"`)
	if e.key != nil {
		b.WriteString(` xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"`)
	}
	if opts.Password != "" {
		b.WriteString(` xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#"`)
	}
	b.WriteString(">\n")
	b.WriteString(header.String())
	for _, t := range tokens {
		if err := e.keyPackage(&b, t); err != nil {
			return err
		}
	}
	b.WriteString("</KeyContainer>\n")
	_, err := w.Write(b.Bytes())
	return err
}

type pskcWriter struct {
	key, macKey []byte
	alg         string
}

// encrypt is AES-CBC with a random IV prepended and XML Encryption padding.
func (e *pskcWriter) encrypt(plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(e.key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	n := bs - len(plain)%bs
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	out := make([]byte, bs+len(padded))
	if _, err := rand.Read(out[:bs]); err != nil {
		return nil, err
	}
	cipher.NewCBCEncrypter(block, out[:bs]).CryptBlocks(out[bs:], padded)
	return out, nil
}

func (e *pskcWriter) cipherElements(ct []byte, indent string) string {
	return fmt.Sprintf("%s<xenc:EncryptionMethod Algorithm=\"%s\"/>\n%s<xenc:CipherData>\n%s  <xenc:CipherValue>%s</xenc:CipherValue>\n%s</xenc:CipherData>\n",
		indent, e.alg, indent, indent, base64.StdEncoding.EncodeToString(ct), indent)
}

func (e *pskcWriter) encryptedValue(ct []byte, indent string) string {
	return indent + "<EncryptedValue>\n" + e.cipherElements(ct, indent+"  ") + indent + "</EncryptedValue>\n"
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (e *pskcWriter) keyPackage(b *bytes.Buffer, t Token) error {
	b.WriteString("  <KeyPackage>\n    <DeviceInfo>\n")
	if t.Manufacturer != "" {
		fmt.Fprintf(b, "      <Manufacturer>%s</Manufacturer>\n", esc(t.Manufacturer))
	}
	fmt.Fprintf(b, "      <SerialNo>%s</SerialNo>\n    </DeviceInfo>\n", esc(t.Serial))
	id := t.KeyID
	if id == "" {
		id = t.Serial
	}
	urn := urnTOTP
	if t.Kind == oath.HOTP {
		urn = urnHOTP
	}
	fmt.Fprintf(b, "    <Key Id=\"%s\" Algorithm=\"%s\">\n", esc(id), urn)
	if t.Issuer != "" {
		fmt.Fprintf(b, "      <Issuer>%s</Issuer>\n", esc(t.Issuer))
	}
	fmt.Fprintf(b, "      <AlgorithmParameters>\n        <Suite>HMAC-%s</Suite>\n        <ResponseFormat Length=\"%d\" Encoding=\"DECIMAL\"/>\n      </AlgorithmParameters>\n",
		strings.ToUpper(t.Algorithm.String()), t.Digits)
	b.WriteString("      <Data>\n        <Secret>\n")
	if e.key == nil {
		fmt.Fprintf(b, "          <PlainValue>%s</PlainValue>\n", base64.StdEncoding.EncodeToString(t.Secret))
	} else {
		ct, err := e.encrypt(t.Secret)
		if err != nil {
			return err
		}
		mac := hmac.New(sha256.New, e.macKey)
		mac.Write(ct)
		b.WriteString(e.encryptedValue(ct, "          "))
		fmt.Fprintf(b, "          <ValueMAC>%s</ValueMAC>\n", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	b.WriteString("        </Secret>\n")
	if t.Kind == oath.HOTP {
		fmt.Fprintf(b, "        <Counter><PlainValue>%d</PlainValue></Counter>\n", t.Counter)
	} else {
		fmt.Fprintf(b, "        <Time><PlainValue>0</PlainValue></Time>\n        <TimeInterval><PlainValue>%d</PlainValue></TimeInterval>\n", int64(t.period()/time.Second))
		if t.DriftSteps != 0 {
			fmt.Fprintf(b, "        <TimeDrift><PlainValue>%s</PlainValue></TimeDrift>\n", strconv.FormatInt(t.DriftSteps, 10))
		}
	}
	b.WriteString("      </Data>\n")
	if !t.NotBefore.IsZero() || !t.NotAfter.IsZero() {
		b.WriteString("      <Policy>\n")
		if !t.NotBefore.IsZero() {
			fmt.Fprintf(b, "        <StartDate>%s</StartDate>\n", t.NotBefore.UTC().Format(time.RFC3339))
		}
		if !t.NotAfter.IsZero() {
			fmt.Fprintf(b, "        <ExpiryDate>%s</ExpiryDate>\n", t.NotAfter.UTC().Format(time.RFC3339))
		}
		b.WriteString("      </Policy>\n")
	}
	b.WriteString("    </Key>\n  </KeyPackage>\n")
	return nil
}
