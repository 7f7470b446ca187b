// Package approval holds Corridor's entry approval: the signed invitation
// letter a destination authority issues for one traveller on one lane. It
// rides in the same HC1 envelope as an EU DCC, under a claim of its own
// (hcert.ClaimApproval), so the whole verifier stack — Base45, zlib, COSE,
// trust lists, revocation — is shared. The claim layout is documented in
// docs/approval-claim.md; this file is its single owner in code.
package approval

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Version is the claim layout's version; a verifier refuses a major version
// it does not know.
const Version = "1.0.0"

// Approval is the claim's content. Short CBOR keys keep the QR code small;
// they mirror the DCC's style (nam, dob, ver).
type Approval struct {
	Ver string `cbor:"ver" json:"ver"`
	// ID is the approval's unique identifier, UVCI-shaped so that DCC-style
	// revocation by UCI hash works unchanged.
	ID  string `cbor:"id" json:"id"`
	Nam Name   `cbor:"nam" json:"nam"`
	Dob string `cbor:"dob" json:"dob"`
	// Passport: the holder's passport number never appears in clear; the
	// verifier types the number it reads from the passport and compares a
	// salted SHA-256 (see PassportHash).
	PassportCountry string `cbor:"ppc" json:"ppc"`
	PassportSalt    string `cbor:"pps" json:"pps"`
	PassportHash    string `cbor:"pph" json:"pph"`
	// Lane is "ORIGIN-DESTINATION" in ISO 3166-1 alpha-2, e.g. "CN-KR".
	Lane       string `cbor:"ln" json:"ln"`
	Region     string `cbor:"rg" json:"rg"`
	Purpose    string `cbor:"pu" json:"pu"`
	ValidFrom  string `cbor:"vf" json:"vf"` // RFC 3339
	ValidUntil string `cbor:"vu" json:"vu"` // RFC 3339
	Itinerary  string `cbor:"it" json:"it"` // itinerary reference on the destination node
	Authority  string `cbor:"au" json:"au"` // approving authority's name
	Sponsor    string `cbor:"sp,omitempty" json:"sp,omitempty"`
}

// Name is the holder's name as on the passport, with the ICAO 9303
// transliterations a border officer compares against the MRZ.
type Name struct {
	Fn  string `cbor:"fn,omitempty" json:"fn,omitempty"`
	Fnt string `cbor:"fnt" json:"fnt"`
	Gn  string `cbor:"gn,omitempty" json:"gn,omitempty"`
	Gnt string `cbor:"gnt,omitempty" json:"gnt,omitempty"`
}

var (
	reCountry = regexp.MustCompile(`^[A-Z]{2}$`)
	reLane    = regexp.MustCompile(`^[A-Z]{2}-[A-Z]{2}$`)
	reICAO    = regexp.MustCompile(`^[A-Z<]*$`)
	reDob     = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)
	reHex     = regexp.MustCompile(`^[0-9a-f]+$`)
	rePass    = regexp.MustCompile(`^[A-Z0-9]{5,20}$`)
)

// FieldError names the field at fault, so forms and API answers can point
// at it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks every field. It returns all problems joined, each a
// *FieldError.
func (a *Approval) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	text := func(field, v string, max int, required bool) {
		switch {
		case v == "" && required:
			bad(field, "is required")
		case utf8.RuneCountInString(v) > max:
			bad(field, "is longer than %d characters", max)
		case !utf8.ValidString(v):
			bad(field, "is not valid UTF-8")
		}
	}
	if major, _, _ := strings.Cut(a.Ver, "."); major != "1" {
		bad("ver", "version %q is not supported (this verifier reads 1.x)", a.Ver)
	}
	text("id", a.ID, 80, true)
	text("nam.fn", a.Nam.Fn, 80, false)
	text("nam.gn", a.Nam.Gn, 80, false)
	if a.Nam.Fnt == "" {
		bad("nam.fnt", "is required")
	} else if len(a.Nam.Fnt) > 80 || !reICAO.MatchString(a.Nam.Fnt) {
		bad("nam.fnt", "must be the ICAO transliteration: A-Z and '<', at most 80")
	}
	if a.Nam.Gnt != "" && (len(a.Nam.Gnt) > 80 || !reICAO.MatchString(a.Nam.Gnt)) {
		bad("nam.gnt", "must be the ICAO transliteration: A-Z and '<', at most 80")
	}
	if !reDob.MatchString(a.Dob) {
		bad("dob", "must be YYYY, YYYY-MM or YYYY-MM-DD")
	}
	if !reCountry.MatchString(a.PassportCountry) {
		bad("ppc", "must be an ISO 3166-1 alpha-2 code")
	}
	if len(a.PassportSalt) != 32 || !reHex.MatchString(a.PassportSalt) {
		bad("pps", "must be 16 bytes in lower-case hex")
	}
	if len(a.PassportHash) != 64 || !reHex.MatchString(a.PassportHash) {
		bad("pph", "must be a SHA-256 in lower-case hex")
	}
	if !reLane.MatchString(a.Lane) || a.Lane[:2] == a.Lane[3:] {
		bad("ln", "must be ORIGIN-DESTINATION, two different ISO 3166-1 alpha-2 codes")
	}
	text("rg", a.Region, 60, true)
	text("pu", a.Purpose, 60, true)
	text("it", a.Itinerary, 80, true)
	text("au", a.Authority, 120, true)
	text("sp", a.Sponsor, 120, false)
	from, errFrom := time.Parse(time.RFC3339, a.ValidFrom)
	if errFrom != nil {
		bad("vf", "must be an RFC 3339 time")
	}
	until, errUntil := time.Parse(time.RFC3339, a.ValidUntil)
	if errUntil != nil {
		bad("vu", "must be an RFC 3339 time")
	}
	if errFrom == nil && errUntil == nil && !until.After(from) {
		bad("vu", "must be after vf")
	}
	return errors.Join(errs...)
}

// Window returns the approval's validity window.
func (a *Approval) Window() (from, until time.Time, err error) {
	if from, err = time.Parse(time.RFC3339, a.ValidFrom); err != nil {
		return from, until, &FieldError{Field: "vf", Msg: "must be an RFC 3339 time"}
	}
	if until, err = time.Parse(time.RFC3339, a.ValidUntil); err != nil {
		return from, until, &FieldError{Field: "vu", Msg: "must be an RFC 3339 time"}
	}
	return from, until, nil
}

// NormalizePassport puts a passport number in the form that is hashed:
// upper case, with the spaces and dashes people type removed.
func NormalizePassport(number string) (string, error) {
	n := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(number)))
	if !rePass.MatchString(n) {
		return "", &FieldError{Field: "passport", Msg: "must be 5 to 20 letters and digits"}
	}
	return n, nil
}

// PassportHash is SHA-256(salt || country || ":" || number) in hex. The
// random per-approval salt stops one precomputed table from unmasking every
// approval; the country binds the number to its issuing state.
func PassportHash(saltHex, country, number string) (string, error) {
	salt, err := hex.DecodeString(saltHex)
	if err != nil || len(salt) != 16 {
		return "", &FieldError{Field: "pps", Msg: "must be 16 bytes in lower-case hex"}
	}
	n, err := NormalizePassport(number)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(country + ":" + n))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SetPassport draws a fresh salt from random (crypto/rand when nil) and
// stores the salted hash of the passport number.
func (a *Approval) SetPassport(country, number string, random io.Reader) error {
	if random == nil {
		random = rand.Reader
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(random, salt); err != nil {
		return fmt.Errorf("approval: drawing passport salt: %w", err)
	}
	a.PassportCountry = country
	a.PassportSalt = hex.EncodeToString(salt)
	h, err := PassportHash(a.PassportSalt, country, number)
	if err != nil {
		return err
	}
	a.PassportHash = h
	return nil
}

// MatchesPassport tells whether the passport a border officer holds is the
// one the approval was issued for.
func (a *Approval) MatchesPassport(country, number string) bool {
	h, err := PassportHash(a.PassportSalt, country, number)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h), []byte(a.PassportHash)) == 1
}

var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // fixed options: a failure is a programming error
	}
	return em
}()

var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  8,
		MaxArrayElements: 64,
		MaxMapPairs:      64,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// Marshal encodes the approval as deterministic CBOR after validating it.
func Marshal(a *Approval) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	b, err := encMode.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("approval: encoding: %w", err)
	}
	return b, nil
}

// Unmarshal decodes and validates an approval claim.
func Unmarshal(b []byte) (*Approval, error) {
	var a Approval
	if err := decMode.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("approval: claim is not a valid approval structure: %w", err)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	return &a, nil
}
