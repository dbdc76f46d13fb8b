// Package radius is the verification server's RADIUS listener (RFC 2865,
// PAP): an Access-Request's User-Name is the user ID and its User-Password
// the code; the answer is the lifecycle's decision, Access-Accept or
// Access-Reject whose Reply-Message is the refusal's catalogue message.
//
// Packets are decoded and encoded by layeh.com/radius. This package adds
// what the field now expects of a server: a Message-Authenticator (RFC 3579)
// required on every request and added to every response (the BlastRADIUS
// mitigation, CVE-2024-3596), a retransmission cache (RFC 5080: a
// retransmitted request gets the cached answer and is never verified twice)
// and Status-Server (RFC 5997). A request from an unknown address, without a
// valid Message-Authenticator or malformed is dropped and counted, never
// answered.
package radius

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tokenlab/tokenlab/server"
)

// Verifier is what the listener asks: server.Service's Verify.
type Verifier interface {
	Verify(ctx context.Context, userID, otp string) (server.Verification, error)
}

// Challenger is a service with the next-code challenge (*server.Server):
// with it, a code outside the login window but inside the sync window gets
// an Access-Challenge whose State the next code's request carries back.
type Challenger interface {
	VerifyOrChallenge(ctx context.Context, userID, otp string) (server.Verification, *server.Challenge, error)
	AnswerChallenge(ctx context.Context, userID, challengeID, otp string) (server.Verification, error)
}

// passwordAndCoder is a service that checks the account's password followed
// by the code (*server.Server, under the policy's RadiusPasswordAndCode).
type passwordAndCoder interface {
	Policy(ctx context.Context) (server.Policy, error)
	VerifyPasswordAndCode(ctx context.Context, userID, passwordAndCode string) (server.Verification, *server.Challenge, error)
}

// DefaultRetransmitWindow is how long an answer is kept for retransmissions.
const DefaultRetransmitWindow = 5 * time.Second

// Config is what a Server needs. Service and Clients are required.
type Config struct {
	Service Verifier
	Clients []Client
	// RetransmitWindow is how long an answer is kept for a retransmission
	// (default DefaultRetransmitWindow).
	RetransmitWindow time.Duration
	// Now is the time the retransmission cache keeps (default time.Now):
	// wall time, not the verification server's possibly virtual clock.
	Now func() time.Time
	// Timeout bounds one verification (default 10 s).
	Timeout time.Duration
	// Observe, when set, is told of every request's outcome (logs). It is
	// never given the password or the code.
	Observe func(Event)
	// Registry, when set, receives the listener's metrics:
	// tokenlab_radius_requests_total{client,kind,outcome} and
	// tokenlab_radius_request_duration_seconds{kind}.
	Registry prometheus.Registerer
}

// Event is one request's outcome, as the listener reports it.
type Event struct {
	Client netip.AddrPort
	// ClientNet is the clients file's entry the request came from, or
	// "unknown".
	ClientNet string
	// Duration is how long the answer took (zero for a drop before any
	// work).
	Duration time.Duration
	Kind     string // "access", "status" or "" for a dropped packet
	User     string // the User-Name of an Access-Request
	Outcome  Outcome
	Code     server.Code // the refusal's code, for a reject
}

// Outcome is what became of a request.
type Outcome string

// The outcomes.
const (
	Accepted      Outcome = "accept"
	Rejected      Outcome = "reject"
	Challenged    Outcome = "challenge"
	StatusAnswer  Outcome = "status"
	Retransmitted Outcome = "retransmission"
	// Drops: never answered.
	DropUnknownClient Outcome = "drop_unknown_client"
	DropMalformed     Outcome = "drop_malformed"
	DropNoAuth        Outcome = "drop_message_authenticator"
	DropUnsupported   Outcome = "drop_unsupported"
	DropInFlight      Outcome = "drop_in_flight"
	DropInternal      Outcome = "drop_internal_error"
)

// Server is a RADIUS listener in front of a verification service. It is
// safe for concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	cache  map[cacheKey]*cacheEntry
	pruned time.Time // when pruneLocked last ran

	counts sync.Map // Outcome → *atomic.Uint64

	passwordAndCode passwordAndCoder // set when the policy says so

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	connMu sync.Mutex
	conn   net.PacketConn
	wg     sync.WaitGroup
	closed atomic.Bool
}

type cacheKey struct {
	from netip.AddrPort
	id   byte
	auth [16]byte
}

type cacheEntry struct {
	at   time.Time
	resp []byte // nil while the request is being answered
}

// New makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("radius: no service")
	}
	if len(cfg.Clients) == 0 {
		return nil, errors.New("radius: no clients")
	}
	if cfg.RetransmitWindow <= 0 {
		cfg.RetransmitWindow = DefaultRetransmitWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, cache: map[cacheKey]*cacheEntry{}}
	if pc, ok := cfg.Service.(passwordAndCoder); ok {
		if pol, err := pc.Policy(context.Background()); err == nil && pol.RadiusPasswordAndCode {
			s.passwordAndCode = pc
		}
	}
	if cfg.Registry != nil {
		s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenlab_radius_requests_total",
			Help: "RADIUS requests by client (its clients-file entry), kind (access, challenge_answer, status) and outcome (accept, reject, challenge, status, retransmission, or drop_…)."},
			[]string{"client", "kind", "outcome"})
		s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tokenlab_radius_request_duration_seconds",
			Help: "RADIUS answer latency by kind.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"kind"})
		if err := cfg.Registry.Register(s.requests); err != nil {
			return nil, err
		}
		if err := cfg.Registry.Register(s.latency); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Count is how many requests had the outcome.
func (s *Server) Count(o Outcome) uint64 {
	if v, ok := s.counts.Load(o); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

func (s *Server) count(ev Event) {
	v, ok := s.counts.Load(ev.Outcome)
	if !ok {
		v, _ = s.counts.LoadOrStore(ev.Outcome, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
	if s.requests != nil {
		s.requests.WithLabelValues(ev.ClientNet, ev.Kind, string(ev.Outcome)).Inc()
		if ev.Duration > 0 {
			s.latency.WithLabelValues(ev.Kind).Observe(ev.Duration.Seconds())
		}
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(ev)
	}
}

// maxInFlight bounds the requests answered at once.
const maxInFlight = 256

// Serve answers the requests that arrive on conn until Close. It returns
// nil after Close.
func (s *Server) Serve(conn net.PacketConn) error {
	s.connMu.Lock()
	s.conn = conn
	s.connMu.Unlock()
	if s.closed.Load() {
		conn.Close()
		return nil
	}
	sem := make(chan struct{}, maxInFlight)
	buf := make([]byte, radius.MaxPacketLength+1)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if s.closed.Load() {
				s.wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		from := ua.AddrPort()
		pkt := append([]byte(nil), buf[:n]...)
		sem <- struct{}{}
		s.wg.Go(func() {
			defer func() { <-sem }()
			if resp := s.Handle(context.Background(), from, pkt); resp != nil {
				conn.WriteTo(resp, addr)
			}
		})
	}
}

// ListenAndServe listens on the UDP address and serves.
func (s *Server) ListenAndServe(addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return s.Serve(conn)
}

// Close stops Serve; the requests being answered are finished first.
func (s *Server) Close() error {
	s.closed.Store(true)
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

// Handle answers one request packet from a client address: the response
// packet's bytes, or nil for a packet that is dropped.
func (s *Server) Handle(ctx context.Context, from netip.AddrPort, b []byte) []byte {
	began := time.Now()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	ev := Event{Client: from, ClientNet: "unknown"}
	cl, ok := lookup(s.cfg.Clients, from.Addr())
	if ok {
		ev.ClientNet = cl.Net.String()
	}
	if !ok {
		ev.Outcome = DropUnknownClient
		s.count(ev)
		return nil
	}
	req, err := radius.Parse(b, cl.Secret)
	if err != nil {
		ev.Outcome = DropMalformed
		s.count(ev)
		return nil
	}
	switch req.Code {
	case radius.CodeAccessRequest:
		ev.Kind = "access"
	case radius.CodeStatusServer:
		ev.Kind = "status"
	default:
		ev.Outcome = DropUnsupported
		s.count(ev)
		return nil
	}
	if !validRequestAuthenticator(b[:binary.BigEndian.Uint16(b[2:4])], cl.Secret) {
		ev.Outcome = DropNoAuth
		s.count(ev)
		return nil
	}

	key := cacheKey{from: from, id: req.Identifier, auth: req.Authenticator}
	now := s.cfg.Now()
	s.mu.Lock()
	if e, ok := s.cache[key]; ok && now.Sub(e.at) < s.cfg.RetransmitWindow {
		resp := e.resp
		s.mu.Unlock()
		if resp == nil {
			ev.Outcome = DropInFlight
			s.count(ev)
			return nil
		}
		ev.Outcome = Retransmitted
		s.count(ev)
		return resp
	}
	s.pruneLocked(now)
	e := &cacheEntry{at: now}
	s.cache[key] = e
	s.mu.Unlock()

	resp, ev := s.answer(ctx, req, ev)
	out, err := encode(resp)
	if err != nil {
		ev.Outcome = DropInternal
	}
	s.mu.Lock()
	if out == nil {
		delete(s.cache, key)
	} else {
		e.resp, e.at = out, s.cfg.Now()
	}
	s.mu.Unlock()
	ev.Duration = time.Since(began)
	s.count(ev)
	return out
}

// pruneLocked forgets the answers older than the window, at most twice a
// window: a scan per request would cost the whole cache each time.
func (s *Server) pruneLocked(now time.Time) {
	if now.Sub(s.pruned) < s.cfg.RetransmitWindow/2 && now.After(s.pruned) {
		return
	}
	s.pruned = now
	for k, e := range s.cache {
		if now.Sub(e.at) >= s.cfg.RetransmitWindow && e.resp != nil {
			delete(s.cache, k)
		}
	}
}

// answer decides a request's response.
func (s *Server) answer(ctx context.Context, req *radius.Packet, ev Event) (*radius.Packet, Event) {
	if req.Code == radius.CodeStatusServer {
		ev.Outcome = StatusAnswer
		return req.Response(radius.CodeAccessAccept), ev
	}
	user, err := rfc2865.UserName_LookupString(req)
	if err != nil || user == "" {
		ev.Outcome, ev.Code = Rejected, server.CodeBadRequest
		return reject(req, catalogue(server.CodeBadRequest, "User-Name is required")), ev
	}
	ev.User = user
	otp, err := rfc2865.UserPassword_LookupString(req)
	if err != nil {
		ev.Outcome, ev.Code = Rejected, server.CodeBadRequest
		return reject(req, catalogue(server.CodeBadRequest, "User-Password (PAP) is required")), ev
	}
	ctx, cancel := context.WithTimeout(server.WithOrigin(ctx, "radius "+ev.Client.String()), s.cfg.Timeout)
	defer cancel()
	var ch *server.Challenge
	if c, ok := s.cfg.Service.(Challenger); ok {
		if state, serr := rfc2865.State_Lookup(req); serr == nil {
			ev.Kind = "challenge_answer"
			_, err = c.AnswerChallenge(ctx, user, string(state), otp)
		} else if s.passwordAndCode != nil {
			_, ch, err = s.passwordAndCode.VerifyPasswordAndCode(ctx, user, otp)
		} else {
			_, ch, err = c.VerifyOrChallenge(ctx, user, otp)
		}
	} else {
		_, err = s.cfg.Service.Verify(ctx, user, otp)
	}
	if err == nil && ch != nil {
		ev.Outcome = Challenged
		resp := req.Response(radius.CodeAccessChallenge)
		rfc2865.State_Set(resp, []byte(ch.ID))
		addReplyMessage(resp, server.NextCodeMessage)
		return resp, ev
	}
	if err == nil {
		ev.Outcome = Accepted
		return req.Response(radius.CodeAccessAccept), ev
	}
	var se *server.Error
	if !errors.As(err, &se) {
		// An internal error (the store) has no answer: the NAS retries or
		// fails over, as it would with a server that is down.
		ev.Outcome = DropInternal
		return nil, ev
	}
	ev.Outcome, ev.Code = Rejected, se.Code
	return reject(req, se.Message), ev
}

func catalogue(c server.Code, fallback string) string {
	for _, e := range server.Catalogue {
		if e.Code == c {
			return e.Message
		}
	}
	return fallback
}

func reject(req *radius.Packet, msg string) *radius.Packet {
	resp := req.Response(radius.CodeAccessReject)
	addReplyMessage(resp, msg)
	return resp
}

// addReplyMessage adds msg as Reply-Message attributes: one per 253 bytes,
// cut between UTF-8 characters, which a NAS shows one after another (RFC
// 2865 §5.18).
func addReplyMessage(p *radius.Packet, msg string) {
	for msg != "" {
		n := min(len(msg), 253)
		for n < len(msg) && n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		rfc2865.ReplyMessage_AddString(p, msg[:n])
		msg = msg[n:]
	}
}

// typeMessageAuthenticator is RFC 3579's Message-Authenticator.
const typeMessageAuthenticator = 80

// encode is the response's bytes, with a Message-Authenticator (RFC 3579
// §3.2: the HMAC-MD5 of the response, with the request's authenticator in
// its header and the attribute zeroed) before the response authenticator.
func encode(resp *radius.Packet) ([]byte, error) {
	if resp == nil {
		return nil, nil
	}
	resp.Del(typeMessageAuthenticator)
	// First, so that its offset is known.
	resp.Attributes = append(radius.Attributes{{Type: typeMessageAuthenticator, Attribute: make([]byte, 16)}}, resp.Attributes...)
	b, err := resp.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, resp.Secret)
	mac.Write(b)
	resp.Attributes[0].Attribute = mac.Sum(nil)
	return resp.Encode()
}

// validRequestAuthenticator reports whether the request holds exactly one
// Message-Authenticator and it is the HMAC-MD5 of the packet with the
// attribute zeroed, under the client's secret (RFC 3579 §3.2). A wrong
// secret fails here too.
func validRequestAuthenticator(b, secret []byte) bool {
	off := -1
	for i := 20; i+2 <= len(b); {
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			return false
		}
		if b[i] == typeMessageAuthenticator {
			if off >= 0 || l != 18 {
				return false
			}
			off = i + 2
		}
		i += l
	}
	if off < 0 {
		return false
	}
	got := append([]byte(nil), b[off:off+16]...)
	z := append([]byte(nil), b...)
	clear(z[off : off+16])
	mac := hmac.New(md5.New, secret)
	mac.Write(z)
	return hmac.Equal(mac.Sum(nil), got)
}

// SignRequest adds a Message-Authenticator to a request that has all its
// other attributes (a client's side of RFC 3579; the tests and the load test
// use it with the library's client).
func SignRequest(p *radius.Packet) error {
	p.Del(typeMessageAuthenticator)
	p.Attributes = append(p.Attributes, &radius.AVP{Type: typeMessageAuthenticator, Attribute: make([]byte, 16)})
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	p.Attributes[len(p.Attributes)-1].Attribute = mac.Sum(nil)
	return nil
}

// ValidResponse reports whether resp (bytes) is an authentic answer to the
// request authenticator reqAuth under secret, Message-Authenticator
// included.
func ValidResponse(resp []byte, reqAuth [16]byte, secret []byte) bool {
	if len(resp) < 20 {
		return false
	}
	var req [20]byte
	copy(req[4:], reqAuth[:])
	if !radius.IsAuthenticResponse(resp, req[:], secret) {
		return false
	}
	z := append([]byte(nil), resp...)
	copy(z[4:20], reqAuth[:])
	return validRequestAuthenticator(z, secret)
}
