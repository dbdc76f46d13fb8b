package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// FuzzRequests sends arbitrary bodies to every route that reads one: no
// input may panic or produce a 5xx, and every refusal is the documented
// JSON error.
func FuzzRequests(f *testing.F) {
	var bodyRoutes []httpapi.Route
	for _, r := range httpapi.Routes() {
		if r.Method == "POST" && r.Path != "/v1/inventory" {
			bodyRoutes = append(bodyRoutes, r)
		}
	}
	for i := range bodyRoutes {
		for _, b := range []string{`{}`, `{"user_id":"u","otp":"12345678"}`, `{"by":"admin"}`, `{"advance":"1d"}`, `[1,2]`, `{"user_id":1}`, `{"x":`, ``, `null`, `"s"`} {
			f.Add(uint8(i), []byte(b))
		}
	}
	srv, clk, err := servertest.Open(f.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	h := httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: clk})
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		path := strings.NewReplacer("{serial}", "T1", "{id}", "s1", "{user_id}", "u").Replace(r.Path)
		req := httptest.NewRequest(r.Method, path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.Method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s: refusal is not the JSON error: %s", r.Method, path, rec.Body)
			}
		}
	})
}
