// Package benchratio reports how much faster one implementation is than a
// baseline, measured in the same benchmark run.
//
// Absolute ns/op depend on the machine; a ratio taken from interleaved batches
// of both implementations in one process does not (much), so tokenlab states
// its speed as ratios against pquerna/otp and oathtool.
package benchratio

import (
	"testing"
	"time"
)

// Batch is how many operations of each side run between clock readings:
// large enough that reading the clock is noise, small enough to interleave.
const Batch = 256

// Compare runs ours and base alternately in batches until the benchmark
// ends, then reports base's time divided by ours as the metric "x-faster",
// along with each side's ns/op. Each function is called with the index of
// the operation it should perform, so it can vary its input.
func Compare(b *testing.B, ours, base func(i int)) {
	b.Helper()
	var tOurs, tBase time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		for i := range Batch {
			ours(n + i)
		}
		mid := time.Now()
		for i := range Batch {
			base(n + i)
		}
		tOurs += mid.Sub(start)
		tBase += time.Since(mid)
		n += Batch
	}
	if n == 0 || tOurs == 0 {
		return
	}
	b.ReportMetric(float64(tBase)/float64(tOurs), "x-faster")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(n), "ours-ns/op")
	b.ReportMetric(float64(tBase.Nanoseconds())/float64(n), "base-ns/op")
}
