package pgstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

// BenchmarkVerifyPG: concurrent verifications of HOTP codes, one token per
// goroutine, on one server over PostgreSQL (the tests' cluster, fsync off:
// this measures the processor, not the disk).
func BenchmarkVerifyPG(b *testing.B) { benchVerify(b, 32) }

func benchVerify(b *testing.B, n int) {
	schema := schemaFor(b, b.TempDir())
	st := openIn(b, schema)
	clk, _, err := st.VirtualClock(context.Background(), start)
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 32)
	srv, err := server.New(server.Config{Store: st, Clock: clk, SeedKey: key, Policy: server.Policy{PasswordCost: 4}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	gens := make([]*oath.Generator, n)
	for i := range n {
		secret := []byte(fmt.Sprintf("bench secret number %04d", i))
		serial := fmt.Sprintf("B%04d", i)
		user := fmt.Sprintf("bench%d", i)
		if _, err := srv.ImportSeeds(ctx, server.AsAdmin("b"), []seedfile.Token{{Serial: serial, Secret: secret, Kind: oath.HOTP, Digits: 8}}); err != nil {
			b.Fatal(err)
		}
		if _, err := srv.CreateAccount(ctx, server.AsAdmin("b"), server.NewAccount{UserID: user, Email: user + "@example.com", FirstName: "A", LastName: "B", Password: "correct horse battery"}); err != nil {
			b.Fatal(err)
		}
		if _, err := srv.Sponsor(ctx, server.AsAdmin("b"), server.Sponsorship{UserID: user, Serial: serial}); err != nil {
			b.Fatal(err)
		}
		gens[i], _ = oath.NewGenerator(secret, oath.SHA1, 8)
		if _, err := srv.Activate(ctx, user, serial, gens[i].Code(0), gens[i].Code(1)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int32
	b.SetParallelism(max(1, n/2))
	b.ResetTimer()
	began := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % n
		user := fmt.Sprintf("bench%d", i)
		for c := uint64(2); pb.Next(); c++ {
			if _, err := srv.Verify(ctx, user, gens[i].Code(c)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "verifications/s")
	b.ReportMetric(float64(st.Retries()), "retries")
}
