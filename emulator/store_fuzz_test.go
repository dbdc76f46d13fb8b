package emulator

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzStoreRead feeds arbitrary bytes to the store reader: it must refuse
// or accept them without panicking, and what it accepts must survive a
// write and a read unchanged.
func FuzzStoreRead(f *testing.F) {
	f.Add([]byte(`{"version": 1, "tokens": [{"serial": "X", "secret_hex": "3132", "algorithm": "sha1", "digits": 8, "period_s": 30, "kind": "totp", "drift": {"offset": "1s", "ppm": 4, "start": "2026-01-01T00:00:00Z"}}]}`))
	f.Add([]byte(`{"version": 1, "tokens": [{"serial": "H", "secret_hex": "00", "algorithm": "sha512", "digits": 6, "period_s": 60, "kind": "hotp", "counter": 5, "drift": {"offset": "0s"}, "faults": {"dead_button": true}}]}`))
	f.Add([]byte(`{"version": 1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "tokens.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st := OpenStore(path)
		var first []Spec
		if err := st.View(func(set *TokenSet) error { first = set.List(); return nil }); err != nil {
			return
		}
		if err := st.Update(func(*TokenSet) error { return nil }); err != nil {
			t.Fatalf("rewriting an accepted store: %v", err)
		}
		var second []Spec
		if err := st.View(func(set *TokenSet) error { second = set.List(); return nil }); err != nil {
			t.Fatalf("reading back an accepted store: %v", err)
		}
		if len(first) != len(second) {
			t.Fatalf("%d tokens became %d", len(first), len(second))
		}
		for i := range first {
			a, b := recordOf(first[i]), recordOf(second[i])
			if a.Serial != b.Serial || a.SecretHex != b.SecretHex || a.Counter != b.Counter || a.Drift != b.Drift {
				t.Fatalf("token %d changed on a round trip: %+v -> %+v", i, a, b)
			}
		}
	})
}
