// Package pgstore implements server.Store on PostgreSQL, with
// github.com/jackc/pgx/v5, so that several tokenlab servers — replicas
// behind a load balancer — share one database (tokenlab serve --db).
// SQLite (server/sqlitestore) stays the default for one process.
//
// # Serialisation: SERIALIZABLE, run again on a conflict
//
// The server assumes of its store what SQLite gives it: an Update sees the
// latest committed state and behaves as if no other Update ran beside it.
// Every Update is a SERIALIZABLE transaction, so PostgreSQL gives exactly
// that across processes: when two transactions could not have run one
// after the other — two replicas accepting the same code, two wrong codes
// each adding one to the same failure count, two drift updates of one
// token, two accounts created with one user ID — one of them fails with a
// serialisation failure (SQLSTATE 40001, or a deadlock, 40P01), nothing of
// it is kept, and Update runs its function again on the state the winner
// left, after a short random pause, up to 200 times (each failure means
// another Update committed). The rerun sees the step used and refuses the
// code as replayed; it adds its one to the count the other left.
//
// The alternatives were weighed against that. Row locks (SELECT … FOR
// UPDATE on the token) guard the rows a flow locks and nothing else: a
// read of a missing record (an account being created), a list (an owner's
// tokens) or a flow that forgets a lock would race, and every flow of the
// server would have to know which reads to lock. Conditional updates
// (UPDATE … WHERE last_step < $step) put the rules of the server in SQL.
// One advisory lock around every Update is SQLite's single writer again:
// correct, but all writes of all replicas would queue behind the one in
// progress, each holding it for its round trips to the database, which
// over a network to a managed database caps the whole fleet at a few
// hundred verifications a second. SERIALIZABLE keeps the server's code
// store-agnostic and lets Updates of different tokens run side by side.
//
// Its price is that an Update's function may run more than once, which
// server.Store now says: the server keeps nothing from a run but what it
// writes through the Tx and the results it sets on every run
// (server.TestUpdatesMayRunTwice holds it to that). The tests of this
// package race two stores (two pools, as two processes have) on one
// schema: 48 uses of one code give one acceptance, concurrent wrong codes
// lose no increment, the drift never goes back — and the same races at
// READ COMMITTED accept a code twice (TestReadCommittedAcceptsTwice), so
// the tests can fail.
//
// Views are REPEATABLE READ READ ONLY: a snapshot of the commits before
// they began, which never fails to serialise and holds no one up.
//
// # Round trips
//
// A round trip to the database — a wake-up of the server's backend and
// two system calls on each side — is most of what a verification costs
// here. A transaction's BEGIN goes with its first statement, its writes
// that answer nothing (the upserts, and the audit entries and
// notifications the server appends without their ID, server.LogAppender)
// go with the next statement that must be answered or with the COMMIT,
// and Account reads the owner's tokens in the same round trip (a login
// reads them next). A verification is two round trips: BEGIN, the virtual
// clock's check, the account and its tokens; then the token's update, the
// audit entry and COMMIT together. It would be eight one statement at a
// time. A write that fails is reported by the statement it
// went with, naming itself, and aborts the transaction as it would have
// at once.
//
// # The virtual clock
//
// With --virtual-clock the time is one row of the database (Clock), which
// every replica reads and any replica moves. An Update's time is the one
// in its own transaction (server.SharedClock), so it is the one in force at
// its place in the serial order: an Update serialised after a move has the
// new time, and no replica verifies against a clock another has already
// moved. To save the round trip, an Update takes the time this replica saw
// last and checks it with its next statement, in the same snapshot
// (tokenlab_clock_is, SQLSTATE TL001 when the clock stands elsewhere): an
// Update that took a time the clock has left fails there, keeps nothing,
// and runs again on the clock read afresh. Reads outside a transaction
// (GET /v1/clock) always read the row.
//
// # The sweep
//
// Exclusive holds a session advisory lock for the sweep's duration, so one
// replica sweeps at a time: a sweep asked for meanwhile (a clock move on
// another replica) waits, then does what is left. A replica that dies
// mid-sweep loses its connection and with it the lock; each token's events
// were applied in one transaction, so it leaves each token swept or not,
// never half, and the next sweep does the rest. The lock saves work rather
// than guards data: two sweeps at once would still apply each event once,
// each token's transaction reading it afresh.
//
// # Faults
//
// A database that cannot answer — unreachable, shutting down or starting,
// out of connections — makes a call fail with an error that is
// server.ErrUnavailable (the HTTP API's 503 unavailable); the pool
// reconnects by itself once the database is back. A connection lost during
// COMMIT leaves the outcome unknown, which is said too (still
// unavailable): the client tries again, and a code already accepted is
// then refused as replayed, never accepted twice.
//
// # IDs of the logs
//
// Audit and notification IDs come from identity columns: unique, never
// given again, increasing in insertion order within a transaction and
// between transactions one after the other. Two transactions side by side
// (two replicas) may commit in the other order than their IDs, so a reader
// may see ID 8 a moment before ID 7 appears; listings are by ID, and
// nothing in tokenlab reads the logs from a remembered ID on.
//
// # Schema
//
// Tables as SQLite's — each record a JSON document in a data column, next
// to the columns queries select, order and index by — with keys in
// COLLATE "C" so that lists come in byte order whatever the database's
// collation. The schema_version table counts the migrations applied; Open
// applies the missing ones in one transaction under an advisory lock, so
// replicas starting together do not both migrate, and refuses a database
// a newer tokenlab migrated (ErrSchemaTooNew). Advisory lock keys include
// the schema's name: tokenlab instances on other schemas of one database
// (search_path in the connection string) do not wait for each other.
package pgstore
