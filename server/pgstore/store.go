package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenlab/tokenlab/server"
)

// Store is a server.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// beginUpdate begins an Update: SERIALIZABLE; a test lowers it to show
	// what the replica tests catch.
	beginUpdate string
	closed      atomic.Bool
	// retries counts the Updates run again after a serialisation failure,
	// for the tests and the load test's report.
	retries atomic.Int64
	desc    string // the database, for messages

	// clockSeen is the virtual clock's time as this store last read or
	// moved it: an Update takes it as its time and checks it in its next
	// round trip (Clock.NowTx).
	clockMu   sync.Mutex
	clockSeen time.Time
}

// seenClock is the clock's last time seen, if any.
func (s *Store) seenClock() (time.Time, bool) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.clockSeen, !s.clockSeen.IsZero()
}

// sawClock records the clock's time; the zero time forgets it.
func (s *Store) sawClock(at time.Time) {
	s.clockMu.Lock()
	s.clockSeen = at
	s.clockMu.Unlock()
}

var _ server.Store = (*Store)(nil)

// errClosed is returned by an Update or a View after Close.
var errClosed = errors.New("pgstore: the store is closed")

// Open connects to the database of the connection string dsn (a
// postgres:// URL or key=value pairs, as libpq takes them, with pgxpool's
// pool_max_conns and the like), applies migrations, and returns the store.
// It fails if the database cannot be reached before ctx ends.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: the connection string: %w", err)
	}
	// The pool keeps pgxpool's size, 4 connections or the CPUs if more,
	// unless pool_max_conns says otherwise: on 2 cores shared with the
	// database, one replica alone did better with 12–16 (its requests
	// overlap their round trips), two replicas did worse with 16 each than
	// with 4 (the backends contend for the cores): the sum over replicas
	// should stay a small multiple of the database's cores
	// (docs/performance.md, docs/deploy.md).
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A request waits this long at most for a connection to a
		// database that does not answer, then fails as unavailable.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tokenlab"
	}
	// An Update is acknowledged once its commit is durable, whatever the
	// database's default: a server configured with synchronous_commit off
	// would lose acknowledged verifications in a crash, and a lost
	// acceptance is a code that can be used again.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{pool: pool, beginUpdate: "BEGIN ISOLATION LEVEL SERIALIZABLE", desc: describe(cfg)}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: cannot reach the database %s: %w", describe(cfg), err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: %s: %w", describe(cfg), err)
	}
	return s, nil
}

// describe names the database of a configuration, without its password.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%q on %s:%d as %q", c.Database, c.Host, c.Port, c.User)
}

// maxAttempts bounds how many times an Update runs when each attempt
// fails to serialise. Each failure means another Update committed, so an
// Update racing n others for one record needs at most n+1.
const maxAttempts = 200

// Update runs fn in a SERIALIZABLE transaction and returns fn's error
// unchanged; fn's writes are kept only when it returns nil, and the call
// returns only once they are committed (durably, as the server's
// synchronous_commit has it). When PostgreSQL cannot serialise the
// transaction with the ones running beside it (SQLSTATE 40001, or a
// deadlock, 40P01) nothing of it was kept, and fn runs again on the state
// those left (see the package documentation): fn must not keep anything
// but what it writes through the Tx and the results it sets on every run.
func (s *Store) Update(ctx context.Context, fn func(server.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err, retry := s.updateOnce(ctx, fn)
		if !retry {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("pgstore: %w: the transaction conflicted with others %d times in a row: %v", server.ErrUnavailable, attempt, err)
		}
		s.retries.Add(1)
		// A short random pause before the next attempt, so that Updates
		// that failed together do not meet again at once; it waits for the
		// other transactions' commits, and is bounded.
		pause := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(200*time.Microsecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Describe names the database: its name, host, port and user (never a
// password).
func (s *Store) Describe() string { return s.desc }

// Retries is how many times an Update has run again after a serialisation
// failure since Open.
func (s *Store) Retries() int64 { return s.retries.Load() }

// updateOnce is one attempt of an Update: its error, and whether it failed
// to serialise (nothing was kept; try again).
func (s *Store) updateOnce(ctx context.Context, fn func(server.Tx) error) (err error, retry bool) {
	if s.closed.Load() {
		return errClosed, false
	}
	if err := ctx.Err(); err != nil {
		return err, false
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.dbError("connect", err), false
	}
	t := &tx{ctx: ctx, conn: conn, begin: s.beginUpdate}
	committed := false
	defer func() { t.end(ctx, committed) }() // a panic in fn too
	ferr := fn(t)
	if t.failed != nil {
		// A statement failed, so the transaction is aborted, whatever fn
		// made of the error: it may have taken it for a missing record.
		if conflict(t.failed) {
			s.forgetMovedClock(t.failed)
			return t.failed, true
		}
		if ferr == nil || errors.Is(t.failed, server.ErrUnavailable) && !errors.Is(ferr, server.ErrUnavailable) {
			return s.dbError("transaction", t.failed), false
		}
		return ferr, false
	}
	if ferr != nil {
		return ferr, false
	}
	if err := ctx.Err(); err != nil {
		// Cancelled while fn ran: as if the transaction were the caller's,
		// nothing is kept.
		return err, false
	}
	// The commit runs to its end even if the caller gives up meanwhile:
	// an Update returns an error only if nothing was kept.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	err = t.commit(cctx)
	committed = err == nil
	switch {
	case err == nil:
		return nil, false
	case conflict(err):
		s.forgetMovedClock(err)
		return err, true
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return fmt.Errorf("pgstore: commit: the transaction was rolled back: %w", err), false
	case errors.Is(err, server.ErrUnavailable):
		return fmt.Errorf("pgstore: %w: the commit's outcome is unknown (the connection failed while committing): %v", server.ErrUnavailable, err), false
	}
	return fmt.Errorf("pgstore: %w", err), false
}

// commitTimeout bounds how long a commit may take before its outcome is
// called unknown: a database that stopped answering.
const commitTimeout = 30 * time.Second

// rollbackTimeout bounds a ROLLBACK; a connection that does not answer it
// is closed.
const rollbackTimeout = 5 * time.Second

// View runs fn in a read-only REPEATABLE READ transaction, which sees the
// state of the commits before it began (a snapshot; it never fails to
// serialise and holds no one up). It returns fn's error unchanged.
func (s *Store) View(ctx context.Context, fn func(server.Tx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.dbError("connect", err)
	}
	t := &tx{ctx: ctx, conn: conn, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", readOnly: true}
	defer t.end(ctx, false)
	ferr := fn(t)
	switch {
	case t.failed != nil && errors.Is(t.failed, server.ErrUnavailable) && !errors.Is(ferr, server.ErrUnavailable):
		return s.dbError("transaction", t.failed)
	case ferr == nil && t.failed != nil:
		return s.dbError("transaction", t.failed)
	}
	return ferr
}

// Close closes the connections, once the Updates and Views running have
// returned; later ones fail.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.pool.Close()
	return nil
}

// dbError is err from the database, said as what failed.
func (s *Store) dbError(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	if errors.Is(err, server.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("pgstore: %s: %w", what, classify(err))
}

// conflict reports whether err is PostgreSQL's refusal to serialise a
// transaction with others, or a deadlock between them, or a transaction
// that took the virtual clock's time from memory and found it moved
// (clockMoved): nothing of it was kept, and running it again may succeed.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01" || pe.Code == clockMoved)
}

// clockMoved is the SQLSTATE of tokenlab_clock_is: the virtual clock is not
// where the transaction took its time from.
const clockMoved = "TL001"

// forgetMovedClock forgets the clock's time seen if err says it moved, so
// that the transaction's next run reads it afresh.
func (s *Store) forgetMovedClock(err error) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == clockMoved {
		s.sawClock(time.Time{})
	}
}

// unavailableError is a database error that says nothing about the
// request: the database cannot be reached, is starting or stopping, or has
// run out of something. It is server.ErrUnavailable.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string {
	return "the database is unavailable (retry once it is back): " + e.err.Error()
}

func (e *unavailableError) Unwrap() []error { return []error{server.ErrUnavailable, e.err} }

// classify marks err as unavailable when it is the database's or the
// connection's state rather than the statement's: a connection lost or
// refused, the server shutting down or starting (57P01–57P03), out of
// connections or resources (class 53), an I/O error (class 58), a
// connection exception (class 08). A statement's own error (a constraint,
// bad data) stays as it is.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, server.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:2] == "53" || pe.Code[:2] == "58"),
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
			return &unavailableError{err}
		}
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	// Not the server's answer to a statement: the connection's failure
	// (refused, reset, closed, timed out).
	return &unavailableError{err}
}
