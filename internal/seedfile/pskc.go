package seedfile

import (
	"fmt"
	"io"
)

// DecodePSKC reads a PSKC file. (Being written.)
func DecodePSKC(data []byte, opts DecodeOptions) ([]Token, error) {
	return nil, &Error{Format: PSKC, Err: fmt.Errorf("%w: PSKC is not implemented yet", ErrUnsupported)}
}

// EncodePSKC writes tokens as PSKC.
func EncodePSKC(w io.Writer, tokens []Token, opts EncodeOptions) error {
	return fmt.Errorf("%w: PSKC is not implemented yet", ErrUnsupported)
}
