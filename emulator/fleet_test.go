package emulator

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
)

func fleet(t *testing.T, f FleetSpec) []Spec {
	t.Helper()
	specs, err := FleetSpecs(f, clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	return specs
}

func TestFleetIsDeterministic(t *testing.T) {
	f := FleetSpec{Count: 500, Seed: "ci-fleet", DriftPPMMax: 12, DriftOffsetMax: time.Minute, Algorithm: oath.SHA256}
	a, b := fleet(t, f), fleet(t, f)
	for i := range a {
		if a[i].Serial != b[i].Serial || !bytes.Equal(a[i].Secret, b[i].Secret) || a[i].Drift != b[i].Drift {
			t.Fatalf("token %d differs between two runs: %+v vs %+v", i, a[i], b[i])
		}
	}
	// A member can be made on its own, without the rest of the fleet.
	if m := f.Member(321, a[0].Created); m.Serial != a[321].Serial || !bytes.Equal(m.Secret, a[321].Secret) {
		t.Fatal("Member(321) differs from the fleet's 321st token")
	}
	// Another seed, another fleet.
	f.Seed = "ci-fleet-2"
	c := fleet(t, f)
	if bytes.Equal(a[0].Secret, c[0].Secret) || a[0].Serial == c[0].Serial {
		t.Fatal("two seeds made the same first token")
	}
}

func TestFleetSerialsAndSecrets(t *testing.T) {
	serial := regexp.MustCompile(`^VIRT\d{13}$`)
	for _, alg := range []oath.Algorithm{oath.SHA1, oath.SHA256, oath.SHA512} {
		specs := fleet(t, FleetSpec{Count: 2000, Seed: "s", Algorithm: alg})
		serials, secrets := map[string]bool{}, map[string]bool{}
		for _, s := range specs {
			if !serial.MatchString(s.Serial) {
				t.Fatalf("serial %q is not VIRT and 13 digits", s.Serial)
			}
			if len(s.Secret) != alg.KeySize() {
				t.Fatalf("%s secret of %d bytes", alg, len(s.Secret))
			}
			serials[s.Serial], secrets[string(s.Secret)] = true, true
			if _, err := New(s, nil); err != nil {
				t.Fatal(err)
			}
		}
		if len(serials) != 2000 || len(secrets) != 2000 {
			t.Fatalf("%d unique serials and %d unique secrets in 2000 tokens", len(serials), len(secrets))
		}
	}
	if s := fleet(t, FleetSpec{Count: 1, Seed: "s", Prefix: "LAB-"})[0].Serial; !strings.HasPrefix(s, "LAB-") || len(s) != 17 {
		t.Fatalf("prefixed serial %q", s)
	}
}

func TestFleetDriftDistribution(t *testing.T) {
	const n, max = 20000, 12.0
	for _, c := range []struct {
		dist     Distribution
		wantStd  float64 // uniform on [-m, m]: m/√3; normal: m/3 (slightly less after clipping)
		tolerate float64
	}{
		{Uniform, max / math.Sqrt(3), 0.15},
		{Normal, max / 3, 0.15},
	} {
		specs := fleet(t, FleetSpec{Count: n, Seed: "drift", DriftPPMMax: max, Distribution: c.dist, DriftOffsetMax: 2 * time.Minute})
		var sum, sq float64
		for _, s := range specs {
			p := s.Drift.PPM
			if p < -max || p > max {
				t.Fatalf("%s: rate %v outside ±%v", c.dist, p, max)
			}
			if s.Drift.Offset < -2*time.Minute || s.Drift.Offset > 2*time.Minute {
				t.Fatalf("offset %v outside ±2m", s.Drift.Offset)
			}
			sum += p
			sq += p * p
		}
		mean := sum / n
		std := math.Sqrt(sq/n - mean*mean)
		if math.Abs(mean) > 0.3 || math.Abs(std-c.wantStd) > c.tolerate*c.wantStd {
			t.Errorf("%s: mean %.3f std %.3f, want about 0 and %.3f", c.dist, mean, std, c.wantStd)
		}
	}
	for _, s := range fleet(t, FleetSpec{Count: 10, Seed: "flat"}) {
		if !s.Drift.IsZero() {
			t.Fatalf("a fleet without drift drifts: %+v", s.Drift)
		}
	}
}

func TestBadFleetSpecs(t *testing.T) {
	for _, c := range []struct {
		f    FleetSpec
		want string
	}{
		{FleetSpec{Count: 0, Seed: "s"}, "invalid count 0"},
		{FleetSpec{Count: MaxFleet + 1, Seed: "s"}, "use 1 to 100000000"},
		{FleetSpec{Count: 1}, "invalid seed"},
		{FleetSpec{Count: 1, Seed: "s", DriftPPMMax: -1}, "invalid drift ppm max -1"},
		{FleetSpec{Count: 1, Seed: "s", DriftOffsetMax: -time.Second}, "invalid drift offset max"},
		{FleetSpec{Count: 1, Seed: "s", Kind: HOTP, DriftPPMMax: 5}, "HOTP tokens have no clock"},
		{FleetSpec{Count: 1, Seed: "s", Prefix: "bad prefix"}, "invalid serial"},
		{FleetSpec{Count: 1, Seed: "s", Digits: 7}, "invalid digits 7"},
	} {
		_, err := NewFleet(c.f, nil)
		if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.f, err, c.want)
		}
	}
	if _, err := ParseDistribution("pareto"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("ParseDistribution(pareto): %v", err)
	}
}

func TestFleetMembersAreCompleteSpecs(t *testing.T) {
	for _, s := range fleet(t, FleetSpec{Count: 3, Seed: "complete"}) {
		if err := s.Validate(); err != nil || s.Digits != 8 || s.Period != 30*time.Second {
			t.Fatalf("member %+v: %v", s, err)
		}
	}
}
