package oath

import (
	"context"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenlab/tokenlab/internal/benchratio"
	"github.com/tokenlab/tokenlab/internal/fixture"
	"github.com/tokenlab/tokenlab/internal/oathtool"
)

func TestRFC4226AppendixD(t *testing.T) {
	rfc, err := fixture.RFC4226()
	if err != nil {
		t.Fatal(err)
	}
	if len(rfc.Vectors) != 10 {
		t.Fatalf("fixture has %d vectors, RFC 4226 has 10", len(rfc.Vectors))
	}
	six, err := NewGenerator(rfc.Secret(), SHA1, rfc.Digits)
	if err != nil {
		t.Fatal(err)
	}
	ten, err := NewGenerator(rfc.Secret(), SHA1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rfc.Vectors {
		if got := six.Code(v.Counter); got != v.HOTP {
			t.Errorf("counter %d: HOTP %s, want %s", v.Counter, got, v.HOTP)
		}
		// With 10 digits the modulus exceeds 2^31, so Value is the whole
		// truncated 31-bit number the RFC lists.
		if got := ten.Value(v.Counter); got != v.Truncated {
			t.Errorf("counter %d: truncated %d, want %d", v.Counter, got, v.Truncated)
		}
	}
}

func TestRFC6238AppendixB(t *testing.T) {
	rfc, err := fixture.RFC6238()
	if err != nil {
		t.Fatal(err)
	}
	if len(rfc.Vectors) != 18 {
		t.Fatalf("fixture has %d vectors, RFC 6238 has 18", len(rfc.Vectors))
	}
	period := time.Duration(rfc.PeriodS) * time.Second
	for _, v := range rfc.Vectors {
		alg, err := ParseAlgorithm(v.Algorithm)
		if err != nil {
			t.Fatal(err)
		}
		if len(rfc.Seed(v.Algorithm)) != alg.KeySize() {
			t.Errorf("%s seed is %d bytes, RFC uses %d", v.Algorithm, len(rfc.Seed(v.Algorithm)), alg.KeySize())
		}
		g, err := NewGenerator(rfc.Seed(v.Algorithm), alg, rfc.Digits)
		if err != nil {
			t.Fatal(err)
		}
		step, _, err := TimeStep(v.Time(), period)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToUpper(hex.EncodeToString(be64(step))); got != v.StepHex {
			t.Errorf("%s: step %s, want %s", v.UTC, got, v.StepHex)
		}
		if got := g.Code(step); got != v.TOTP {
			t.Errorf("%s %s: TOTP %s, want %s", v.UTC, v.Algorithm, got, v.TOTP)
		}
	}
}

func be64(v uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// TestAgreesWithPquerna compares random keys, counters and times with
// github.com/pquerna/otp, the reference implementation in Go.
func TestAgreesWithPquerna(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		secret := randomSecret(rng)
		alg := Algorithm(rng.IntN(3))
		digits := []int{6, 8}[rng.IntN(2)]
		g, err := NewGenerator(secret, alg, digits)
		if err != nil {
			t.Fatal(err)
		}
		b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
		if i%2 == 0 {
			counter := rng.Uint64N(1 << 40)
			want, err := hotp.GenerateCodeCustom(b32, counter, hotp.ValidateOpts{Digits: otp.Digits(digits), Algorithm: benchratio.PquernaAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Code(counter); got != want {
				t.Fatalf("HOTP %s/%d counter %d: %s, pquerna %s", alg, digits, counter, got, want)
			}
			continue
		}
		period := []time.Duration{30 * time.Second, 60 * time.Second}[rng.IntN(2)]
		at := time.Unix(rng.Int64N(4102444800), 0) // 1970..2100
		want, err := totp.GenerateCodeCustom(b32, at, totp.ValidateOpts{Period: uint(period / time.Second), Digits: otp.Digits(digits), Algorithm: benchratio.PquernaAlgorithm(alg)})
		if err != nil {
			t.Fatal(err)
		}
		step, _, err := TimeStep(at, period)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Code(step); got != want {
			t.Fatalf("TOTP %s/%d/%v at %d: %s, pquerna %s", alg, digits, period, at.Unix(), got, want)
		}
	}
}

func randomSecret(rng *rand.Rand) []byte {
	b := make([]byte, 1+rng.IntN(64))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestAgreesWithOathtool is the cross-check against a second implementation
// in another language: 1000 random (secret, time or counter, algorithm,
// digits, period) cases. In CI a missing oathtool fails the test.
func TestAgreesWithOathtool(t *testing.T) {
	oathtool.Require(t)
	type result struct {
		desc, got, want string
		err             error
	}
	const cases = 1000
	rng := rand.New(rand.NewPCG(3, 4))
	jobs := make(chan func() result)
	results := make(chan result, cases)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for job := range jobs {
				results <- job()
			}
		})
	}
	ctx := context.Background()
	for i := range cases {
		secret := randomSecret(rng)
		digits := []int{6, 8}[rng.IntN(2)]
		var alg Algorithm
		if i%4 != 0 { // every fourth case is HOTP, which oathtool computes with SHA1 only
			alg = Algorithm(rng.IntN(3))
		}
		g, err := NewGenerator(secret, alg, digits)
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			counter := rng.Uint64N(1 << 32)
			jobs <- func() result {
				want, err := oathtool.HOTP(ctx, secret, digits, counter)
				return result{desc: "HOTP counter " + strconv.FormatUint(counter, 10), got: g.Code(counter), want: want, err: err}
			}
			continue
		}
		period := []time.Duration{30 * time.Second, 60 * time.Second}[rng.IntN(2)]
		at := time.Unix(rng.Int64N(4102444800), 0)
		step, _, err := TimeStep(at, period)
		if err != nil {
			t.Fatal(err)
		}
		jobs <- func() result {
			want, err := oathtool.TOTP(ctx, secret, alg.String(), digits, period, at)
			return result{desc: "TOTP " + alg.String() + " at @" + strconv.FormatInt(at.Unix(), 10), got: g.Code(step), want: want, err: err}
		}
	}
	close(jobs)
	wg.Wait()
	close(results)
	n := 0
	for r := range results {
		n++
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.got != r.want {
			t.Errorf("%s: tokenlab %s, oathtool %s", r.desc, r.got, r.want)
		}
	}
	if n != cases {
		t.Fatalf("compared %d cases, want %d", n, cases)
	}
}

func TestValueAllocatesNothing(t *testing.T) {
	g, err := NewGenerator([]byte("12345678901234567890"), SHA512, 8)
	if err != nil {
		t.Fatal(err)
	}
	var c uint64
	if n := testing.AllocsPerRun(1000, func() { c++; _ = g.Value(c) }); n != 0 {
		t.Fatalf("Value allocates %.1f times per call, want 0", n)
	}
}

func TestGeneratorConcurrentUse(t *testing.T) {
	g, err := NewGenerator([]byte("12345678901234567890"), SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"755224", "287082", "359152", "969429", "338314"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 500 {
				c := uint64(i % len(want))
				if got := g.Code(c); got != want[c] {
					t.Errorf("concurrent Code(%d) = %s", c, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestBadInput(t *testing.T) {
	if _, err := NewGenerator(nil, SHA1, 6); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty secret: %v", err)
	}
	for _, d := range []int{0, 5, 11, -1} {
		if _, err := NewGenerator([]byte("k"), SHA1, d); err == nil || !strings.Contains(err.Error(), "use 6 to 10") {
			t.Errorf("digits %d: %v", d, err)
		}
	}
	if _, err := NewGenerator([]byte("k"), Algorithm(9), 6); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("algorithm 9: %v", err)
	}
	for _, p := range []time.Duration{0, -30 * time.Second, 1500 * time.Millisecond} {
		if _, _, err := TimeStep(time.Unix(100, 0), p); err == nil || !strings.Contains(err.Error(), "whole number of seconds") {
			t.Errorf("period %v: %v", p, err)
		}
	}
	if _, _, err := TimeStep(time.Unix(-1, 0), 30*time.Second); !errors.Is(err, ErrBeforeEpoch) {
		t.Errorf("before epoch: %v", err)
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{
		"sha1": SHA1, "SHA1": SHA1, "HmacSHA1": SHA1, "hmac-sha256": SHA256, "SHA-256": SHA256,
		"sha512": SHA512, " Sha512 ": SHA512,
	} {
		got, err := ParseAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "md5", "sha384", "sha"} {
		if _, err := ParseAlgorithm(in); !errors.Is(err, ErrAlgorithm) || !strings.Contains(err.Error(), "use sha1, sha256 or sha512") {
			t.Errorf("ParseAlgorithm(%q): %v", in, err)
		}
	}
	var a Algorithm
	if err := a.UnmarshalText([]byte("sha256")); err != nil || a != SHA256 {
		t.Fatalf("UnmarshalText: %v %v", a, err)
	}
	if b, err := SHA512.MarshalText(); err != nil || string(b) != "sha512" {
		t.Fatalf("MarshalText: %s %v", b, err)
	}
}

func TestTimeStep(t *testing.T) {
	cases := []struct {
		unix   int64
		nsec   int64
		period time.Duration
		step   uint64
		into   time.Duration
	}{
		{0, 0, 30 * time.Second, 0, 0},
		{29, 999, 30 * time.Second, 0, 29*time.Second + 999},
		{30, 0, 30 * time.Second, 1, 0},
		{59, 0, 60 * time.Second, 0, 59 * time.Second},
		{20000000000, 0, 30 * time.Second, 666666666, 20 * time.Second},
	}
	for _, c := range cases {
		step, into, err := TimeStep(time.Unix(c.unix, c.nsec), c.period)
		if err != nil || step != c.step || into != c.into {
			t.Errorf("TimeStep(%d.%09d, %v) = %d, %v, %v; want %d, %v", c.unix, c.nsec, c.period, step, into, err, c.step, c.into)
		}
	}
}

func TestFormatPadsWithZeros(t *testing.T) {
	for _, c := range []struct {
		v      uint64
		digits int
		want   string
	}{{0, 6, "000000"}, {7081804, 8, "07081804"}, {123, 10, "0000000123"}, {1284755224, 6, "755224"}} {
		if got := Format(c.v, c.digits); got != c.want {
			t.Errorf("Format(%d, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
}

func FuzzParseAlgorithm(f *testing.F) {
	for _, s := range []string{"sha1", "HmacSHA256", "sha-512", "", "md5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAlgorithm(s)
		if err != nil {
			if !errors.Is(err, ErrAlgorithm) {
				t.Fatalf("ParseAlgorithm(%q): %v", s, err)
			}
			return
		}
		if again, err := ParseAlgorithm(a.String()); err != nil || again != a {
			t.Fatalf("%q -> %v -> %v, %v", s, a, again, err)
		}
	})
}
