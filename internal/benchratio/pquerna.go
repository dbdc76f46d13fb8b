package benchratio

import (
	"fmt"

	"github.com/pquerna/otp"
)

// PquernaAlgorithm is github.com/pquerna/otp's name for an algorithm, given
// as oath.Algorithm's String ("sha1", "sha256", "sha512"). It lives here,
// beside the baseline's other uses, so that the OATH maths itself does not
// depend on the library it is checked and benchmarked against; taking the
// name rather than the type lets internal/oath's own tests use it.
func PquernaAlgorithm(alg fmt.Stringer) otp.Algorithm {
	switch alg.String() {
	case "sha256":
		return otp.AlgorithmSHA256
	case "sha512":
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}
