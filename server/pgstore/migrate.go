package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrSchemaTooNew is returned (wrapped) by Open for a database written by a
// newer version of the program, whose schema version this one does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this program supports")

// migrations are the schema's changes, in order: the schema_version table
// holds how many have been applied. Append only; never edit one that has
// been released.
//
// Keys are COLLATE "C" so that lists come in byte order whatever the
// database's default collation, as SQLite orders them and as
// server/storetest requires. Records are whole JSON documents in a data
// column, as in SQLite, next to the columns the queries select, order and
// index by; times in those columns are unix nanoseconds, NULL for nothing
// scheduled. The tables a login rewrites leave room in their pages
// (fillfactor), so that its update stays on the page (a HOT update) and
// does not touch the indexes.
var migrations = []string{
	// 1: the tables, as of SQLite's version 5.
	`
CREATE TABLE accounts (
	user_id       TEXT COLLATE "C" PRIMARY KEY,
	next_event_at BIGINT,
	data          TEXT NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX accounts_next_event_at ON accounts (next_event_at) WHERE next_event_at IS NOT NULL;
CREATE TABLE tokens (
	serial        TEXT COLLATE "C" PRIMARY KEY,
	owner_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
	status        TEXT COLLATE "C" NOT NULL DEFAULT '',
	next_event_at BIGINT,
	data          TEXT NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX tokens_owner_id ON tokens (owner_id);
CREATE INDEX tokens_status ON tokens (status);
CREATE INDEX tokens_next_event_at ON tokens (next_event_at) WHERE next_event_at IS NOT NULL;
CREATE TABLE sponsorships (
	user_id TEXT COLLATE "C" NOT NULL,
	serial  TEXT COLLATE "C" NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (user_id, serial)
);
CREATE TABLE licence_keys (
	key  TEXT COLLATE "C" PRIMARY KEY,
	data TEXT NOT NULL
);
CREATE TABLE applications (
	id   TEXT COLLATE "C" PRIMARY KEY,
	data TEXT NOT NULL
);
CREATE TABLE terms (
	user_id     TEXT COLLATE "C" NOT NULL,
	app_id      TEXT COLLATE "C" NOT NULL,
	accepted_at TEXT NOT NULL, -- RFC 3339, UTC
	PRIMARY KEY (user_id, app_id)
);
CREATE TABLE organization_terms (
	organization TEXT COLLATE "C" NOT NULL,
	app_id       TEXT COLLATE "C" NOT NULL,
	accepted_at  TEXT NOT NULL, -- RFC 3339, UTC
	PRIMARY KEY (organization, app_id)
);
CREATE TABLE sessions (
	id         TEXT COLLATE "C" PRIMARY KEY,
	user_id    TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL, -- unix nanoseconds
	seq        BIGINT GENERATED ALWAYS AS IDENTITY, -- orders sessions created at the same time
	data       TEXT NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX sessions_user_id ON sessions (user_id, created_at, seq);
CREATE TABLE notifications (
	id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id TEXT COLLATE "C" NOT NULL,
	data    TEXT NOT NULL
);
CREATE INDEX notifications_user_id ON notifications (user_id, id);
CREATE TABLE audit (
	id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	target TEXT COLLATE "C" NOT NULL,
	at     BIGINT, -- unix nanoseconds; NULL: no time
	data   TEXT NOT NULL
);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_at ON audit (at);
CREATE TABLE meta (
	name  TEXT COLLATE "C" PRIMARY KEY,
	value TEXT NOT NULL
);
-- The virtual clock every server on the database shares (Clock): one row,
-- there only once a server has run with a virtual clock.
CREATE TABLE virtual_clock (
	one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
	sec  BIGINT NOT NULL, -- unix seconds
	nsec INTEGER NOT NULL -- and nanoseconds
);
-- A transaction that took the virtual clock's time from the server's
-- memory checks it here, in the round trip of its next statement: it
-- fails with SQLSTATE TL001 (and is run again, on the clock read afresh)
-- if the clock stands elsewhere.
CREATE FUNCTION tokenlab_clock_is(s BIGINT, ns INTEGER) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM virtual_clock WHERE sec = s AND nsec = ns) THEN
		RAISE EXCEPTION 'the virtual clock has moved' USING ERRCODE = 'TL001';
	END IF;
END
$$;
`,
}

// migrate brings the schema up to date in one transaction, under an
// advisory lock so that replicas starting at once do not both migrate
// (DDL is transactional in PostgreSQL: a failed migration leaves nothing).
func (s *Store) migrate(ctx context.Context) error {
	return migrateTo(ctx, s, migrations)
}

func migrateTo(ctx context.Context, s *Store, steps []string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockKey+`)`, "migrate"); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var version int
		err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if version > len(steps) {
			return fmt.Errorf("%w: database version %d, this program knows up to %d: run the newer tokenlab", ErrSchemaTooNew, version, len(steps))
		}
		if version < 0 {
			return fmt.Errorf("migrate: bad schema version %d", version)
		}
		for i := version; i < len(steps); i++ {
			if _, err := tx.Exec(ctx, steps[i]); err != nil {
				return fmt.Errorf("migrate to version %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(steps)); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
}

// lockKey is the SQL of an advisory lock's key for the name in $1: the
// name and the schema's hashed, so that servers on other schemas of the
// same database (each a tokenlab of its own) do not wait for each other.
const lockKey = `hashtextextended('tokenlab ' || $1 || ' ' || current_schema(), 0)`
