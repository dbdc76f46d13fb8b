package emulator

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
)

// Distribution is how a fleet's clock rates spread over [-DriftPPMMax, +DriftPPMMax].
type Distribution uint8

const (
	// Uniform spreads rates evenly over the range (the default).
	Uniform Distribution = iota
	// Normal draws rates from a normal distribution with σ = DriftPPMMax/3,
	// clipped to the range: most tokens near true time, a few far off.
	Normal
)

// String returns "uniform" or "normal".
func (d Distribution) String() string {
	if d == Normal {
		return "normal"
	}
	return "uniform"
}

// ParseDistribution reads "uniform" or "normal".
func ParseDistribution(s string) (Distribution, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "uniform", "":
		return Uniform, nil
	case "normal":
		return Normal, nil
	}
	return 0, &FieldError{Field: "distribution", Value: s, Hint: "use uniform or normal"}
}

// MaxFleet is the largest fleet: the serial keeps eight digits for the index.
const MaxFleet = 100_000_000

// DefaultSerialPrefix starts every generated serial, like the portal's virtual
// tokens (VIRT0616534657375).
const DefaultSerialPrefix = "VIRT"

// FleetSpec describes N tokens made from one fleet seed. The same seed and
// spec always make the same serials, secrets and drifts, on any machine;
// anyone holding the seed can rebuild the secrets, so keep it as secret as
// they are. Zero values mean the defaults.
type FleetSpec struct {
	Count int
	Seed  string
	// Prefix starts each serial; "VIRT" when empty. A serial is the prefix,
	// five digits that name the fleet (from the seed) and an eight-digit index.
	Prefix string
	// Algorithm, Digits, Period and Kind apply to every token (defaults as for Spec).
	Algorithm Algorithm
	Digits    int
	Period    time.Duration
	Kind      Kind
	// DriftPPMMax bounds each token's clock rate, drawn from Distribution.
	DriftPPMMax  float64
	Distribution Distribution
	// DriftOffsetMax bounds each token's initial clock offset, drawn uniformly.
	DriftOffsetMax time.Duration
	// Start is when the fleet's clocks begin to drift; zero means the clock's now.
	Start time.Time
}

func (f FleetSpec) validate() error {
	if f.Count < 1 || f.Count > MaxFleet {
		return &FieldError{Field: "count", Value: f.Count, Hint: fmt.Sprintf("use 1 to %d tokens", MaxFleet)}
	}
	if f.Seed == "" {
		return &FieldError{Field: "seed", Hint: "give a fleet seed: the same seed makes the same fleet"}
	}
	if math.IsNaN(f.DriftPPMMax) || f.DriftPPMMax < 0 || f.DriftPPMMax > MaxDriftPPM {
		return &FieldError{Field: "drift ppm max", Value: f.DriftPPMMax, Hint: fmt.Sprintf("use 0 to %d", MaxDriftPPM)}
	}
	if f.DriftOffsetMax < 0 {
		return &FieldError{Field: "drift offset max", Value: f.DriftOffsetMax, Hint: "use a positive duration such as 2m"}
	}
	if f.Kind == HOTP && (f.DriftPPMMax != 0 || f.DriftOffsetMax != 0) {
		return &FieldError{Field: "drift", Hint: "HOTP tokens have no clock: leave the fleet's drift at 0"}
	}
	if f.Distribution > Normal {
		return &FieldError{Field: "distribution", Value: f.Distribution, Hint: "use uniform or normal"}
	}
	return ValidateSerial(f.prefix() + "0")
}

func (f FleetSpec) prefix() string {
	if f.Prefix == "" {
		return DefaultSerialPrefix
	}
	return f.Prefix
}

// fleetKey is derived once per fleet; members are derived from it by index,
// so any member can be made on its own (and fleets in parallel).
func (f FleetSpec) fleetKey() [32]byte {
	return sha256.Sum256([]byte("tokenlab fleet v1\x00" + f.Seed))
}

// Member returns the complete spec of token i (0 ≤ i < Count) of the fleet,
// defaults filled in, with Created and Drift.Start set to start.
func (f FleetSpec) Member(i int, start time.Time) Spec {
	key := f.fleetKey()
	var msg [32 + 8 + 1]byte
	copy(msg[:], key[:])
	binary.BigEndian.PutUint64(msg[32:], uint64(i))
	msg[40] = 's'
	secret := sha512.Sum512(msg[:])
	msg[40] = 'd'
	draw := sha256.Sum256(msg[:])
	u1 := unit(binary.BigEndian.Uint64(draw[0:]))
	u2 := unit(binary.BigEndian.Uint64(draw[8:]))
	u3 := unit(binary.BigEndian.Uint64(draw[16:]))

	s := Spec{
		Serial:    fmt.Sprintf("%s%05d%08d", f.prefix(), binary.BigEndian.Uint32(key[:])%100000, i),
		Secret:    append([]byte(nil), secret[:f.Algorithm.KeySize()]...),
		Algorithm: f.Algorithm,
		Digits:    f.Digits,
		Period:    f.Period,
		Kind:      f.Kind,
		Created:   start,
		Drift:     Drift{Start: start},
	}
	if f.DriftPPMMax > 0 {
		switch f.Distribution {
		case Normal:
			z := math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
			s.Drift.PPM = math.Max(-f.DriftPPMMax, math.Min(f.DriftPPMMax, z*f.DriftPPMMax/3))
		default:
			s.Drift.PPM = f.DriftPPMMax * (2*u1 - 1)
		}
		// Round to a thousandth of a ppm so the stored value is exact.
		s.Drift.PPM = math.Round(s.Drift.PPM*1000) / 1000
	}
	if f.DriftOffsetMax > 0 {
		s.Drift.Offset = time.Duration((2*u3 - 1) * float64(f.DriftOffsetMax)).Round(time.Millisecond)
	}
	return s.withDefaults(start)
}

// unit maps 64 random bits to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// NewFleet makes the fleet's tokens, with true time from clk.
func NewFleet(f FleetSpec, clk Clock) ([]*Token, error) {
	specs, err := FleetSpecs(f, clk)
	if err != nil {
		return nil, err
	}
	tokens := make([]*Token, len(specs))
	for i, s := range specs {
		if tokens[i], err = New(s, clk); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// FleetSpecs returns the specs of the fleet's tokens, the form a store saves.
func FleetSpecs(f FleetSpec, clk Clock) ([]Spec, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	start := f.Start
	if start.IsZero() {
		if clk == nil {
			clk = clock.System{}
		}
		start = clk.Now()
	}
	specs := make([]Spec, f.Count)
	for i := range specs {
		specs[i] = f.Member(i, start)
	}
	return specs, nil
}
