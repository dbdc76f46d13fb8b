package server_test

import (
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// TestNewRefusesAnInvalidPolicy: a server does not start on a policy it
// cannot run, and says which setting is wrong; zero fields still mean the
// defaults.
func TestNewRefusesAnInvalidPolicy(t *testing.T) {
	open := func(p server.Policy) error {
		st, err := sqlitestore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Config{Store: st, SeedKey: newKey(t), Policy: p})
		if err != nil {
			st.Close()
			return err
		}
		return srv.Close()
	}
	if err := open(server.Policy{PasswordCost: 4}); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	for _, c := range []struct {
		p    server.Policy
		want string
	}{
		{server.Policy{PasswordCost: 4, LockoutThreshold: -1}, "lockout_threshold is -1"},
		{server.Policy{PasswordCost: 4, SyncWindow: 5, LoginWindow: 6, MaxLoginWindow: 6}, "login_window (6) is wider than sync_window (5)"},
		{server.Policy{PasswordCost: 2}, "PasswordCost is 2"},
	} {
		if err := open(c.p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", c.p, err, c.want)
		}
	}
}
