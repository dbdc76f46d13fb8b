package device

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/internal/fixture"
)

// hidFixture is one file of fixtures/hid (see its README.md).
type hidFixture struct {
	Description string   `json:"description"`
	Reports     []string `json:"reports"`
	Codes       []string `json:"codes"`
	Errors      []int    `json:"errors"`
	Pending     string   `json:"pending"`
}

func (f hidFixture) reports(t testing.TB) [][]byte {
	t.Helper()
	out := make([][]byte, len(f.Reports))
	for i, s := range f.Reports {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		out[i] = b
	}
	return out
}

func loadHIDFixture(t testing.TB, name string) hidFixture {
	t.Helper()
	b, err := os.ReadFile(fixture.Path("hid", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var f hidFixture
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func hidFixtureNames(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(fixture.Path("hid", "*.json"))
	if err != nil || len(paths) < 5 {
		t.Fatalf("fixtures/hid: %v, %d files", err, len(paths))
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}

func TestKeyboardDecoderFixtures(t *testing.T) {
	for _, name := range hidFixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			f := loadHIDFixture(t, name)
			var d KeyboardDecoder
			var codes []string
			var errs []int
			for i, r := range f.reports(t) {
				before := d.Pending()
				c, err := d.Feed(r)
				if err != nil {
					errs = append(errs, i)
					if !errors.Is(err, ErrPartialReport) || !strings.Contains(err.Error(), fmt.Sprintf(" %d bytes", len(r))) {
						t.Errorf("report %d (%d bytes): error %v", i, len(r), err)
					}
					if c != nil || d.Pending() != before {
						t.Errorf("report %d: a rejected report changed state: %q, pending %q -> %q", i, c, before, d.Pending())
					}
				}
				codes = append(codes, c...)
			}
			if !slices.Equal(codes, f.Codes) {
				t.Errorf("codes %q, want %q", codes, f.Codes)
			}
			if !slices.Equal(errs, f.Errors) {
				t.Errorf("errors at %v, want %v", errs, f.Errors)
			}
			if d.Pending() != f.Pending {
				t.Errorf("pending %q, want %q", d.Pending(), f.Pending)
			}

			// Rejected reports change nothing: the same sequence without
			// them decodes the same.
			var clean KeyboardDecoder
			var cleanCodes []string
			for i, r := range f.reports(t) {
				if slices.Contains(f.Errors, i) {
					continue
				}
				c, err := clean.Feed(r)
				if err != nil {
					t.Fatalf("report %d: %v", i, err)
				}
				cleanCodes = append(cleanCodes, c...)
			}
			if !slices.Equal(cleanCodes, codes) || clean.Pending() != d.Pending() {
				t.Errorf("without the rejected reports: %q pending %q", cleanCodes, clean.Pending())
			}
		})
	}
}

func TestYubicoOTPFixture(t *testing.T) {
	f := loadHIDFixture(t, "yubico-otp-modhex.json")
	otp := f.Codes[0]
	if len(otp) != 44 || !IsModhex(otp) {
		t.Fatalf("%q is not a 44-character modhex OTP", otp)
	}
	h, err := ModhexToHex(otp)
	if err != nil || len(h) != 44 {
		t.Fatalf("ModhexToHex: %q, %v", h, err)
	}
	if h[:12] != "000000105e86" {
		t.Fatalf("public ID %q as hex: %s", otp[:12], h[:12])
	}
}

// press types one key: a down report with mod and keys, then a release.
func press(mod byte, keys ...byte) [][]byte {
	r := make([]byte, 8)
	r[0] = mod
	copy(r[2:], keys)
	return [][]byte{r, make([]byte, 8)}
}

func feedAll(t *testing.T, d *KeyboardDecoder, reports ...[][]byte) []string {
	t.Helper()
	var codes []string
	for _, rs := range reports {
		for _, r := range rs {
			c, err := d.Feed(r)
			if err != nil {
				t.Fatalf("Feed(%x): %v", r, err)
			}
			codes = append(codes, c...)
		}
	}
	return codes
}

func TestKeyboardDecoderKeys(t *testing.T) {
	const lshift, rshift, lctrl = 0x02, 0x20, 0x01
	for _, tc := range []struct {
		name string
		mod  byte
		keys []byte // pressed one after the other
		want string
	}{
		{"digits", 0, []byte{0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27}, "1234567890"},
		{"shifted digits", lshift, []byte{0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27}, "!@#$%^&*()"},
		{"right shift", rshift, []byte{0x1e, 0x27, 0x04}, "!)A"},
		{"both shifts", lshift | rshift, []byte{0x1d}, "Z"},
		{"letters", 0, []byte{0x04, 0x05, 0x1d}, "abz"},
		{"upper case", lshift, []byte{0x04, 0x05, 0x1d}, "ABZ"},
		{"keypad digits", 0, []byte{0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62}, "1234567890"},
		{"keypad digits with shift", lshift, []byte{0x59, 0x62}, "10"},
		{"keypad symbols", 0, []byte{0x54, 0x55, 0x56, 0x57, 0x63}, "/*-+."},
		{"symbols", 0, []byte{0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38}, ` -=[]\;'` + "`,./"},
		{"shifted symbols", lshift, []byte{0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38}, `_+{}|:"~<>?`},
		{"modhex", 0, []byte{0x06, 0x05, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x11, 0x15, 0x17, 0x18, 0x19}, "cbdefghijklnrtuv"},
		{"ctrl ignored", lctrl, []byte{0x04}, "a"},
		{"no text: F1 Tab Backspace Esc Caps", 0, []byte{0x3a, 0x2b, 0x2a, 0x29, 0x39}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d KeyboardDecoder
			for _, k := range tc.keys {
				feedAll(t, &d, press(tc.mod, k))
			}
			if d.Pending() != tc.want {
				t.Fatalf("typed %q, want %q", d.Pending(), tc.want)
			}
			for _, enter := range []byte{0x28, 0x58} {
				var e KeyboardDecoder
				for _, k := range tc.keys {
					feedAll(t, &e, press(tc.mod, k))
				}
				codes := feedAll(t, &e, press(0, enter))
				if want := []string{tc.want}; tc.want == "" && codes != nil || tc.want != "" && !reflect.DeepEqual(codes, want) {
					t.Fatalf("Enter %#x: %q, want %q", enter, codes, tc.want)
				}
				if e.Pending() != "" {
					t.Fatalf("pending after Enter: %q", e.Pending())
				}
			}
		})
	}
}

func TestKeyboardDecoderHeldAndRepeated(t *testing.T) {
	zero := make([]byte, 8)
	down := func(keys ...byte) []byte { r := make([]byte, 8); copy(r[2:], keys); return r }
	var d KeyboardDecoder
	codes := feedAll(t, &d, [][]byte{
		down(0x27), zero, down(0x27), // "00": down, up, down
		down(0x27), down(0x27), // held: nothing more
		down(0x27, 0x1e),                         // 1 goes down while 0 is held
		down(0x1e, 0x27),                         // order in the slots does not matter
		down(0x1e),                               // 0 released
		down(0x1e, 0x27),                         // 0 down again: typed
		down(0x01, 0x01, 0x01, 0x01, 0x01, 0x01), // phantom: ignored, state kept
		down(0x1e, 0x27),                         // still held
		down(0x28), down(0x28), zero,             // Enter held: one code
	})
	if want := []string{"0010"}; !slices.Equal(codes, want) {
		t.Fatalf("codes %q, want %q", codes, want)
	}
	// Two codes ended in one report: both returned, in slot order.
	codes = feedAll(t, &d, [][]byte{down(0x1e), down(0x28, 0x1f), zero, down(0x28), zero})
	if want := []string{"1", "2"}; !slices.Equal(codes, want) {
		t.Fatalf("codes %q, want %q", codes, want)
	}
}

func TestKeyboardDecoderPendingAndReset(t *testing.T) {
	var d KeyboardDecoder
	if d.Pending() != "" {
		t.Fatal("zero value has something pending")
	}
	feedAll(t, &d, press(0, 0x1e), press(0, 0x1f))
	if d.Pending() != "12" {
		t.Fatalf("pending %q", d.Pending())
	}
	// Hold 3, Reset, keep holding: after Reset no key is known to be down,
	// so the held 3 counts as a new press, and 1 and 2 are gone.
	held := []byte{0, 0, 0x20, 0, 0, 0, 0, 0}
	feedAll(t, &d, [][]byte{held})
	d.Reset()
	if d.Pending() != "" {
		t.Fatalf("pending after Reset %q", d.Pending())
	}
	codes := feedAll(t, &d, [][]byte{held, make([]byte, 8)}, press(0, 0x28))
	if !slices.Equal(codes, []string{"3"}) {
		t.Fatalf("codes after Reset %q", codes)
	}
	// A partial report leaves Pending alone.
	feedAll(t, &d, press(0, 0x21))
	if _, err := d.Feed([]byte{0, 0, 0x28, 0, 0}); !errors.Is(err, ErrPartialReport) || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("partial report: %v", err)
	}
	if d.Pending() != "4" {
		t.Fatalf("pending after a partial report %q", d.Pending())
	}
}

func TestModhex(t *testing.T) {
	for in, want := range map[string]string{
		"cbdefghijklnrtuv": "0123456789abcdef",
		"cc":               "00",
		"vv":               "ff",
		"ccccccbcgujhingjrdejhgfnuetrgigvejhhgbkugded": "000000105e867b58c238654be3dc575f3866519e5232",
	} {
		got, err := ModhexToHex(in)
		if err != nil || got != want || !IsModhex(in) {
			t.Errorf("ModhexToHex(%q) = %q, %v; want %q", in, got, err, want)
		}
		back := strings.Map(func(r rune) rune { return rune(modhexAlphabet[strings.IndexRune("0123456789abcdef", r)]) }, got)
		if back != in {
			t.Errorf("%q -> %q -> %q", in, got, back)
		}
	}
	for _, in := range []string{"", "c", "ccb", "CC", "ca", "cc cc", "00", "cé"} {
		if IsModhex(in) {
			t.Errorf("IsModhex(%q)", in)
		}
		if _, err := ModhexToHex(in); err == nil || !strings.Contains(err.Error(), "modhex") {
			t.Errorf("ModhexToHex(%q): %v", in, err)
		}
	}
}
