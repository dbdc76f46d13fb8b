package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// Clock is the virtual clock every server on the database shares
// (tokenlab serve --db … --virtual-clock): one row of the virtual_clock
// table. It stands still between moves, and a move made through any
// server is the time of all of them from its commit on. An Update reads it
// inside its own transaction (NowTx), so that its time is the one in
// force at its place in the serial order: an Update serialised after a
// move has the new time, one before it the old, and none sees half of it.
//
// There is no cache: a cached time would let a server verify a code
// against a clock another server has already moved.
type Clock struct {
	s *Store

	mu   sync.Mutex
	last time.Time // the last time read, for Now when the database does not answer
}

var (
	_ server.SharedClock = (*Clock)(nil)
	_ server.ClockMover  = (*Clock)(nil)
)

// ErrNoVirtualClock is returned (wrapped) when the database holds no
// virtual clock.
var ErrNoVirtualClock = errors.New("the database has no virtual clock")

// VirtualClock returns the database's virtual clock. If it has none yet,
// the clock is made standing at start, and created is true; otherwise
// start is not used: the clock the other servers run on is kept.
func (s *Store) VirtualClock(ctx context.Context, start time.Time) (c *Clock, created bool, err error) {
	err = s.Update(ctx, func(t server.Tx) error {
		tx := t.(*tx)
		tag, err := tx.execNow("make the virtual clock", `INSERT INTO virtual_clock (sec, nsec) VALUES ($1, $2) ON CONFLICT (one) DO NOTHING`,
			start.Unix(), start.Nanosecond())
		created = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("pgstore: the virtual clock: %w", err)
	}
	c = &Clock{s: s}
	if _, err := c.NowContext(ctx); err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// HasVirtualClock reports whether the database holds a virtual clock: a
// server on a real clock must not share it with servers on the virtual one.
func (s *Store) HasVirtualClock(ctx context.Context) (bool, error) {
	var has bool
	err := s.View(ctx, func(t server.Tx) error {
		var err error
		has, err = t.(*tx).exists("the virtual clock", `SELECT EXISTS (SELECT 1 FROM virtual_clock)`)
		return err
	})
	return has, err
}

// read reads the clock in a transaction.
func (t *tx) readClock() (time.Time, error) {
	var sec int64
	var nsec int32
	if err := t.scanOne("the virtual clock", `SELECT sec, nsec FROM virtual_clock`, nil, &sec, &nsec); err != nil {
		if errors.Is(err, server.ErrNoRecord) {
			return time.Time{}, fmt.Errorf("pgstore: %w: was it deleted? start a server with --virtual-clock to make one", ErrNoVirtualClock)
		}
		return time.Time{}, err
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// NowTx is the clock's time in tx, a transaction of the Clock's store.
//
// The time this store last read or moved the clock is taken as the
// transaction's without a round trip of its own: a check that the clock
// still stands there (tokenlab_clock_is) goes with the transaction's next
// statement, in the same snapshot, and if another server has moved the
// clock meanwhile the transaction fails there, is not kept, and runs again
// on the clock read afresh. So no transaction commits on a time other than
// the clock's at its place in the serial order, and a verification saves
// a round trip (clocks move rarely: once a round in the load test).
func (c *Clock) NowTx(t server.Tx) (time.Time, error) {
	ptx, ok := t.(*tx)
	if !ok {
		return time.Time{}, fmt.Errorf("pgstore: the virtual clock is read in a transaction of its own store, not a %T", t)
	}
	if at, ok := c.s.seenClock(); ok && !ptx.readOnly {
		if err := ptx.write("check the virtual clock", `SELECT tokenlab_clock_is($1, $2)`, at.Unix(), at.Nanosecond()); err != nil {
			return time.Time{}, err
		}
		return at, nil
	}
	at, err := ptx.readClock()
	if err == nil {
		c.remember(at)
	}
	return at, err
}

// NowContext is the clock's time, read in a transaction of its own.
func (c *Clock) NowContext(ctx context.Context) (time.Time, error) {
	var at time.Time
	err := c.s.View(ctx, func(t server.Tx) (err error) {
		at, err = t.(*tx).readClock()
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	c.remember(at)
	return at, nil
}

func (c *Clock) remember(at time.Time) {
	c.mu.Lock()
	c.last = at
	c.mu.Unlock()
	c.s.sawClock(at)
}

// Now is the clock's time, for the callers that cannot be told it failed:
// when the database does not answer within a few seconds, it is the last
// time read. The server reads its clock with NowTx and NowContext, which
// fail instead; Now is for what only shows the time (the web console).
func (c *Clock) Now() time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if at, err := c.NowContext(ctx); err == nil {
		return at
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// StepContext moves the clock by d (which may be negative) for every
// server on the database, and returns the new time.
func (c *Clock) StepContext(ctx context.Context, d time.Duration) (time.Time, error) {
	return c.move(ctx, func(now time.Time) time.Time { return now.Add(d) })
}

// SetContext puts the clock at at for every server on the database.
func (c *Clock) SetContext(ctx context.Context, at time.Time) (time.Time, error) {
	return c.move(ctx, func(time.Time) time.Time { return at })
}

func (c *Clock) move(ctx context.Context, to func(time.Time) time.Time) (time.Time, error) {
	var at time.Time
	err := c.s.Update(ctx, func(t server.Tx) error {
		tx := t.(*tx)
		now, err := tx.readClock()
		if err != nil {
			return err
		}
		at = to(now).UTC()
		return tx.write("move the virtual clock", `UPDATE virtual_clock SET sec = $1, nsec = $2`, at.Unix(), at.Nanosecond())
	})
	if err != nil {
		return time.Time{}, err
	}
	c.remember(at)
	return at, nil
}
