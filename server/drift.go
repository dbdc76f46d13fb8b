package server

import (
	"math"
	"time"
)

// loginWindow is where a TOTP login code is looked for: a centre step and a
// radius, by the policy's drift tracking.
func (s *Server) loginWindow(t *Token, now time.Time) (center int64, radius int) {
	return s.policy.loginWindow(t, now)
}

func (p Policy) loginWindow(t *Token, now time.Time) (center int64, radius int) {
	nowStep := t.step(now)
	switch p.DriftTracking {
	case DriftFixed:
		return nowStep, p.LoginWindow
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
		doubt := p.MaxDriftPPM / float64(1+t.RateSamples)
		doubt = math.Max(doubt, 2)
		widen := int(math.Round(doubt * 1e-6 * elapsed / period)) // a fraction of a step of doubt costs no extra code
		return nowStep + int64(math.Round(predicted)), min(p.LoginWindow+widen, p.MaxLoginWindow)
	}
	return nowStep + t.DriftSteps, p.LoginWindow
}

// minRateInterval is the shortest time between syncs that gives a rate: a
// step's quantisation over a shorter time would swamp it.
const minRateInterval = 7 * day

// maxRateSamples bounds the running mean, so that a rate that changes (a
// battery getting old, a temperature change) is followed.
const maxRateSamples = 4

// synced records a successful sync (activation, login, resync) at now with
// the drift found, and refines the rate estimate.
func (s *Server) synced(t *Token, now time.Time, drift int64) { synced(t, now, drift) }

func synced(t *Token, now time.Time, drift int64) {
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

// DriftSim decides logins as Verify does — the same window, the same
// learning, the same lockout — on step numbers instead of codes, so that a
// simulation can run millions of logins without HMACs or a store. It is
// what tokenlab simulate drift drives.
type DriftSim struct{ p Policy }

// NewDriftSim is a simulator of the policy (zero fields are defaults).
func NewDriftSim(p Policy) *DriftSim { return &DriftSim{p: p.withDefaults()} }

// Activate is a token activated at now with its device's step then.
func (d *DriftSim) Activate(t *Token, now time.Time, deviceStep int64) {
	*t = Token{PeriodS: t.PeriodS, LastStep: deviceStep, Status: StatusActive}
	synced(t, now, deviceStep-t.step(now))
}

// Login is a code from deviceStep entered at now: whether it is accepted,
// and how many codes the window accepted (the online-guessing cost).
func (d *DriftSim) Login(t *Token, now time.Time, deviceStep int64) (accepted bool, codes int) {
	if t.Locked {
		return false, 0
	}
	center, radius := d.p.loginWindow(t, now)
	codes = 2*radius + 1
	if deviceStep >= center-int64(radius) && deviceStep <= center+int64(radius) && deviceStep > t.LastStep {
		t.LastStep, t.FailCount = deviceStep, 0
		synced(t, now, deviceStep-t.step(now))
		return true, codes
	}
	t.FailCount++
	if t.FailCount >= d.p.LockoutThreshold {
		t.Locked = true
	}
	return false, codes
}

// Resync is two consecutive codes ending at deviceStep, found in the sync
// window: the drift is set and the lock cleared.
func (d *DriftSim) Resync(t *Token, now time.Time, deviceStep int64) bool {
	drift := deviceStep - t.step(now)
	if drift < -int64(d.p.SyncWindow) || drift > int64(d.p.SyncWindow) || deviceStep-1 <= t.LastStep {
		return false
	}
	t.LastStep, t.Locked, t.FailCount = deviceStep, false, 0
	synced(t, now, drift)
	return true
}
