package sqlitestore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// openAtVersion makes a database in dir with only the first n migrations,
// as an older program left it, and runs fill on it.
func openAtVersion(t *testing.T, dir string, n int, fill func(*sql.DB)) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range migrations[:n] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
		t.Fatal(err)
	}
	fill(db)
}

// TestAuditTimeMigration: the audit entries a database of version 1 holds
// get their time column from their data, so the sweep prunes them too.
func TestAuditTimeMigration(t *testing.T) {
	dir := t.TempDir()
	old := time.Date(2024, 1, 2, 3, 4, 5, 987654321, time.UTC)
	recent := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	openAtVersion(t, dir, 1, func(db *sql.DB) {
		for _, e := range []server.AuditEntry{{At: old, Target: "OLD"}, {At: recent, Target: "NEW"}, {Target: "NOTIME"}} {
			data, err := encode(e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO audit (target, data) VALUES (?, ?)`, e.Target, data); err != nil {
				t.Fatal(err)
			}
		}
	})
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ats []sql.NullInt64
	rows, err := s.w.Query(`SELECT at FROM audit ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at sql.NullInt64
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		ats = append(ats, at)
	}
	rows.Close()
	near := func(at sql.NullInt64, want time.Time) bool {
		d := time.Duration(at.Int64 - want.UnixNano())
		return at.Valid && d > -2*time.Millisecond && d < 2*time.Millisecond
	}
	if len(ats) != 3 || !near(ats[0], old) || !near(ats[1], recent) || ats[2].Valid {
		t.Fatalf("at columns after the migration: %+v; want %v and %v to the millisecond, and NULL", ats, old, recent)
	}
	var n int
	err = s.Update(t.Context(), func(tx server.Tx) (err error) {
		n, err = tx.PruneAudit(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("pruning before 2025 deleted %d entries (%v), want the old one", n, err)
	}
}

// TestOrganizationTermsMigration: a database of version 3 keeps the terms
// its users accepted, and gains the organizations' terms, none accepted.
func TestOrganizationTermsMigration(t *testing.T) {
	dir := t.TempDir()
	openAtVersion(t, dir, 3, func(db *sql.DB) {
		if _, err := db.Exec(`INSERT INTO terms (user_id, app_id, accepted_at) VALUES ('u1', 'pim', '2026-01-02T03:04:05Z')`); err != nil {
			t.Fatal(err)
		}
	})
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(t.Context(), func(tx server.Tx) error {
		if ok, err := tx.TermsAccepted("u1", "pim"); !ok || err != nil {
			return fmt.Errorf("the user's acceptance after the migration: %v, %v", ok, err)
		}
		if ok, err := tx.OrganizationTermsAccepted("Acme", "pim"); ok || err != nil {
			return fmt.Errorf("an organization's acceptance nobody made: %v, %v", ok, err)
		}
		return tx.AcceptOrganizationTerms("Acme", "pim", time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	})
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := s.w.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("version %d, %v; want %d", version, err, len(migrations))
	}
}
