package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/tokenlab/tokenlab/server/httpapi"
)

// checkCredentials refuses, before anything listens, a credential too
// short to resist guessing (httpapi.CheckCredential), naming where it came
// from so that the user knows which one to replace.
func checkCredentials(f serveFlags, dir, adminToken, serviceToken, metricsToken string) error {
	adminFrom := filepath.Join(dir, AdminTokenFile)
	switch {
	case f.adminToken != "":
		adminFrom = "--admin-token"
	case os.Getenv("TOKENLAB_ADMIN_TOKEN") != "":
		adminFrom = "TOKENLAB_ADMIN_TOKEN"
	}
	serviceFrom, metricsFrom := "--service-token", "--metrics-token"
	if f.serviceToken == "" {
		serviceFrom = "TOKENLAB_SERVICE_TOKEN"
	}
	if f.metricsToken == "" {
		metricsFrom = "TOKENLAB_METRICS_TOKEN"
	}
	if f.metricsPublic && metricsToken != "" {
		return usagef("--metrics-public and %s do not mix: a public /metrics needs no credential", metricsFrom)
	}
	for _, c := range []struct{ from, tok string }{{adminFrom, adminToken}, {serviceFrom, serviceToken}, {metricsFrom, metricsToken}} {
		if c.tok == "" {
			continue
		}
		if err := httpapi.CheckCredential(c.tok); err != nil {
			return usagef("the credential of %s is %v", c.from, err)
		}
	}
	return nil
}

// tlsConfig is the TLS of --tls-cert and --tls-key, nil for plain HTTP,
// which checkPlainHTTPAddr must allow on --addr. It runs before anything
// listens.
func (f serveFlags) tlsConfig() (*tls.Config, error) {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, usagef("--tls-cert and --tls-key go together: give the certificate and its private key")
	}
	if f.tlsCert == "" {
		return nil, checkPlainHTTPAddr(f.addr, f.insecure)
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("cannot load the TLS certificate: %w (give --tls-cert a PEM certificate and --tls-key its PEM private key)", err)
	}
	// TLS 1.2 is the oldest version without known practical attacks that
	// every current client speaks.
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// checkPlainHTTPAddr refuses plain HTTP on an address other machines can
// reach: every request carries a credential, and verifications carry
// codes, which anyone on the path could read and replay. Loopback only,
// unless insecure (a lab network the user trusts). A host name other than
// localhost is refused: what it resolves to is not known here.
func checkPlainHTTPAddr(addr string, insecure bool) error {
	if insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("invalid --addr %q: use HOST:PORT, e.g. 127.0.0.1:8080", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return usagef("refusing plain HTTP on %s, which is not a loopback address: credentials and codes would cross the network unencrypted; give --tls-cert and --tls-key, or --insecure on a lab network you trust", addr)
}
