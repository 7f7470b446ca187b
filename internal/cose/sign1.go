package cose

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// COSE algorithm identifiers (IANA "COSE Algorithms" registry).
const (
	AlgES256 int64 = -7  // ECDSA on P-256 with SHA-256
	AlgPS256 int64 = -37 // RSASSA-PSS with SHA-256
)

// Header labels (RFC 9052, section 3.1).
const (
	headerAlg = 1
	headerKid = 4
)

// CBOR tags that may precede a COSE_Sign1 array.
const (
	tagSign1 = 18 // RFC 9052
	tagCWT   = 61 // RFC 8392
)

// DecOptions returns the CBOR decoding limits used for every untrusted input
// in the credential format. Exported so the CWT claims, decoded outside this
// package, obey the same limits.
//
// A credential fits in a QR code, so its real structure is shallow (from
// the claims map down to a DCC entry's fields is five levels) and small;
// the limits sit well above that and far below what could exhaust the
// stack or memory:
//   - nesting deeper than 16 levels is refused (fxamacker's default is 32);
//   - arrays and maps of more than 1024 entries are refused;
//   - a map key given twice is refused, since two readers that keep
//     different copies would see different claims under one signature;
//   - indefinite-length items are accepted: RFC 8949 calls them well-formed
//     and several national issuers' DCC payloads use them.
func DecOptions() cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 1024,
		MaxMapPairs:      1024,
		IndefLength:      cbor.IndefLengthAllowed,
		UTF8:             cbor.UTF8RejectInvalid,
	}
}

var decMode = func() cbor.DecMode {
	dm, err := DecOptions().DecMode()
	if err != nil {
		panic(fmt.Sprintf("cose: invalid decoding options: %v", err)) // a programming error, caught by any test
	}
	return dm
}()

// Sign1 is a parsed COSE_Sign1 message. Its accessors return the message's
// own slices, which callers must not modify.
type Sign1 struct {
	protectedRaw []byte // the protected header exactly as signed
	protected    header
	unprotected  header
	payload      []byte
	signature    []byte
	tagged       bool // tag 18 was present
	cwtTagged    bool // tag 61 was present
}

// sign1Wire is the COSE_Sign1 array (RFC 9052, section 4.2).
type sign1Wire struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected header
	Payload     []byte
	Signature   []byte
}

// header holds the header parameters this profile reads. Any other label is
// ignored, except crit: a signer that marks a parameter critical demands
// that it be understood, and this package understands none beyond alg and
// kid, which RFC 9052 forbids listing as critical anyway.
type header struct {
	Alg  algorithm       `cbor:"1,keyasint,omitempty"`
	Crit cbor.RawMessage `cbor:"2,keyasint,omitempty"`
	Kid  []byte          `cbor:"4,keyasint,omitempty"`
}

// algorithm is the alg header value, which RFC 9052 allows as an integer
// or a text string. Only integers name algorithms this package supports.
type algorithm struct {
	id   int64
	name string
	set  bool
}

// UnmarshalCBOR accepts an integer or a text string and refuses any other
// type, so that a malformed alg is a parse error, not a silent absence.
func (a *algorithm) UnmarshalCBOR(data []byte) error {
	if len(data) == 0 {
		return errors.New("empty algorithm header")
	}
	switch data[0] >> 5 { // major type
	case 0, 1:
		if err := decMode.Unmarshal(data, &a.id); err != nil {
			return fmt.Errorf("algorithm identifier out of range: %w", err)
		}
	case 3:
		if err := decMode.Unmarshal(data, &a.name); err != nil {
			return err
		}
	default:
		return errors.New("algorithm header is neither an integer nor a text string")
	}
	a.set = true
	return nil
}

// ParseSign1 parses a COSE_Sign1 message, tagged (18), untagged, or inside
// a CWT tag (61). It checks structure only; call Verify for the signature.
func ParseSign1(b []byte) (*Sign1, error) {
	var m Sign1
	rest, err := m.readTags(b)
	if err != nil {
		return nil, err
	}
	var w sign1Wire
	if err := decMode.Unmarshal(rest, &w); err != nil {
		return nil, fmt.Errorf("cose: not a COSE_Sign1 structure: %w", err)
	}
	if w.Payload == nil {
		// A nil payload is CBOR null: a detached payload, which a
		// self-contained credential never uses.
		return nil, errors.New("cose: the message carries no payload (detached payloads are not supported)")
	}
	if w.Signature == nil {
		return nil, errors.New("cose: the message carries no signature")
	}
	if len(w.Protected) > 0 {
		if err := decMode.Unmarshal(w.Protected, &m.protected); err != nil {
			return nil, fmt.Errorf("cose: protected header is not a valid header map: %w", err)
		}
	}
	m.protectedRaw = w.Protected
	m.unprotected = w.Unprotected
	m.payload = w.Payload
	m.signature = w.Signature
	if m.protected.Crit != nil || m.unprotected.Crit != nil {
		return nil, errors.New("cose: the message marks header parameters as critical, and none are supported")
	}
	return &m, nil
}

// readTags consumes the optional CWT and COSE_Sign1 tags in front of the
// array, in that order, and returns what follows them.
func (m *Sign1) readTags(b []byte) ([]byte, error) {
	for {
		num, rest, ok, err := readTag(b)
		if err != nil {
			return nil, err
		}
		if !ok {
			return b, nil
		}
		switch {
		case num == tagCWT && !m.cwtTagged && !m.tagged:
			m.cwtTagged = true
		case num == tagSign1 && !m.tagged:
			m.tagged = true
		default:
			return nil, fmt.Errorf("cose: unexpected CBOR tag %d: not a COSE_Sign1 message", num)
		}
		b = rest
	}
}

// readTag reads a CBOR tag head (major type 6) from the front of b. ok is
// false when b does not start with a tag.
func readTag(b []byte) (num uint64, rest []byte, ok bool, err error) {
	if len(b) == 0 {
		return 0, nil, false, errors.New("cose: empty message")
	}
	if b[0]>>5 != 6 {
		return 0, b, false, nil
	}
	info := b[0] & 0x1f
	if info < 24 {
		return uint64(info), b[1:], true, nil
	}
	if info > 27 {
		return 0, nil, false, fmt.Errorf("cose: malformed CBOR tag head 0x%02x", b[0])
	}
	n := 1 << (info - 24) // 1, 2, 4 or 8 bytes of argument
	if len(b) < 1+n {
		return 0, nil, false, errors.New("cose: message ends inside a CBOR tag")
	}
	for _, c := range b[1 : 1+n] {
		num = num<<8 | uint64(c)
	}
	return num, b[1+n:], true, nil
}

// Kid returns the key identifier, taken from the protected header when
// present there, else from the unprotected one; nil when neither has it.
// Only the protected kid is covered by the signature.
func (m *Sign1) Kid() []byte {
	if len(m.protected.Kid) > 0 {
		return m.protected.Kid
	}
	if len(m.unprotected.Kid) > 0 {
		return m.unprotected.Kid
	}
	return nil
}

// Alg returns the integer algorithm identifier, protected header first.
// ok is false when the message names no algorithm or names it by text.
func (m *Sign1) Alg() (alg int64, ok bool) {
	a := m.alg()
	return a.id, a.set && a.name == ""
}

func (m *Sign1) alg() algorithm {
	if m.protected.Alg.set {
		return m.protected.Alg
	}
	return m.unprotected.Alg
}

// Payload returns the signed content (for a credential, the CWT claims).
func (m *Sign1) Payload() []byte { return m.payload }

// Signature returns the raw signature bytes.
func (m *Sign1) Signature() []byte { return m.signature }

// Protected returns the protected header exactly as it was signed.
func (m *Sign1) Protected() []byte { return m.protectedRaw }

// Tagged reports whether the message carried the COSE_Sign1 tag (18).
func (m *Sign1) Tagged() bool { return m.tagged }

// CWTTagged reports whether the message was wrapped in the CWT tag (61).
func (m *Sign1) CWTTagged() bool { return m.cwtTagged }
