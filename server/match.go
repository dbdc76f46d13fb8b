package server

import (
	"crypto/subtle"
	"encoding/binary"
	"math"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// generator returns the token's decoded seed, cached.
func (s *Server) generator(t *Token) (*oath.Generator, error) {
	s.gensMu.Lock()
	defer s.gensMu.Unlock()
	if g, ok := s.gens[t.Serial]; ok {
		return g, nil
	}
	secret, err := s.sealer.open(t.Serial, t.SealedSecret)
	if err != nil {
		return nil, err
	}
	g, err := oath.NewGenerator(secret, t.Algorithm, t.Digits)
	clear(secret)
	if err != nil {
		return nil, err
	}
	s.gens[t.Serial] = g
	return g, nil
}

// parseCode reads a code of the token's length; a malformed one is a bad
// request, not a wrong code.
func (s *Server) parseCode(t *Token, code string) (uint64, error) {
	if len(code) != t.Digits {
		return 0, s.refuse(CodeBadRequest, "the code must be %d digits", t.Digits)
	}
	var v uint64
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return 0, s.refuse(CodeBadRequest, "the code must be %d digits", t.Digits)
		}
		v = v*10 + uint64(c-'0')
	}
	return v, nil
}

// equal compares two code values in constant time.
func equal(a, b uint64) bool {
	var x, y [8]byte
	binary.BigEndian.PutUint64(x[:], a)
	binary.BigEndian.PutUint64(y[:], b)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// step is the server's current step for a TOTP token (0 for HOTP, which
// has no clock).
func (t *Token) step(now time.Time) int64 {
	if t.Kind == oath.HOTP || t.PeriodS <= 0 {
		return 0
	}
	return now.Unix() / t.PeriodS
}

// nearest is the i-th step of a search around center, nearest first
// (center, -1, +1, -2, +2, …), so that when a code matches twice the closer
// step wins. i runs from 0 to 2×radius. Past math.MaxInt64 center+d wraps
// negative, and the matchers skip negative steps: a window at the end of
// the range is cut there.
func nearest(center int64, i int) int64 {
	d := int64(i+1) / 2
	if i%2 == 1 {
		return center - d
	}
	return center + d
}

// MatchCode looks for code among the 2×radius+1 steps around center: it
// returns the matching step later than last, or reports a match only at
// steps up to last (a replay). It allocates nothing.
func MatchCode(gen *oath.Generator, code uint64, center int64, radius int, last int64) (step int64, ok, replayed bool) {
	for i := range 2*radius + 1 {
		st := nearest(center, i)
		if st < 0 || !equal(gen.Value(uint64(st)), code) {
			continue
		}
		if st <= last {
			replayed = true
			continue
		}
		return st, true, false
	}
	return 0, false, replayed
}

// MatchPair looks for two consecutive codes, the first among 2×radius+1
// steps around center, after last; it returns the second code's step. A
// first step of math.MaxInt64 has no next step an int64 holds, so it is
// never a pair's (a step past it would wrap negative).
func MatchPair(gen *oath.Generator, c1, c2 uint64, center int64, radius int, last int64) (step int64, ok, replayed bool) {
	for i := range 2*radius + 1 {
		s1 := nearest(center, i)
		if s1 < 0 || s1 == math.MaxInt64 || !equal(gen.Value(uint64(s1)), c1) || !equal(gen.Value(uint64(s1+1)), c2) {
			continue
		}
		if s1 <= last {
			replayed = true
			continue
		}
		return s1 + 1, true, false
	}
	return 0, false, replayed
}

// findPair searches for two consecutive codes after the last accepted step:
// TOTP around center within radius, nearest first; HOTP from the next
// counter on. It returns the second code's step, and whether the pair was
// found only among steps already used (a replay).
func (s *Server) findPair(t *Token, c1, c2 uint64, center int64, radius int) (step int64, ok, replayed bool, err error) {
	gen, err := s.generator(t)
	if err != nil {
		return 0, false, false, err
	}
	if t.Kind == oath.HOTP {
		// Counters last+1 … last+1+radius: a search "around" last+1+radius/2.
		step, ok, replayed = MatchPair(gen, c1, c2, addSat(t.LastStep, 1+int64(radius/2)), radius/2, t.LastStep)
		return step, ok, replayed, nil
	}
	step, ok, replayed = MatchPair(gen, c1, c2, center, radius, t.LastStep)
	return step, ok, replayed, nil
}
