package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/servertest"
)

const (
	radiusSecret     = "radius-test-secret-0123456789"
	radiusAdminToken = "radius-admin-credential-0123456789"
)

// requireRadclient returns FreeRADIUS's radclient (Debian package
// freeradius-utils, installed by make setup). Outside CI a missing radclient
// skips the test; in CI (CI=true) it fails it, as a missing oathtool does.
func requireRadclient(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("radclient")
	if err != nil {
		msg := "radclient not found: install it with 'apt-get install freeradius-utils' (make setup does this)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (required when CI=true)", msg)
		}
		t.Skip(msg)
	}
	return p
}

// radiusServe is tokenlab serve --virtual-clock --radius: its API client
// and its RADIUS address.
type radiusServe struct {
	c           *client.Client
	url, radius string
}

func startRadiusServe(t *testing.T, bin string, extra ...string) radiusServe {
	t.Helper()
	dir := t.TempDir()
	clients := filepath.Join(dir, "clients")
	if err := os.WriteFile(clients, []byte("# the tests\n127.0.0.1/32 "+radiusSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const adminToken = radiusAdminToken
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--virtual-clock",
		"--admin-token", adminToken, "--radius", "127.0.0.1:0", "--radius-clients", clients, "--store", filepath.Join(dir, "tokens.json")}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TOKENLAB_HOME="+dir)
	found := startWatching(t, cmd, regexp.MustCompile(`listening on (https?://\S+)`), regexp.MustCompile(`RADIUS on udp (\S+)`))
	return radiusServe{c: client.New(found[0], adminToken), url: found[0], radius: found[1]}
}

// radiusToken is a user with an active token on the served server.
type radiusToken struct {
	user string
	gen  *oath.Generator
}

func (rs radiusServe) activeToken(t *testing.T, user string) radiusToken {
	t.Helper()
	ctx := context.Background()
	sec := make([]byte, 20)
	rand.Read(sec)
	gen, _ := oath.NewGenerator(sec, oath.SHA1, 8)
	serial := "R" + strings.ToUpper(user)
	if _, err := rs.c.ImportSeedFile(ctx, admin, fmt.Appendf(nil, "%s, %x, TOTP, 8, 30\n", serial, sec), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.c.CreateAccount(ctx, admin, server.NewAccount{UserID: user, Email: user + "@example.com", FirstName: "R", LastName: "D", Password: "long enough password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.c.Sponsor(ctx, admin, server.Sponsorship{UserID: user, Serial: serial}); err != nil {
		t.Fatal(err)
	}
	s := rs.step(t)
	if _, err := rs.c.Activate(ctx, user, serial, gen.Code(uint64(s-1)), gen.Code(uint64(s))); err != nil {
		t.Fatal(err)
	}
	rs.advance(t, "30s")
	return radiusToken{user: user, gen: gen}
}

func (rs radiusServe) step(t *testing.T) int64 {
	t.Helper()
	cs, err := rs.c.Clock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs.Now.Unix() / 30
}

func (rs radiusServe) advance(t *testing.T, d string) {
	t.Helper()
	if _, err := rs.c.AdvanceClock(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

func (rs radiusServe) code(t *testing.T, tk radiusToken, ahead int64) string {
	return tk.gen.Code(uint64(rs.step(t) + ahead))
}

// radclient sends one Access-Request with radclient (one try, 2 s) and
// returns its output: "Received Access-Accept …" and the reply's attributes,
// or "no reply".
func (rs radiusServe) radclient(t *testing.T, bin string, attrs ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-x", "-r", "1", "-t", "2", rs.radius, "auth", radiusSecret)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, "\n") + "\n")
	out, _ := cmd.CombinedOutput() // a reject is exit status 1
	return string(out)
}

func mustReceive(t *testing.T, out, code, msg string) {
	t.Helper()
	if !strings.Contains(out, "Received "+code) {
		t.Fatalf("want %s:\n%s", code, out)
	}
	if msg == "" {
		return
	}
	// A message longer than an attribute comes in several Reply-Messages.
	var got strings.Builder
	for _, m := range regexp.MustCompile(`(?m)^\s*Reply-Message = "(.*)"$`).FindAllStringSubmatch(out, -1) {
		got.WriteString(m[1])
	}
	if got.String() != msg {
		t.Fatalf("want Reply-Message %q:\n%s", msg, out)
	}
}

func catalogue(t *testing.T, c server.Code, pol server.Policy) string {
	r := strings.NewReplacer("{operator}", pol.OperatorName, "{portal}", pol.PortalName, "{maxphones}", fmt.Sprint(pol.MaxPhones))
	for _, e := range server.Catalogue {
		if e.Code == c {
			return r.Replace(e.Message)
		}
	}
	t.Fatalf("no %s in the catalogue", c)
	return ""
}

// TestRadclientAgainstTheRealBinary is issue 15's contract, driven by
// FreeRADIUS's radclient against tokenlab serve --radius.
func TestRadclientAgainstTheRealBinary(t *testing.T) {
	rc := requireRadclient(t)
	rs := startRadiusServe(t, buildBinary(t))
	pol, err := rs.c.Policy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tk := rs.activeToken(t, "vpnuser")
	req := func(user, pass string) []string {
		return []string{"User-Name = " + user, "User-Password = " + pass, "Message-Authenticator = 0x00"}
	}

	// Status-Server answers health checks.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	cmd := exec.CommandContext(ctx, rc, "-x", "-r", "1", "-t", "2", rs.radius, "status", radiusSecret)
	cmd.Stdin = strings.NewReader("Message-Authenticator = 0x00\n")
	out, _ := cmd.CombinedOutput()
	cancel()
	if !strings.Contains(string(out), "Received Access-Accept") {
		t.Fatalf("status:\n%s", out)
	}

	// A fresh code is accepted; the same code again is a replay.
	code := rs.code(t, tk, 0)
	mustReceive(t, rs.radclient(t, rc, req(tk.user, code)...), "Access-Accept", "")
	mustReceive(t, rs.radclient(t, rc, req(tk.user, code)...), "Access-Reject", catalogue(t, server.CodeOTPReplayed, pol))

	// No Message-Authenticator: no answer at all.
	if out := rs.radclient(t, rc, "User-Name = "+tk.user, "User-Password = "+rs.code(t, tk, 1)); strings.Contains(out, "Received") {
		t.Fatalf("answered without Message-Authenticator:\n%s", out)
	}
	// A wrong secret: no answer either.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	cmd = exec.CommandContext(ctx, rc, "-x", "-r", "1", "-t", "2", rs.radius, "auth", "not-the-secret-0123456789")
	cmd.Stdin = strings.NewReader(strings.Join(req(tk.user, rs.code(t, tk, 1)), "\n") + "\n")
	out, _ = cmd.CombinedOutput()
	cancel()
	if strings.Contains(string(out), "Received") {
		t.Fatalf("answered a wrong secret:\n%s", out)
	}

	// Wrong codes lock the token: then even a fresh code gets the lock's
	// message.
	for range 5 {
		mustReceive(t, rs.radclient(t, rc, req(tk.user, "00000000")...), "Access-Reject", catalogue(t, server.CodeOTPInvalid, pol))
	}
	rs.advance(t, "30s")
	mustReceive(t, rs.radclient(t, rc, req(tk.user, rs.code(t, tk, 0))...), "Access-Reject", catalogue(t, server.CodeTokenLocked, pol))

	// A token that jumped ten steps: a challenge, then its next code with
	// the challenge's State resynchronises it and is accepted.
	tk3 := rs.activeToken(t, "vpnuser3")
	out3 := rs.radclient(t, rc, req(tk3.user, rs.code(t, tk3, 10))...)
	mustReceive(t, out3, "Access-Challenge", server.NextCodeMessage)
	m := regexp.MustCompile(`(?m)^\s*State = (0x[0-9a-f]+)$`).FindStringSubmatch(out3)
	if m == nil {
		t.Fatalf("no State in the challenge:\n%s", out3)
	}
	rs.advance(t, "30s")
	mustReceive(t, rs.radclient(t, rc, append(req(tk3.user, rs.code(t, tk3, 10)), "State = "+m[1])...), "Access-Accept", "")
	// The drift is learned: the following code is accepted at once.
	rs.advance(t, "30s")
	mustReceive(t, rs.radclient(t, rc, req(tk3.user, rs.code(t, tk3, 10))...), "Access-Accept", "")

	// A retransmission (the same packet from the same port) gets the same
	// answer, and the good code is not turned into a replay.
	tk2 := rs.activeToken(t, "vpnuser2")
	p := radius.New(radius.CodeAccessRequest, []byte(radiusSecret))
	rfc2865.UserName_SetString(p, tk2.user)
	rfc2865.UserPassword_SetString(p, rs.code(t, tk2, 0))
	tlradius.SignRequest(p)
	b, _ := p.Encode()
	conn, err := net.Dial("udp", rs.radius)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var answers [2][]byte
	for i := range answers {
		conn.Write(b)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
		answers[i] = buf[:n]
	}
	if radius.Code(answers[0][0]) != radius.CodeAccessAccept || string(answers[0]) != string(answers[1]) {
		t.Fatalf("retransmission: % x then % x", answers[0], answers[1])
	}

	// /metrics counts the requests by client entry and outcome; the audit
	// log names the RADIUS client and never a code.
	hreq, _ := http.NewRequest("GET", rs.url+"/metrics", nil)
	hreq.Header.Set("Authorization", "Bearer "+radiusAdminToken)
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	for _, want := range []string{
		`tokenlab_radius_requests_total{client="127.0.0.1/32",kind="access",outcome="accept"} 3`,
		`tokenlab_radius_requests_total{client="127.0.0.1/32",kind="access",outcome="drop_message_authenticator"} 2`,
		`tokenlab_radius_requests_total{client="127.0.0.1/32",kind="access",outcome="retransmission"} 1`,
		`tokenlab_radius_requests_total{client="127.0.0.1/32",kind="access",outcome="challenge"} 1`,
		`tokenlab_radius_requests_total{client="127.0.0.1/32",kind="challenge_answer",outcome="accept"} 1`,
		`tokenlab_radius_requests_total{client="127.0.0.1/32",kind="status",outcome="status"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	es, err := rs.c.Audit(context.Background(), tk.user, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 || !strings.HasPrefix(es[len(es)-1].Detail, "via radius 127.0.0.1:") {
		t.Fatalf("audit: %+v", es)
	}
}

// TestRadiusClientsFileIsCheckedAtStart: a malformed clients file or a short
// secret is a usage error (exit status 2) naming the line.
func TestRadiusClientsFileIsCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TOKENLAB_HOME", dir)
	for _, c := range []struct {
		args []string
		file string
		want string
	}{
		{nil, "# ok\n127.0.0.1 " + radiusSecret + "\n10.0.0.1 too-short\n", "line 3: the secret is 9 characters, at least 16"},
		{nil, "127.0.0.1\n", "line 1: want ADDRESS-OR-CIDR SECRET"},
		{nil, "localhost " + radiusSecret + "\n", `line 1: "localhost" is neither`},
		{[]string{"--radius-clients", "/nonexistent/clients"}, "", "--radius-clients"},
		{[]string{"--radius", "127.0.0.1:0"}, "", "--radius needs --radius-clients"},
	} {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--virtual-clock"}
		if c.file != "" {
			f := filepath.Join(dir, "clients")
			os.WriteFile(f, []byte(c.file), 0o600)
			args = append(args, "--radius", "127.0.0.1:0", "--radius-clients", f)
		}
		args = append(args, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, %s; want 2 and %q", c.file, code, stderr, c.want)
		}
		if strings.Contains(stderr, "too-short") || strings.Contains(stderr, radiusSecret) {
			t.Errorf("the error quotes a secret: %s", stderr)
		}
	}
}

// TestBenchRadius: bench --server radius://… runs the load over HTTP and
// then over RADIUS on the same server, every answer checked.
func TestBenchRadius(t *testing.T) {
	srv, vclk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "bench-admin-credential-01234567", VirtualClock: vclk}))
	defer hs.Close()
	cs, _ := tlradius.ParseClientsBytes([]byte("127.0.0.1 " + radiusSecret))
	rs, err := tlradius.New(tlradius.Config{Service: srv, Clients: cs})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go rs.Serve(conn)
	defer rs.Close()
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "bench-admin-credential-01234567")
	code, out, errOut := runCLI(t, "bench", "--server", "radius://"+radiusSecret+"@"+conn.LocalAddr().String(), "--api", hs.URL,
		"--duration", "500ms", "--tokens", "10", "--concurrency", "4", "--benchtime", "20ms", "--json")
	if code != 0 {
		t.Fatalf("bench: %d %s", code, errOut)
	}
	var got struct {
		Load, RadiusLoad *struct {
			Verifications          int
			VerificationsPS        float64 `json:"verifications_per_s"`
			Fresh, Wrong, Replayed int
		}
	}
	got.Load, got.RadiusLoad = nil, nil
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	json.Unmarshal(raw["load"], &got.Load)
	json.Unmarshal(raw["radius_load"], &got.RadiusLoad)
	if got.Load == nil || got.RadiusLoad == nil || got.RadiusLoad.Verifications < 10 || got.RadiusLoad.VerificationsPS <= 0 || got.RadiusLoad.Fresh == 0 {
		t.Fatalf("%s", out)
	}
	if rs.Count(tlradius.Accepted) != uint64(got.RadiusLoad.Fresh) {
		t.Fatalf("the listener accepted %d, the load test sent %d fresh codes", rs.Count(tlradius.Accepted), got.RadiusLoad.Fresh)
	}
	for _, bad := range []string{"radius://127.0.0.1:1812", "radius://secret@127.0.0.1"} {
		if code, _, _ := runCLI(t, "bench", "--server", bad, "--benchtime", "1ms"); code != 2 {
			t.Errorf("%s: exit %d, want 2", bad, code)
		}
	}
}

// TestServeRadiusPolicyFlags: --radius-password-and-code takes the password
// followed by the code; --no-next-code-challenge refuses a far code.
func TestServeRadiusPolicyFlags(t *testing.T) {
	rc := requireRadclient(t)
	rs := startRadiusServe(t, buildBinary(t), "--radius-password-and-code", "--no-next-code-challenge")
	pol, err := rs.c.Policy(context.Background())
	if err != nil || !pol.RadiusPasswordAndCode || !pol.NoNextCodeChallenge {
		t.Fatalf("%+v %v", pol, err)
	}
	tk := rs.activeToken(t, "pwuser")
	req := func(pass string) []string {
		return []string{"User-Name = " + tk.user, fmt.Sprintf("User-Password = %q", pass), "Message-Authenticator = 0x00"}
	}
	mustReceive(t, rs.radclient(t, rc, req(rs.code(t, tk, 0))...), "Access-Reject", catalogue(t, server.CodeCredentialsInvalid, pol))
	mustReceive(t, rs.radclient(t, rc, req("long enough password"+rs.code(t, tk, 0))...), "Access-Accept", "")
	mustReceive(t, rs.radclient(t, rc, req("long enough password"+rs.code(t, tk, 10))...), "Access-Reject", catalogue(t, server.CodeOTPInvalid, pol))
}
