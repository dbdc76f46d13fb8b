package oath

import (
	"crypto/subtle"
	"encoding/binary"
	"math"
)

// The window search is the verification side of the OATH maths: the server
// calls it with its window and the token's last accepted step, and the
// benchmarks compare it with pquerna/otp's validation.

// equal compares two code values in constant time.
func equal(a, b uint64) bool {
	var x, y [8]byte
	binary.BigEndian.PutUint64(x[:], a)
	binary.BigEndian.PutUint64(y[:], b)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
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

// Match looks for code among the 2×radius+1 steps (counters, for HOTP)
// around center, nearest first: it returns the matching step later than
// last, or reports a match only at steps up to last (a replay). Codes are
// compared in constant time. It allocates nothing.
func (gen *Generator) Match(code uint64, center int64, radius int, last int64) (step int64, ok, replayed bool) {
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
func (gen *Generator) MatchPair(c1, c2 uint64, center int64, radius int, last int64) (step int64, ok, replayed bool) {
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
