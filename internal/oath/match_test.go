package oath

import (
	"encoding/base32"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenlab/tokenlab/internal/benchratio"
	"github.com/tokenlab/tokenlab/internal/fixture"
)

// TestMatchCodeAgreesWithPquerna: the window search the server uses accepts exactly
// what totp.ValidateCustom accepts with the same window, on random keys,
// times and codes (right ones from every step of the window and beyond, and
// random ones).
func TestMatchCodeAgreesWithPquerna(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 3000 {
		secret := make([]byte, 20+rng.IntN(44))
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		alg := Algorithm(rng.IntN(3))
		digits := []int{6, 8}[rng.IntN(2)]
		gen, err := NewGenerator(secret, alg, digits)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(rng.Int64N(4_000_000_000)+60, 0)
		center := at.Unix() / 30
		code := gen.Value(uint64(center + int64(rng.IntN(5)-2)))
		if i%5 == 0 {
			code = rng.Uint64N(uint64(pow10[digits]))
		}
		b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
		want, err := totp.ValidateCustom(Format(code, digits), b32, at, totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.Digits(digits), Algorithm: benchratio.PquernaAlgorithm(alg)})
		if err != nil {
			t.Fatal(err)
		}
		_, got, _ := gen.Match(code, center, 1, -1)
		if got != want {
			t.Fatalf("case %d (%s/%d at %d): tokenlab %v, pquerna %v", i, alg, digits, at.Unix(), got, want)
		}
	}
}

// TestMatchCodeFindsTheRFCVectors: every RFC 6238 vector is found at its step.
func TestMatchCodeFindsTheRFCVectors(t *testing.T) {
	rfc, err := fixture.RFC6238()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rfc.Vectors {
		alg, _ := ParseAlgorithm(v.Algorithm)
		gen, _ := NewGenerator(rfc.Seed(v.Algorithm), alg, 8)
		var code uint64
		for _, c := range v.TOTP {
			code = code*10 + uint64(c-'0')
		}
		step, ok, _ := gen.Match(code, v.Unix/30, 1, -1)
		if !ok || step != v.Unix/30 {
			t.Errorf("%s %s: found %v at %d", v.UTC, v.Algorithm, ok, step)
		}
	}
}

// TestVerifySearchAllocatesNothing: the in-memory verification path — the
// code search over the window and the resync search — allocates nothing.
func TestVerifySearchAllocatesNothing(t *testing.T) {
	gen, _ := NewGenerator([]byte("12345678901234567890"), SHA1, 8)
	center := int64(60_000_000)
	code := gen.Value(uint64(center + 1))
	if n := testing.AllocsPerRun(200, func() { gen.Match(code, center, 1, 0) }); n != 0 {
		t.Fatalf("verify allocates %.1f times", n)
	}
	if n := testing.AllocsPerRun(5, func() { gen.MatchPair(1, 2, center, 1000, 0) }); n != 0 {
		t.Fatalf("resync search allocates %.1f times", n)
	}
}
