package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tokenlab/tokenlab/internal/oathtool"
)

func TestMain(m *testing.M) {
	testscript.Main(removeBuiltBinary{m}, map[string]func(){
		"tokenlab": main,
	})
}

// removeBuiltBinary runs the tests, then removes the binary buildBinary
// built for them.
type removeBuiltBinary struct{ *testing.M }

func (m removeBuiltBinary) Run() int {
	code := m.M.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	if pgCluster != nil {
		pgCluster.Stop()
	}
	return code
}

// TestScripts runs the CLI walkthroughs in testdata/script: the contract of
// the issue (code, token new/press/list/show/rm, fleet new) as a user types it.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TOKENLAB_HOME", filepath.Join(env.WorkDir, "home"))
			return nil
		},
	})
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestExitStatus pins the exit status contract: 0 on success, 2 on a usage
// error, 1 on any other error, each error on one line of stderr.
func TestExitStatus(t *testing.T) {
	home := t.TempDir()
	t.Setenv("TOKENLAB_HOME", home)
	const secret = "3132333435363738393031323334353637383930"
	if code, _, stderr := runCLI(t, "token", "new", "--serial", "HAVE", "--secret-hex", secret); code != 0 {
		t.Fatalf("setup: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "token", "new", "--serial", "DEAD", "--secret-hex", secret); code != 0 {
		t.Fatalf("setup: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "token", "fault", "DEAD", "--dead-button"); code != 0 {
		t.Fatalf("setup: %d %s", code, stderr)
	}
	cases := []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"code", "--secret-hex", secret, "--at", "@59"}, 0, ""},
		{[]string{"code", "--secret-hex", "xyz"}, 2, "--secret-hex is not hex"},
		{[]string{"code", "--secret-hex", "abc"}, 2, "--secret-hex is not hex"},
		{[]string{"code", "--secret-hex", ""}, 2, "empty --secret-hex"},
		{[]string{"code"}, 2, `required flag(s) "secret-hex" not set`},
		{[]string{"code", "--secret-hex", secret, "--digits", "7"}, 2, "invalid --digits 7: use 6 or 8"},
		{[]string{"code", "--secret-hex", secret, "--digits", "seven"}, 2, "invalid argument"},
		{[]string{"code", "--secret-hex", secret, "--period", "0"}, 2, "invalid --period 0"},
		{[]string{"code", "--secret-hex", secret, "--algorithm", "md5"}, 2, `invalid --algorithm "md5": use sha1, sha256 or sha512`},
		{[]string{"code", "--secret-hex", secret, "--at", "yesterday"}, 2, "use @UNIX seconds"},
		{[]string{"code", "--secret-hex", secret, "--at", "@-5"}, 2, "use @UNIX seconds"},
		{[]string{"code", "--secret-hex", secret, "--at", "@5", "--counter", "1"}, 2, "--at and --counter do not mix"},
		{[]string{"code", "--secret-hex", secret, "extra"}, 2, "takes no arguments"},
		{[]string{"code", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"token", "bogus"}, 2, `unknown command "bogus" for 'tokenlab token'`},
		{[]string{"token", "press"}, 2, "needs the SERIAL"},
		{[]string{"token", "press", "NOPE"}, 1, `no such token "NOPE" in ` + filepath.Join(home, "tokens.json")},
		{[]string{"token", "press", "DEAD"}, 1, "button did not register (dead-button fault): clear it with 'tokenlab token fault DEAD --clear'"},
		{[]string{"token", "show", "NOPE"}, 1, "see 'tokenlab token list'"},
		{[]string{"token", "rm", "HAVE", "NOPE"}, 1, `no such token "NOPE"`},
		{[]string{"token", "new", "--serial", "HAVE", "--secret-hex", secret}, 1, "token HAVE already exists"},
		{[]string{"token", "new", "--serial", "bad serial"}, 2, "use letters, digits"},
		{[]string{"token", "new", "--digits", "7"}, 2, "invalid --digits 7"},
		{[]string{"token", "new", "--period", "0"}, 2, "invalid --period 0"},
		{[]string{"token", "new", "--hotp", "--drift-ppm", "4"}, 2, "an HOTP token has no clock"},
		{[]string{"token", "new", "--counter", "4"}, 2, "--counter is for HOTP tokens"},
		{[]string{"token", "new", "--drift-start", "soon"}, 2, "invalid drift start"},
		{[]string{"token", "fault", "HAVE"}, 2, "say which fault"},
		{[]string{"fleet", "new", "--count", "0", "--seed", "s"}, 2, "invalid --count 0"},
		{[]string{"fleet", "new", "--count", "3"}, 2, `required flag(s) "seed" not set`},
		{[]string{"fleet", "new", "--count", "3", "--seed", "s", "--distribution", "pareto"}, 2, "use uniform or normal"},
		{[]string{"device", "list", "--usb", "zz:1"}, 2, "invalid USB id"},
		{[]string{"token", "--store", filepath.Join(home, "HAVE"), "list"}, 0, "no tokens in"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			before, _ := os.ReadFile(filepath.Join(home, "tokens.json"))
			code, _, stderr := runCLI(t, c.args...)
			if code != c.status {
				t.Errorf("exit status %d, want %d (stderr %q)", code, c.status, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, c.stderr)
			}
			if c.status != 0 && strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 {
				t.Errorf("error takes more than one line: %q", stderr)
			}
			if strings.Contains(stderr, secret) {
				t.Errorf("stderr shows the secret: %q", stderr)
			}
			if after, _ := os.ReadFile(filepath.Join(home, "tokens.json")); c.status != 0 && !bytes.Equal(before, after) {
				t.Errorf("a failed command changed the store")
			}
		})
	}
}

// TestCodeCommandAgreesWithOathtool checks the CLI contract end to end: the
// code tokenlab prints equals oathtool's for the same secret and time.
func TestCodeCommandAgreesWithOathtool(t *testing.T) {
	oathtool.Require(t)
	rng := rand.New(rand.NewPCG(7, 8))
	ctx := context.Background()
	for range 100 {
		secret := make([]byte, 1+rng.IntN(64))
		for i := range secret {
			secret[i] = byte(rng.Uint32())
		}
		alg := []string{"sha1", "sha256", "sha512"}[rng.IntN(3)]
		digits := []int{6, 8}[rng.IntN(2)]
		period := []int{30, 60}[rng.IntN(2)]
		at := time.Unix(rng.Int64N(4102444800), 0)
		code, stdout, stderr := runCLI(t, "code", "--secret-hex", hex.EncodeToString(secret), "--algorithm", alg,
			"--digits", strconv.Itoa(digits), "--period", strconv.Itoa(period), "--at", "@"+strconv.FormatInt(at.Unix(), 10))
		if code != 0 {
			t.Fatalf("tokenlab code: %d %s", code, stderr)
		}
		want, err := oathtool.TOTP(ctx, secret, alg, digits, time.Duration(period)*time.Second, at)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(stdout); got != want || stdout != got+"\n" {
			t.Fatalf("%s/%d/%ds at %d: tokenlab printed %q, oathtool %s", alg, digits, period, at.Unix(), stdout, want)
		}
		counter := rng.Uint64N(1 << 32)
		code, stdout, _ = runCLI(t, "code", "--secret-hex", hex.EncodeToString(secret), "--digits", strconv.Itoa(digits), "--counter", strconv.FormatUint(counter, 10))
		want, err = oathtool.HOTP(ctx, secret, digits, counter)
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 || strings.TrimSpace(stdout) != want {
			t.Fatalf("HOTP counter %d: tokenlab %q, oathtool %s", counter, stdout, want)
		}
	}
}
