package peers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"layeh.com/radius"

	"github.com/tokenlab/tokenlab/scenarios/radclient"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
)

// System is the OTP system FreeRADIUS hands logins to, through PAM.
type System int

// The systems.
const (
	// PAMOath is pam_oath (OATH Toolkit) with a liboath users file.
	PAMOath System = iota + 1
	// GoogleAuthenticator is pam_google_authenticator with one secret file
	// per user in one directory (secret=DIR/${USER}).
	GoogleAuthenticator
)

func (s System) String() string {
	switch s {
	case PAMOath:
		return "pam_oath"
	case GoogleAuthenticator:
		return "pam_google_authenticator"
	}
	return "system(" + strconv.Itoa(int(s)) + ")"
}

// Config says what to start. Zero values are the modules' own defaults.
type Config struct {
	System System
	// Digits is pam_oath's digits= option: 6 or 8 refuse codes of any
	// other length; 0 leaves it out, and pam_oath takes 6 to 8 digits
	// computed from the same secret (an 8-digit token's last 6 digits log
	// in). google-authenticator codes always have 6.
	Digits int
	// Window is pam_oath's window= option, the steps searched either side
	// of now (0: the module's default, 5); for google-authenticator the
	// WINDOW_SIZE each new user's file gets, in codes in all (0: 3, the
	// step before, now and the one after).
	Window int
	// RateLimit is google-authenticator's RATE_LIMIT for new users, "N/M"
	// (N attempts per M seconds) or "off"; "" is google-authenticator's
	// recommended 3/30. Logins and refusals both count.
	RateLimit string
	// AllowReuse leaves google-authenticator's DISALLOW_REUSE out of new
	// users' files, so a code logs in again within its step.
	AllowReuse bool
	// RequireMessageAuthenticator makes FreeRADIUS drop Access-Requests
	// without a Message-Authenticator (its default is to answer them).
	RequireMessageAuthenticator bool
	// Debug runs freeradius -X: one thread, every request traced in the log.
	Debug bool
}

// Peer is a running FreeRADIUS with its OTP system.
type Peer struct {
	Config Config
	// RADIUS is the target, radius://SECRET@127.0.0.1:PORT.
	RADIUS string
	// Provisioner is the provision.Open spec that adds users to the system:
	// oath-usersfile:PATH or google-authenticator:DIR with the options of
	// Config.
	Provisioner string
	// UsersFile is pam_oath's users file, or the directory of
	// google-authenticator's secret files.
	UsersFile string
	// Dir is the private configuration directory, removed by Stop.
	Dir string
	// LogPath is FreeRADIUS's log (in Dir): logins, refusals, errors.
	LogPath string
	// PAMService is the PAM service FreeRADIUS uses, /etc/pam.d/PAMService.
	PAMService string
	// Started is how long FreeRADIUS took from exec to its first answer.
	Started time.Duration

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	exitErr  error
	stopOnce sync.Once
	stopErr  error
}

// readyTimeout bounds how long Start waits for FreeRADIUS's first answer
// (it takes about half a second).
const readyTimeout = 10 * time.Second

// Start runs FreeRADIUS 3 in the foreground as a child process, on a free
// loopback UDP port, with a private configuration in a temporary
// directory: one client (127.0.0.1, a random secret), one virtual server
// whose every Access-Request goes to PAM, and a PAM service of its own in
// /etc/pam.d naming the system's module. It returns once FreeRADIUS
// answers a Status-Server, or an error with its log. A *NotInstalledError
// means the peer cannot run here at all.
//
// The peer lives until Stop, whatever ctx does after Start returns.
func Start(ctx context.Context, c Config) (*Peer, error) {
	in, err := find(c.System)
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	var lastErr error
	// A port found free can be taken before FreeRADIUS binds it; another
	// one then does.
	for range 3 {
		p, err := start(ctx, in, c)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

func (c Config) check() error {
	switch {
	case c.Digits != 0 && c.Digits != 6 && c.Digits != 8:
		return fmt.Errorf("peers: Digits %d: use 6, 8 or 0 (pam_oath's default)", c.Digits)
	case c.System == GoogleAuthenticator && c.Digits == 8:
		return fmt.Errorf("peers: google-authenticator codes have 6 digits: leave Digits 0 or 6")
	case c.Window < 0:
		return fmt.Errorf("peers: Window %d: use a positive number, or 0 for the module's default", c.Window)
	case c.System == PAMOath && (c.RateLimit != "" || c.AllowReuse):
		return fmt.Errorf("peers: RateLimit and AllowReuse are google-authenticator's: pam_oath has neither")
	}
	return nil
}

var errPortTaken = errors.New("the port was taken before FreeRADIUS bound it")

func start(ctx context.Context, in installation, c Config) (_ *Peer, err error) {
	dir, err := os.MkdirTemp("", "tokenlab-freeradius-")
	if err != nil {
		return nil, err
	}
	// PAM reads its arguments split at spaces.
	if strings.ContainsAny(dir, " \t\n") {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("peers: the temporary directory %q has a space, which a PAM option cannot hold: set TMPDIR to a path without one", dir)
	}
	p := &Peer{Config: c, Dir: dir, LogPath: filepath.Join(dir, "radius.log"), exited: make(chan struct{})}
	defer func() {
		if err != nil {
			p.cleanup()
		}
	}()
	secret, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	svc, err := randomHex(6)
	if err != nil {
		return nil, err
	}
	p.PAMService = "tokenlab-" + svc
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	p.RADIUS = "radius://" + secret + "@127.0.0.1:" + strconv.Itoa(port)

	var pamLines string
	switch c.System {
	case PAMOath:
		p.UsersFile = filepath.Join(dir, "users.oath")
		if err := os.WriteFile(p.UsersFile, nil, 0o600); err != nil {
			return nil, err
		}
		opts := "usersfile=" + p.UsersFile
		if c.Window != 0 {
			opts += " window=" + strconv.Itoa(c.Window)
		}
		spec := "oath-usersfile:" + p.UsersFile
		if c.Digits != 0 {
			opts += " digits=" + strconv.Itoa(c.Digits)
			spec += "?digits=" + strconv.Itoa(c.Digits)
		}
		p.Provisioner = spec
		pamLines = "auth required pam_oath.so " + opts + "\n"
	case GoogleAuthenticator:
		p.UsersFile = filepath.Join(dir, "google-authenticator")
		if err := os.Mkdir(p.UsersFile, 0o700); err != nil {
			return nil, err
		}
		// user=root: the module reads the files as root, since RADIUS
		// users have no Unix accounts to switch to; the files are root's.
		pamLines = "auth required pam_google_authenticator.so secret=" + p.UsersFile + "/${USER} user=root\n"
		q := url.Values{}
		if c.Window != 0 {
			q.Set("window", strconv.Itoa(c.Window))
		}
		if c.RateLimit != "" {
			q.Set("rate_limit", c.RateLimit)
		}
		if c.AllowReuse {
			q.Set("reuse", "allow")
		}
		p.Provisioner = "google-authenticator:" + p.UsersFile
		if len(q) > 0 {
			p.Provisioner += "?" + q.Encode()
		}
	}
	// Account management must pass: the users exist only for the OTP module.
	pamLines += "account required pam_permit.so\n"
	if err := os.WriteFile(p.pamFile(), []byte("# tokenlab peer "+dir+", removed when it stops\n"+pamLines), 0o644); err != nil {
		return nil, fmt.Errorf("peers: writing the PAM service: %w", err)
	}

	var conf bytes.Buffer
	if err := radiusdConf.Execute(&conf, map[string]any{
		"Dir": dir, "LibDir": in.libdir, "Secret": secret, "Port": port, "PAMService": p.PAMService,
		"RequireMA": c.RequireMessageAuthenticator,
	}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "radiusd.conf"), conf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, err
	}

	logf, err := os.OpenFile(p.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	args := []string{"-f", "-d", dir, "-n", "radiusd", "-l", "stdout"}
	if c.Debug {
		args = []string{"-X", "-d", dir, "-n", "radiusd", "-l", "stdout"}
	}
	p.cmd = exec.Command(in.freeradius, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("peers: starting %s: %w", in.freeradius, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx, secret, port); err != nil {
		log := p.logTail(40)
		if strings.Contains(log, "Address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("peers: FreeRADIUS (%s) did not start: %w; its log:\n%s", p.Config.System, err, log)
	}
	p.Started = time.Since(began)
	return p, nil
}

// waitReady sends Status-Server until FreeRADIUS answers, it exits, or
// readyTimeout passes.
func (p *Peer) waitReady(ctx context.Context, secret string, port int) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := &radclient.Client{Addr: "127.0.0.1:" + strconv.Itoa(port), Secret: []byte(secret), Timeout: 200 * time.Millisecond}
	for {
		err := statusServer(ctx, c)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("it exited (%v)", p.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("no answer to Status-Server in %v: %w", readyTimeout, err)
		default:
		}
		if errors.Is(err, radclient.ErrNoAnswer) {
			continue // the attempt itself waited its 200 ms
		}
		// Not listening yet: the port is refused at once. Poll, as
		// FreeRADIUS says nothing on its own when it is ready.
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-p.exited:
			t.Stop()
			return fmt.Errorf("it exited (%v)", p.exitErr)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no answer to Status-Server in %v: %w", readyTimeout, err)
		case <-t.C:
		}
	}
}

// statusServer sends one Status-Server (RFC 5997, signed as it requires).
func statusServer(ctx context.Context, c *radclient.Client) error {
	req := radius.New(radius.CodeStatusServer, c.Secret)
	if err := tlradius.SignRequest(req); err != nil {
		return err
	}
	wire, err := req.Encode()
	if err != nil {
		return err
	}
	conn, err := net.Dial("udp", c.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = c.Exchange(ctx, conn, wire, req)
	return err
}

// Stop ends FreeRADIUS (SIGTERM, then SIGKILL after 5 s) and removes its
// PAM service and directory, log included: read Log first to keep it.
func (p *Peer) Stop() error {
	p.stopOnce.Do(func() {
		if p.cmd != nil && p.cmd.Process != nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			t := time.NewTimer(5 * time.Second)
			select {
			case <-p.exited:
			case <-t.C:
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
			t.Stop()
		}
		p.stopErr = p.cleanup()
	})
	return p.stopErr
}

func (p *Peer) cleanup() error {
	if p.cmd != nil && p.cmd.Process != nil {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	var errs []error
	if p.PAMService != "" {
		if err := os.Remove(p.pamFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p *Peer) pamFile() string { return filepath.Join("/etc/pam.d", p.PAMService) }

// Log is FreeRADIUS's log so far.
func (p *Peer) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// logTail is the last n lines of the log.
func (p *Peer) logTail(n int) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freeUDPPort is a loopback UDP port free now: never 1812, which a
// packaged FreeRADIUS may hold.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// radiusdConf is the whole configuration: no file of the system's
// /etc/freeradius is read, so a packaged server's settings, sites and
// modules neither help nor hinder. Notable settings:
//
//   - no user/group: FreeRADIUS stays root, as the PAM modules must read
//     and rewrite root's secret files;
//   - reject_delay 0: FreeRADIUS's default delays every Access-Reject by a
//     second, which would measure the delay instead of the system;
//   - auth = yes logs each login and refusal, never the code
//     (auth_badpass/auth_goodpass off);
//   - Status-Server is answered (the readiness check and health probes).
var radiusdConf = template.Must(template.New("radiusd.conf").Parse(`# tokenlab peer: FreeRADIUS with PAM, written by scenarios/peers
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {{.Dir}}
raddbdir = {{.Dir}}
radacctdir = {{.Dir}}
name = radiusd
confdir = {{.Dir}}
modconfdir = {{.Dir}}
run_dir = {{.Dir}}/run
db_dir = {{.Dir}}
libdir = {{.LibDir}}
pidfile = {{.Dir}}/run/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 16384
hostname_lookups = no

log {
	destination = files
	file = {{.Dir}}/radius.log
	auth = yes
	auth_badpass = no
	auth_goodpass = no
}

security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}

proxy_requests = no

client tokenlab {
	ipaddr = 127.0.0.1
	secret = {{.Secret}}
	require_message_authenticator = {{if .RequireMA}}yes{{else}}no{{end}}
}

thread pool {
	start_servers = 5
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 10
	max_requests_per_server = 0
}

modules {
	always ok {
		rcode = ok
	}
	pam {
		pam_auth = {{.PAMService}}
	}
}

server tokenlab {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = {{.Port}}
	}
	authorize {
		Autz-Type Status-Server {
			ok
		}
		update control {
			&Auth-Type := PAM
		}
	}
	authenticate {
		Auth-Type PAM {
			pam
		}
	}
}
`))
