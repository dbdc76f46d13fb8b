package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

var _ server.Exclusive = (*Store)(nil)

// lockCheckEvery is how often Exclusive checks that the connection holding
// its lock is still there.
const lockCheckEvery = time.Second

// Exclusive runs fn while no other server on the database (the same
// schema) runs one under the same name: it waits for a session advisory
// lock on a connection of its own, held while fn runs. When the process
// dies, its connections close and PostgreSQL releases the lock, so a
// replica killed mid-sweep holds no one up; what it had not committed is
// rolled back, and the next sweep does it. If the lock's connection fails
// while fn runs, fn's context is cancelled: the lock is gone.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(context.Context) error) error {
	if s.closed.Load() {
		return errClosed
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.dbError("lock "+name, err)
	}
	held := false
	defer func() {
		if held {
			// Unlocked before the connection goes back to the pool, or the
			// connection is closed: the next user of it must not hold it.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+lockKey+`)`, name); err != nil {
				conn.Conn().Close(uctx)
			}
		}
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`, name); err != nil {
		return fmt.Errorf("pgstore: waiting for the %s lock: %w", name, classify(err))
	}
	held = true

	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(lockCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-fctx.Done():
				return
			case <-t.C:
				if err := conn.Ping(fctx); err != nil && fctx.Err() == nil {
					cancel(fmt.Errorf("pgstore: the %s lock's connection failed: %w", name, classify(err)))
					return
				}
			}
		}
	}()
	err = fn(fctx)
	close(stop)
	<-stopped
	if cause := context.Cause(fctx); err != nil && cause != nil && ctx.Err() == nil {
		return fmt.Errorf("%w (%v)", err, cause)
	}
	return err
}
