package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// TestHugeIDsAreRefusedOverHTTP: a 900 KiB user_id (or serial, or key)
// fits in a request body, and the server refuses it with bad_request
// before writing anything: the database does not grow and the audit log
// gets no entry (docs/lifecycle.md, “Identifiers”). It used to grow the
// database by megabytes a request.
func TestHugeIDsAreRefusedOverHTTP(t *testing.T) {
	dir := t.TempDir()
	srv, clk, err := servertest.Open(dir, server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, ServiceToken: serviceToken}))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	e := &env{t: t, url: hs.URL, clk: clk, gen: gen, http: hs.Client()}
	e.activeUser("alice", "T1")

	size := func() int64 {
		var n int64
		for _, name := range []string{sqlitestore.FileName, sqlitestore.FileName + "-wal"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	audit := func() int {
		s, b := e.do("GET", "/v1/audit", adminToken, nil)
		e.ok(s, b, 200)
		var es []server.AuditEntry
		if err := json.Unmarshal(b, &es); err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	// The review's 900 KiB user_id is now over the body limit (413); an ID
	// that fits the body is refused by the identifier check (400).
	entries, before := audit(), size()
	s, b := e.do("POST", "/v1/verify", serviceToken, map[string]string{"user_id": strings.Repeat("a", 900<<10), "otp": "12345678"})
	e.refused(s, b, 413, "bad_request")
	huge := strings.Repeat("a", 60<<10)
	for _, c := range []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/v1/verify", serviceToken, map[string]string{"user_id": huge, "otp": "12345678"}},
		{"POST", "/v1/sessions", serviceToken, map[string]string{"user_id": huge, "password": "long password"}},
		{"POST", "/v1/activate", serviceToken, map[string]string{"user_id": huge, "serial": "T1", "otp1": "12345678", "otp2": "12345678"}},
		{"POST", "/v1/activate", serviceToken, map[string]string{"user_id": "alice", "serial": huge, "otp1": "12345678", "otp2": "12345678"}},
		{"POST", "/v1/licence-keys/redeem", serviceToken, map[string]string{"user_id": "alice", "key": huge}},
		{"POST", "/v1/sponsorships", adminToken, map[string]string{"user_id": huge, "serial": "T1"}},
		{"POST", "/v1/accounts", adminToken, map[string]string{"user_id": huge, "email": "h@example.com", "first_name": "H", "last_name": "U", "password": "long password"}},
		{"POST", "/v1/connections", serviceToken, map[string]string{"parent_id": "alice", "child_id": huge}},
		{"POST", "/v1/tokens/T1/suspend", serviceToken, map[string]string{"user_id": huge}},
	} {
		s, b := e.do(c.method, c.path, c.token, c.body)
		e.refused(s, b, 400, "bad_request")
	}
	if n := audit() - entries; n != 0 {
		t.Errorf("the refused requests wrote %d audit entries", n)
	}
	if grew := size() - before; grew > 4<<10 {
		t.Errorf("the database grew by %d bytes on refused requests", grew)
	}
}
