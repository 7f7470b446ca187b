package cose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrSignatureMismatch means the signature was not made by the given key
// over this message: the credential was altered, or another key signed it.
var ErrSignatureMismatch = errors.New("signature does not match the signer's key")

// ErrUnsupportedAlgorithm is matched (errors.Is) by every *AlgorithmError.
var ErrUnsupportedAlgorithm = errors.New("algorithm not supported")

// AlgorithmError says the message's algorithm cannot be checked.
type AlgorithmError struct {
	Alg     int64  // the integer identifier, when the message gave one
	Name    string // the text identifier, when the message gave one
	Missing bool   // the message named no algorithm at all
}

func (e *AlgorithmError) Error() string {
	switch {
	case e.Missing:
		return "the message names no signature algorithm"
	case e.Name != "":
		return fmt.Sprintf("algorithm %q not supported", e.Name)
	default:
		return fmt.Sprintf("algorithm %d not supported", e.Alg)
	}
}

// Is makes errors.Is(err, ErrUnsupportedAlgorithm) true.
func (e *AlgorithmError) Is(target error) bool { return target == ErrUnsupportedAlgorithm }

// es256SignatureSize is r||s, each a 32-byte big-endian P-256 scalar
// (RFC 9053, section 2.1): COSE does not use the ASN.1 form.
const es256SignatureSize = 64

// Verify checks the signature with pub: an *ecdsa.PublicKey on P-256 for
// ES256, an *rsa.PublicKey for PS256.
//
// The algorithm is taken from the protected header, or else from the
// unprotected one: RFC 9052 wants it protected, but the DCC test vectors
// (common/CO20) expect a message naming it only in the unprotected header
// to verify. That is safe here because each supported algorithm is bound
// to its own key type, so relabelling a message cannot steer a key to a
// weaker check.
func (m *Sign1) Verify(pub crypto.PublicKey) error {
	alg := m.alg()
	if !alg.set {
		return &AlgorithmError{Missing: true}
	}
	if alg.name != "" {
		return &AlgorithmError{Name: alg.name}
	}
	switch alg.id {
	case AlgES256:
		key, ok := pub.(*ecdsa.PublicKey)
		if !ok || key == nil || key.Curve != elliptic.P256() {
			return fmt.Errorf("algorithm ES256 needs a P-256 ECDSA key, the signer's key is %s", describeKey(pub))
		}
		if len(m.signature) != es256SignatureSize {
			return fmt.Errorf("%w: an ES256 signature is %d bytes, this one is %d", ErrSignatureMismatch, es256SignatureSize, len(m.signature))
		}
		digest := m.digest()
		var der [maxES256DERSize]byte
		if !ecdsa.VerifyASN1(key, digest[:], appendES256DER(der[:0], m.signature)) {
			return ErrSignatureMismatch
		}
		return nil
	case AlgPS256:
		key, ok := pub.(*rsa.PublicKey)
		if !ok || key == nil || key.N == nil {
			return fmt.Errorf("algorithm PS256 needs an RSA key, the signer's key is %s", describeKey(pub))
		}
		digest := m.digest()
		// RFC 8230, section 2: the salt is as long as the hash.
		opts := rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		if err := rsa.VerifyPSS(key, crypto.SHA256, digest[:], m.signature, &opts); err != nil {
			return ErrSignatureMismatch
		}
		return nil
	default:
		return &AlgorithmError{Alg: alg.id}
	}
}

func describeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "an incomplete ECDSA key"
		}
		return "ECDSA on " + k.Curve.Params().Name
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "an incomplete RSA key"
		}
		return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
	case nil:
		return "missing"
	default:
		return fmt.Sprintf("of type %T", pub)
	}
}

// maxES256DERSize bounds the ASN.1 form of a P-256 signature: a SEQUENCE
// header and two INTEGERs of up to 33 bytes (a 0x00 pad before a high bit).
const maxES256DERSize = 2 + 2*(2+33)

// appendES256DER turns COSE's fixed-width r||s into the ASN.1 DER form that
// crypto/ecdsa verifies. Written by hand, on the stack, because the route
// through math/big and ecdsa.Verify costs a dozen allocations per check.
func appendES256DER(dst, raw []byte) []byte {
	half := len(raw) / 2
	r, s := trimZeros(raw[:half]), trimZeros(raw[half:])
	dst = append(dst, 0x30, byte(derIntegerLen(r)+derIntegerLen(s)))
	dst = appendDERInteger(dst, r)
	return appendDERInteger(dst, s)
}

// trimZeros strips leading zero bytes, keeping at least one byte.
func trimZeros(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// derIntegerLen is the encoded length of the DER INTEGER for the unsigned
// big-endian b: a zero byte goes first where the high bit would otherwise
// read as a sign.
func derIntegerLen(b []byte) int {
	if b[0]&0x80 != 0 {
		return 2 + 1 + len(b)
	}
	return 2 + len(b)
}

func appendDERInteger(dst, b []byte) []byte {
	dst = append(dst, 0x02, byte(derIntegerLen(b)-2))
	if b[0]&0x80 != 0 {
		dst = append(dst, 0)
	}
	return append(dst, b...)
}

// digest hashes the Sig_structure for a COSE_Sign1 (RFC 9052, section 4.4):
//
//	["Signature1", protected bstr, external_aad bstr (empty), payload bstr]
//
// It is written byte by byte rather than with a CBOR encoder: the layout is
// fixed, and the protected header and payload must go in exactly as they
// were received.
func (m *Sign1) digest() [sha256.Size]byte {
	return sigStructureDigest(m.protectedRaw, m.payload)
}

func sigStructureDigest(protected, payload []byte) [sha256.Size]byte {
	const context = "\x84\x6aSignature1" // array of 4; text of 10 bytes
	buf := make([]byte, 0, len(context)+9+len(protected)+1+9+len(payload))
	buf = append(buf, context...)
	buf = appendHead(buf, 2, uint64(len(protected)))
	buf = append(buf, protected...)
	buf = append(buf, 0x40) // external_aad: empty byte string
	buf = appendHead(buf, 2, uint64(len(payload)))
	buf = append(buf, payload...)
	return sha256.Sum256(buf)
}

// appendHead appends the shortest CBOR head for major type major and
// argument n.
func appendHead(dst []byte, major byte, n uint64) []byte {
	mt := major << 5
	switch {
	case n < 24:
		return append(dst, mt|byte(n))
	case n <= 0xff:
		return append(dst, mt|24, byte(n))
	case n <= 0xffff:
		return append(dst, mt|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, mt|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, mt|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
