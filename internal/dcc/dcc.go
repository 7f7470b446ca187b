// Package dcc holds the EU Digital COVID Certificate payload: the document
// carried in the hcert claim (CWT claim -260, key 1) of a DCC, with its
// three kinds of entry (vaccination, test, recovery), schema versions 1.0.0
// to 1.3.x.
//
// A verifier turns the CBOR payload into a JSON-compatible Document with
// Parse and checks it with ValidateSchema; an issuer fills a Payload and
// serialises it with EncodeCBOR. The package also builds and checks unique
// certificate identifiers (NewUVCI, CheckUVCI), standardises names the ICAO
// way (Transliterate) and loads the EU value sets (LoadValueSets).
package dcc

import (
	"errors"
	"fmt"
	"strings"
)

// Kind names the kind of certificate by the payload key of its entries.
type Kind string

// The three kinds of DCC, one per payload group.
const (
	KindVaccination Kind = "v"
	KindTest        Kind = "t"
	KindRecovery    Kind = "r"
)

// kinds lists the groups in the order the schema declares them.
var kinds = [...]Kind{KindVaccination, KindTest, KindRecovery}

// String gives the kind in words, for messages.
func (k Kind) String() string {
	switch k {
	case KindVaccination:
		return "vaccination"
	case KindTest:
		return "test"
	case KindRecovery:
		return "recovery"
	}
	return fmt.Sprintf("unknown kind %q", string(k))
}

// Codes from the EU DCC value sets that Corridor itself relies on.
const (
	// DiseaseCOVID19 is the SNOMED CT code of COVID-19 (value set
	// disease-agent-targeted), the only disease a DCC targets.
	DiseaseCOVID19 = "840539006"
	// TestTypeNAAT is the LOINC code for a nucleic acid amplification
	// test, such as RT-PCR (value set covid-19-lab-test-type).
	TestTypeNAAT = "LP6464-4"
	// TestTypeRAT is the LOINC code for a rapid antigen test.
	TestTypeRAT = "LP217198-3"
	// ResultNotDetected is the SNOMED CT code of a negative test result
	// (value set covid-19-lab-result).
	ResultNotDetected = "260415000"
	// ResultDetected is the SNOMED CT code of a positive test result.
	ResultDetected = "260373001"
)

// ErrKind reports a payload that does not hold exactly one kind of entry.
var ErrKind = errors.New("dcc: a certificate must hold exactly one of v (vaccination), t (test), r (recovery)")

// Document is a DCC payload in the JSON data model: the form used for JSON
// output, schema validation and CertLogic rules.
type Document struct {
	// JSON holds the payload: maps with string keys, []any, string,
	// bool, nil, int64 (CBOR integers) and float64 (CBOR floats).
	JSON map[string]any
}

// Kind tells which kind of certificate the document is: the one group of
// v, t and r that holds entries.
func (d *Document) Kind() (Kind, error) {
	var found []string
	kind := Kind("")
	for _, k := range kinds {
		if entries, ok := d.JSON[string(k)].([]any); ok && len(entries) > 0 {
			found = append(found, string(k))
			kind = k
		}
	}
	switch len(found) {
	case 1:
		return kind, nil
	case 0:
		return "", fmt.Errorf("%w: it holds no entry", ErrKind)
	default:
		return "", fmt.Errorf("%w: it holds entries in %s", ErrKind, strings.Join(found, ", "))
	}
}

// Entry returns the certificate's single entry (the first of its group;
// the schema allows exactly one) with its kind.
func (d *Document) Entry() (Kind, map[string]any, error) {
	kind, err := d.Kind()
	if err != nil {
		return "", nil, err
	}
	entry, ok := d.JSON[string(kind)].([]any)[0].(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("dcc: the %s entry is not an object", kind)
	}
	return kind, entry, nil
}

// Version returns the schema version the issuer declared in ver, or "" when
// it is missing or not a string.
func (d *Document) Version() string {
	v, _ := d.JSON["ver"].(string)
	return v
}
