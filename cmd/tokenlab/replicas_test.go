package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/pgstore/pgtest"
)

// The PostgreSQL server of the tests that run serve --db, started by the
// first of them and stopped when the package's tests end (TestMain).
var (
	pgOnce    sync.Once
	pgCluster *pgtest.Cluster
	pgErr     error
)

// postgresFor is a new database on the package's PostgreSQL server, and
// its connection string.
func postgresFor(t *testing.T, name string) string {
	t.Helper()
	pgOnce.Do(func() { pgCluster, pgErr = pgtest.Start(pgtest.Options{}) })
	if pgErr != nil {
		t.Fatalf("cannot start PostgreSQL for the test: %v", pgErr)
	}
	if err := pgCluster.CreateDatabase(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return pgCluster.DSN(name)
}

const replicaAdmin = "replica-admin-credential-0123456"

// replicaArgs are the serve flags of a replica on dsn: the database, the
// shared seed key (in a file, 64 hex digits) and credential, the virtual
// clock.
func replicaArgs(t *testing.T, dsn string, start time.Time) []string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "seed.hex")
	if err := os.WriteFile(keyFile, []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--db", dsn, "--seed-key-file", keyFile, "--admin-token", replicaAdmin,
		"--virtual-clock", "--clock-start", start.Format(time.RFC3339)}
}

// hotpUser makes an account holding an activated HOTP token (so that a
// worker verifies code after code without moving the clock) and returns
// its generator; the next code to use is counter 2.
func hotpUser(t *testing.T, c *client.Client, serial, user string, secret []byte) *oath.Generator {
	t.Helper()
	ctx := t.Context()
	csv := fmt.Sprintf("%s, %x, HOTP, 8, 0\n", serial, secret)
	if _, err := c.ImportSeedFile(ctx, admin, []byte(csv), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: user, Email: user + "@example.com", FirstName: "R", LastName: "S", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: user, Serial: serial}); err != nil {
		t.Fatal(err)
	}
	gen, _ := oath.NewGenerator(secret, oath.SHA1, 8)
	if _, err := c.Activate(ctx, user, serial, gen.Code(0), gen.Code(1)); err != nil {
		t.Fatal(err)
	}
	return gen
}

// TestReplicasOnOneDatabase runs two tokenlab serve --db … --virtual-clock
// processes on one database: 48 concurrent uses of one code spread over
// both give exactly one acceptance; a clock move on one is seen by the
// other; one is killed with -9 in the middle of a load, and the other
// keeps answering; the killed one restarts, agrees on the clock and
// refuses the used code and every code acknowledged before the kill.
func TestReplicasOnOneDatabase(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	args := replicaArgs(t, postgresFor(t, "replicas"), start)
	procA, urlA := startServe(t, bin, args...)
	_, urlB := startServe(t, bin, args...)
	a, b := client.New(urlA, replicaAdmin), client.New(urlB, replicaAdmin)
	clients := []*client.Client{a, b}

	// A TOTP token, set up through A, used through both.
	code := activateRita(ctx, t, a, b, "RT1", start)

	// A clock move on one is the other's time.
	moved, err := a.AdvanceClock(ctx, "30s")
	if err != nil {
		t.Fatal(err)
	}
	if now, err := b.Now(ctx); err != nil || !now.Equal(moved.Now) {
		t.Fatalf("after a move on A to %v, B's clock is %v, %v", moved.Now, now, err)
	}

	// 48 concurrent uses of one code, alternately on A and B.
	used := code(moved.Now)
	var accepted, replayed atomic.Int32
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range 48 {
		wg.Go(func() {
			<-begin
			_, err := clients[i%2].Verify(ctx, "rita", used)
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, server.ErrOTPReplayed):
				replayed.Add(1)
			default:
				t.Errorf("use %d of the code: %v", i, err)
			}
		})
	}
	close(begin)
	wg.Wait()
	if accepted.Load() != 1 || replayed.Load() != 47 {
		t.Fatalf("48 concurrent uses of one code on two replicas: %d accepted, %d replayed; want 1 and 47", accepted.Load(), replayed.Load())
	}

	// A load of HOTP verifications on both; A is killed with -9 in the
	// middle of it. Each worker sends its codes to A or B in turn, and to
	// B alone once A stops answering, as a load balancer would.
	const workers = 6
	gens := make([]*oath.Generator, workers)
	for w := range workers {
		gens[w] = hotpUser(t, b, fmt.Sprintf("RH%d", w), fmt.Sprintf("hotp%d", w), []byte(fmt.Sprintf("hotp secret of worker %02d", w)))
	}
	acked := make([]uint64, workers) // the last counter each worker had accepted
	var aDown atomic.Bool
	var killed sync.Once
	var done atomic.Int32
	for w := range workers {
		wg.Go(func() {
			for n := uint64(2); n < 42; n++ {
				for try := 0; ; try++ {
					c := clients[int(n)%2]
					if aDown.Load() {
						c = b
					}
					_, err := c.Verify(ctx, fmt.Sprintf("hotp%d", w), gens[w].Code(n))
					if err == nil {
						acked[w] = n
						break
					}
					if c == a && !errors.As(err, new(*client.Error)) {
						// A is gone (connection refused or reset): the
						// request may or may not have been committed.
						aDown.Store(true)
						continue
					}
					if errors.Is(err, server.ErrOTPReplayed) && try > 0 {
						break // committed by A just before it died, unacknowledged
					}
					t.Errorf("worker %d, counter %d, on %s: %v", w, n, c.BaseURL, err)
					return
				}
				if done.Add(1) == workers*10 {
					killed.Do(func() {
						procA.Process.Signal(syscall.SIGKILL)
						procA.Wait()
					})
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if !aDown.Load() {
		t.Fatalf("the load never saw A go down")
	}
	if _, err := b.Verify(ctx, "rita", used); !errors.Is(err, server.ErrOTPReplayed) {
		t.Fatalf("B after A's death, the used code: %v", err)
	}

	// A restarts: same clock, and every acknowledged code is refused.
	// The clock moves one step: the used code is still inside the window,
	// so that only its use makes it refused.
	moved, err = b.AdvanceClock(ctx, "30s")
	if err != nil {
		t.Fatal(err)
	}
	_, urlA = startServe(t, bin, args...)
	a = client.New(urlA, replicaAdmin)
	if now, err := a.Now(ctx); err != nil || !now.Equal(moved.Now) {
		t.Fatalf("the restarted A's clock is %v, %v; want B's %v", now, err, moved.Now)
	}
	if _, err := a.Verify(ctx, "rita", used); !errors.Is(err, server.ErrOTPReplayed) {
		t.Fatalf("the restarted A, the used code: %v", err)
	}
	for w := range workers {
		if acked[w] < 2 {
			t.Fatalf("worker %d had nothing accepted", w)
		}
		if _, err := a.Verify(ctx, fmt.Sprintf("hotp%d", w), gens[w].Code(acked[w])); !errors.Is(err, server.ErrOTPReplayed) && !errors.Is(err, server.ErrOTPInvalid) {
			t.Fatalf("worker %d's last acknowledged code %d on the restarted A: %v", w, acked[w], err)
		}
		v, err := a.Token(ctx, fmt.Sprintf("RH%d", w))
		if err != nil {
			t.Fatal(err)
		}
		if *v.LastStep < int64(acked[w]) {
			t.Fatalf("worker %d's token is at counter %d, but %d was acknowledged", w, *v.LastStep, acked[w])
		}
	}
}

// TestDBRestartUnderLoad: the database restarting under a load makes the
// verifications fail with HTTP 503 unavailable — never another answer —
// and they succeed again by themselves once it is back, without
// restarting tokenlab.
func TestDBRestartUnderLoad(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	// A cluster of its own: this test stops it.
	cl, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()
	if err := cl.CreateDatabase(ctx, "restart"); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	_, url := startServe(t, bin, replicaArgs(t, cl.DSN("restart"), start)...)
	c := client.New(url, replicaAdmin)
	const workers = 4
	gens := make([]*oath.Generator, workers)
	for w := range workers {
		gens[w] = hotpUser(t, c, fmt.Sprintf("DB%d", w), fmt.Sprintf("db%d", w), []byte(fmt.Sprintf("db restart secret %02d", w)))
	}

	var phase atomic.Int32 // 0: up, 1: restarting, 2: back
	var unavailable, okAfter atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			n := uint64(2)
			retried := false
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := c.Verify(ctx, fmt.Sprintf("db%d", w), gens[w].Code(n))
				var ce *client.Error
				switch {
				case err == nil:
					if phase.Load() == 2 {
						okAfter.Add(1)
					}
					n, retried = n+1, false
				case errors.Is(err, server.ErrUnavailable):
					if ce := (*client.Error)(nil); errors.As(err, &ce) && ce.Status != 503 {
						t.Errorf("unavailable with HTTP %d", ce.Status)
					}
					unavailable.Add(1)
					retried = true
					time.Sleep(20 * time.Millisecond) // a client's pause before it tries again
				case retried && errors.Is(err, server.ErrOTPReplayed):
					// Committed when the database went away, unacknowledged.
					n, retried = n+1, false
				case errors.As(err, &ce):
					t.Errorf("worker %d, counter %d: a wrong answer while the database restarted: %v", w, n, err)
					return
				default:
					t.Errorf("worker %d: %v", w, err) // the server itself must keep answering
					return
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // some load before the restart
	phase.Store(1)
	if err := cl.Shutdown(false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // requests meet the stopped database
	if err := cl.Restart(); err != nil {
		t.Fatal(err)
	}
	phase.Store(2)
	// Bounded wait for the verifications to succeed again by themselves.
	deadline := time.Now().Add(20 * time.Second)
	for okAfter.Load() < workers*3 && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(50 * time.Millisecond) // real processes and a real database: polled, bounded by the deadline
	}
	close(stop)
	wg.Wait()
	if unavailable.Load() == 0 {
		t.Errorf("no request was answered unavailable while the database was down")
	}
	if okAfter.Load() < workers*3 {
		t.Errorf("only %d verifications succeeded after the database came back", okAfter.Load())
	}
	if err := c.Health(ctx); err != nil {
		t.Errorf("health after the restart: %v", err)
	}
	t.Logf("%d requests answered unavailable; %d verified after the restart", unavailable.Load(), okAfter.Load())
}

// TestDBReplicaRefusesAnotherSeedKey: with --db, a replica refuses to
// start with a seed key other than the one the database's seeds are
// sealed with, and serve --db needs the key and the administrator
// credential given (none is made: every replica must share them), and
// refuses --data beside it, and a real clock on a database whose clock is
// virtual; each says what to do.
func TestDBReplicaRefusesAnotherSeedKey(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn := postgresFor(t, "keys")
	start := time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC)
	args := replicaArgs(t, dsn, start)
	_, url := startServe(t, bin, args...)
	c := client.New(url, replicaAdmin)
	if _, err := c.ImportSeedFile(ctx, admin, []byte("KEY1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	noEnv := []string{"TOKENLAB_SEED_KEY=", "TOKENLAB_ADMIN_TOKEN=", "TOKENLAB_DB="}
	other := filepath.Join(t.TempDir(), "other.hex")
	if err := os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"another key", nil, []string{"--db", dsn, "--seed-key-file", other, "--admin-token", replicaAdmin, "--virtual-clock"},
			"is not the one the database's seeds are sealed with: give this replica the key the others run with"},
		{"another key in the environment", []string{"TOKENLAB_SEED_KEY=" + strings.Repeat("cd", 32), "TOKENLAB_DB=" + dsn}, []string{"--admin-token", replicaAdmin, "--virtual-clock"},
			"the seed key from TOKENLAB_SEED_KEY is not the one"},
		{"no key", nil, []string{"--db", dsn, "--admin-token", replicaAdmin, "--virtual-clock"},
			"--db needs the seed key every replica shares"},
		{"no credential", nil, []string{"--db", dsn, "--seed-key-file", other, "--virtual-clock"},
			"--db needs the administrator credential every replica shares"},
		{"--data too", nil, []string{"--db", dsn, "--data", t.TempDir(), "--seed-key-file", other, "--admin-token", replicaAdmin},
			"--data and --db"},
		{"a real clock", nil, slices.Clone(args[:6]),
			"the database's clock is virtual"},
	}
	for _, tc := range cases {
		listening, stderr := serveOutcome(t, bin, append(slices.Clone(noEnv), tc.env...), tc.args...)
		if listening || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: listening %v, stderr:\n%s\nwant it to refuse, saying %q", tc.name, listening, stderr, tc.want)
		}
		if strings.Contains(stderr, strings.Repeat("ab", 32)) || strings.Contains(stderr, strings.Repeat("cd", 32)) {
			t.Errorf("%s: the key is in the output:\n%s", tc.name, stderr)
		}
	}
	// The right key in the environment instead of a file is the same key.
	if listening, stderr := serveOutcome(t, bin, []string{"TOKENLAB_SEED_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "TOKENLAB_DB=" + dsn, "TOKENLAB_ADMIN_TOKEN=" + replicaAdmin},
		"--virtual-clock"); !listening {
		t.Errorf("the database's key from TOKENLAB_SEED_KEY: %s", stderr)
	}
}
