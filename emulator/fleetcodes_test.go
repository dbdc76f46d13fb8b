package emulator

import (
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
)

func TestFleetCodesAreWhatEachTokenShows(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := start.Add(400 * 24 * time.Hour)
	f := FleetSpec{Count: 2000, Seed: "codes", DriftPPMMax: 12}
	codes, err := FleetCodes(f, start, at)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < f.Count; i += 37 {
		tok, err := New(f.Member(i, start), clock.NewVirtual(at))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := tok.Press()
		if codes[i] != d.Code {
			t.Fatalf("token %d: FleetCodes %s, pressed %s", i, codes[i], d.Code)
		}
	}
}

// BenchmarkFleetMillionCodes: the current codes of a fleet of a million
// tokens (derivation, key set-up and one code each), on every core:
//
//	go test -run '^$' -bench FleetMillion -benchtime 1x ./emulator/
func BenchmarkFleetMillionCodes(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := FleetSpec{Count: 1_000_000, Seed: "million", DriftPPMMax: 12}
	for b.Loop() {
		codes, err := FleetCodes(f, start, start.Add(90*24*time.Hour))
		if err != nil || len(codes) != f.Count || codes[f.Count-1] == "" {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/million")
}
