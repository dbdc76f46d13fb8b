// Package oath computes HOTP (RFC 4226) and TOTP (RFC 6238) values.
//
// It is the OTP maths shared by the virtual tokens (emulator) and the
// verification server, so that neither imports the other. A Generator decodes
// its key once and keeps the keyed HMAC state, so computing a value allocates
// nothing; github.com/pquerna/otp is the reference it is tested and benchmarked
// against (see oath_test.go), and oathtool is the second implementation.
package oath

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
)

// Algorithm is the HMAC hash of an OATH key.
type Algorithm uint8

// The algorithms RFC 6238 names. SHA1 is the zero value and the default, as on
// nearly every hardware token.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

// Limits on the number of digits. Hardware tokens show 6 or 8; RFC 4226 asks
// for at least 6 and the 31-bit truncated value has at most 10.
const (
	MinDigits = 6
	MaxDigits = 10
)

// ErrAlgorithm is returned for an algorithm name that is not SHA1, SHA256 or SHA512.
var ErrAlgorithm = errors.New("unknown algorithm")

// ParseAlgorithm reads an algorithm name: sha1, sha256 or sha512, in any case,
// with or without a dash or an "hmac" prefix.
func ParseAlgorithm(s string) (Algorithm, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.TrimPrefix(n, "hmac")
	n = strings.NewReplacer("-", "", "_", "").Replace(n)
	switch n {
	case "sha1":
		return SHA1, nil
	case "sha256":
		return SHA256, nil
	case "sha512":
		return SHA512, nil
	}
	return 0, fmt.Errorf("%w %q: use sha1, sha256 or sha512", ErrAlgorithm, s)
}

// String returns the lower-case name used on the command line and in files.
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	case SHA512:
		return "sha512"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// Valid reports whether a is one of the three algorithms.
func (a Algorithm) Valid() bool { return a <= SHA512 }

// KeySize is the secret length RFC 6238 uses for a: the hash's output size.
func (a Algorithm) KeySize() int {
	switch a {
	case SHA256:
		return 32
	case SHA512:
		return 64
	}
	return 20
}

// MarshalText implements encoding.TextMarshaler.
func (a Algorithm) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("%w %d", ErrAlgorithm, a)
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := ParseAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

func (a Algorithm) newHash() func() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return sha1.New
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// CheckDigits returns an error unless MinDigits <= digits <= MaxDigits.
func CheckDigits(digits int) error {
	if digits < MinDigits || digits > MaxDigits {
		return fmt.Errorf("digits %d out of range: use %d to %d", digits, MinDigits, MaxDigits)
	}
	return nil
}

// Generator computes the OATH values of one key. It keeps the keyed HMAC
// state, so each value costs two hash compressions and no allocation. It is
// safe for concurrent use.
type Generator struct {
	digits int
	mod    uint64

	mu  sync.Mutex
	mac hash.Hash
	msg [8]byte
	sum [sha512.Size]byte
}

// NewGenerator returns a Generator for secret. The secret is copied into the
// HMAC state; the caller may clear its own copy afterwards.
func NewGenerator(secret []byte, alg Algorithm, digits int) (*Generator, error) {
	if len(secret) == 0 {
		return nil, errors.New("secret is empty")
	}
	if !alg.Valid() {
		return nil, fmt.Errorf("%w %d", ErrAlgorithm, alg)
	}
	if err := CheckDigits(digits); err != nil {
		return nil, err
	}
	return &Generator{digits: digits, mod: pow10[digits], mac: hmac.New(alg.newHash(), secret)}, nil
}

// Digits is the number of digits of the generator's codes.
func (g *Generator) Digits() int { return g.digits }

// Value returns the HOTP value for counter (RFC 4226 §5.3): the dynamically
// truncated HMAC modulo 10^digits. For TOTP, counter is the time step.
func (g *Generator) Value(counter uint64) uint64 {
	g.mu.Lock()
	binary.BigEndian.PutUint64(g.msg[:], counter)
	g.mac.Reset()
	g.mac.Write(g.msg[:])
	sum := g.mac.Sum(g.sum[:0])
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	g.mu.Unlock()
	return uint64(bin) % g.mod
}

// Code returns Value(counter) as a zero-padded decimal string.
func (g *Generator) Code(counter uint64) string { return Format(g.Value(counter), g.digits) }

// Format writes value as a decimal string of exactly digits characters,
// padded with leading zeros.
func Format(value uint64, digits int) string {
	var buf [MaxDigits]byte
	if digits > MaxDigits {
		digits = MaxDigits
	}
	for i := digits - 1; i >= 0; i-- {
		buf[i] = byte('0' + value%10)
		value /= 10
	}
	return string(buf[:digits])
}

// ErrBeforeEpoch is returned for a time before the Unix epoch, where TOTP has
// no time step.
var ErrBeforeEpoch = errors.New("time is before the Unix epoch (1970-01-01T00:00:00Z)")

// TimeStep returns the TOTP counter for t (RFC 6238 §4.2, with T0 = 0):
// floor(unix seconds / period), and how far into that step t is. The period
// must be a positive whole number of seconds.
func TimeStep(t time.Time, period time.Duration) (step uint64, into time.Duration, err error) {
	if err := CheckPeriod(period); err != nil {
		return 0, 0, err
	}
	if t.Before(time.Unix(0, 0)) {
		return 0, 0, ErrBeforeEpoch
	}
	// Whole seconds, so dates far from 1970 do not overflow a Duration.
	sec, p := t.Unix(), int64(period/time.Second)
	return uint64(sec / p), time.Duration(sec%p)*time.Second + time.Duration(t.Nanosecond()), nil
}

// CheckPeriod returns an error unless period is a positive whole number of seconds.
func CheckPeriod(period time.Duration) error {
	if period < time.Second || period%time.Second != 0 {
		return fmt.Errorf("period %v must be a positive whole number of seconds (30 or 60 on hardware tokens)", period)
	}
	return nil
}
