package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// rowModel is what the database should hold: the test's own record of
// the committed accounts and tokens.
type rowModel struct {
	accounts map[string]server.Account
	tokens   map[string]server.Token
}

func (m rowModel) clone() rowModel {
	return rowModel{maps.Clone(m.accounts), maps.Clone(m.tokens)}
}

func (m rowModel) owned(owner string) []server.Token {
	var out []server.Token
	for _, serial := range slices.Sorted(maps.Keys(m.tokens)) {
		if k := m.tokens[serial]; k.OwnerID == owner {
			out = append(out, k)
		}
	}
	return out
}

var errPlanned = errors.New("planned failure")

// openWithOther opens a store and a second connection to its database, as
// another process would have.
func openWithOther(t *testing.T) (*Store, *sql.DB) {
	dir := t.TempDir()
	s := openTestIn(t, dir)
	other, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return s, other
}

// TestRowCacheAgreesWithTheDatabase runs random Updates — some failing,
// some panicking, several at once so that they share a commit — and
// writes from a second connection, as another process would, with a
// cache small enough to drop rows. Every read inside an Update must give
// what the model says is committed plus the Update's own writes, and the
// database read outside the cache must agree with the model.
func TestRowCacheAgreesWithTheDatabase(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { checkRowCache(t, seed) })
	}
}

func checkRowCache(t *testing.T, seed uint64) {
	s, other := openWithOther(t)
	if seed%2 == 0 {
		s.wRows.max = 3000 // a few rows: some reads miss and some lists are incomplete
	}

	rng := rand.New(rand.NewPCG(seed, 99))
	model := rowModel{map[string]server.Account{}, map[string]server.Token{}}
	var mu sync.Mutex // model; the Update functions run one at a time anyway
	owners := []string{"u0", "u1", "u2", "u3"}
	statuses := []server.Status{server.StatusActive, server.StatusSuspended, server.StatusPendingActivation}

	// op is one Update: reads and writes checked against a working copy of
	// the model, kept only if the Update succeeds.
	op := func(r *rand.Rand) error {
		fail, panics := r.IntN(6) == 0, r.IntN(12) == 0
		n := 1 + r.IntN(5)
		choices := make([]int, n)
		for i := range choices {
			choices[i] = r.IntN(100)
		}
		serials := make([]string, n)
		for i := range serials {
			serials[i] = fmt.Sprint("T", r.IntN(12))
		}
		owner, status, step := owners[r.IntN(len(owners))], statuses[r.IntN(len(statuses))], r.Int64N(1000)
		err := s.Update(context.Background(), func(tx server.Tx) error {
			mu.Lock()
			work := model.clone()
			mu.Unlock()
			for i, c := range choices {
				serial := serials[i]
				switch {
				case c < 25: // a login: only the data changes
					k, ok := work.tokens[serial]
					if !ok {
						continue
					}
					k.LastStep, k.FailCount = step+int64(i), i
					if err := tx.PutToken(k); err != nil {
						return err
					}
					work.tokens[serial] = k
				case c < 40: // anything may change
					k := fullToken(serial)
					k.OwnerID, k.Status, k.LastStep = owner, status, step
					if c < 32 {
						k.NextEventAt = at(int(step))
					} else {
						k.NextEventAt = time.Time{}
					}
					if err := tx.PutToken(k); err != nil {
						return err
					}
					work.tokens[serial] = k
				case c < 50:
					a := fullAccount()
					a.UserID, a.Email = owner, fmt.Sprint("e", step)
					if err := tx.PutAccount(a); err != nil {
						return err
					}
					work.accounts[owner] = a
				case c < 70:
					got, err := tx.Token(serial)
					want, ok := work.tokens[serial]
					if ok != (err == nil) || ok && !reflect.DeepEqual(got, want) {
						return fmt.Errorf("token %s: got %+v, %v; want %+v (present %v)", serial, got, err, want, ok)
					}
				case c < 80:
					got, err := tx.Account(owner)
					want, ok := work.accounts[owner]
					if ok != (err == nil) || ok && !reflect.DeepEqual(got, want) {
						return fmt.Errorf("account %s: got %+v, %v; want %+v (present %v)", owner, got, err, want, ok)
					}
				default:
					got, err := tx.Tokens(server.TokenFilter{OwnerID: owner})
					if want := work.owned(owner); err != nil || !reflect.DeepEqual(got, want) {
						return fmt.Errorf("tokens of %s: got %d, %v; want %d", owner, len(got), err, len(want))
					}
				}
			}
			if panics {
				panic(errPlanned)
			}
			if fail {
				return errPlanned
			}
			mu.Lock()
			model = work
			mu.Unlock()
			return nil
		})
		return err
	}
	run := func(r *rand.Rand) (err error) {
		defer func() {
			if p := recover(); p != nil && p != errPlanned {
				panic(p)
			}
		}()
		if err := op(r); err != nil && !errors.Is(err, errPlanned) {
			return err
		}
		return nil
	}

	for round := range 120 {
		// Several Updates at once, so that they share commits.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			r := rand.New(rand.NewPCG(seed, uint64(round*4+w)))
			wg.Go(func() {
				if err := run(r); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		// Now and then another connection changes a token, as another
		// process would: the committer must not answer from its cache.
		if rng.IntN(5) == 0 {
			serial := fmt.Sprint("T", rng.IntN(12))
			if k, ok := model.tokens[serial]; ok {
				k.LastStep = 100000 + int64(round)
				data, err := json.Marshal(k)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := other.Exec(`UPDATE tokens SET data = ? WHERE serial = ?`, string(data), serial); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				model.tokens[serial] = k
				mu.Unlock()
			}
		}
		if s.wRows.bytes > s.wRows.max {
			t.Fatalf("round %d: the cache holds %d bytes, more than its %d", round, s.wRows.bytes, s.wRows.max)
		}
	}
	view(t, s, func(tx server.Tx) error {
		for _, owner := range owners {
			got, err := tx.Tokens(server.TokenFilter{OwnerID: owner})
			if want := model.owned(owner); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("database: tokens of %s: got %d, %v; want %d", owner, len(got), err, len(want))
			}
		}
		return nil
	})
}

// TestRowCacheSeesOtherProcesses: a write committed by another connection
// (another process, such as a second server on the same data directory)
// is seen by the next Update, not hidden by the committer's cache.
func TestRowCacheSeesOtherProcesses(t *testing.T) {
	s, other := openWithOther(t)

	k := fullToken("T1")
	update(t, s, func(tx server.Tx) error { return tx.PutToken(k) })
	update(t, s, func(tx server.Tx) error { // now cached
		_, err := tx.Tokens(server.TokenFilter{OwnerID: k.OwnerID})
		return err
	})

	k.LastStep = 999
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`UPDATE tokens SET data = ? WHERE serial = ?`, string(data), k.Serial); err != nil {
		t.Fatal(err)
	}
	k2 := fullToken("T2")
	data2, err := json.Marshal(k2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`INSERT INTO tokens (serial, owner_id, status, data) VALUES (?, ?, ?, ?)`,
		k2.Serial, k2.OwnerID, string(k2.Status), string(data2)); err != nil {
		t.Fatal(err)
	}

	update(t, s, func(tx server.Tx) error {
		got, err := tx.Token(k.Serial)
		if err != nil || got.LastStep != 999 {
			t.Errorf("token after another process's write: last step %d, %v; want 999", got.LastStep, err)
		}
		owned, err := tx.Tokens(server.TokenFilter{OwnerID: k.OwnerID})
		if err != nil || len(owned) != 2 {
			t.Errorf("tokens of %s after another process's insert: %d, %v; want 2", k.OwnerID, len(owned), err)
		}
		return nil
	})
}
