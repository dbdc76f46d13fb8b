package server

import (
	"encoding/base32"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenlab/tokenlab/internal/benchratio"
	"github.com/tokenlab/tokenlab/internal/oath"
)

// The verification benchmarks compare the server's code search with
// pquerna/otp doing the same work: totp.ValidateCustom with the same window
// (Skew 1) for a login, and a search built on totp.GenerateCodeCustom for the
// worst-case resync (no match in ±1000 steps). "x-faster" is the ratio,
// measured in interleaved batches of one run:
//
//	go test -run '^$' -bench 'Verify|Resync' ./server/

var benchSecret = []byte("12345678901234567890")

func benchSetup(b *testing.B) (*oath.Generator, string, time.Time) {
	b.Helper()
	gen, err := oath.NewGenerator(benchSecret, oath.SHA1, 8)
	if err != nil {
		b.Fatal(err)
	}
	return gen, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(benchSecret), time.Unix(1_800_000_000, 0)
}

// BenchmarkVerifyAccept/center is a token in sync (the usual login), one
// HMAC each; /edge is each side's worst accepted code, the last step it
// searches (+1 for us, −1 for pquerna, which goes center, +1, −1): three each.
func BenchmarkVerifyAccept(b *testing.B) {
	b.Run("center", func(b *testing.B) { benchAccept(b, 0, -1) })
	b.Run("edge", func(b *testing.B) { benchAccept(b, 1, -1) })
}

func benchAccept(b *testing.B, ours, theirs int64) {
	gen, b32, at := benchSetup(b)
	opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	center := at.Unix() / 30
	code := gen.Value(uint64(center + ours))
	codeStr := oath.Format(gen.Value(uint64(center+theirs)), 8)
	b.ReportAllocs()
	benchratio.Compare(b, func(int) {
		if _, ok, _ := matchCode(gen, code, center, 1, center-5); !ok {
			b.Fatal("no match")
		}
	}, func(int) {
		if ok, _ := totp.ValidateCustom(codeStr, b32, at, opts); !ok {
			b.Fatal("pquerna: no match")
		}
	})
}

func BenchmarkVerifyReject(b *testing.B) {
	gen, b32, at := benchSetup(b)
	opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	center := at.Unix() / 30
	b.ReportAllocs()
	benchratio.Compare(b, func(int) {
		if _, ok, _ := matchCode(gen, 99999999, center, 1, 0); ok {
			b.Fatal("matched")
		}
	}, func(int) {
		if ok, _ := totp.ValidateCustom("99999999", b32, at, opts); ok {
			b.Fatal("pquerna matched")
		}
	})
}

func BenchmarkResyncWorstCase(b *testing.B) {
	gen, b32, at := benchSetup(b)
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	center := at.Unix() / 30
	b.ReportAllocs()
	benchratio.Compare(b, func(int) {
		if _, ok, _ := matchPair(gen, 99999999, 99999998, center, 1000, 0); ok {
			b.Fatal("matched")
		}
	}, func(int) {
		for i := range 2001 {
			st := nearest(center, i)
			c, _ := totp.GenerateCodeCustom(b32, time.Unix(st*30, 0), opts)
			if c == "99999999" {
				c2, _ := totp.GenerateCodeCustom(b32, time.Unix((st+1)*30, 0), opts)
				if c2 == "99999998" {
					b.Fatal("pquerna matched")
				}
			}
		}
	})
}
