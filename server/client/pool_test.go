package client_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// TestConcurrentCallsReuseConnections: a portal verifying logins in
// parallel opens one connection per request in flight and then reuses them.
// With net/http's default pool (2 idle connections per host) most requests
// beyond the second would open a new connection, which cost the load test
// about a tenth of its throughput.
func TestConcurrentCallsReuseConnections(t *testing.T) {
	srv, vclk, err := servertest.Open(t.TempDir(), server.Policy{PasswordCost: 4}, start)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var opened atomic.Int64
	ts := httptest.NewUnstartedServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken, VirtualClock: vclk}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()

	const workers, calls = 16, 40
	c := client.New(ts.URL, adminToken)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range calls {
				if _, err := c.Clock(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A few more than one per goroutine may open: a request that finds no
	// idle connection dials one even if another is about to be returned.
	if n := opened.Load(); n > 2*workers {
		t.Errorf("%d calls from %d goroutines opened %d connections, want at most %d", workers*calls, workers, n, 2*workers)
	}
}
