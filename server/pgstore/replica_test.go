package pgstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/pgstore"
)

// start is the tests' virtual time: away from a step's edges.
var start = time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)

// replica is one server on the shared database, as a process of its own
// has it: its own connection pool, the database's clock.
type replica struct {
	store *pgstore.Store
	clock *pgstore.Clock
	srv   *server.Server
	key   []byte
}

// replicas starts n servers on one new schema, with one seed key.
func replicas(t *testing.T, n int, pol server.Policy) []replica {
	t.Helper()
	schema := schemaFor(t, t.TempDir())
	key := make([]byte, 32)
	rand.Read(key)
	if pol.PasswordCost == 0 {
		pol.PasswordCost = 4 // bcrypt's minimum: the tests are not about passwords
	}
	var rs []replica
	for range n {
		st := openIn(t, schema)
		clk, _, err := st.VirtualClock(t.Context(), start)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Config{Store: st, Clock: clk, SeedKey: key, Policy: pol})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, replica{st, clk, srv, key})
	}
	return rs
}

// user makes an account with an activated TOTP token through r and returns
// the user ID and the token's generator.
func user(t *testing.T, r replica, name string) (string, *oath.Generator) {
	t.Helper()
	ctx := t.Context()
	secret := make([]byte, 20)
	rand.Read(secret)
	serial := "PG" + name
	if _, err := r.srv.ImportSeeds(ctx, server.AsAdmin("t"), []seedfile.Token{{Serial: serial, Secret: secret, Kind: oath.TOTP, Digits: 8, Period: 30 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.srv.CreateAccount(ctx, server.AsAdmin("t"), server.NewAccount{UserID: name, Email: name + "@example.com", FirstName: "A", LastName: "B", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.srv.Sponsor(ctx, server.AsAdmin("t"), server.Sponsorship{UserID: name, Serial: serial}); err != nil {
		t.Fatal(err)
	}
	gen, err := oath.NewGenerator(secret, oath.SHA1, 8)
	if err != nil {
		t.Fatal(err)
	}
	now := r.clock.Now()
	if _, err := r.srv.Activate(ctx, name, serial, gen.Code(uint64(now.Unix()/30-1)), gen.Code(uint64(now.Unix()/30))); err != nil {
		t.Fatal(err)
	}
	step(t, r, 30*time.Second) // the activation's codes are used
	return name, gen
}

// step moves the shared clock through r.
func step(t *testing.T, r replica, d time.Duration) time.Time {
	t.Helper()
	at, err := r.clock.StepContext(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// race runs f n times at once, the i-th on replica i mod len(rs).
func race(rs []replica, n int, f func(i int, r replica)) {
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-begin
			f(i, rs[i%len(rs)])
		})
	}
	close(begin)
	wg.Wait()
}

// TestOneCodeOnceAcrossReplicas: the same code sent 48 times at once, half
// to each of two servers on one database, is accepted exactly once, and
// the others are refused as replayed; for several codes in a row.
func TestOneCodeOnceAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	u, gen := user(t, rs[0], "once")
	for round := range 3 {
		now := rs[0].clock.Now()
		code := gen.Code(uint64(now.Unix() / 30))
		var ok, replayed atomic.Int32
		race(rs, 48, func(i int, r replica) {
			_, err := r.srv.Verify(context.Background(), u, code)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, server.ErrOTPReplayed):
				replayed.Add(1)
			default:
				t.Errorf("round %d, request %d: %v", round, i, err)
			}
		})
		if ok.Load() != 1 || replayed.Load() != 47 {
			t.Fatalf("round %d: %d accepted, %d replayed; want 1 and 47", round, ok.Load(), replayed.Load())
		}
		step(t, rs[1], 30*time.Second)
	}
	t.Logf("serialisation failures retried: %d and %d", rs[0].store.Retries(), rs[1].store.Retries())
}

// TestFailuresCountAcrossReplicas: wrong codes sent at once to two servers
// are each counted: no increment of the failure count is lost.
func TestFailuresCountAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2, server.Policy{LockoutThreshold: 100, LockoutBudget: 100})
	u, _ := user(t, rs[0], "fails")
	const wrong = 40
	race(rs, wrong, func(i int, r replica) {
		if _, err := r.srv.Verify(context.Background(), u, fmt.Sprintf("%08d", i)); !errors.Is(err, server.ErrOTPInvalid) {
			t.Errorf("wrong code %d: %v", i, err)
		}
	})
	v, err := rs[1].srv.Token(t.Context(), "PGFAILS")
	if err != nil {
		t.Fatal(err)
	}
	if v.FailCount != wrong {
		t.Fatalf("after %d wrong codes at once on two servers the failure count is %d", wrong, v.FailCount)
	}
}

// TestDriftNeverGoesBackAcrossReplicas: codes of two neighbouring steps of a
// token running fast, sent at once to the two servers, leave the token at
// the later step and the drift it shows, round after round: the earlier
// code is refused or accepted first, never written over the later one.
func TestDriftNeverGoesBackAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	u, gen := user(t, rs[0], "drift")
	const rounds = 8
	for round := range rounds {
		now := rs[0].clock.Now()
		// The token runs one step further ahead each round; the window,
		// ±1 step around the drift learned so far, takes both codes.
		s := now.Unix()/30 + int64(round)
		codes := []string{gen.Code(uint64(s)), gen.Code(uint64(s + 1))}
		race(rs, 2, func(i int, r replica) {
			if _, err := r.srv.Verify(context.Background(), u, codes[i]); err != nil && !errors.Is(err, server.ErrOTPReplayed) {
				t.Errorf("round %d, code %d: %v", round, i, err)
			}
		})
		v, err := rs[round%2].srv.Token(t.Context(), "PGDRIFT")
		if err != nil {
			t.Fatal(err)
		}
		if *v.LastStep != s+1 || v.DriftSteps != int64(round+1) {
			t.Fatalf("round %d: last step %d, drift %d; want %d and %d", round, *v.LastStep, v.DriftSteps, s+1, round+1)
		}
		step(t, rs[1], 30*time.Second)
	}
}

// TestClockIsShared: a move of the virtual clock through one server is the
// time of the other at once, in its Updates and outside them.
func TestClockIsShared(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	for i, d := range []time.Duration{time.Hour, -30 * time.Second, 400 * 24 * time.Hour} {
		want := step(t, rs[i%2], d)
		other := rs[(i+1)%2]
		// First in an Update, which the other server begins on the time
		// it saw last, before the move: the Update must not commit on it.
		var inTx time.Time
		if err := other.store.Update(t.Context(), func(tx server.Tx) (err error) { inTx, err = other.clock.NowTx(tx); return err }); err != nil || !inTx.Equal(want) {
			t.Fatalf("move %d: the other server's time in an Update is %v, %v; want %v", i, inTx, err, want)
		}
		if got, err := other.srv.Now(t.Context()); err != nil || !got.Equal(want) {
			t.Fatalf("move %d: the other server's time is %v, %v; want %v", i, got, err, want)
		}
	}
	// A server started later keeps the clock the others run on.
	st := openIn(t, schemaOf(t, rs[0].store))
	clk, created, err := st.VirtualClock(t.Context(), start)
	if err != nil || created || !clk.Now().Equal(rs[0].clock.Now()) {
		t.Fatalf("a new server's clock: created %v, %v, %v; want the shared %v", created, clk.Now(), err, rs[0].clock.Now())
	}
}

// TestSweepOnceAcrossReplicas: two servers sweeping at once after a long
// move of the clock apply each event once between them: their reports add
// up to one sweep's, and the outbox holds each notice once.
func TestSweepOnceAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	var users []string
	for i := range 6 {
		u, _ := user(t, rs[i%2], fmt.Sprintf("sweep%d", i))
		users = append(users, u)
	}
	step(t, rs[0], 3*365*24*time.Hour) // past expiry and the revocation of the expired
	reps := make([]server.SweepReport, 2)
	race(rs, 2, func(i int, r replica) {
		rep, err := r.srv.Sweep(context.Background())
		if err != nil {
			t.Errorf("sweep %d: %v", i, err)
		}
		reps[i] = rep
	})
	var sum server.SweepReport
	for _, r := range reps {
		sum.Reminders += r.Reminders
		sum.Expired += r.Expired
		sum.Revoked += r.Revoked
	}
	if sum.Expired != len(users) || sum.Revoked != len(users) {
		t.Fatalf("two sweeps at once: %+v and %+v; want %d expired and revoked between them", reps[0], reps[1], len(users))
	}
	if rep, err := rs[1].srv.Sweep(t.Context()); err != nil || rep.Expired+rep.Revoked+rep.Reminders != 0 {
		t.Fatalf("a third sweep: %+v, %v; want nothing left", rep, err)
	}
	ns, err := rs[0].srv.Notifications(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, n := range ns {
		seen[n.UserID+" "+string(n.Kind)+" "+n.CreatedAt.String()]++
	}
	for k, n := range seen {
		if n > 1 && k != "" {
			t.Errorf("notice %s sent %d times", k, n)
		}
	}
}

// TestExclusiveIsOneAtATime: a second Exclusive of the same name waits for
// the first on another store; one of another name does not; and a lock
// whose connection dies is released, its holder's context cancelled.
func TestExclusiveIsOneAtATime(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	a, b := rs[0].store, rs[1].store
	inA, releaseA := make(chan struct{}), make(chan struct{})
	doneA := make(chan error, 1)
	go func() {
		doneA <- a.Exclusive(context.Background(), "sweep", func(ctx context.Context) error {
			close(inA)
			<-releaseA
			return nil
		})
	}()
	<-inA
	if err := b.Exclusive(t.Context(), "other", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("another lock's name: %v", err)
	}
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	doneB := make(chan error, 1)
	go func() {
		doneB <- b.Exclusive(context.Background(), "sweep", func(context.Context) error { note("b"); return nil })
	}()
	// B must still be waiting: a bounded look at a real lock wait.
	select {
	case err := <-doneB:
		t.Fatalf("B ran while A held the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	note("a done")
	close(releaseA)
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order) != "[a done b]" {
		t.Fatalf("order %v", order)
	}

	// A holder whose connection is killed (as when its process dies) loses
	// the lock: another takes it, and the holder's context ends.
	held := make(chan struct{})
	lost := make(chan error, 1)
	go func() {
		lost <- a.Exclusive(context.Background(), "sweep", func(ctx context.Context) error {
			close(held)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-held
	if err := cluster.Exec(t.Context(), "tokenlab", `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // bounds a real lock wait
	defer cancel()
	if err := b.Exclusive(ctx, "sweep", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("the lock of a dead connection was not released: %v", err)
	}
	select {
	case err := <-lost:
		if err == nil {
			t.Fatal("the holder whose lock went returned nil")
		}
	case <-time.After(10 * time.Second): // a few lockCheckEvery
		t.Fatal("the holder whose lock went was not told")
	}
}

// schemaOf is the schema a store of these tests is on.
func schemaOf(t *testing.T, s *pgstore.Store) string {
	t.Helper()
	var schema string
	if err := s.View(t.Context(), func(tx server.Tx) error {
		var err error
		schema, err = pgstore.CurrentSchema(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return schema
}

// TestReadCommittedAcceptsTwice is the replica tests' self-check: on Updates
// at READ COMMITTED, which PostgreSQL does not serialise, the race of
// TestOneCodeOnceAcrossReplicas accepts a code more than once — what the
// SERIALIZABLE Updates prevent.
func TestReadCommittedAcceptsTwice(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	u, gen := user(t, rs[0], "weak")
	for _, r := range rs {
		pgstore.ReadCommitted(r.store)
	}
	most := int32(0)
	for round := 0; round < 10 && most < 2; round++ {
		code := gen.Code(uint64(rs[0].clock.Now().Unix() / 30))
		var ok atomic.Int32
		race(rs, 48, func(_ int, r replica) {
			if _, err := r.srv.Verify(context.Background(), u, code); err == nil {
				ok.Add(1)
			}
		})
		most = max(most, ok.Load())
		step(t, rs[0], 30*time.Second)
	}
	if most < 2 {
		t.Fatalf("READ COMMITTED never accepted a code twice in 10 rounds: the race does not test isolation")
	}
}

// stopAfter is a store whose Updates cancel a context once n of them have
// committed: a sweep cut off there, as by the death of its process.
type stopAfter struct {
	*pgstore.Store
	n      atomic.Int32
	cancel context.CancelFunc
}

func (s *stopAfter) Update(ctx context.Context, fn func(server.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	if err == nil && s.n.Add(-1) == 0 {
		s.cancel()
	}
	return err
}

// TestSweepCutOffLeavesNoHalf: a sweep cut off after some tokens leaves
// each token swept whole or not at all — its status, notices and audit
// entries together — and a sweep on another replica does the rest, each
// event once.
func TestSweepCutOffLeavesNoHalf(t *testing.T) {
	rs := replicas(t, 2, server.Policy{})
	const n = 6
	for i := range n {
		user(t, rs[i%2], fmt.Sprintf("half%d", i))
	}
	step(t, rs[0], 3*365*24*time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	cut := &stopAfter{Store: rs[0].store, cancel: cancel}
	cutSrv, err := server.New(server.Config{Store: cut, Clock: rs[0].clock, SeedKey: rs[0].key, Policy: server.Policy{PasswordCost: 4}})
	if err != nil {
		t.Fatal(err)
	}
	cut.n.Store(2) // from here on: the sweep's second token is its last
	first, err := cutSrv.Sweep(ctx)
	if err == nil {
		t.Fatalf("the cut-off sweep returned no error: %+v", first)
	}
	state := func() (swept int, half []string) {
		for i := range n {
			u, serial := fmt.Sprintf("half%d", i), fmt.Sprintf("PGHALF%d", i)
			v, err := rs[1].srv.Token(t.Context(), serial)
			if err != nil {
				t.Fatal(err)
			}
			all, err := rs[1].srv.Notifications(t.Context(), u)
			if err != nil {
				t.Fatal(err)
			}
			var ns []server.Notification // the sweep's, dated from the token's expiry on
			for _, x := range all {
				if x.CreatedAt.After(start.Add(24 * time.Hour)) {
					ns = append(ns, x)
				}
			}
			es, err := rs[1].srv.Audit(t.Context(), serial, 0)
			if err != nil {
				t.Fatal(err)
			}
			sweeps := 0
			for _, e := range es {
				if strings.HasPrefix(e.Action, "sweep.") {
					sweeps++
				}
			}
			switch {
			case v.Status == server.StatusRevoked && len(ns) > 0 && sweeps > 0:
				swept++
			case v.Status == server.StatusActive && len(ns) == 0 && sweeps == 0:
			default:
				half = append(half, fmt.Sprintf("%s: %s, %d notices, %d sweep entries", serial, v.Status, len(ns), sweeps))
			}
		}
		return swept, half
	}
	swept, half := state()
	if len(half) > 0 || swept == 0 || swept == n {
		t.Fatalf("after a sweep cut off after 2 updates: %d of %d swept, half-done: %v", swept, n, half)
	}
	rest, err := rs[1].srv.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if swept, half := state(); swept != n || len(half) > 0 {
		t.Fatalf("after the other replica's sweep: %d of %d swept, half-done: %v", swept, n, half)
	}
	if rest.Revoked != n-2 || rest.Expired != n-2 {
		t.Fatalf("the other replica's sweep: %+v; want the %d tokens left", rest, n-2)
	}
}
