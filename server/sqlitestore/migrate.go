package sqlitestore

import (
	"context"
	"fmt"
)

// migrations are the schema's changes, in order: the database's
// user_version is the number of them applied. Append only; never edit one
// that has been released.
var migrations = []string{
	// 1: the tables.
	`
CREATE TABLE accounts (
	user_id TEXT PRIMARY KEY,
	data    TEXT NOT NULL
);
CREATE TABLE tokens (
	serial        TEXT PRIMARY KEY,
	owner_id      TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL DEFAULT '',
	next_event_at INTEGER, -- unix nanoseconds; NULL: nothing scheduled
	data          TEXT NOT NULL
);
CREATE INDEX tokens_owner_id ON tokens(owner_id);
CREATE INDEX tokens_status ON tokens(status);
CREATE INDEX tokens_next_event_at ON tokens(next_event_at);
CREATE TABLE sponsorships (
	user_id TEXT NOT NULL,
	serial  TEXT NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (user_id, serial)
);
CREATE TABLE licence_keys (
	key  TEXT PRIMARY KEY,
	data TEXT NOT NULL
);
CREATE TABLE applications (
	id   TEXT PRIMARY KEY,
	data TEXT NOT NULL
);
CREATE TABLE terms (
	user_id     TEXT NOT NULL,
	app_id      TEXT NOT NULL,
	accepted_at TEXT NOT NULL, -- RFC 3339, UTC
	PRIMARY KEY (user_id, app_id)
);
CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL, -- unix nanoseconds
	data       TEXT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions(user_id, created_at);
CREATE TABLE notifications (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id TEXT NOT NULL,
	data    TEXT NOT NULL
);
CREATE INDEX notifications_user_id ON notifications(user_id);
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	target TEXT NOT NULL,
	data   TEXT NOT NULL
);
CREATE INDEX audit_target ON audit(target);
`,
	// 2: the audit entry's time as a column, so that the sweep prunes old
	// entries through an index (docs/lifecycle.md, “The audit log”).
	// Existing entries get it from their data, to the millisecond (as
	// SQLite's julianday reads it); the zero time, and any time a unix
	// nanosecond count cannot hold, is NULL: never too old.
	`
ALTER TABLE audit ADD COLUMN at INTEGER; -- unix nanoseconds; NULL: no time
UPDATE audit SET at = CASE
	WHEN substr(json_extract(data, '$.at'), 1, 4) BETWEEN '1678' AND '2261'
	THEN CAST(round((julianday(json_extract(data, '$.at')) - 2440587.5) * 86400000.0) AS INTEGER) * 1000000
END;
CREATE INDEX audit_at ON audit(at);
`,
	// 3: values about the data as a whole: the seed key's check value
	// (docs/lifecycle.md, “The seed key”) and the health check's heartbeat.
	`
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// 4 (organization terms): an application's terms accepted by an
	// organization's administrator for everyone in it (docs/lifecycle.md,
	// “Accounts and roles”). The per-user terms table stays: what it holds
	// was accepted before, and still counts.
	`
CREATE TABLE organization_terms (
	organization TEXT NOT NULL,
	app_id       TEXT NOT NULL,
	accepted_at  TEXT NOT NULL, -- RFC 3339, UTC
	PRIMARY KEY (organization, app_id)
);
`,
	// 5: when the sweep next has something to do for an account (its phone
	// OTP subscription's reminders, expiry and lapse), as for a token.
	// Accounts written before have no subscription: nothing scheduled.
	`
ALTER TABLE accounts ADD COLUMN next_event_at INTEGER; -- unix nanoseconds; NULL: nothing scheduled
CREATE INDEX accounts_next_event_at ON accounts(next_event_at);
`,
}

// migrate brings the schema up to date in one write transaction (BEGIN
// IMMEDIATE, so two processes opening a new database at once do not both
// migrate it).
func (s *Store) migrate(ctx context.Context) error {
	return migrateTo(ctx, s, migrations)
}

func migrateTo(ctx context.Context, s *Store, steps []string) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer sqlTx.Rollback()
	var version int
	if err := sqlTx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version > len(steps) {
		return fmt.Errorf("%w: database version %d, this program knows up to %d", ErrSchemaTooNew, version, len(steps))
	}
	if version < 0 {
		return fmt.Errorf("migrate: bad schema version %d", version)
	}
	if version == len(steps) {
		return nil
	}
	for i := version; i < len(steps); i++ {
		if _, err := sqlTx.ExecContext(ctx, steps[i]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the version is an int we format.
	if _, err := sqlTx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
