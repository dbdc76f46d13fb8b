package probe_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/scenarios/probe"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/servertest"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

const (
	secret     = "probe-test-shared-secret-0123"
	adminToken = "probe-test-admin-credential-0123456789"
)

// deployment is an in-process tokenlab server with a virtual clock, its
// API over HTTP (for the provisioner) and a RADIUS front.
type deployment struct {
	srv    *server.Server
	vclk   *server.VirtualClock
	target probe.Target
}

// newDeployment starts the server under pol; legacy puts a RADIUS front of
// the older kind before it (layeh's PacketServer calling Verify: no
// Message-Authenticator asked or given, no retransmission cache, no
// challenge) instead of tokenlab's own.
func newDeployment(t *testing.T, pol server.Policy, legacy bool) deployment {
	t.Helper()
	srv, vclk := servertest.New(t, pol)
	return front(t, srv, vclk, legacy)
}

// realClockDeployment is tokenlab's RADIUS front before a server on the
// machine's clock, which the probe cannot move.
func realClockDeployment(t *testing.T) deployment {
	t.Helper()
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.New(server.Config{Store: st, Clock: clock.System{}, SeedKey: key, Policy: server.Policy{PasswordCost: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return front(t, srv, nil, false)
}

func front(t *testing.T, srv *server.Server, vclk *server.VirtualClock, legacy bool) deployment {
	t.Helper()
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: vclk}))
	t.Cleanup(hs.Close)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if legacy {
		ps := &radius.PacketServer{SecretSource: radius.StaticSecretSource([]byte(secret)), Handler: radius.HandlerFunc(func(w radius.ResponseWriter, r *radius.Request) {
			_, err := srv.Verify(r.Context(), rfc2865.UserName_GetString(r.Packet), rfc2865.UserPassword_GetString(r.Packet))
			code := radius.CodeAccessAccept
			if err != nil {
				code = radius.CodeAccessReject
			}
			w.Write(r.Response(code))
		})}
		go ps.Serve(conn)
		t.Cleanup(func() { ps.Shutdown(context.Background()) })
	} else {
		cs, err := tlradius.ParseClientsBytes([]byte("127.0.0.1 " + secret + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := tlradius.New(tlradius.Config{Service: srv, Clients: cs})
		if err != nil {
			t.Fatal(err)
		}
		go rs.Serve(conn)
		t.Cleanup(func() { rs.Close() })
	}
	prov, err := provision.OpenTokenlab(context.Background(), hs.URL, adminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A request the server rightly ignores waits this long: a bound on
	// real UDP I/O on loopback, not on a TOTP step.
	rc := &radclient.Client{Addr: conn.LocalAddr().String(), Secret: []byte(secret), Timeout: 5 * time.Second}
	return deployment{srv: srv, vclk: vclk, target: probe.Target{RADIUS: rc, Provisioner: prov}}
}

func run(t *testing.T, d deployment) probe.Report {
	t.Helper()
	// An in-process server is done with a request well within 200 ms of
	// answering it; the default second is for servers out of reach.
	rep, err := probe.Run(context.Background(), d.target, probe.Options{NoAnswerTimeout: 300 * time.Millisecond, RetransmitAfter: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", js)
	return rep
}

// expect compares a report with the values a profile would require, so
// that a wrong measurement names its property.
func expect(t *testing.T, rep probe.Report, profile string) {
	t.Helper()
	p, err := probe.ParseProfile([]byte(profile))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range probe.Compare(rep, p) {
		t.Errorf("%s", d)
	}
}

// TestProbeTokenlabDefaults: tokenlab's own RADIUS front under the default
// policy measures as the policy says.
func TestProbeTokenlabDefaults(t *testing.T) {
	d := newDeployment(t, server.Policy{}, false)
	before := d.vclk.Now()
	rep := run(t, d)
	// What the docs tell a team sharing the server: about 26 hours.
	if moved := d.vclk.Now().Sub(before); moved < 24*time.Hour || moved > 27*time.Hour {
		t.Errorf("the probe moved the clock by %v", moved)
	}
	expect(t, rep, `{"window":{"behind":1,"ahead":1},"replay_refused":true,"older_code_refused":true,
		"lockout_threshold":5,"unlocks_by":["resync"],"learns_drift":true,"next_code_challenge":true,
		"digits":8,"digits_accepted":[6,8],"requires_message_authenticator":true,"response_signed":true,
		"retransmission":"cached"}`)
	if rep.Clock != "virtual" || rep.Provisioner != "tokenlab+http" || rep.Target != "radius://…@"+d.target.RADIUS.Addr {
		t.Errorf("clock %q, provisioner %q, target %q", rep.Clock, rep.Provisioner, rep.Target)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P99 < rep.Latency.P50 || rep.Requests < rep.Users || rep.Users < 20 {
		t.Errorf("latency %+v, %d requests, %d users", rep.Latency, rep.Requests, rep.Users)
	}
	for _, k := range []string{"window", "replay_refused", "older_code_refused", "lockout_threshold", "unlocks_by", "learns_drift", "next_code_challenge", "digits", "requires_message_authenticator", "retransmission"} {
		if rep.Notes[k] == "" {
			t.Errorf("no note for %s", k)
		}
	}
}

// TestProbeTokenlabOtherPolicy: the same probe, another policy, other
// measurements — including the password-and-code mode, which the probe
// follows from the server's policy.
func TestProbeTokenlabOtherPolicy(t *testing.T) {
	d := newDeployment(t, server.Policy{LoginWindow: 2, LockoutThreshold: 3, DriftTracking: server.DriftFixed,
		NoNextCodeChallenge: true, RadiusPasswordAndCode: true}, false)
	rep := run(t, d)
	expect(t, rep, `{"window":{"behind":2,"ahead":2},"replay_refused":true,"older_code_refused":true,
		"lockout_threshold":3,"unlocks_by":["resync"],"learns_drift":false,"next_code_challenge":false,
		"requires_message_authenticator":true,"retransmission":"cached"}`)
}

// TestProbeTokenlabRealClock: on a real clock nothing waits. The window
// behind now cannot be measured (the provisioner's activation used the
// steps before now), the clock is not tried as a way out of a lock, and the
// rest is measured as on a virtual clock.
func TestProbeTokenlabRealClock(t *testing.T) {
	rep := run(t, realClockDeployment(t))
	expect(t, rep, `{"window":{"behind":null,"ahead":1},"replay_refused":true,"older_code_refused":true,
		"lockout_threshold":5,"unlocks_by":["resync"],"learns_drift":true,"next_code_challenge":true,
		"digits":8,"requires_message_authenticator":true,"retransmission":"cached"}`)
	if rep.Clock != "real" || !strings.Contains(rep.Notes["window"], "behind not measured") ||
		!strings.Contains(rep.Notes["unlocks_by"], "clock: not tried") || !strings.Contains(rep.Notes["older_code_refused"], "had used that code already") {
		t.Errorf("clock %q, notes %q", rep.Clock, rep.Notes)
	}
}

// TestProbeLegacyFront: a RADIUS front that neither asks for nor gives a
// Message-Authenticator and verifies a retransmission again is reported as
// such; without the next-code challenge the far code is refused.
func TestProbeLegacyFront(t *testing.T) {
	d := newDeployment(t, server.Policy{}, true)
	rep := run(t, d)
	expect(t, rep, `{"window":{"behind":1,"ahead":1},"replay_refused":true,"lockout_threshold":5,
		"learns_drift":true,"next_code_challenge":false,"requires_message_authenticator":false,
		"response_signed":false}`)
	// layeh's PacketServer keeps no answers: the copy, sent once the first
	// is done with, is verified again, and refused as a replay.
	if rep.Retransmission != "processed_again" {
		t.Errorf("retransmission %q, want processed_again", rep.Retransmission)
	}
}

// TestProbeNoAnswer: a target that answers nothing is an error that says
// what to check, not a report of refusals.
func TestProbeNoAnswer(t *testing.T) {
	d := newDeployment(t, server.Policy{}, false)
	rc := *d.target.RADIUS
	rc.Secret = []byte("not-the-shared-secret-012345")
	rc.Timeout = 300 * time.Millisecond
	d.target.RADIUS = &rc
	_, err := probe.Run(context.Background(), d.target, probe.Options{})
	if err == nil || !strings.Contains(err.Error(), "shared secret") {
		t.Fatalf("a wrong secret: %v", err)
	}
}
