package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// downStore is a store whose database has gone away: every call fails
// with server.ErrUnavailable, as server/pgstore's do while PostgreSQL
// restarts.
type downStore struct{ server.Store }

func (downStore) Update(context.Context, func(server.Tx) error) error {
	return fmt.Errorf("pgstore: %w: connection refused", server.ErrUnavailable)
}

func (downStore) View(context.Context, func(server.Tx) error) error {
	return fmt.Errorf("pgstore: %w: connection refused", server.ErrUnavailable)
}

// TestUnavailableStoreIs503: a request that meets a store that cannot
// answer for now is 503 unavailable with Retry-After — not 500, and
// without the cause, which goes to the log.
func TestUnavailableStoreIs503(t *testing.T) {
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	ds := &downStore{Store: st}
	srv, err := server.New(server.Config{Store: st, SeedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := server.New(server.Config{Store: ds, SeedKey: key}); err == nil {
		t.Fatal("server.New on a store that cannot answer succeeded")
	}
	// The server was started while the database answered; it goes away.
	flaky := &switchStore{Store: st}
	srv, err = server.New(server.Config{Store: flaky, SeedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	flaky.down = true
	h := httpapi.New(srv, httpapi.Options{AdminToken: adminToken})
	req := httptest.NewRequest("POST", "/v1/verify", strings.NewReader(`{"user_id":"ann","otp":"12345678"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != http.StatusServiceUnavailable || e.Error.Code != "unavailable" {
		t.Fatalf("a verification on a store that cannot answer: %d %s; want 503 unavailable", rec.Code, rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	if strings.Contains(e.Error.Message, "refused") {
		t.Errorf("the answer tells the cause: %q", e.Error.Message)
	}
}

// switchStore answers until down, then is a downStore.
type switchStore struct {
	server.Store
	down bool
}

func (s *switchStore) Update(ctx context.Context, fn func(server.Tx) error) error {
	if s.down {
		return downStore{}.Update(ctx, fn)
	}
	return s.Store.Update(ctx, fn)
}

func (s *switchStore) View(ctx context.Context, fn func(server.Tx) error) error {
	if s.down {
		return downStore{}.View(ctx, fn)
	}
	return s.Store.View(ctx, fn)
}
