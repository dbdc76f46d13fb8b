package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// TestCredentialComparisonHidesLength: subtle.ConstantTimeCompare returns
// at once when its inputs differ in length, so comparing the presented
// credential itself tells a patient attacker the real one's length. Every
// comparison must be of two SHA-256 digests, whatever was presented.
func TestCredentialComparisonHidesLength(t *testing.T) {
	var lens [][2]int
	constantTimeCompare = func(x, y []byte) int {
		lens = append(lens, [2]int{len(x), len(y)})
		return subtle.ConstantTimeCompare(x, y)
	}
	t.Cleanup(func() { constantTimeCompare = subtle.ConstantTimeCompare })
	srv, _ := servertest.New(t, server.Policy{})
	h := New(srv, Options{AdminToken: strings.Repeat("a", 32), ServiceToken: strings.Repeat("s", 40)})
	for _, presented := range []string{"", "x", strings.Repeat("a", 31), strings.Repeat("a", 32), strings.Repeat("s", 40), strings.Repeat("z", 500)} {
		for _, path := range []string{"/v1/clock", "/v1/accounts"} { // a service route and an administrator's
			r := httptest.NewRequest("GET", path, nil)
			r.Header.Set("Authorization", "Bearer "+presented)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	if len(lens) == 0 {
		t.Fatal("authorise compared nothing")
	}
	for _, l := range lens {
		if l != [2]int{sha256.Size, sha256.Size} {
			t.Fatalf("authorise compared inputs of %d and %d bytes, want two %d-byte digests (all comparisons: %v)", l[0], l[1], sha256.Size, lens)
		}
	}
}
