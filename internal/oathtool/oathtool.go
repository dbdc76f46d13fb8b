// Package oathtool runs the OATH Toolkit's oathtool (Debian package oathtool)
// as a second, independent implementation of HOTP and TOTP. Tests cross-check
// tokenlab's codes against it; benchmarks use it as a per-call baseline.
package oathtool

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Path returns the oathtool executable, or an error saying how to install it.
func Path() (string, error) {
	p, err := exec.LookPath("oathtool")
	if err != nil {
		return "", fmt.Errorf("oathtool not found: install it with 'apt-get install oathtool' (make test does this)")
	}
	return p, nil
}

// Require returns the oathtool path for a test. Outside CI a missing oathtool
// skips the test; in CI (CI=true) it fails it, because a skipped cross-check
// would let a wrong code land.
func Require(tb testing.TB) string {
	tb.Helper()
	p, err := Path()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (required when CI=true)", err)
		}
		tb.Skip(err)
	}
	return p
}

// TOTP returns oathtool's TOTP code. alg is sha1, sha256 or sha512.
func TOTP(ctx context.Context, secret []byte, alg string, digits int, period time.Duration, at time.Time) (string, error) {
	return run(ctx, "--totp="+alg, "-d", strconv.Itoa(digits),
		"-s", strconv.FormatInt(int64(period/time.Second), 10)+"s",
		"-N", "@"+strconv.FormatInt(at.Unix(), 10), hex.EncodeToString(secret))
}

// HOTP returns oathtool's HOTP code (oathtool's HOTP is HMAC-SHA1 only).
func HOTP(ctx context.Context, secret []byte, digits int, counter uint64) (string, error) {
	return run(ctx, "--hotp", "-d", strconv.Itoa(digits), "-c", strconv.FormatUint(counter, 10), hex.EncodeToString(secret))
}

func run(ctx context.Context, args ...string) (string, error) {
	p, err := Path()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// The secret is the last argument: never echo it.
		return "", fmt.Errorf("oathtool %s: %v: %s", strings.Join(args[:len(args)-1], " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
