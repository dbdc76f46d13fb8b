package server_test

import (
	"testing"

	"github.com/tokenlab/tokenlab/server/perf"
)

// BenchmarkVsPquerna compares the server's verification path with
// pquerna/otp doing the same work (server/perf has the cases); "x-faster" is
// the ratio, measured in interleaved batches of one run:
//
//	go test -run '^$' -bench VsPquerna ./server/
func BenchmarkVsPquerna(b *testing.B) {
	for _, c := range perf.Cases() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			perf.Bench(b, c)
		})
	}
}
