package seedfile

import (
	"fmt"
	"io"
)

// DecodeCSV reads OATH CSV lines. (Being written: see the helper's task.)
func DecodeCSV(data []byte) ([]Token, error) {
	return nil, &Error{Format: CSV, Err: fmt.Errorf("%w: CSV is not implemented yet", ErrUnsupported)}
}

// EncodeCSV writes tokens as OATH CSV.
func EncodeCSV(w io.Writer, tokens []Token) error {
	return fmt.Errorf("%w: CSV is not implemented yet", ErrUnsupported)
}
