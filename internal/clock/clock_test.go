package clock

import (
	"sync"
	"testing"
	"time"
)

func TestVirtualStandsStillUntilMoved(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start)
	first, second := v.Now(), v.Now()
	if !first.Equal(start) || !second.Equal(start) {
		t.Fatalf("virtual clock moved by itself: %v then %v", first, second)
	}
	if got := v.Step(90 * time.Second); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("Step returned %v", got)
	}
	v.Step(-30 * time.Second)
	if got := v.Now(); !got.Equal(start.Add(60 * time.Second)) {
		t.Fatalf("after a negative step: %v", got)
	}
	later := start.AddDate(1, 0, 0)
	v.Set(later)
	if !v.Now().Equal(later) {
		t.Fatalf("Set: %v", v.Now())
	}
}

func TestVirtualConcurrentSteps(t *testing.T) {
	v := NewVirtual(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				v.Step(time.Second)
				_ = v.Now()
			}
		})
	}
	wg.Wait()
	if got := v.Now().Unix(); got != 5000 {
		t.Fatalf("lost steps under concurrency: %d, want 5000", got)
	}
}

func TestSystemAndFunc(t *testing.T) {
	before := time.Now()
	if got := (System{}).Now(); got.Before(before) {
		t.Fatalf("system clock went backwards: %v < %v", got, before)
	}
	fixed := time.Unix(42, 0)
	if got := Func(func() time.Time { return fixed }).Now(); !got.Equal(fixed) {
		t.Fatalf("Func: %v", got)
	}
}
