package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/device"
	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/qemu"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/client"
)

// The emulated USB keyboard QEMU's usb-kbd is.
const qemuKeyboard = "0627:0001"

// usbInput is one line the host types on the guest's USB keyboard, and the
// text the guest's reader must decode from it.
type usbInput struct {
	what    string
	strokes []qemu.Stroke
	want    string
}

// TestUSBGuest boots a Linux guest under QEMU with an emulated USB keyboard
// and USB serial adapter, and checks, in the guest, the whole path a real
// key takes: libusb and gousb reading the keyboard's HID reports with the
// kernel's driver detached and given back, the FTDI driver's tty carrying a
// virtual serial token served on the host, and both activating a token and
// logging in on a tokenlab serve on the host.
//
// It needs QEMU and a guest built by scripts/usb-guest/build.sh, named by
// TOKENLAB_USB_GUEST; make test-usb builds one and runs it.
func TestUSBGuest(t *testing.T) {
	guest := os.Getenv("TOKENLAB_USB_GUEST")
	if guest == "" {
		t.Skip("set TOKENLAB_USB_GUEST to a directory scripts/usb-guest/build.sh made (make test-usb does)")
	}
	for _, f := range []string{"vmlinuz", "initramfs.cpio", "tokenlab"} {
		if _, err := os.Stat(filepath.Join(guest, f)); err != nil {
			t.Fatalf("TOKENLAB_USB_GUEST=%s: %v: run scripts/usb-guest/build.sh", guest, err)
		}
	}
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Fatal("cpio is missing: install the Debian package cpio")
	}
	// The host runs the same binary as the guest.
	bin := filepath.Join(guest, "tokenlab")
	started := time.Now()
	// Bounds the whole run, boot included: TCG on a loaded machine is slow.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Two virtual HOTP tokens with fresh secrets, in the host's store: one
	// the host types the codes of on the USB keyboard, one it serves on the
	// USB serial adapter.
	home := t.TempDir()
	t.Setenv("TOKENLAB_HOME", home)
	secrets := map[string][]byte{"USBKEY": randomBytes(t, 20), "SERKEY": randomBytes(t, 20)}
	gens := map[string]*oath.Generator{}
	for serial, secret := range secrets {
		if code, _, errOut := runCLI(t, "token", "new", "--serial", serial, "--hotp", "--secret-hex", hex.EncodeToString(secret)); code != 0 {
			t.Fatal(errOut)
		}
		gen, err := oath.NewGenerator(secret, oath.SHA1, 8)
		if err != nil {
			t.Fatal(err)
		}
		gens[serial] = gen
	}
	store := emulator.OpenStore(filepath.Join(home, "tokens.json"))

	// The server the guest reaches at 10.0.2.2, QEMU's address for the
	// host's loopback.
	const adminCred = "usb-guest-admin-credential-0123"
	_, url := startServe(t, bin, "--data", t.TempDir(), "--admin-token", adminCred, "--virtual-clock")
	port := url[strings.LastIndex(url, ":")+1:]
	c := client.New(url, adminCred)
	var csv strings.Builder
	for serial, secret := range secrets {
		fmt.Fprintf(&csv, "%s, %x, HOTP, 8, 0\n", serial, secret)
	}
	if _, err := c.ImportSeedFile(ctx, admin, []byte(csv.String()), server.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	for user, serial := range map[string]string{"usbuser": "USBKEY", "seruser": "SERKEY"} {
		if _, err := c.CreateAccount(ctx, admin, server.NewAccount{UserID: user, Email: user + "@example.com", FirstName: "U", LastName: "Ser", Password: "long password"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sponsor(ctx, admin, server.Sponsorship{UserID: user, Serial: serial}); err != nil {
			t.Fatal(err)
		}
	}

	// A short directory: unix socket paths are limited to ~100 bytes.
	dir, err := os.MkdirTemp("", "usbguest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	// The serial token, on the socket QEMU's usb-serial chardev connects to.
	serialSock := filepath.Join(dir, "serial.sock")
	attach := exec.Command(bin, "token", "attach", "SERKEY", "--listen", serialSock)
	attach.Env = append(os.Environ(), "TOKENLAB_HOME="+home)
	startWatching(t, attach, regexp.MustCompile(`(listening) on`))

	// What the guest runs, packed into an initramfs archive of its own.
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	script := strings.NewReplacer("@KBD@", qemuKeyboard, "@SERVER@", "http://10.0.2.2:"+port, "@ADMIN@", adminCred).Replace(guestScript)
	if err := os.WriteFile(filepath.Join(run, "run.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	pack := exec.Command("cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0")
	pack.Dir, pack.Stdin = run, strings.NewReader("run.sh\n")
	runCpio, err := pack.Output()
	if err != nil {
		t.Fatalf("cpio: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.cpio"), runCpio, 0o644); err != nil {
		t.Fatal(err)
	}

	booting := time.Now()
	m, err := qemu.Start(ctx, qemu.Options{
		Kernel: filepath.Join(guest, "vmlinuz"),
		Initrd: []string{filepath.Join(guest, "initramfs.cpio"), filepath.Join(dir, "run.cpio")},
		Append: "console=ttyS0 quiet panic=-1",
		Dir:    dir,
		Args: []string{
			"-M", "q35",
			"-device", "qemu-xhci,id=xhci",
			"-device", "usb-kbd,bus=xhci.0",
			"-chardev", "socket,id=serialtoken,path=" + serialSock,
			"-device", "usb-serial,bus=xhci.0,chardev=serialtoken",
			"-nic", "user,model=e1000",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("guest console:\n%s", strings.Join(m.Console.Lines(), "\n"))
		}
	})
	expect := func(pattern string) []string {
		t.Helper()
		got, err := m.Console.Expect(ctx, regexp.MustCompile(pattern))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	expect(`^tokenlab-guest: ready`)
	t.Logf("guest booted to ready in %.1f s (%.1f s after the test started)", time.Since(booting).Seconds(), time.Since(started).Seconds())

	// What the host types on the USB keyboard, one line per prompt of the
	// guest's reader ("press the button of usb …"), which it prints once it
	// has claimed the keyboard: keys typed before would go to the kernel's
	// keyboard driver.
	press := func(serial string) string {
		d, _, err := store.Press(serial, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return d.Code
	}
	line := func(what string, strokes []qemu.Stroke, err error, want string) usbInput {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return usbInput{what, strokes, want}
	}
	typed := func(what, text string) usbInput {
		s, err := qemu.Text(text + "\n")
		return line(what, s, err, text)
	}
	keypad := func(what, digits string, shift bool) usbInput {
		s, err := qemu.Keypad(digits+"\n", shift)
		return line(what, s, err, digits)
	}
	var usbCodes []string // the HOTP codes typed, counter 0 up
	code := func() string { usbCodes = append(usbCodes, press("USBKEY")); return usbCodes[len(usbCodes)-1] }
	plan := []usbInput{
		typed("a code on the top-row digits", code()),
		keypad("a code on the keypad", code(), false),
		keypad("a code on the keypad with Shift held", code(), true),
		typed("a Yubico OTP in modhex", randomModhex(t, 44)),
		typed("a line with Shift: capitals and symbols", "TokenLab!@#$%^&*()_+{}|:\"<>?~"),
		typed("activation code 1", code()),
		keypad("activation code 2", code(), false),
		typed("login code", code()),
	}
	prompt := regexp.MustCompile(`press the button of usb ` + qemuKeyboard + ` .*\((\d+) of (\d+)\)`)
	for i, in := range plan {
		// A prompt comes seconds after the last line typed; a lost line
		// leaves the reader waiting for its Enter, so do not wait for
		// ever.
		stepCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
		_, err := m.Console.Expect(stepCtx, prompt)
		cancel()
		if err != nil {
			t.Fatalf("before typing line %d (%s): %v", i+1, in.what, err)
		}
		// QEMU's USB keyboard queues 16 key events until the guest polls
		// it and drops what comes after: one event per 30 ms leaves the
		// guest half a second to catch up, which a loaded TCG guest needs
		// (with no gap, lines are lost).
		if err := m.QMP.Type(ctx, in.strokes, 30*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}

	if err := m.Console.Wait(ctx); err != nil {
		t.Fatalf("the guest did not power off: %v", err)
	}
	if err := m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("guest powered off %.1f s after the test started", time.Since(started).Seconds())

	// The guest's results, from its console.
	results := map[string][]string{}
	for _, l := range m.Console.Lines() {
		if rest, ok := strings.CutPrefix(l, "tokenlab-guest: "); ok {
			k, v, _ := strings.Cut(rest, " ")
			results[k] = append(results[k], v)
		}
	}
	one := func(key string) string {
		t.Helper()
		if len(results[key]) != 1 {
			t.Fatalf("guest said %q %d times, want once: %q", key, len(results[key]), results[key])
		}
		return results[key][0]
	}
	codesOf := func(key string) []string {
		var out []string
		for _, l := range results[key] {
			var c device.Code
			if err := json.Unmarshal([]byte(l), &c); err != nil {
				t.Fatalf("%s line %q: %v", key, l, err)
			}
			out = append(out, c.Value)
		}
		return out
	}

	// 1. The USB keyboard through libusb, the kernel's driver given back.
	if got := one("usb-driver-before"); got != "usbhid" {
		t.Errorf("before reading, the keyboard interface's driver is %q, want usbhid", got)
	}
	if got := one("usb-read-exit"); got != "0" {
		t.Errorf("device read --usb exited %s", got)
	}
	read := codesOf("usb-code")
	for i, in := range plan[:5] {
		if i >= len(read) || read[i] != in.want {
			t.Errorf("USB line %d (%s): read %q, typed %q", i+1, in.what, at(read, i), in.want)
		}
	}
	if len(read) != 5 {
		t.Errorf("read %d lines from the USB keyboard, want 5: %q", len(read), read)
	}
	if got := one("usb-driver-after"); got != "usbhid" {
		t.Errorf("after reading, the keyboard interface's driver is %q, want usbhid (given back)", got)
	}

	// 2. The serial token through the FTDI driver.
	if got := one("serial-driver"); got != "ftdi_sio" {
		t.Errorf("/dev/ttyUSB0's driver is %q, want ftdi_sio", got)
	}
	if got := one("serial-read-exit"); got != "0" {
		t.Errorf("device read --serial exited %s", got)
	}
	serialRead := codesOf("serial-code")
	if want := []string{gens["SERKEY"].Code(0), gens["SERKEY"].Code(1)}; fmt.Sprint(serialRead) != fmt.Sprint(want) {
		t.Errorf("serial codes read %q, want %q (counters 0 and 1)", serialRead, want)
	}

	// 3. Both keys activate their tokens and log in on the host's server.
	for i, want := range usbCodes {
		if want != gens["USBKEY"].Code(uint64(i)) {
			t.Fatalf("the host's USB token pressed %q at counter %d, want %q", want, i, gens["USBKEY"].Code(uint64(i)))
		}
	}
	checks := []struct {
		key, want string
	}{
		{"usb-activate", "0 activated USBKEY: Active"},
		{"usb-verify", fmt.Sprintf("0 accepted %s: USBKEY step 5", gens["USBKEY"].Code(5))},
		{"serial-activate", "0 activated SERKEY: Active"},
		{"serial-verify", fmt.Sprintf("0 accepted %s: SERKEY step 4", gens["SERKEY"].Code(4))},
	}
	for _, ch := range checks {
		if got := one(ch.key); !strings.HasPrefix(got, ch.want) {
			t.Errorf("%s: guest said %q, want %q…", ch.key, got, ch.want)
		}
	}
	for serial, want := range map[string]int64{"USBKEY": 5, "SERKEY": 4} {
		v, err := c.Token(context.Background(), serial)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != server.StatusActive || v.LastStep == nil || *v.LastStep != want {
			t.Errorf("server: %s is %s, last step %v, want Active at step %d", serial, v.Status, v.LastStep, want)
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("proved, in a QEMU guest (kernel %s):", one("uname"))
	t.Logf("  gousb read %d lines typed on the emulated USB keyboard %s exactly (top-row and keypad digits, keypad with Shift, modhex, Shift symbols); usbhid was bound before and again after", len(read), qemuKeyboard)
	t.Logf("  the ftdi_sio tty /dev/ttyUSB0 carried the virtual token SERKEY served by token attach --listen: codes %v", serialRead)
	t.Logf("  activate + verify --device-usb: USBKEY Active, logged in at step 5; --device-serial: SERKEY Active, logged in at step 4, on serve --virtual-clock at 10.0.2.2:%s", port)
	t.Logf("  wall time %.1f s", time.Since(started).Seconds())
}

// guestScript is the guest's /run.sh, sourced by its /init (which defines
// say and wait_for). Every result is a "tokenlab-guest: KEY VALUE" line.
// Each command has a minute: a reader waiting for a line the host never
// typed ends, and the guest still powers off.
const guestScript = `say ready
kbd=
for d in /sys/bus/usb/devices/*; do
	[ "$(cat $d/idVendor 2>/dev/null):$(cat $d/idProduct 2>/dev/null)" = "@KBD@" ] && kbd=$(basename $d)
done
intf=/sys/bus/usb/devices/$kbd:1.0
driver() { basename "$(readlink "$1/driver")"; }
say "uname $(uname -r)"
say "usb-driver-before $(driver $intf)"
timeout 60 tokenlab device read --usb @KBD@ --count 5 --json >/tmp/usb.out
say "usb-read-exit $?"
while read -r l; do say "usb-code $l"; done </tmp/usb.out
say "usb-driver-after $(driver $intf)"

wait_for /dev/ttyUSB0 20 || say "error: no /dev/ttyUSB0"
say "serial-driver $(driver /sys/class/tty/ttyUSB0/device)"
timeout 60 tokenlab device read --serial /dev/ttyUSB0 --press --count 2 --json >/tmp/serial.out
say "serial-read-exit $?"
while read -r l; do say "serial-code $l"; done </tmp/serial.out

export TOKENLAB_SERVER=@SERVER@ TOKENLAB_ADMIN_TOKEN=@ADMIN@
out=$(timeout 60 tokenlab activate --user usbuser --serial USBKEY --device-usb @KBD@)
say "usb-activate $? $out"
out=$(timeout 60 tokenlab verify --user usbuser --device-usb @KBD@)
say "usb-verify $? $out"
out=$(timeout 60 tokenlab activate --user seruser --serial SERKEY --device-serial /dev/ttyUSB0 --device-press)
say "serial-activate $? $out"
out=$(timeout 60 tokenlab verify --user seruser --device-serial /dev/ttyUSB0 --device-press)
say "serial-verify $? $out"
`

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomModhex(t *testing.T, n int) string {
	const alphabet = "cbdefghijklnrtuv"
	b := randomBytes(t, n)
	for i := range b {
		b[i] = alphabet[b[i]%16]
	}
	return string(b)
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(nothing)"
}
