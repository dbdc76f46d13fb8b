package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tokenlab/tokenlab/emulator"
)

// ErrUnknownScheme is a provisioner spec whose scheme no provisioner
// registered: a mistake in how tokenlab was called, not in the system.
var ErrUnknownScheme = errors.New("provision: unknown provisioner")

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes scheme ("tokenlab+http", "oath-usersfile") open with o. The
// provisioners register themselves in init; registering a scheme twice is
// a programming error and panics.
func Register(scheme string, o Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("provision: scheme " + scheme + " registered twice")
	}
	openers[scheme] = o
}

// Open makes the provisioner a spec names: SCHEME:REST, REST being what the
// scheme's provisioner reads ("//HOST:PORT" for tokenlab+http, a path for
// oath-usersfile). Clock is the tokens' true time (nil: the provisioner's
// default, see each provisioner).
func Open(ctx context.Context, spec string, clk emulator.Clock) (Provisioner, error) {
	scheme, rest, ok := strings.Cut(spec, ":")
	openersMu.RLock()
	o, found := openers[scheme]
	known := make([]string, 0, len(openers))
	for s := range openers {
		known = append(known, s+":")
	}
	openersMu.RUnlock()
	if !ok || !found {
		slices.Sort(known)
		return nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownScheme, spec, strings.Join(known, ", "))
	}
	return o(ctx, rest, clk)
}
