package device

import (
	"errors"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	for in, want := range map[string]ID{
		"1050:0407": {0x1050, 0x0407}, "1050": {Vendor: 0x1050}, "0x1050:0x0010": {0x1050, 0x10}, " 20a0:4108 ": {0x20a0, 0x4108},
	} {
		got, err := ParseID(in)
		if err != nil || got != want {
			t.Errorf("ParseID(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", ":", "1050:", "zz:1", "10500:1", "1050:10000", "1050:04:07"} {
		if _, err := ParseID(in); err == nil || !strings.Contains(err.Error(), "use VID:PID in hex") {
			t.Errorf("ParseID(%q): %v", in, err)
		}
	}
}

func TestIDMatches(t *testing.T) {
	key := ID{0x1050, 0x0407}
	if !(ID{Vendor: 0x1050}).Matches(key) || !key.Matches(key) || (ID{0x1050, 0x0010}).Matches(key) || (ID{Vendor: 0x20a0}).Matches(key) {
		t.Fatal("Matches")
	}
	if key.String() != "1050:0407" {
		t.Fatalf("String: %s", key)
	}
}

func TestListUSBInThisBuild(t *testing.T) {
	keys, err := ListUSB(ID{Vendor: YubicoVendor})
	if !USBSupported {
		if !errors.Is(err, ErrNoUSBSupport) || !strings.Contains(err.Error(), "-tags usb") {
			t.Fatalf("without USB support: %v", err)
		}
		return
	}
	// With USB support the call must answer, with or without a bus to look at.
	if err != nil && !strings.Contains(err.Error(), "libusb") && !strings.Contains(err.Error(), "USB") {
		t.Fatalf("ListUSB: %v", err)
	}
	for _, k := range keys {
		if k.ID.Vendor != YubicoVendor {
			t.Fatalf("asked for Yubico keys, got %v", k.ID)
		}
	}
}

func TestListSerial(t *testing.T) {
	ports, err := ListSerial()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p.Name == "" {
			t.Fatalf("a port without a name: %+v", p)
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1050:0407", "1050", "", ":", "0x1:0x2", "ffff:ffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		// What parses prints back to something that parses to the same ID.
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("ParseID(%q) = %v, but %q parses to %v, %v", s, id, id.String(), again, err)
		}
	})
}
