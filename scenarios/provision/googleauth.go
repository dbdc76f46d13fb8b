package provision

import (
	"context"
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tokenlab/tokenlab/emulator"
)

// googleAuth provisions users for pam_google_authenticator configured with
// secret=DIR/${USER} (one file per user in one directory, as a RADIUS
// server's users have no home directories). A file is what the
// google-authenticator command writes with its recommended answers
// (google-authenticator -t -d -r 3 -R 30 -w 3, no scratch codes):
//
//	BASE32SECRET
//	" RATE_LIMIT 3 30
//	" WINDOW_SIZE 3
//	" DISALLOW_REUSE
//	" TOTP_AUTH
//
// that is: at most 3 login attempts (good or bad) per 30 s, the codes of
// the step before, the current one and the one after, and no code of a
// step already used. Options change them: window=N (WINDOW_SIZE, 1 to 100
// codes in all), rate_limit=N/M (N attempts per M seconds) or
// rate_limit=off, reuse=allow or reuse=disallow.
//
// Codes have 6 digits: the module reads 8-digit input as a scratch code.
// Files belong to whoever runs tokenlab; the module wants them owned by
// the user it reads them as (its user= option), unless no_strict_owner.
type googleAuth struct {
	dir       string
	window    int
	rateLimit string // "3 30", or "" for none
	reuse     bool
	clk       emulator.Clock
}

func openGoogleAuth(_ context.Context, rest string, clk emulator.Clock) (Provisioner, error) {
	const scheme = "google-authenticator"
	dir, opts, err := splitOptions(scheme, rest, "window", "rate_limit", "reuse")
	if err != nil {
		return nil, err
	}
	p := &googleAuth{dir: dir, window: 3, rateLimit: "3 30", clk: orSystem(clk)}
	if s := opts.Get("window"); s != "" {
		// The module's own bounds: it refuses a file outside them.
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("%s: window=%q: give the number of codes accepted, 1 to 100 (3: the step before, now and after)", scheme, s)
		}
		p.window = n
	}
	if s := opts.Get("rate_limit"); s != "" {
		if s == "off" {
			p.rateLimit = ""
		} else {
			n, m, ok := strings.Cut(s, "/")
			an, err1 := strconv.Atoi(n)
			am, err2 := strconv.Atoi(m)
			if !ok || err1 != nil || err2 != nil || an < 1 || an > 100 || am < 1 || am > 3600 {
				return nil, fmt.Errorf("%s: rate_limit=%q: write N/M (N attempts, 1 to 100, per M seconds, 1 to 3600) or off", scheme, s)
			}
			p.rateLimit = strconv.Itoa(an) + " " + strconv.Itoa(am)
		}
	}
	switch opts.Get("reuse") {
	case "", "disallow":
	case "allow":
		p.reuse = true
	default:
		return nil, fmt.Errorf("%s: reuse=%q: use allow or disallow", scheme, opts.Get("reuse"))
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: %s is not a directory: give the directory of pam_google_authenticator's secret=DIR/${USER}", scheme, dir)
	}
	return p, nil
}

func (p *googleAuth) Name() string  { return "google-authenticator" }
func (p *googleAuth) Digits() []int { return []int{6} }
func (p *googleAuth) Close() error  { return nil }

// content is a user's file.
func (p *googleAuth) content(secret []byte) string {
	var b strings.Builder
	b.WriteString(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret) + "\n")
	if p.rateLimit != "" {
		b.WriteString(`" RATE_LIMIT ` + p.rateLimit + "\n")
	}
	fmt.Fprintf(&b, "\" WINDOW_SIZE %d\n", p.window)
	if !p.reuse {
		b.WriteString("\" DISALLOW_REUSE\n")
	}
	b.WriteString("\" TOTP_AUTH\n")
	return b.String()
}

func (p *googleAuth) NewUser(_ context.Context, o Options) (User, error) {
	digits, err := pickDigits("google-authenticator", p.Digits(), o)
	if err != nil {
		return User{}, err
	}
	id, err := newUserID()
	if err != nil {
		return User{}, err
	}
	tok, err := newTOTP(digits, p.clk)
	if err != nil {
		return User{}, err
	}
	// 0600 and owned by us: the module refuses a file others may read.
	// O_EXCL: a user file is never overwritten, whoever made it.
	path := filepath.Join(p.dir, id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return User{}, fmt.Errorf("google-authenticator: %w", err)
	}
	if _, err := f.WriteString(p.content(tok.Spec().Secret)); err != nil {
		f.Close()
		os.Remove(path)
		return User{}, fmt.Errorf("google-authenticator: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return User{}, fmt.Errorf("google-authenticator: writing %s: %w", path, err)
	}
	return User{ID: id, Token: tok}, nil
}
