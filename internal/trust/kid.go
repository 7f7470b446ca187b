package trust

import (
	"crypto/sha256"
	"encoding/base64"
)

// KidLen is the length of a DCC key identifier.
const KidLen = 8

// Kid returns the DCC key identifier of a certificate: the first 8 bytes of
// SHA-256 over its DER encoding.
func Kid(der []byte) []byte {
	sum := sha256.Sum256(der)
	kid := make([]byte, KidLen)
	copy(kid, sum[:KidLen])
	return kid
}

// KidString renders a kid the way DCC trust lists and COSE tooling print it:
// standard base64.
func KidString(kid []byte) string {
	return base64.StdEncoding.EncodeToString(kid)
}
