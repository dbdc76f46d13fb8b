package server_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// BenchmarkImport100k imports 100,000 tokens into the durable (SQLite)
// server in one all-or-nothing import, seeds sealed with AES-256-GCM:
//
//	go test -run '^$' -bench Import100k -benchtime 1x ./server/
func BenchmarkImport100k(b *testing.B) {
	seeds := make([]seedfile.Token, 100_000)
	for i := range seeds {
		seeds[i] = seedfile.Token{Serial: "S" + itoa(i), Secret: []byte("12345678901234567890"), Kind: oath.TOTP, Digits: 8, Period: 30 * time.Second}
	}
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b, server.Policy{})
		b.StartTimer()
		serials, err := f.srv.ImportSeeds(f.ctx, f.admin, seeds)
		if err != nil || len(serials) != len(seeds) {
			b.Fatal(err)
		}
		b.StopTimer()
		var disk int64
		for _, name := range []string{sqlitestore.FileName, sqlitestore.FileName + "-wal"} {
			if fi, err := os.Stat(filepath.Join(f.dir, name)); err == nil {
				disk += fi.Size()
			}
		}
		b.ReportMetric(float64(disk)/float64(len(seeds)), "disk-bytes/token")
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/100k")
}

// BenchmarkMemoryPerToken states the server's memory per token: what
// building one token's cached verification state (its keyed HMAC) allocates;
// tokens themselves live in SQLite, not in memory (BenchmarkImport100k
// reports their bytes on disk).
func BenchmarkMemoryPerToken(b *testing.B) {
	const n = 10_000
	keep := make([]*oath.Generator, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		g, err := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
		if err != nil {
			b.Fatal(err)
		}
		g.Value(1) // the first value marshals the pad states, as a verification does
		keep[i] = g
	}
	runtime.ReadMemStats(&after)
	for b.Loop() {
	}
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "bytes/token")
	runtime.KeepAlive(keep)
}

func itoa(i int) string {
	const digits = "0123456789"
	var b [12]byte
	p := len(b)
	for {
		p--
		b[p] = digits[i%10]
		i /= 10
		if i == 0 {
			return string(b[p:])
		}
	}
}
