package peers

import (
	"context"
	"errors"
	"os"
	"testing"
)

// StartFreeRADIUSOath starts FreeRADIUS with pam_oath for a test (c.System
// is set), stopping it when the test ends; its log is printed if the test
// failed. A peer that cannot run here skips the test, or fails it when
// CI=true.
func StartFreeRADIUSOath(t testing.TB, c Config) *Peer {
	t.Helper()
	c.System = PAMOath
	return startForTest(t, c)
}

// StartFreeRADIUSGoogleAuth is StartFreeRADIUSOath with
// pam_google_authenticator.
func StartFreeRADIUSGoogleAuth(t testing.TB, c Config) *Peer {
	t.Helper()
	c.System = GoogleAuthenticator
	return startForTest(t, c)
}

// Require skips t (fails it when CI=true) unless a peer of system s can
// run here.
func Require(t testing.TB, s System) {
	t.Helper()
	var ni *NotInstalledError
	if err := Available(s); errors.As(err, &ni) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (required when CI=true)", err)
		}
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
}

func startForTest(t testing.TB, c Config) *Peer {
	t.Helper()
	Require(t, c.System)
	p, err := Start(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FreeRADIUS log (%s):\n%s", p.Config.System, p.Log())
		}
		if err := p.Stop(); err != nil {
			t.Errorf("stopping FreeRADIUS: %v", err)
		}
	})
	return p
}
