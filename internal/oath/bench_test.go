package oath

import (
	"encoding/base32"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenlab/tokenlab/internal/benchratio"
)

// The code-generation benchmarks time one TOTP code for a fresh instant, as a
// token press does. BenchmarkTOTPCodeSpeedup runs ours and the pquerna/otp
// baseline in the same process and reports the ratio, so the figure does not
// depend on the machine: go test -bench TOTPCode ./internal/oath/

var benchSecret = []byte("12345678901234567890")

func benchTokenlab(b *testing.B) {
	g, err := NewGenerator(benchSecret, SHA1, 8)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		step, _, _ := TimeStep(at.Add(time.Duration(i)*30*time.Second), 30*time.Second)
		if len(g.Code(step)) != 8 {
			b.Fatal("bad code")
		}
	}
}

func benchPquerna(b *testing.B) {
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(benchSecret)
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	at := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		code, err := totp.GenerateCodeCustom(b32, at.Add(time.Duration(i)*30*time.Second), opts)
		if err != nil || len(code) != 8 {
			b.Fatal(err)
		}
	}
}

func BenchmarkTOTPCode(b *testing.B) {
	b.Run("tokenlab", benchTokenlab)
	b.Run("pquerna", benchPquerna)
}

// BenchmarkTOTPCodeSpeedup reports the pquerna/otp baseline's time divided by
// ours as "x-faster", from interleaved batches in one run.
func BenchmarkTOTPCodeSpeedup(b *testing.B) {
	g, err := NewGenerator(benchSecret, SHA1, 8)
	if err != nil {
		b.Fatal(err)
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(benchSecret)
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	at := time.Unix(1_700_000_000, 0)
	var sink int
	benchratio.Compare(b, func(i int) {
		step, _, _ := TimeStep(at.Add(time.Duration(i)*30*time.Second), 30*time.Second)
		sink += len(g.Code(step))
	}, func(i int) {
		code, _ := totp.GenerateCodeCustom(b32, at.Add(time.Duration(i)*30*time.Second), opts)
		sink += len(code)
	})
	if sink == 0 {
		b.Fatal("no codes generated")
	}
}
