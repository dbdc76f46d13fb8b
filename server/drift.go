package server

import (
	"math"
	"time"
)

// loginWindow is where a TOTP login code is looked for: a centre step and a
// radius, by the policy's drift tracking.
func (s *Server) loginWindow(t *Token, now time.Time) (center int64, radius int) {
	nowStep := t.step(now)
	switch s.policy.DriftTracking {
	case DriftFixed:
		return nowStep, s.policy.LoginWindow
	case DriftRate:
		if t.AnchorAt.IsZero() {
			break
		}
		elapsed := now.Sub(t.AnchorAt).Seconds()
		if elapsed < 0 {
			elapsed = 0
		}
		period := float64(t.PeriodS)
		predicted := float64(t.AnchorDrift) + t.DriftPPM*1e-6*elapsed/period
		// Until a rate is known it may be anything up to MaxDriftPPM; each
		// interval measured narrows that, never below 2 ppm.
		doubt := s.policy.MaxDriftPPM / float64(1+t.RateSamples)
		doubt = math.Max(doubt, 2)
		widen := int(math.Ceil(doubt * 1e-6 * elapsed / period))
		return nowStep + int64(math.Round(predicted)), min(s.policy.LoginWindow+widen, s.policy.MaxLoginWindow)
	}
	return nowStep + t.DriftSteps, s.policy.LoginWindow
}

// minRateInterval is the shortest time between syncs that gives a rate: a
// step's quantisation over a shorter time would swamp it.
const minRateInterval = 7 * day

// maxRateSamples bounds the running mean, so that a rate that changes (a
// battery getting old, a temperature change) is followed.
const maxRateSamples = 4

// synced records a successful sync (activation, login, resync) at now with
// the drift found, and refines the rate estimate.
func (s *Server) synced(t *Token, now time.Time, drift int64) {
	t.DriftSteps = drift
	if !t.AnchorAt.IsZero() {
		elapsed := now.Sub(t.AnchorAt)
		if elapsed >= minRateInterval {
			observed := float64(drift-t.AnchorDrift) * float64(t.PeriodS) / elapsed.Seconds() * 1e6
			n := float64(min(t.RateSamples, maxRateSamples-1))
			t.DriftPPM = (t.DriftPPM*n + observed) / (n + 1)
			t.RateSamples++
		} else {
			return // too soon to say anything about the rate: keep the anchor
		}
	}
	t.AnchorAt, t.AnchorDrift = now, drift
}
