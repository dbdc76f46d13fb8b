package device

import (
	"context"
	"errors"
	"time"
)

// Code is one code read from a key: what it typed, which device typed it and
// when it was read.
type Code struct {
	Value  string    `json:"code"`
	Device string    `json:"device"`
	At     time.Time `json:"at"`
}

// Reader yields the codes a real key produces. ReadCode blocks until the key
// gives a code or ctx ends (then it returns ctx.Err()); Close releases the
// device. Readers are not safe for concurrent ReadCode calls.
type Reader interface {
	ReadCode(ctx context.Context) (Code, error)
	// Device names the key: "usb 1050:0407 bus 1 address 5", "serial /dev/ttyUSB0 (VIRT…)".
	Device() string
	Close() error
}

// Errors a user can act on.
var (
	// ErrNoDevice: nothing matching is plugged in.
	ErrNoDevice = errors.New("no such device: is the key plugged in? 'tokenlab device list' shows what is")
	// ErrPermission: the device is there but this user may not open it.
	ErrPermission = errors.New("permission denied: add a udev rule giving your user access (e.g. SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"1050\", MODE=\"0660\", GROUP=\"plugdev\"), or run as root")
	// ErrBusy: another program holds the device.
	ErrBusy = errors.New("device busy: another program (a desktop session's keyboard driver, gpg-agent, pcscd) holds it")
)

// ReadCodes reads n codes (n <= 0: until ctx ends) and sends each to fn.
func ReadCodes(ctx context.Context, r Reader, n int, fn func(Code) error) error {
	for i := 0; n <= 0 || i < n; i++ {
		c, err := r.ReadCode(ctx)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}
