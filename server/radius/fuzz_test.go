package radius_test

import (
	"context"
	"net/netip"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/tokenlab/tokenlab/server"
	tlradius "github.com/tokenlab/tokenlab/server/radius"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// FuzzHandle: a packet, malformed or not, never panics the request path,
// and only a request with a valid Message-Authenticator is answered.
func FuzzHandle(f *testing.F) {
	srv, _ := servertest.New(f, server.Policy{})
	cs, err := tlradius.ParseClientsBytes([]byte("127.0.0.1 " + secret))
	if err != nil {
		f.Fatal(err)
	}
	rs, err := tlradius.New(tlradius.Config{Service: srv, Clients: cs})
	if err != nil {
		f.Fatal(err)
	}
	seed := func(code radius.Code, sign bool, user, pass string) {
		p := radius.New(code, []byte(secret))
		if user != "" {
			rfc2865.UserName_SetString(p, user)
		}
		if pass != "" {
			rfc2865.UserPassword_SetString(p, pass)
		}
		if sign {
			tlradius.SignRequest(p)
		}
		b, _ := p.Encode()
		f.Add(b)
	}
	seed(radius.CodeAccessRequest, true, "someone", "12345678")
	seed(radius.CodeAccessRequest, false, "someone", "12345678")
	seed(radius.CodeStatusServer, true, "", "")
	seed(radius.CodeAccountingRequest, true, "x", "")
	f.Add([]byte{1, 2, 0, 20})
	f.Add(make([]byte, 20))
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := rs.Handle(context.Background(), from, b)
		if resp == nil {
			return
		}
		if len(b) < 20 {
			t.Fatal("answered a packet shorter than a header")
		}
		var auth [16]byte
		copy(auth[:], b[4:20])
		if !tlradius.ValidResponse(resp, auth, []byte(secret)) {
			t.Fatalf("an answer without valid authenticators: % x", resp)
		}
	})
}
