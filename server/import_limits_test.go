package server_test

import (
	"math"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

// TestImportRefusesShortSecrets: RFC 4226 (§4, R6) asks for a shared
// secret of at least 128 bits; a shorter one is refused, and nothing of
// the file is imported (docs/lifecycle.md, “Inventory, sponsorship and
// licence keys”).
func TestImportRefusesShortSecrets(t *testing.T) {
	f := newFixture(t, server.Policy{})
	seed := func(serial string, n int) seedfile.Token {
		return seedfile.Token{Serial: serial, Secret: make([]byte, n), Kind: oath.TOTP, Digits: 8}
	}
	_, err := f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{seed("LONG1", 20), seed("SHORT1", 15)})
	f.expectCode(err, server.CodeBadRequest)
	if e := err.(*server.Error); !contains(e.Detail, "SHORT1", "128 bits") {
		t.Fatalf("detail %q does not name the token and the rule", e.Detail)
	}
	if _, err := f.srv.Token(f.ctx, "LONG1"); err == nil {
		t.Fatal("half an import landed")
	}
	// 16 bytes is enough; the RFC 4226 test vector's 20 bytes too.
	_, err = f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{seed("EXACT16", 16), {Serial: "RFC4226", Secret: []byte("12345678901234567890"), Kind: oath.HOTP, Digits: 6}})
	f.ok(err)

	// A lab may allow them.
	lab := newFixture(t, server.Policy{AllowShortSecrets: true})
	_, err = lab.srv.ImportSeeds(lab.ctx, lab.admin, []seedfile.Token{seed("SHORT1", 10)})
	lab.ok(err)
	if p, _ := lab.srv.Policy(lab.ctx); p.Document()["allow_short_secrets"] != true {
		t.Fatalf("the policy document does not show allow_short_secrets: %v", p.Document())
	}
}

// TestImportRefusesHOTPCountersBeyondInt64: the server keeps an HOTP
// counter in an int64 (Token.LastStep), so a counter of 2⁶³ or more is
// refused at import instead of wrapping to a negative or huge step, and
// the counters at the end of the range never wrap either.
func TestImportRefusesHOTPCountersBeyondInt64(t *testing.T) {
	f := newFixture(t, server.Policy{})
	secret := []byte("12345678901234567890")
	for _, c := range []uint64{1 << 63, math.MaxUint64} {
		_, err := f.srv.ImportSeeds(f.ctx, f.admin, []seedfile.Token{{Serial: "WRAP", Secret: secret, Kind: oath.HOTP, Digits: 6, Counter: c}})
		f.expectCode(err, server.CodeBadRequest)
		if _, err := f.srv.Token(f.ctx, "WRAP"); err == nil {
			t.Fatalf("counter %d was imported", c)
		}
	}
	gen, err := oath.NewGenerator(secret, oath.SHA1, 6)
	f.ok(err)
	code := func(c uint64) string { return gen.Code(c) }

	// The last counter: a pair that would need counter 2⁶³ is no pair.
	last := f.importSeed(seedfile.Token{Serial: "LASTONE", Secret: secret, Kind: oath.HOTP, Digits: 6, Counter: math.MaxInt64})
	u := f.user()
	f.sponsor(u, last.serial)
	_, err = f.srv.Activate(f.ctx, u, last.serial, code(math.MaxInt64), code(1<<63))
	f.expectCode(err, server.CodeOTPIncorrect)

	// The last two counters activate; then the counter space is used up:
	// the last code is a replay, and nothing wraps around to accept more.
	d := f.importSeed(seedfile.Token{Serial: "LASTTWO", Secret: secret, Kind: oath.HOTP, Digits: 6, Counter: math.MaxInt64 - 1})
	u2 := f.user()
	f.sponsor(u2, d.serial)
	v, err := f.srv.Activate(f.ctx, u2, d.serial, code(math.MaxInt64-1), code(math.MaxInt64))
	f.ok(err)
	if v.LastStep == nil || *v.LastStep != math.MaxInt64 {
		t.Fatalf("last step after activation: %v, want %d", v.LastStep, int64(math.MaxInt64))
	}
	_, err = f.srv.Verify(f.ctx, u2, code(math.MaxInt64))
	f.expectCode(err, server.CodeOTPReplayed)
	_, err = f.srv.Verify(f.ctx, u2, code(1<<63))
	f.expectCode(err, server.CodeOTPInvalid)
	if v := f.status(d.serial); v.LastStep == nil || *v.LastStep != math.MaxInt64 {
		t.Fatalf("last step after the refusals: %v", v.LastStep)
	}
}

// contains reports whether s contains every one of subs.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
