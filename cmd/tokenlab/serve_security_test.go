package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goodToken is a credential of the strength serve asks for: 32 hex digits.
const goodToken = "0123456789abcdef0123456789abcdef"

// serveRefuses runs tokenlab serve in process with args and checks that it
// refuses to start with exit status 2 (a usage error) and a one-line
// message containing each of want.
func serveRefuses(t *testing.T, args []string, want ...string) {
	t.Helper()
	serveExits(t, 2, args, want...)
}

// serveExits is serveRefuses with another exit status. A serve that does
// start would never return: the bound turns that into a failure.
func serveExits(t *testing.T, status int, args []string, want ...string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runCLI(t, append([]string{"serve", "--data", t.TempDir()}, args...)...)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		if r.code != status {
			t.Fatalf("tokenlab serve %s: exit %d, want %d; stderr %q", strings.Join(args, " "), r.code, status, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("tokenlab serve %s: stderr %q does not say %q", strings.Join(args, " "), r.stderr, w)
			}
		}
		if strings.Count(strings.TrimRight(r.stderr, "\n"), "\n") != 0 {
			t.Errorf("the refusal takes more than one line: %q", r.stderr)
		}
	case <-time.After(20 * time.Second): // bounds a start that should not happen, not a wait for time
		t.Fatalf("tokenlab serve %s started instead of refusing", strings.Join(args, " "))
	}
}

// TestServeRefusesShortCredentials: an administrator, service or metrics
// credential under 128 bits is refused before the server starts, with how
// to make a good one.
func TestServeRefusesShortCredentials(t *testing.T) {
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "")
	t.Setenv("TOKENLAB_SERVICE_TOKEN", "")
	t.Run("admin flag", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", "qa-secret"}, "--admin-token", "too short", "openssl rand -hex 16")
	})
	t.Run("31 hex digits", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken[1:]}, "--admin-token", "32 hex digits")
	})
	t.Run("admin environment", func(t *testing.T) {
		t.Setenv("TOKENLAB_ADMIN_TOKEN", "short-env-token")
		serveRefuses(t, []string{"--addr", "127.0.0.1:0"}, "TOKENLAB_ADMIN_TOKEN", "too short")
	})
	t.Run("service flag", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken, "--service-token", "portal"}, "--service-token", "too short")
	})
	t.Run("metrics flag", func(t *testing.T) {
		serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken, "--metrics-token", "scraper"}, "--metrics-token", "too short")
	})
}

// TestServeMetricsFlags: a public /metrics takes no credential, so
// --metrics-public with a metrics credential is a mistake.
func TestServeMetricsFlags(t *testing.T) {
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "")
	t.Setenv("TOKENLAB_METRICS_TOKEN", "")
	serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--admin-token", goodToken, "--metrics-public", "--metrics-token", goodToken + "m"},
		"--metrics-public and --metrics-token do not mix")
}

// TestServeRefusesPlainHTTPOnTheNetwork: without TLS, the credentials and
// the codes cross the network in clear, so serve listens in plain HTTP on
// loopback only, unless told --insecure. It refuses before listening: no
// test here listens on another address.
func TestServeRefusesPlainHTTPOnTheNetwork(t *testing.T) {
	t.Setenv("TOKENLAB_ADMIN_TOKEN", goodToken)
	for _, addr := range []string{"192.0.2.10:8080", "0.0.0.0:8080", ":8080", "[::]:8080"} {
		t.Run(addr, func(t *testing.T) {
			serveRefuses(t, []string{"--addr", addr}, "not a loopback address", "--tls-cert", "--insecure")
		})
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, PEM, in dir,
// and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tokenlab test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeOverTLS runs the real binary with --tls-cert and --tls-key and
// talks to it with a TLS client that trusts only the test's certificate:
// the API answers over TLS, /metrics needs a credential, plain HTTP and
// TLS 1.1 are refused.
func TestServeOverTLS(t *testing.T) {
	bin := buildBinary(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	_, url := startServe(t, bin, "--data", t.TempDir(), "--admin-token", goodToken, "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("serve says it listens on %s, want https://127.0.0.1:…", url)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s over TLS: %v", path, err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.TLS == nil {
			t.Fatalf("GET %s: not over TLS", path)
		}
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{{"/healthz", "", 200}, {"/v1/clock", goodToken, 200}, {"/v1/clock", "", 401}, {"/metrics", "", 401}, {"/metrics", goodToken, 200}} {
		if got := get(c.path, c.token); got != c.want {
			t.Errorf("GET %s (credential %v): %d, want %d", c.path, c.token != "", got, c.want)
		}
	}

	plain := "http://" + strings.TrimPrefix(url, "https://")
	if resp, err := http.Get(plain + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to the TLS port: 200")
		}
	}
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a TLS 1.1 client was served")
	}
}

// TestServeTLSFlags: the certificate and its key go together, and a file
// that is not one is refused before listening.
func TestServeTLSFlags(t *testing.T) {
	t.Setenv("TOKENLAB_ADMIN_TOKEN", goodToken)
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--tls-cert", certFile}, "--tls-cert and --tls-key go together")
	serveRefuses(t, []string{"--addr", "127.0.0.1:0", "--tls-key", keyFile}, "--tls-cert and --tls-key go together")
	serveExits(t, 1, []string{"--addr", "127.0.0.1:0", "--tls-cert", keyFile, "--tls-key", certFile}, "cannot load the TLS certificate")
}

// TestListenAddressCheck: which addresses plain HTTP may listen on.
func TestListenAddressCheck(t *testing.T) {
	for addr, loopback := range map[string]bool{
		"127.0.0.1:8080": true, "127.8.9.10:1": true, "localhost:0": true, "[::1]:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.0.2.10:8080": false, "example.com:80": false,
	} {
		if err := checkPlainHTTPAddr(addr, false); (err == nil) != loopback {
			t.Errorf("checkPlainHTTPAddr(%q) = %v, want ok %v", addr, err, loopback)
		}
		if err := checkPlainHTTPAddr(addr, true); err != nil {
			t.Errorf("checkPlainHTTPAddr(%q, insecure) = %v", addr, err)
		}
	}
	if err := checkPlainHTTPAddr("8080", false); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Errorf("a port alone: %v", err)
	}
}
