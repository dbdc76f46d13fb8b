package server_test

import (
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// BenchmarkVerifyDurable is the whole login path: one SQLite transaction
// that reads the token, checks the code and commits the new last step with
// synchronous=FULL. Reported in ns/op: pquerna/otp has no durable
// counterpart, so there is no ratio.
func BenchmarkVerifyDurable(b *testing.B) {
	f := newFixture(b, server.Policy{})
	u, d := f.activeToken()
	b.ReportAllocs()
	for b.Loop() {
		f.clk.Step(30 * time.Second) // a fresh step for every login
		if _, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now())); err != nil {
			b.Fatal(err)
		}
	}
}
