package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/tokenlab/tokenlab/scenarios/harness"
)

func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "tokenlab scenarios")
}

// The minimal target (provision and verify only, as pam_oath over RADIUS)
// proves the role machinery on every go test: a spec that needs no more
// than its roles ran (and passed, or the suite failed), and every other
// spec was skipped with a reason naming the target and each missing role.
// Its specs that ran are the core of login, replay and the window edges.
var _ = ReportAfterSuite("the minimal target runs what its roles allow and skips the rest with the reason", func(r Report) {
	if r.SuiteConfig.LabelFilter != "" || len(r.SuiteConfig.FocusStrings) > 0 || len(r.SuiteConfig.FocusFiles) > 0 {
		return // a filtered run skips specs for its filter, not for their roles
	}
	minimal := harness.Minimal()
	has := roleNames(harness.Provision, harness.Verify)
	ran := 0
	for _, spec := range r.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt || !slices.Contains(spec.Labels(), "target-"+minimal.Name) {
			continue
		}
		var missing []string
		for _, l := range spec.Labels() {
			if role, ok := strings.CutPrefix(l, "needs-"); ok && !has[role] {
				missing = append(missing, "no "+role+" role — ")
			}
		}
		name := spec.FullText()
		switch {
		case len(missing) == 0 && spec.State.Is(types.SpecStateSkipped):
			Fail(fmt.Sprintf("%s: skipped on the minimal target, which has every role it needs: %s", name, spec.Failure.Message))
		case len(missing) == 0:
			ran++
		case !spec.State.Is(types.SpecStateSkipped):
			Fail(fmt.Sprintf("%s: needs %v, but was not skipped on the minimal target (%s)", name, missing, spec.State))
		case !strings.HasPrefix(spec.Failure.Message, minimal.Description+": "):
			Fail(fmt.Sprintf("%s: the skip reason does not name the target: %q", name, spec.Failure.Message))
		default:
			for _, m := range missing {
				if !strings.Contains(spec.Failure.Message, m) {
					Fail(fmt.Sprintf("%s: the skip reason does not say %q: %q", name, m, spec.Failure.Message))
				}
			}
		}
	}
	filtered := r.SuiteConfig.LabelFilter != "" || len(r.SuiteConfig.FocusStrings) > 0 || len(r.SuiteConfig.FocusFiles) > 0
	if !filtered && slices.ContainsFunc(harness.Selected(), func(k harness.Kind) bool { return k.Name == minimal.Name }) && ran < 8 {
		Fail(fmt.Sprintf("only %d specs ran on the minimal target: the login, replay and window-edge specs need no more than provision and verify", ran))
	}
})

// roleNames is a set of role names.
func roleNames(rs ...harness.Role) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[string(r)] = true
	}
	return m
}
