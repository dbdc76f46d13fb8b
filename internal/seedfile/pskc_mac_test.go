package seedfile

import (
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestPSKCRefusesAStrippedValueMAC: a file that declares a MACMethod
// promises a ValueMAC on every encrypted value. Removing one (MAC
// stripping) must not turn the file back into one that is read without a
// check: the value is refused as tampered, unless the caller salvages a
// damaged file with IgnoreMAC.
func TestPSKCRefusesAStrippedValueMAC(t *testing.T) {
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	tokens := sampleTokens()[:2]
	data := string(encodePSKC(t, tokens, EncodeOptions{Key: key}))
	if !strings.Contains(data, "<MACMethod") {
		t.Fatal("the encoder no longer writes a MACMethod: the test needs another file")
	}
	mac := regexp.MustCompile(`\s*<ValueMAC>[^<]*</ValueMAC>`)
	if n := len(mac.FindAllString(data, -1)); n != len(tokens) {
		t.Fatalf("%d ValueMACs in the file, want %d", n, len(tokens))
	}
	first := mac.FindStringIndex(data)
	for name, stripped := range map[string]string{
		"one value":  data[:first[0]] + data[first[1]:],
		"all values": mac.ReplaceAllString(data, ""),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(stripped), DecodeOptions{Key: key})
			if !errors.Is(err, ErrMAC) || !strings.Contains(err.Error(), "KeyPackage 1/Key/Data/Secret") || !strings.Contains(err.Error(), "no ValueMAC") {
				t.Fatalf("got %v, want a MAC error on KeyPackage 1's secret saying it has no ValueMAC", err)
			}
			if toks, err := Decode([]byte(stripped), DecodeOptions{Key: key, IgnoreMAC: true}); err != nil || len(toks) != len(tokens) {
				t.Fatalf("IgnoreMAC salvages the file: got %d tokens, %v", len(toks), err)
			}
		})
	}
}
