// Package scenarios holds tokenlab's scenario suites: Ginkgo specs that read
// like the hardware token guide ("Given a sponsored token, When the user
// enters the serial and two consecutive codes, Then …"), one file per flow,
// each labelled by its flow (activation, login, lockout, resync, suspension,
// expiry, revocation, multi-account, strength, sessions, drift, phone,
// proofing, password, roles, policy, faults).
//
// The same specs run against every target of harness.Selected(): in make
// test the in-process server through its Go API, over HTTP, over RADIUS
// (codes over loopback UDP, everything else through the Go API), and a
// minimal target (over RADIUS, provision and verify only, as pam_oath
// would be); or a remote server (TOKENLAB_TARGET, or tokenlab scenarios
// --target URL), or a RADIUS server with a provisioner (tokenlab scenarios
// --target radius://SECRET@HOST:PORT --provision P).
//
// A target has roles (harness.Role: provision, verify, reasons, lockout,
// activate, resync, suspend, revoke, expiry, clock, inspect, portal,
// next-code). Each flow declares the roles its specs use, at its Describe
// and per spec, with w.Needs, which labels them needs-ROLE (needs-clock
// for the specs that move the clock); a spec that needs a role its target
// lacks is skipped with the reason, and one that uses a role it did not
// declare fails on every target. The core of login, replay and the login
// window's edges needs only provision and verify, so it runs against any
// RADIUS server.
//
// Cases QA extends without Go live in fixtures/scenarios/*.json (see
// Tables). The specs are in a plain package, not a _test file, so that the
// tokenlab binary can run them (Run) where no Go toolchain is installed.
package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best unqualified
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega" //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server"
)

// flows are the spec groups, one per file; each registers itself in init.
var flows []func(w *harness.World)

func flow(f func(w *harness.World)) bool {
	flows = append(flows, f)
	return true
}

var _ = Describe("tokenlab", func() {
	for _, kind := range harness.Selected() {
		Describe("on the "+kind.Name+" target", Label("target-"+kind.Name), func() {
			w := harness.NewWorld(kind)
			for _, f := range flows {
				f(w)
			}
		})
	}
})

// Every code of the catalogue must be asserted, code and message, by at
// least one spec of a full run, with no exceptions: one where every spec ran on at least one
// target. A filtered run (labels, focus) is not held to it, nor one where a
// spec was skipped everywhere (a target that cannot move its clock, or a
// RADIUS target in front of a system that only checks codes). A target
// without the Reasons role asserts no codes (ExpectRefusal checks only
// that a code was refused); make test's go-api and radius targets together
// run every spec. The report aggregates all parallel processes.
var _ = ReportAfterSuite("every catalogue code is asserted by a spec", func(r Report) {
	if r.SuiteConfig.LabelFilter != "" || len(r.SuiteConfig.FocusStrings) > 0 || len(r.SuiteConfig.FocusFiles) > 0 || !r.SuiteSucceeded {
		return
	}
	ran := map[string]bool{}
	for _, spec := range r.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			continue
		}
		id := specID(spec)
		ran[id] = ran[id] || !spec.State.Is(types.SpecStateSkipped)
	}
	for _, ok := range ran {
		if !ok {
			return // skipped on every target: not a full run
		}
	}
	seen := map[string]bool{}
	for _, spec := range r.SpecReports {
		for _, e := range spec.ReportEntries {
			if e.Name == harness.AssertedCode {
				seen[e.StringRepresentation()] = true
			}
		}
	}
	var missing []string
	for _, e := range server.Catalogue {
		if !seen[string(e.Code)] {
			missing = append(missing, string(e.Code))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		Fail(fmt.Sprintf("no spec asserts these catalogue codes (code and message): %s", strings.Join(missing, ", ")))
	}
})

// specID names a spec the same on every target: its containers but the
// suite's and the target's, and its text.
func specID(spec types.SpecReport) string {
	texts := spec.ContainerHierarchyTexts
	if len(texts) >= 2 {
		texts = texts[2:] // "tokenlab", "on the … target"
	}
	return strings.Join(append(slices.Clone(texts), spec.LeafNodeText), " / ")
}

// skipSummary, when set, is told after the run how many specs were
// skipped for each reason (a role the target lacks, mostly): the
// console's account of skips, which Ginkgo gives one by one only with
// --verbose.
var skipSummary io.Writer

var _ = ReportAfterSuite("skipped specs, by reason", func(r Report) {
	if skipSummary == nil {
		return
	}
	counts := map[string]int{}
	for _, spec := range r.SpecReports {
		if !spec.State.Is(types.SpecStateSkipped) {
			continue
		}
		for _, e := range spec.ReportEntries {
			if e.Name == harness.SkipReason {
				counts[e.StringRepresentation()]++
			}
		}
	}
	if len(counts) == 0 {
		return
	}
	reasons := slices.Sorted(maps.Keys(counts))
	fmt.Fprintln(skipSummary, "\nSkipped, by reason (a spec may have several):")
	for _, reason := range reasons {
		fmt.Fprintf(skipSummary, "  %3d specs: %s\n", counts[reason], reason)
	}
})

// Options are what tokenlab scenarios takes.
type Options struct {
	// Target is a server URL (http:// or https://, a tokenlab server) or a
	// RADIUS server, radius://SECRET@HOST:PORT; empty runs the in-process
	// targets.
	Target, AdminToken string
	// Provision is the provisioner of a RADIUS target, which cannot create
	// tokens: oath-usersfile:PATH, google-authenticator:DIR, pskc:FILE?…,
	// tokenlab+http://HOST:PORT (see package provision).
	Provision   string
	LabelFilter string
	JUnitReport string
	JSONReport  string
	Verbose     bool
	NoColor     bool
	// Tables is the directory of the data tables (fixtures/scenarios).
	Tables string
}

type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// Run runs the suites in this process, as go test would, and reports
// whether they passed; an error is a target or provisioner that could not
// be opened.
func Run(o Options) (bool, error) {
	switch {
	case strings.HasPrefix(o.Target, "radius://"):
		rc, err := radclient.Parse(o.Target)
		if err != nil {
			return false, err
		}
		// UDP may lose a request or its answer; the same packet sent again
		// is answered from the server's retransmission cache, never
		// verified twice, so a loss does not fail a spec.
		rc.Retries = 2
		if o.Provision == "" {
			return false, errors.New("a RADIUS target needs --provision: RADIUS cannot create tokens, so say how the system's users are made (oath-usersfile:PATH, google-authenticator:DIR, pskc:FILE?users=FILE.csv or tokenlab+http://HOST:PORT)")
		}
		prov, err := openProvision(context.Background(), o.Provision, o.AdminToken)
		if err != nil {
			return false, err
		}
		defer prov.Close()
		harness.Override = []harness.Kind{harness.Radius(rc, prov)}
	case o.Provision != "":
		return false, errors.New("--provision is for a RADIUS target (--target radius://SECRET@HOST:PORT)")
	case o.Target != "":
		harness.Override = []harness.Kind{harness.Remote(o.Target, o.AdminToken)}
	}
	if o.Tables != "" {
		TablesDir = o.Tables
	}
	skipSummary = os.Stdout
	suite, reporter := GinkgoConfiguration()
	suite.LabelFilter = o.LabelFilter
	reporter.JUnitReport, reporter.JSONReport = o.JUnitReport, o.JSONReport
	reporter.Verbose, reporter.NoColor = o.Verbose, o.NoColor
	RegisterFailHandler(Fail)
	t := &testingT{}
	ok := RunSpecs(t, "tokenlab scenarios", suite, reporter)
	return ok && !t.failed, nil
}
