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
	w *sql.DB // one connection, BEGIN IMMEDIATE: Updates
	r *sql.DB // query_only connections: Views
}

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
	s := &Store{w: w}
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
		s.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
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

// Update runs fn in a write transaction, which it commits when fn returns
// nil. It returns fn's error unchanged, or the wrapped error of the commit.
// When fn returns an error or panics, the transaction is rolled back (and
// the panic goes on).
func (s *Store) Update(ctx context.Context, fn func(server.Tx) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			sqlTx.Rollback()
		}
	}()
	if err := fn(&tx{ctx: ctx, tx: sqlTx}); err != nil {
		return err
	}
	committed = true
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return nil
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

// Close closes the database. Transactions still running fail.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}
