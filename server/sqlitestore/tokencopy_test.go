package sqlitestore

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
)

// TestStoredTokenIsWhatIsRead: for random tokens — times in other zones and
// with monotonic readings, empty and nil slices, strings that are not
// UTF-8 — storedToken either declines or gives exactly what decoding the
// stored JSON gives; and it declines only for the documented reasons.
func TestStoredTokenIsWhatIsRead(t *testing.T) {
	// A new field must be considered in storedToken and cloneToken: how it
	// survives JSON, and whether it shares memory.
	var fields []string
	for f := range reflect.TypeFor[server.Token]().Fields() {
		fields = append(fields, f.Name+" "+f.Type.String())
	}
	known := []string{"Serial string", "Manufacturer string", "Kind oath.Kind", "Algorithm oath.Algorithm",
		"Digits int", "PeriodS int64", "SealedSecret []uint8", "Status server.Status", "Locked bool",
		"SuspendedBy server.ActorKind", "SuspendedAt time.Time", "OwnerID string", "Level server.Level",
		"SessionEpoch int", "FailCount int", "FailureTimes []time.Time", "ActivationFailures int", "ResyncFailures int", "Blocked bool", "DriftSteps int64",
		"AnchorAt time.Time", "AnchorDrift int64", "DriftPPM float64", "RateSamples int", "LastStep int64",
		"ImportedAt time.Time", "PurchasedAt time.Time", "ActivatedAt time.Time", "LastUsedAt time.Time",
		"ExpiresAt time.Time", "RevokedAt time.Time", "RevokedBy server.ActorKind", "Reminders []string",
		"NextEventAt time.Time"}
	if !slices.Equal(fields, known) {
		t.Fatalf("server.Token's fields changed: update storedToken, cloneToken and this list\ngot  %q\nwant %q", fields, known)
	}

	rng := rand.New(rand.NewPCG(8, 8))
	zone := time.FixedZone("X", 5*3600+1800)
	str := func() string {
		switch rng.IntN(6) {
		case 0:
			return ""
		case 1:
			return "bad\xff utf-8"
		}
		return string(rune('a'+rng.IntN(26))) + "é"
	}
	tm := func() time.Time {
		switch rng.IntN(4) {
		case 0:
			return time.Time{}
		case 1:
			return time.Now() // a monotonic reading
		case 2:
			return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zone)
		}
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC()
	}
	bytes := func() []byte {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []byte{}
		}
		return []byte{byte(rng.Uint32()), 0, 0xff}
	}
	strs := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		return []string{str(), str()}
	}
	times := func() []time.Time {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []time.Time{}
		}
		return []time.Time{tm(), tm()}
	}
	vouched := 0
	const n = 3000
	for range n {
		k := server.Token{
			Serial: str(), Manufacturer: str(), Kind: oath.Kind(rng.IntN(2)), Algorithm: oath.Algorithm(rng.IntN(3)),
			Digits: rng.IntN(10), PeriodS: rng.Int64N(90), SealedSecret: bytes(),
			Status: server.Status(str()), Locked: rng.IntN(2) == 0, SuspendedBy: server.ActorKind(str()), SuspendedAt: tm(),
			OwnerID: str(), Level: server.Level(rng.IntN(4)), SessionEpoch: rng.IntN(3), FailCount: rng.IntN(5), FailureTimes: times(),
			ActivationFailures: rng.IntN(3), ResyncFailures: rng.IntN(3), Blocked: rng.IntN(2) == 0,
			DriftSteps: rng.Int64N(21) - 10, AnchorAt: tm(), AnchorDrift: rng.Int64N(5) - 2,
			DriftPPM: []float64{0, -12.5, 3.25e-7, 1e21}[rng.IntN(4)], RateSamples: rng.IntN(4),
			LastStep: rng.Int64N(1 << 40), ImportedAt: tm(), PurchasedAt: tm(), ActivatedAt: tm(),
			LastUsedAt: tm(), ExpiresAt: tm(), RevokedAt: tm(), RevokedBy: server.ActorKind(str()), Reminders: strs(),
			NextEventAt: tm(),
		}
		data, err := encode(k)
		if err != nil {
			t.Fatal(err)
		}
		var want server.Token
		if err := json.Unmarshal([]byte(data), &want); err != nil {
			t.Fatal(err)
		}
		got := storedToken(k)
		if got == nil {
			continue
		}
		vouched++
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("storedToken differs from the stored token read back\n got %#v\nwant %#v", *got, want)
		}
		if len(k.SealedSecret) > 0 && &got.SealedSecret[0] == &k.SealedSecret[0] {
			t.Fatal("storedToken shares the sealed secret with its argument")
		}
	}
	if vouched < n/20 {
		t.Errorf("storedToken vouched for only %d of %d tokens", vouched, n)
	}
	t.Logf("vouched for %d of %d", vouched, n)
}
