package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
)

// stmtCache keeps the writer's statements prepared: under load, parsing
// the same SQL again for every Update took about a quarter of the
// committer's time, and the committer is what bounds durable throughput.
//
// The writer has one connection and a transaction holds it, so a statement
// cannot be prepared on the database while an Update runs: a statement seen
// for the first time is prepared for that transaction only, and on the
// database once the commit has released the connection. Only the committer
// goroutine uses the cache.
type stmtCache struct {
	db     *sql.DB
	ready  map[string]*sql.Stmt
	wanted map[string]bool

	// bound are the ready statements bound to the open transaction, which
	// every Update of a batch shares: binding one again for each use cost
	// more than the lookup.
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache; the store's queries are a fixed set of
// a few dozen, so the bound only guards against a query built from data.
const maxCachedStmts = 256

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, ready: map[string]*sql.Stmt{}, wanted: map[string]bool{}, bound: map[string]*sql.Stmt{}}
}

// get is the prepared statement for query bound to tx, nil (and
// remembered) if it is not prepared yet; a nil cache prepares nothing.
func (c *stmtCache) get(tx *sql.Tx, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if c.tx != tx { // a new batch; the old one's bound statements closed with it
		c.tx = tx
		clear(c.bound)
	}
	if s, ok := c.bound[query]; ok {
		return s
	}
	if s, ok := c.ready[query]; ok {
		// Bound without the Update's context: the statement outlives it.
		b := tx.StmtContext(context.Background(), s)
		c.bound[query] = b
		return b
	}
	if len(c.ready)+len(c.wanted) >= maxCachedStmts {
		return nil
	}
	c.wanted[query] = true
	// Until then, prepared for this transaction: one import Update puts
	// thousands of tokens with the same statements.
	b, err := tx.PrepareContext(context.Background(), query)
	if err != nil {
		return nil // run unprepared, and report the error there
	}
	c.bound[query] = b
	return b
}

// prepareWanted prepares the statements seen since the last call. It must
// run while no transaction holds the writer's connection. A statement that
// fails to prepare is simply left to run unprepared.
func (c *stmtCache) prepareWanted() {
	for q := range c.wanted {
		if s, err := c.db.PrepareContext(context.Background(), q); err == nil {
			c.ready[q] = s
		}
		delete(c.wanted, q)
	}
}

func (c *stmtCache) close() error {
	var errs []error
	for q, s := range c.ready {
		errs = append(errs, s.Close())
		delete(c.ready, q)
	}
	return errors.Join(errs...)
}

// exec, query and queryRow run a statement in the transaction, prepared if
// the transaction's cache has it.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if s := t.stmts.get(t.tx, query); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if s := t.stmts.get(t.tx, query); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if s := t.stmts.get(t.tx, query); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}
