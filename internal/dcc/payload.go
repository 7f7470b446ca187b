package dcc

import (
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Payload is the typed DCC payload, for issuing. Its tags carry the short
// keys of the schema; omitempty marks the fields the schema makes
// optional, so that a missing value is left out rather than sent empty.
type Payload struct {
	Ver string        `cbor:"ver" json:"ver"`
	Nam Name          `cbor:"nam" json:"nam"`
	Dob string        `cbor:"dob" json:"dob"` // YYYY-MM-DD, YYYY-MM, YYYY or ""
	V   []Vaccination `cbor:"v,omitempty" json:"v,omitempty"`
	T   []Test        `cbor:"t,omitempty" json:"t,omitempty"`
	R   []Recovery    `cbor:"r,omitempty" json:"r,omitempty"`
}

// Name is the holder's name, as printed (fn, gn) and standardised per
// ICAO 9303 (fnt, gnt; see Transliterate). At least one of fnt and gnt is
// required.
type Name struct {
	Fn  string `cbor:"fn,omitempty" json:"fn,omitempty"`   // surname(s)
	Fnt string `cbor:"fnt,omitempty" json:"fnt,omitempty"` // standardised surname(s)
	Gn  string `cbor:"gn,omitempty" json:"gn,omitempty"`   // forename(s)
	Gnt string `cbor:"gnt,omitempty" json:"gnt,omitempty"` // standardised forename(s)
}

// Vaccination is a v entry. Every field is required.
type Vaccination struct {
	Tg string `cbor:"tg" json:"tg"` // disease targeted, DiseaseCOVID19
	Vp string `cbor:"vp" json:"vp"` // vaccine or prophylaxis
	Mp string `cbor:"mp" json:"mp"` // medicinal product
	Ma string `cbor:"ma" json:"ma"` // marketing authorisation holder or manufacturer
	Dn int    `cbor:"dn" json:"dn"` // dose number
	Sd int    `cbor:"sd" json:"sd"` // total doses in the series
	Dt string `cbor:"dt" json:"dt"` // date of vaccination, YYYY-MM-DD
	Co string `cbor:"co" json:"co"` // country of vaccination
	Is string `cbor:"is" json:"is"` // certificate issuer
	Ci string `cbor:"ci" json:"ci"` // unique certificate identifier (UVCI)
}

// Test is a t entry.
type Test struct {
	Tg string `cbor:"tg" json:"tg"`                     // disease targeted, DiseaseCOVID19
	Tt string `cbor:"tt" json:"tt"`                     // test type, TestTypeNAAT or TestTypeRAT
	Nm string `cbor:"nm,omitempty" json:"nm,omitempty"` // NAAT name
	Ma string `cbor:"ma,omitempty" json:"ma,omitempty"` // RAT device identifier
	Sc string `cbor:"sc" json:"sc"`                     // sample collected at, RFC 3339
	Tr string `cbor:"tr" json:"tr"`                     // result, ResultNotDetected or ResultDetected
	Tc string `cbor:"tc,omitempty" json:"tc,omitempty"` // testing centre
	Co string `cbor:"co" json:"co"`                     // country of test
	Is string `cbor:"is" json:"is"`                     // certificate issuer
	Ci string `cbor:"ci" json:"ci"`                     // unique certificate identifier (UVCI)
}

// Recovery is an r entry. Every field is required.
type Recovery struct {
	Tg string `cbor:"tg" json:"tg"` // disease recovered from, DiseaseCOVID19
	Fr string `cbor:"fr" json:"fr"` // date of the first positive NAAT, YYYY-MM-DD
	Co string `cbor:"co" json:"co"` // country of test
	Is string `cbor:"is" json:"is"` // certificate issuer
	Df string `cbor:"df" json:"df"` // valid from, YYYY-MM-DD
	Du string `cbor:"du" json:"du"` // valid until, YYYY-MM-DD
	Ci string `cbor:"ci" json:"ci"` // unique certificate identifier (UVCI)
}

// payloadEncoder writes core deterministic CBOR (RFC 8949 section 4.2.1):
// the same payload always gives the same bytes, so a signature can be
// reproduced and compared.
var payloadEncoder = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(fmt.Sprintf("dcc: CBOR encoder options: %v", err))
	}
	return em
}()

// EncodeCBOR serialises p as the CBOR payload of a DCC. It refuses a
// payload that breaks the schema: what Corridor issues, every verifier must
// accept.
func EncodeCBOR(p *Payload) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("dcc: no payload to encode")
	}
	b, err := payloadEncoder.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("dcc: encode payload: %w", err)
	}
	doc, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("dcc: encoded payload does not read back: %w", err)
	}
	if err := ValidateSchema(doc.JSON); err != nil {
		return nil, fmt.Errorf("dcc: refusing to encode: %w", err)
	}
	return b, nil
}

// Payload returns the document as a typed Payload. Fields the typed model
// does not know are dropped; a value of the wrong type is an error.
func (d *Document) Payload() (*Payload, error) {
	b, err := json.Marshal(d.JSON)
	if err != nil {
		return nil, fmt.Errorf("dcc: payload to JSON: %w", err)
	}
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("dcc: payload does not fit the typed model: %w", err)
	}
	return &p, nil
}
