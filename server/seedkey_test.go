package server_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// openWith opens the database in dir with a seed key.
func openWith(t *testing.T, dir string, key []byte) (*server.Server, error) {
	t.Helper()
	st, err := sqlitestore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, SeedKey: key, Policy: server.Policy{PasswordCost: 4}})
	if err != nil {
		st.Close()
		return nil, err
	}
	t.Cleanup(func() { srv.Close() })
	return srv, nil
}

// TestAnotherSeedKeyIsRefused: a server does not start with a seed key
// other than the one its database's seeds are sealed with — every
// verification would fail and new imports would be sealed under the new
// key (docs/lifecycle.md, “The seed key”).
func TestAnotherSeedKeyIsRefused(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	srv, err := openWith(t, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ImportSeeds(t.Context(), server.AsAdmin("ops"), []seedfile.Token{{Serial: "K1", Secret: []byte("12345678901234567890"), Kind: oath.TOTP, Digits: 8, Period: 30 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	if _, err := openWith(t, dir, newKey(t)); !errors.Is(err, server.ErrSeedKeyMismatch) {
		t.Fatalf("a server with another seed key than its seeds': got %v, want ErrSeedKeyMismatch", err)
	}
	srv, err = openWith(t, dir, bytes.Clone(key))
	if err != nil {
		t.Fatalf("the right key: %v", err)
	}
	srv.Close()

	// A database from before the check value: the key must open a sealed
	// seed, and then the check value is recorded.
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlitestore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM meta`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := openWith(t, dir, newKey(t)); !errors.Is(err, server.ErrSeedKeyMismatch) || !strings.Contains(err.Error(), "K1") {
		t.Fatalf("an older database with another key: got %v, want ErrSeedKeyMismatch naming the seed", err)
	}
	srv, err = openWith(t, dir, key)
	if err != nil {
		t.Fatalf("an older database with the right key: %v", err)
	}
	srv.Close()
	if _, err := openWith(t, dir, newKey(t)); !errors.Is(err, server.ErrSeedKeyMismatch) {
		t.Fatalf("after the check value was recorded, another key: %v", err)
	}
}

// TestNeedsSeedKey: a new database takes any key; once a server has run on
// it (its key's check value is recorded), or it holds a sealed seed, a
// missing key must be restored, and another key is refused.
func TestNeedsSeedKey(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlitestore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if needs, err := server.NeedsSeedKey(t.Context(), st); err != nil || needs {
		t.Fatalf("a new database needs a key: %v %v", needs, err)
	}
	st.Close()
	srv, err := openWith(t, dir, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	st, err = sqlitestore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if needs, err := server.NeedsSeedKey(t.Context(), st); err != nil || !needs {
		t.Fatalf("a database a server ran on does not need its key: %v %v", needs, err)
	}
	if _, err := openWith(t, dir, newKey(t)); !errors.Is(err, server.ErrSeedKeyMismatch) {
		t.Fatalf("another key for an empty database a server ran on: %v", err)
	}
}
