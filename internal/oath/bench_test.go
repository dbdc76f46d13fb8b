package oath_test

import (
	"testing"

	"github.com/tokenlab/tokenlab/server/perf"
)

// BenchmarkCodeVsPquerna: one TOTP code for a fresh instant, against
// totp.GenerateCodeCustom; "x-faster" is the ratio from one run:
//
//	go test -run '^$' -bench CodeVsPquerna ./internal/oath/
func BenchmarkCodeVsPquerna(b *testing.B) {
	for _, c := range perf.Cases() {
		if c.Name == "code" {
			b.ReportAllocs()
			perf.Bench(b, c)
		}
	}
}
