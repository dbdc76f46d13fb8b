package emulator_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
)

func ExampleToken_Press() {
	clk := clock.NewVirtual(time.Unix(59, 0)) // RFC 6238's first test time
	tok, err := emulator.New(emulator.Spec{
		Serial: "VIRT0616534657375",
		Secret: []byte("12345678901234567890"),
	}, clk)
	if err != nil {
		panic(err)
	}
	d, _ := tok.Press()
	fmt.Println(d.Code, d.Step, d.ValidFor)
	clk.Step(time.Second)
	d, _ = tok.Press()
	fmt.Println(d.Code, d.Step, d.ValidFor)
	// Output:
	// 94287082 1 1s
	// 37359152 2 30s
}

func ExampleDrift() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	tok, _ := emulator.New(emulator.Spec{
		Serial: "VIRT-DRIFTER",
		Secret: []byte("12345678901234567890"),
		Drift:  emulator.Drift{PPM: 4}, // starts now
	}, clk)
	clk.Step(365 * 24 * time.Hour)
	ahead := tok.TokenTime(clk.Now()).Sub(clk.Now())
	fmt.Println("a year at +4 ppm puts the token", ahead.Round(time.Second), "ahead")
	// Output: a year at +4 ppm puts the token 2m6s ahead
}

func ExampleFaults() {
	clk := clock.NewVirtual(time.Unix(1_700_000_000, 0))
	tok, _ := emulator.New(emulator.Spec{Serial: "VIRT-BROKEN", Secret: []byte("12345678901234567890")}, clk)
	_ = tok.SetFaults(emulator.Faults{DeadButton: true})
	_, err := tok.Press()
	fmt.Println(errors.Is(err, emulator.ErrButtonDead), err)
	// Output: true button did not register (dead-button fault)
}

// The derivation is fixed (fleet.go) so that a fleet seed means the same
// tokens on every machine and every version; this output was checked against
// an independent Python implementation of it.
func ExampleFleetSpec() {
	specs, _ := emulator.FleetSpecs(emulator.FleetSpec{Count: 3, Seed: "qa", DriftPPMMax: 12}, clock.NewVirtual(time.Unix(0, 0)))
	for _, s := range specs {
		fmt.Printf("%s %x… %+.3f ppm\n", s.Serial, s.Secret[:4], s.Drift.PPM)
	}
	// Output:
	// VIRT8348400000000 a0daffb2… -3.236 ppm
	// VIRT8348400000001 fb236f05… +2.378 ppm
	// VIRT8348400000002 a26d7ec8… +8.488 ppm

}
