package server_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// TestIDsIgnoreCase: serials are upper-case, as printed on the hardware,
// and user IDs lower-case, whatever case a caller writes them in: every
// entry point looks them up so, and a second spelling of a name that
// exists is a conflict (docs/lifecycle.md, “Identifiers”).
func TestIDsIgnoreCase(t *testing.T) {
	f := newFixture(t, server.Policy{})
	secret := []byte("12345678901234567890")
	serials, err := f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{{Serial: "abc1", Secret: secret, Kind: oath.TOTP, Digits: 8}})
	f.ok(err)
	if !slices.Equal(serials, []string{"ABC1"}) {
		t.Errorf("imported serials %v, want [ABC1]", serials)
	}
	if v, err := f.srv.Token(f.ctx, "AbC1"); err != nil || v.Serial != "ABC1" {
		t.Fatalf("token AbC1: %+v, %v", v, err)
	}
	_, err = f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{{Serial: "ABC1", Secret: secret, Kind: oath.TOTP, Digits: 8}})
	f.expectCode(err, server.CodeConflict)
	_, err = f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{{Serial: "x1", Secret: secret, Kind: oath.TOTP, Digits: 8}, {Serial: "X1", Secret: secret, Kind: oath.TOTP, Digits: 8}})
	f.expectCode(err, server.CodeBadRequest)

	acc, err := f.srv.CreateAccount(f.ctx, f.admin, server.NewAccount{UserID: "Alice", Email: "alice@example.com", FirstName: "A", LastName: "L", Password: "correct horse battery"})
	f.ok(err)
	if acc.UserID != "alice" {
		t.Errorf("account Alice is %q, want alice", acc.UserID)
	}
	for _, again := range []string{"alice", "ALICE"} {
		_, err := f.srv.CreateAccount(f.ctx, f.admin, server.NewAccount{UserID: again, Email: "a2@example.com", FirstName: "A", LastName: "L", Password: "correct horse battery"})
		f.expectCode(err, server.CodeConflict)
	}

	_, err = f.srv.Sponsor(f.ctx, f.admin, server.Sponsorship{UserID: "ALICE", Serial: "abc1"})
	f.ok(err)
	gen, _ := oath.NewGenerator(secret, oath.SHA1, 8)
	code := func() string { return gen.Code(uint64(f.clk.Now().Unix() / 30)) }
	c1 := code()
	f.nextStep()
	v, err := f.srv.Activate(f.ctx, "Alice", "Abc1", c1, code())
	f.ok(err)
	if v.OwnerID != "alice" || v.Serial != "ABC1" {
		t.Errorf("activated %+v, want ABC1 on alice", v)
	}
	f.nextStep()
	if _, err := f.srv.Verify(f.ctx, "ALICE", code()); err != nil {
		t.Errorf("verify as ALICE: %v", err)
	}
	if s, err := f.srv.Login(f.ctx, "aLiCe", "correct horse battery", ""); err != nil || s.UserID != "alice" {
		t.Errorf("login as aLiCe: %+v, %v", s, err)
	}
	if ts, err := f.srv.Tokens(f.ctx, server.TokenFilter{OwnerID: "Alice"}); err != nil || len(ts) != 1 {
		t.Errorf("tokens of Alice: %d, %v", len(ts), err)
	}
	if ns, err := f.srv.Notifications(f.ctx, "ALICE"); err != nil || len(ns) == 0 {
		t.Errorf("notifications of ALICE: %d, %v", len(ns), err)
	}
	// The owner acts on their token whatever the case of either.
	if _, err := f.srv.Suspend(f.ctx, server.AsUser("Alice"), "abc1"); err != nil {
		t.Errorf("Alice suspending abc1: %v", err)
	}
}

// TestOtherSpellingsInTheDatabaseRefuseToStart: a database written before
// identifiers ignored case may hold a user ID that is not lower-case or a
// serial that is not upper-case, which lookups would no longer find: the
// server refuses to start, naming them and what to do.
func TestOtherSpellingsInTheDatabaseRefuseToStart(t *testing.T) {
	dir, key := t.TempDir(), newKey(t)
	srv, err := openWith(t, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlitestore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (user_id, data) VALUES ('Bob', '{"user_id":"Bob"}')`,
		`INSERT INTO tokens (serial, data) VALUES ('abc9', '{"serial":"abc9"}')`,
		`DELETE FROM meta WHERE name <> 'seed_key_check'`, // as a database from before the check
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	_, err = openWith(t, dir, key)
	if err == nil {
		t.Fatal("a server started on a database holding account Bob and token abc9")
	}
	if !errors.Is(err, server.ErrOtherSpellings) || !strings.Contains(err.Error(), `"Bob"`) || !strings.Contains(err.Error(), `"abc9"`) {
		t.Fatalf("got %v, want ErrOtherSpellings naming Bob and abc9", err)
	}
	t.Logf("refusal: %v", err)
}
