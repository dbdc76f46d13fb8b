package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// The notifications (the outbox) and the audit are append-only logs: each
// entry gets the next ID, and listings come oldest first.

// logFixture is who each entry of the log tests is for, in insertion order.
var logFixture = []string{"u1", "u2", "u1", "u3", "u1", "u2", "u1"}

// logBatches groups logFixture's entries into Updates, so that IDs are
// seen to increase both within an Update and across Updates.
var logBatches = [][]int{{0}, {1, 2}, {3}, {4, 5, 6}}

// increasing reports whether ids strictly increase.
func increasing(ids []int64) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return false
		}
	}
	return true
}

// testNotifications: IDs increase in insertion order, a failed Update's
// entries are not listed, listings are oldest first, by user or all.
func (h *harness) testNotifications(t *testing.T) {
	s := h.fresh(t)
	ids := make([]int64, len(logFixture))
	add := func(tx server.Tx, i int) error {
		n := fullNotification(logFixture[i])
		n.Subject = strconv.Itoa(i)
		id, err := tx.AddNotification(n)
		ids[i] = id
		return err
	}
	for b, batch := range logBatches {
		update(t, s, func(tx server.Tx) error {
			for _, i := range batch {
				if err := add(tx, i); err != nil {
					return err
				}
			}
			// Read back in the Update that added them.
			ns, err := tx.Notifications(logFixture[batch[0]])
			if err != nil {
				return err
			}
			if len(ns) == 0 || ns[len(ns)-1].ID != ids[slices.Max(indexesOf(batch, logFixture[batch[0]]))] {
				t.Errorf("update %d: notifications of %s end with %v, want the one it added", b, logFixture[batch[0]], notificationIDs(ns))
			}
			return nil
		})
		if b == 1 { // and a failed Update in between, whose entries vanish
			err := s.Update(t.Context(), func(tx server.Tx) error {
				for _, u := range []string{"u1", "u4"} {
					if _, err := tx.AddNotification(server.Notification{UserID: u, Subject: "rolled back"}); err != nil {
						return err
					}
				}
				return errTest
			})
			if !errors.Is(err, errTest) {
				t.Fatalf("failing update: got %v, want its error", err)
			}
		}
	}
	if !increasing(ids) {
		t.Errorf("IDs %v do not increase in insertion order", ids)
	}
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			for _, user := range []string{"", "u1", "u2", "u3", "u4", "nobody"} {
				ns, err := tx.Notifications(user)
				if err != nil {
					return err
				}
				want := []int64{}
				for i, u := range logFixture {
					if user == "" || u == user {
						want = append(want, ids[i])
					}
				}
				if got := notificationIDs(ns); !slices.Equal(got, want) {
					t.Errorf("%s: notifications of %q: got IDs %v, want %v", r.name, user, got, want)
				}
				for _, n := range ns {
					i := slices.Index(ids, n.ID)
					want := fullNotification(logFixture[max(i, 0)])
					want.ID, want.Subject = n.ID, strconv.Itoa(i)
					if !same(n, want) {
						t.Errorf("%s: notification %d:\ngot  %+v\nwant %+v", r.name, n.ID, n, want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
}

// indexesOf lists the entries of batch for user.
func indexesOf(batch []int, user string) []int {
	var out []int
	for _, i := range batch {
		if logFixture[i] == user {
			out = append(out, i)
		}
	}
	return out
}

// testAudit: IDs increase in insertion order; listings are oldest first,
// by target or all, and a limit keeps the newest entries.
func (h *harness) testAudit(t *testing.T) {
	s := h.fresh(t)
	targets := logFixture // targets, here
	ids := make([]int64, len(targets))
	for _, batch := range logBatches {
		update(t, s, func(tx server.Tx) error {
			for _, i := range batch {
				e := fullAuditEntry(targets[i])
				e.Detail = strconv.Itoa(i)
				id, err := tx.AddAudit(e)
				if err != nil {
					return err
				}
				ids[i] = id
			}
			es, err := tx.Audit(targets[batch[0]], 1)
			if err != nil {
				return err
			}
			if got, want := auditIDs(es), []int64{ids[slices.Max(indexesOf(batch, targets[batch[0]]))]}; !slices.Equal(got, want) {
				t.Errorf("newest audit entry of %s in the update that added it: got %v, want %v", targets[batch[0]], got, want)
			}
			return nil
		})
	}
	err := s.Update(t.Context(), func(tx server.Tx) error {
		if _, err := tx.AddAudit(server.AuditEntry{Target: "u1", Detail: "rolled back"}); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("failing update: got %v, want its error", err)
	}
	if !increasing(ids) {
		t.Errorf("IDs %v do not increase in insertion order", ids)
	}
	// want is the IDs of target's entries (all for ""), the newest limit.
	want := func(target string, limit int) []int64 {
		out := []int64{}
		for i, tg := range targets {
			if target == "" || tg == target {
				out = append(out, ids[i])
			}
		}
		if limit > 0 && len(out) > limit {
			out = out[len(out)-limit:]
		}
		return out
	}
	cases := []struct {
		target string
		limit  int
	}{
		{"", 0}, {"", -1}, {"", 1}, {"", 3}, {"", len(targets)}, {"", 100},
		{"u1", 0}, {"u1", 1}, {"u1", 3}, {"u1", 4}, {"u1", 5},
		{"u2", 0}, {"u3", 2}, {"nobody", 0}, {"nobody", 3},
	}
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			for _, c := range cases {
				es, err := tx.Audit(c.target, c.limit)
				if err != nil {
					return fmt.Errorf("audit %q limit %d: %w", c.target, c.limit, err)
				}
				if got, want := auditIDs(es), want(c.target, c.limit); !slices.Equal(got, want) {
					t.Errorf("%s: audit of %q, limit %d: got IDs %v, want %v", r.name, c.target, c.limit, got, want)
				}
				for _, e := range es {
					i := slices.Index(ids, e.ID)
					want := fullAuditEntry(targets[max(i, 0)])
					want.ID, want.Detail = e.ID, strconv.Itoa(i)
					if !same(e, want) {
						t.Errorf("%s: audit entry %d:\ngot  %+v\nwant %+v", r.name, e.ID, e, want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
}
