// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// into a temporary directory, postgres listening on a Unix socket in it
// (no TCP), stopped and removed by Stop. Tests that need a database start
// one per test binary, in TestMain (see Main).
//
// PostgreSQL refuses to run as root, and CI runs as root: then the
// cluster runs as the system user "postgres" (made by Debian's postgresql
// package) or, without it, "nobody", in a directory that user owns. As
// any other user it runs as that user.
//
// The binaries are found in $TOKENLAB_PG_BINDIR, else in the directory
// pg_config --bindir names, else in the newest /usr/lib/postgresql/*/bin.
// Without them the tests fail, saying to run make setup: no test skips for
// want of a database.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options are a cluster's settings.
type Options struct {
	// Durable keeps fsync on, as a production server has it: for
	// measurements. Tests leave it off — a crash of the test's processes
	// (kill -9) loses nothing written to the operating system's cache, and
	// the shared cores go further without the syncs.
	Durable bool
	// MaxConnections is postgres's max_connections (default 200).
	MaxConnections int
	// Settings are more of postgres's settings (-c name=value).
	Settings map[string]string
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir     string // owned by the cluster's user: data/ and the socket
	bin     string
	port    int
	opts    Options
	cred    *syscall.Credential // nil: as the current user
	logFile string

	mu   sync.Mutex
	proc *running
}

// running is one run of the postmaster.
type running struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	stop chan struct{} // closed to let the goroutine that started it go
}

// BinDir is the directory of initdb and postgres.
func BinDir() (string, error) {
	if d := os.Getenv("TOKENLAB_PG_BINDIR"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("PostgreSQL's initdb and postgres are not installed: run make setup (it installs Debian's postgresql), or set TOKENLAB_PG_BINDIR to their directory")
}

// Start makes a new cluster and starts it.
func Start(opts Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 200
	}
	dir, err := os.MkdirTemp("", "tokenlab-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, opts: opts, logFile: filepath.Join(dir, "postgres.log")}
	if os.Geteuid() == 0 {
		if c.cred, err = unprivileged(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", c.dataDir(), "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := c.Restart(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// unprivileged is the user a root test runs the cluster as.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("PostgreSQL refuses to run as root, and there is no postgres or nobody user to run it as: create one (useradd --system postgres)")
}

// freePort is a TCP port nothing listens on now. postgres listens on the
// Unix socket only, but the port names the socket file, and a free one
// keeps a stray server from another run from answering.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// Socket is the directory of the server's Unix socket.
func (c *Cluster) Socket() string { return c.dir }

// Port is the server's port (it names the socket file).
func (c *Cluster) Port() int { return c.port }

// DSN is the connection string of database on the cluster, as the
// superuser, with the extra parameters (key=value, joined with &).
func (c *Cluster) DSN(database string, extra ...string) string {
	q := append([]string{"host=" + c.dir, "port=" + strconv.Itoa(c.port), "sslmode=disable"}, extra...)
	return "postgres://postgres@/" + database + "?" + strings.Join(q, "&")
}

// Restart starts the server, if it is not running. It returns once the
// server takes connections.
func (c *Cluster) Restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.done:
		default:
			return nil
		}
	}
	fsync := "off"
	if c.opts.Durable {
		fsync = "on"
	}
	args := []string{"-D", c.dataDir(), "-k", c.dir, "-p", strconv.Itoa(c.port), "-c", "listen_addresses=",
		"-c", "fsync=" + fsync, "-c", "full_page_writes=" + fsync, "-c", "max_connections=" + strconv.Itoa(c.opts.MaxConnections),
		"-c", "log_min_messages=warning", "-c", "logging_collector=off"}
	for k, v := range c.opts.Settings {
		args = append(args, "-c", k+"="+v)
	}
	log, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	r := &running{done: make(chan struct{}), stop: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The postmaster gets SIGQUIT (immediate shutdown) when the thread
		// that started it ends, so that a test binary that dies does not
		// leave a server behind; the thread is this goroutine's, locked to
		// it until Stop lets it go.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		r.cmd = cmd
		started <- nil
		go func() { cmd.Wait(); close(r.done) }()
		select {
		case <-r.stop:
		case <-r.done:
			<-r.stop
		}
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	c.proc = r
	// A bounded wait for a real process to start taking connections.
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(context.Background(), c.DSN("postgres"))
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("postgres exited: %s", c.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres does not take connections after 60 s: %v\n%s", err, c.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pids lists the server's processes now: the postmaster and its children
// (the connections' backends and its helpers), for a measurement of the
// processor time they use.
func (c *Cluster) Pids() []int {
	c.mu.Lock()
	r := c.proc
	c.mu.Unlock()
	if r == nil || r.cmd.Process == nil {
		return nil
	}
	root := r.cmd.Process.Pid
	pids := []int{root}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 1 && f[1] == strconv.Itoa(root) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// logTail is the end of the server's log.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logFile)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Shutdown stops the server and waits for it: fast (SIGINT: connections are
// ended, what is committed stays) or, if immediate, as a crash (SIGQUIT:
// the next start recovers from the WAL). The data stays; Restart starts
// it again.
func (c *Cluster) Shutdown(immediate bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.proc
	if r == nil {
		return nil
	}
	sig := syscall.SIGINT
	if immediate {
		sig = syscall.SIGQUIT
	}
	r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second): // bounds a real shutdown
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
	close(r.stop)
	c.proc = nil
	return nil
}

// Stop shuts the server down and removes its directory.
func (c *Cluster) Stop() error {
	err := c.Shutdown(false)
	return errors.Join(err, os.RemoveAll(c.dir))
}

// CreateDatabase makes a database, if it does not exist.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// Exec runs SQL on a database of the cluster, as the superuser.
func (c *Cluster) Exec(ctx context.Context, database, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, c.DSN(database))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Main is a TestMain that starts a cluster, sets *c to it, runs the tests
// and stops it. Without PostgreSQL it fails the run.
func Main(m *testing.M, c **Cluster, opts Options) {
	var err error
	*c, err = Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot start a PostgreSQL server for the tests: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := (*c).Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping PostgreSQL: %v\n", err)
	}
	os.Exit(code)
}
