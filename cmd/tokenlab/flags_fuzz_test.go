package main

import (
	"strings"
	"testing"
	"time"
)

func FuzzParseAt(f *testing.F) {
	for _, s := range []string{"@59", "@0", "@-1", "@", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00.5+02:00", "1969-12-31T23:59:59Z", "yesterday", "@99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, err := parseAt(s)
		if err != nil {
			if _, ok := err.(usageError); !ok {
				t.Fatalf("parseAt(%q): %v is not a usage error", s, err)
			}
			return
		}
		if at.Before(time.Unix(0, 0)) {
			t.Fatalf("parseAt(%q) = %v, before the epoch", s, at)
		}
	})
}

func FuzzParseSecretHex(f *testing.F) {
	for _, s := range []string{"3132", "31 32 33", "", "zz", "abc", strings.Repeat("ab", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseSecretHex(s)
		if err != nil {
			// The error must never echo the input: it may be a secret.
			if clean := strings.Join(strings.Fields(s), ""); len(clean) >= 4 && strings.Contains(err.Error(), clean) {
				t.Fatalf("error %q echoes the secret", err)
			}
			return
		}
		if len(b) == 0 || len(b) > 128 {
			t.Fatalf("parseSecretHex(%q) accepted %d bytes", s, len(b))
		}
	})
}
