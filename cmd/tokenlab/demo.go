package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oathtool"
)

// The demo token: the serial format of the portal's virtual tokens and the
// RFC 6238 test secret, so that anyone can check its codes by hand.
const (
	demoSerial    = "VIRT0616534657375"
	demoSecretHex = "3132333435363738393031323334353637383930"
)

func (a *app) demoCommand() *cobra.Command {
	var storePath string
	cmd := &cobra.Command{
		Use:   "demo [--store FILE]",
		Short: "A two-minute tour of virtual tokens (what 'make run' shows)",
		Long: `Create a demo token in a store (./.tokenlab-demo/tokens.json by default),
press it, make a copy drift for a year on a virtual clock, break one, and
print what to try next. Running it again reuses the token.`,
		Args: noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error { return a.demo(storePath) }),
	}
	cmd.Flags().StringVar(&storePath, "store", filepath.Join(".tokenlab-demo", emulator.StoreFileName), "token store file for the demo token")
	return cmd
}

func (a *app) demo(storePath string) error {
	out := a.stdout
	st := emulator.OpenStore(storePath)
	now := a.clock.Now()
	secret, _ := parseSecretHex(demoSecretHex)
	err := st.Update(func(set *emulator.TokenSet) error {
		return set.Add(emulator.Spec{Serial: demoSerial, Secret: secret, Digits: 8, Period: 30 * time.Second, Created: now, Drift: emulator.Drift{Start: now}})
	})
	if err != nil && !errors.Is(err, emulator.ErrExists) {
		return err
	}
	var spec emulator.Spec
	if err := st.View(func(set *emulator.TokenSet) (err error) { spec, err = set.Get(demoSerial); return err }); err != nil {
		return err
	}
	tok, err := emulator.New(spec, clock.Func(func() time.Time { return now }))
	if err != nil {
		return err
	}
	d, err := tok.Press()
	if err != nil {
		return fmt.Errorf("the demo token in %s does not press (%v): remove it with 'tokenlab token rm --store %s %s'", storePath, err, storePath, demoSerial)
	}

	fmt.Fprintf(out, "tokenlab — virtual hardware OTP tokens\n\n")
	fmt.Fprintf(out, "Token %s (%s), kept in %s\n", spec.Serial, describe(spec.Kind, spec.Algorithm, spec.Digits, spec.Period), storePath)
	fmt.Fprintf(out, "  press now          → %s   (time step %d, valid %d s more)\n", d.Code, d.Step, seconds(d.ValidFor))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if want, err := oathtool.TOTP(ctx, secret, "sha1", 8, 30*time.Second, now); err == nil {
		verdict := "agrees"
		if want != d.Code {
			verdict = "DISAGREES"
		}
		fmt.Fprintf(out, "  oathtool           → %s   (%s: a second implementation)\n", want, verdict)
	}

	// A year of drift on a virtual clock: no waiting.
	virt := clock.NewVirtual(now)
	drifter, err := emulator.New(emulator.Spec{Serial: "VIRT-DRIFT-DEMO", Secret: secret, Drift: emulator.Drift{PPM: 4}}, virt)
	if err != nil {
		return err
	}
	later := virt.Step(365 * 24 * time.Hour)
	dd, err := drifter.Press()
	if err != nil {
		return err
	}
	ahead := drifter.TokenTime(later).Sub(later)
	trueStep := uint64(later.Unix() / 30)
	fmt.Fprintf(out, "\nDrift, on a virtual clock (a year in microseconds):\n")
	fmt.Fprintf(out, "  a copy running +4 ppm, pressed a year from now, is %v ahead:\n", ahead.Round(time.Second))
	fmt.Fprintf(out, "  it shows %s from step %d while true time is in step %d (%+d steps)\n", dd.Code, dd.Step, trueStep, int64(dd.Step)-int64(trueStep))

	broken, _ := emulator.New(emulator.Spec{Serial: "VIRT-BROKEN-DEMO", Secret: secret, Faults: emulator.Faults{DeadButton: true}}, virt)
	if _, err := broken.Press(); err != nil {
		fmt.Fprintf(out, "\nFaults for negative tests: a token with a dead button says %q\n", err)
	}

	store := ""
	if storePath != "" {
		store = " --store " + storePath
	}
	fmt.Fprintf(out, "\nTry next:\n")
	for _, line := range []string{
		"tokenlab token press" + store + " " + demoSerial + " --json",
		"tokenlab token new" + store + " --drift-ppm 12",
		"tokenlab token fault" + store + " " + demoSerial + " --frozen",
		"tokenlab fleet new" + store + " --count 100 --seed qa --drift-ppm-max 12",
		"tokenlab code --secret-hex " + demoSecretHex + " --at @59      # RFC 6238: 94287082",
		"tokenlab --help",
	} {
		fmt.Fprintf(out, "  %s\n", line)
	}
	fmt.Fprintf(out, "(tokenlab is ./bin/tokenlab after 'make build'; shell completion: tokenlab completion bash|zsh|fish)\n")
	return nil
}
