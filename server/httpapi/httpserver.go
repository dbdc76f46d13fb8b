package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection. Without them a
// client that sends slowly, or sends nothing after connecting or between
// requests, keeps a connection, a goroutine and their buffers for as long
// as it likes, and a few thousand such clients exhaust the server.
type Timeouts struct {
	// ReadHeader bounds reading a request's line and headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included: bodies are at
	// most MaxBody.
	Read time.Duration
	// Write bounds writing a response, from the end of its request's
	// headers.
	Write time.Duration
	// Idle bounds the wait for the next request on a keep-alive connection.
	Idle time.Duration
	// SeedFile replaces Read and Write for POST /v1/inventory once its
	// credential is checked: a seed file may be MaxSeedFile, which a slow
	// link takes minutes to send.
	SeedFile time.Duration
}

// DefaultTimeouts are tokenlab serve's. Read and Write leave a 64 KiB body
// 30 s (35 KB/s); SeedFile leaves a 64 MiB seed file 10 minutes (110 KB/s).
var DefaultTimeouts = Timeouts{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      30 * time.Second,
	Idle:       2 * time.Minute,
	SeedFile:   10 * time.Minute,
}

// MaxHeaderBytes bounds a request's line and headers. The API's requests
// carry a bearer credential and a few short headers; net/http's default,
// 1 MiB, would let each connection make the server buffer that much.
const MaxHeaderBytes = 64 << 10

// NewHTTPServer is the http.Server of h on addr with the timeouts t (a
// zero field is DefaultTimeouts') and MaxHeaderBytes, speaking HTTP/1.1
// only. The timeouts reach
// the API's handlers through the server's base context, which is how the
// seed file route knows how long to allow.
func NewHTTPServer(addr string, h http.Handler, t Timeouts) *http.Server {
	def := DefaultTimeouts
	for _, f := range []struct{ v, d *time.Duration }{
		{&t.ReadHeader, &def.ReadHeader}, {&t.Read, &def.Read}, {&t.Write, &def.Write}, {&t.Idle, &def.Idle}, {&t.SeedFile, &def.SeedFile},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	// HTTP/1.1 only, over TLS too: Go's HTTP/2 server has no header
	// timeout, so a client that never finishes a header block, or sends no
	// request after the handshake, would hold the connection until Idle
	// (2 minutes) instead of ReadHeader (10 s). The API's clients are
	// portals, scripts and a browser's console: HTTP/1.1 serves them.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Server{
		Protocols:         &protocols,
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(context.Background(), timeoutsKey{}, t) },
	}
}

type timeoutsKey struct{}

// allowSlowUpload gives the request the SeedFile deadlines of the server
// it came through (NewHTTPServer) in place of Read and Write. It is called
// only after the credential is checked, so that an unauthenticated client
// cannot hold a connection that long. Under another server (httptest, an
// embedder's) it leaves the deadlines alone.
func allowSlowUpload(w http.ResponseWriter, r *http.Request) error {
	t, ok := r.Context().Value(timeoutsKey{}).(Timeouts)
	if !ok {
		return nil
	}
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(t.SeedFile)
	err := errors.Join(rc.SetReadDeadline(deadline), rc.SetWriteDeadline(deadline))
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}
