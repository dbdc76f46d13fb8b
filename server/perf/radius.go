package perf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tokenlab/tokenlab/server"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
)

// RadiusVerifier is a LoadOptions.Verify that sends each verification as a
// RADIUS Access-Request (PAP, with a Message-Authenticator) to addr with the
// shared secret, and checks the answer's authenticators: Access-Accept is
// success, Access-Reject the refusal whose catalogue message (for the
// server's policy pol) is its Reply-Message. Anything else is an error.
func RadiusVerifier(addr string, secret []byte, pol server.Policy) func(ctx context.Context, userID, otp string) error {
	codes := map[string]server.Code{}
	for c, m := range pol.Messages() {
		codes[m] = c
	}
	// Connected sockets, reused: a socket per request would measure the
	// load generator's system calls more than the server.
	var pool sync.Pool
	return func(ctx context.Context, userID, otp string) error {
		p := radius.New(radius.CodeAccessRequest, secret)
		rfc2865.UserName_SetString(p, userID)
		rfc2865.UserPassword_SetString(p, otp)
		if err := tlradius.SignRequest(p); err != nil {
			return err
		}
		wire, err := p.Encode()
		if err != nil {
			return err
		}
		conn, _ := pool.Get().(net.Conn)
		if conn == nil {
			if conn, err = net.Dial("udp", addr); err != nil {
				return fmt.Errorf("radius: %w", err)
			}
		}
		resp, b, err := exchange(ctx, conn, wire, p)
		if err != nil {
			conn.Close()
			return err
		}
		pool.Put(conn)
		if !tlradius.ValidResponse(b, p.Authenticator, secret) {
			return fmt.Errorf("radius: an answer without a valid Message-Authenticator")
		}
		switch resp.Code {
		case radius.CodeAccessAccept:
			return nil
		case radius.CodeAccessReject:
			ms, _ := rfc2865.ReplyMessage_GetStrings(resp)
			msg := ""
			for _, m := range ms {
				msg += m
			}
			if c, ok := codes[msg]; ok {
				return &server.Error{Code: c, Message: msg}
			}
			return fmt.Errorf("radius: Access-Reject with an unknown Reply-Message %q", msg)
		}
		return fmt.Errorf("radius: unexpected %v", resp.Code)
	}
}

// exchange sends wire on conn and waits for its answer, sending it again
// every second (a retransmission the server answers from its cache) for at
// most 10 s. Answers to earlier requests on the socket are skipped.
func exchange(ctx context.Context, conn net.Conn, wire []byte, req *radius.Packet) (*radius.Packet, []byte, error) {
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, radius.MaxPacketLength)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := conn.Write(wire); err != nil {
			return nil, nil, fmt.Errorf("radius: %w", err)
		}
		next := time.Now().Add(time.Second)
		if next.After(deadline) {
			next = deadline
		}
		conn.SetReadDeadline(next)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // send again
				}
				return nil, nil, fmt.Errorf("radius: %w", err)
			}
			if n < 20 || buf[1] != req.Identifier || !radius.IsAuthenticResponse(buf[:n], wire, req.Secret) {
				continue // an earlier request's answer
			}
			resp, err := radius.Parse(buf[:n], req.Secret)
			if err != nil {
				return nil, nil, fmt.Errorf("radius: %w", err)
			}
			return resp, append([]byte(nil), buf[:n]...), nil
		}
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	return nil, nil, errors.New("radius: no answer in 10 s")
}
