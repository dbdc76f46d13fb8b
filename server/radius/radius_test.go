package radius_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/servertest"
)

const secret = "a-shared-secret-of-some-length"

var admin = server.AsAdmin("radius-test")

type fixture struct {
	t    *testing.T
	ctx  context.Context
	srv  *server.Server
	clk  *server.VirtualClock
	rs   *tlradius.Server
	addr string
	now  atomic.Int64 // the retransmission cache's clock, in ns
	n    int
	conn net.Conn // one source port, as a NAS retransmits from
	reg  *prometheus.Registry
}

func newFixture(t *testing.T, pol server.Policy) *fixture {
	t.Helper()
	srv, clk := servertest.New(t, pol)
	f := &fixture{t: t, ctx: context.Background(), srv: srv, clk: clk}
	f.now.Store(time.Now().UnixNano())
	cs, err := tlradius.ParseClientsBytes([]byte("127.0.0.1 " + secret + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.reg = prometheus.NewRegistry()
	f.rs, err = tlradius.New(tlradius.Config{Service: srv, Clients: cs, Registry: f.reg, Now: func() time.Time { return time.Unix(0, f.now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = conn.LocalAddr().String()
	if f.conn, err = net.Dial("udp", f.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.conn.Close() })
	done := make(chan error, 1)
	go func() { done <- f.rs.Serve(conn) }()
	t.Cleanup(func() {
		f.rs.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return f
}

// token is a user with an active token and its generator.
type token struct {
	user, serial string
	gen          *oath.Generator
}

func (f *fixture) activeToken() token {
	f.t.Helper()
	f.n++
	sec := make([]byte, 20)
	rand.Read(sec)
	gen, err := oath.NewGenerator(sec, oath.SHA1, 8)
	if err != nil {
		f.t.Fatal(err)
	}
	tk := token{user: fmt.Sprintf("radius%d", f.n), serial: fmt.Sprintf("RAD%08d", f.n), gen: gen}
	if _, err := f.srv.ImportSeedFile(f.ctx, admin, fmt.Appendf(nil, "%s, %x, TOTP, 8, 30\n", tk.serial, sec), server.ImportOptions{Format: "csv"}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.srv.CreateAccount(f.ctx, admin, server.NewAccount{UserID: tk.user, Email: tk.user + "@example.com", FirstName: "Ada", LastName: "Lovelace", Password: "correct horse battery"}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.srv.Sponsor(f.ctx, admin, server.Sponsorship{UserID: tk.user, Serial: tk.serial}); err != nil {
		f.t.Fatal(err)
	}
	s := f.step()
	if _, err := f.srv.Activate(f.ctx, tk.user, tk.serial, gen.Code(uint64(s-1)), gen.Code(uint64(s))); err != nil {
		f.t.Fatal(err)
	}
	f.clk.Step(30 * time.Second)
	return tk
}

func (f *fixture) step() int64 { return f.clk.Now().Unix() / 30 }

func (tk token) code(step int64) string { return tk.gen.Code(uint64(step)) }

// request is a signed Access-Request.
func (f *fixture) request(user, password string) *radius.Packet {
	f.t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	rfc2865.UserName_SetString(p, user)
	rfc2865.UserPassword_SetString(p, password)
	if err := tlradius.SignRequest(p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// exchange sends p once over UDP and returns the raw answer, or nil after
// wait without one.
func (f *fixture) exchange(p *radius.Packet, wait time.Duration) []byte {
	f.t.Helper()
	b, err := p.Encode()
	if err != nil {
		f.t.Fatal(err)
	}
	return f.send(b, wait)
}

func (f *fixture) send(b []byte, wait time.Duration) []byte {
	f.t.Helper()
	conn := f.conn
	if _, err := conn.Write(b); err != nil {
		f.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// answer sends p with the library's client and checks the response's
// authenticators.
func (f *fixture) answer(p *radius.Packet) *radius.Packet {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	resp, err := radius.Exchange(ctx, p, f.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := resp.MarshalBinary()
	if err != nil {
		f.t.Fatal(err)
	}
	if !tlradius.ValidResponse(b, p.Authenticator, []byte(secret)) {
		f.t.Fatalf("response without a valid Message-Authenticator: % x", b)
	}
	return resp
}

func (f *fixture) expectReject(resp *radius.Packet, code server.Code) {
	f.t.Helper()
	if resp.Code != radius.CodeAccessReject {
		f.t.Fatalf("got %v, want Access-Reject", resp.Code)
	}
	pol, _ := f.srv.Policy(f.ctx)
	r := strings.NewReplacer("{operator}", pol.OperatorName, "{portal}", pol.PortalName, "{maxphones}", fmt.Sprint(pol.MaxPhones))
	want := ""
	for _, e := range server.Catalogue {
		if e.Code == code {
			want = r.Replace(e.Message)
		}
	}
	if got := replyMessage(resp); got != want {
		f.t.Fatalf("Reply-Message %q, want %q (%s)", got, want, code)
	}
}

// replyMessage is the packet's Reply-Messages, joined.
func replyMessage(p *radius.Packet) string {
	ms, _ := rfc2865.ReplyMessage_GetStrings(p)
	return strings.Join(ms, "")
}

func TestAcceptRejectReplayAndLock(t *testing.T) {
	f := newFixture(t, server.Policy{})
	tk := f.activeToken()
	code := tk.code(f.step())
	if resp := f.answer(f.request(tk.user, code)); resp.Code != radius.CodeAccessAccept {
		t.Fatalf("fresh code: %v %q", resp.Code, rfc2865.ReplyMessage_GetString(resp))
	}
	// The same code in a new request (new identifier and authenticator) is
	// a replay.
	f.expectReject(f.answer(f.request(tk.user, code)), server.CodeOTPReplayed)
	if got := f.rs.Count(tlradius.Accepted); got != 1 {
		t.Fatalf("accepts counted %d", got)
	}
	// Wrong codes lock the token; the locked token's refusal is the
	// catalogue's.
	for range 5 {
		f.expectReject(f.answer(f.request(tk.user, "00000000")), server.CodeOTPInvalid)
	}
	f.clk.Step(30 * time.Second)
	f.expectReject(f.answer(f.request(tk.user, tk.code(f.step()))), server.CodeTokenLocked)
	v, err := f.srv.Token(f.ctx, tk.serial)
	if err != nil || v.SubStatus != "locked" {
		t.Fatalf("%+v %v", v, err)
	}
}

func TestUnknownUserAndMissingPassword(t *testing.T) {
	f := newFixture(t, server.Policy{})
	resp := f.answer(f.request("nobody", "12345678"))
	if resp.Code != radius.CodeAccessReject || rfc2865.ReplyMessage_GetString(resp) == "" {
		t.Fatalf("%v %q", resp.Code, rfc2865.ReplyMessage_GetString(resp))
	}
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	rfc2865.UserName_SetString(p, "nobody")
	tlradius.SignRequest(p)
	f.expectReject(f.answer(p), server.CodeBadRequest)
}

func TestRequestsWithoutAValidMessageAuthenticatorAreDropped(t *testing.T) {
	f := newFixture(t, server.Policy{})
	tk := f.activeToken()
	code := tk.code(f.step())

	// No Message-Authenticator.
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	rfc2865.UserName_SetString(p, tk.user)
	rfc2865.UserPassword_SetString(p, code)
	if b := f.exchange(p, 300*time.Millisecond); b != nil {
		t.Fatalf("answered a request without Message-Authenticator: % x", b)
	}
	// A wrong secret.
	p = radius.New(radius.CodeAccessRequest, []byte("another-secret-of-some-length"))
	rfc2865.UserName_SetString(p, tk.user)
	rfc2865.UserPassword_SetString(p, code)
	tlradius.SignRequest(p)
	if b := f.exchange(p, 300*time.Millisecond); b != nil {
		t.Fatalf("answered a request with a wrong secret")
	}
	// A tampered one.
	p = f.request(tk.user, code)
	b, _ := p.Encode()
	b[len(b)-1] ^= 1
	if f.send(b, 300*time.Millisecond) != nil {
		t.Fatalf("answered a request with a wrong Message-Authenticator")
	}
	if got := f.rs.Count(tlradius.DropNoAuth); got != 3 {
		t.Fatalf("drops counted %d, want 3", got)
	}
	// None was verified: the code is still fresh.
	if resp := f.answer(f.request(tk.user, code)); resp.Code != radius.CodeAccessAccept {
		t.Fatalf("the code was used by a dropped request: %q", rfc2865.ReplyMessage_GetString(resp))
	}
}

func TestUnknownClientIsDropped(t *testing.T) {
	srv, _ := servertest.New(t, server.Policy{})
	cs, _ := tlradius.ParseClientsBytes([]byte("10.0.0.0/8 " + secret))
	rs, err := tlradius.New(tlradius.Config{Service: srv, Clients: cs})
	if err != nil {
		t.Fatal(err)
	}
	p := radius.New(radius.CodeStatusServer, []byte(secret))
	tlradius.SignRequest(p)
	b, _ := p.Encode()
	if rs.Handle(context.Background(), netip.MustParseAddrPort("127.0.0.1:5000"), b) != nil {
		t.Fatal("answered an unknown client")
	}
	if rs.Handle(context.Background(), netip.MustParseAddrPort("10.1.2.3:5000"), b) == nil {
		t.Fatal("no answer to a known client")
	}
	if rs.Count(tlradius.DropUnknownClient) != 1 || rs.Count(tlradius.StatusAnswer) != 1 {
		t.Fatal("not counted")
	}
}

func TestRetransmissionGetsTheCachedAnswer(t *testing.T) {
	f := newFixture(t, server.Policy{})
	tk := f.activeToken()
	p := f.request(tk.user, tk.code(f.step()))
	first := f.exchange(p, 5*time.Second)
	if first == nil || radius.Code(first[0]) != radius.CodeAccessAccept {
		t.Fatalf("first: % x", first)
	}
	again := f.exchange(p, 5*time.Second)
	if string(again) != string(first) {
		t.Fatalf("retransmission answered differently:\n% x\n% x", again, first)
	}
	if f.rs.Count(tlradius.Retransmitted) != 1 || f.rs.Count(tlradius.Accepted) != 1 {
		t.Fatal("the retransmission was verified again")
	}
	// After the window the same packet is a new request: a replay.
	f.now.Add(int64(tlradius.DefaultRetransmitWindow + time.Second))
	resp, err := radius.Parse(f.exchange(p, 5*time.Second), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	f.expectReject(resp, server.CodeOTPReplayed)
}

func TestStatusServer(t *testing.T) {
	f := newFixture(t, server.Policy{})
	p := radius.New(radius.CodeStatusServer, []byte(secret))
	tlradius.SignRequest(p)
	if resp := f.answer(p); resp.Code != radius.CodeAccessAccept {
		t.Fatalf("%v", resp.Code)
	}
	// Without a Message-Authenticator, nothing (RFC 5997 requires one).
	p = radius.New(radius.CodeStatusServer, []byte(secret))
	if f.exchange(p, 300*time.Millisecond) != nil {
		t.Fatal("answered an unsigned Status-Server")
	}
}

// TestNextCodeChallenge: a token ten steps fast gets an Access-Challenge;
// the next code with the challenge's State is accepted.
func TestNextCodeChallenge(t *testing.T) {
	f := newFixture(t, server.Policy{})
	tk := f.activeToken()
	resp := f.answer(f.request(tk.user, tk.code(f.step()+10)))
	if resp.Code != radius.CodeAccessChallenge || replyMessage(resp) != server.NextCodeMessage {
		t.Fatalf("%v %q", resp.Code, replyMessage(resp))
	}
	state := rfc2865.State_Get(resp)
	if len(state) == 0 {
		t.Fatal("no State")
	}
	f.clk.Step(30 * time.Second)
	p := f.request(tk.user, tk.code(f.step()+10))
	rfc2865.State_Set(p, state)
	tlradius.SignRequest(p)
	if resp := f.answer(p); resp.Code != radius.CodeAccessAccept {
		t.Fatalf("next code: %v %q", resp.Code, replyMessage(resp))
	}
	v, err := f.srv.Token(f.ctx, tk.serial)
	if err != nil || v.DriftSteps != 10 {
		t.Fatalf("%+v %v", v, err)
	}

	// A wrong answer is a wrong code.
	f.clk.Step(30 * time.Second)
	resp = f.answer(f.request(tk.user, tk.code(f.step()+30)))
	if resp.Code != radius.CodeAccessChallenge {
		t.Fatalf("%v", resp.Code)
	}
	p = f.request(tk.user, tk.code(f.step()+30))
	rfc2865.State_Set(p, rfc2865.State_Get(resp))
	tlradius.SignRequest(p)
	f.expectReject(f.answer(p), server.CodeOTPInvalid)
	if f.rs.Count(tlradius.Challenged) != 2 {
		t.Fatal("challenges not counted")
	}
}

// TestMetricsAndAudit: the requests and their outcomes are in the metrics,
// by client entry, and in the audit log with the client's address; never
// the code.
func TestMetricsAndAudit(t *testing.T) {
	f := newFixture(t, server.Policy{})
	tk := f.activeToken()
	code := tk.code(f.step())
	f.answer(f.request(tk.user, code))
	f.answer(f.request(tk.user, code))
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	rfc2865.UserName_SetString(p, tk.user)
	f.exchange(p, 200*time.Millisecond)
	for _, c := range []struct {
		kind, outcome string
		want          float64
	}{
		{"access", "accept", 1},
		{"access", "reject", 1},
		{"access", "drop_message_authenticator", 1},
	} {
		got := counter(t, f.reg, "tokenlab_radius_requests_total", map[string]string{"client": "127.0.0.1/32", "kind": c.kind, "outcome": c.outcome})
		if got != c.want {
			t.Errorf("%s %s: %v, want %v", c.kind, c.outcome, got, c.want)
		}
	}
	es, err := f.srv.Audit(f.ctx, tk.user, 0)
	if err != nil {
		t.Fatal(err)
	}
	var via int
	for _, e := range es {
		if strings.Contains(e.Detail, code) || strings.Contains(e.Outcome, code) {
			t.Fatalf("the code is in the audit log: %+v", e)
		}
		if e.Action == "token.verify" && strings.HasPrefix(e.Detail, "via radius 127.0.0.1:") {
			via++
		}
	}
	if via != 2 {
		t.Fatalf("%d audit entries name the RADIUS client, want 2: %+v", via, es)
	}
}

// counter is a counter's value, by name and labels, in a registry (0 when
// it has none).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := len(m.GetLabel()) == len(labels)
			for _, l := range m.GetLabel() {
				ok = ok && labels[l.GetName()] == l.GetValue()
			}
			if ok {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestPasswordAndCode: under the policy, User-Password is the password
// followed by the code.
func TestPasswordAndCode(t *testing.T) {
	f := newFixture(t, server.Policy{RadiusPasswordAndCode: true})
	tk := f.activeToken()
	code := tk.code(f.step())
	f.expectReject(f.answer(f.request(tk.user, code)), server.CodeCredentialsInvalid)
	if resp := f.answer(f.request(tk.user, "correct horse battery"+code)); resp.Code != radius.CodeAccessAccept {
		t.Fatalf("%v %q", resp.Code, replyMessage(resp))
	}
}
