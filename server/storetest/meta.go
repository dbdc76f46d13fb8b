package storetest

import (
	"errors"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// testMeta: a meta value round-trips, a missing one is ErrNoRecord, Put
// replaces, a failed Update's Put is undone, and values outlive a restart.
func (h *harness) testMeta(t *testing.T) {
	dir := t.TempDir()
	s := h.openIn(t, dir)
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			if _, err := tx.Meta("nothing"); !errors.Is(err, server.ErrNoRecord) {
				t.Errorf("%s: a missing meta value: got %v, want ErrNoRecord", r.name, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	update(t, s, func(tx server.Tx) error {
		if err := errors.Join(tx.PutMeta("a", "1"), tx.PutMeta("b", "two ünïcode"), tx.PutMeta("a", "one")); err != nil {
			return err
		}
		if v, err := tx.Meta("a"); err != nil || v != "one" {
			t.Errorf("meta a read back in the update that put it: %q, %v", v, err)
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx server.Tx) error {
		if err := errors.Join(tx.PutMeta("a", "rolled back"), tx.PutMeta("c", "rolled back")); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("failing update: got %v, want its error", err)
	}
	check := func(s server.Store, when string) {
		t.Helper()
		for _, r := range readers(s) {
			err := r.run(t.Context(), func(tx server.Tx) error {
				for name, want := range map[string]string{"a": "one", "b": "two ünïcode"} {
					if v, err := tx.Meta(name); err != nil || v != want {
						t.Errorf("%s: %s: meta %s = %q, %v; want %q", when, r.name, name, v, err, want)
					}
				}
				if v, err := tx.Meta("c"); !errors.Is(err, server.ErrNoRecord) {
					t.Errorf("%s: %s: meta c of a failed update = %q, %v", when, r.name, v, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check(s, "after the updates")
	if h.opts.noRestart != "" {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(h.openIn(t, dir), "after a restart")
}
