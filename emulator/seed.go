package emulator

import (
	"bytes"
	"fmt"

	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// FromSeed makes the spec of a virtual token from a seed-file token. What a
// seed file says about the token's validity or its server-side drift
// (PSKC TimeDrift) is not part of the device, so it is not carried over: a
// freshly imported virtual token keeps true time until told otherwise.
func FromSeed(t Seed) (Spec, error) {
	s := Spec{
		Serial: t.Serial, Secret: bytes.Clone(t.Secret), Algorithm: t.Algorithm, Digits: t.Digits,
		Period: t.Period, Kind: t.Kind, Counter: t.Counter,
	}
	if s.Period == 0 {
		s.Period = DefaultPeriod
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("token %q: %w", t.Serial, err)
	}
	return s, nil
}

// Seed returns the seed-file form of a token: its identity and secret, never
// its clock's drift or faults (a verification server must discover those,
// as it would with a real token).
func (s Spec) Seed() Seed {
	s = s.withDefaults(s.Created)
	t := seedfile.Token{
		Serial: s.Serial, Manufacturer: "tokenlab", Secret: bytes.Clone(s.Secret), Algorithm: s.Algorithm,
		Digits: s.Digits, Kind: s.Kind, Counter: s.Counter,
	}
	if s.Kind == TOTP {
		t.Period = s.Period
	}
	return t
}
