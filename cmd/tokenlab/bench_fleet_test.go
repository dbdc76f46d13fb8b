package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/scenarios/peers"
)

// fleetLoad is bench --provision's JSON, as a user's script reads it.
type fleetLoad struct {
	Target      string         `json:"target"`
	Provisioner string         `json:"provisioner"`
	Users       int            `json:"users"`
	Concurrency int            `json:"concurrency"`
	Clock       string         `json:"clock"`
	ProvisionS  *float64       `json:"provision_s"`
	Batch       bool           `json:"provisioned_in_batch"`
	DurationS   float64        `json:"duration_s"`
	Logins      int            `json:"logins"`
	Accepts     int            `json:"accepts"`
	AcceptsPS   float64        `json:"accepts_per_s"`
	P50ms       *float64       `json:"p50_ms"`
	P99ms       *float64       `json:"p99_ms"`
	Rejects     *int           `json:"rejects"`
	RejectMsgs  map[string]int `json:"reject_messages"`
	NoAnswer    *int           `json:"no_answer"`
	Steps       int            `json:"steps"`
}

// benchFleet runs bench --provision with --json and reads its one object.
func benchFleet(t *testing.T, args ...string) fleetLoad {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"bench", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, errOut, out)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(raw) != 1 || raw["fleet_load"] == nil {
		t.Fatalf("want one key, fleet_load:\n%s", out)
	}
	var fl fleetLoad
	if err := json.Unmarshal(raw["fleet_load"], &fl); err != nil {
		t.Fatal(err)
	}
	if fl.ProvisionS == nil || fl.P50ms == nil || fl.P99ms == nil || fl.Rejects == nil || fl.NoAnswer == nil {
		t.Fatalf("a figure is missing:\n%s", out)
	}
	if fl.Accepts == 0 || *fl.Rejects != 0 || *fl.NoAnswer != 0 || fl.Logins != fl.Accepts || fl.AcceptsPS <= 0 || *fl.P99ms < *fl.P50ms || len(fl.RejectMsgs) != 0 {
		t.Fatalf("want every login accepted:\n%s", out)
	}
	if strings.Contains(out, radiusSecret) {
		t.Fatalf("the output shows the shared secret:\n%s", out)
	}
	return fl
}

// TestBenchProvisionTokenlab: bench --provision tokenlab+http drives a
// fleet at the real tokenlab serve --radius --virtual-clock binary; the
// server counted as many accepts as bench did.
func TestBenchProvisionTokenlab(t *testing.T) {
	rs := startRadiusServe(t, buildBinary(t))
	t.Setenv("TOKENLAB_ADMIN_TOKEN", radiusAdminToken)
	fl := benchFleet(t, "--server", "radius://"+radiusSecret+"@"+rs.radius, "--provision", "tokenlab+"+rs.url,
		"--tokens", "20", "--concurrency", "4", "--duration", "1s")
	if fl.Users != 20 || fl.Concurrency != 4 || fl.Clock != "virtual" || !fl.Batch || fl.Provisioner != "tokenlab+http" || fl.Target != "radius://…@"+rs.radius {
		t.Fatalf("%+v", fl)
	}
	req, _ := http.NewRequest("GET", rs.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+radiusAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`tokenlab_radius_requests_total\{client="127.0.0.1/32",kind="access",outcome="accept"\} (\d+)`).FindSubmatch(metrics)
	if m == nil {
		t.Fatalf("no accepts in /metrics:\n%s", metrics)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != fl.Accepts {
		t.Fatalf("the server accepted %d, bench counted %d", n, fl.Accepts)
	}

	// The text form says the same in words.
	code, out, errOut := runCLI(t, "bench", "--server", "radius://"+radiusSecret+"@"+rs.radius, "--provision", "tokenlab+"+rs.url,
		"--tokens", "5", "--concurrency", "2", "--duration", "300ms")
	if code != 0 || !strings.Contains(out, "5 users made with tokenlab+http") || !strings.Contains(out, " 0 rejected, 0 unanswered") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestBenchProvisionPAMOath: the same against FreeRADIUS with pam_oath, on
// a real clock.
func TestBenchProvisionPAMOath(t *testing.T) {
	p := peers.StartFreeRADIUSOath(t, peers.Config{})
	fl := benchFleet(t, "--server", p.RADIUS, "--provision", p.Provisioner, "--tokens", "20", "--concurrency", "4", "--duration", "2s")
	if fl.Users != 20 || fl.Clock != "real" || fl.Batch || fl.Provisioner != "oath-usersfile" {
		t.Fatalf("%+v", fl)
	}
	// A user logs in once a step: 20 users in a run of 2 s see one step, or
	// two when it crosses a boundary.
	if fl.Accepts > 20*fl.Steps || fl.Steps > 2 {
		t.Fatalf("%d accepts in %d steps of 20 users", fl.Accepts, fl.Steps)
	}
}

// TestBenchProvisionUsage: --provision needs a radius:// server and does
// not mix with tokenlab's own load test's flags.
func TestBenchProvisionUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--server", "http://127.0.0.1:1", "--provision", "oath-usersfile:/nonexistent/x"}, "give --server radius://"},
		{[]string{"--server", "radius://" + radiusSecret + "@127.0.0.1:1", "--provision", "oath-usersfile:/x", "--api", "http://127.0.0.1:1"}, "does not mix"},
		{[]string{"--server", "radius://" + radiusSecret + "@127.0.0.1:1", "--provision", "nosuch:thing"}, "unknown provisioner"},
	} {
		code, _, errOut := runCLI(t, append([]string{"bench", "--benchtime", "1ms"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, %s; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
