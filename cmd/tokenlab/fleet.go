package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
)

func (a *app) fleetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Make many virtual tokens at once, deterministically from a seed",
		Args:  noArgs,
		RunE:  groupRunE,
	}
	store := storeFlag(cmd)
	cmd.AddCommand(a.fleetNewCommand(store))
	return cmd
}

func (a *app) fleetNewCommand(store func() (*emulator.Store, error)) *cobra.Command {
	var (
		count                    int
		seed, prefix, dis, start string
		codes                    oathFlags
		hotp                     bool
		ppmMax                   float64
		offsetMax                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "new --count N --seed S [--drift-ppm-max F] [--distribution uniform|normal] [--drift-offset-max D]",
		Short: "Add a fleet of N tokens made from a seed to the store, and print their serials",
		Long: `Add N tokens to the store. The same --seed and flags always make the same
serials, secrets and drifts, on any machine: a fleet seed is as secret as the
tokens' secrets. Serials are the prefix (VIRT), five digits naming the fleet
and an eight-digit index. Clock rates are drawn from --distribution over
[-max, +max] ppm; offsets uniformly over [-max, +max].`,
		Example: "  tokenlab fleet new --count 1000 --seed qa --drift-ppm-max 12",
		Args:    noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if count < 1 {
				return usagef("invalid --count %d: give the number of tokens, at least 1", count)
			}
			if seed == "" {
				return usagef("--seed is empty: give a fleet seed; the same seed makes the same fleet")
			}
			f := emulator.FleetSpec{Count: count, Seed: seed, Prefix: prefix, DriftPPMMax: ppmMax, DriftOffsetMax: offsetMax}
			var err error
			if f.Algorithm, f.Digits, f.Period, err = codes.parse(); err != nil {
				return err
			}
			if f.Distribution, err = emulator.ParseDistribution(dis); err != nil {
				return usageError{err}
			}
			if hotp {
				f.Kind = emulator.HOTP
			}
			if start != "" {
				if f.Start, err = time.Parse(time.RFC3339Nano, start); err != nil {
					return usagef("invalid --drift-start %q: use RFC 3339, e.g. 2026-01-01T00:00:00Z", start)
				}
			}
			specs, err := emulator.FleetSpecs(f, a.clock)
			if err != nil {
				return usageError{err}
			}
			st, err := store()
			if err != nil {
				return err
			}
			err = st.Update(func(set *emulator.TokenSet) error { return set.Add(specs...) })
			if errors.Is(err, emulator.ErrExists) {
				return fmt.Errorf("%v is already in %s: this fleet (or part of it) was added before; use another --seed or --prefix", err, st.Path())
			}
			if err != nil {
				return err
			}
			for _, s := range specs {
				fmt.Fprintln(a.stdout, s.Serial)
			}
			fmt.Fprintf(a.stderr, "added %d tokens (%s … %s) to %s\n", len(specs), specs[0].Serial, specs[len(specs)-1].Serial, st.Path())
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.IntVar(&count, "count", 0, "number of tokens (required)")
	fl.StringVar(&seed, "seed", "", "fleet seed (required): the same seed makes the same fleet")
	fl.StringVar(&prefix, "prefix", emulator.DefaultSerialPrefix, "serial prefix")
	codes.add(cmd)
	fl.BoolVar(&hotp, "hotp", false, "make event-based (HOTP) tokens")
	fl.Float64Var(&ppmMax, "drift-ppm-max", 0, "largest clock rate, in ppm, either way (real tokens: up to 12)")
	fl.StringVar(&dis, "distribution", "uniform", "how rates spread: uniform or normal (σ = max/3)")
	fl.DurationVar(&offsetMax, "drift-offset-max", 0, "largest initial clock offset either way, e.g. 2m")
	fl.StringVar(&start, "drift-start", "", "when the clocks start to drift, RFC 3339 (default now)")
	_ = cmd.MarkFlagRequired("count")
	_ = cmd.MarkFlagRequired("seed")
	_ = cmd.RegisterFlagCompletionFunc("distribution", cobra.FixedCompletions([]string{"uniform", "normal"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
