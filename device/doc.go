// Package device reads codes from real keys, so that a physical token can
// feed the same activation and login flows as a virtual one.
//
// Two kinds of key are supported (see docs/lifecycle.md, “Real keys”): USB
// keyboard-style keys, such as a YubiKey OTP slot in OATH-HOTP mode that
// types its code and Enter, read as HID boot-keyboard reports through gousb;
// and serial devices that print one code per line, read through
// go.bug.st/serial.
//
// USB support needs cgo and libusb-1.0, so it is built only with the "usb"
// build tag (make build and make test set it). Without it every USB function
// returns ErrNoUSBSupport, which says how to get a build that has it.
//
// Both yield Codes through the Reader interface: OpenUSB(ID) and
// OpenSerial(path, SerialOptions). Readers stop cleanly when their context
// ends. The errors a user can act on are ErrNoDevice, ErrPermission (with
// the udev hint), ErrBusy and ErrNoUSBSupport.
//
// # The serial line protocol
//
// A serial key talks in ASCII lines ending with "\n" ("\r\n" accepted). It
// sends a code line (6 to 10 digits, or 32 to 48 modhex letters) when its
// button is pressed; "INFO key=value …" and "ERR message" answer commands;
// "# …" lines are comments. A key may take two commands from the host:
// "INFO" (who are you: serial, kind, digits) and "PRESS" (a code, as if the
// button were pressed); one that takes none just ignores them. ParseLine
// reads a line; serialtoken serves a virtual token that speaks it.
//
// # USB keys
//
// KeyboardDecoder turns HID boot-keyboard reports into text: a key counts
// when it goes down, Shift gives capitals and symbols, keypad digits are
// digits, Enter ends a code. The gousb reader finds the key by VID:PID,
// detaches the kernel's keyboard driver from its keyboard interface only,
// and reads interrupt reports with a context.
//
// The package knows nothing of the verification server.
package device
