package emulator

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/fixture"
	"github.com/tokenlab/tokenlab/internal/oath"
)

var rfcSecret = []byte("12345678901234567890")

const year = 365 * 24 * time.Hour

func newToken(t *testing.T, s Spec, clk clock.Clock) *Token {
	t.Helper()
	if s.Serial == "" {
		s.Serial = "VIRT0000000000001"
	}
	if s.Secret == nil {
		s.Secret = rfcSecret
	}
	tok, err := New(s, clk)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func press(t *testing.T, tok *Token) Display {
	t.Helper()
	d, err := tok.Press()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDefaultsAreTheHardwareToken(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(1_700_000_000, 0))
	s := newToken(t, Spec{}, clk).Spec()
	if s.Kind != TOTP || s.Algorithm != oath.SHA1 || s.Digits != 8 || s.Period != 30*time.Second {
		t.Fatalf("defaults: %+v", s)
	}
	if !s.Created.Equal(clk.Now()) || !s.Drift.Start.Equal(clk.Now()) {
		t.Fatalf("created %v, drift start %v; want the clock's now", s.Created, s.Drift.Start)
	}
}

func TestPressShowsRFC6238Codes(t *testing.T) {
	rfc, err := fixture.RFC6238()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rfc.Vectors {
		alg, _ := oath.ParseAlgorithm(v.Algorithm)
		clk := clock.NewVirtual(v.Time())
		d := press(t, newToken(t, Spec{Secret: rfc.Seed(v.Algorithm), Algorithm: alg}, clk))
		if d.Code != v.TOTP {
			t.Errorf("%s %s: pressed %s, want %s", v.UTC, v.Algorithm, d.Code, v.TOTP)
		}
		if want := uint64(v.Unix / 30); d.Step != want {
			t.Errorf("%s: step %d, want %d", v.UTC, d.Step, want)
		}
	}
}

func TestHOTPPressAdvancesTheCounter(t *testing.T) {
	rfc, err := fixture.RFC4226()
	if err != nil {
		t.Fatal(err)
	}
	tok := newToken(t, Spec{Kind: HOTP, Digits: 6, Secret: rfc.Secret()}, clock.NewVirtual(time.Unix(0, 0)))
	for _, v := range rfc.Vectors {
		d := press(t, tok)
		if d.Step != v.Counter || d.Code != v.HOTP || d.ValidFor != 0 {
			t.Fatalf("press %d: %+v, want counter %d code %s", v.Counter, d, v.Counter, v.HOTP)
		}
	}
	if got := tok.Spec().Counter; got != 10 {
		t.Fatalf("counter after 10 presses: %d", got)
	}
}

func TestTOTPPressTwiceInOneStepShowsTheSameCode(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(1_700_000_020, 0)) // 10 s into a step
	tok := newToken(t, Spec{}, clk)
	first := press(t, tok)
	clk.Step(19 * time.Second)
	second := press(t, tok)
	if first.Code != second.Code || first.Step != second.Step {
		t.Fatalf("same step, different codes: %+v %+v", first, second)
	}
	if first.ValidFor != 20*time.Second || second.ValidFor != time.Second {
		t.Fatalf("valid for %v then %v, want 20s then 1s", first.ValidFor, second.ValidFor)
	}
	clk.Step(time.Second)
	third := press(t, tok)
	if third.Step != first.Step+1 || third.Code == first.Code || third.ValidFor != 30*time.Second {
		t.Fatalf("next step: %+v after %+v", third, first)
	}
}

func TestPressConsecutiveGivesTheStepBeforeNowAndNow(t *testing.T) {
	now := time.Unix(1111111111, 0)
	ds, err := newToken(t, Spec{}, nil).PressConsecutive(now)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 6238's SHA1 codes at 1111111109 (the step before) and 1111111111.
	if ds[0].Code != "07081804" || ds[1].Code != "14050471" || ds[1].Step != ds[0].Step+1 {
		t.Fatalf("TOTP: %+v", ds)
	}
	hotp := newToken(t, Spec{Kind: HOTP, Digits: 6}, nil)
	if ds, err = hotp.PressConsecutive(now); err != nil {
		t.Fatal(err)
	}
	if ds[0].Code != "755224" || ds[1].Code != "287082" || hotp.Spec().Counter != 2 {
		t.Fatalf("HOTP: %+v, counter %d", ds, hotp.Spec().Counter)
	}
	dead := newToken(t, Spec{Faults: Faults{DeadButton: true}}, nil)
	if _, err := dead.PressConsecutive(now); !errors.Is(err, ErrButtonDead) {
		t.Fatalf("dead button: %v", err)
	}
}

func TestRandomSerialIsAValidVirtualSerial(t *testing.T) {
	a, err := RandomSerial()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomSerial()
	if len(a) != len(DefaultSerialPrefix)+13 || !strings.HasPrefix(a, DefaultSerialPrefix) || ValidateSerial(a) != nil || a == b {
		t.Fatalf("serials %q and %q", a, b)
	}
}

func TestSixtySecondStep(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(119, 0))
	d := press(t, newToken(t, Spec{Period: time.Minute, Digits: 6}, clk))
	want, _ := oath.NewGenerator(rfcSecret, oath.SHA1, 6)
	if d.Step != 1 || d.Code != want.Code(1) || d.ValidFor != time.Second || len(d.Code) != 6 {
		t.Fatalf("60 s step at 119 s: %+v", d)
	}
}

func TestDrift(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		drift Drift
		after time.Duration
		ahead time.Duration // token time − true time
	}{
		{"true clock", Drift{}, year, 0},
		{"+4 ppm for a year is about +126 s", Drift{PPM: 4}, year, 126144 * time.Millisecond},
		{"-12 ppm for a year", Drift{PPM: -12}, year, -378432 * time.Millisecond},
		{"fixed offset", Drift{Offset: 90 * time.Second}, year, 90 * time.Second},
		{"offset and rate", Drift{Offset: -time.Minute, PPM: 3}, 90 * 24 * time.Hour, -time.Minute + 23328*time.Millisecond},
		{"rate counted from a later start", Drift{PPM: 10, Start: start.Add(year / 2)}, year, 157680 * time.Millisecond},
		{"before its start the rate runs backwards too", Drift{PPM: 10, Start: start.Add(2 * year)}, year, -315360 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := clock.NewVirtual(start)
			tok := newToken(t, Spec{Drift: c.drift}, clk)
			now := clk.Step(c.after)
			if got := tok.TokenTime(now).Sub(now); got != c.ahead {
				t.Fatalf("token is %v ahead, want %v", got, c.ahead)
			}
			// The press shows the code of the token's own step.
			d := press(t, tok)
			step, _, _ := oath.TimeStep(now.Add(c.ahead), 30*time.Second)
			if d.Step != step {
				t.Fatalf("pressed step %d, token clock's step %d", d.Step, step)
			}
		})
	}
}

func TestDriftOfAThousandYearsDoesNotOverflow(t *testing.T) {
	d := Drift{PPM: 1, Start: time.Unix(0, 0)}
	now := time.Date(2970, 1, 1, 0, 0, 0, 0, time.UTC)
	got := d.TokenTime(now).Sub(now)
	want := time.Duration(float64(now.Unix()) * 1e-6 * 1e9)
	if math.Abs(float64(got-want)) > float64(time.Millisecond) {
		t.Fatalf("1 ppm over 1000 years: %v, want %v", got, want)
	}
}

func TestValidForFollowsTheTokensRate(t *testing.T) {
	// A token running 10% fast leaves a step after 27.27 s of true time.
	clk := clock.NewVirtual(time.Unix(3000, 0))
	tok := newToken(t, Spec{Drift: Drift{PPM: 100_000, Start: time.Unix(3000, 0)}}, clk)
	d := press(t, tok)
	period := 30 * time.Second
	if want := time.Duration(float64(period) / 1.1); d.ValidFor != want {
		t.Fatalf("valid for %v, want %v", d.ValidFor, want)
	}
	clk.Step(d.ValidFor - time.Nanosecond)
	if press(t, tok).Step != d.Step {
		t.Fatal("moved on before ValidFor ran out")
	}
	clk.Step(2 * time.Nanosecond)
	if press(t, tok).Step != d.Step+1 {
		t.Fatal("did not move on when ValidFor ran out")
	}
}

func TestFrozenClock(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(1_700_000_005, 0))
	tok := newToken(t, Spec{}, clk)
	before := press(t, tok)
	if err := tok.Freeze(); err != nil {
		t.Fatal(err)
	}
	clk.Step(year)
	after := press(t, tok)
	if after.Code != before.Code || after.Step != before.Step || after.ValidFor != before.ValidFor {
		t.Fatalf("frozen token changed: %+v then %+v", before, after)
	}
	if got := tok.Spec().Faults.Names(); strings.Join(got, ",") != "frozen" {
		t.Fatalf("faults %v", got)
	}
	if err := tok.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if press(t, tok).Step == before.Step {
		t.Fatal("healed token still frozen")
	}
}

func TestClockResetStartsAgainFromTheEpoch(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	tok := newToken(t, Spec{Drift: Drift{PPM: 5}}, clk)
	if err := tok.ResetClock(); err != nil {
		t.Fatal(err)
	}
	clk.Step(59 * time.Second)
	d := press(t, tok)
	// 59 s after the swap the token believes it is 1970-01-01T00:00:59 (plus
	// 5 ppm of 59 s): RFC 6238's first vector.
	if d.Step != 1 || d.Code != "94287082" {
		t.Fatalf("after a battery swap: %+v", d)
	}
	if want := time.Unix(59, 295000); !d.TokenTime.Equal(want) {
		t.Fatalf("token time %v, want %v", d.TokenTime, want)
	}
}

func TestWrongSecretShowsCodesThatDoNotVerify(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(59, 0))
	tok := newToken(t, Spec{Faults: Faults{WrongSecret: true}}, clk)
	d := press(t, tok)
	if d.Code == "94287082" || len(d.Code) != 8 {
		t.Fatalf("damaged token showed %s", d.Code)
	}
	again := press(t, tok)
	if again.Code != d.Code {
		t.Fatal("a damaged token must still be deterministic")
	}
}

func TestDeadButtonChangesNothing(t *testing.T) {
	tok := newToken(t, Spec{Kind: HOTP, Faults: Faults{DeadButton: true}}, clock.NewVirtual(time.Unix(0, 0)))
	for range 3 {
		if _, err := tok.Press(); !errors.Is(err, ErrButtonDead) {
			t.Fatalf("dead button: %v", err)
		}
	}
	if c := tok.Spec().Counter; c != 0 {
		t.Fatalf("dead presses advanced the counter to %d", c)
	}
	_ = tok.SetFaults(Faults{})
	if d := press(t, tok); d.Step != 0 || d.Code != "84755224" {
		t.Fatalf("first working press: %+v", d)
	}
}

func TestHOTPConcurrentPressesNeverRepeatACounter(t *testing.T) {
	tok := newToken(t, Spec{Kind: HOTP}, nil)
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				d, err := tok.Press()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[d.Step] {
					t.Errorf("counter %d shown twice", d.Step)
				}
				seen[d.Step] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 800 || tok.Spec().Counter != 800 {
		t.Fatalf("%d distinct counters, counter now %d", len(seen), tok.Spec().Counter)
	}
}

func TestBadSpecsAreRefusedWithAHint(t *testing.T) {
	ok := Spec{Serial: "VIRT1", Secret: rfcSecret}
	cases := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"digits 7", func(s *Spec) { s.Digits = 7 }, "invalid digits 7: use 6 or 8"},
		{"period below a second", func(s *Spec) { s.Period = time.Millisecond }, "invalid period 1ms"},
		{"negative period", func(s *Spec) { s.Period = -30 * time.Second }, "invalid period -30s"},
		{"no serial", func(s *Spec) { s.Serial = "" }, "invalid serial: give the serial number"},
		{"serial with a space", func(s *Spec) { s.Serial = "VIRT 1" }, "use letters, digits"},
		{"long serial", func(s *Spec) { s.Serial = strings.Repeat("A", 65) }, "at most 64 characters"},
		{"no secret", func(s *Spec) { s.Secret = nil }, "invalid secret: give 1 to 128 bytes"},
		{"unknown algorithm", func(s *Spec) { s.Algorithm = 7 }, "use sha1, sha256 or sha512"},
		{"unknown kind", func(s *Spec) { s.Kind = 9 }, "use totp or hotp"},
		{"absurd rate", func(s *Spec) { s.Drift.PPM = 2e5 }, "invalid drift ppm 200000"},
		{"NaN rate", func(s *Spec) { s.Drift.PPM = math.NaN() }, "invalid drift ppm NaN"},
		{"HOTP with drift", func(s *Spec) { s.Kind = HOTP; s.Drift.PPM = 4 }, "an HOTP token has no clock"},
		{"HOTP frozen", func(s *Spec) { s.Kind = HOTP; s.Faults.FrozenAt = time.Unix(1, 0) }, "an HOTP token has no clock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ok
			c.edit(&s)
			_, err := New(s, nil)
			var fe *FieldError
			if !errors.Is(err, ErrInvalidToken) || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an invalid-token error containing %q", err, c.want)
			}
		})
	}
}

func TestSetDriftRefusesBadValuesAndKeepsTheOldOnes(t *testing.T) {
	tok := newToken(t, Spec{Drift: Drift{PPM: 3}}, nil)
	if err := tok.SetDrift(Drift{PPM: math.Inf(1)}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("SetDrift(+Inf): %v", err)
	}
	if got := tok.Spec().Drift.PPM; got != 3 {
		t.Fatalf("drift changed to %v by a refused update", got)
	}
}

func TestSpecIsACopy(t *testing.T) {
	secret := []byte("12345678901234567890")
	tok := newToken(t, Spec{Secret: secret}, clock.NewVirtual(time.Unix(59, 0)))
	secret[0] = 'X'
	s := tok.Spec()
	s.Secret[1] = 'Y'
	if d := press(t, tok); d.Code != "94287082" {
		t.Fatalf("token shares its secret with callers: %s", d.Code)
	}
}

func TestTokenClockBeforeTheEpochIsAClearError(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(100, 0))
	tok := newToken(t, Spec{Drift: Drift{Offset: -time.Hour}}, clk)
	_, err := tok.Press()
	if !errors.Is(err, oath.ErrBeforeEpoch) || !strings.Contains(err.Error(), "VIRT0000000000001") {
		t.Fatalf("got %v", err)
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"totp": TOTP, "HOTP": HOTP, " Totp ": TOTP} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseKind("ocra"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("ParseKind(ocra): %v", err)
	}
}
