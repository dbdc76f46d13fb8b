//go:build usb && cgo

package device

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/gousb"
)

// USBSupported is true in builds with USB support.
const USBSupported = true

// ListUSB lists the USB devices that match any of ids (all devices when ids
// is empty), without opening them, so it needs no permission on the devices.
func ListUSB(ids ...ID) (keys []USBKey, err error) {
	// gousb panics when libusb cannot start (no /dev/bus/usb, say): turn that
	// into an error a user can act on.
	defer func() {
		if r := recover(); r != nil {
			keys, err = nil, fmt.Errorf("libusb cannot start (%v): is /dev/bus/usb available to this process?", r)
		}
	}()
	ctx := gousb.NewContext()
	defer ctx.Close()
	_, err = ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		dev := ID{Vendor: uint16(d.Vendor), Product: uint16(d.Product)}
		match := len(ids) == 0
		for _, id := range ids {
			match = match || id.Matches(dev)
		}
		if match {
			keys = append(keys, USBKey{ID: dev, Bus: d.Bus, Address: d.Address})
		}
		return false // list only: opening needs permission and is not needed
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list USB devices: %w", err)
	}
	return keys, nil
}

// HID class requests (HID 1.11 §7.2) used to switch a boot keyboard to the
// boot protocol, whose reports KeyboardDecoder reads, and back.
const (
	hidSetProtocol  = 0x0b
	hidBootProtocol = 0
	hidReportProto  = 1
	hidClassToIntf  = 0x21 // host to device, class request, to an interface
)

// newUSBContext starts libusb. gousb panics when libusb cannot start (no
// /dev/bus/usb, say): that panic becomes an error a user can act on.
func newUSBContext() (ctx *gousb.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			ctx, err = nil, fmt.Errorf("libusb cannot start (%v): is /dev/bus/usb available to this process?", r)
		}
	}()
	return gousb.NewContext(), nil
}

// OpenUSB opens the first USB key matching id (a zero Product matches any
// product of the vendor; a zero Vendor means Yubico's) that has a HID boot
// keyboard interface, claims that interface, detaching the kernel's keyboard
// driver from the key while it is open, and returns a Reader of the codes
// the key types.
//
// Errors a user can act on wrap ErrNoDevice (nothing matching is plugged in,
// or what is has no keyboard interface), ErrPermission (with the udev hint)
// or ErrBusy; a machine where libusb cannot start gives an error saying so.
func OpenUSB(id ID) (Reader, error) {
	if id.Vendor == 0 {
		id.Vendor = YubicoVendor
	}
	ctx, err := newUSBContext()
	if err != nil {
		return nil, err
	}
	var (
		picked   bool
		noKbd    []string // matching devices without a boot keyboard interface
		openName string
	)
	devs, err := ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if picked || !id.Matches(descID(d)) {
			return false
		}
		if !hasBootKeyboard(d) {
			noKbd = append(noKbd, descName(d))
			return false
		}
		picked, openName = true, descName(d)
		return true
	})
	if len(devs) == 0 {
		ctx.Close()
		switch {
		case picked && err != nil:
			return nil, fmt.Errorf("open %s: %w", openName, mapUSBError(err))
		case len(noKbd) > 0:
			return nil, fmt.Errorf("%s: no HID keyboard interface (is the key's OTP/keyboard mode enabled?): %w", strings.Join(noKbd, ", "), ErrNoDevice)
		case err != nil:
			return nil, fmt.Errorf("usb %s: %w (listing devices: %v)", id, ErrNoDevice, err)
		default:
			return nil, fmt.Errorf("usb %s: %w", id, ErrNoDevice)
		}
	}
	r, err := openKeyboard(devs[0], openName)
	if err != nil {
		devs[0].Close()
		ctx.Close()
		return nil, fmt.Errorf("open %s: %w", openName, err)
	}
	closeDev := r.close
	r.close = func() error { return errors.Join(closeDev(), ctx.Close()) }
	return r, nil
}

// openKeyboard claims dev's boot keyboard interface in its active config.
// On error nothing stays claimed; dev is left open for the caller to close.
func openKeyboard(dev *gousb.Device, name string) (_ *keyReader, err error) {
	dev.ControlTimeout = time.Second
	cfgNum, err := dev.ActiveConfigNum()
	if err != nil {
		return nil, mapUSBError(err)
	}
	intfNum, alt, ep, ok := bootKeyboardIn(dev.Desc.Configs[cfgNum])
	if !ok {
		return nil, fmt.Errorf("active configuration %d has no HID boot keyboard interface with an interrupt IN endpoint: %w", cfgNum, ErrNoDevice)
	}
	cfg, err := dev.Config(cfgNum)
	if err != nil {
		return nil, mapUSBError(err)
	}
	// Auto-detach only now: gousb's Config detaches the kernel driver of
	// every interface when it is on, and nothing would reattach them (a
	// YubiKey's FIDO interface, say). Set after Config, libusb detaches just
	// the keyboard interface when it is claimed and reattaches it on release.
	if err := dev.SetAutoDetach(true); err != nil {
		cfg.Close()
		return nil, mapUSBError(err)
	}
	intf, err := cfg.Interface(intfNum, alt)
	if err != nil {
		cfg.Close()
		return nil, mapUSBError(err)
	}
	in, err := intf.InEndpoint(ep.Number)
	if err != nil {
		intf.Close()
		cfg.Close()
		return nil, mapUSBError(err)
	}
	// Ask for the boot protocol, whose 8-byte reports KeyboardDecoder reads
	// (HID 1.11 §7.2.6: the host should set the protocol it wants). Keys
	// whose report protocol already is the boot format, like a YubiKey's,
	// read the same either way, so a refusal is not fatal.
	_, _ = dev.Control(hidClassToIntf, hidSetProtocol, hidBootProtocol, uint16(intfNum), nil)
	closeFn := func() error {
		// Back to the report protocol, the default the kernel driver expects.
		_, _ = dev.Control(hidClassToIntf, hidSetProtocol, hidReportProto, uint16(intfNum), nil)
		intf.Close()
		return errors.Join(cfg.Close(), dev.Close())
	}
	return newKeyReader(usbSource{in}, name, ep.MaxPacketSize, closeFn), nil
}

// usbSource reads reports from an interrupt IN endpoint, mapping libusb
// errors to the ones a user can act on.
type usbSource struct{ ep *gousb.InEndpoint }

func (s usbSource) ReadContext(ctx context.Context, buf []byte) (int, error) {
	n, err := s.ep.ReadContext(ctx, buf)
	return n, mapUSBError(err)
}

// mapUSBError wraps the libusb errors a user can act on in ErrPermission,
// ErrBusy or ErrNoDevice, keeping the libusb error too; others are returned
// as they are. gousb formats some errors with %v (Device.Config,
// Config.Interface), losing their type, so their text is matched as well.
func mapUSBError(err error) error {
	if err == nil {
		return nil
	}
	var ue gousb.Error
	var ts gousb.TransferStatus
	has := func(e error) bool {
		return errors.As(err, &ue) && ue == e || strings.Contains(err.Error(), e.Error())
	}
	switch {
	case has(gousb.ErrorAccess):
		return fmt.Errorf("%w (%w)", ErrPermission, err)
	case has(gousb.ErrorBusy):
		return fmt.Errorf("%w (%w)", ErrBusy, err)
	case has(gousb.ErrorNoDevice), errors.As(err, &ts) && ts == gousb.TransferNoDevice:
		return fmt.Errorf("%w (%w)", ErrNoDevice, err)
	}
	return err
}

func descID(d *gousb.DeviceDesc) ID { return ID{Vendor: uint16(d.Vendor), Product: uint16(d.Product)} }

func descName(d *gousb.DeviceDesc) string {
	return fmt.Sprintf("usb %s bus %d address %d", descID(d), d.Bus, d.Address)
}

// hasBootKeyboard reports whether any configuration of d has a HID boot
// keyboard interface.
func hasBootKeyboard(d *gousb.DeviceDesc) bool {
	for _, c := range d.Configs {
		if _, _, _, ok := bootKeyboardIn(c); ok {
			return true
		}
	}
	return false
}

// bootKeyboardIn finds a HID boot keyboard interface (class 3, subclass 1,
// protocol 1) in c and its interrupt IN endpoint.
func bootKeyboardIn(c gousb.ConfigDesc) (intf, alt int, ep gousb.EndpointDesc, ok bool) {
	for _, i := range c.Interfaces {
		for _, s := range i.AltSettings {
			if s.Class != gousb.ClassHID || s.SubClass != 1 || s.Protocol != 1 {
				continue
			}
			for _, e := range s.Endpoints {
				if e.Direction == gousb.EndpointDirectionIn && e.TransferType == gousb.TransferTypeInterrupt {
					return s.Number, s.Alternate, e, true
				}
			}
		}
	}
	return 0, 0, gousb.EndpointDesc{}, false
}
