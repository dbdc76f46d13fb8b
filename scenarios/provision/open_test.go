package provision

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
)

func TestOpenRefusesUnknownFormsNamingTheFour(t *testing.T) {
	for _, spec := range []string{"", "foo:bar", "/etc/users.oath", "oath-users:/x", "radius://s@h:1"} {
		_, err := Open(context.Background(), spec, nil)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", spec)
		}
		for _, form := range []string{"oath-usersfile:PATH", "google-authenticator:DIR", "pskc:FILE?users=FILE.csv", "tokenlab+http://HOST:PORT"} {
			if !strings.Contains(err.Error(), form) {
				t.Errorf("Open(%q): %v: does not name %s", spec, err, form)
			}
		}
	}
}

func TestRegisterHandsTheRestOfTheSpecAndTheClock(t *testing.T) {
	var gotRest string
	var gotClock emulator.Clock
	// The registry is the program's: leave it as found, for -count.
	t.Cleanup(func() {
		openersMu.Lock()
		delete(openers, "test+scheme")
		openersMu.Unlock()
	})
	Register("test+scheme", func(_ context.Context, rest string, clk emulator.Clock) (Provisioner, error) {
		gotRest, gotClock = rest, clk
		return nil, errors.New("test opener")
	})
	virtual := clock.NewVirtual(time.Unix(1e9, 0))
	if _, err := Open(context.Background(), "test+scheme://host:1234/x?y=z", virtual); err == nil || err.Error() != "test opener" {
		t.Fatalf("Open: %v, want the opener's error", err)
	}
	if gotRest != "//host:1234/x?y=z" || gotClock != virtual {
		t.Fatalf("opener got %q and %v", gotRest, gotClock)
	}
	// nil reaches the opener as nil: tokenlab+http reads it as "the
	// server's clock", the file provisioners as the system's.
	gotClock = virtual
	_, _ = Open(context.Background(), "test+scheme:x", nil)
	if gotClock != nil {
		t.Fatalf("a nil clock reached the opener as %#v, want nil", gotClock)
	}
	if _, ok := orSystem(nil).(clock.System); !ok {
		t.Fatal("orSystem(nil) is not the system clock")
	}

	defer func() {
		if recover() == nil {
			t.Fatal("registering a scheme twice did not panic")
		}
	}()
	Register("test+scheme", func(context.Context, string, emulator.Clock) (Provisioner, error) { return nil, nil })
}

func TestOpenWithANilClockMakesTokensOnTheSystemClock(t *testing.T) {
	p, err := Open(context.Background(), "oath-usersfile:"+filepath.Join(t.TempDir(), "users.oath"), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.NewUser(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := u.Token.Press()
	if err != nil {
		t.Fatal(err)
	}
	if off := time.Since(d.TokenTime); off < 0 || off > time.Minute {
		t.Fatalf("the token's clock is %v off the system's", off)
	}
}

func TestOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	for spec, want := range map[string]string{
		"oath-usersfile:":                                "no path",
		"oath-usersfile:?digits=8":                       "no path",
		"oath-usersfile:" + dir + "/u?digits=7":          "use 6, 8 or 6,8",
		"oath-usersfile:" + dir + "/u?dgits=8":           `unknown option "dgits": use digits`,
		"oath-usersfile:" + dir + "/u?digits=6&digits=8": "given 2 times",
		"oath-usersfile:" + dir + "/u?digits=%zz":        "percent-encode",
		"oath-usersfile:" + dir + "/nodir/users.oath":    "give a users file this program may write",
		"google-authenticator:" + dir + "/missing":       "is not a directory",
		"google-authenticator:" + dir + "?window=0":      "1 to 100",
		"google-authenticator:" + dir + "?rate_limit=3":  "write N/M",
		"google-authenticator:" + dir + "?reuse=never":   "use allow or disallow",
		"pskc:" + dir + "/tokens.xml":                    "no users file",
		"pskc:" + dir + "/tokens.xml?users=u.csv&key=xy": "not hex",
	} {
		_, err := Open(context.Background(), spec, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q): %v, want an error with %q", spec, err, want)
		}
	}
}
