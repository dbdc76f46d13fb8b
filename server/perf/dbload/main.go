// Command dbload measures durable verifications side by side on the
// stores a tokenlab server runs on: SQLite (one process), PostgreSQL with
// one replica, and PostgreSQL with two replicas on one database, in one
// run, each on fresh data, the configurations taking turns round after
// round so that the machine's changing speed weighs on each alike. It
// starts a throwaway PostgreSQL server with fsync on (durable commits, as
// in production), runs real tokenlab serve processes, and drives them with
// the same load as tokenlab bench --server (server/perf.Load), the
// verifications spread over the replicas in turn as a load balancer would.
// For each run it also reads the processor time the servers, PostgreSQL
// and itself (the load generator) used, from /proc.
//
//	go run ./server/perf/dbload -bin bin/tokenlab -configs sqlite,pg1,pg2 -rounds 3
//
// make load DB=postgres REPLICAS=2 runs one configuration; make load-compare
// runs all three.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/perf"
	"github.com/tokenlab/tokenlab/server/pgstore/pgtest"
)

const adminToken = "dbload-admin-credential-01234567"

// statements: print pg_stat_statements after each run.
var statements bool

func main() {
	bin := flag.String("bin", "bin/tokenlab", "the tokenlab binary")
	configs := flag.String("configs", "sqlite,pg1,pg2", "what to measure: sqlite, pgN (N replicas on one PostgreSQL)")
	rounds := flag.Int("rounds", 1, "how many times each configuration runs, in turn")
	duration := flag.Duration("duration", 10*time.Second, "each run's load")
	concurrency := flag.Int("concurrency", 32, "requests in flight")
	tokens := flag.Int("tokens", 400, "tokens and accounts each run seeds")
	poolMax := flag.Int("pool", 0, "pool_max_conns of each replica's connection pool (0: pgstore's default)")
	flag.BoolVar(&statements, "statements", false, "print PostgreSQL's statements by total time after each run (pg_stat_statements)")
	flag.Parse()
	if err := run(*bin, strings.Split(*configs, ","), *rounds, *duration, *concurrency, *tokens, *poolMax); err != nil {
		fmt.Fprintln(os.Stderr, "dbload:", err)
		os.Exit(1)
	}
}

// result is one run's figures.
type result struct {
	config string
	load   perf.LoadResult
	cpu    map[string]float64 // processor seconds: serve, postgres, load
	wall   float64
}

func run(bin string, configs []string, rounds int, duration time.Duration, concurrency, tokens, poolMax int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	var cluster *pgtest.Cluster
	for _, c := range configs {
		if strings.HasPrefix(c, "pg") && cluster == nil {
			fmt.Fprintln(os.Stderr, "starting PostgreSQL (fsync on)…")
			opts := pgtest.Options{Durable: true}
			if statements {
				opts.Settings = map[string]string{"shared_preload_libraries": "pg_stat_statements"}
			}
			if cluster, err = pgtest.Start(opts); err != nil {
				return err
			}
			defer cluster.Stop()
		}
	}
	var results []result
	n := 0
	for round := range rounds {
		for _, c := range configs {
			n++
			fmt.Fprintf(os.Stderr, "round %d: %s…\n", round+1, c)
			r, err := runOne(bin, c, n, cluster, duration, concurrency, tokens, poolMax)
			if err != nil {
				return fmt.Errorf("%s: %w", c, err)
			}
			fmt.Fprintf(os.Stderr, "  %.0f verifications/s, p50 %.1f ms, p99 %.1f ms\n", r.load.VerificationsPS, r.load.P50ms, r.load.P99ms)
			results = append(results, r)
		}
	}
	fmt.Printf("| configuration | verifications/s | p50 ms | p99 ms | CPU per verification: serve / PostgreSQL / load generator (µs) |\n|---|---|---|---|---|\n")
	for _, r := range results {
		per := func(k string) float64 { return r.cpu[k] / float64(r.load.Verifications) * 1e6 }
		fmt.Printf("| %s | %.0f | %.1f | %.1f | %.0f / %.0f / %.0f |\n", name(r.config), r.load.VerificationsPS, r.load.P50ms, r.load.P99ms,
			per("serve"), per("postgres"), per("load"))
	}
	return nil
}

func name(c string) string {
	switch c {
	case "sqlite":
		return "SQLite, one process"
	case "pg1":
		return "PostgreSQL, one replica"
	}
	return "PostgreSQL, " + strings.TrimPrefix(c, "pg") + " replicas"
}

var listening = regexp.MustCompile(`listening on (https?://\S+)`)

// runOne starts the configuration's servers on fresh data, loads them and
// stops them.
func runOne(bin, config string, n int, cluster *pgtest.Cluster, duration time.Duration, concurrency, tokens, poolMax int) (result, error) {
	dir, err := os.MkdirTemp("", "tokenlab-dbload-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	var argsList [][]string
	switch {
	case config == "sqlite":
		argsList = [][]string{{"--data", filepath.Join(dir, "data")}}
	case strings.HasPrefix(config, "pg"):
		replicas, err := strconv.Atoi(strings.TrimPrefix(config, "pg"))
		if err != nil || replicas < 1 {
			return result{}, fmt.Errorf("unknown configuration %q: sqlite or pgN", config)
		}
		db := fmt.Sprintf("load%d", n)
		if err := cluster.CreateDatabase(context.Background(), db); err != nil {
			return result{}, err
		}
		keyFile := filepath.Join(dir, "seed.hex")
		if err := os.WriteFile(keyFile, []byte(strings.Repeat("5a", 32)), 0o600); err != nil {
			return result{}, err
		}
		var extra []string
		if poolMax > 0 {
			extra = append(extra, "pool_max_conns="+strconv.Itoa(poolMax))
		}
		for range replicas {
			argsList = append(argsList, []string{"--db", cluster.DSN(db, extra...), "--seed-key-file", keyFile})
		}
	default:
		return result{}, fmt.Errorf("unknown configuration %q: sqlite or pgN", config)
	}
	var procs []*exec.Cmd
	var clients []*client.Client
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	for _, args := range argsList {
		cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--virtual-clock", "--admin-token", adminToken,
			"--store", filepath.Join(dir, "tokens.json"), "--log-format", "json"}, args...)...)
		url, err := start(cmd)
		if err != nil {
			return result{}, err
		}
		procs = append(procs, cmd)
		clients = append(clients, client.New(url, adminToken))
	}
	var next atomic.Uint64
	spread := func(ctx context.Context, user, otp string) error {
		_, err := clients[next.Add(1)%uint64(len(clients))].Verify(ctx, user, otp)
		return err
	}
	var pids []int
	for _, p := range procs {
		pids = append(pids, p.Process.Pid)
	}
	// The processor time is read around the verifications, once the
	// seeding (bcrypt for every account) is done.
	var before map[string]float64
	var began time.Time
	seeded := func() { before, began = cpuOf(pids, cluster), time.Now() }
	lr, err := perf.Load(context.Background(), clients[0], perf.LoadOptions{Tokens: tokens, Concurrency: concurrency, Duration: duration, Verify: spread, Seeded: seeded})
	if err != nil {
		return result{}, err
	}
	after := cpuOf(pids, cluster)
	if statements && cluster != nil {
		printStatements(cluster, fmt.Sprintf("load%d", n))
	}
	r := result{config: config, load: lr, cpu: map[string]float64{}, wall: time.Since(began).Seconds()}
	for k, v := range after {
		r.cpu[k] = v - before[k]
	}
	return r, nil
}

// start starts a serve process and returns its URL once it listens.
func start(cmd *exec.Cmd) (string, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	found := make(chan string, 1)
	var lines []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
			lines = append(lines, sc.Text())
		}
		io.Copy(io.Discard, stderr)
		close(found)
	}()
	select {
	case url, ok := <-found:
		if !ok {
			return "", fmt.Errorf("serve exited: %s", strings.Join(lines, "\n"))
		}
		return url, nil
	case <-time.After(60 * time.Second): // bounds a real process start
		cmd.Process.Kill()
		return "", errors.New("serve did not start listening within 60 s")
	}
}

// cpuOf reads the processor seconds used so far by the serve processes,
// by PostgreSQL's processes (its user's), and by this process.
func cpuOf(pids []int, cluster *pgtest.Cluster) map[string]float64 {
	out := map[string]float64{}
	for _, pid := range pids {
		out["serve"] += procCPU(pid)
	}
	if cluster != nil {
		for _, pid := range cluster.Pids() {
			out["postgres"] += procCPU(pid)
		}
	}
	out["load"] = procCPU(os.Getpid())
	return out
}

// procCPU is a process's user and system time, with its waited-for
// children's, in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command (which may hold spaces), from field 3.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks float64
	for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		v, _ := strconv.ParseFloat(f[i], 64)
		ticks += v
	}
	return ticks / 100 // USER_HZ
}

// printStatements prints the database's statements by total time, and its
// commits and rollbacks, then resets the counts.
func printStatements(cluster *pgtest.Cluster, db string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.DSN(db))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	rows, err := conn.Query(ctx, `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15`)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for rows.Next() {
		var calls int64
		var total float64
		var q string
		rows.Scan(&calls, &total, &q)
		fmt.Fprintf(os.Stderr, "  %8d calls %9.0f ms %6.1f µs  %s\n", calls, total, total/float64(calls)*1000, q)
	}
	rows.Close()
	var commits, rollbacks int64
	conn.QueryRow(ctx, `SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1`, db).Scan(&commits, &rollbacks)
	fmt.Fprintf(os.Stderr, "  %d commits, %d rollbacks\n", commits, rollbacks)
	var upd, hot int64
	conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'tokens'`).Scan(&upd, &hot)
	fmt.Fprintf(os.Stderr, "  tokens: %d updates, %d of them HOT (in place, the indexes untouched)\n", upd, hot)
	conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
}
