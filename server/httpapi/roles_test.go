package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// account creates an account in an organization with a role, with the
// administrator credential.
func (e *env) orgAccount(user, org string, role server.Role) {
	e.t.Helper()
	s, b := e.do("POST", "/v1/accounts", adminToken, map[string]string{"user_id": user, "email": user + "@example.com",
		"first_name": "A", "last_name": "B", "password": "long password", "organization": org, "role": string(role)})
	e.ok(s, b, 201)
}

// activeMember is activeUser for an account of an organization.
func (e *env) activeMember(user, org, serial string) {
	e.t.Helper()
	e.orgAccount(user, org, server.RoleUser)
	s, b := e.do("POST", "/v1/inventory", adminToken, serial+", "+secretHex+", TOTP, 8, 30\n")
	e.ok(s, b, 201)
	s, b = e.do("POST", "/v1/sponsorships", adminToken, map[string]string{"user_id": user, "serial": serial})
	e.ok(s, b, 201)
	c1 := e.code(e.clk.Now())
	e.clk.Step(30 * time.Second)
	s, b = e.do("POST", "/v1/activate", serviceToken, map[string]string{"user_id": user, "serial": serial, "otp1": c1, "otp2": e.code(e.clk.Now())})
	e.ok(s, b, 200)
	e.clk.Step(30 * time.Second)
}

// refusedWith is refused, and the message is the catalogue's: a refusal
// of the server (a bad_request of the HTTP layer says what is wrong in its
// own words).
func (e *env) refusedWith(status int, body []byte, wantStatus int, code server.Code) {
	e.t.Helper()
	e.refused(status, body, wantStatus, string(code))
	if code == server.CodeBadRequest {
		return
	}
	var r struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &r)
	for _, c := range server.Catalogue {
		if c.Code == code && !strings.Contains(c.Message, "{") && r.Error.Message != c.Message {
			e.t.Fatalf("%s: message %q, want %q", code, r.Error.Message, c.Message)
		}
	}
}

// TestRoleOrgAdminOverHTTP: a portal (the service credential) says an
// organization administrator acts with "by"; every action route refuses
// them outside their organization, and each refusal leaves the token as it
// was. The administrator credential acts for anyone.
func TestRoleOrgAdminOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	e.orgAccount("olga", "Acme", server.RoleOrgAdmin)
	e.activeMember("alice", "Acme", "ACME1")
	e.activeMember("bob", "Globex", "GLOBEX1")

	// Both ways of saying it, on every token action route, on bob's token.
	forms := []map[string]any{
		{"by": "org_admin", "user_id": "olga"},
		{"by": map[string]string{"kind": "org_admin", "id": "olga"}},
	}
	for _, cred := range []string{serviceToken, adminToken} {
		for _, form := range forms {
			for _, action := range []string{"resync", "suspend", "enable", "revoke", "renew"} {
				body := map[string]any{}
				for k, v := range form {
					body[k] = v
				}
				if action == "resync" {
					body["otp1"], body["otp2"] = e.code(e.clk.Now()), e.code(e.clk.Now().Add(30*time.Second))
				}
				before := e.token("GLOBEX1")
				s, b := e.do("POST", "/v1/tokens/GLOBEX1/"+action, cred, body)
				e.refusedWith(s, b, 403, server.CodeForbidden)
				if after := e.token("GLOBEX1"); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("%s by olga changed bob's token:\n%v\n%v", action, before, after)
				}
			}
		}
	}
	// The operator's own routes stay the operator's.
	for _, action := range []string{"reset", "approve"} {
		s, b := e.do("POST", "/v1/tokens/ACME1/"+action, serviceToken, nil)
		e.refused(s, b, 403, "forbidden") // the HTTP layer's: "this needs the administrator credential"
	}

	// On their organization's token they act as an administrator.
	s, b := e.do("POST", "/v1/tokens/ACME1/suspend", serviceToken, forms[1])
	e.ok(s, b, 200)
	if v := e.token("ACME1"); v["status"] != "suspended" || v["suspended_by"] != "admin" {
		t.Fatalf("%v", v)
	}
	s, b = e.do("POST", "/v1/tokens/ACME1/enable", serviceToken, map[string]string{"user_id": "alice"})
	e.refusedWith(s, b, 403, server.CodeForbidden)
	s, b = e.do("POST", "/v1/tokens/ACME1/enable", serviceToken, forms[0])
	e.ok(s, b, 200)

	// A user claiming the role is refused.
	s, b = e.do("POST", "/v1/tokens/ACME1/suspend", serviceToken, map[string]string{"by": "org_admin", "user_id": "alice"})
	e.refusedWith(s, b, 403, server.CodeForbidden)

	// The administrator credential acts for anyone.
	s, b = e.do("POST", "/v1/tokens/GLOBEX1/suspend", adminToken, map[string]string{"by": "admin"})
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/GLOBEX1/enable", adminToken, map[string]string{"by": "admin"})
	e.ok(s, b, 200)

	// Accounts: an organization administrator creates them in their
	// organization, over either credential; the service credential alone
	// creates none.
	newAccount := func(id, org, role string, by any) map[string]any {
		m := map[string]any{"user_id": id, "email": id + "@example.com", "first_name": "N", "last_name": "A", "password": "long password"}
		if org != "" {
			m["organization"] = org
		}
		if role != "" {
			m["role"] = role
		}
		if by != nil {
			m["by"] = by
		}
		return m
	}
	olga := map[string]string{"kind": "org_admin", "id": "olga"}
	s, b = e.do("POST", "/v1/accounts", serviceToken, newAccount("nobody-made", "Acme", "", nil))
	e.refused(s, b, 403, "forbidden") // the HTTP layer's: it says what would do
	for _, c := range []map[string]any{
		newAccount("spy", "Globex", "", olga),
		newAccount("spy", "Acme", "operator_admin", olga),
		newAccount("olga", "Globex", "org_admin", olga), // themselves, elsewhere
		newAccount("spy", "Acme", "", map[string]string{"kind": "org_admin", "id": "alice"}),
		newAccount("spy", "Acme", "", map[string]string{"kind": "user", "id": "alice"}),
	} {
		s, b = e.do("POST", "/v1/accounts", serviceToken, c)
		e.refusedWith(s, b, 403, server.CodeForbidden)
	}
	s, b = e.do("POST", "/v1/accounts", serviceToken, newAccount("carol", "", "", olga))
	e.ok(s, b, 201)
	var carol server.AccountView
	if err := json.Unmarshal(b, &carol); err != nil || carol.Organization != "Acme" || carol.Role != server.RoleUser {
		t.Fatalf("carol: %s", b)
	}
	s, b = e.do("POST", "/v1/accounts", adminToken, newAccount("dave", "Acme", "", olga))
	e.ok(s, b, 201)
	s, b = e.do("GET", "/v1/accounts/olga", serviceToken, nil)
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"organization": "Acme"`) {
		t.Fatalf("olga's organization changed: %s", b)
	}
	if s, _ := e.do("GET", "/v1/accounts/spy", adminToken, nil); s != 404 {
		t.Fatalf("a refused account exists: %d", s)
	}

	// Connections: only accounts of their organization.
	e.orgAccount("bob2", "Globex", server.RoleUser)
	s, b = e.do("POST", "/v1/connections", serviceToken, map[string]any{"parent_id": "bob", "child_id": "bob2", "by": olga})
	e.refusedWith(s, b, 403, server.CodeForbidden)
	s, b = e.do("POST", "/v1/connections", serviceToken, map[string]any{"parent_id": "bob", "child_id": "bob2", "by": "admin"})
	e.refused(s, b, 403, "forbidden")

	// Terms: a user may not accept them; the organization administrator
	// accepts them for the organization.
	s, b = e.do("POST", "/v1/applications", adminToken, map[string]any{"id": "pim", "name": "PIM", "terms": "Be nice.",
		"min_strength": map[string]any{"credential": "password", "level": 1}})
	e.ok(s, b, 201)
	s, b = e.do("POST", "/v1/applications/pim/accept-terms", serviceToken, map[string]string{"user_id": "alice"})
	e.refusedWith(s, b, 403, server.CodeForbidden)
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "carol", "password": "long password"})
	e.ok(s, b, 201)
	var ss server.Session
	_ = json.Unmarshal(b, &ss)
	s, b = e.do("POST", "/v1/sessions/"+ss.ID+"/access", serviceToken, map[string]string{"application_id": "pim"})
	e.refusedWith(s, b, 403, server.CodeTermsNotAccepted)
	s, b = e.do("POST", "/v1/applications/pim/accept-terms", serviceToken, map[string]string{"user_id": "olga"})
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/sessions/"+ss.ID+"/access", serviceToken, map[string]string{"application_id": "pim"})
	e.ok(s, b, 200)
}

// TestRoleByIsCheckedOverHTTP: a malformed "by" is bad_request and acts
// on nothing.
func TestRoleByIsCheckedOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	e.orgAccount("olga", "Acme", server.RoleOrgAdmin)
	e.activeMember("alice", "Acme", "ACME1")
	for _, body := range []string{
		`{"by":"king","user_id":"olga"}`,
		`{"by":5}`,
		`{"by":["org_admin"]}`,
		`{"by":"org_admin"}`,
		`{"by":{"kind":"king","id":"olga"}}`,
		`{"by":{"id":"olga"}}`,
		`{"by":{"kind":"org_admin","id":"olga","org":"Globex"}}`,
		`{"by":{"kind":"org_admin","id":"olga","Kind":"user"}}`,
		`{"by":{"kind":"org_admin","id":"olga"},"user_id":"alice"}`,
		`{"by":{"kind":"org_admin","id":7}}`,
	} {
		s, b := e.do("POST", "/v1/tokens/ACME1/suspend", serviceToken, body)
		if s != 400 || !strings.Contains(string(b), `"bad_request"`) {
			t.Fatalf("%s: %d %s, want 400 bad_request", body, s, b)
		}
	}
	for _, body := range []string{
		`{"user_id":"x","email":"x@example.com","first_name":"X","last_name":"Y","password":"long password","by":{"kind":"org_admin"}}`,
		`{"user_id":"x","email":"x@example.com","first_name":"X","last_name":"Y","password":"long password","by":"org_admin"}`,
	} {
		s, b := e.do("POST", "/v1/accounts", serviceToken, body)
		if s != 400 || !strings.Contains(string(b), `"bad_request"`) {
			t.Fatalf("%s: %d %s, want 400 bad_request", body, s, b)
		}
	}
	if v := e.token("ACME1"); v["status"] != "active" {
		t.Fatalf("%v", v)
	}
}

// TestPasswordChangeOverHTTP: the temporary password a revocation sends
// opens a session marked must_change_password that no application admits
// until POST /v1/accounts/{user_id}/password; the refusals change nothing.
func TestPasswordChangeOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	e.activeMember("tina", "Acme", "TINA1")
	e.orgAccount("ulf", "Acme", server.RoleUser) // password "long password"
	s, b := e.do("POST", "/v1/applications", adminToken, map[string]any{"id": "dash", "name": "Dashboard",
		"min_strength": map[string]any{"credential": "password", "level": 1}})
	e.ok(s, b, 201)
	s, b = e.do("POST", "/v1/tokens/TINA1/revoke", serviceToken, map[string]string{"user_id": "tina"})
	e.ok(s, b, 200)
	s, b = e.do("GET", "/v1/notifications?user_id=tina", adminToken, nil)
	e.ok(s, b, 200)
	var ns []server.Notification
	_ = json.Unmarshal(b, &ns)
	temp := ns[len(ns)-1].Body[strings.LastIndex(ns[len(ns)-1].Body, " ")+1:]

	login := func(password string) string {
		t.Helper()
		s, b := e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "tina", "password": password})
		e.ok(s, b, 201)
		var ss map[string]any
		_ = json.Unmarshal(b, &ss)
		if ss["must_change_password"] != (password == temp) {
			t.Fatalf("login with %s password: %s", map[bool]string{true: "the temporary", false: "a permanent"}[password == temp], b)
		}
		return ss["id"].(string)
	}
	access := func(id string) (int, []byte) {
		return e.do("POST", "/v1/sessions/"+id+"/access", serviceToken, map[string]string{"application_id": "dash"})
	}
	id := login(temp)
	s, b = access(id)
	e.refusedWith(s, b, 403, server.CodePasswordChangeRequired)
	s, b = e.do("DELETE", "/v1/sessions/"+id, serviceToken, nil)
	e.ok(s, b, 204)
	id = login(temp) // still marked: the flag is the account's
	s, b = access(id)
	e.refusedWith(s, b, 403, server.CodePasswordChangeRequired)
	s, b = e.do("GET", "/v1/sessions/"+id, serviceToken, nil)
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"must_change_password": true`) {
		t.Fatalf("session %s", b)
	}

	const path = "/v1/accounts/tina/password"
	for _, c := range []struct {
		body   any
		status int
		code   server.Code
	}{
		{map[string]string{"current": temp, "new": temp}, 422, server.CodePasswordRejected},
		{map[string]string{"current": temp, "new": "short"}, 422, server.CodePasswordRejected},
		{map[string]string{"current": temp, "new": strings.Repeat("x", 73)}, 422, server.CodePasswordRejected},
		{map[string]string{"current": "long password", "new": "a new permanent one"}, 401, server.CodeCredentialsInvalid}, // ulf's
		{map[string]string{"current": "not it at all", "new": "a new permanent one"}, 401, server.CodeCredentialsInvalid},
		{map[string]string{"current": temp}, 400, server.CodeBadRequest},
		{map[string]string{"new": "a new permanent one"}, 400, server.CodeBadRequest},
		{map[string]string{"current": temp, "new": "a new permanent one", "organization": "Globex"}, 400, server.CodeBadRequest},
		{map[string]string{"current": temp, "new": "a new permanent one", "role": "org_admin"}, 400, server.CodeBadRequest},
		{map[string]string{"current": temp, "new": "a new permanent one", "New": "x"}, 400, server.CodeBadRequest},
	} {
		s, b := e.do("POST", path, serviceToken, c.body)
		e.refusedWith(s, b, c.status, c.code)
		s, b = access(id)
		e.refusedWith(s, b, 403, server.CodePasswordChangeRequired)
	}
	s, b = e.do("POST", "/v1/accounts/nobody/password", serviceToken, map[string]string{"current": temp, "new": "a new permanent one"})
	e.refusedWith(s, b, 401, server.CodeCredentialsInvalid)
	s, b = e.do("GET", "/v1/accounts/tina", serviceToken, nil)
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"organization": "Acme"`) || !strings.Contains(string(b), `"temporary_password": true`) || !strings.Contains(string(b), `"role": "user"`) {
		t.Fatalf("tina after the refusals: %s", b)
	}

	s, b = e.do("POST", path, serviceToken, map[string]string{"current": temp, "new": "a new permanent one"})
	e.ok(s, b, 200)
	if !strings.Contains(string(b), `"status": "changed"`) {
		t.Fatalf("%s", b)
	}
	s, b = access(id)
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "tina", "password": temp})
	e.refusedWith(s, b, 401, server.CodeCredentialsInvalid)
	login("a new permanent one")
	// ulf's password is ulf's still.
	s, b = e.do("POST", "/v1/sessions", serviceToken, map[string]string{"user_id": "ulf", "password": "long password"})
	e.ok(s, b, 201)
}
