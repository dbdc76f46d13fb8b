package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// errTest is what the tests' failing Updates return.
var errTest = errors.New("storetest: refused")

// refusal is an error type the server's callers look for with errors.As.
type refusal struct{ code string }

func (r *refusal) Error() string { return "refused: " + r.code }

// hangLimit bounds a call that must return; a store that hangs fails the
// test.
const hangLimit = 10 * time.Second

// dumpUsers, dumpKeys and dumpApps are the keys dump reads by.
var (
	dumpUsers = []string{"u1", "u2", "u3"}
	dumpKeys  = []string{"K-1", "K-2"}
	dumpApps  = []string{"app", "app2"}
	dumpOrgs  = []string{"Acme", "Globex"}
)

// state is what dump reads: everything the tests below write, through
// every kind of read.
type state struct {
	Accounts      []server.Account
	Applications  []server.Application
	Tokens        []server.Token
	Due           []server.Token
	Owned         [][]server.Token       // per dumpUsers
	Sponsorships  [][]server.Sponsorship // per dumpUsers
	Sessions      [][]server.Session     // per dumpUsers
	LicenceKeys   []server.LicenceKey    // those of dumpKeys that exist
	Terms         []bool                 // per dumpUsers × dumpApps
	OrgTerms      []bool                 // per dumpOrgs × dumpApps
	Notifications []server.Notification
	Audit         []server.AuditEntry
}

func dump(tx server.Tx) (state, error) {
	var st state
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	st.Accounts, err = tx.Accounts()
	add(err)
	st.Applications, err = tx.Applications()
	add(err)
	st.Tokens, err = tx.Tokens(server.TokenFilter{})
	add(err)
	st.Due, err = tx.TokensDue(at(1000000))
	add(err)
	for _, u := range dumpUsers {
		ks, err := tx.Tokens(server.TokenFilter{OwnerID: u})
		add(err)
		ps, err := tx.Sponsorships(u)
		add(err)
		ss, err := tx.Sessions(u)
		add(err)
		st.Owned, st.Sponsorships, st.Sessions = append(st.Owned, ks), append(st.Sponsorships, ps), append(st.Sessions, ss)
		for _, app := range dumpApps {
			ok, err := tx.TermsAccepted(u, app)
			add(err)
			st.Terms = append(st.Terms, ok)
		}
	}
	for _, org := range dumpOrgs {
		for _, app := range dumpApps {
			ok, err := tx.OrganizationTermsAccepted(org, app)
			add(err)
			st.OrgTerms = append(st.OrgTerms, ok)
		}
	}
	for _, k := range dumpKeys {
		l, err := tx.LicenceKey(k)
		if !errors.Is(err, server.ErrNoRecord) {
			add(err)
			st.LicenceKeys = append(st.LicenceKeys, l)
		}
	}
	st.Notifications, err = tx.Notifications("")
	add(err)
	st.Audit, err = tx.Audit("", 0)
	add(err)
	return st, errors.Join(errs...)
}

// dumpView reads the state in a View.
func dumpView(t *testing.T, s server.Store) state {
	t.Helper()
	var st state
	view(t, s, func(tx server.Tx) (err error) { st, err = dump(tx); return err })
	return st
}

// seed commits some of every kind of record.
func seed(t *testing.T, s server.Store) {
	t.Helper()
	update(t, s, func(tx server.Tx) error {
		_, err1 := tx.AddNotification(fullNotification("u1"))
		_, err2 := tx.AddAudit(fullAuditEntry("T1"))
		return errors.Join(tx.PutToken(fullToken("T1")), tx.PutToken(server.Token{Serial: "T3", OwnerID: "u2", LastStep: 1}),
			tx.PutAccount(fullAccount("u1")), tx.PutSponsorship(fullSponsorship("u1", "T1")),
			tx.PutLicenceKey(fullLicenceKey("K-1")), tx.PutApplication(fullApplication("app")),
			tx.PutSession(fullSession("s1")), tx.AcceptTerms("u1", "app", at(0)), tx.AcceptOrganizationTerms("Acme", "app", at(0)), err1, err2)
	})
}

// scribbleAll changes, adds to and reads back every kind of record.
func scribbleAll(tx server.Tx) error {
	k, err := tx.Token("T1")
	if err != nil {
		return err
	}
	k.LastStep, k.OwnerID, k.Status, k.NextEventAt = k.LastStep+1, "u3", server.StatusActive, at(1)
	acc := fullAccount("u1")
	acc.Email = "changed@example.org"
	sess := fullSession("s1")
	sess.EndedAt = at(99)
	_, err1 := tx.AddNotification(fullNotification("u2"))
	_, err2 := tx.AddAudit(fullAuditEntry("T2"))
	_, err3 := tx.PruneAudit(at(2), 0) // the seeded entry, and the one just added
	err = errors.Join(err3, tx.PutToken(k), tx.PutToken(fullToken("T2")), tx.PutAccount(acc), tx.PutAccount(fullAccount("u2")),
		tx.PutSponsorship(fullSponsorship("u2", "T2")), tx.PutLicenceKey(fullLicenceKey("K-2")),
		tx.PutApplication(fullApplication("app2")), tx.PutSession(sess), tx.PutSession(fullSession("s2")),
		tx.AcceptTerms("u1", "app2", at(1)), tx.AcceptTerms("u2", "app", at(1)),
		tx.AcceptOrganizationTerms("Acme", "app2", at(1)), tx.AcceptOrganizationTerms("Globex", "app", at(1)), err1, err2)
	if err != nil {
		return err
	}
	if k, err := tx.Token("T2"); err != nil || !same(k, fullToken("T2")) {
		return fmt.Errorf("token T2 read back in the update that put it: got %+v, %v", k, err)
	}
	return nil
}

// testUpdateErrorChangesNothing: an Update whose function fails keeps none
// of its writes, and its error comes back for errors.Is and errors.As.
func (h *harness) testUpdateErrorChangesNothing(t *testing.T) {
	s := h.fresh(t)
	seed(t, s)
	before := dumpView(t, s)
	for i := range 3 {
		failure := fmt.Errorf("wrapped: %w", &refusal{code: "E" + strconv.Itoa(i)})
		err := s.Update(t.Context(), func(tx server.Tx) error {
			if err := scribbleAll(tx); err != nil {
				return err
			}
			return failure
		})
		var r *refusal
		if !errors.Is(err, failure) || !errors.As(err, &r) || r.code != "E"+strconv.Itoa(i) {
			t.Fatalf("failing update: got %v, want %v", err, failure)
		}
		if after := dumpView(t, s); !same(after, before) {
			t.Fatalf("a failed update changed the store:\nbefore %+v\nafter  %+v", before, after)
		}
	}
	update(t, s, scribbleAll) // the store still works
	if after := dumpView(t, s); same(after, before) {
		t.Fatalf("an update changed nothing")
	}
}

// testUpdatePanicChangesNothing: an Update whose function panics keeps
// none of its writes, and the panic goes on in the caller, with its value.
func (h *harness) testUpdatePanicChangesNothing(t *testing.T) {
	s := h.fresh(t)
	seed(t, s)
	before := dumpView(t, s)
	for i := range 3 {
		var recovered any
		returnsWithin(t, hangLimit, "a panicking update", func() {
			defer func() { recovered = recover() }()
			err := s.Update(t.Context(), func(tx server.Tx) error {
				if err := scribbleAll(tx); err != nil {
					return err
				}
				panic(fmt.Sprint("boom ", i))
			})
			t.Errorf("a panicking update returned %v, want the panic to go on", err)
		})
		if recovered != fmt.Sprint("boom ", i) {
			t.Fatalf("panicking update: recovered %v, want boom %d", recovered, i)
		}
		if after := dumpView(t, s); !same(after, before) {
			t.Fatalf("a panicking update changed the store:\nbefore %+v\nafter  %+v", before, after)
		}
	}
	update(t, s, scribbleAll) // the store still works
	if after := dumpView(t, s); same(after, before) {
		t.Fatalf("an update changed nothing")
	}
}

// testViewSeesOnlyCommitted: a View that runs while an Update has written
// but not committed does not see the writes; once the Update returns, a View
// sees all of them.
func (h *harness) testViewSeesOnlyCommitted(t *testing.T) {
	s := h.fresh(t)
	seed(t, s)
	before := dumpView(t, s)
	type viewed struct {
		st  state
		err error
	}
	written, viewDone := make(chan struct{}), make(chan viewed, 1)
	go func() {
		<-written
		var v viewed
		v.err = s.View(context.Background(), func(tx server.Tx) (err error) { v.st, err = dump(tx); return err })
		viewDone <- v
	}()
	var during *viewed
	update(t, s, func(tx server.Tx) error {
		if err := scribbleAll(tx); err != nil {
			return err
		}
		close(written)
		// A store may make Views wait for the Update; then the View is
		// checked below, after it.
		select {
		case v := <-viewDone:
			during = &v
		case <-time.After(2 * time.Second):
		}
		return nil
	})
	after := dumpView(t, s)
	if same(after, before) {
		t.Fatalf("the update changed nothing")
	}
	if during != nil {
		if during.err != nil {
			t.Fatalf("view during the update: %v", during.err)
		}
		if !same(during.st, before) {
			t.Errorf("a view during an update saw its uncommitted writes:\nsaw  %+v\nwant %+v", during.st, before)
		}
		return
	}
	select {
	case v := <-viewDone:
		if v.err != nil {
			t.Fatalf("view begun during the update: %v", v.err)
		}
		if !same(v.st, before) && !same(v.st, after) {
			t.Errorf("a view begun during an update saw part of it:\nsaw    %+v\nbefore %+v\nafter  %+v", v.st, before, after)
		}
	case <-time.After(hangLimit):
		t.Fatalf("a view begun during an update has not returned after %v", hangLimit)
	}
}

// testViewChangesNothing: writes in a View are not kept, whether the
// View's function fails or not, and its error comes back.
func (h *harness) testViewChangesNothing(t *testing.T) {
	s := h.fresh(t)
	seed(t, s)
	before := dumpView(t, s)
	for _, ret := range []error{nil, errTest} {
		err := s.View(t.Context(), func(tx server.Tx) error {
			_ = scribbleAll(tx) // a store may refuse writes in a View
			return ret
		})
		if ret != nil && !errors.Is(err, ret) {
			t.Errorf("failing view: got %v, want %v", err, ret)
		}
		if after := dumpView(t, s); !same(after, before) {
			t.Fatalf("a view (returning %v) changed the store:\nbefore %+v\nafter  %+v", ret, before, after)
		}
	}
}

// testConcurrentIncrements: concurrent read-modify-write Updates of one
// token lose no update.
func (h *harness) testConcurrentIncrements(t *testing.T) {
	concurrentIncrements(t, h.fresh(t))
}

// concurrentIncrements runs the increments over the stores, which share
// their data, in turn.
func concurrentIncrements(t *testing.T, stores ...server.Store) {
	s := stores[0]
	putAll(t, s, server.Tx.PutToken, server.Token{Serial: "T1", LastStep: 0})
	const goroutines, each = 32, 4
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for range each {
				errs <- stores[g%len(stores)].Update(context.Background(), func(tx server.Tx) error {
					k, err := tx.Token("T1")
					if err != nil {
						return err
					}
					k.LastStep++
					k.FailCount = int(k.LastStep)
					return tx.PutToken(k)
				})
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("update: %v", err)
		}
	}
	view(t, s, func(tx server.Tx) error {
		k, err := tx.Token("T1")
		if err != nil {
			return err
		}
		if k.LastStep != goroutines*each || k.FailCount != goroutines*each {
			t.Errorf("after %d increments the counter is %d (%d): updates were lost", goroutines*each, k.LastStep, k.FailCount)
		}
		return nil
	})
}

// errReplayed is the refusal of a step not after the token's last one.
var errReplayed = errors.New("storetest: step already used")

// testOnceEveryStep: as the server accepts a code — read the token, accept
// the step only if it is after LastStep, write — Updates racing to accept
// the same step have one winner; the others see its write.
func (h *harness) testOnceEveryStep(t *testing.T) {
	onceEveryStep(t, h.fresh(t))
}

// onceEveryStep runs the race over the stores, which share their data,
// each racer on one of them in turn.
func onceEveryStep(t *testing.T, stores ...server.Store) {
	s := stores[0]
	putAll(t, s, server.Tx.PutToken, server.Token{Serial: "T1", Status: server.StatusActive, LastStep: -1})
	const rounds, racers = 12, 12
	accept := func(step int64, racer int) func(server.Tx) error {
		return func(tx server.Tx) error {
			k, err := tx.Token("T1")
			if err != nil {
				return err
			}
			if step <= k.LastStep {
				return errReplayed
			}
			k.LastStep, k.LastUsedAt = step, at(int(step))
			if err := tx.PutToken(k); err != nil {
				return err
			}
			_, err = tx.AddAudit(server.AuditEntry{Target: "T1", Action: "verify", Actor: strconv.Itoa(racer),
				Outcome: "ok", Detail: strconv.FormatInt(step, 10)})
			return err
		}
	}
	for step := range int64(rounds) {
		var wins, replays atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for racer := range racers {
			wg.Go(func() {
				<-start
				switch err := stores[racer%len(stores)].Update(context.Background(), accept(step, racer)); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, errReplayed):
					replays.Add(1)
				default:
					t.Errorf("step %d, racer %d: %v", step, racer, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || replays.Load() != racers-1 {
			t.Errorf("step %d: %d updates accepted it and %d refused it, want 1 and %d", step, wins.Load(), replays.Load(), racers-1)
		}
	}
	view(t, s, func(tx server.Tx) error {
		k, err := tx.Token("T1")
		if err != nil {
			return err
		}
		if k.LastStep != rounds-1 {
			t.Errorf("last step %d, want %d", k.LastStep, rounds-1)
		}
		es, err := tx.Audit("T1", 0)
		if err != nil {
			return err
		}
		var steps []string
		for _, e := range es {
			steps = append(steps, e.Detail)
		}
		if len(es) != rounds {
			t.Errorf("audit of the accepted steps: %v, want each step once, in order", steps)
		}
		for i, s := range steps {
			if s != strconv.Itoa(i) {
				t.Errorf("audit of the accepted steps: %v, want each step once, in order", steps)
				break
			}
		}
		return nil
	})
}

// testConcurrentOutcomes: of many concurrent Updates, some failing and
// some panicking, each keeps its own outcome: the failed ones leave nothing,
// all the others land.
func (h *harness) testConcurrentOutcomes(t *testing.T) {
	s := h.fresh(t)
	const n = 48
	fails := func(i int) bool { return i%6 == 1 }
	panics := func(i int) bool { return i%6 == 4 }
	ids := make([]int64, n)
	errs := make([]error, n)
	recovered := make([]any, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			defer func() { recovered[i] = recover() }()
			<-start
			errs[i] = s.Update(context.Background(), func(tx server.Tx) error {
				if err := tx.PutToken(server.Token{Serial: fmt.Sprintf("C%02d", i), LastStep: int64(i)}); err != nil {
					return err
				}
				id, err := tx.AddNotification(server.Notification{UserID: "u1", Subject: strconv.Itoa(i)})
				if err != nil {
					return err
				}
				switch {
				case fails(i):
					return errTest
				case panics(i):
					panic("boom")
				}
				ids[i] = id
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	want := map[int64]string{}
	for i := range n {
		switch {
		case fails(i):
			if !errors.Is(errs[i], errTest) || recovered[i] != nil {
				t.Errorf("update %d: got %v, panic %v; want its error", i, errs[i], recovered[i])
			}
		case panics(i):
			if recovered[i] != "boom" {
				t.Errorf("update %d: got %v, panic %v; want its panic", i, errs[i], recovered[i])
			}
		default:
			if errs[i] != nil || recovered[i] != nil {
				t.Errorf("update %d: got %v, panic %v; want success", i, errs[i], recovered[i])
			}
			want[ids[i]] = strconv.Itoa(i)
		}
	}
	view(t, s, func(tx server.Tx) error {
		for i := range n {
			k, err := tx.Token(fmt.Sprintf("C%02d", i))
			if fails(i) || panics(i) {
				if !errors.Is(err, server.ErrNoRecord) {
					t.Errorf("token of failed update %d: got %+v, %v; want none", i, k, err)
				}
			} else if err != nil || k.LastStep != int64(i) {
				t.Errorf("token of update %d: got last step %d, %v; want %d", i, k.LastStep, err, i)
			}
		}
		ns, err := tx.Notifications("u1")
		if err != nil {
			return err
		}
		if !increasing(notificationIDs(ns)) {
			t.Errorf("notification IDs %v do not increase", notificationIDs(ns))
		}
		got := map[int64]string{}
		for _, x := range ns {
			got[x.ID] = x.Subject
		}
		if len(got) != len(want) || len(ns) != len(want) {
			t.Errorf("notifications: got %v, want %v (ID: update)", got, want)
			return nil
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("notifications: got %v, want %v (ID: update)", got, want)
				break
			}
		}
		return nil
	})
}

// testCancelled: an Update whose context is cancelled, before it runs or
// while its function runs, returns an error if and only if nothing was
// committed, and the store goes on working.
func (h *harness) testCancelled(t *testing.T) {
	s := h.fresh(t)
	cases := []struct {
		name   string
		serial string
		run    func() error
	}{
		{"before", "X1", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return s.Update(ctx, func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "X1"}) })
		}},
		{"during", "X2", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			return s.Update(ctx, func(tx server.Tx) error {
				err := tx.PutToken(server.Token{Serial: "X2"})
				cancel()
				return err
			})
		}},
	}
	for _, c := range cases {
		var err error
		returnsWithin(t, hangLimit, "an update with a cancelled context", func() { err = c.run() })
		view(t, s, func(tx server.Tx) error {
			_, gerr := tx.Token(c.serial)
			if (err == nil) != (gerr == nil) {
				t.Errorf("cancelled %s: the update returned %v, and then reading its token gave %v", c.name, err, gerr)
			}
			return nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	returnsWithin(t, hangLimit, "a view with a cancelled context", func() {
		_ = s.View(ctx, func(tx server.Tx) error { return nil })
	})
	update(t, s, func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "X3"}) })
}

// testClosed: after Close, Updates fail and Views return, rather than
// hang; nothing they did is there when the store is opened again.
func (h *harness) testClosed(t *testing.T) {
	dir := t.TempDir()
	s := h.openIn(t, dir)
	seed(t, s)
	before := dumpView(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// Many times: a store choosing at random between its queue and its
	// closing would hang on only some of them.
	for i := range 20 {
		returnsWithin(t, hangLimit, "an update after close", func() {
			err := s.Update(context.Background(), func(tx server.Tx) error {
				return tx.PutToken(server.Token{Serial: "Z" + strconv.Itoa(i)})
			})
			if err == nil {
				t.Errorf("update %d after close succeeded", i)
			}
		})
		returnsWithin(t, hangLimit, "a view after close", func() {
			_ = s.View(context.Background(), func(tx server.Tx) error { return nil })
		})
	}
	if h.opts.noRestart != "" {
		return
	}
	s = h.openIn(t, dir)
	if after := dumpView(t, s); !same(after, before) {
		t.Errorf("updates after close changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
}
