package httpapi_test

import (
	"testing"
)

// TestServiceCredentialMustNameTheUser: with the service credential, a token
// action without user_id used to act as the token's owner, so a portal bug
// (or a forged request through it) suspended or revoked anyone's token. The
// service credential must now say which user acts; the administrator
// credential may still leave it to the owner.
func TestServiceCredentialMustNameTheUser(t *testing.T) {
	e := newEnv(t, true)
	e.activeUser("alice", "A1")
	e.activeUser("bob", "B1")
	e.activeUser("carol", "C1")
	for _, action := range []string{"suspend", "enable", "revoke", "renew"} {
		for _, body := range []any{nil, "{}", map[string]string{"by": "user"}} {
			s, b := e.do("POST", "/v1/tokens/B1/"+action, serviceToken, body)
			e.refused(s, b, 400, "bad_request")
		}
	}
	c1, c2 := e.code(e.clk.Now()), e.code(e.clk.Now().Add(30e9))
	s, b := e.do("POST", "/v1/tokens/C1/resync", serviceToken, map[string]string{"otp1": c1, "otp2": c2})
	e.refused(s, b, 400, "bad_request")
	for serial, want := range map[string]string{"A1": "active", "B1": "active", "C1": "active"} {
		if got := e.token(serial)["status"]; got != want {
			t.Fatalf("%s is %v after refused actions, want %s", serial, got, want)
		}
	}

	// Naming another user is the server's forbidden; naming the owner works.
	s, b = e.do("POST", "/v1/tokens/B1/suspend", serviceToken, map[string]string{"user_id": "alice"})
	e.refused(s, b, 403, "forbidden")
	s, b = e.do("POST", "/v1/tokens/B1/suspend", serviceToken, map[string]string{"user_id": "bob"})
	e.ok(s, b, 200)
	// The administrator credential without user_id: the owner acts, as before.
	s, b = e.do("POST", "/v1/tokens/B1/enable", adminToken, nil)
	e.ok(s, b, 200)
	s, b = e.do("POST", "/v1/tokens/C1/suspend", adminToken, map[string]string{"by": "user"})
	e.ok(s, b, 200)
}
