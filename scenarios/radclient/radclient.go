// Package radclient is the RADIUS client tokenlab uses against a server it
// did not write: PAP Access-Requests (RFC 2865) signed with a
// Message-Authenticator (RFC 3579), the Access-Challenge of the next-code
// flow followed with its State, and the raw sends the probe needs (a request
// without a Message-Authenticator, a retransmission of the same packet).
//
// It reads answers the way a NAS does: Access-Accept, Access-Reject or
// Access-Challenge, with the Reply-Message text joined. A response's
// Message-Authenticator is checked when present; whether it was present is
// reported, since older servers omit it.
package radclient

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	tlradius "github.com/tokenlab/tokenlab/server/radius"
)

const typeMessageAuthenticator radius.Type = 80

// ErrNoAnswer is a request the server did not answer within the timeout:
// dropped (an unknown client, a bad authenticator) or lost.
var ErrNoAnswer = errors.New("radius: no answer")

// Client sends Access-Requests to one server. The zero Timeout is 3 s, sent
// once (Retries 0 means no retransmission).
type Client struct {
	// Addr is the server's UDP address, host:port.
	Addr string
	// Secret is the shared secret.
	Secret []byte
	// Timeout is how long one send waits for its answer (default 3 s).
	Timeout time.Duration
	// Retries is how many times a request is sent again, the same packet,
	// when no answer came within Timeout.
	Retries int
}

// Parse reads radius://SECRET@HOST:PORT. The secret may be percent-encoded.
func Parse(s string) (*Client, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "radius" || u.User == nil || u.User.Username() == "" || u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("radius target %q: want radius://SECRET@HOST:PORT (the shared secret, the host and the UDP port)", redact(s))
	}
	return &Client{Addr: u.Host, Secret: []byte(u.User.Username())}, nil
}

// redact hides the secret of a radius:// URL for messages.
func redact(s string) string {
	if i := strings.Index(s, "@"); i >= 0 && strings.HasPrefix(s, "radius://") {
		return "radius://…" + s[i:]
	}
	return s
}

// String is the target without its secret.
func (c *Client) String() string { return "radius://…@" + c.Addr }

// Answer is the server's response to one request.
type Answer struct {
	Code radius.Code
	// ReplyMessage is the Reply-Message attributes joined.
	ReplyMessage string
	// State is the Access-Challenge's State, to send back with the answer.
	State []byte
	// SignedResponse: the response carried a (valid) Message-Authenticator.
	SignedResponse bool
	// Latency is from the last send to the answer.
	Latency time.Duration
}

// Accepted reports an Access-Accept.
func (a Answer) Accepted() bool { return a.Code == radius.CodeAccessAccept }

// Challenged reports an Access-Challenge.
func (a Answer) Challenged() bool { return a.Code == radius.CodeAccessChallenge }

// Request is one Access-Request as the probe may shape it.
type Request struct {
	User, Password string
	// State answers an Access-Challenge.
	State []byte
	// Unsigned leaves the Message-Authenticator out (BlastRADIUS probing).
	Unsigned bool
}

// Login sends user's password (a code, or password and code) and returns the
// answer; an Access-Challenge is returned as it is, for the caller to answer
// with Respond.
func (c *Client) Login(ctx context.Context, user, password string) (Answer, error) {
	return c.Do(ctx, Request{User: user, Password: password})
}

// Respond answers an Access-Challenge with the next code.
func (c *Client) Respond(ctx context.Context, user, password string, state []byte) (Answer, error) {
	return c.Do(ctx, Request{User: user, Password: password, State: state})
}

// Do sends one request, retransmitting the same packet up to Retries times.
func (c *Client) Do(ctx context.Context, r Request) (Answer, error) {
	wire, p, err := c.Packet(r)
	if err != nil {
		return Answer{}, err
	}
	conn, err := net.Dial("udp", c.Addr)
	if err != nil {
		return Answer{}, fmt.Errorf("radius %s: %w", c.Addr, err)
	}
	defer conn.Close()
	var last error
	for range c.Retries + 1 {
		a, err := c.Exchange(ctx, conn, wire, p)
		if err == nil || !errors.Is(err, ErrNoAnswer) {
			return a, err
		}
		last = err
	}
	return Answer{}, last
}

// Packet encodes a request: its bytes, and the packet for reading the
// answer. Sending the same bytes twice is a retransmission.
func (c *Client) Packet(r Request) ([]byte, *radius.Packet, error) {
	p := radius.New(radius.CodeAccessRequest, c.Secret)
	if err := rfc2865.UserName_SetString(p, r.User); err != nil {
		return nil, nil, err
	}
	if err := rfc2865.UserPassword_SetString(p, r.Password); err != nil {
		return nil, nil, fmt.Errorf("radius: the password does not fit a User-Password: %w", err)
	}
	if err := rfc2865.NASIdentifier_SetString(p, "tokenlab"); err != nil {
		return nil, nil, err
	}
	if r.State != nil {
		if err := rfc2865.State_Set(p, r.State); err != nil {
			return nil, nil, err
		}
	}
	if !r.Unsigned {
		if err := tlradius.SignRequest(p); err != nil {
			return nil, nil, err
		}
	}
	wire, err := p.Encode()
	if err != nil {
		return nil, nil, err
	}
	return wire, p, nil
}

// Exchange sends wire once on conn and reads the answer to it, skipping
// answers to other requests, for at most the client's Timeout.
func (c *Client) Exchange(ctx context.Context, conn net.Conn, wire []byte, req *radius.Packet) (Answer, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	start := time.Now()
	if _, err := conn.Write(wire); err != nil {
		return Answer{}, fmt.Errorf("radius %s: %w", c.Addr, err)
	}
	deadline := start.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, radius.MaxPacketLength)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ctx.Err() != nil {
					return Answer{}, ctx.Err()
				}
				return Answer{}, fmt.Errorf("%w from %s in %v", ErrNoAnswer, c.Addr, timeout)
			}
			return Answer{}, fmt.Errorf("radius %s: %w", c.Addr, err)
		}
		b := buf[:n]
		if n < 20 || b[1] != req.Identifier || !radius.IsAuthenticResponse(b, wire, c.Secret) {
			continue // not the answer to this request
		}
		resp, err := radius.Parse(b, c.Secret)
		if err != nil {
			return Answer{}, fmt.Errorf("radius %s: a malformed answer: %w", c.Addr, err)
		}
		a := Answer{Code: resp.Code, Latency: time.Since(start)}
		if ma := resp.Get(typeMessageAuthenticator); ma != nil {
			if !validResponseMAC(b, req.Authenticator, c.Secret) {
				return Answer{}, fmt.Errorf("radius %s: an answer with a wrong Message-Authenticator (is the secret right?)", c.Addr)
			}
			a.SignedResponse = true
		}
		ms, _ := rfc2865.ReplyMessage_GetStrings(resp)
		a.ReplyMessage = strings.Join(ms, "")
		a.State = rfc2865.State_Get(resp)
		switch resp.Code {
		case radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge:
			return a, nil
		}
		return a, fmt.Errorf("radius %s: unexpected %v", c.Addr, resp.Code)
	}
}

// validResponseMAC checks a response's Message-Authenticator: HMAC-MD5 over
// the response with the request's authenticator in place of its own and the
// attribute zeroed.
func validResponseMAC(resp []byte, reqAuth [16]byte, secret []byte) bool {
	z := append([]byte(nil), resp...)
	copy(z[4:20], reqAuth[:])
	var got []byte
	for i := 20; i+2 <= len(z); {
		l := int(z[i+1])
		if l < 2 || i+l > len(z) {
			return false
		}
		if radius.Type(z[i]) == typeMessageAuthenticator && l == 18 {
			got = append([]byte(nil), z[i+2:i+18]...)
			clear(z[i+2 : i+18])
		}
		i += l
	}
	if got == nil {
		return false
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(z)
	return hmac.Equal(mac.Sum(nil), got)
}
