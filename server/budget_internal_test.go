package server

import (
	"slices"
	"testing"
	"time"
)

// TestAddFailureKeepsTheWindowAndAtMostTheBudget: a token keeps the times of
// its wrong codes within the window, never more than LockoutBudget of them,
// and addFailure leaves the slice it is given alone (a stored token's).
func TestAddFailureKeepsTheWindowAndAtMostTheBudget(t *testing.T) {
	p := Policy{LockoutBudget: 3, LockoutBudgetWindow: time.Hour}.withDefaults()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, c := range []struct {
		name   string
		before []time.Time
		now    int // minutes
		want   []time.Time
	}{
		{"the first", nil, 0, []time.Time{at(0)}},
		{"within the window", []time.Time{at(0), at(10)}, 20, []time.Time{at(0), at(10), at(20)}},
		{"at most the budget", []time.Time{at(0), at(10), at(20)}, 30, []time.Time{at(10), at(20), at(30)}},
		{"an hour old is out", []time.Time{at(0), at(10)}, 60, []time.Time{at(10), at(60)}},
		{"all out", []time.Time{at(0), at(10)}, 200, []time.Time{at(200)}},
		{"more than the budget (a lowered policy)", []time.Time{at(1), at(2), at(3), at(4), at(5)}, 6, []time.Time{at(4), at(5), at(6)}},
	} {
		before := slices.Clone(c.before)
		got := p.addFailure(c.before, at(c.now))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if !slices.Equal(c.before, before) {
			t.Errorf("%s: the slice given changed to %v", c.name, c.before)
		}
	}
}
