// Package sqlitestore implements server.Store on SQLite, with the pure Go
// driver modernc.org/sqlite (no cgo).
//
// The database is one file, tokenlab.db (FileName), in the directory given
// to Open, which is created with mode 0700 if missing; the file itself is
// created with mode 0600, which SQLite carries over to its -wal and -shm
// files. Each record is stored whole as the encoding/json document of its
// server type in a data column, with times in UTC (RFC 3339 with
// nanoseconds), next to the columns the queries select, order and index
// by: a token's owner, status and next event (unix nanoseconds, NULL when
// nothing is scheduled), a session's user and creation time, the target
// and time of an audit entry, and so on.
//
// # Pragmas
//
// Every connection is opened with
//
//	journal_mode=WAL     readers and the writer do not block each other
//	synchronous=FULL     the WAL is synced at every commit
//	foreign_keys=ON
//	busy_timeout=5000    wait up to 5 s for a lock another process holds
//
// WAL with synchronous=FULL is what makes an Update acknowledged only once
// its commit is durable: with synchronous=NORMAL a commit acknowledged just
// before a power loss could be rolled back. Open checks that the database
// really is in WAL mode.
//
// # Serialisation
//
// Updates go through a pool of a single connection (SetMaxOpenConns(1))
// whose transactions start with BEGIN IMMEDIATE (the driver's
// _txlock=immediate), so an Update takes SQLite's write lock when it
// begins rather than when it first writes. Within the process, Updates
// queue for the one connection and run one after the other; across
// processes, BEGIN IMMEDIATE waits (busy_timeout) for the write lock. A
// transaction never has to upgrade a read lock to a write lock, which is
// where SQLite would fail with SQLITE_BUSY instead of waiting, so two
// Updates at once behave as one after the other, as server.Store requires.
//
// Views use a second pool of several connections opened with
// query_only=1, in deferred read transactions that are always rolled back.
// Under WAL a reader sees the last committed state and neither waits for
// the writer nor holds it up, so Views run concurrently with each other
// and with an Update, and a View started from inside an Update's function
// does not deadlock on the single write connection (it sees the state
// before that Update). An Update must not start another Update from
// inside its function: it would wait for the connection it holds, until
// its context ends.
//
// # Group commit and the row cache
//
// Updates are run by one committer goroutine. Those that queue while a
// commit is on disk run next, each in its own savepoint (rolled back alone
// if it fails or panics), and share one COMMIT and fsync; each is
// acknowledged only after that commit. Logins touch only the token's data
// column, so they leave the token indexes alone.
//
// The committer keeps the data text of the accounts and tokens it has read
// or written, and each owner's token serials, so a login reads neither
// from SQLite (rows.go). The cache holds exactly what the committer's
// transaction would read: an Update's writes are dropped from it when its
// savepoint is rolled back, and all of it when a commit fails or another
// connection has committed meanwhile (PRAGMA data_version). Tokens are
// also kept decoded, when what was read or written is certain to decode to
// them (storedToken), and handed out as copies. It is bounded (16 MiB)
// and Views do not use it.
//
// # Migrations
//
// The schema version is SQLite's PRAGMA user_version, which lives in the
// database header and is transactional. Open applies, in one write
// transaction, each entry of an ordered list of SQL scripts past the
// stored version, then sets the version to the length of the list; the
// first script creates the tables. Scripts are only ever appended. A
// database whose version is higher than the list is long (written by a
// newer program) is refused with an error wrapping ErrSchemaTooNew,
// without being changed.
package sqlitestore
