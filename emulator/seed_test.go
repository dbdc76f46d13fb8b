package emulator

import (
	"bytes"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// TestSeedRoundTripKeepsTheCodes: a virtual token exported in any format and
// imported again presses the same codes.
func TestSeedRoundTripKeepsTheCodes(t *testing.T) {
	specs, err := FleetSpecs(FleetSpec{Count: 4, Seed: "rt"}, clock.NewVirtual(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []oath.Algorithm{oath.SHA256, oath.SHA512} {
		more, _ := FleetSpecs(FleetSpec{Count: 2, Seed: "rt-" + alg.String(), Algorithm: alg, Digits: 6, Period: time.Minute}, clock.NewVirtual(time.Unix(0, 0)))
		specs = append(specs, more...)
	}
	hotp, _ := FleetSpecs(FleetSpec{Count: 2, Seed: "rt-hotp", Kind: HOTP}, clock.NewVirtual(time.Unix(0, 0)))
	hotp[1].Counter = 77
	specs = append(specs, hotp...)

	seeds := make([]seedfile.Token, len(specs))
	for i, s := range specs {
		seeds[i] = s.Seed()
	}
	at := time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, f := range []seedfile.Format{seedfile.PSKC, seedfile.CSV, seedfile.OTPAuth} {
		var b bytes.Buffer
		if err := seedfile.Encode(&b, seeds, seedfile.EncodeOptions{Format: f}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		back, err := seedfile.Decode(b.Bytes(), seedfile.DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, tok := range back {
			s, err := FromSeed(tok)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			a, _ := New(specs[i], clock.NewVirtual(at))
			c, _ := New(s, clock.NewVirtual(at))
			da, _ := a.Press()
			dc, _ := c.Press()
			if da != dc {
				t.Errorf("%s: token %s pressed %+v before, %+v after the round trip", f, specs[i].Serial, da, dc)
			}
		}
	}
}

func TestFromSeedRefusesWhatATokenCannotBe(t *testing.T) {
	_, err := FromSeed(seedfile.Token{Serial: "X", Secret: []byte("k"), Digits: 7})
	if err == nil {
		t.Fatal("a 7-digit seed became a virtual token")
	}
}
