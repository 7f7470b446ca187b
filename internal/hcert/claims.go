package hcert

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/corridorlane/corridor/internal/cose"
)

// CWT claim keys (RFC 8392 and the DCC specification).
const (
	claimIssuer    = 1
	claimExpiresAt = 4
	claimIssuedAt  = 6

	// ClaimHCert is the DCC health certificate claim; its value is a map
	// whose entry 1 is the DCC payload.
	ClaimHCert = -260

	// ClaimApproval carries a Corridor entry approval. Keys below -65536
	// are private use in the IANA CWT claims registry (RFC 8392, section
	// 9.1), so no registered claim can collide with it. Its value mirrors
	// hcert's shape, a map whose entry 1 is the approval payload, so one
	// reader serves both.
	ClaimApproval = -65537
)

// Claims are the CWT claims of a credential.
type Claims struct {
	Issuer    string    // claim 1: the issuing country or node
	IssuedAt  time.Time // claim 6, in UTC; zero when absent
	ExpiresAt time.Time // claim 4, in UTC; zero when absent

	// HCert is the DCC payload (claim -260, entry 1) as raw CBOR; nil when
	// absent.
	HCert cbor.RawMessage

	// Approval is the entry approval payload (claim -65537, entry 1) as raw
	// CBOR; nil when absent. Its layout belongs to package approval.
	Approval cbor.RawMessage
}

// claimsWire is the CWT claims map as it is decoded. Claims not listed are
// ignored, as RFC 8392 asks of claims a reader does not use.
type claimsWire struct {
	Issuer    string       `cbor:"1,keyasint,omitempty"`
	ExpiresAt numericDate  `cbor:"4,keyasint,omitempty"`
	IssuedAt  numericDate  `cbor:"6,keyasint,omitempty"`
	HCert     *payloadSlot `cbor:"-260,keyasint,omitempty"`
	Approval  *payloadSlot `cbor:"-65537,keyasint,omitempty"`
}

// payloadSlot is the {1: payload} map used by both the hcert and approval
// claims.
type payloadSlot struct {
	Payload cbor.RawMessage `cbor:"1,keyasint,omitempty"`
}

var decMode = func() cbor.DecMode {
	dm, err := cose.DecOptions().DecMode()
	if err != nil {
		panic(fmt.Sprintf("hcert: invalid decoding options: %v", err)) // a programming error, caught by any test
	}
	return dm
}()

var encMode = func() cbor.EncMode {
	// Core deterministic encoding (RFC 8949, section 4.2.1): one byte
	// sequence per claim set, so an issued credential is reproducible.
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(fmt.Sprintf("hcert: invalid encoding options: %v", err))
	}
	return em
}()

func decodeClaims(payload []byte) (Claims, error) {
	var w claimsWire
	if err := decMode.Unmarshal(payload, &w); err != nil {
		return Claims{}, fmt.Errorf("claims are not a valid CWT claims map: %w", err)
	}
	c := Claims{
		Issuer:    w.Issuer,
		ExpiresAt: w.ExpiresAt.t,
		IssuedAt:  w.IssuedAt.t,
	}
	if w.HCert != nil {
		if w.HCert.Payload == nil {
			return Claims{}, errors.New("the health certificate claim (-260) has no entry 1")
		}
		// The DCC payload is a JSON object in CBOR (DCC specification,
		// section 3.3.1); anything else, such as a byte string wrapping
		// it (vector common/CBO1), is malformed.
		if major := w.HCert.Payload[0] >> 5; major != 5 {
			return Claims{}, fmt.Errorf("the health certificate (claim -260, entry 1) is a CBOR %s, not a map", majorTypeName(major))
		}
		c.HCert = w.HCert.Payload
	}
	if w.Approval != nil {
		if w.Approval.Payload == nil {
			return Claims{}, errors.New("the entry approval claim (-65537) has no entry 1")
		}
		c.Approval = w.Approval.Payload
	}
	return c, nil
}

// claimsOut is the claims map as Encode writes it.
type claimsOut struct {
	Issuer    string       `cbor:"1,keyasint,omitempty"`
	ExpiresAt int64        `cbor:"4,keyasint,omitempty"`
	IssuedAt  int64        `cbor:"6,keyasint,omitempty"`
	HCert     *payloadSlot `cbor:"-260,keyasint,omitempty"`
	Approval  *payloadSlot `cbor:"-65537,keyasint,omitempty"`
}

func encodeClaims(c Claims) ([]byte, error) {
	out := claimsOut{Issuer: c.Issuer}
	var err error
	if out.ExpiresAt, err = toNumericDate(c.ExpiresAt, "expiry"); err != nil {
		return nil, err
	}
	if out.IssuedAt, err = toNumericDate(c.IssuedAt, "issue"); err != nil {
		return nil, err
	}
	if c.HCert != nil {
		if err := decMode.Wellformed(c.HCert); err != nil {
			return nil, fmt.Errorf("the health certificate payload is not well-formed CBOR: %w", err)
		}
		out.HCert = &payloadSlot{Payload: c.HCert}
	}
	if c.Approval != nil {
		if err := decMode.Wellformed(c.Approval); err != nil {
			return nil, fmt.Errorf("the entry approval payload is not well-formed CBOR: %w", err)
		}
		out.Approval = &payloadSlot{Payload: c.Approval}
	}
	return encMode.Marshal(&out)
}

// maxNumericDate is 9999-12-31T23:59:59Z. A credential dated outside
// 1970..9999 is a forgery or a bug, and refusing it keeps every value
// inside what time.Time and the DCC's ISO 8601 dates can represent.
const maxNumericDate = 253402300799

func toNumericDate(t time.Time, what string) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	s := t.Unix()
	if s <= 0 || s > maxNumericDate {
		return 0, fmt.Errorf("the %s time %s is outside 1970..9999", what, t.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// numericDate is a CWT NumericDate (RFC 8392, section 2): seconds since
// the Unix epoch, an integer or, as some national issuers write it, a
// floating-point number.
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalCBOR(data []byte) error {
	if len(data) == 0 {
		return errors.New("empty date")
	}
	switch data[0] >> 5 { // major type
	case 0:
		// Integers, the usual form, are read straight from the head:
		// going back through the decoder would cost an allocation.
		s, err := uintArgument(data)
		if err != nil {
			return err
		}
		if s > maxNumericDate {
			return fmt.Errorf("date %d is after the year 9999", s)
		}
		d.t = time.Unix(int64(s), 0).UTC()
	case 1:
		return errors.New("date is before 1970")
	case 7:
		// Only the three float widths; null, undefined and the booleans
		// would otherwise decode to the epoch without complaint.
		if data[0] != 0xf9 && data[0] != 0xfa && data[0] != 0xfb {
			return errors.New("date is not a number")
		}
		var f float64
		if err := decMode.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("date is not a number: %w", err)
		}
		if math.IsNaN(f) || f < 0 || f > maxNumericDate {
			return fmt.Errorf("date %v is not between 1970 and 9999", f)
		}
		sec, frac := math.Modf(f)
		d.t = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	default:
		return errors.New("date is not a number")
	}
	return nil
}

func majorTypeName(major byte) string {
	return [...]string{"unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tagged item", "simple value or float"}[major&7]
}

// uintArgument reads the argument of a CBOR unsigned integer head.
func uintArgument(data []byte) (uint64, error) {
	info := data[0] & 0x1f
	if info < 24 {
		return uint64(info), nil
	}
	if info > 27 {
		return 0, errors.New("malformed integer")
	}
	n := 1 << (info - 24) // 1, 2, 4 or 8 bytes
	if len(data) != 1+n {
		return 0, errors.New("malformed integer")
	}
	var v uint64
	for _, c := range data[1:] {
		v = v<<8 | uint64(c)
	}
	return v, nil
}
