// Package device reads codes from real keys, so that a physical token can
// feed the same activation and login flows as a virtual one.
//
// Two kinds of key are supported (SPEC §4): USB keyboard-style keys, such as a
// YubiKey OTP slot in OATH-HOTP mode that types its code and Enter, read as
// HID boot-keyboard reports through gousb; and serial devices that print one
// code per line, read through go.bug.st/serial.
//
// USB support needs cgo and libusb-1.0, so it is built only with the "usb"
// build tag (make build and make test set it). Without it every USB function
// returns ErrNoUSBSupport, which says how to get a build that has it.
//
// The package knows nothing of the verification server.
package device
