package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tokenlab/tokenlab/server"
)

// FileName is the name of the database file in the store's directory.
const FileName = "tokenlab.db"

// ErrSchemaTooNew is returned (wrapped) by Open for a database written by a
// newer version of the program, whose schema version this one does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this program supports")

// pragmas are set on every connection, busy_timeout first (the driver runs
// it first whatever the order here).
var pragmas = []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"}

// Store is a server.Store on a SQLite database.
type Store struct {
	w      *sql.DB    // one connection, BEGIN IMMEDIATE: Updates
	wStmts *stmtCache // the committer's prepared statements on w
	wRows  *rowCache  // the committer's cached rows
	r      *sql.DB    // query_only connections: Views

	// Group commit: Updates queue for one committer goroutine.
	queue     chan *queuedUpdate
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// MaxBatch is the most Updates one commit carries.
const MaxBatch = 128

// queuedUpdate is a queued Update and where its outcome goes.
type queuedUpdate struct {
	ctx    context.Context
	fn     func(server.Tx) error
	result chan updateResult
}

type updateResult struct {
	err      error
	panicked any
}

// errClosed is returned by an Update after Close.
var errClosed = errors.New("sqlitestore: the store is closed")

var _ server.Store = (*Store)(nil)

// Open opens (creating if needed) the database FileName in dir (created with
// mode 0700 if missing), applies migrations, and returns the store.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	// Create the file ourselves so that it (and, after it, SQLite's -wal and
	// -shm files) is private to the owner. An empty file is a new database.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}

	w, err := sql.Open("sqlite", dsn(path, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{w: w, wStmts: newStmtCache(w), wRows: newRowCache(maxCachedRowBytes)}
	if err := s.init(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}

	// The read pool is opened after the migrations, on a database already in
	// WAL mode, so its connections never have to write to set it.
	r, err := sql.Open("sqlite", dsn(path, "_query_only=1"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := r.PingContext(context.Background()); err != nil {
		r.Close() // not s.Close: the committer has not started
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s.queue, s.stop, s.done = make(chan *queuedUpdate, MaxBatch), make(chan struct{}), make(chan struct{})
	go s.committer()
	return s, nil
}

// dsn is the driver's name for the database at the absolute path, with the
// pragmas and the extra driver parameters.
func dsn(path string, extra ...string) string {
	// As a URI: the path is percent-encoded, so a '?' or '%' in it is safe.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	q := make([]string, 0, len(pragmas)+len(extra))
	for _, p := range pragmas {
		q = append(q, "_pragma="+url.QueryEscape(p))
	}
	q = append(q, extra...)
	return u.String() + "?" + strings.Join(q, "&")
}

// init checks the connection's settings and migrates the schema.
func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not wal", mode)
	}
	return s.migrate(ctx)
}

// Update runs fn in a serialisable read-write transaction and returns its
// error unchanged; fn's writes are kept only when it returns nil, and the
// call returns only once they are committed and durable.
//
// Group commit: Updates that arrive while a commit is on disk queue up, and
// the next transaction runs them one after another, each inside its own
// savepoint — rolled back alone when it fails or panics — and commits them
// together with one fsync. Each Update still sees every earlier one and is
// acknowledged only after the shared commit; a commit that fails fails every
// Update in it. A panic in fn is re-raised in the caller.
func (s *Store) Update(ctx context.Context, fn func(server.Tx) error) error {
	u := &queuedUpdate{ctx: ctx, fn: fn, result: make(chan updateResult, 1)}
	select {
	case s.queue <- u:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errClosed
	}
	var r updateResult
	select {
	case r = <-u.result:
	case <-s.done:
		// The committer has stopped. It answered u if u was in the queue
		// when it drained it, before done was closed; u sent after that
		// (select picks at random between a free queue and a closed stop)
		// has no one to answer it.
		select {
		case r = <-u.result:
		default:
			return errClosed
		}
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// committer runs queued Updates in batches until Close.
func (s *Store) committer() {
	defer close(s.done)
	for {
		var first *queuedUpdate
		select {
		case first = <-s.queue:
		case <-s.stop:
			for {
				select {
				case u := <-s.queue:
					u.result <- updateResult{err: errClosed}
				default:
					return
				}
			}
		}
		batch := []*queuedUpdate{first}
	drain:
		for len(batch) < MaxBatch {
			select {
			case u := <-s.queue:
				batch = append(batch, u)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch in one transaction, a savepoint per Update.
func (s *Store) commit(batch []*queuedUpdate) {
	results := make([]updateResult, len(batch))
	deliver := func() {
		for i, u := range batch {
			u.result <- results[i]
		}
	}
	sqlTx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range results {
			results[i].err = fmt.Errorf("sqlitestore: begin: %w", err)
		}
		deliver()
		return
	}
	s.checkDataVersion(sqlTx)
	for i, u := range batch {
		if err := u.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		results[i] = runInSavepoint(sqlTx, u, s.wStmts, s.wRows)
	}
	if err := sqlTx.Commit(); err != nil {
		s.wRows.reset()
		for i := range results {
			if results[i].err == nil && results[i].panicked == nil {
				results[i].err = fmt.Errorf("sqlitestore: commit: %w", err)
			}
		}
	}
	deliver()
	s.wStmts.prepareWanted() // the connection is free again
}

// checkDataVersion forgets the cached rows if another connection (another
// process) has committed since the committer's last transaction. The open
// transaction holds the write lock, so none can commit while it runs.
func (s *Store) checkDataVersion(sqlTx *sql.Tx) {
	var v int64
	if err := sqlTx.QueryRow("PRAGMA data_version").Scan(&v); err != nil || v != s.wRows.dataVersion {
		s.wRows.reset()
		s.wRows.dataVersion = v
	}
}

// runInSavepoint runs one Update's fn; its writes are undone if it fails.
func runInSavepoint(sqlTx *sql.Tx, u *queuedUpdate, stmts *stmtCache, rows *rowCache) (res updateResult) {
	// The savepoint statements run whatever the Update's context: a
	// cancelled Update must still be rolled back.
	bg := &tx{ctx: context.Background(), tx: sqlTx, stmts: stmts}
	if _, err := bg.exec("SAVEPOINT u"); err != nil {
		return updateResult{err: fmt.Errorf("sqlitestore: savepoint: %w", err)}
	}
	rows.begin()
	defer func() {
		if p := recover(); p != nil {
			res = updateResult{panicked: p}
		}
		if res.err != nil || res.panicked != nil {
			rows.rollBack()
			if _, err := bg.exec("ROLLBACK TO u"); err != nil {
				rows.reset()
				if res.panicked == nil {
					res.err = errors.Join(res.err, fmt.Errorf("sqlitestore: rollback to savepoint: %w", err))
				}
			}
		}
		if _, err := bg.exec("RELEASE u"); err != nil {
			rows.reset()
			if res.err == nil && res.panicked == nil {
				res.err = fmt.Errorf("sqlitestore: release savepoint: %w", err)
			}
		}
	}()
	err := u.fn(&tx{ctx: u.ctx, tx: sqlTx, stmts: stmts, rows: rows})
	if err == nil {
		err = u.ctx.Err() // cancelled while it ran: as if the transaction were the caller's, nothing is kept
	}
	return updateResult{err: err}
}

// View runs fn in a read-only transaction, which sees the state of the last
// commit before it began. It returns fn's error unchanged.
func (s *Store) View(ctx context.Context, fn func(server.Tx) error) error {
	sqlTx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	defer sqlTx.Rollback()
	return fn(&tx{ctx: ctx, tx: sqlTx})
}

// Close closes the database: queued Updates fail, the one committing
// finishes first.
func (s *Store) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		errs = append(errs, s.wStmts.close()) // the committer has stopped
	})
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}
