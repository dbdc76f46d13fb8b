package httpapi

import (
	"context"
	"sync"
	"time"
)

// healthEvery is how often /healthz probes the store at most. The probe
// is a durable write, and /healthz needs no credential: without a bound,
// anyone could make the server write as fast as they can ask. A prober
// (a load balancer, Kubernetes) asks every few seconds, so an answer up
// to a second old is as good as a fresh one.
const healthEvery = time.Second

// healthProbe runs the store's health check at most once per healthEvery;
// callers in between, or waiting on a probe in flight, get its result.
type healthProbe struct {
	mu  sync.Mutex
	at  time.Time // when the last probe ended; zero before the first
	err error
}

func (p *healthProbe) check(ctx context.Context, probe func(context.Context) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && time.Since(p.at) < healthEvery {
		return p.err
	}
	err := probe(ctx)
	if ctx.Err() != nil {
		return err // this caller went away: that says nothing of the store
	}
	p.at, p.err = time.Now(), err
	return err
}
