package emulator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
)

func TestStoreRoundTrip(t *testing.T) {
	st := OpenStore(filepath.Join(t.TempDir(), "sub", "tokens.json"))
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	specs := []Spec{
		{Serial: "A1", Secret: rfcSecret, Algorithm: oath.SHA256, Digits: 6, Period: time.Minute, Created: t0,
			Drift: Drift{Offset: -1500 * time.Millisecond, PPM: 4.25, Start: t0}},
		{Serial: "B2", Secret: []byte{0, 1, 2}, Kind: HOTP, Counter: 41, Digits: 8, Period: 30 * time.Second, Created: t0, Drift: Drift{Start: t0},
			Faults: Faults{DeadButton: true, WrongSecret: true}},
		{Serial: "C3", Secret: rfcSecret, Digits: 8, Period: 30 * time.Second, Created: t0, Drift: Drift{Start: t0},
			Faults: Faults{FrozenAt: t0.Add(time.Hour), ResetAt: t0.Add(2 * time.Hour)}},
	}
	if err := st.Update(func(set *TokenSet) error { return set.Add(specs...) }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode %v: it holds secrets and must be 0600", fi.Mode().Perm())
	}
	var got []Spec
	if err := st.View(func(set *TokenSet) error { got = set.List(); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(specs) {
		t.Fatalf("read %d tokens, wrote %d", len(got), len(specs))
	}
	for i := range specs {
		w, g := specs[i], got[i]
		if g.Serial != w.Serial || string(g.Secret) != string(w.Secret) || g.Algorithm != w.Algorithm || g.Digits != w.Digits ||
			g.Period != w.Period || g.Kind != w.Kind || g.Counter != w.Counter || !g.Created.Equal(w.Created) ||
			g.Drift.Offset != w.Drift.Offset || g.Drift.PPM != w.Drift.PPM || !g.Drift.Start.Equal(w.Drift.Start) ||
			!g.Faults.FrozenAt.Equal(w.Faults.FrozenAt) || !g.Faults.ResetAt.Equal(w.Faults.ResetAt) ||
			g.Faults.WrongSecret != w.Faults.WrongSecret || g.Faults.DeadButton != w.Faults.DeadButton {
			t.Errorf("token %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestStoreFailedUpdateChangesNothing(t *testing.T) {
	st := OpenStore(filepath.Join(t.TempDir(), "tokens.json"))
	add := func(serial string) error {
		return st.Update(func(set *TokenSet) error {
			return set.Add(Spec{Serial: serial, Secret: rfcSecret, Digits: 8, Period: 30 * time.Second})
		})
	}
	if err := add("ONE"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(st.Path())
	if err := add("ONE"); !errors.Is(err, ErrExists) {
		t.Fatalf("adding a serial twice: %v", err)
	}
	err := st.Update(func(set *TokenSet) error { return set.Remove("ONE", "MISSING") })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing a missing serial: %v", err)
	}
	after, _ := os.ReadFile(st.Path())
	if string(before) != string(after) {
		t.Fatal("a refused update changed the store")
	}
}

func TestStoreConcurrentHOTPPressesLoseNoCounter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	if err := OpenStore(path).Update(func(set *TokenSet) error {
		return set.Add(Spec{Serial: "H", Secret: rfcSecret, Kind: HOTP, Digits: 8, Period: 30 * time.Second})
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			st := OpenStore(path) // separate handles, as separate CLI runs have
			for range 25 {
				if _, _, err := st.Press("H", time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	_ = OpenStore(path).View(func(set *TokenSet) error {
		s, _ := set.Get("H")
		if s.Counter != 100 {
			t.Errorf("counter %d after 100 presses", s.Counter)
		}
		return nil
	})
}

func TestStorePress(t *testing.T) {
	st := OpenStore(filepath.Join(t.TempDir(), "tokens.json"))
	if err := st.Update(func(set *TokenSet) error {
		return set.Add(
			Spec{Serial: "T", Secret: rfcSecret, Digits: 8, Period: 30 * time.Second},
			Spec{Serial: "H", Secret: rfcSecret, Kind: HOTP, Digits: 6, Period: 30 * time.Second},
			Spec{Serial: "D", Secret: rfcSecret, Kind: HOTP, Digits: 6, Period: 30 * time.Second, Faults: Faults{DeadButton: true}},
		)
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(st.Path())
	d, spec, err := st.Press("T", time.Unix(59, 0))
	if err != nil || d.Code != "94287082" || spec.Serial != "T" {
		t.Fatalf("TOTP press: %+v %v", d, err)
	}
	ds, _, err := st.PressConsecutive("T", time.Unix(1111111111, 0))
	if err != nil || ds[0].Code != "07081804" || ds[1].Code != "14050471" {
		t.Fatalf("TOTP consecutive: %+v %v", ds, err)
	}
	if _, _, err := st.Press("D", time.Unix(59, 0)); !errors.Is(err, ErrButtonDead) {
		t.Fatalf("dead button: %v", err)
	}
	if _, _, err := st.Press("NONE", time.Unix(59, 0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing serial: %v", err)
	}
	if after, _ := os.ReadFile(st.Path()); string(before) != string(after) {
		t.Fatal("TOTP presses and refused presses changed the store")
	}
	if d, _, err = st.Press("H", time.Unix(59, 0)); err != nil || d.Code != "755224" {
		t.Fatalf("HOTP press: %+v %v", d, err)
	}
	ds, spec, err = st.PressConsecutive("H", time.Unix(59, 0))
	if err != nil || ds[0].Code != "287082" || ds[1].Code != "359152" || spec.Counter != 3 {
		t.Fatalf("HOTP consecutive: %+v %+v %v", ds, spec, err)
	}
	_ = st.View(func(set *TokenSet) error {
		if s, _ := set.Get("H"); s.Counter != 3 {
			t.Errorf("saved counter %d after 3 presses", s.Counter)
		}
		return nil
	})
}

func TestStoreEdit(t *testing.T) {
	st := OpenStore(filepath.Join(t.TempDir(), "tokens.json"))
	t0 := time.Unix(1_700_000_000, 0).UTC()
	if err := st.Update(func(set *TokenSet) error {
		return set.Add(Spec{Serial: "T", Secret: rfcSecret, Digits: 8, Period: 30 * time.Second, Created: t0, Drift: Drift{Start: t0}})
	}); err != nil {
		t.Fatal(err)
	}
	after, err := st.Edit("T", t0, func(tok *Token) error { return tok.SetDrift(Drift{PPM: 4}) })
	if err != nil || after.Drift.PPM != 4 || !after.Drift.Start.Equal(t0) {
		t.Fatalf("edit: %+v %v", after.Drift, err)
	}
	before, _ := os.ReadFile(st.Path())
	if _, err := st.Edit("T", t0, func(tok *Token) error { return tok.SetDrift(Drift{PPM: 1e9}) }); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a refused edit: %v", err)
	}
	if _, err := st.Edit("NONE", t0, func(*Token) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing serial: %v", err)
	}
	if after, _ := os.ReadFile(st.Path()); string(before) != string(after) {
		t.Fatal("a refused edit changed the store")
	}
	_ = st.View(func(set *TokenSet) error {
		if s, _ := set.Get("T"); s.Drift.PPM != 4 {
			t.Errorf("saved drift %+v", s.Drift)
		}
		return nil
	})
}

func TestDamagedStoreSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":  "{not json",
		"version":  `{"version": 2, "tokens": []}`,
		"bad hex":  `{"version": 1, "tokens": [{"serial": "X", "secret_hex": "zz", "algorithm": "sha1", "digits": 8, "period_s": 30, "kind": "totp", "drift": {"offset": "0s"}}]}`,
		"digits 7": `{"version": 1, "tokens": [{"serial": "X", "secret_hex": "31", "algorithm": "sha1", "digits": 7, "period_s": 30, "kind": "totp", "drift": {"offset": "0s"}}]}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		err := OpenStore(path).View(func(*TokenSet) error { return nil })
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
}

func TestDefaultStorePath(t *testing.T) {
	t.Setenv("TOKENLAB_HOME", "/tmp/tl-home")
	if p, err := DefaultStorePath(); err != nil || p != "/tmp/tl-home/tokens.json" {
		t.Fatalf("with TOKENLAB_HOME: %q %v", p, err)
	}
	t.Setenv("TOKENLAB_HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "/tmp/xdg")
	if p, err := DefaultStorePath(); err != nil || p != "/tmp/xdg/tokenlab/tokens.json" {
		t.Fatalf("per-user default: %q %v", p, err)
	}
}
