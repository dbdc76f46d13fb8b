// Package emulator is tokenlab's virtual hardware OTP token.
//
// A Token has what a real one has (see docs/lifecycle.md, “The token”): a
// serial number printed on its back, a secret, an algorithm (SHA1 by
// default), 8 or 6 digits, a 30 or 60 s step, and a button. Pressing it
// returns the Display: the code, the step it belongs to and how long it stays
// valid. A TOTP token pressed twice in one step shows the same code; an HOTP
// token advances its counter on each press.
//
// Each token keeps its own clock, which runs off true time by a Drift:
//
//	token_time = true_time + Offset + PPM × 1e-6 × (true_time − Start)
//
// so that a CI run can make a token drift for a year in microseconds. True
// time always comes from an injected Clock; nothing sleeps.
//
// Faults make negative tests possible: a frozen clock, a clock reset by a
// battery swap, a wrong (damaged) secret and a dead button.
//
// A fleet of N tokens is made deterministically from a fleet seed
// (FleetSpec), with clock rates drawn from a distribution; the same seed gives
// the same serials, secrets and drifts everywhere.
//
// The emulator knows nothing of the verification server: codes reach the
// server the way a user types them, and seeds travel in seed files.
//
//	clk := clock.NewVirtual(time.Unix(59, 0))
//	tok, _ := emulator.New(emulator.Spec{Serial: "VIRT0000000000001", Secret: []byte("12345678901234567890")}, clk)
//	d, _ := tok.Press() // d.Code == "94287082", d.ValidFor == time.Second
package emulator
