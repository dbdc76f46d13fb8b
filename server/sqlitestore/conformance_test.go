package sqlitestore_test

import (
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
	"github.com/tokenlab/tokenlab/server/storetest"
)

// TestConformance runs the store conformance suite on SQLite.
func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T, dir string) server.Store {
		s, err := sqlitestore.Open(dir)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// TestReplicas runs the replica tests: two stores on one database file,
// as two processes would open it.
func TestReplicas(t *testing.T) {
	storetest.RunReplicaTests(t, func(t *testing.T, dir string) server.Store {
		s, err := sqlitestore.Open(dir)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}
