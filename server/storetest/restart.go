package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// testRestart: what was committed is there after Close and a re-open, every
// record and every list, the outbox and the audit included, and what a
// failed Update wrote is not; the logs' IDs go on increasing.
func (h *harness) testRestart(t *testing.T) {
	h.needRestart(t)
	dir := t.TempDir()
	s := h.openIn(t, dir)
	seed(t, s)
	putAll(t, s, server.Tx.PutToken, tokenFixtures...)
	update(t, s, scribbleAll)
	for i := range 3 {
		update(t, s, func(tx server.Tx) error {
			_, err1 := tx.AddNotification(server.Notification{UserID: dumpUsers[i], Subject: strconv.Itoa(i)})
			_, err2 := tx.AddAudit(server.AuditEntry{Target: "T" + strconv.Itoa(i), Detail: strconv.Itoa(i)})
			return errors.Join(err1, err2)
		})
	}
	err := s.Update(t.Context(), func(tx server.Tx) error {
		if err := tx.PutToken(server.Token{Serial: "LOST"}); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("failing update: got %v, want its error", err)
	}
	before := dumpView(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s = h.openIn(t, dir)
	for _, r := range readers(s) {
		var after state
		if err := r.run(t.Context(), func(tx server.Tx) (err error) { after, err = dump(tx); return err }); err != nil {
			t.Fatalf("%s after re-opening: %v", r.name, err)
		}
		if !same(after, before) {
			t.Errorf("%s after re-opening:\ngot  %+v\nwant %+v", r.name, after, before)
		}
	}
	view(t, s, func(tx server.Tx) error {
		if k, err := tx.Token("T2"); err != nil || !same(k, fullToken("T2")) {
			t.Errorf("token T2 after re-opening: got %+v, %v; want it whole", k, err)
		}
		if _, err := tx.Token("LOST"); !errors.Is(err, server.ErrNoRecord) {
			t.Errorf("token of a failed update after re-opening: got %v, want server.ErrNoRecord", err)
		}
		return nil
	})

	// New entries get IDs after the old ones, and survive the next restart.
	var nID, aID int64
	update(t, s, func(tx server.Tx) (err error) {
		nID, err = tx.AddNotification(server.Notification{UserID: "u1", Subject: "after"})
		if err != nil {
			return err
		}
		aID, err = tx.AddAudit(server.AuditEntry{Target: "T1", Detail: "after"})
		return err
	})
	if last := before.Notifications[len(before.Notifications)-1].ID; nID <= last {
		t.Errorf("notification ID after re-opening %d, want more than %d", nID, last)
	}
	if last := before.Audit[len(before.Audit)-1].ID; aID <= last {
		t.Errorf("audit ID after re-opening %d, want more than %d", aID, last)
	}
	before = dumpView(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s = h.openIn(t, dir)
	if after := dumpView(t, s); !same(after, before) {
		t.Errorf("after the second re-opening:\ngot  %+v\nwant %+v", after, before)
	}
}

// testRestartDuringUpdates: Updates go on from many goroutines while the
// store is closed. Each returns; each acknowledged one is there after a
// re-open, and every Update is all there or not at all.
func (h *harness) testRestartDuringUpdates(t *testing.T) {
	h.needRestart(t)
	dir := t.TempDir()
	s := h.openIn(t, dir)
	const goroutines = 16
	var (
		mu    sync.Mutex
		acked []string
		count atomic.Int32
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var enoughOnce sync.Once
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("R%02d-%03d", g, i)
				err := s.Update(context.Background(), func(tx server.Tx) error {
					_, err := tx.AddAudit(server.AuditEntry{Target: "R", Detail: name})
					return errors.Join(err, tx.PutToken(server.Token{Serial: name}))
				})
				if err != nil {
					return // closed
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
				if count.Add(1) == 4*goroutines {
					enoughOnce.Do(func() { close(enough) })
				}
			}
		})
	}
	returnsWithin(t, hangLimit*3, "updates before close", func() { <-enough })
	returnsWithin(t, hangLimit, "close during updates", func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	returnsWithin(t, hangLimit, "updates during close", wg.Wait)

	s = h.openIn(t, dir)
	view(t, s, func(tx server.Tx) error {
		ks, err := tx.Tokens(server.TokenFilter{})
		if err != nil {
			return err
		}
		es, err := tx.Audit("R", 0)
		if err != nil {
			return err
		}
		audited := []string{}
		for _, e := range es {
			audited = append(audited, e.Detail)
		}
		tokens := serials(ks)
		slices.Sort(audited)
		if !slices.Equal(tokens, audited) {
			t.Errorf("after re-opening, tokens %v and their audit entries %v differ: an update was kept in part", tokens, audited)
		}
		for _, name := range acked {
			if _, ok := slices.BinarySearch(tokens, name); !ok {
				t.Errorf("acknowledged update %s is lost after re-opening", name)
			}
		}
		return nil
	})
}
