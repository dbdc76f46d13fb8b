// Package qemu runs a Linux guest under QEMU for end-to-end tests of the
// readers of real keys: it boots a kernel and initramfs, reads the guest's
// serial console line by line, and drives the machine through QMP — typing
// on an emulated USB keyboard, above all. It knows nothing of tokenlab.
//
// QEMU connects to sockets the test listens on (the console and QMP), so
// nothing the guest prints is lost before the test is ready to read it.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Options describe a guest.
type Options struct {
	// QEMU is the emulator to run (default qemu-system-x86_64).
	QEMU string
	// Kernel is the kernel image; Initrd its initramfs archives, joined in
	// order into one (the kernel unpacks each in turn, later files winning).
	Kernel string
	Initrd []string
	// Append is the kernel command line; the console is on ttyS0.
	Append string
	// MemoryMB is the guest's memory (default 512).
	MemoryMB int
	// Args are more QEMU arguments: devices, chardevs, the network.
	Args []string
	// Dir holds the sockets and the joined initramfs: a directory of the
	// caller's, with a short path (a unix socket path has ~100 bytes).
	Dir string
	// Log receives each console line as it arrives (optional).
	Log io.Writer
}

// Machine is a running guest.
type Machine struct {
	Console *Console
	QMP     *QMP

	cmd     *exec.Cmd
	stderr  syncBuffer
	exited  chan struct{}
	exitErr error
}

// Start starts QEMU and returns once its console and QMP sockets are
// connected; ctx bounds the start-up, not the machine's life. Stop it with
// Kill, or wait for the guest to power off with Wait.
func Start(ctx context.Context, o Options) (*Machine, error) {
	if o.QEMU == "" {
		o.QEMU = "qemu-system-x86_64"
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 512
	}
	if strings.Contains(o.Dir, ",") {
		// QEMU's option syntax would read a comma in a path as a separator.
		return nil, fmt.Errorf("qemu: directory %s has a comma", o.Dir)
	}
	initrd := filepath.Join(o.Dir, "initrd.cpio")
	if err := joinFiles(initrd, o.Initrd); err != nil {
		return nil, err
	}
	consoleSock, qmpSock := filepath.Join(o.Dir, "console.sock"), filepath.Join(o.Dir, "qmp.sock")
	consoleLn, err := net.Listen("unix", consoleSock)
	if err != nil {
		return nil, fmt.Errorf("qemu: console socket: %w", err)
	}
	defer consoleLn.Close()
	qmpLn, err := net.Listen("unix", qmpSock)
	if err != nil {
		return nil, fmt.Errorf("qemu: qmp socket: %w", err)
	}
	defer qmpLn.Close()

	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-m", fmt.Sprint(o.MemoryMB),
		"-kernel", o.Kernel, "-initrd", initrd, "-append", o.Append,
		"-chardev", "socket,id=console,path=" + consoleSock, "-serial", "chardev:console",
		"-chardev", "socket,id=qmp,path=" + qmpSock, "-mon", "chardev=qmp,mode=control",
	}
	args = append(args, o.Args...)
	m := &Machine{cmd: exec.Command(o.QEMU, args...), exited: make(chan struct{})}
	m.cmd.Stderr = &m.stderr
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	go func() {
		m.exitErr = m.cmd.Wait()
		close(m.exited)
	}()
	fail := func(err error) (*Machine, error) {
		m.Kill()
		return nil, err
	}
	consoleConn, err := m.accept(ctx, consoleLn)
	if err != nil {
		return fail(fmt.Errorf("qemu: console: %w", err))
	}
	m.Console = NewConsole(consoleConn, o.Log)
	qmpConn, err := m.accept(ctx, qmpLn)
	if err != nil {
		return fail(fmt.Errorf("qemu: qmp: %w", err))
	}
	if m.QMP, err = NewQMP(ctx, qmpConn); err != nil {
		return fail(err)
	}
	return m, nil
}

// accept waits for QEMU to connect to ln, or to exit, or ctx to end.
func (m *Machine) accept(ctx context.Context, ln net.Listener) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-m.exited:
		ln.Close()
		return nil, fmt.Errorf("qemu exited (%v): %s", m.exitErr, strings.TrimSpace(m.stderr.String()))
	case <-ctx.Done():
		ln.Close()
		return nil, ctx.Err()
	}
}

// Wait waits for QEMU to exit — the guest powered off — and returns its
// error, with what QEMU said on stderr.
func (m *Machine) Wait(ctx context.Context) error {
	select {
	case <-m.exited:
	case <-ctx.Done():
		return fmt.Errorf("qemu still running: %w", ctx.Err())
	}
	if m.exitErr != nil {
		return fmt.Errorf("qemu: %w: %s", m.exitErr, strings.TrimSpace(m.stderr.String()))
	}
	return nil
}

// Kill stops QEMU at once, if it is still running, and waits for it.
func (m *Machine) Kill() {
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
}

// Stderr is what QEMU wrote on its standard error.
func (m *Machine) Stderr() string { return m.stderr.String() }

// joinFiles writes the concatenation of files to path.
func joinFiles(path string, files []string) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	for _, f := range files {
		in, err := os.Open(f)
		if err != nil {
			return fmt.Errorf("qemu: initrd: %w", err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("qemu: initrd %s: %w", f, err)
		}
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
