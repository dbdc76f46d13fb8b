package server

import (
	"testing"
	"time"
)

// TestRateWindowWidensWithDoubtAndIsCapped: until a rate is known the
// window widens by MaxDriftPPM over the time since the last sync; known
// rates narrow it; it never exceeds MaxLoginWindow (the security cost: at
// most 2×10+1 codes accepted per attempt).
func TestRateWindowWidensWithDoubtAndIsCapped(t *testing.T) {
	p := Policy{DriftTracking: DriftRate}.withDefaults()
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := &Token{PeriodS: 30, AnchorAt: anchor, AnchorDrift: 2}
	for _, c := range []struct {
		after   time.Duration
		samples int
		ppm     float64
		center  int64 // relative to now's step
		radius  int
	}{
		{0, 0, 0, 2, 1},
		{90 * day, 0, 0, 2, 1 + 4},         // 15 ppm × 90 days = 3.9 steps of doubt
		{90 * day, 3, 12, 2 + 3, 1 + 1},    // rate known (3 intervals): 3.75 ppm of doubt, 0.97 step; 12 ppm predicts +3
		{3 * 365 * day, 0, 0, 2, 10},       // capped
		{90 * day, 100, -12, 2 - 3, 1 + 1}, // doubt never below 2 ppm
	} {
		tok.RateSamples, tok.DriftPPM = c.samples, c.ppm
		now := anchor.Add(c.after)
		center, radius := p.loginWindow(tok, now)
		if center-tok.step(now) != c.center || radius != c.radius {
			t.Errorf("%v after sync, %d samples, %+g ppm: centre %+d radius %d; want %+d and %d",
				c.after, c.samples, c.ppm, center-tok.step(now), radius, c.center, c.radius)
		}
	}
}
