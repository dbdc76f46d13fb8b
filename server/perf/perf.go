// Package perf measures tokenlab against its baselines: the comparisons that
// go test -bench and tokenlab bench both run (ours against pquerna/otp and
// oathtool, as ratios from one run), and a load test of a running server.
package perf

import (
	"context"
	"encoding/base32"
	"fmt"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenlab/tokenlab/internal/benchratio"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/oathtool"
)

// Case is one comparison: ours and the baseline doing the same work; each
// function is called with an operation index.
type Case struct {
	Name       string
	Ours, Base func(i int)
}

var secret = []byte("12345678901234567890")

// Cases are the comparisons with pquerna/otp:
//   - code: one TOTP code for a fresh instant (totp.GenerateCodeCustom);
//   - verify_accept_center / verify_accept_edge: a login code from the
//     current step, and from the last step each side searches in a ±1
//     window (totp.ValidateCustom with Skew 1);
//   - verify_reject: a wrong code, all three steps searched;
//   - resync_worst_case: two codes found nowhere in ±1000 steps (a search
//     built on totp.GenerateCodeCustom).
func Cases() []Case {
	gen, err := oath.NewGenerator(secret, oath.SHA1, 8)
	if err != nil {
		panic(err) // a constant key: cannot fail
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	at := time.Unix(1_800_000_000, 0)
	center := at.Unix() / 30
	codeOpts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	window := codeOpts
	window.Skew = 1
	var sink int
	accept := func(name string, ours, theirs int64) Case {
		code := gen.Value(uint64(center + ours))
		str := oath.Format(gen.Value(uint64(center+theirs)), 8)
		return Case{name,
			func(int) { _, ok, _ := gen.Match(code, center, 1, center-5); sink += b2i(ok) },
			func(int) { ok, _ := totp.ValidateCustom(str, b32, at, window); sink += b2i(ok) }}
	}
	return []Case{
		{"code",
			func(i int) {
				step, _, _ := oath.TimeStep(at.Add(time.Duration(i)*30*time.Second), 30*time.Second)
				sink += len(gen.Code(step))
			},
			func(i int) {
				c, _ := totp.GenerateCodeCustom(b32, at.Add(time.Duration(i)*30*time.Second), codeOpts)
				sink += len(c)
			}},
		// pquerna searches center, +1, −1; we search center, −1, +1.
		accept("verify_accept_center", 0, 0),
		accept("verify_accept_edge", 1, -1),
		{"verify_reject",
			func(int) { _, ok, _ := gen.Match(99999999, center, 1, 0); sink += b2i(ok) },
			func(int) { ok, _ := totp.ValidateCustom("99999999", b32, at, window); sink += b2i(ok) }},
		{"resync_worst_case",
			func(int) { _, ok, _ := gen.MatchPair(99999999, 99999998, center, 1000, 0); sink += b2i(ok) },
			func(int) {
				for i := range 2001 {
					st := center + int64((i+1)/2)*int64(1-2*(i%2))
					c, _ := totp.GenerateCodeCustom(b32, time.Unix(st*30, 0), codeOpts)
					if c == "99999999" {
						if c2, _ := totp.GenerateCodeCustom(b32, time.Unix((st+1)*30, 0), codeOpts); c2 == "99999998" {
							sink++
						}
					}
				}
			}},
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Bench runs a case as a benchmark body: the ratio is the metric "x-faster".
func Bench(b *testing.B, c Case) { benchratio.Compare(b, c.Ours, c.Base) }

// Result is a measured comparison.
type Result struct {
	Ratio      float64 `json:"ratio"`
	OursNsOp   float64 `json:"ours_ns_op"`
	BaseNsOp   float64 `json:"base_ns_op"`
	Operations int     `json:"operations"`
}

// Measure runs a case for about a second, outside go test.
func Measure(c Case) Result {
	r := testing.Benchmark(func(b *testing.B) { Bench(b, c) })
	return Result{Ratio: r.Extra["x-faster"], OursNsOp: r.Extra["ours-ns/op"], BaseNsOp: r.Extra["base-ns/op"], Operations: r.N * benchratio.Batch}
}

// Oathtool compares one code against one oathtool run (a process per code,
// as a shell script would use it): n runs, timed against n of our codes.
func Oathtool(ctx context.Context, n int) (Result, error) {
	gen, err := oath.NewGenerator(secret, oath.SHA1, 8)
	if err != nil {
		return Result{}, err
	}
	at := time.Unix(1_800_000_000, 0)
	start := time.Now()
	for i := range n {
		if _, err := oathtool.TOTP(ctx, secret, "sha1", 8, 30*time.Second, at.Add(time.Duration(i)*30*time.Second)); err != nil {
			return Result{}, fmt.Errorf("oathtool baseline: %w", err)
		}
	}
	base := time.Since(start)
	start = time.Now()
	var sink int
	for i := range n * 1000 {
		step, _, _ := oath.TimeStep(at.Add(time.Duration(i)*30*time.Second), 30*time.Second)
		sink += len(gen.Code(step))
	}
	ours := time.Since(start) / 1000
	if sink == 0 || ours == 0 {
		return Result{}, fmt.Errorf("nothing measured")
	}
	return Result{Ratio: float64(base) / float64(ours), OursNsOp: float64(ours.Nanoseconds()) / float64(n), BaseNsOp: float64(base.Nanoseconds()) / float64(n), Operations: n}, nil
}
