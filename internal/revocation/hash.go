// Package revocation checks credentials against DCC-style revocation
// lists: sets of truncated SHA-256 hashes, as the EU DCC revocation
// specification defines them, so a list says which credentials are
// revoked without naming anyone.
//
// A list travels signed by its node's CSCA, in the same DSSE envelope as
// the trust list (package trust); docs/trust.md describes both.
package revocation

import (
	"crypto/sha256"
	"fmt"
)

// HashType is one of the three ways the DCC revocation specification
// derives a credential's revocation hash.
type HashType uint8

// The hash types, in the order IsRevoked checks them.
const (
	// Signature hashes the COSE signature: for ECDSA only its first half
	// (r), because s can be replaced by n-s without invalidating the
	// signature; for RSA the whole signature.
	Signature HashType = iota + 1
	// UCI hashes the UVCI (the DCC "ci" field) as it stands.
	UCI
	// CountryCodeUCI hashes the issuing country code (the CWT "iss"
	// claim) followed by the UVCI.
	CountryCodeUCI
)

var hashTypes = []HashType{Signature, UCI, CountryCodeUCI}

func (h HashType) String() string {
	switch h {
	case Signature:
		return "SIGNATURE"
	case UCI:
		return "UCI"
	case CountryCodeUCI:
		return "COUNTRYCODEUCI"
	}
	return fmt.Sprintf("HashType(%d)", uint8(h))
}

// ParseHashType reads the specification's name of a hash type.
func ParseHashType(s string) (HashType, error) {
	for _, h := range hashTypes {
		if h.String() == s {
			return h, nil
		}
	}
	return 0, fmt.Errorf("unknown revocation hash type %q: want SIGNATURE, UCI or COUNTRYCODEUCI", s)
}

func (h HashType) valid() bool { return h >= Signature && h <= CountryCodeUCI }

// HashLen is the length of a revocation hash: SHA-256 truncated to its
// first 128 bits.
const HashLen = 16

// COSE algorithm identifiers (IANA "COSE Algorithms") that decide how a
// signature is hashed.
const (
	AlgES256 int64 = -7
	AlgES384 int64 = -35
	AlgES512 int64 = -36
	AlgPS256 int64 = -37
	AlgPS384 int64 = -38
	AlgPS512 int64 = -39
	AlgRS256 int64 = -257
	AlgRS384 int64 = -258
	AlgRS512 int64 = -259
)

func truncated(parts ...[]byte) [HashLen]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	var out [HashLen]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Hashes derives a credential's revocation hashes: UCI and COUNTRYCODEUCI
// from its UVCI and issuing country, SIGNATURE from its COSE signature and
// algorithm. A hash whose inputs are missing is left out: no UVCI, no
// country (for COUNTRYCODEUCI), no signature, or an algorithm the
// specification does not cover (it names ECDSA and RSA only).
func Hashes(uvci, country string, signature []byte, alg int64) map[HashType][HashLen]byte {
	out := make(map[HashType][HashLen]byte, 3)
	if uvci != "" {
		out[UCI] = truncated([]byte(uvci))
		if country != "" {
			out[CountryCodeUCI] = truncated([]byte(country), []byte(uvci))
		}
	}
	if len(signature) > 0 {
		switch alg {
		case AlgES256, AlgES384, AlgES512:
			// COSE carries ECDSA as r || s, each half the length.
			out[Signature] = truncated(signature[:len(signature)/2])
		case AlgPS256, AlgPS384, AlgPS512, AlgRS256, AlgRS384, AlgRS512:
			out[Signature] = truncated(signature)
		}
	}
	return out
}
