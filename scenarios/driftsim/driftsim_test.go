package driftsim_test

import (
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/driftsim"
	"github.com/tokenlab/tokenlab/server"
)

// quarterly is the fleet of the issue: up to 12 ppm either way, each token
// used every 90 days for a year.
var quarterly = driftsim.Fleet{Tokens: 50, Days: 365, Every: 90 * 24 * time.Hour, PPMMin: 3, PPMMax: 12, Seed: "test"}

func TestRatePolicyKeepsUpWhereFixedDoesNot(t *testing.T) {
	fixed := driftsim.Run(quarterly, server.DriftFixed, nil)
	rate := driftsim.Run(quarterly, server.DriftRate, nil)
	// 365 days / 90 = 4 rounds of logins, each token once a round.
	if fixed.Logins != 4*50 || rate.Logins != fixed.Logins {
		t.Fatalf("logins: fixed %d, rate %d, want 200", fixed.Logins, rate.Logins)
	}
	if fixed.RefusedShare < 0.5 || fixed.Resyncs == 0 || fixed.CodesPerAttempt != 3 {
		t.Errorf("fixed: %+v; want most logins refused, resyncs, a 3-code window", fixed)
	}
	if rate.RefusedShare != 0 || rate.Resyncs != 0 || rate.Lockouts != 0 || rate.CodesPerAttempt <= 3 {
		t.Errorf("rate: %+v; want every first code accepted, paid for with a wider window", rate)
	}
	if len(fixed.Monthly) != 12 {
		t.Errorf("%d monthly shares for a year of 30-day months", len(fixed.Monthly))
	}
}

func TestCompareIsRunPerPolicyAndReportsProgressInOrder(t *testing.T) {
	policies := []string{server.DriftFixed, server.DriftOffset, server.DriftRate}
	last := 0.0
	got := driftsim.Compare(quarterly, policies, func(done float64) {
		if done < last || done > 1 {
			t.Errorf("progress %v after %v", done, last)
		}
		last = done
	})
	if last != 1 {
		t.Errorf("progress ended at %v", last)
	}
	for _, p := range policies {
		if want := driftsim.Run(quarterly, p, nil); !reflect.DeepEqual(got[p], want) {
			t.Errorf("%s: compared %+v, run alone %+v", p, got[p], want)
		}
	}
}

func TestWriteSVGIsWellFormedWithALinePerPolicy(t *testing.T) {
	policies := []string{server.DriftFixed, server.DriftRate}
	results := driftsim.Compare(quarterly, policies, nil)
	var b strings.Builder
	if err := driftsim.WriteSVG(&b, quarterly, policies, results); err != nil {
		t.Fatal(err)
	}
	lines := 0
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, b.String())
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != len(policies) {
		t.Errorf("%d polylines for %d policies", lines, len(policies))
	}
	if !strings.Contains(b.String(), "50 tokens, 3–12 ppm, used every 2160h0m0s") {
		t.Errorf("the title does not describe the fleet:\n%s", b.String())
	}
}
