package server

import (
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

// step is the server's current step for a TOTP token (0 for HOTP, which
// has no clock).
func (t *Token) step(now time.Time) int64 {
	if t.Kind == oath.HOTP || t.PeriodS <= 0 {
		return 0
	}
	return now.Unix() / t.PeriodS
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
		step, ok, replayed = gen.MatchPair(c1, c2, addSat(t.LastStep, 1+int64(radius/2)), radius/2, t.LastStep)
		return step, ok, replayed, nil
	}
	step, ok, replayed = gen.MatchPair(c1, c2, center, radius, t.LastStep)
	return step, ok, replayed, nil
}
