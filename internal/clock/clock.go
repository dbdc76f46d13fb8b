// Package clock is the one source of time for tokenlab.
//
// Everything that needs "now" — a virtual token's own clock, the verification
// server's windows and sweeps — takes a Clock instead of calling time.Now, so
// that tests and simulations move a Virtual clock and a year of drift runs in
// milliseconds. Nothing in tokenlab sleeps to wait for a TOTP step.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the current true time. It is deliberately as narrow as
// k8s.io/utils/clock's PassiveClock: components only ever ask what time it is.
type Clock interface {
	Now() time.Time
}

// System is the machine's wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Virtual is a clock that stands still until it is moved. It is safe for
// concurrent use. The zero value stands at the zero time.Time; use NewVirtual.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtual returns a virtual clock standing at t.
func NewVirtual(t time.Time) *Virtual { return &Virtual{now: t} }

// Now returns the time the clock stands at.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// Step moves the clock by d (which may be negative) and returns the new time.
func (v *Virtual) Step(d time.Duration) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.now = v.now.Add(d)
	return v.now
}

// Set puts the clock at t.
func (v *Virtual) Set(t time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.now = t
}

// Func adapts a function to the Clock interface.
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }

// A Mover is a virtual clock that can be moved: Virtual in one process, or
// one kept in a database that several processes share (server/pgstore),
// whose moves can fail. Each move returns the new time.
type Mover interface {
	Clock
	StepContext(ctx context.Context, d time.Duration) (time.Time, error)
	SetContext(ctx context.Context, t time.Time) (time.Time, error)
}

// StepContext is Step; it never fails.
func (v *Virtual) StepContext(_ context.Context, d time.Duration) (time.Time, error) {
	return v.Step(d), nil
}

// SetContext is Set; it never fails.
func (v *Virtual) SetContext(_ context.Context, t time.Time) (time.Time, error) {
	v.Set(t)
	return t, nil
}
