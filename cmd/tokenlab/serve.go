package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/console"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/pgstore"
	"github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// AdminTokenFile keeps a generated administrator credential in the data
// directory, so that it is printed once and survives restarts.
const AdminTokenFile = "admin.token"

func defaultDataDir() (string, error) {
	if home := os.Getenv("TOKENLAB_HOME"); home != "" {
		return filepath.Join(home, "server"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no per-user directory (%v): set TOKENLAB_HOME or pass --data", err)
	}
	return filepath.Join(dir, "tokenlab", "server"), nil
}

type serveFlags struct {
	addr, data, adminToken, serviceToken, clockStart, logFormat string
	seedKeyFile                                                 string
	db                                                          string
	virtualClock, demo                                          bool
	metricsToken                                                string
	metricsPublic                                               bool
	tlsCert, tlsKey                                             string
	insecure                                                    bool
	driftTracking                                               string
	sweepEvery                                                  time.Duration
	radiusAddr, radiusClients                                   string
	radiusPasswordAndCode, noNextCodeChallenge                  bool
	policyFile                                                  string
	store                                                       func() (*emulator.Store, error)
	// given reports whether a flag was on the command line, so that a
	// policy flag left at its default does not override --policy's file.
	given func(flag string) bool
}

func (a *app) serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--data DIR] [--policy FILE] [--virtual-clock] [--demo]",
		Short: "Run the verification server over HTTP",
		Long: `Run the verification server: the JSON API of /v1/openapi.json, /healthz and
/metrics. State lives in --data (SQLite and the seed key). The seed key may
live elsewhere, so that a backup of the data is not one of the key:
--seed-key-file FILE or TOKENLAB_SEED_KEY (hex); once seeds are sealed, serve
refuses to start without their key rather than make a new one. The administrator
credential is --admin-token or TOKENLAB_ADMIN_TOKEN; without either one is
generated on first start, saved in DIR/admin.token (mode 0600) and printed once;
a credential given is never printed. The web console's login link that serve
prints signs a browser in once, within 10 minutes. A narrower credential for a
portal is --service-token or TOKENLAB_SERVICE_TOKEN.

--policy FILE sets the lifecycle's rules — lockout threshold, windows,
validity, automatic revocation, approval, the operator's and portal's names —
from a JSON object with the keys GET /v1/policy prints, so that saving that
document, editing it and restarting works. A key left out keeps its default;
an unknown key, a key given twice, a wrong type or a value out of range stops
serve with exit status 2, naming the key (docs/lifecycle.md, “Policy
defaults”, lists the keys and their allowed values). --drift-tracking,
--radius-password-and-code and --no-next-code-challenge, when given, override
the file. The policy is not stored: give --policy at every start.

--db postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or TOKENLAB_DB) keeps the
data in PostgreSQL instead of --data, so that several serve processes
(replicas behind a load balancer) share it: a code is accepted once across
all of them. Every replica is given the same seed key (--seed-key-file FILE
of 64 hex digits, or TOKENLAB_SEED_KEY) and the same administrator
credential (--admin-token or TOKENLAB_ADMIN_TOKEN); a replica refuses a key
that does not open the stored seeds. See docs/deploy.md.

--virtual-clock makes the server's clock stand still between moves (POST
/v1/clock); it starts at real time or at --clock-start. With --db the clock
lives in the database: every replica reads it, a move through one moves it
for all, and a replica that joins keeps it (--clock-start only sets a new
database's). --demo seeds a demo
fleet, accounts and sponsorships, and prints a walkthrough. SIGINT or SIGTERM
stops the server gracefully: requests in flight finish, the store closes.

Every credential must hold 128 bits: 32 hex digits (openssl rand -hex 16) or
22 base64url characters. /metrics needs the administrator credential or
--metrics-token, unless --metrics-public. Plain HTTP is served on loopback
only: on another address give --tls-cert and --tls-key, or --insecure on a
lab network you trust.

--radius ADDR also answers RADIUS (RFC 2865, PAP) on UDP: User-Name is the
user ID, User-Password the code; Access-Accept, or Access-Reject with the
refusal's message in Reply-Message. The clients and their shared secrets are
--radius-clients FILE; a request from elsewhere, or without a valid
Message-Authenticator (RFC 3579), is dropped. A code outside the login window but
inside the sync window gets an Access-Challenge for the token's next code
(--no-next-code-challenge: a wrong code instead); --radius-password-and-code
takes the account's password followed by the code in User-Password.`,
		Args: noArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			f.given = cmd.Flags().Changed
			return a.serve(f)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	fl.StringVar(&f.policyFile, "policy", "", "the lifecycle's rules: a JSON object of GET /v1/policy's keys, each left out its default")
	fl.StringVar(&f.data, "data", "", "data directory (default $TOKENLAB_HOME/server, else ~/.config/tokenlab/server)")
	fl.StringVar(&f.db, "db", "", "keep the data in PostgreSQL instead, shared by every replica: postgres://USER@HOST/DB (default $TOKENLAB_DB)")
	fl.StringVar(&f.seedKeyFile, "seed-key-file", "", "the seed key, outside the data directory (default $TOKENLAB_SEED_KEY in hex, else DIR/seed.key)")
	fl.StringVar(&f.adminToken, "admin-token", "", "administrator credential (default $TOKENLAB_ADMIN_TOKEN, else generated)")
	fl.StringVar(&f.serviceToken, "service-token", "", "service credential for a portal (default $TOKENLAB_SERVICE_TOKEN)")
	fl.StringVar(&f.metricsToken, "metrics-token", "", "credential that reads /metrics only, for a scraper (default $TOKENLAB_METRICS_TOKEN)")
	fl.BoolVar(&f.metricsPublic, "metrics-public", false, "serve /metrics without a credential")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP on an address that is not loopback (a lab network you trust)")
	fl.BoolVar(&f.virtualClock, "virtual-clock", false, "a clock that stands still and is moved with POST /v1/clock")
	fl.StringVar(&f.clockStart, "clock-start", "", "where the virtual clock starts, RFC 3339 (default now)")
	fl.BoolVar(&f.demo, "demo", false, "seed a demo fleet, accounts and sponsorships, and print a walkthrough")
	fl.DurationVar(&f.sweepEvery, "sweep-every", time.Minute, "how often a real-clock server runs the expiry sweep")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.radiusAddr, "radius", "", "also answer RADIUS Access-Requests (UDP) on this address, e.g. 127.0.0.1:1812 (needs --radius-clients)")
	fl.StringVar(&f.radiusClients, "radius-clients", "", "the RADIUS clients file: one 'ADDRESS-OR-CIDR SECRET' a line, # comments, secrets of 16 characters or more")
	fl.BoolVar(&f.radiusPasswordAndCode, "radius-password-and-code", false, "RADIUS User-Password is the account's password followed by the code (policy radius_password_and_code)")
	fl.BoolVar(&f.noNextCodeChallenge, "no-next-code-challenge", false, "no RADIUS Access-Challenge for a code outside the login window: a wrong code (policy no_next_code_challenge)")
	fl.StringVar(&f.driftTracking, "drift-tracking", server.DriftOffset, "how login windows follow a token's clock: offset, fixed or rate (policy drift_tracking)")
	var storePath string
	fl.StringVar(&storePath, "store", "", "token store of the console's and --demo's virtual tokens (default $TOKENLAB_HOME/tokens.json)")
	f.store = func() (*emulator.Store, error) { return openTokenStore(storePath) }
	return cmd
}

// loadAdminToken returns the flag, the environment, the saved token or a new one.
func loadAdminToken(flag, dir string) (token string, generated bool, err error) {
	if flag != "" {
		return flag, false, nil
	}
	if env := os.Getenv("TOKENLAB_ADMIN_TOKEN"); env != "" {
		return env, false, nil
	}
	path := filepath.Join(dir, AdminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	token = hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("cannot save the administrator credential: %w", err)
	}
	return token, true, nil
}

func (a *app) serve(f serveFlags) error {
	var logger *slog.Logger
	switch f.logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(a.stderr, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(a.stderr, nil))
	default:
		return usagef("invalid --log-format %q: use text or json", f.logFormat)
	}
	if f.clockStart != "" && !f.virtualClock {
		return usagef("--clock-start needs --virtual-clock")
	}
	tlsConf, err := f.tlsConfig()
	if err != nil {
		return err
	}
	radiusClients, err := f.radiusClientList()
	if err != nil {
		return err
	}
	policy, err := f.policy()
	if err != nil {
		return err
	}
	dbURL := f.db
	if dbURL == "" {
		dbURL = os.Getenv("TOKENLAB_DB")
	}
	if dbURL != "" && f.data != "" {
		return usagef("--data and --db: with --db the data lives in PostgreSQL; give one of them")
	}
	startAt := time.Now().UTC()
	if f.clockStart != "" {
		t, err := time.Parse(time.RFC3339Nano, f.clockStart)
		if err != nil {
			return usagef("invalid --clock-start %q: use RFC 3339, e.g. 2026-01-01T00:00:00Z", f.clockStart)
		}
		startAt = t
	}
	dir := f.data
	if dbURL == "" {
		if dir == "" {
			var err error
			if dir, err = defaultDataDir(); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("cannot create the data directory: %w", err)
		}
	} else if f.adminToken == "" && os.Getenv("TOKENLAB_ADMIN_TOKEN") == "" {
		return usagef("--db needs the administrator credential every replica shares: --admin-token or TOKENLAB_ADMIN_TOKEN (make one with: openssl rand -hex 16)")
	}
	adminToken, generated, err := loadAdminToken(f.adminToken, dir)
	if err != nil {
		return err
	}
	serviceToken := f.serviceToken
	if serviceToken == "" {
		serviceToken = os.Getenv("TOKENLAB_SERVICE_TOKEN")
	}
	metricsToken := f.metricsToken
	if metricsToken == "" {
		metricsToken = os.Getenv("TOKENLAB_METRICS_TOKEN")
	}
	if err := checkCredentials(f, dir, adminToken, serviceToken, metricsToken); err != nil {
		return err
	}
	var (
		st        server.Store
		key       seedKey
		clk       clock.Clock = clock.System{}
		vclk      clock.Mover
		where     = dir // the data's place, for the log
		mismatch  = func(k seedKey) error { return seedKeyMismatch(k, dir) }
		sharedDB  *pgstore.Store
		openStart = time.Now()
	)
	if dbURL != "" {
		sharedDB, key, err = openDB(dbURL, f.seedKeyFile)
		if err != nil {
			return err
		}
		st, where, mismatch = sharedDB, sharedDB.Describe(), seedKeyMismatchDB
		if clk, vclk, err = dbClock(sharedDB, f, startAt, logger); err != nil {
			st.Close()
			return err
		}
	} else {
		lite, err := sqlitestore.Open(dir)
		if err != nil {
			return err
		}
		st = lite
		if key, err = loadSeedKey(context.Background(), f.seedKeyFile, dir, st); err != nil {
			st.Close()
			return err
		}
		if f.virtualClock {
			v := clock.NewVirtual(startAt)
			clk, vclk = v, v
		}
	}
	srv, err := server.New(server.Config{Store: st, Clock: clk, SeedKey: key.key, Policy: policy})
	if errors.Is(err, server.ErrSeedKeyMismatch) {
		err = mismatch(key)
	}
	if err != nil {
		st.Close()
		return err
	}
	logger.Debug("store opened", "took", time.Since(openStart))
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is another server running? try --addr 127.0.0.1:0)", f.addr, err)
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	registry := prometheus.NewRegistry() // the API's metrics and RADIUS's, on /metrics
	var rs *radius.Server
	if f.radiusAddr != "" {
		rconn, err := net.ListenPacket("udp", f.radiusAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("cannot listen for RADIUS on %s: %w", f.radiusAddr, err)
		}
		rs, err = radius.New(radius.Config{Service: srv, Clients: radiusClients, Observe: radiusLog(logger), Registry: registry})
		if err != nil {
			rconn.Close()
			ln.Close()
			return err
		}
		go func() {
			if err := rs.Serve(rconn); err != nil {
				logger.Error("radius", "err", err)
			}
		}()
		defer rs.Close()
		logger.Info("radius listening", "addr", rconn.LocalAddr().String())
		fmt.Fprintf(a.stderr, "tokenlab serve: RADIUS on udp %s\n", rconn.LocalAddr())
	}
	tokenStore, err := f.store()
	if err != nil {
		ln.Close()
		return err
	}
	web, err := console.New(console.Options{Server: srv, Store: tokenStore, AdminToken: adminToken, VirtualClock: vclk, Logger: logger})
	if err != nil {
		ln.Close()
		return err
	}
	api := httpapi.New(srv, httpapi.Options{AdminToken: adminToken, ServiceToken: serviceToken, VirtualClock: vclk, Logger: logger,
		MetricsToken: metricsToken, MetricsPublic: f.metricsPublic, Registry: registry})
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/metrics", api)
	mux.Handle("/", web) // the web console: virtual tokens and the server at a glance
	hs := httpapi.NewHTTPServer(f.addr, mux, httpapi.DefaultTimeouts)
	hs.TLSConfig = tlsConf

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The login link, not the credential: the output ends up in CI logs and
	// journals. A credential is printed only when it was just generated.
	loginLink := web.LoginLink(url)
	if generated {
		fmt.Fprintf(a.stderr, "administrator credential (saved in %s): %s\n", filepath.Join(dir, AdminTokenFile), adminToken)
	}
	if f.demo {
		access := demoAccess{url: url, loginLink: loginLink, adminEnv: demoAdminEnv(f.adminToken, dir, adminToken, generated)}
		if err := a.seedDemo(ctx, srv, f, access); err != nil {
			ln.Close()
			return fmt.Errorf("demo: %w", err)
		}
	}
	if !f.virtualClock {
		go sweepEvery(ctx, srv, f.sweepEvery, logger)
	}
	logger.Info("listening", "url", url, "data", where, "virtual_clock", f.virtualClock, "policy", f.policyFile)
	fmt.Fprintf(a.stderr, "tokenlab serve: listening on %s\n", url)
	fmt.Fprintf(a.stderr, "web console: %s (signs in once, within %d minutes)\n", loginLink, int(console.LoginLinkTTL.Minutes()))

	errc := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			errc <- hs.ServeTLS(ln, "", "") // the certificate is in hs.TLSConfig
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for requests in flight")
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if rs != nil {
		rs.Close() // waits for the requests being answered
	}
	closed = true
	if err := srv.Close(); err != nil {
		return fmt.Errorf("closing the store: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// sweepEvery runs the expiry sweep of a real-clock server periodically.
func sweepEvery(ctx context.Context, srv *server.Server, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if rep, err := srv.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("sweep", "error", err)
		} else if rep != (server.SweepReport{}) {
			log.Info("sweep", "reminders", rep.Reminders, "expired", rep.Expired, "revoked", rep.Revoked, "audit_pruned", rep.AuditPruned)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// policy is the server's policy: --policy's file (each setting it leaves
// out the default), then each policy flag given on the command line over
// it. A file or a flag the server would refuse is a usage error (exit status
// 2) naming the setting, found before anything is created.
func (f serveFlags) policy() (server.Policy, error) {
	var p server.Policy
	if f.policyFile != "" {
		b, err := os.ReadFile(f.policyFile)
		if err != nil {
			return p, usagef("--policy: %v", err)
		}
		if p, err = server.ParsePolicy(b); err != nil {
			return p, usagef("--policy %s: %v", f.policyFile, err)
		}
	}
	given := func(flag string) bool { return f.given != nil && f.given(flag) }
	if given("drift-tracking") {
		switch f.driftTracking {
		case server.DriftOffset, server.DriftFixed, server.DriftRate:
		default:
			return p, usagef("invalid --drift-tracking %q: use offset, fixed or rate", f.driftTracking)
		}
		p.DriftTracking = f.driftTracking
	}
	if given("radius-password-and-code") {
		p.RadiusPasswordAndCode = f.radiusPasswordAndCode
	}
	if given("no-next-code-challenge") {
		p.NoNextCodeChallenge = f.noNextCodeChallenge
	}
	// No flag can make a valid file invalid today; checking here keeps a
	// future one a usage error rather than server.New's exit status 1.
	if err := p.Validate(); err != nil {
		return p, usagef("%v", err)
	}
	return p, nil
}

// radiusClientList reads --radius-clients; a malformed file is a usage
// error (exit status 2) naming the line.
func (f serveFlags) radiusClientList() ([]radius.Client, error) {
	switch {
	case f.radiusAddr == "" && f.radiusClients == "":
		return nil, nil
	case f.radiusAddr == "":
		return nil, usagef("--radius-clients needs --radius ADDR")
	case f.radiusClients == "":
		return nil, usagef("--radius needs --radius-clients FILE: one 'ADDRESS-OR-CIDR SECRET' a line")
	}
	b, err := os.ReadFile(f.radiusClients)
	if err != nil {
		return nil, usagef("--radius-clients: %v", err)
	}
	cs, err := radius.ParseClientsBytes(b)
	if err != nil {
		return nil, usagef("--radius-clients %s: %v", f.radiusClients, err)
	}
	return cs, nil
}

// radiusLog logs each RADIUS request's outcome: the client's address, the
// user, the outcome and the refusal's code; never the password or code.
func radiusLog(logger *slog.Logger) func(radius.Event) {
	return func(ev radius.Event) {
		args := []any{"client", ev.Client.String(), "outcome", string(ev.Outcome)}
		if ev.Kind != "" {
			args = append(args, "kind", ev.Kind)
		}
		if ev.User != "" {
			args = append(args, "user", ev.User)
		}
		if ev.Code != "" {
			args = append(args, "code", string(ev.Code))
		}
		logger.Info("radius", args...)
	}
}
