//go:build usb && cgo

package device

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/gousb"
)

func TestOpenUSBNoDevice(t *testing.T) {
	r, err := OpenUSB(ID{Vendor: 0xffff, Product: 0xfffe})
	if err == nil {
		r.Close()
		t.Fatal("opened a device that cannot be there")
	}
	// On a machine without /dev/bus/usb libusb itself cannot start.
	if !errors.Is(err, ErrNoDevice) && !strings.Contains(err.Error(), "libusb cannot start") {
		t.Fatalf("OpenUSB: %v", err)
	}
	t.Log(err)
}

func TestMapUSBError(t *testing.T) {
	for _, tc := range []struct {
		in   error
		want error
		text string
	}{
		{gousb.ErrorAccess, ErrPermission, "udev rule"},
		{fmt.Errorf("failed to claim interface 0 on vid=1050,pid=0407,bus=1,addr=5,config=1: %v", gousb.ErrorAccess), ErrPermission, "udev rule"},
		{gousb.ErrorBusy, ErrBusy, "device busy"},
		{fmt.Errorf("failed to claim interface 0: %v", gousb.ErrorBusy), ErrBusy, "device busy"},
		{fmt.Errorf("open: %w", gousb.ErrorBusy), ErrBusy, "libusb: device or resource busy"},
		{gousb.ErrorNoDevice, ErrNoDevice, "no such device"},
		{gousb.TransferNoDevice, ErrNoDevice, "disconnected"},
		{gousb.ErrorIO, gousb.ErrorIO, "i/o error"},
		{gousb.TransferStall, gousb.TransferStall, "stalled"},
	} {
		got := mapUSBError(tc.in)
		if !errors.Is(got, tc.want) || !strings.Contains(got.Error(), tc.text) {
			t.Errorf("mapUSBError(%v) = %v; want %v", tc.in, got, tc.want)
		}
		// The libusb error stays reachable when it was not flattened.
		var ue gousb.Error
		if errors.As(tc.in, &ue) && !errors.Is(got, ue) {
			t.Errorf("mapUSBError(%v) = %v lost the libusb error", tc.in, got)
		}
	}
	if mapUSBError(nil) != nil {
		t.Error("mapUSBError(nil)")
	}
	for _, e := range []error{gousb.ErrorIO, gousb.TransferCancelled} {
		if got := mapUSBError(e); errors.Is(got, ErrPermission) || errors.Is(got, ErrBusy) || errors.Is(got, ErrNoDevice) {
			t.Errorf("mapUSBError(%v) = %v", e, got)
		}
	}
}

func TestBootKeyboardIn(t *testing.T) {
	in := gousb.EndpointDesc{Address: 0x81, Number: 1, Direction: gousb.EndpointDirectionIn, TransferType: gousb.TransferTypeInterrupt, MaxPacketSize: 8}
	out := gousb.EndpointDesc{Address: 0x02, Number: 2, Direction: gousb.EndpointDirectionOut, TransferType: gousb.TransferTypeInterrupt}
	fido := gousb.InterfaceSetting{Number: 1, Class: gousb.ClassHID, Endpoints: map[gousb.EndpointAddress]gousb.EndpointDesc{0x02: out}}
	kbd := gousb.InterfaceSetting{Number: 0, Class: gousb.ClassHID, SubClass: 1, Protocol: 1, Endpoints: map[gousb.EndpointAddress]gousb.EndpointDesc{0x81: in}}
	cfg := gousb.ConfigDesc{Number: 1, Interfaces: []gousb.InterfaceDesc{
		{Number: 1, AltSettings: []gousb.InterfaceSetting{fido}},
		{Number: 0, AltSettings: []gousb.InterfaceSetting{kbd}},
	}}
	intf, alt, ep, ok := bootKeyboardIn(cfg)
	if !ok || intf != 0 || alt != 0 || ep.Number != 1 {
		t.Fatalf("bootKeyboardIn: %d %d %v %v", intf, alt, ep, ok)
	}
	desc := &gousb.DeviceDesc{Bus: 1, Address: 5, Vendor: 0x1050, Product: 0x0407, Configs: map[int]gousb.ConfigDesc{1: cfg}}
	if !hasBootKeyboard(desc) || descName(desc) != "usb 1050:0407 bus 1 address 5" {
		t.Fatalf("hasBootKeyboard / descName %q", descName(desc))
	}
	cfg.Interfaces = cfg.Interfaces[:1] // FIDO only, as a key with OTP disabled
	if _, _, _, ok := bootKeyboardIn(cfg); ok {
		t.Fatal("found a keyboard in a FIDO-only configuration")
	}
}
