package server_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// TestSameCodeConcurrently: 64 requests carrying the same valid code at
// once — exactly one is accepted, every other is a replay.
func TestSameCodeConcurrently(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	code := d.code(f.clk.Now())
	const n = 64
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		ok, replays int
		other       []error
	)
	startGun := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-startGun
			_, err := f.srv.Verify(f.ctx, u, code)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, server.ErrOTPReplayed):
				replays++
			default:
				other = append(other, err)
			}
		})
	}
	close(startGun)
	wg.Wait()
	if ok != 1 || replays != n-1 || len(other) != 0 {
		t.Fatalf("%d accepted, %d replays, other errors %v", ok, replays, other)
	}
	if v := f.status(d.serial); v.FailCount != 0 {
		t.Fatalf("replays counted: %+v", v)
	}
}

// TestRestartLosesNothing closes and reopens the store in the middle of a
// sequence: nothing acknowledged is lost, no counter moves back, and no used
// code is accepted again.
func TestRestartLosesNothing(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	var used []string
	for i := range 20 {
		c := d.code(f.clk.Now())
		_, err := f.srv.Verify(f.ctx, u, c)
		f.ok(err)
		used = append(used, c)
		before := f.status(d.serial)
		if i%2 == 1 {
			_, err := f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
			f.expectCode(err, server.CodeOTPInvalid)
			before = f.status(d.serial)
		}
		f.reopen()
		after := f.status(d.serial)
		if *after.LastStep != *before.LastStep || after.FailCount != before.FailCount || after.DriftSteps != before.DriftSteps {
			t.Fatalf("restart %d changed the token: %+v -> %+v", i, before, after)
		}
		for _, c := range used[max(0, len(used)-2):] {
			if _, err := f.srv.Verify(f.ctx, u, c); !errors.Is(err, server.ErrOTPReplayed) {
				t.Fatalf("a used code after a restart: %v", err)
			}
		}
		f.nextStep()
	}
	ns, err := f.srv.Notifications(f.ctx, u)
	f.ok(err)
	audit, err := f.srv.Audit(f.ctx, "", 0)
	f.ok(err)
	if len(ns) != 2 || len(audit) < 60 {
		t.Fatalf("%d notifications, %d audit entries after restarts", len(ns), len(audit))
	}
}

// TestDriftingTokenMonthlyForTwoYears: a token running +8 ppm, used once a
// month for two years, keeps logging in without a resync, because each login
// moves the learned drift along with it.
func TestDriftingTokenMonthlyForTwoYears(t *testing.T) {
	f := newFixture(t, server.Policy{Validity: 10 * 365 * day})
	u, d := f.activeToken()
	d.ppm, d.since = 8, f.clk.Now()
	var drift int64
	for month := 1; month <= 24; month++ {
		f.clk.Step(30 * day)
		f.nextStep()
		v, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
		if err != nil {
			t.Fatalf("month %d: %v", month, err)
		}
		drift = v.DriftSteps
	}
	// 8 ppm of 720 days is about 498 s: 16 or 17 steps learned.
	if drift < 16 || drift > 17 {
		t.Fatalf("learned drift %d steps after two years at +8 ppm", drift)
	}
	// Without the learning a fixed ±1 window would have lost it long ago:
	// the same token used after two years without logins fails.
	g := newFixture(t, server.Policy{Validity: 10 * 365 * day})
	u2, d2 := g.activeToken()
	d2.ppm, d2.since = 8, g.clk.Now()
	g.clk.Step(720 * day)
	g.nextStep()
	_, err := g.srv.Verify(g.ctx, u2, d2.code(g.clk.Now()))
	g.expectCode(err, server.CodeOTPInvalid)
}

// TestSeedsAreEncryptedAtRest: the secret never appears in the database or
// its WAL, in any encoding, and the key file is 0600.
func TestSeedsAreEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, server.SeedKeyFile)
	key, err := server.LoadOrCreateSeedKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	again, err := server.LoadOrCreateSeedKey(keyPath)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("the key changed on a second start: %v", err)
	}
	st, err := sqlitestore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, SeedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("a very recognisable secret!!")
	if _, err := srv.ImportSeeds(t.Context(), server.AsAdmin("ops"), []seedfile.Token{{Serial: "ENC1", Secret: secret, Kind: oath.TOTP, Digits: 8, Period: 30 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	v, err := srv.Token(t.Context(), "ENC1")
	if err != nil || v.Serial != "ENC1" {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, sqlitestore.FileName+"*"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		for _, form := range [][]byte{secret, []byte(hex.EncodeToString(secret))} {
			if bytes.Contains(b, form) {
				t.Fatalf("%s holds the secret in the clear", filepath.Base(p))
			}
		}
	}
	// A key file others can read is refused; so is another key for the data.
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := server.LoadOrCreateSeedKey(keyPath); err == nil {
		t.Fatal("a world-readable key was accepted")
	}
}

func TestImportValidation(t *testing.T) {
	f := newFixture(t, server.Policy{})
	d := f.importToken()
	good := seedfile.Token{Serial: "NEW1", Secret: []byte("12345678901234567890"), Kind: oath.TOTP, Digits: 8}
	// A serial already there refuses the whole import.
	_, err := f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{good, {Serial: d.serial, Secret: []byte("12345678901234567890"), Digits: 8}})
	f.expectCode(err, server.CodeConflict)
	if _, err := f.srv.Token(f.ctx, "NEW1"); !errors.Is(err, server.ErrNotExist) {
		t.Fatalf("half an import landed: %v", err)
	}
	_, err = f.srv.ImportSeeds(f.ctx, server.AsUser("someone"), []seedfile.Token{good})
	f.expectCode(err, server.CodeForbidden)
	_, err = f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{good, good})
	f.expectCode(err, server.CodeBadRequest)
	_, err = f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{{Serial: "X", Digits: 8}})
	f.expectCode(err, server.CodeBadRequest)
	_, err = f.srv.ImportSeeds(f.ctx, f.admin, nil)
	f.expectCode(err, server.CodeBadRequest)
}

func TestImportSeedFile(t *testing.T) {
	f := newFixture(t, server.Policy{})
	csv := []byte("# serial, seed, type, digits, step\nCSVA, 3132333435363738393031323334353637383930, TOTP, 8, 30\nCSVB, 3132333435363738393031323334353637383930, HOTP, 6, 0\n")
	serials, err := f.srv.ImportSeedFile(f.ctx, f.admin, csv, server.ImportOptions{})
	f.ok(err)
	if len(serials) != 2 || serials[0] != "CSVA" || serials[1] != "CSVB" {
		t.Fatalf("imported %v", serials)
	}
	_, err = f.srv.ImportSeedFile(f.ctx, f.admin, []byte("CSVC, zz, TOTP\n"), server.ImportOptions{})
	f.expectCode(err, server.CodeBadRequest)
	if e := err.(*server.Error); !strings.Contains(e.Detail, "line 1") {
		t.Fatalf("detail %q does not locate the problem", e.Detail)
	}
}
