package server

import (
	"fmt"
	"math"

	"github.com/tokenlab/tokenlab/internal/oath"
)

// MinSecretBytes is the shortest secret an import takes: RFC 4226 (§4,
// requirement R6) asks for a shared secret of at least 128 bits. A lab
// whose test tokens have shorter ones sets Policy.AllowShortSecrets.
const MinSecretBytes = 16

// checkSeedLimits refuses a seed the server would keep wrongly or weakly
// (docs/lifecycle.md, “Inventory, sponsorship and licence keys”): a secret
// shorter than MinSecretBytes, and an HOTP counter that Token.LastStep, an
// int64, cannot hold — int64(counter) would wrap a counter of 2⁶³ or more
// to a negative or huge step, and with it the replay protection.
func (s *Server) checkSeedLimits(sd Seed) error {
	if len(sd.Secret) < MinSecretBytes && !s.policy.AllowShortSecrets {
		return fmt.Errorf("the secret is %d bits: RFC 4226 asks for at least 128 bits (%d bytes); ask the vendor for longer seeds, or set Policy.AllowShortSecrets for a lab", 8*len(sd.Secret), MinSecretBytes)
	}
	if sd.Kind == oath.HOTP && sd.Counter > math.MaxInt64 {
		return fmt.Errorf("the HOTP counter %d is beyond 2⁶³−1, the largest the server keeps: reset the token's counter and export it again", sd.Counter)
	}
	return nil
}

// addSat is a+b for b ≥ 0, saturated at math.MaxInt64: a window around a
// counter at the end of the range stays at its end instead of wrapping to
// negative steps.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
