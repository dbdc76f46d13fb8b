//go:build !usb || !cgo

package device

// USBSupported is false in builds without USB support.
const USBSupported = false

// ListUSB returns ErrNoUSBSupport in this build.
func ListUSB(...ID) ([]USBKey, error) { return nil, ErrNoUSBSupport }

// OpenUSB returns ErrNoUSBSupport in this build.
func OpenUSB(ID) (Reader, error) { return nil, ErrNoUSBSupport }
