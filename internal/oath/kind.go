package oath

import (
	"fmt"
	"strings"
)

// Kind says what moves a token's code on: time (TOTP) or events (HOTP).
type Kind uint8

const (
	// TOTP is time-based (RFC 6238), the default.
	TOTP Kind = iota
	// HOTP is event-based (RFC 4226): each press advances the counter.
	HOTP
)

// String returns "totp" or "hotp".
func (k Kind) String() string {
	switch k {
	case TOTP:
		return "totp"
	case HOTP:
		return "hotp"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is TOTP or HOTP.
func (k Kind) Valid() bool { return k <= HOTP }

// ErrKind is returned for a kind name that is neither totp nor hotp.
var ErrKind = fmt.Errorf("unknown token kind")

// ParseKind reads "totp" or "hotp" in any case.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "totp":
		return TOTP, nil
	case "hotp":
		return HOTP, nil
	}
	return 0, fmt.Errorf("%w %q: use totp or hotp", ErrKind, s)
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("%w %d", ErrKind, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}
