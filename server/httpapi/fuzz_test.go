package httpapi_test

import (
	"bytes"
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
// input may panic or produce a 5xx, every refusal is the documented JSON
// error, and a body with a key twice in one object (keys equal but for
// case count as one, as encoding/json matches them) is refused by every
// route that reads its body.
func FuzzRequests(f *testing.F) {
	var bodyRoutes []httpapi.Route
	for _, r := range httpapi.Routes() {
		if (r.Method == "POST" || r.Method == "DELETE") && r.Path != "/v1/inventory" {
			bodyRoutes = append(bodyRoutes, r)
		}
	}
	for i := range bodyRoutes {
		for _, b := range []string{`{}`, `{"user_id":"u","otp":"12345678"}`, `{"by":"admin"}`, `{"advance":"1d"}`, `[1,2]`, `{"user_id":1}`, `{"x":`, ``, `null`, `"s"`,
			`{"user_id":"u","User_Id":"v"}`, `{"user_id":"u","user_id":"v"}`, `{"by":"user","BY":"admin"}`,
			`{"min_strength":{"level":1,"level":2}}`, `{"u\u017fer_id":"v"}`,
			`{"number":"+17035550100","method":"text"}`, `{"number":"+17035550100","method":"voice","session_id":"s1"}`,
			`{"user_id":"u","number":"+17035550100"}`, `{"code":"123456"}`, `{"code":"ABCDEFGHJK"}`, `{"outcome":"postal"}`,
			`{"user_id":"u","password":"long password","phone":"+17035550100","phone_code":"123456"}`,
			`{"phone":"+17035550100","phone_code":"123456","otp":"12345678"}`, `{"session_id":"s1","Session_ID":"s2"}`} {
			f.Add(uint8(i), []byte(b))
		}
	}
	srv, clk, err := servertest.Open(f.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	h := httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: clk})
	send := func(r httpapi.Route, body []byte) (string, *httptest.ResponseRecorder) {
		path := strings.NewReplacer("{serial}", "T1", "{id}", "s1", "{user_id}", "u", "{number}", "+17035550100").Replace(r.Path)
		req := httptest.NewRequest(r.Method, path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return path, rec
	}
	// A route that refuses an unknown field reads its body; the others
	// (reset, approve, sweep) ignore it, duplicates and all.
	readsBody := map[string]bool{}
	for _, r := range bodyRoutes {
		_, rec := send(r, []byte(`{"no_such_field":1}`))
		readsBody[r.Path] = rec.Code == 400
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		path, rec := send(r, body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.Method, path, body, rec.Code, rec.Body)
		}
		if readsBody[r.Path] && hasDuplicateKey(body) && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("%s %s %q has a duplicate key: %d %s, want 400", r.Method, path, body, rec.Code, rec.Body)
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

// hasDuplicateKey reports whether the JSON in b has, in some object, two
// keys that encoding/json takes for one (strings.EqualFold), before any
// syntax error. It is the fuzz target's own reading, independent of the
// server's.
func hasDuplicateKey(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object, wantKey bool
		keys            []string
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				for _, prev := range top.keys {
					if strings.EqualFold(prev, k) {
						return true
					}
				}
				top.keys = append(top.keys, k)
				top.wantKey = false
				continue
			}
			stack = stack[:len(stack)-1] // '}'
		} else {
			switch tok {
			case json.Delim('{'), json.Delim('['):
				stack = append(stack, &frame{object: tok == json.Delim('{'), wantKey: tok == json.Delim('{')})
				continue
			case json.Delim(']'):
				stack = stack[:len(stack)-1]
			}
		}
		if len(stack) == 0 {
			return false
		}
		if p := stack[len(stack)-1]; p.object {
			p.wantKey = true
		}
	}
}
