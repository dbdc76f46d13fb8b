package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/device"
	"github.com/tokenlab/tokenlab/device/serialtoken"
	"github.com/tokenlab/tokenlab/emulator"
)

// storeToken presses a token of the store, keeping an HOTP counter there.
type storeToken struct {
	a      *app
	store  *emulator.Store
	serial string
}

func (s *storeToken) Press() (string, error) {
	d, _, err := s.store.Press(s.serial, s.a.clock.Now())
	return d.Code, err
}

func (s *storeToken) Info() map[string]string {
	info := map[string]string{"serial": s.serial}
	_ = s.store.View(func(set *emulator.TokenSet) error {
		spec, err := set.Get(s.serial)
		if err == nil {
			info["kind"], info["digits"], info["algorithm"] = spec.Kind.String(), strconv.Itoa(spec.Digits), spec.Algorithm.String()
			if spec.Kind == emulator.TOTP {
				info["period"] = strconv.Itoa(int(spec.Period / time.Second))
			}
		}
		return nil
	})
	return info
}

func (a *app) tokenAttachCommand(store func() (*emulator.Store, error), complete cobra.CompletionFunc) *cobra.Command {
	var (
		usePTY          bool
		listen, connect string
	)
	cmd := &cobra.Command{
		Use:   "attach SERIAL (--pty | --listen ADDR | --connect ADDR)",
		Short: "Serve a virtual token as a serial key: on a pseudo-terminal or a socket",
		Long: `Serve a virtual token speaking the serial key protocol (see 'go doc ./device'):
it sends a code line each time its button is pressed — Enter on this terminal,
or the PRESS command from the reader — and answers INFO. Ctrl-C stops it.

--pty makes a pseudo-terminal and prints its tty: 'tokenlab device read
--serial TTY' reads it. --listen ADDR and --connect ADDR speak on a socket
instead — a unix socket path (with a /) or HOST:PORT — whose other end is the
host side of an emulated serial line, such as a QEMU usb-serial chardev: the
guest then reads the token through its own USB serial driver. --listen
prints the address and serves one connection after another; --connect
serves one connection and ends when the other end hangs up.`,
		Example: "  tokenlab token attach VIRT0616534657375 --pty &\n  tokenlab device read --serial /dev/pts/3 --press --count 2\n" +
			"  tokenlab token attach VIRT0616534657375 --listen /tmp/tok.sock &\n" +
			"  qemu-system-x86_64 … -device qemu-xhci -chardev socket,id=tok,path=/tmp/tok.sock -device usb-serial,chardev=tok",
		Args:              exactArgs(1, "the SERIAL of the token"),
		ValidArgsFunction: complete,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			modes := 0
			for _, on := range []bool{usePTY, listen != "", connect != ""} {
				if on {
					modes++
				}
			}
			if modes != 1 {
				return usagef("say how to attach it: one of --pty, --listen ADDR or --connect ADDR")
			}
			st, err := store()
			if err != nil {
				return err
			}
			if err := st.View(func(set *emulator.TokenSet) error { _, err := set.Get(args[0]); return err }); err != nil {
				return notFound(err, st)
			}
			tok := &storeToken{a: a, store: st, serial: args[0]}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The server Enter presses the button of: none while no reader is
			// connected to a socket.
			var current atomic.Pointer[serialtoken.Server]
			go func() {
				sc := bufio.NewScanner(a.stdin)
				for sc.Scan() {
					srv := current.Load()
					if srv == nil {
						fmt.Fprintln(a.stderr, "press: no reader is connected")
						continue
					}
					if code, err := srv.PressButton(); err != nil {
						fmt.Fprintf(a.stderr, "press: %v\n", err)
					} else {
						fmt.Fprintf(a.stderr, "pressed: %s\n", code)
					}
				}
			}()
			serve := func(srv *serialtoken.Server) error {
				current.Store(srv)
				defer current.Store(nil)
				if err := srv.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
					return err
				}
				return nil
			}
			switch {
			case usePTY:
				srv, err := serialtoken.Open(tok)
				if err != nil {
					return err
				}
				defer srv.Close()
				fmt.Fprintln(a.stdout, srv.Path())
				fmt.Fprintf(a.stderr, "virtual token %s on %s: press Enter here to press its button, Ctrl-C to stop\n", args[0], srv.Path())
				return serve(srv)
			case connect != "":
				network, address := socketAddr(connect)
				conn, err := (&net.Dialer{}).DialContext(ctx, network, address)
				if err != nil {
					return fmt.Errorf("cannot connect to %s: %w", connect, err)
				}
				srv := serialtoken.NewConn(tok, conn, network+":"+address)
				defer srv.Close()
				fmt.Fprintln(a.stdout, srv.Path())
				fmt.Fprintf(a.stderr, "virtual token %s connected to %s: press Enter here to press its button, Ctrl-C to stop\n", args[0], srv.Path())
				return serve(srv)
			}
			network, address := socketAddr(listen)
			ln, err := (&net.ListenConfig{}).Listen(ctx, network, address)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %w", listen, err)
			}
			defer ln.Close()
			go func() {
				<-ctx.Done()
				ln.Close()
			}()
			where := network + ":" + ln.Addr().String()
			fmt.Fprintln(a.stdout, where)
			fmt.Fprintf(a.stderr, "virtual token %s listening on %s: press Enter here to press its button, Ctrl-C to stop\n", args[0], where)
			for {
				conn, err := ln.Accept()
				if ctx.Err() != nil {
					return nil
				}
				if err != nil {
					return fmt.Errorf("accept on %s: %w", where, err)
				}
				srv := serialtoken.NewConn(tok, conn, where)
				fmt.Fprintf(a.stderr, "reader connected on %s\n", where)
				err = serve(srv)
				srv.Close()
				if err != nil {
					return err
				}
				if ctx.Err() != nil {
					return nil
				}
				fmt.Fprintf(a.stderr, "reader disconnected from %s\n", where)
			}
		}),
	}
	cmd.Flags().BoolVar(&usePTY, "pty", false, "serve on a new pseudo-terminal and print its path")
	cmd.Flags().StringVar(&listen, "listen", "", "serve on connections to this socket: a unix socket path (with a /) or HOST:PORT")
	cmd.Flags().StringVar(&connect, "connect", "", "serve on a connection to this socket: a unix socket path (with a /) or HOST:PORT")
	return cmd
}

// socketAddr reads a socket address: a path (it has a /) is a unix socket,
// anything else a TCP HOST:PORT.
func socketAddr(addr string) (network, address string) {
	if strings.Contains(addr, "/") {
		return "unix", addr
	}
	return "tcp", addr
}

// deviceFlags choose a real key.
type deviceFlags struct {
	usb, serial string
	baud        int
	press       bool
}

func (d *deviceFlags) add(cmd *cobra.Command, prefix string) {
	f := cmd.Flags()
	f.StringVar(&d.usb, prefix+"usb", "", "read a USB keyboard-style key: VID:PID in hex, or VID (e.g. 1050 for any Yubico key)")
	f.StringVar(&d.serial, prefix+"serial", "", "read a serial key on this port (e.g. /dev/ttyACM0, or the tty of 'token attach --pty')")
	f.IntVar(&d.baud, prefix+"baud", 9600, "serial baud rate")
	f.BoolVar(&d.press, prefix+"press", false, "serial: ask the key for each code with the PRESS command instead of waiting for its button")
}

func (d *deviceFlags) given() bool { return d.usb != "" || d.serial != "" }

// open opens the key the flags name.
func (d *deviceFlags) open() (device.Reader, error) {
	switch {
	case d.usb != "" && d.serial != "":
		return nil, usagef("give a USB key or a serial key, not both")
	case d.usb != "":
		if d.press {
			return nil, usagef("--press is for serial keys: a USB key types its code when you touch it")
		}
		id, err := device.ParseID(d.usb)
		if err != nil {
			return nil, usageError{err}
		}
		return device.OpenUSB(id)
	case d.serial != "":
		return device.OpenSerial(d.serial, device.SerialOptions{BaudRate: d.baud})
	}
	return nil, usagef("give --usb VID:PID or --serial PATH")
}

// read reads n codes, asking for each with PRESS when the flags say so.
func (d *deviceFlags) read(ctx context.Context, a *app, r device.Reader, n int, fn func(device.Code) error) error {
	sr, isSerial := r.(*device.SerialReader)
	for i := 0; n <= 0 || i < n; i++ {
		var (
			c   device.Code
			err error
		)
		if d.press && isSerial {
			c, err = sr.Press(ctx)
		} else {
			if n > 0 {
				fmt.Fprintf(a.stderr, "press the button of %s (%d of %d)\n", r.Device(), i+1, n)
			}
			c, err = r.ReadCode(ctx)
		}
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) deviceReadCommand() *cobra.Command {
	var (
		d      deviceFlags
		count  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "read (--usb VID:PID | --serial PATH) [--count N] [--json]",
		Short: "Read codes from a real key: a USB keyboard-style key or a serial key",
		Long: `Read the codes a key gives — touch it, or press its button — and print each on
its own line (--json: one object per line with code, device and at). Stops
after --count codes, or with Ctrl-C.`,
		Args: noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if !d.given() {
				return usagef("give --usb VID:PID or --serial PATH")
			}
			r, err := d.open()
			if err != nil {
				return err
			}
			defer r.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = d.read(ctx, a, r, count, func(c device.Code) error {
				if asJSON {
					return writeJSONLine(a, c)
				}
				_, err := fmt.Fprintln(a.stdout, c.Value)
				return err
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}),
	}
	d.add(cmd, "")
	cmd.Flags().IntVar(&count, "count", 0, "stop after N codes (default: until Ctrl-C)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per code")
	return cmd
}

// codesFromDevice reads n codes from the key the flags name, for the
// verbs that feed a server.
func (d *deviceFlags) codesFromDevice(a *app, n int) ([]string, error) {
	r, err := d.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var codes []string
	err = d.read(ctx, a, r, n, func(c device.Code) error {
		codes = append(codes, strings.TrimSpace(c.Value))
		return nil
	})
	return codes, err
}
