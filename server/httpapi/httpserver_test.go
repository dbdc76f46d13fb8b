package httpapi_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// testTimeouts are tiny, so that the tests wait little; closedWithin is
// far longer, so that a slow machine does not fail them.
var testTimeouts = httpapi.Timeouts{
	ReadHeader: 200 * time.Millisecond,
	Read:       400 * time.Millisecond,
	Write:      400 * time.Millisecond,
	Idle:       200 * time.Millisecond,
	SeedFile:   10 * time.Second,
}

const closedWithin = 5 * time.Second

// serveLoopback serves the API with NewHTTPServer on a real loopback
// listener and returns its address.
func serveLoopback(t *testing.T, tm httpapi.Timeouts) string {
	t.Helper()
	srv, _ := servertest.New(t, server.Policy{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := httpapi.NewHTTPServer(ln.Addr().String(), httpapi.New(srv, httpapi.Options{AdminToken: adminToken, ServiceToken: serviceToken}), tm)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// dial connects, with a deadline on everything the test does on the
// connection so that a server that never closes fails the test instead of
// hanging it.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(closedWithin))
	return c
}

// expectClosed reads c, a connection from dial or a reader on one, until
// the server closes it; it fails if the connection's deadline
// (closedWithin) comes first. It returns what was read.
func expectClosed(t *testing.T, c io.Reader, what string) string {
	t.Helper()
	start := time.Now()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open for %v", what, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("%s: closed after %v", what, time.Since(start).Round(time.Millisecond))
	return string(b)
}

// TestIdleConnectionIsClosed: a keep-alive connection that sends nothing
// after its request is closed after Idle, not held for ever.
func TestIdleConnectionIsClosed(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, testTimeouts)
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /v1/clock HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", serviceToken)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/clock: %s", resp.Status)
	}
	if rest := expectClosed(t, br, "an idle keep-alive connection"); rest != "" {
		t.Errorf("the server sent %q on an idle connection", rest)
	}
}

// TestSlowHeadersAreCut: a client that sends its headers a byte at a
// time (slowloris) is cut off after ReadHeader.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, testTimeouts)
	c := dial(t, addr)
	go trickle(c, "GET /v1/clock HTTP/1.1\r\nHost: x\r\nX-Slow: "+strings.Repeat("a", 1000))
	expectClosed(t, c, "headers sent a byte every 20 ms")
}

// TestTricklingBodyIsCut: a client that sends a complete header and then
// its body a byte at a time is cut off after Read, on the seed file route
// too when its credential does not allow an upload. It may get no answer:
// by then Write has run out too (or, refused at once, the server was
// still reading the body to keep the connection).
func TestTricklingBodyIsCut(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, testTimeouts)
	for _, path := range []string{"/v1/verify", "/v1/inventory"} {
		c := dial(t, addr)
		body := `{"user_id":"someone","otp":"12345678"}` + strings.Repeat(" ", 500)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", path, serviceToken, len(body))
		go trickle(c, body)
		got := expectClosed(t, c, path+": a body sent a byte every 20 ms")
		if !strings.HasPrefix(got, "HTTP/1.1 408 ") && !strings.HasPrefix(got, "HTTP/1.1 403 ") && got != "" {
			t.Errorf("%s: the trickled request got %q, want 408, 403 (not the administrator) or nothing", path, got)
		}
		t.Logf("%s: %.30q", path, got)
	}
}

// TestSlowSeedFileUploadIsAllowed: POST /v1/inventory may carry a seed
// file of up to MaxSeedFile, which takes longer than Read on a slow link;
// the administrator's upload gets SeedFile instead.
func TestSlowSeedFileUploadIsAllowed(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, testTimeouts)
	c := dial(t, addr)
	body := "S1, 3132333435363738393031323334353637383930, TOTP, 8, 30\n"
	fmt.Fprintf(c, "POST /v1/inventory HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", adminToken, len(body))
	// Four pieces 200 ms apart: 600 ms in all, past Read (400 ms).
	for i := range 4 {
		piece := body[i*len(body)/4 : (i+1)*len(body)/4]
		if _, err := io.WriteString(c, piece); err != nil {
			t.Fatalf("piece %d: %v", i, err)
		}
		if i < 3 {
			time.Sleep(200 * time.Millisecond) // the slow link itself: what is tested
		}
	}
	got := expectClosed(t, c, "a slow seed file upload")
	if !strings.HasPrefix(got, "HTTP/1.1 201 ") {
		t.Fatalf("the slow upload was not imported: %q", got)
	}
}

// trickle writes s to c a byte every 20 ms until it is written or the
// connection fails.
func trickle(c net.Conn, s string) {
	for i := range len(s) {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // the slow client itself: what is tested
	}
}

// TestNewHTTPServerSetsEveryLimit: the server tokenlab serve runs has
// every timeout and the header limit; a zero Timeouts field is the
// default's.
func TestNewHTTPServerSetsEveryLimit(t *testing.T) {
	d := httpapi.DefaultTimeouts
	for name, v := range map[string]time.Duration{"ReadHeader": d.ReadHeader, "Read": d.Read, "Write": d.Write, "Idle": d.Idle, "SeedFile": d.SeedFile} {
		if v <= 0 {
			t.Errorf("DefaultTimeouts.%s is %v", name, v)
		}
	}
	hs := httpapi.NewHTTPServer("127.0.0.1:0", http.NotFoundHandler(), httpapi.Timeouts{Idle: time.Second})
	if hs.ReadHeaderTimeout != d.ReadHeader || hs.ReadTimeout != d.Read || hs.WriteTimeout != d.Write || hs.IdleTimeout != time.Second {
		t.Errorf("timeouts %v %v %v %v", hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout)
	}
	if hs.MaxHeaderBytes != httpapi.MaxHeaderBytes || httpapi.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes %d", hs.MaxHeaderBytes)
	}
}

// TestHugeHeadersAreRefused: headers over MaxHeaderBytes get 431.
func TestHugeHeadersAreRefused(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, testTimeouts)
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /v1/clock HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", httpapi.MaxHeaderBytes+8192))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers of %d bytes: %s", httpapi.MaxHeaderBytes+8192, resp.Status)
	}
}

// TestSlowHeadersAreCutOverTLS: over TLS too, as tokenlab serve runs with
// --tls-cert, a client that has not finished its headers after ReadHeader
// is cut off, and so is one that sends no request after the handshake. HTTP/2
// would hold both until Idle: Go's HTTP/2 server has no header timeout, and
// an unfinished header block (HEADERS without END_HEADERS) opens no stream.
func TestSlowHeadersAreCutOverTLS(t *testing.T) {
	t.Parallel()
	tm := testTimeouts
	tm.Idle = 2 * closedWithin // so that only ReadHeader can close in time
	srv, _ := servertest.New(t, server.Policy{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := httpapi.NewHTTPServer(ln.Addr().String(), httpapi.New(srv, httpapi.Options{AdminToken: adminToken}), tm)
	hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{selfSigned(t)}}
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })

	for _, tc := range []struct {
		name   string
		h1     string // what an HTTP/1.1 client sends
		h2Hdrs bool   // whether an HTTP/2 client sends an unfinished header block
	}{
		{"unfinished headers", "GET /v1/clock HTTP/1.1\r\nHost: x\r\n", true},
		{"no request after the handshake", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ln.Addr().String())
			tc2 := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
			if err := tc2.Handshake(); err != nil {
				t.Fatal(err)
			}
			proto := tc2.ConnectionState().NegotiatedProtocol
			if proto == "h2" {
				// The preface, empty SETTINGS, and HEADERS on stream 1 without
				// END_HEADERS (":method GET", HPACK index 2).
				io.WriteString(tc2, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
				tc2.Write([]byte{0, 0, 0, 0x4, 0, 0, 0, 0, 0})
				if tc.h2Hdrs {
					tc2.Write([]byte{0, 0, 1, 0x1, 0, 0, 0, 0, 1, 0x82})
				}
			} else {
				io.WriteString(tc2, tc.h1)
			}
			expectClosed(t, tc2, fmt.Sprintf("%s over TLS (ALPN %q)", tc.name, proto))
		})
	}
}

// selfSigned is a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
