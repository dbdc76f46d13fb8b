package conformance_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/scenarios/peers"
)

// junit is the part of a JUnit report this test reads.
type junit struct {
	Suites []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Status  string `xml:"status,attr"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestScenariosOnPeers runs `tokenlab scenarios --target radius://…
// --provision …` against the FreeRADIUS peers, as a team would against its
// own deployment: the specs their roles allow (provision and verify — login,
// replay, the window's edges) run and pass, and every other spec is skipped
// with a reason that names the role the target lacks, in the JUnit report.
//
// pam_oath is given window=1 here: the window table (fixtures/scenarios/
// login-window.json) is the guide's one step either side, and a server
// configured otherwise fails it, as it should. google-authenticator's
// recommended WINDOW_SIZE 3 is that window already.
func TestScenariosOnPeers(t *testing.T) {
	requirePeers(t)
	bin := buildTokenlab(t)
	for _, tc := range []struct {
		name string
		peer func(testing.TB, peers.Config) *peers.Peer
		cfg  peers.Config
	}{
		{"pam_oath", peers.StartFreeRADIUSOath, peers.Config{Window: 1, Digits: 8}},
		{"google_authenticator", peers.StartFreeRADIUSGoogleAuth, peers.Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.peer(t, tc.cfg)
			report := filepath.Join(t.TempDir(), "junit.xml")
			cmd := exec.Command(bin, "scenarios", "--target", p.RADIUS, "--provision", p.Provisioner, "--junit-report", report)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatalf("running tokenlab scenarios: %v", err)
			}
			if err != nil {
				t.Fatalf("tokenlab scenarios against %s failed (%v):\n%s", tc.name, err, out.String())
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var j junit
			if err := xml.Unmarshal(b, &j); err != nil {
				t.Fatalf("the JUnit report: %v", err)
			}
			var passed, skipped []string
			for _, s := range j.Suites {
				for _, c := range s.Cases {
					switch {
					case c.Failure != nil:
						t.Errorf("failed: %s: %s", c.Name, c.Failure.Message)
					case c.Skipped != nil:
						skipped = append(skipped, c.Name)
						msg := c.Skipped.Message
						if !strings.Contains(msg, "with provisioner "+strings.SplitN(p.Provisioner, ":", 2)[0]) || !strings.Contains(msg, " role") {
							t.Errorf("skip without a reason naming the provisioner and the missing role: %s: %q", c.Name, msg)
						}
					case strings.Contains(c.Name, "[It]"):
						passed = append(passed, c.Name)
					}
				}
			}
			// The specs that need only provision and verify: the login
			// core, the replay, the unknown account and the window's five
			// rows. A change in the roles shows here.
			if len(passed) < 8 {
				t.Errorf("only %d specs ran and passed against %s, want the 8 that need only provision and verify: %v", len(passed), tc.name, passed)
			}
			for _, want := range []string{"Login", "one step slow", "one step fast"} {
				found := false
				for _, n := range passed {
					found = found || strings.Contains(n, want)
				}
				if !found {
					t.Errorf("no passing spec named %q against %s", want, tc.name)
				}
			}
			t.Logf("%s: %d passed, %d skipped with a role named", tc.name, len(passed), len(skipped))
		})
	}
}
