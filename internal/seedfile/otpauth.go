package seedfile

import (
	"fmt"
	"io"
)

// DecodeOTPAuth reads otpauth:// URIs, one per line. (Being written.)
func DecodeOTPAuth(data []byte) ([]Token, error) {
	return nil, &Error{Format: OTPAuth, Err: fmt.Errorf("%w: otpauth is not implemented yet", ErrUnsupported)}
}

// EncodeOTPAuth writes tokens as otpauth:// URIs.
func EncodeOTPAuth(w io.Writer, tokens []Token) error {
	return fmt.Errorf("%w: otpauth is not implemented yet", ErrUnsupported)
}
