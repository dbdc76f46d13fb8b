package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A transaction goes to PostgreSQL in as few round trips as it can: each
// one costs a wake-up of the server's backend and two system calls on each
// side, which on a small machine is most of a verification's processor
// time. Its BEGIN waits to go with its first statement; its writes that
// answer nothing (the upserts, the appended log entries) wait to go with
// the next statement that must be answered, or with the COMMIT; Account
// reads the owner's tokens in the same round trip, and the virtual clock's
// time is taken from memory and checked with the next statement
// (Clock.NowTx). A verification is then two round trips (BEGIN, the
// clock's check, the account and its tokens; the token's update, the audit
// entry and COMMIT) where it would be eight. Each batch is one pgx pipeline: statements in order, answered
// in order. A write that fails is reported with the statement it went
// with (naming itself), and the transaction is aborted as it would have
// been at once.

// pending is a statement waiting to go.
type pending struct {
	what, sql string
	args      []any
}

// tx is a server.Tx on one connection of the pool, in one transaction.
type tx struct {
	ctx  context.Context
	conn *pgxpool.Conn
	// begin is the BEGIN not sent yet; "" once it has gone.
	begin string
	// begun: a BEGIN has been sent, so a ROLLBACK must end the transaction.
	begun    bool
	readOnly bool
	queued   []pending
	// failed is the first statement error: PostgreSQL has then aborted
	// the transaction, and every later statement fails.
	failed error
	// owned are the tokens of the owners whose account was read, as
	// stored (Account reads them ahead); dropped when a token is written.
	owned map[string][]string
}

// errReadOnly is a write in a View.
var errReadOnly = errors.New("pgstore: a View does not write")

// fail records err as the transaction's failure, and returns it marked
// unavailable if it is the database's state rather than the statement's.
func (t *tx) fail(err error) error {
	err = classify(err)
	if t.failed == nil {
		t.failed = err
	}
	return err
}

// write queues a statement that answers nothing: it goes with the next
// one that must be answered.
func (t *tx) write(what, sql string, args ...any) error {
	if t.readOnly {
		return fmt.Errorf("%s: %w", what, errReadOnly)
	}
	if t.failed != nil {
		return t.failed
	}
	t.queued = append(t.queued, pending{what, sql, args})
	return nil
}

// stmt is a statement to send now, and how to read its answer.
type stmt struct {
	what, sql string
	args      []any
	read      func(pgx.BatchResults) error
}

// send sends the BEGIN if it has not gone, the queued writes, and the
// statement sql (if not ""), whose answer read reads; it returns the first
// error, the transaction's failure.
func (t *tx) send(what, sql string, args []any, read func(pgx.BatchResults) error) error {
	if sql == "" {
		return t.sendAll()
	}
	errs := t.sendAll(stmt{what, sql, args, read})
	return errs
}

// sendAll is send of several statements, in one round trip; it returns
// the first one's error (a missing row of a later one is its reader's to
// see).
func (t *tx) sendAll(stmts ...stmt) error {
	if t.failed != nil {
		return t.failed
	}
	var b pgx.Batch
	if t.begin != "" {
		b.Queue(t.begin)
	}
	for _, q := range t.queued {
		b.Queue(q.sql, q.args...)
	}
	for _, st := range stmts {
		b.Queue(st.sql, st.args...)
	}
	if b.Len() == 0 {
		return nil
	}
	began, queued := t.begin != "", t.queued
	t.begin, t.queued = "", nil
	t.begun = t.begun || began
	br := t.conn.SendBatch(t.ctx, &b)
	var err, first error // err: a failure; first: the first statement's own answer
	if began {
		if _, e := br.Exec(); e != nil {
			err = fmt.Errorf("begin: %w", e)
		}
	}
	for _, q := range queued {
		if _, e := br.Exec(); e != nil && err == nil {
			err = fmt.Errorf("%s: %w", q.what, e)
		}
	}
	for i, st := range stmts {
		if err != nil {
			break
		}
		e := st.read(br)
		switch {
		case errors.Is(e, pgx.ErrNoRows):
			if i == 0 {
				first = e // a missing row is an answer, not a failure
			}
		case e != nil:
			err = fmt.Errorf("%s: %w", st.what, e)
		}
	}
	if cerr := br.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("%s: %w", stmts0(stmts), cerr)
	}
	if err != nil {
		return t.fail(err)
	}
	return first
}

// stmts0 names the first statement, for an error of the batch.
func stmts0(stmts []stmt) string {
	if len(stmts) == 0 {
		return "flush"
	}
	return stmts[0].what
}

// execNow sends sql now, with what waits, and returns its command tag.
func (t *tx) execNow(what, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.readOnly {
		return pgconn.CommandTag{}, fmt.Errorf("%s: %w", what, errReadOnly)
	}
	var tag pgconn.CommandTag
	err := t.send(what, sql, args, func(br pgx.BatchResults) (err error) {
		tag, err = br.Exec()
		return err
	})
	return tag, err
}

// queryRow sends sql now, with what waits, and scans its one row into
// dest; no row is pgx.ErrNoRows.
func (t *tx) queryRow(what, sql string, args []any, dest ...any) error {
	return t.send(what, sql, args, func(br pgx.BatchResults) error { return br.QueryRow().Scan(dest...) })
}

// query sends sql now, with what waits, and calls each for each row.
func (t *tx) query(what, sql string, args []any, each func(pgx.Rows) error) error {
	return t.send(what, sql, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// commit sends what waits and COMMIT, with ctx. A transaction that sent
// nothing has nothing to commit.
func (t *tx) commit(ctx context.Context) error {
	if !t.begun && len(t.queued) == 0 {
		return nil
	}
	t.ctx = ctx
	return t.send("commit", "COMMIT", nil, func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err == nil && tag.String() == "ROLLBACK" {
			// PostgreSQL answers COMMIT in a failed transaction so.
			return pgx.ErrTxCommitRollback
		}
		return err
	})
}

// end releases the connection, rolling back what was begun and not
// committed. A connection whose ROLLBACK fails is closed, not reused.
func (t *tx) end(ctx context.Context, committed bool) {
	if t.begun && !committed {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if _, err := t.conn.Exec(rctx, "ROLLBACK"); err != nil {
			t.conn.Conn().Close(rctx)
		}
	}
	t.conn.Release()
}
