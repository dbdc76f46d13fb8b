package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/server/client"
)

// openProvision opens a --provision spec. It stands in for
// provision.Open(ctx, spec, nil) until the provisioners land in package
// provision: only tokenlab+http:// (and tokenlab+https://) is read here,
// with harness.TokenlabProvisioner over the HTTP client and the
// administrator credential.
func openProvision(ctx context.Context, spec, adminToken string) (provision.Provisioner, error) {
	rest, ok := strings.CutPrefix(spec, "tokenlab+")
	if !ok || !(strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://")) {
		return nil, fmt.Errorf("provisioner %q: this build reads only tokenlab+http://HOST:PORT", spec)
	}
	c := client.New(rest, adminToken)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cs, err := c.Clock(ctx)
	if err != nil {
		return nil, fmt.Errorf("provisioner %s does not answer: %w", rest, err)
	}
	return harness.TokenlabProvisioner(harness.RemoteTarget(c), cs.Virtual), nil
}
