package cose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
)

// SignES256 signs payload with key (a P-256 ECDSA signer, possibly backed by
// hardware) and returns a tagged COSE_Sign1 message whose protected header
// holds the algorithm and, when kid is not empty, the key identifier. The
// unprotected header is left empty: everything a verifier relies on is
// covered by the signature.
func SignES256(payload, kid []byte, key crypto.Signer) ([]byte, error) {
	if key == nil {
		return nil, errors.New("cose: no signing key")
	}
	if pub, ok := key.Public().(*ecdsa.PublicKey); !ok || pub == nil || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("cose: ES256 needs a P-256 ECDSA key, got %s", describeKey(key.Public()))
	}
	protected := appendProtectedES256(make([]byte, 0, 16+len(kid)), kid)
	digest := sigStructureDigest(protected, payload)
	der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("cose: signing: %w", err)
	}
	var sig [es256SignatureSize]byte
	if err := derToRaw(sig[:], der); err != nil {
		return nil, fmt.Errorf("cose: signer returned a malformed signature: %w", err)
	}

	out := make([]byte, 0, 1+1+9+len(protected)+1+9+len(payload)+2+len(sig))
	out = appendHead(out, 6, tagSign1)
	out = appendHead(out, 4, 4) // array of four
	out = appendHead(out, 2, uint64(len(protected)))
	out = append(out, protected...)
	out = appendHead(out, 5, 0) // empty unprotected map
	out = appendHead(out, 2, uint64(len(payload)))
	out = append(out, payload...)
	out = appendHead(out, 2, uint64(len(sig)))
	out = append(out, sig[:]...)
	return out, nil
}

// appendProtectedES256 writes the protected header map {1: -7, 4: kid} in
// the deterministic order of RFC 8949 (shorter, then smaller keys first).
func appendProtectedES256(dst, kid []byte) []byte {
	pairs := uint64(1)
	if len(kid) > 0 {
		pairs = 2
	}
	dst = appendHead(dst, 5, pairs)
	dst = appendHead(dst, 0, headerAlg)
	dst = appendHead(dst, 1, uint64(-1-AlgES256)) // negative integer -7
	if len(kid) > 0 {
		dst = appendHead(dst, 0, headerKid)
		dst = appendHead(dst, 2, uint64(len(kid)))
		dst = append(dst, kid...)
	}
	return dst
}

// derToRaw turns an ASN.1 DER ECDSA signature, SEQUENCE { r INTEGER,
// s INTEGER }, into COSE's fixed-width r||s in dst. Parsed by hand, as the
// mirror of appendES256DER, because encoding/asn1 costs five allocations
// per signature through math/big.
func derToRaw(dst, der []byte) error {
	if len(der) < 2 || der[0] != 0x30 || int(der[1]) != len(der)-2 || der[1] >= 0x80 {
		return errors.New("not a DER SEQUENCE of the expected length")
	}
	body := der[2:]
	half := len(dst) / 2
	for _, out := range [][]byte{dst[:half], dst[half:]} {
		var n []byte
		var err error
		if n, body, err = readDERPositiveInteger(body); err != nil {
			return err
		}
		if len(n) > len(out) {
			return errors.New("r or s out of range")
		}
		clear(out[:len(out)-len(n)])
		copy(out[len(out)-len(n):], n)
	}
	if len(body) > 0 {
		return errors.New("trailing data after the signature")
	}
	return nil
}

// readDERPositiveInteger reads a minimally encoded, strictly positive DER
// INTEGER from the front of b and returns its magnitude without padding.
func readDERPositiveInteger(b []byte) (n, rest []byte, err error) {
	if len(b) < 2 || b[0] != 0x02 || b[1] >= 0x80 || int(b[1]) > len(b)-2 || b[1] == 0 {
		return nil, nil, errors.New("malformed INTEGER")
	}
	n, rest = b[2:2+b[1]], b[2+b[1]:]
	switch {
	case n[0]&0x80 != 0:
		return nil, nil, errors.New("negative INTEGER")
	case n[0] == 0 && len(n) == 1:
		return nil, nil, errors.New("zero INTEGER")
	case n[0] == 0 && n[1]&0x80 == 0:
		return nil, nil, errors.New("INTEGER not minimally encoded")
	case n[0] == 0:
		n = n[1:]
	}
	return n, rest, nil
}
