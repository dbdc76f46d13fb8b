// Command loadpeers runs the same fleet load (scenarios/fleetload) against
// tokenlab's RADIUS front and against FreeRADIUS with pam_oath, one after
// the other in one run, with the same fleet size, concurrency and
// duration, and prints the two as Markdown table rows with their ratio:
// what `make load-peers` runs, for docs/performance.md.
//
//	go run ./scenarios/fleetload/loadpeers --tokenlab bin/tokenlab --fleet 3000 --concurrency 16 --duration 20s --rounds 3 [--sweep 8,32,64]
//
// tokenlab is a fresh `tokenlab serve --virtual-clock --radius` on
// loopback with temporary data, provisioned through its API
// (tokenlab+http); the peer is FreeRADIUS 3 with pam_oath and a liboath
// users file (scenarios/peers: it needs root and the Debian packages
// freeradius and libpam-oath), provisioned by appending to that file. Both
// fleets are made before either load runs (tokenlab's takes minutes: a
// bcrypt hash per account), then the peer's load runs and tokenlab's right
// after it. The machine's load average is printed before and after each
// load, and the CPU the system's process and this program used during it,
// since other work on the same cores changes both figures. --rounds N loads
// each system N times in turns, the first of each pair alternating, and
// prints the ratio of each round; --sweep loads tokenlab's fleet alone at
// other concurrencies afterwards, to show what bounds it.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/fleetload"
	"github.com/tokenlab/tokenlab/scenarios/peers"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
)

func main() {
	bin := flag.String("tokenlab", "bin/tokenlab", "the tokenlab binary to serve with")
	fleet := flag.Int("fleet", 3000, "users in each system's fleet")
	concurrency := flag.Int("concurrency", 16, "Access-Requests in flight")
	duration := flag.Duration("duration", 20*time.Second, "how long each load runs")
	rounds := flag.Int("rounds", 1, "loads of each system, in turns (the first of the pair alternates)")
	sweep := flag.String("sweep", "", "after the rounds, load tokenlab's fleet alone at these concurrencies too, e.g. 8,32,64")
	flag.Parse()
	var levels []int
	for f := range strings.SplitSeq(*sweep, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "loadpeers: --sweep %q: give concurrencies of 1 or more, separated by commas\n", *sweep)
			os.Exit(2)
		}
		levels = append(levels, n)
	}
	if *fleet < 1 || *concurrency < 1 || *duration <= 0 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "loadpeers: --fleet, --concurrency and --rounds must be at least 1 and --duration positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, fleetload.Options{Users: *fleet, Concurrency: *concurrency, Duration: *duration}, *rounds, levels); err != nil {
		fmt.Fprintln(os.Stderr, "loadpeers:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadpeers: "+format+"\n", args...)
}

// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// childCPU is the CPU time (user and system, all threads) used so far by
// this program's child processes named comm, read from /proc.
func childCPU(comm string) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total time.Duration
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid … utime stime, comm may hold spaces.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || string(b[open+1:end]) != comm {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 == nil && err2 == nil {
			total += time.Duration(utime+stime) * clockTick
		}
	}
	return total
}

// comm is the name /proc gives the process of program bin: its base name,
// cut to the kernel's 15 bytes.
func comm(bin string) string {
	b := filepath.Base(bin)
	return b[:min(len(b), 15)]
}

// selfCPU is the CPU time this program has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(ctx context.Context, bin string, o fleetload.Options, rounds int, sweep []int) error {
	// Before anything slow: the peer is what may not run here.
	if err := peers.Available(peers.PAMOath); err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w: build it with make build, or give --tokenlab", err)
	}
	o.Log = logf
	peer, stopPeer, err := startPeer(ctx, o)
	if err != nil {
		return fmt.Errorf("FreeRADIUS + pam_oath: %w", err)
	}
	defer stopPeer()
	tl, stopTokenlab, err := startTokenlab(ctx, bin, o)
	if err != nil {
		return fmt.Errorf("tokenlab: %w", err)
	}
	defer stopTokenlab()

	// Both fleets are made first, so that the two loads run one right
	// after the other, under the same load from the rest of the machine;
	// which goes first alternates from round to round.
	fmt.Println("| round | system | fleet | concurrency | duration | accepts/s | p50 | p99 | rejects | CPU: system + load generator | load average before → after |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	var ratios []string
	var tlAccepts, peerAccepts int
	var tlTime, peerTime float64
	for round := 1; round <= rounds; round++ {
		order := []*system{peer, tl}
		if round%2 == 0 {
			order = []*system{tl, peer}
		}
		for _, s := range order {
			if err := s.load(ctx, o); err != nil {
				return fmt.Errorf("%s, round %d: %w", s.name, round, err)
			}
		}
		for _, s := range []*system{tl, peer} {
			s.row(round)
		}
		tlAccepts, tlTime = tlAccepts+tl.res.Accepts, tlTime+tl.res.DurationS
		peerAccepts, peerTime = peerAccepts+peer.res.Accepts, peerTime+peer.res.DurationS
		if peer.res.AcceptsPS > 0 {
			ratios = append(ratios, fmt.Sprintf("%.0f×", tl.res.AcceptsPS/peer.res.AcceptsPS))
		}
	}
	fmt.Println()
	fmt.Printf("fleet %d users each, %d Access-Requests in flight, %v a load; provisioning: tokenlab %.1f s (%s), FreeRADIUS + pam_oath %.1f s\n",
		o.Users, o.Concurrency, o.Duration, tl.fleet.ProvisionS(), "one PSKC import, a bcrypt hash per account", peer.fleet.ProvisionS())
	if peerAccepts > 0 {
		tlRate, peerRate := float64(tlAccepts)/tlTime, float64(peerAccepts)/peerTime
		if rounds == 1 {
			fmt.Printf("tokenlab / FreeRADIUS + pam_oath, accepts per second: %.0f× (%.0f/s against %.1f/s)\n", tlRate/peerRate, tlRate, peerRate)
		} else {
			fmt.Printf("tokenlab / FreeRADIUS + pam_oath, accepts per second: %s by round; over the %d rounds %.0f× (%.0f/s against %.1f/s)\n",
				strings.Join(ratios, ", "), rounds, tlRate/peerRate, tlRate, peerRate)
		}
	}
	for _, s := range []*system{tl, peer} {
		r := s.res
		extra := fmt.Sprintf("%d steps", r.Steps)
		if r.Clock == "virtual" {
			extra += fmt.Sprintf(", %.2f s moving the clock", r.ClockMoveS)
		} else {
			extra += fmt.Sprintf(", %.1f s waiting for a step", r.WaitingS)
		}
		fmt.Printf("last round, %s: %d accepted, %s clock, %s", s.name, r.Accepts, r.Clock, extra)
		if r.Note != "" {
			fmt.Printf("; note: %s", r.Note)
		}
		fmt.Println()
	}
	if len(sweep) == 0 {
		return nil
	}
	// What bounds tokenlab: the same fleet at other concurrencies.
	fmt.Println()
	fmt.Println("| system | fleet | concurrency | duration | accepts/s | p50 | p99 | rejects | CPU: system + load generator | load average before → after |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range sweep {
		so := o
		so.Concurrency = c
		if err := tl.load(ctx, so); err != nil {
			return fmt.Errorf("%s at %d: %w", tl.name, c, err)
		}
		tl.row(0)
	}
	return nil
}

// system is one system under the load: its RADIUS client, its provisioned
// fleet, and what the load measured.
type system struct {
	name  string
	comm  string // its process's name in /proc
	rc    *radclient.Client
	fleet *fleetload.Fleet
	// after, when set, says more when the load failed (the peer's log).
	after func() string

	res        fleetload.Result
	loadBefore string
	loadAfter  string
	// serverCPU and generatorCPU are the CPU time the system's process
	// (FreeRADIUS with its PAM module in it, or tokenlab serve) and this
	// program used during the load.
	serverCPU, generatorCPU time.Duration
	loadWall                time.Duration
}

// load runs the fleet load, measuring the CPU the system's process and
// this program use during it.
func (s *system) load(ctx context.Context, o fleetload.Options) error {
	var server0, self0 time.Duration
	var began time.Time
	o.Loading = func(started bool) {
		server, self := childCPU(s.comm), selfCPU()
		if started {
			server0, self0, began = server, self, time.Now()
			return
		}
		s.serverCPU, s.generatorCPU, s.loadWall = server-server0, self-self0, time.Since(began)
	}
	s.loadBefore = loadAverage()
	var err error
	s.res, err = s.fleet.Load(ctx, s.rc, o)
	s.loadAfter = loadAverage()
	if err != nil && s.after != nil {
		return fmt.Errorf("%w; %s", err, s.after())
	}
	return err
}

// cores is d of CPU time over the load's wall time.
func (s *system) cores(d time.Duration) float64 {
	if s.loadWall <= 0 {
		return 0
	}
	return d.Seconds() / s.loadWall.Seconds()
}

// row prints the last load as a Markdown table row, after its round
// number (none for 0).
func (s *system) row(round int) {
	r := s.res
	if round > 0 {
		fmt.Printf("| %d ", round)
	}
	fmt.Printf("| %s ", s.name)
	fmt.Printf("| %d | %d | %.1f s | %.0f | %.2f ms | %.2f ms | %d of %d | %.2f + %.2f cores | %s → %s |\n",
		r.Users, r.Concurrency, r.DurationS, r.AcceptsPS, r.P50ms, r.P99ms,
		r.Rejects+r.NoAnswer, r.Logins, s.cores(s.serverCPU), s.cores(s.generatorCPU), s.loadBefore, s.loadAfter)
}

// loadAverage is the 1-minute load average, from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// startPeer starts FreeRADIUS with pam_oath and provisions its fleet.
func startPeer(ctx context.Context, o fleetload.Options) (*system, func(), error) {
	p, err := peers.Start(ctx, peers.Config{System: peers.PAMOath})
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		if err := p.Stop(); err != nil {
			logf("stopping FreeRADIUS: %v", err)
		}
	}
	s := &system{name: "FreeRADIUS + pam_oath", comm: "freeradius", after: func() string {
		msg := "FreeRADIUS's log ends:\n" + tail(p.Log(), 20)
		if st, err := os.Stat(p.UsersFile); err == nil {
			msg = fmt.Sprintf("pam_oath's users file has %d bytes; %s", st.Size(), msg)
		}
		return msg
	}}
	logf("FreeRADIUS + pam_oath answered on %s after %v", strings.SplitN(p.RADIUS, "@", 2)[1], p.Started)
	if s.rc, err = radclient.Parse(p.RADIUS); err != nil {
		stop()
		return nil, nil, err
	}
	s.rc.Retries = 2
	prov, err := provision.Open(ctx, p.Provisioner, nil)
	if err != nil {
		stop()
		return nil, nil, err
	}
	if s.fleet, err = fleetload.Provision(ctx, prov, o); err != nil {
		stop()
		return nil, nil, err
	}
	if st, err := os.Stat(p.UsersFile); err == nil {
		logf("pam_oath's users file: %d bytes, read and rewritten whole at every login", st.Size())
	}
	return s, stop, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// startTokenlab starts `tokenlab serve --virtual-clock --radius` on
// loopback with temporary data and provisions its fleet.
func startTokenlab(ctx context.Context, bin string, o fleetload.Options) (_ *system, stop func(), err error) {
	dir, err := os.MkdirTemp("", "tokenlab-loadpeers-")
	if err != nil {
		return nil, nil, err
	}
	stop = func() { os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			stop()
		}
	}()
	secret, admin := randomHex(16), randomHex(16)
	clients := filepath.Join(dir, "clients")
	if err := os.WriteFile(clients, []byte("127.0.0.1/32 "+secret+"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--store", filepath.Join(dir, "tokens.json"),
		"--virtual-clock", "--radius", "127.0.0.1:0", "--radius-clients", clients)
	cmd.Env = append(os.Environ(), "TOKENLAB_HOME="+dir, "TOKENLAB_ADMIN_TOKEN="+admin)
	addrs, exited, err := start(cmd, filepath.Join(dir, "serve.log"), regexp.MustCompile(`listening on (https?://\S+)`), regexp.MustCompile(`RADIUS on udp (\S+)`))
	if err != nil {
		return nil, nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(10 * time.Second)
		select {
		case <-exited:
		case <-t.C:
			_ = cmd.Process.Kill()
			<-exited
		}
		t.Stop()
		os.RemoveAll(dir)
	}
	logf("tokenlab serve listening on %s, RADIUS on %s", addrs[0], addrs[1])
	s := &system{name: "tokenlab serve --radius (virtual clock)", comm: comm(bin)}
	if s.rc, err = radclient.Parse("radius://" + secret + "@" + addrs[1]); err != nil {
		return nil, nil, err
	}
	s.rc.Retries = 2
	prov, err := provision.OpenTokenlab(ctx, addrs[0], admin, nil)
	if err != nil {
		return nil, nil, err
	}
	if s.fleet, err = fleetload.Provision(ctx, prov, o); err != nil {
		return nil, nil, err
	}
	return s, stop, nil
}

// start runs cmd with its output in the file logPath and waits until
// the file shows each pattern, returning their first groups, and a channel
// closed when the process exits. The output goes to a file, as a deployed
// server's log does (FreeRADIUS writes its own), not to a pipe this program
// would spend its CPU reading during the load: tokenlab serve logs a line
// per RADIUS request.
func start(cmd *exec.Cmd, logPath string, patterns ...*regexp.Regexp) ([]string, <-chan struct{}, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Start()
	f.Close() // the child has its own descriptor
	if err != nil {
		return nil, nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	// A server that starts takes well under a second; this bounds one that
	// hangs.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		got, left := make([]string, len(patterns)), len(patterns)
		for line := range strings.SplitSeq(string(b), "\n") {
			for i, re := range patterns {
				if m := re.FindStringSubmatch(line); m != nil && got[i] == "" {
					got[i] = m[1]
					left--
				}
			}
		}
		if left == 0 {
			return got, exited, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return nil, nil, fmt.Errorf("%s serve did not say it was listening within 30 s; its log:\n%s", cmd.Path, tail(string(b), 20))
		}
		// The server says nothing but in its log when it listens: poll it.
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-exited:
			t.Stop()
			b, _ := os.ReadFile(logPath)
			return nil, nil, fmt.Errorf("%s serve exited before listening; its log:\n%s", cmd.Path, tail(string(b), 20))
		case <-t.C:
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
