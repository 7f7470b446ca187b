// Package issuer turns what a lab or an authority knows into signed
// credentials: a DCC test result, any DCC given as JSON, or an entry
// approval. It owns the choices an issuer makes (validity, UVCI, name
// transliteration) so the command line and the node issue alike.
package issuer

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/hcert"
)

// Signer is a document signer: its key, kid and the country it issues for
// (the CWT iss claim).
type Signer struct {
	Key     crypto.Signer
	Kid     []byte
	Country string
}

func (s Signer) check() error {
	switch {
	case s.Key == nil:
		return errors.New("issuer: no signing key")
	case len(s.Kid) != 8:
		return fmt.Errorf("issuer: kid must be 8 bytes, not %d", len(s.Kid))
	case len(s.Country) != 2 || strings.ToUpper(s.Country) != s.Country:
		return fmt.Errorf("issuer: country %q is not an ISO 3166-1 alpha-2 code", s.Country)
	}
	return nil
}

// TestResult is what a lab records for one test.
type TestResult struct {
	FamilyName string // as on the passport
	GivenName  string
	// FamilyNameT, GivenNameT: ICAO transliterations; derived from the
	// names when empty, which works for Latin script only (a Chinese or
	// Korean traveller's passport gives the Latin form).
	FamilyNameT, GivenNameT string
	DateOfBirth             string // YYYY-MM-DD, YYYY-MM, YYYY
	Type                    string // "NAAT" or "RAT" (or the value-set code)
	Positive                bool
	SampledAt               time.Time
	TestName                string // NAAT name (nm), optional
	Manufacturer            string // RAT device id (ma), required for RAT
	Centre                  string // testing centre (tc)
	Country                 string // country of test (co)
	Issuer                  string // certificate issuer (is)
	UVCI                    string // generated when empty
	// ValidFor is how long after sampling the credential's CWT expiry
	// lies; zero means DefaultTestValidity.
	ValidFor time.Duration
}

// DefaultTestValidity bounds how long a test result credential is
// technically valid. Entry rules decide how old a test may be (e.g. 72 h);
// this is only the envelope's outer limit.
const DefaultTestValidity = 7 * 24 * time.Hour

// testTypeCodes maps the words officials use to the DCC value-set codes.
var testTypeCodes = map[string]string{"NAAT": dcc.TestTypeNAAT, "PCR": dcc.TestTypeNAAT, "RAT": dcc.TestTypeRAT,
	dcc.TestTypeNAAT: dcc.TestTypeNAAT, dcc.TestTypeRAT: dcc.TestTypeRAT}

// Payload builds the DCC payload of a test result, drawing a UVCI from
// random when none is given.
func (tr TestResult) Payload(random io.Reader) (*dcc.Payload, error) {
	code, ok := testTypeCodes[strings.ToUpper(tr.Type)]
	if !ok {
		return nil, fmt.Errorf("issuer: test type %q: want NAAT or RAT", tr.Type)
	}
	if tr.SampledAt.IsZero() {
		return nil, errors.New("issuer: the sample time is required")
	}
	if code == dcc.TestTypeRAT && tr.Manufacturer == "" {
		return nil, errors.New("issuer: a rapid antigen test needs its device identifier (manufacturer)")
	}
	fnt, gnt := tr.FamilyNameT, tr.GivenNameT
	var err error
	if fnt == "" {
		if fnt, err = dcc.Transliterate(tr.FamilyName); err != nil {
			return nil, fmt.Errorf("issuer: family name: %w", err)
		}
	}
	if gnt == "" && tr.GivenName != "" {
		if gnt, err = dcc.Transliterate(tr.GivenName); err != nil {
			return nil, fmt.Errorf("issuer: given name: %w", err)
		}
	}
	uvci := tr.UVCI
	if random == nil {
		random = rand.Reader
	}
	if uvci == "" {
		if uvci, err = dcc.NewUVCI(tr.Country, "CORRIDOR", random); err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
	}
	result := dcc.ResultNotDetected
	if tr.Positive {
		result = dcc.ResultDetected
	}
	return &dcc.Payload{
		Ver: dcc.SchemaVersion,
		Nam: dcc.Name{Fn: tr.FamilyName, Fnt: fnt, Gn: tr.GivenName, Gnt: gnt},
		Dob: tr.DateOfBirth,
		T: []dcc.Test{{
			Tg: dcc.DiseaseCOVID19, Tt: code, Nm: tr.TestName, Ma: tr.Manufacturer,
			Sc: tr.SampledAt.UTC().Format(time.RFC3339), Tr: result, Tc: tr.Centre,
			Co: tr.Country, Is: tr.Issuer, Ci: uvci,
		}},
	}, nil
}

// IssueTest signs a test result. It returns the HC1 text and the payload
// it signed.
func IssueTest(s Signer, tr TestResult, now time.Time, random io.Reader) (string, *dcc.Payload, error) {
	if err := s.check(); err != nil {
		return "", nil, err
	}
	p, err := tr.Payload(random)
	if err != nil {
		return "", nil, err
	}
	if tr.SampledAt.After(now) {
		return "", nil, fmt.Errorf("issuer: the sample time %s is in the future", tr.SampledAt.UTC().Format(time.RFC3339))
	}
	body, err := dcc.EncodeCBOR(p)
	if err != nil {
		return "", nil, fmt.Errorf("issuer: %w", err)
	}
	valid := tr.ValidFor
	if valid == 0 {
		valid = DefaultTestValidity
	}
	hc1, err := hcert.Encode(hcert.Claims{Issuer: s.Country, IssuedAt: now, ExpiresAt: tr.SampledAt.Add(valid), HCert: body}, s.Kid, s.Key)
	if err != nil {
		return "", nil, fmt.Errorf("issuer: %w", err)
	}
	return hc1, p, nil
}

// IssueDCC signs any DCC payload given as JSON (vaccination, test or
// recovery), after checking it against the DCC schema: what Corridor
// issues, every verifier must accept.
func IssueDCC(s Signer, doc map[string]any, now, expires time.Time) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	if err := dcc.ValidateSchema(doc); err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	if !expires.After(now) {
		return "", errors.New("issuer: the expiry must be after the issue time")
	}
	body, err := dcc.EncodeJSON(doc)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	hc1, err := hcert.Encode(hcert.Claims{Issuer: s.Country, IssuedAt: now, ExpiresAt: expires, HCert: body}, s.Kid, s.Key)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	return hc1, nil
}

// IssueApproval signs an entry approval; its CWT expiry is the end of its
// validity window.
func IssueApproval(s Signer, a *approval.Approval, now time.Time) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	body, err := approval.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	_, until, err := a.Window()
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	if dest := a.Lane[3:]; dest != s.Country {
		return "", fmt.Errorf("issuer: an approval for lane %s is issued by %s, not %s", a.Lane, dest, s.Country)
	}
	hc1, err := hcert.Encode(hcert.Claims{Issuer: s.Country, IssuedAt: now, ExpiresAt: until, Approval: body}, s.Kid, s.Key)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	return hc1, nil
}
