package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
)

// forms is what Open takes, for the error that names an unknown one.
const forms = "oath-usersfile:PATH, google-authenticator:DIR, pskc:FILE?users=FILE.csv or tokenlab+http://HOST:PORT"

// ErrUnknownScheme is a provisioner spec whose scheme no provisioner
// registered: a mistake in how tokenlab was called, not in the system.
var ErrUnknownScheme = errors.New("provision: unknown provisioner")

var (
	openersMu sync.RWMutex
	// openers are the provisioners by scheme. tokenlab+http registers itself
	// from its own file, so that this package's file-based provisioners do
	// not depend on the HTTP client.
	openers = map[string]Opener{
		"oath-usersfile":       openOathUsersFile,
		"google-authenticator": openGoogleAuth,
		"pskc":                 openPSKC,
	}
)

// Register makes Open hand specs of scheme (the part before the first
// colon, e.g. "tokenlab+http") to o, with the rest of the spec after that
// colon: for tokenlab+http://HOST:PORT, o receives "//HOST:PORT". It panics
// when scheme is registered twice, as a program that builds two
// provisioners for one scheme is wrong whatever it runs.
func Register(scheme string, o Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if o == nil {
		panic("provision: Register " + scheme + " with a nil Opener")
	}
	if _, dup := openers[scheme]; dup {
		panic("provision: Register called twice for " + scheme)
	}
	openers[scheme] = o
}

// Open makes the provisioner spec names:
//
//	oath-usersfile:PATH[?digits=8]
//	google-authenticator:DIR[?window=3&rate_limit=3/30&reuse=disallow]
//	pskc:FILE?users=FILE.csv[&password=P|&key=HEX]
//	tokenlab+http://HOST:PORT
//
// clk is the tokens' true time. nil is the system's clock for the file
// provisioners, which is what a server with a real clock runs on, and the
// server's own clock for tokenlab+http (virtual or not, as the server says).
func Open(ctx context.Context, spec string, clk emulator.Clock) (Provisioner, error) {
	scheme, rest, ok := strings.Cut(spec, ":")
	openersMu.RLock()
	o := openers[scheme]
	openersMu.RUnlock()
	if !ok || o == nil {
		return nil, fmt.Errorf("%w %q: use %s", ErrUnknownScheme, spec, forms)
	}
	return o(ctx, rest, clk)
}

// splitOptions cuts "PATH?k=v&k=v" into the path and its options, and
// refuses options the provisioner does not know, naming those it does.
func splitOptions(scheme, rest string, known ...string) (string, url.Values, error) {
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", nil, fmt.Errorf("%s: no path: write %s", scheme, usage(scheme))
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return "", nil, fmt.Errorf("%s: options %q: %v: write %s (percent-encode & and = inside values)", scheme, query, err, usage(scheme))
	}
	for k, vs := range v {
		if !slices.Contains(known, k) {
			return "", nil, fmt.Errorf("%s: unknown option %q: use %s", scheme, k, strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return "", nil, fmt.Errorf("%s: option %q given %d times: give it once", scheme, k, len(vs))
		}
	}
	return path, v, nil
}

func usage(scheme string) string {
	switch scheme {
	case "oath-usersfile":
		return "oath-usersfile:PATH or oath-usersfile:PATH?digits=8"
	case "google-authenticator":
		return "google-authenticator:DIR or google-authenticator:DIR?window=3&rate_limit=3/30&reuse=disallow"
	case "pskc":
		return "pskc:FILE?users=FILE.csv"
	}
	return scheme + ":…"
}

// parseDigits reads a digits option: "6", "8" or "6,8".
func parseDigits(scheme, s string) ([]int, error) {
	var ds []int
	for f := range strings.SplitSeq(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || (d != 6 && d != 8) {
			return nil, fmt.Errorf("%s: digits=%q: use 6, 8 or 6,8", scheme, s)
		}
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	sort.Ints(ds)
	return ds, nil
}

// pickDigits is the digit count of a new token: o's when the system takes
// it, else 8 where allowed (the hardware tokens' usual length), else 6.
func pickDigits(name string, allowed []int, o Options) (int, error) {
	if o.Digits != 0 {
		if !slices.Contains(allowed, o.Digits) {
			return 0, fmt.Errorf("%s: %d-digit tokens (it takes %v): %w", name, o.Digits, allowed, ErrDigits)
		}
		return o.Digits, nil
	}
	if slices.Contains(allowed, 8) {
		return 8, nil
	}
	return allowed[0], nil
}

// newUserID is a fresh account name: lower case, since PAM services and
// RADIUS servers may fold case, and long enough never to meet an existing one.
func newUserID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "tl-" + hex.EncodeToString(b), nil
}

// newTOTP makes a fresh 20-byte-secret TOTP token (the RFC 4226 length
// for SHA1) with a 30 s step.
func newTOTP(digits int, clk emulator.Clock) (*emulator.Token, error) {
	secret := make([]byte, 20)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	serial, err := emulator.RandomSerial()
	if err != nil {
		return nil, err
	}
	return emulator.New(emulator.Spec{
		Serial: serial, Secret: secret, Digits: digits, Period: 30 * time.Second, Kind: emulator.TOTP,
	}, clk)
}

// orSystem is clk, or the system's clock when nil: the file provisioners'
// systems run on real time.
func orSystem(clk emulator.Clock) emulator.Clock {
	if clk == nil {
		return clock.System{}
	}
	return clk
}
