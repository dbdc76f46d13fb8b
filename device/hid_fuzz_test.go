package device

import (
	"slices"
	"testing"
	"unicode"
)

// FuzzKeyboardDecoder feeds a sequence of reports, encoded as a length byte
// (taken mod 12, so most reports are 8 bytes but some are not) followed by
// that many bytes, to a decoder, and checks that it never panics, that a
// report that is not 8 bytes is an error that changes nothing (a second
// decoder that never sees those reports decodes the same), and that codes
// and Pending hold no control characters.
func FuzzKeyboardDecoder(f *testing.F) {
	for _, name := range hidFixtureNames(f) {
		var seq []byte
		for _, r := range loadHIDFixture(f, name).reports(f) {
			seq = append(append(seq, byte(len(r))), r...)
			f.Add([]byte{byte(len(r))}, r) // each report alone too
		}
		f.Add([]byte{}, seq)
	}
	f.Fuzz(func(t *testing.T, prefix, data []byte) {
		data = append(prefix, data...)
		var d, clean KeyboardDecoder
		var codes, cleanCodes []string
		for len(data) > 0 {
			n := min(int(data[0])%12, len(data)-1)
			r := data[1 : 1+n]
			data = data[1+n:]

			before := d.Pending()
			c, err := d.Feed(r)
			if len(r) != BootReportSize {
				if err == nil || c != nil || d.Pending() != before {
					t.Fatalf("%d-byte report %x: codes %q, err %v, pending %q -> %q", len(r), r, c, err, before, d.Pending())
				}
				continue
			}
			if err != nil {
				t.Fatalf("8-byte report %x: %v", r, err)
			}
			for _, code := range c {
				if code == "" || slices.ContainsFunc([]rune(code), unicode.IsControl) {
					t.Fatalf("report %x gave code %q", r, code)
				}
			}
			if slices.ContainsFunc([]rune(d.Pending()), unicode.IsControl) {
				t.Fatalf("pending %q", d.Pending())
			}
			codes = append(codes, c...)
			cc, _ := clean.Feed(r)
			cleanCodes = append(cleanCodes, cc...)
		}
		if !slices.Equal(codes, cleanCodes) || d.Pending() != clean.Pending() {
			t.Fatalf("rejected reports changed the result: %q/%q vs %q/%q", codes, d.Pending(), cleanCodes, clean.Pending())
		}
	})
}
