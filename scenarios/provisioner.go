package scenarios

import (
	"context"
	"strings"

	"github.com/tokenlab/tokenlab/scenarios/provision"
)

// openProvision opens a --provision spec. A tokenlab+http(s):// provisioner
// takes the administrator credential of --admin-token when one was given
// (provision.Open reads only $TOKENLAB_ADMIN_TOKEN).
func openProvision(ctx context.Context, spec, adminToken string) (provision.Provisioner, error) {
	if rest, ok := strings.CutPrefix(spec, "tokenlab+"); ok && adminToken != "" &&
		(strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://")) {
		return provision.OpenTokenlab(ctx, rest, adminToken, nil)
	}
	return provision.Open(ctx, spec, nil)
}
