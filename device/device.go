package device

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.bug.st/serial/enumerator"
)

// ErrNoUSBSupport is returned by USB functions in a build without USB support.
var ErrNoUSBSupport = errors.New("built without USB support: rebuild with cgo and libusb-1.0 (apt-get install libusb-1.0-0-dev pkg-config) and '-tags usb', as 'make build' does")

// YubicoVendor is Yubico's USB vendor ID, the default when looking for keys.
const YubicoVendor = 0x1050

// ID names a USB device model: vendor and product IDs.
type ID struct {
	Vendor, Product uint16
}

// String renders the ID as VID:PID in hex, the form lsusb prints.
func (id ID) String() string { return fmt.Sprintf("%04x:%04x", id.Vendor, id.Product) }

// ParseID reads "VID:PID" in hex (e.g. 1050:0407), or "VID" alone, which
// matches any product of that vendor (Product 0).
func ParseID(s string) (ID, error) {
	vid, pid, hasPID := strings.Cut(strings.TrimSpace(s), ":")
	v, err := strconv.ParseUint(strings.TrimPrefix(vid, "0x"), 16, 16)
	if err != nil || vid == "" {
		return ID{}, fmt.Errorf("invalid USB id %q: use VID:PID in hex, e.g. 1050:0407", s)
	}
	id := ID{Vendor: uint16(v)}
	if hasPID {
		p, err := strconv.ParseUint(strings.TrimPrefix(pid, "0x"), 16, 16)
		if err != nil || pid == "" {
			return ID{}, fmt.Errorf("invalid USB id %q: use VID:PID in hex, e.g. 1050:0407", s)
		}
		id.Product = uint16(p)
	}
	return id, nil
}

// Matches reports whether a device's ID matches id (a zero Product matches
// any product of the vendor).
func (id ID) Matches(dev ID) bool {
	return id.Vendor == dev.Vendor && (id.Product == 0 || id.Product == dev.Product)
}

// USBKey is a USB device found by ListUSB.
type USBKey struct {
	ID      ID
	Bus     int
	Address int
}

// SerialPort is a serial port found by ListSerial.
type SerialPort struct {
	Name         string
	USB          bool
	ID           ID // for USB serial adapters
	SerialNumber string
	Product      string
}

// ListSerial lists the machine's serial ports, with USB IDs where the port
// is a USB device.
func ListSerial() ([]SerialPort, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("cannot list serial ports: %w", err)
	}
	out := make([]SerialPort, 0, len(ports))
	for _, p := range ports {
		sp := SerialPort{Name: p.Name, USB: p.IsUSB, SerialNumber: p.SerialNumber, Product: p.Product}
		if p.IsUSB {
			v, _ := strconv.ParseUint(p.VID, 16, 16)
			pr, _ := strconv.ParseUint(p.PID, 16, 16)
			sp.ID = ID{Vendor: uint16(v), Product: uint16(pr)}
		}
		out = append(out, sp)
	}
	return out, nil
}
