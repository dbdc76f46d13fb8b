package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/pgstore"
	"github.com/tokenlab/tokenlab/server/pgstore/pgtest"
	"github.com/tokenlab/tokenlab/server/storetest"
)

// cluster is the PostgreSQL server of this package's tests.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Options{}) }

// admin is a connection to the test database that makes the schemas.
var (
	adminOnce sync.Once
	adminConn *pgxpool.Pool
	adminErr  error
)

// schemaFor is a schema of the test database of its own for dir: the
// conformance suite keys a store's data by a directory.
func schemaFor(t testing.TB, dir string) string {
	t.Helper()
	adminOnce.Do(func() {
		if adminErr = cluster.CreateDatabase(context.Background(), "tokenlab"); adminErr == nil {
			adminConn, adminErr = pgxpool.New(context.Background(), cluster.DSN("tokenlab"))
		}
	})
	if adminErr != nil {
		t.Fatal(adminErr)
	}
	sum := sha256.Sum256([]byte(dir))
	schema := "s_" + hex.EncodeToString(sum[:8])
	if _, err := adminConn.Exec(context.Background(), "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return schema
}

// dsnIn is the connection string of the schema's store.
func dsnIn(schema string, extra ...string) string {
	return cluster.DSN("tokenlab", append([]string{"search_path=" + schema}, extra...)...)
}

// openIn opens a store on the schema, closed when the test ends.
func openIn(t testing.TB, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), dsnIn(schema))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store conformance suite on PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T, dir string) server.Store {
		s, err := pgstore.Open(context.Background(), dsnIn(schemaFor(t, dir)))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// TestReplicas runs the replica tests: two stores (two connection pools,
// as two servers have) on one schema.
func TestReplicas(t *testing.T) {
	storetest.RunReplicaTests(t, func(t *testing.T, dir string) server.Store {
		s, err := pgstore.Open(context.Background(), dsnIn(schemaFor(t, dir)))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// TestCommitsAreDurable: the store's sessions commit synchronously even
// when the database's default says otherwise.
func TestCommitsAreDurable(t *testing.T) {
	schema := schemaFor(t, t.TempDir())
	if err := cluster.Exec(t.Context(), "tokenlab", "ALTER DATABASE tokenlab SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	defer cluster.Exec(context.Background(), "tokenlab", "ALTER DATABASE tokenlab RESET synchronous_commit")
	s := openIn(t, schema)
	var got string
	if err := s.View(t.Context(), func(tx server.Tx) (err error) { got, err = pgstore.Setting(tx, "synchronous_commit"); return err }); err != nil {
		t.Fatal(err)
	}
	if got != "on" {
		t.Fatalf("synchronous_commit in the store's sessions is %q, want on", got)
	}
}
