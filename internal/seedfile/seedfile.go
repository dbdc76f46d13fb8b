// Package seedfile reads and writes the files that carry token seeds: PSKC
// (RFC 6030) from token vendors, the OATH CSV layout that the common open OTP
// servers import, and otpauth:// URIs.
//
// It is the common ground of the emulator and the verification server: both
// turn a seed file into Tokens, and neither imports the other. A Token is a
// seed as a file carries it, not a virtual token and not a server record.
//
// Secrets never appear in an error message: errors name the file's line or
// element and the field, never a seed's value.
package seedfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// Token is one seed with what the file says about it.
type Token struct {
	// Serial is the number printed on the token (PSKC DeviceInfo/SerialNo,
	// the CSV's first column, the otpauth account name).
	Serial       string
	Manufacturer string
	Issuer       string
	// KeyID is the PSKC Key Id, when the file has one.
	KeyID     string
	Kind      oath.Kind
	Algorithm oath.Algorithm
	Digits    int
	// Period is the TOTP time step (zero: 30 s).
	Period time.Duration
	// Counter is the HOTP counter of the next code.
	Counter uint64
	// DriftSteps is the clock drift the file records, in time steps (PSKC TimeDrift).
	DriftSteps int64
	Secret     []byte
	// NotBefore and NotAfter are the key's validity (PSKC Policy StartDate and ExpiryDate).
	NotBefore, NotAfter time.Time
}

// Validate checks what every consumer needs: a serial, a secret, a known
// algorithm, 6 to 10 digits and a whole-second period.
func (t Token) Validate() error {
	if strings.TrimSpace(t.Serial) == "" {
		return errors.New("no serial number")
	}
	if len(t.Secret) == 0 {
		return errors.New("no secret")
	}
	if !t.Algorithm.Valid() {
		return fmt.Errorf("%w %d", oath.ErrAlgorithm, t.Algorithm)
	}
	if !t.Kind.Valid() {
		return fmt.Errorf("%w %d", oath.ErrKind, t.Kind)
	}
	if err := oath.CheckDigits(t.Digits); err != nil {
		return err
	}
	if t.Kind == oath.TOTP {
		if err := oath.CheckPeriod(t.period()); err != nil {
			return err
		}
	}
	return nil
}

func (t Token) period() time.Duration {
	if t.Period == 0 {
		return 30 * time.Second
	}
	return t.Period
}

// Format is a seed file format.
type Format uint8

// The formats. Auto detects the format from the content.
const (
	Auto Format = iota
	PSKC
	CSV
	OTPAuth
)

// String returns the format's command-line name.
func (f Format) String() string {
	switch f {
	case PSKC:
		return "pskc"
	case CSV:
		return "csv"
	case OTPAuth:
		return "otpauth"
	}
	return "auto"
}

// ParseFormat reads auto, pskc, csv or otpauth.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "pskc", "xml":
		return PSKC, nil
	case "csv":
		return CSV, nil
	case "otpauth", "uri":
		return OTPAuth, nil
	}
	return Auto, fmt.Errorf("unknown seed file format %q: use auto, pskc, csv or otpauth", s)
}

// Detect tells the format of data: XML is PSKC, a first line that starts
// with otpauth:// is otpauth, anything else is CSV.
func Detect(data []byte) Format {
	d := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d = bytes.TrimLeft(d, " \t\r\n")
	if bytes.HasPrefix(d, []byte("<")) {
		return PSKC
	}
	for _, line := range strings.Split(string(d), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(strings.ToLower(line), "otpauth://") {
			return OTPAuth
		}
		break
	}
	return CSV
}

// Errors. Every decoding error wraps one of these, so callers can tell a
// broken file from a missing key or an algorithm tokenlab does not emulate.
var (
	// ErrMalformed: the file is not a valid seed file of its format.
	ErrMalformed = errors.New("malformed seed file")
	// ErrUnsupported: valid, but uses something tokenlab does not emulate or decrypt.
	ErrUnsupported = errors.New("unsupported")
	// ErrKeyNeeded: the secrets are encrypted and no key or password was given.
	ErrKeyNeeded = errors.New("the secrets are encrypted: a decryption key or password is needed")
	// ErrDecrypt: the key or password is wrong, or a ciphertext is damaged.
	ErrDecrypt = errors.New("cannot decrypt")
	// ErrMAC: a ValueMAC does not match, or an encrypted value of a file that
	// declares a MACMethod has none: the file was altered or the key is wrong.
	ErrMAC = errors.New("MAC mismatch")
)

// Error locates a decoding error in a file. It never holds a secret.
type Error struct {
	Format Format
	// Where is a line number ("line 3") or an element path ("KeyPackage 2/Key/Data/Secret").
	Where string
	Err   error
}

func (e *Error) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("%s: %v", e.Format, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Format, e.Where, e.Err)
}

// Unwrap returns the sentinel or cause.
func (e *Error) Unwrap() error { return e.Err }

// DecodeOptions says how to read a file. Zero values mean: detect the
// format, no key, and refuse a file whose MAC does not match.
type DecodeOptions struct {
	Format Format
	// Key is the pre-shared key of an encrypted PSKC file.
	Key []byte
	// Password derives the key of a PBKDF2-protected PSKC file.
	Password string
	// IV is the initialisation vector for PSKC files whose ciphertexts do not
	// start with one (rare; most files prepend it).
	IV []byte
	// IgnoreMAC reads secrets even when their ValueMAC does not match or is
	// missing. Only for salvaging a damaged file: by default one bad or
	// missing MAC rejects the file.
	IgnoreMAC bool
}

// Decode reads every token of a seed file.
func Decode(data []byte, opts DecodeOptions) ([]Token, error) {
	f := opts.Format
	if f == Auto {
		f = Detect(data)
	}
	switch f {
	case PSKC:
		return DecodePSKC(data, opts)
	case CSV:
		return DecodeCSV(data)
	case OTPAuth:
		return DecodeOTPAuth(data)
	}
	return nil, fmt.Errorf("unknown seed file format %d", f)
}

// EncodeOptions says how to write a file. For PSKC, Key or Password
// encrypts the secrets (AES-128-CBC with an HMAC-SHA256 ValueMAC; PBKDF2
// with Iterations for a password); with neither they are written in the
// clear. CSV and otpauth are always clear text.
type EncodeOptions struct {
	Format     Format
	Key        []byte
	Password   string
	Iterations int // PBKDF2 iterations; zero means 100000
}

// Encode writes tokens in a format (Auto means PSKC).
func Encode(w io.Writer, tokens []Token, opts EncodeOptions) error {
	for i, t := range tokens {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("token %d (%s): %w", i+1, t.Serial, err)
		}
	}
	if opts.Format != PSKC && opts.Format != Auto && (opts.Key != nil || opts.Password != "") {
		return fmt.Errorf("%s files cannot be encrypted: export as pskc to encrypt", opts.Format)
	}
	switch opts.Format {
	case PSKC, Auto:
		return EncodePSKC(w, tokens, opts)
	case CSV:
		return EncodeCSV(w, tokens)
	case OTPAuth:
		return EncodeOTPAuth(w, tokens)
	}
	return fmt.Errorf("unknown seed file format %d", opts.Format)
}
