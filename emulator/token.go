package emulator

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// Defaults of a virtual token, matching the hardware tokens of the guide.
const (
	DefaultDigits = 8
	DefaultPeriod = 30 * time.Second
	// MaxDriftPPM bounds a token's clock rate. Real tokens drift 3–12 ppm;
	// anything beyond ±100000 ppm (10 %) is not a clock any more.
	MaxDriftPPM = 100_000
	// MaxSerialLen bounds a serial number.
	MaxSerialLen = 64
	// MaxSecretLen bounds a secret (the longest HMAC key in use is 64 bytes).
	MaxSecretLen = 128
)

// Kind says what moves a token's code on: time (TOTP) or button presses (HOTP).
type Kind = oath.Kind

const (
	// TOTP is a time-based token (RFC 6238), the default.
	TOTP = oath.TOTP
	// HOTP is an event-based token (RFC 4226): each press advances the counter.
	HOTP = oath.HOTP
)

// Algorithm is the HMAC hash of a token's key.
type Algorithm = oath.Algorithm

// The algorithms RFC 6238 names; SHA1, the zero value, is what nearly every
// hardware token uses.
const (
	SHA1   = oath.SHA1
	SHA256 = oath.SHA256
	SHA512 = oath.SHA512
)

// Clock tells a token the true time; its own clock is that plus its drift.
// Anything with Now fits: a virtual clock a test moves, or the system's.
type Clock interface {
	Now() time.Time
}

// Seed is one token of a seed file (PSKC, OATH CSV or otpauth), as FromSeed
// reads it and Spec.Seed writes it.
type Seed = seedfile.Token

// ParseKind reads "totp" or "hotp" in any case.
func ParseKind(s string) (Kind, error) {
	k, err := oath.ParseKind(s)
	if err != nil {
		return 0, &FieldError{Field: "kind", Value: s, Hint: "use totp or hotp"}
	}
	return k, nil
}

// Drift describes a token's own clock against true time (see
// docs/lifecycle.md, “Its clock”):
//
//	token_time = true_time + Offset + PPM × 1e-6 × (true_time − Start)
//
// A positive PPM runs fast. Start is when the rate began to count; New fills
// a zero Start with the time the token is made.
type Drift struct {
	Offset time.Duration
	PPM    float64
	Start  time.Time
}

// IsZero reports whether the clock keeps true time.
func (d Drift) IsZero() bool { return d.Offset == 0 && d.PPM == 0 }

// TokenTime is the time the token's clock shows at true time t.
func (d Drift) TokenTime(t time.Time) time.Time {
	return t.Add(d.Offset + ppmOf(d.PPM, elapsed(d.Start, t)))
}

// elapsed is t − from in seconds as a float, which does not saturate the way
// a time.Duration does past 292 years.
func elapsed(from, t time.Time) float64 {
	return float64(t.Unix()-from.Unix()) + float64(t.Nanosecond()-from.Nanosecond())/1e9
}

func ppmOf(ppm, seconds float64) time.Duration {
	return time.Duration(math.Round(ppm * seconds * 1e3)) // ppm·1e-6·s·1e9 ns
}

// Faults are the failures a negative test can inject (see docs/lifecycle.md,
// “Faults”). Zero values mean a healthy token; faults combine.
type Faults struct {
	// FrozenAt, when set, is the time the token's clock stopped at: every
	// press shows the code of that moment.
	FrozenAt time.Time
	// ResetAt, when set, is the true time the battery was swapped: from then on
	// the clock counts again from ResetTo (the Unix epoch when zero), still at
	// the token's drift rate.
	ResetAt time.Time
	ResetTo time.Time
	// WrongSecret makes the token compute with a corrupted secret, like a
	// damaged token: its codes look fine and never verify.
	WrongSecret bool
	// DeadButton makes presses not register: Press returns ErrButtonDead.
	DeadButton bool
}

// IsZero reports whether no fault is injected.
func (f Faults) IsZero() bool { return f == Faults{} }

// Names lists the injected faults by their CLI names.
func (f Faults) Names() []string {
	var n []string
	if !f.FrozenAt.IsZero() {
		n = append(n, "frozen")
	}
	if !f.ResetAt.IsZero() {
		n = append(n, "reset")
	}
	if f.WrongSecret {
		n = append(n, "wrong-secret")
	}
	if f.DeadButton {
		n = append(n, "dead-button")
	}
	return n
}

// Spec is everything that makes a virtual token: what is printed on it,
// what is burnt into it, and how its clock and button behave. Zero values
// mean the defaults (TOTP, SHA1, 8 digits, 30 s, a true clock, no faults).
type Spec struct {
	Serial    string
	Secret    []byte
	Algorithm Algorithm
	Digits    int
	Period    time.Duration
	Kind      Kind
	// Counter is the HOTP counter the next press uses.
	Counter uint64
	Drift   Drift
	Faults  Faults
	// Created is when the token was made; New fills it from the clock.
	Created time.Time
}

// Sentinel errors. Validation failures are *FieldError values that wrap
// ErrInvalidToken.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrButtonDead   = errors.New("button did not register (dead-button fault)")
)

// FieldError says which field of a Spec is wrong and what to do about it.
type FieldError struct {
	Field string
	Value any
	Hint  string
}

func (e *FieldError) Error() string {
	if e.Value == nil || e.Value == "" {
		return fmt.Sprintf("invalid %s: %s", e.Field, e.Hint)
	}
	return fmt.Sprintf("invalid %s %v: %s", e.Field, e.Value, e.Hint)
}

// Unwrap makes errors.Is(err, ErrInvalidToken) true.
func (e *FieldError) Unwrap() error { return ErrInvalidToken }

// withDefaults returns s with zero values replaced by defaults.
func (s Spec) withDefaults(now time.Time) Spec {
	if s.Digits == 0 {
		s.Digits = DefaultDigits
	}
	if s.Period == 0 {
		s.Period = DefaultPeriod
	}
	if s.Created.IsZero() {
		s.Created = now
	}
	if s.Drift.Start.IsZero() {
		s.Drift.Start = s.Created
	}
	s.Secret = append([]byte(nil), s.Secret...)
	return s
}

// Validate checks a Spec (after defaults) and returns a *FieldError.
func (s Spec) Validate() error {
	if err := ValidateSerial(s.Serial); err != nil {
		return err
	}
	if len(s.Secret) == 0 || len(s.Secret) > MaxSecretLen {
		return &FieldError{Field: "secret", Hint: fmt.Sprintf("give 1 to %d bytes (20 for SHA1, 32 for SHA256, 64 for SHA512)", MaxSecretLen)}
	}
	if !s.Algorithm.Valid() {
		return &FieldError{Field: "algorithm", Value: s.Algorithm, Hint: "use sha1, sha256 or sha512"}
	}
	if s.Digits != 6 && s.Digits != 8 {
		return &FieldError{Field: "digits", Value: s.Digits, Hint: "use 6 or 8"}
	}
	if err := oath.CheckPeriod(s.Period); err != nil {
		return &FieldError{Field: "period", Value: s.Period, Hint: "use a whole number of seconds, 30 or 60 on hardware tokens"}
	}
	if !s.Kind.Valid() {
		return &FieldError{Field: "kind", Value: s.Kind, Hint: "use totp or hotp"}
	}
	if math.IsNaN(s.Drift.PPM) || math.Abs(s.Drift.PPM) > MaxDriftPPM {
		return &FieldError{Field: "drift ppm", Value: s.Drift.PPM, Hint: fmt.Sprintf("use a rate between -%d and %d", MaxDriftPPM, MaxDriftPPM)}
	}
	if s.Kind == HOTP && (!s.Drift.IsZero() || !s.Faults.FrozenAt.IsZero() || !s.Faults.ResetAt.IsZero()) {
		return &FieldError{Field: "drift", Hint: "an HOTP token has no clock: drift, frozen and reset apply to TOTP tokens only"}
	}
	return nil
}

// ValidateSerial checks a serial number: 1 to 64 letters, digits, '.', '_' or '-'.
func ValidateSerial(serial string) error {
	if serial == "" {
		return &FieldError{Field: "serial", Hint: "give the serial number printed on the token"}
	}
	if len(serial) > MaxSerialLen {
		return &FieldError{Field: "serial", Value: serial[:16] + "…", Hint: fmt.Sprintf("use at most %d characters", MaxSerialLen)}
	}
	for _, r := range serial {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return &FieldError{Field: "serial", Value: fmt.Sprintf("%q", serial), Hint: "use letters, digits, '.', '_' and '-' only"}
		}
	}
	return nil
}

// RandomSerial makes a serial like the ones printed on virtual tokens: VIRT
// and 13 random digits, for a token made without one.
func RandomSerial() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1e13))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%013d", DefaultSerialPrefix, n), nil
}

// Token is a virtual hardware token. It is safe for concurrent use: two
// presses of an HOTP token never show the same counter.
type Token struct {
	clk Clock

	mu    sync.Mutex
	spec  Spec
	gen   *oath.Generator // the true secret
	wrong *oath.Generator // the corrupted secret of the WrongSecret fault
}

// New makes a token from spec, filling defaults; clk is the true time.
func New(spec Spec, clk Clock) (*Token, error) {
	if clk == nil {
		clk = clock.System{}
	}
	spec = spec.withDefaults(clk.Now())
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	gen, err := oath.NewGenerator(spec.Secret, spec.Algorithm, spec.Digits)
	if err != nil {
		return nil, err
	}
	wrong, err := oath.NewGenerator(corrupt(spec.Secret), spec.Algorithm, spec.Digits)
	if err != nil {
		return nil, err
	}
	return &Token{clk: clk, spec: spec, gen: gen, wrong: wrong}, nil
}

// corrupt flips bits in every byte, as a damaged seed memory would.
func corrupt(secret []byte) []byte {
	c := make([]byte, len(secret))
	for i, b := range secret {
		c[i] = b ^ 0xa5
	}
	return c
}

// Serial is the number printed on the back of the token.
func (t *Token) Serial() string { return t.spec.Serial }

// Spec returns a copy of the token's current spec (its counter included), the
// form a store saves.
func (t *Token) Spec() Spec {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.spec
	s.Secret = append([]byte(nil), s.Secret...)
	return s
}

// SetDrift replaces the token's clock drift; a zero Start means now.
func (t *Token) SetDrift(d Drift) error {
	return t.change(func(s *Spec, now time.Time) {
		s.Drift = d
		if s.Drift.Start.IsZero() {
			s.Drift.Start = now
		}
	})
}

// SetFaults replaces the injected faults; Faults{} heals the token.
func (t *Token) SetFaults(f Faults) error {
	return t.change(func(s *Spec, _ time.Time) { s.Faults = f })
}

// Freeze stops the token's clock at the time it shows now.
func (t *Token) Freeze() error {
	return t.change(func(s *Spec, now time.Time) { s.Faults.FrozenAt = t.tokenTime(now) })
}

// ResetClock swaps the battery now: the clock starts again from the Unix epoch.
func (t *Token) ResetClock() error {
	return t.change(func(s *Spec, now time.Time) {
		s.Faults.FrozenAt = time.Time{}
		s.Faults.ResetAt, s.Faults.ResetTo = now, time.Time{}
	})
}

// change applies edit to a copy of the spec and keeps it only if it is valid.
func (t *Token) change(edit func(s *Spec, now time.Time)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.spec
	edit(&s, t.clk.Now())
	if err := s.Validate(); err != nil {
		return err
	}
	t.spec = s
	return nil
}

// TokenTime is what the token's clock shows at true time now.
func (t *Token) TokenTime(now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tokenTime(now)
}

func (t *Token) tokenTime(now time.Time) time.Time {
	f, d := t.spec.Faults, t.spec.Drift
	if !f.FrozenAt.IsZero() {
		return f.FrozenAt
	}
	if !f.ResetAt.IsZero() && !now.Before(f.ResetAt) {
		base := f.ResetTo
		if base.IsZero() {
			base = time.Unix(0, 0)
		}
		return base.Add(now.Sub(f.ResetAt) + ppmOf(d.PPM, elapsed(f.ResetAt, now)))
	}
	return d.TokenTime(now)
}

// Display is what the token shows after a press.
type Display struct {
	Serial string
	Code   string
	Kind   Kind
	// Step is the token's own TOTP time step, or the HOTP counter the code
	// was made from.
	Step uint64
	// TokenTime is the time on the token's clock at the press (TOTP only).
	TokenTime time.Time
	// ValidFor is how much true time is left before the token moves on to
	// the next step, by the token's own clock (and rate); a frozen token's
	// countdown stands still. Zero for HOTP: an event code stays valid until
	// it is used or a later code is.
	ValidFor time.Duration
}

// Press presses the button now.
func (t *Token) Press() (Display, error) { return t.PressAt(t.clk.Now()) }

// PressAt presses the button at true time now: TOTP shows the code of the
// token's current step (twice in one step shows the same code); HOTP shows
// the code of the next counter and advances it.
func (t *Token) PressAt(now time.Time) (Display, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.spec.Faults.DeadButton {
		return Display{}, ErrButtonDead
	}
	gen := t.gen
	if t.spec.Faults.WrongSecret {
		gen = t.wrong
	}
	d := Display{Serial: t.spec.Serial, Kind: t.spec.Kind}
	if t.spec.Kind == HOTP {
		d.Step = t.spec.Counter
		d.Code = gen.Code(d.Step)
		t.spec.Counter++
		return d, nil
	}
	d.TokenTime = t.tokenTime(now)
	step, into, err := oath.TimeStep(d.TokenTime, t.spec.Period)
	if err != nil {
		return Display{}, fmt.Errorf("token %s: its clock shows %s: %w", t.spec.Serial, d.TokenTime.UTC().Format(time.RFC3339), err)
	}
	d.Step, d.Code = step, gen.Code(step)
	left := t.spec.Period - into
	if t.spec.Faults.FrozenAt.IsZero() {
		// The token's seconds pass (1 + ppm·1e-6) times faster than true ones.
		left = time.Duration(float64(left) / (1 + t.spec.Drift.PPM*1e-6))
	}
	d.ValidFor = left
	return d, nil
}

// PressConsecutive gives the two consecutive codes a user types to activate
// or resynchronise a token (press, wait for the next code, press again).
// For TOTP they are taken as the codes of the step before true time now and
// of now, so that no time has to pass; an HOTP token is pressed twice.
func (t *Token) PressConsecutive(now time.Time) ([2]Display, error) {
	t.mu.Lock()
	before := now
	if t.spec.Kind == TOTP {
		before = now.Add(-t.spec.Period)
	}
	t.mu.Unlock()
	first, err := t.PressAt(before)
	if err != nil {
		return [2]Display{}, err
	}
	second, err := t.PressAt(now)
	if err != nil {
		return [2]Display{}, err
	}
	return [2]Display{first, second}, nil
}
