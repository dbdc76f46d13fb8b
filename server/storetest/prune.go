package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// testPruneAudit: PruneAudit deletes the entries dated before a time
// (whatever their order of IDs: the sweep writes entries dated at their
// due time, which may be long ago), then all but the newest keep by ID;
// it says how many it deleted, an entry without a time is never too old,
// a failed Update's pruning is undone, and IDs are never given again.
func (h *harness) testPruneAudit(t *testing.T) {
	s := h.fresh(t)
	day := 24 * time.Hour
	dates := []time.Time{at(0), at(0).Add(10 * day), at(0).Add(-5 * day), {}, at(0).Add(20 * day), at(0).Add(30 * day)}
	ids := make([]int64, len(dates))
	for i, d := range dates {
		update(t, s, func(tx server.Tx) error {
			e := fullAuditEntry(fmt.Sprintf("T%d", i%2))
			e.At = d
			var err error
			ids[i], err = tx.AddAudit(e)
			return err
		})
	}
	// check lists the audit, all of it and by target, with both readers.
	check := func(step string, want ...int) {
		t.Helper()
		wantIDs := []int64{}
		for _, i := range want {
			wantIDs = append(wantIDs, ids[i])
		}
		for _, r := range readers(s) {
			err := r.run(t.Context(), func(tx server.Tx) error {
				es, err := tx.Audit("", 0)
				if err != nil {
					return err
				}
				if got := auditIDs(es); !slices.Equal(got, wantIDs) {
					t.Errorf("%s: %s: audit IDs %v, want %v", step, r.name, got, wantIDs)
				}
				for _, target := range []string{"T0", "T1"} {
					es, err := tx.Audit(target, 0)
					if err != nil {
						return err
					}
					for _, e := range es {
						if !slices.Contains(wantIDs, e.ID) {
							t.Errorf("%s: %s: the audit of %s still lists pruned entry %d", step, r.name, target, e.ID)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %s: %v", step, r.name, err)
			}
		}
	}
	prune := func(before time.Time, keep int) int {
		t.Helper()
		var n int
		update(t, s, func(tx server.Tx) (err error) { n, err = tx.PruneAudit(before, keep); return err })
		return n
	}
	check("before pruning", 0, 1, 2, 3, 4, 5)

	// A failed Update's pruning is undone.
	err := s.Update(t.Context(), func(tx server.Tx) error {
		if _, err := tx.PruneAudit(at(0).Add(100*day), 1); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("failing update: got %v, want its error", err)
	}
	check("after a failed update", 0, 1, 2, 3, 4, 5)

	if n := prune(time.Time{}, 0); n != 0 {
		t.Errorf("pruning with no limit deleted %d entries", n)
	}
	if n := prune(at(0).Add(10*day), 0); n != 2 {
		t.Errorf("pruning before day 10 deleted %d entries, want 2 (days 0 and -5)", n)
	}
	check("after pruning by date", 1, 3, 4, 5)
	if n := prune(time.Time{}, 10); n != 0 {
		t.Errorf("keeping 10 of 4 deleted %d entries", n)
	}
	if n := prune(time.Time{}, 2); n != 2 {
		t.Errorf("keeping the newest 2 of 4 deleted %d entries, want 2", n)
	}
	check("after keeping the newest 2", 4, 5)
	if n := prune(at(0).Add(1000*day), 0); n != 2 {
		t.Errorf("pruning everything deleted %d entries, want 2", n)
	}
	check("after pruning everything")

	// IDs go on increasing after the newest entries were deleted.
	var next int64
	update(t, s, func(tx server.Tx) (err error) { next, err = tx.AddAudit(fullAuditEntry("T0")); return err })
	if next <= slices.Max(ids) {
		t.Errorf("the entry added after pruning got ID %d; the pruned ones went up to %d", next, slices.Max(ids))
	}
}
