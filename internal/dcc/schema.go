package dcc

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SchemaVersion is the release of the official DCC JSON schema
// (ehn-dcc-development/eu-dcc-schema) that ValidateSchema implements.
const SchemaVersion = "1.3.3"

// Limits of the schema.
const (
	maxTextLength = 80 // maxLength of names, issuer, UVCI, test name and centre
	minDose       = 1  // minimum of dn and sd; 1.3 dropped the old maximum of 9
)

// Violation is one way in which a payload breaks the schema.
type Violation struct {
	// Path is the JSON Pointer (RFC 6901) of the offending value; "" is the
	// payload itself.
	Path string
	// Problem says what is wrong, in plain words. It never repeats the
	// value, since payloads carry personal data.
	Problem string
}

func (v Violation) String() string {
	return where(v.Path) + ": " + v.Problem
}

// SchemaError lists every violation found in a payload.
type SchemaError struct {
	Violations []Violation
}

func (e *SchemaError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	noun := "violation"
	if len(parts) > 1 {
		noun = "violations"
	}
	return fmt.Sprintf("dcc: payload does not match DCC schema %s (%d %s): %s",
		SchemaVersion, len(parts), noun, strings.Join(parts, "; "))
}

// ValidateSchema checks a payload in the JSON data model against the DCC
// schema and returns a *SchemaError listing every violation, or nil.
//
// It is written by hand, not run by a JSON Schema engine, because the
// verify path must work offline from the binary alone and cost about a
// microsecond; the schema is small and frozen, and a differential test
// holds this code to the official schema files.
//
// Every payload is held to the 1.3.x rules, whatever version its ver
// field declares. Upstream's reference harness (dgc-testdata,
// tests/test_ehealth_certs.py) instead loads the schema release named by
// the payload's own ver (1.0.0 … 1.3.0; the latest one for any other ver,
// such as Ireland's "1.0.4") and ignores the vectors' TESTCTX.SCHEMA. One
// rule set is the better choice for a verifier: ver is written by the
// issuer, so choosing rules by it would let an issuer pick the laxest
// ones, and 1.3 was made to accept what older releases issued (it lifted
// the 50-character limits, the dose maximum of 9 and the required fnt and
// tc). The two things older releases allowed and 1.3 does not, several
// entries in a group and several groups in a certificate, the harness
// refuses for every version too (its "multiple certificates" check).
//
// As in the official schema, fields not named by it are allowed, value-set
// codes are checked for type only (see LoadValueSets for the codes), and
// format "date" and "date-time" are asserted as RFC 3339 full-date and
// date-time.
func ValidateSchema(doc map[string]any) error {
	var c schemaCheck
	c.certificate(doc)
	if len(c.violations) == 0 {
		return nil
	}
	return &SchemaError{Violations: c.violations}
}

// schemaCheck gathers violations while walking a payload.
type schemaCheck struct {
	violations []Violation
}

func (c *schemaCheck) fail(path, format string, args ...any) {
	c.violations = append(c.violations, Violation{Path: path, Problem: fmt.Sprintf(format, args...)})
}

// field is one property of an object in the schema.
type field struct {
	name     string
	required bool
	check    func(c *schemaCheck, path string, v any)
}

// The entries of the three groups, field by field, in schema order.
var (
	vaccinationFields = []field{
		{"tg", true, (*schemaCheck).code},
		{"vp", true, (*schemaCheck).code},
		{"mp", true, (*schemaCheck).code},
		{"ma", true, (*schemaCheck).code},
		{"dn", true, (*schemaCheck).dose},
		{"sd", true, (*schemaCheck).dose},
		{"dt", true, (*schemaCheck).date},
		{"co", true, (*schemaCheck).country},
		{"is", true, (*schemaCheck).text},
		{"ci", true, (*schemaCheck).text},
	}
	testFields = []field{
		{"tg", true, (*schemaCheck).code},
		{"tt", true, (*schemaCheck).code},
		{"nm", false, (*schemaCheck).text},
		{"ma", false, (*schemaCheck).code},
		{"sc", true, (*schemaCheck).dateTime},
		{"tr", true, (*schemaCheck).code},
		{"tc", false, (*schemaCheck).text},
		{"co", true, (*schemaCheck).country},
		{"is", true, (*schemaCheck).text},
		{"ci", true, (*schemaCheck).text},
	}
	recoveryFields = []field{
		{"tg", true, (*schemaCheck).code},
		{"fr", true, (*schemaCheck).date},
		{"co", true, (*schemaCheck).country},
		{"is", true, (*schemaCheck).text},
		{"df", true, (*schemaCheck).date},
		{"du", true, (*schemaCheck).date},
		{"ci", true, (*schemaCheck).text},
	}
	nameFields = []field{
		{"fn", false, (*schemaCheck).text},
		{"fnt", false, (*schemaCheck).standardisedName},
		{"gn", false, (*schemaCheck).text},
		{"gnt", false, (*schemaCheck).standardisedName},
	}
)

// certificate checks the top level: the oneOf of three required sets
// (ver, nam, dob and exactly one of v, t, r) and the properties.
func (c *schemaCheck) certificate(doc map[string]any) {
	for _, name := range [...]string{"ver", "nam", "dob"} {
		if _, ok := doc[name]; !ok {
			c.fail("", "the required field %q is missing", name)
		}
	}
	var groups []string
	for _, k := range kinds {
		if _, ok := doc[string(k)]; ok {
			groups = append(groups, string(k))
		}
	}
	switch len(groups) {
	case 0:
		c.fail("", "none of v (vaccination), t (test) and r (recovery) is present; exactly one is required")
	case 1:
	default:
		c.fail("", "%s are all present; a certificate holds exactly one of v, t and r", strings.Join(groups, ", "))
	}

	if v, ok := doc["ver"]; ok {
		c.version("/ver", v)
	}
	if v, ok := doc["nam"]; ok {
		c.name("/nam", v)
	}
	if v, ok := doc["dob"]; ok {
		c.birthDate("/dob", v)
	}
	c.group(doc, KindVaccination, vaccinationFields)
	c.group(doc, KindTest, testFields)
	c.group(doc, KindRecovery, recoveryFields)
}

// group checks v, t or r: an array of exactly one entry.
func (c *schemaCheck) group(doc map[string]any, kind Kind, fields []field) {
	v, ok := doc[string(kind)]
	if !ok {
		return
	}
	path := pointer("", string(kind))
	items, ok := v.([]any)
	if !ok {
		c.wrongType(path, "an array", v)
		return
	}
	switch {
	case len(items) == 0:
		c.fail(path, "holds no %s entry; it must hold exactly one", kind)
	case len(items) > 1:
		c.fail(path, "holds %d %s entries; it must hold exactly one", len(items), kind)
	}
	for i, item := range items {
		c.object(pointer(path, strconv.Itoa(i)), item, fields)
	}
}

// object checks an object against its fields; it reports whether v was
// an object.
func (c *schemaCheck) object(path string, v any, fields []field) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.wrongType(path, "an object", v)
		return nil, false
	}
	for _, f := range fields {
		value, present := m[f.name]
		switch {
		case present:
			f.check(c, pointer(path, f.name), value)
		case f.required:
			c.fail(path, "the required field %q is missing", f.name)
		}
	}
	return m, true
}

// name checks nam: its fields, and at least one standardised name.
func (c *schemaCheck) name(path string, v any) {
	m, ok := c.object(path, v, nameFields)
	if !ok {
		return
	}
	_, hasFnt := m["fnt"]
	_, hasGnt := m["gnt"]
	if !hasFnt && !hasGnt {
		c.fail(path, "neither the standardised surname \"fnt\" nor the standardised forename \"gnt\" is present; at least one is required")
	}
}

func (c *schemaCheck) version(path string, v any) {
	s, ok := c.str(path, v)
	if ok && !matchesVersionPattern(s) {
		c.fail(path, "must be a schema version such as 1.3.0 (pattern ^\\d+.\\d+.\\d+$)")
	}
}

func (c *schemaCheck) birthDate(path string, v any) {
	s, ok := c.str(path, v)
	if ok && !isBirthDate(s) {
		c.fail(path, "must be a date of birth written YYYY-MM-DD, YYYY-MM or YYYY with a year from 1900 to 2099, or be empty")
	}
}

// code checks a value-set code, which the schema types as a string only.
func (c *schemaCheck) code(path string, v any) {
	c.str(path, v)
}

// text checks free text: a string of at most 80 characters.
func (c *schemaCheck) text(path string, v any) {
	if s, ok := c.str(path, v); ok {
		c.maxLength(path, s)
	}
}

func (c *schemaCheck) standardisedName(path string, v any) {
	s, ok := c.str(path, v)
	if !ok {
		return
	}
	if strings.ContainsFunc(s, func(r rune) bool { return (r < 'A' || r > 'Z') && r != '<' }) {
		c.fail(path, "must hold only the capital letters A-Z and the filler <, as ICAO 9303 standardises names")
	}
	c.maxLength(path, s)
}

// country checks co. The schema's pattern [A-Z]{1,10} has no anchors, so
// it only asks for one capital letter somewhere; the value sets hold the
// real codes.
func (c *schemaCheck) country(path string, v any) {
	s, ok := c.str(path, v)
	if ok && !strings.ContainsFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
		c.fail(path, "must be a country code in capital letters, such as KR")
	}
}

func (c *schemaCheck) date(path string, v any) {
	s, ok := c.str(path, v)
	if ok && !isFullDate(s) {
		c.fail(path, "must be a calendar date written YYYY-MM-DD")
	}
}

func (c *schemaCheck) dateTime(path string, v any) {
	s, ok := c.str(path, v)
	if ok && !isDateTime(s) {
		c.fail(path, "must be a date and time as RFC 3339 writes it, such as 2021-05-20T08:30:00Z or 2021-05-20T10:30:00+02:00")
	}
}

func (c *schemaCheck) dose(path string, v any) {
	isNumber, isInteger, atLeastOne := numberFacts(v)
	switch {
	case !isNumber:
		c.wrongType(path, "a whole number", v)
	case !isInteger:
		c.fail(path, "must be a whole number")
	case !atLeastOne:
		c.fail(path, "must be at least %d", minDose)
	}
}

func (c *schemaCheck) str(path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.wrongType(path, "a string", v)
	}
	return s, ok
}

func (c *schemaCheck) maxLength(path string, s string) {
	if n := utf8.RuneCountInString(s); n > maxTextLength {
		c.fail(path, "is %d characters long; at most %d are allowed", n, maxTextLength)
	}
}

func (c *schemaCheck) wrongType(path, want string, v any) {
	c.fail(path, "must be %s, not %s", want, jsonKind(v))
}

// jsonKind names the JSON type of a value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	if isNumber, _, _ := numberFacts(v); isNumber {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

var one = big.NewRat(1, 1)

// numberFacts tells whether v is a JSON number, whether it is a whole
// number and whether it is at least 1, for the Go types that hold JSON
// numbers (encoding/json's float64 and json.Number, Parse's int64, and
// the other integer and float types).
func numberFacts(v any) (isNumber, isInteger, atLeastOne bool) {
	switch x := v.(type) {
	case int64:
		return true, true, x >= 1
	case float64:
		return floatFacts(x)
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return false, false, false
		}
		return true, r.IsInt(), r.Cmp(one) >= 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true, true, rv.Int() >= 1
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true, true, rv.Uint() >= 1
	case reflect.Float32, reflect.Float64:
		return floatFacts(rv.Float())
	}
	return false, false, false
}

func floatFacts(f float64) (isNumber, isInteger, atLeastOne bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false, false, false
	}
	return true, f == math.Trunc(f), f >= 1
}
