package main

import (
	"bufio"
	"context"
	"net"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// TestAttachedTokenFeedsAServer: a virtual HOTP token attached to a real
// pty by the tokenlab binary is read as a serial key — by PRESS and by its
// button (Enter on attach's stdin) — and its codes activate and verify on a
// server through --device-serial.
func TestAttachedTokenFeedsAServer(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	t.Setenv("TOKENLAB_HOME", home)
	const secret = "3132333435363738393031323334353637383930"
	if code, _, errOut := runCLI(t, "token", "new", "--serial", "PTY1", "--secret-hex", secret, "--hotp"); code != 0 {
		t.Fatal(errOut)
	}
	attach := exec.Command(bin, "token", "attach", "PTY1", "--pty")
	attach.Env = append(attach.Environ(), "TOKENLAB_HOME="+home)
	stdin, _ := attach.StdinPipe()
	stdout, _ := attach.StdoutPipe()
	if err := attach.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { attach.Process.Kill(); attach.Wait() })
	tty, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	tty = strings.TrimSpace(tty)
	if !strings.HasPrefix(tty, "/dev/") {
		t.Fatalf("attach printed %q, not a tty", tty)
	}
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)

	// PRESS twice: counters 0 and 1.
	code, out, errOut := runCLI(t, "device", "read", "--serial", tty, "--press", "--count", "2")
	if code != 0 || out != gen.Code(0)+"\n"+gen.Code(1)+"\n" {
		t.Fatalf("device read --press: %d %q %q", code, out, errOut)
	}
	// The button: Enter on attach's terminal; the code arrives unasked.
	done := make(chan string, 1)
	go func() {
		_, out, _ := runCLI(t, "device", "read", "--serial", tty, "--count", "1", "--json")
		done <- out
	}()
	// Press until the reader, which opens the tty concurrently, has it.
	deadline := time.Now().Add(10 * time.Second) // bounds process start-up, not a TOTP step
	var got string
	for got == "" && time.Now().Before(deadline) {
		stdin.Write([]byte("\n"))
		select {
		case got = <-done:
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !strings.Contains(got, `"code":"`) || !strings.Contains(got, `"device":"serial `+tty) {
		t.Fatalf("a button press read as %q", got)
	}

	// The attached key feeds a server: activate with two codes, verify one.
	srv, _, err := servertest.Open(t.TempDir(), server.Policy{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: "dev-admin-credential-0123456789"}))
	defer hs.Close()
	ctx := context.Background()
	c := client.New(hs.URL, "dev-admin-credential-0123456789")
	if _, err := c.ImportSeedFile(ctx, admin, []byte("PTY1, "+secret+", HOTP, 8, 0\n"), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: "hw", Email: "h@example.com", FirstName: "H", LastName: "W", Password: "long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: "hw", Serial: "PTY1"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOKENLAB_SERVER", hs.URL)
	t.Setenv("TOKENLAB_ADMIN_TOKEN", "dev-admin-credential-0123456789")
	if code, out, errOut := runCLI(t, "activate", "--user", "hw", "--serial", "PTY1", "--device-serial", tty, "--device-press"); code != 0 || !strings.Contains(out, "activated PTY1") {
		t.Fatalf("activate --device-serial: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "verify", "--user", "hw", "--device-serial", tty, "--device-press"); code != 0 || !strings.Contains(out, "accepted") {
		t.Fatalf("verify --device-serial: %d %s %s", code, out, errOut)
	}
	// Usage errors.
	if code, _, _ := runCLI(t, "device", "read"); code != 2 {
		t.Fatal("device read without a key is not a usage error")
	}
	if code, _, _ := runCLI(t, "token", "attach", "PTY1"); code != 2 {
		t.Fatal("attach without --pty is not a usage error")
	}
	if code, _, errOut := runCLI(t, "device", "read", "--serial", "/dev/no-such-tty", "--count", "1"); code != 1 || !strings.Contains(errOut, "no such device") {
		t.Fatalf("a missing tty: %d %s", code, errOut)
	}
}

// TestAttachOnASocket: token attach --listen serves the protocol to one
// connection after another, Enter on its stdin pressing the button of the
// one connected; --connect serves the connection it makes and ends when the
// other end hangs up. A QEMU usb-serial chardev is such a socket.
func TestAttachOnASocket(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	t.Setenv("TOKENLAB_HOME", home)
	const secret = "3132333435363738393031323334353637383930"
	if code, _, errOut := runCLI(t, "token", "new", "--serial", "SOCK1", "--secret-hex", secret, "--hotp"); code != 0 {
		t.Fatal(errOut)
	}
	gen, _ := oath.NewGenerator([]byte("12345678901234567890"), oath.SHA1, 8)
	sock := filepath.Join(t.TempDir(), "tok.sock")
	attach := exec.Command(bin, "token", "attach", "SOCK1", "--listen", sock)
	attach.Env = append(attach.Environ(), "TOKENLAB_HOME="+home)
	stdin, _ := attach.StdinPipe()
	stdout, _ := attach.StdoutPipe()
	if err := attach.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { attach.Process.Kill(); attach.Wait() })
	where, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(where) != "unix:"+sock {
		t.Fatalf("attach --listen printed %q (%v), want unix:%s", where, err, sock)
	}
	// exchange sends line on a fresh connection and reads the answer.
	exchange := func(conn net.Conn, line string) string {
		t.Helper()
		conn.SetDeadline(time.Now().Add(10 * time.Second)) // bounds socket I/O, not a TOTP step
		if line != "" {
			if _, err := conn.Write([]byte(line + "\n")); err != nil {
				t.Fatal(err)
			}
		}
		got, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", line, err)
		}
		return strings.TrimSuffix(got, "\n")
	}
	for i := range 2 { // a second connection after the first hung up
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		if got := exchange(conn, "PRESS"); got != gen.Code(uint64(i)) {
			t.Fatalf("connection %d: PRESS gave %q, want %q", i+1, got, gen.Code(uint64(i)))
		}
		if i == 1 {
			// The button: Enter on attach's stdin sends a code unasked.
			stdin.Write([]byte("\n"))
			if got := exchange(conn, ""); got != gen.Code(2) {
				t.Fatalf("button gave %q, want %q", got, gen.Code(2))
			}
		}
		conn.Close()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := exec.Command(bin, "token", "attach", "SOCK1", "--connect", ln.Addr().String())
	dial.Env = append(dial.Environ(), "TOKENLAB_HOME="+home)
	done := make(chan error, 1)
	var out strings.Builder
	dial.Stdout = &out
	if err := dial.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- dial.Wait() }()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if got := exchange(conn, "PRESS"); got != gen.Code(3) {
		t.Fatalf("attach --connect: PRESS gave %q, want %q", got, gen.Code(3))
	}
	conn.Close()
	select {
	case err := <-done:
		if err != nil || strings.TrimSpace(out.String()) != "tcp:"+ln.Addr().String() {
			t.Fatalf("attach --connect after hang-up: %v, printed %q", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("attach --connect did not end when the other end hung up")
	}
	if code, _, errOut := runCLI(t, "token", "attach", "SOCK1", "--pty", "--listen", sock); code != 2 || !strings.Contains(errOut, "one of --pty") {
		t.Fatalf("two transports: %d %s", code, errOut)
	}
}
