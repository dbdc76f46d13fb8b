//go:build usb && cgo

package device

import (
	"fmt"

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
