package perf

import (
	"context"
	"fmt"
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
	cl := &radius.Client{Retry: time.Second, MaxPacketErrors: 10}
	return func(ctx context.Context, userID, otp string) error {
		p := radius.New(radius.CodeAccessRequest, secret)
		rfc2865.UserName_SetString(p, userID)
		rfc2865.UserPassword_SetString(p, otp)
		if err := tlradius.SignRequest(p); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := cl.Exchange(ctx, p, addr)
		if err != nil {
			return fmt.Errorf("radius: %w", err)
		}
		b, err := resp.MarshalBinary()
		if err != nil {
			return err
		}
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
