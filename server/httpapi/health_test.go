package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// countingStore counts the records its transactions read.
type countingStore struct {
	server.Store
	rows    atomic.Int64
	updates atomic.Int64
	// refuseWrites makes every Update fail, as a full disk or a read-only
	// file system would.
	refuseWrites bool
}

func (s *countingStore) View(ctx context.Context, fn func(server.Tx) error) error {
	return s.Store.View(ctx, func(tx server.Tx) error { return fn(&countingTx{Tx: tx, rows: &s.rows}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(server.Tx) error) error {
	s.updates.Add(1)
	if s.refuseWrites {
		return errors.New("disk I/O error: the disk is full")
	}
	return s.Store.Update(ctx, func(tx server.Tx) error { return fn(&countingTx{Tx: tx, rows: &s.rows}) })
}

// countingTx counts the records of every read that returns records.
type countingTx struct {
	server.Tx
	rows *atomic.Int64
}

// add counts n records read.
func (t *countingTx) add(n int) { t.rows.Add(int64(n)) }

func (t *countingTx) Accounts() ([]server.Account, error) {
	v, err := t.Tx.Accounts()
	t.add(len(v))
	return v, err
}

func (t *countingTx) AccountsDue(at time.Time) ([]server.Account, error) {
	v, err := t.Tx.AccountsDue(at)
	t.add(len(v))
	return v, err
}

func (t *countingTx) Tokens(f server.TokenFilter) ([]server.Token, error) {
	v, err := t.Tx.Tokens(f)
	t.add(len(v))
	return v, err
}

func (t *countingTx) TokensDue(at time.Time) ([]server.Token, error) {
	v, err := t.Tx.TokensDue(at)
	t.add(len(v))
	return v, err
}

func (t *countingTx) Sponsorships(userID string) ([]server.Sponsorship, error) {
	v, err := t.Tx.Sponsorships(userID)
	t.add(len(v))
	return v, err
}

func (t *countingTx) Applications() ([]server.Application, error) {
	v, err := t.Tx.Applications()
	t.add(len(v))
	return v, err
}

func (t *countingTx) Sessions(userID string) ([]server.Session, error) {
	v, err := t.Tx.Sessions(userID)
	t.add(len(v))
	return v, err
}

func (t *countingTx) Notifications(userID string) ([]server.Notification, error) {
	v, err := t.Tx.Notifications(userID)
	t.add(len(v))
	return v, err
}

func (t *countingTx) Audit(target string, limit int) ([]server.AuditEntry, error) {
	v, err := t.Tx.Audit(target, limit)
	t.add(len(v))
	return v, err
}

func (t *countingTx) Account(userID string) (server.Account, error) {
	t.add(1)
	return t.Tx.Account(userID)
}

func (t *countingTx) Token(serial string) (server.Token, error) {
	t.add(1)
	return t.Tx.Token(serial)
}

func (t *countingTx) Heartbeat() (time.Time, error) {
	t.add(1)
	return t.Tx.Heartbeat()
}

// healthServer is the API on a countingStore over SQLite holding n accounts.
func healthServer(t *testing.T, n int, refuseWrites bool) (http.Handler, *countingStore) {
	t.Helper()
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx server.Tx) error {
		for i := range n {
			if err := tx.PutAccount(server.Account{UserID: fmt.Sprintf("user%05d", i), Email: "u@example.com"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.New(server.Config{Store: cs, SeedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	// New writes the seed key's check value; what /healthz does is counted,
	// and refused, from here on.
	cs.refuseWrites = refuseWrites
	cs.updates.Store(0)
	t.Cleanup(func() { srv.Close() })
	return httpapi.New(srv, httpapi.Options{AdminToken: adminToken}), cs
}

func healthz(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	return rec
}

// TestHealthzCostDoesNotGrowWithData: /healthz is unauthenticated, so
// whatever it costs anyone can make the server pay at will. It used to
// load every account. Its cost is counted in records read (not timed):
// with 2,000 accounts it reads no more than with none, and a handful.
func TestHealthzCostDoesNotGrowWithData(t *testing.T) {
	read := map[int]int64{}
	for _, n := range []int{0, 2000} {
		h, cs := healthServer(t, n, false)
		cs.rows.Store(0)
		if rec := healthz(h); rec.Code != 200 {
			t.Fatalf("with %d accounts: %d %s", n, rec.Code, rec.Body)
		}
		read[n] = cs.rows.Load()
	}
	t.Logf("records read by /healthz: %d with no account, %d with 2,000", read[0], read[2000])
	if read[2000] > read[0] || read[2000] > 4 {
		t.Fatalf("/healthz read %d records with 2,000 accounts and %d with none; want the same handful", read[2000], read[0])
	}
}

// TestHealthzSaysWhenWritesFail: a store that answers reads but refuses
// writes (a full disk, a read-only file system) cannot verify a code (each
// acceptance is a write), so /healthz must not say ok: 503, the
// documented JSON error, and no detail for an unauthenticated caller.
func TestHealthzSaysWhenWritesFail(t *testing.T) {
	h, _ := healthServer(t, 3, true)
	rec := healthz(h)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != http.StatusServiceUnavailable || e.Error.Code != "unavailable" {
		t.Fatalf("/healthz on a store that refuses writes: %d %s; want 503 unavailable", rec.Code, rec.Body)
	}
	if strings.Contains(e.Error.Message, "disk") {
		t.Errorf("/healthz tells an unauthenticated caller the store's error: %q", e.Error.Message)
	}
}

// TestHealthzProbesAtMostOncePerSecond: each probe is a durable write, and
// anyone may ask; requests within a second share one probe.
func TestHealthzProbesAtMostOncePerSecond(t *testing.T) {
	h, cs := healthServer(t, 0, false)
	for range 50 {
		if rec := healthz(h); rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	if n := cs.updates.Load(); n != 1 {
		t.Fatalf("50 requests at once made %d writes, want 1", n)
	}
}
