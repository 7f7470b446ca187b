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
// verify path must work offline from the binary alone and cost little
// beside the signature check; the schema is small and frozen, and a
// differential test holds this code to the official schema files.
//
// Every payload is held to the 1.3.x rules, whatever version its ver
// field declares. Upstream's reference harness (dgc-testdata,
// tests/test_ehealth_certs.py) instead loads the schema release named by
// the payload's own ver (1.0.0 … 1.3.0; the latest one for any other ver,
// such as Ireland's "1.0.4") and ignores the vectors' TESTCTX.SCHEMA. One
// rule set is the better choice for a verifier: ver is written by the
// issuer, so choosing rules by it would let an issuer pick the laxest.
// 1.3 relaxed the main limits of older releases (50-character texts, dn
// and sd at most 9, fnt and tc required). It is stricter in three ways:
// a certificate holds one group, which the harness demands of every
// version too (its "multiple certificates" check); a group holds one
// entry; and the NAAT name nm has at most 80 characters.
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

// schemaCheck gathers violations while walking a payload. Paths are
// built only for violations, so checking a good payload allocates little.
type schemaCheck struct {
	violations []Violation
}

func (c *schemaCheck) fail(path, format string, args ...any) {
	c.violations = append(c.violations, Violation{Path: path, Problem: fmt.Sprintf(format, args...)})
}

func (c *schemaCheck) report(path string, problems []string) {
	for _, p := range problems {
		c.violations = append(c.violations, Violation{Path: path, Problem: p})
	}
}

// A fieldCheck returns what is wrong with a value, or nothing.
type fieldCheck func(v any) []string

// field is one property of an object in the schema.
type field struct {
	name     string
	required bool
	check    fieldCheck
}

// The entries of the three groups and the name, field by field, in
// schema order.
var (
	vaccinationFields = []field{
		{"tg", true, code},
		{"vp", true, code},
		{"mp", true, code},
		{"ma", true, code},
		{"dn", true, dose},
		{"sd", true, dose},
		{"dt", true, date},
		{"co", true, country},
		{"is", true, text},
		{"ci", true, text},
	}
	testFields = []field{
		{"tg", true, code},
		{"tt", true, code},
		{"nm", false, text},
		{"ma", false, code},
		{"sc", true, dateTime},
		{"tr", true, code},
		{"tc", false, text},
		{"co", true, country},
		{"is", true, text},
		{"ci", true, text},
	}
	recoveryFields = []field{
		{"tg", true, code},
		{"fr", true, date},
		{"co", true, country},
		{"is", true, text},
		{"df", true, date},
		{"du", true, date},
		{"ci", true, text},
	}
	nameFields = []field{
		{"fn", false, text},
		{"fnt", false, standardisedName},
		{"gn", false, text},
		{"gnt", false, standardisedName},
	}
	groupFields = map[Kind][]field{
		KindVaccination: vaccinationFields,
		KindTest:        testFields,
		KindRecovery:    recoveryFields,
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
	case 2:
		c.fail("", "%s and %s are both present; a certificate holds exactly one of v, t and r", groups[0], groups[1])
	default:
		c.fail("", "v, t and r are all present; a certificate holds exactly one of them")
	}

	if v, ok := doc["ver"]; ok {
		c.report("/ver", version(v))
	}
	if v, ok := doc["nam"]; ok {
		c.name("/nam", v)
	}
	if v, ok := doc["dob"]; ok {
		c.report("/dob", birthDate(v))
	}
	for _, k := range kinds {
		if v, ok := doc[string(k)]; ok {
			c.group(k, v)
		}
	}
}

// group checks v, t or r: an array of exactly one entry.
func (c *schemaCheck) group(kind Kind, v any) {
	path := "/" + string(kind)
	items, ok := v.([]any)
	if !ok {
		c.report(path, wrongType("an array", v))
		return
	}
	switch {
	case len(items) == 0:
		c.fail(path, "holds no %s entry; it must hold exactly one", kind)
	case len(items) > 1:
		c.fail(path, "holds %d %s entries; it must hold exactly one", len(items), kind)
	}
	for i, item := range items {
		c.object(path, i, item, groupFields[kind])
	}
}

// object checks an object against its fields, and reports whether v was
// an object. The object sits at parent, or at parent's item index when
// index is not negative.
func (c *schemaCheck) object(parent string, index int, v any, fields []field) (map[string]any, bool) {
	path := func() string {
		if index < 0 {
			return parent
		}
		return pointer(parent, strconv.Itoa(index))
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.report(path(), wrongType("an object", v))
		return nil, false
	}
	for _, f := range fields {
		value, present := m[f.name]
		switch {
		case present:
			if problems := f.check(value); problems != nil {
				c.report(pointer(path(), f.name), problems)
			}
		case f.required:
			c.fail(path(), "the required field %q is missing", f.name)
		}
	}
	return m, true
}

// name checks nam: its fields, and at least one standardised name.
func (c *schemaCheck) name(path string, v any) {
	m, ok := c.object(path, -1, v, nameFields)
	if !ok {
		return
	}
	_, hasFnt := m["fnt"]
	_, hasGnt := m["gnt"]
	if !hasFnt && !hasGnt {
		c.fail(path, "neither the standardised surname \"fnt\" nor the standardised forename \"gnt\" is present; at least one is required")
	}
}

func version(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return wrongType("a string", v)
	case !matchesVersionPattern(s):
		return []string{"must be a schema version such as 1.3.0 (pattern ^\\d+.\\d+.\\d+$)"}
	}
	return nil
}

func birthDate(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return wrongType("a string", v)
	case !isBirthDate(s):
		return []string{"must be a date of birth written YYYY-MM-DD, YYYY-MM or YYYY with a year from 1900 to 2099, or be empty"}
	}
	return nil
}

// code checks a value-set code, which the schema types as a string only.
func code(v any) []string {
	if _, ok := v.(string); !ok {
		return wrongType("a string", v)
	}
	return nil
}

// text checks free text: a string of at most 80 characters.
func text(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return wrongType("a string", v)
	case utf8.RuneCountInString(s) > maxTextLength:
		return []string{tooLong(s)}
	}
	return nil
}

func standardisedName(v any) []string {
	s, ok := v.(string)
	if !ok {
		return wrongType("a string", v)
	}
	var problems []string
	if strings.ContainsFunc(s, func(r rune) bool { return (r < 'A' || r > 'Z') && r != '<' }) {
		problems = append(problems, "must hold only the capital letters A-Z and the filler <, as ICAO 9303 standardises names")
	}
	if utf8.RuneCountInString(s) > maxTextLength {
		problems = append(problems, tooLong(s))
	}
	return problems
}

// country checks co. The schema's pattern [A-Z]{1,10} has no anchors, so
// it only asks for one capital letter somewhere; the value sets hold the
// real codes.
func country(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return wrongType("a string", v)
	case !strings.ContainsFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' }):
		return []string{"must be a country code in capital letters, such as KR"}
	}
	return nil
}

func date(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return wrongType("a string", v)
	case !isFullDate(s):
		return []string{"must be a calendar date written YYYY-MM-DD"}
	}
	return nil
}

func dateTime(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return wrongType("a string", v)
	case !isDateTime(s):
		return []string{"must be a date and time as RFC 3339 writes it, such as 2021-05-20T08:30:00Z or 2021-05-20T10:30:00+02:00"}
	}
	return nil
}

func dose(v any) []string {
	isNumber, isInteger, atLeastOne := numberFacts(v)
	switch {
	case !isNumber:
		return wrongType("a whole number", v)
	case !isInteger:
		return []string{"must be a whole number"}
	case !atLeastOne:
		return []string{fmt.Sprintf("must be at least %d", minDose)}
	}
	return nil
}

func tooLong(s string) string {
	return fmt.Sprintf("is %d characters long; at most %d are allowed", utf8.RuneCountInString(s), maxTextLength)
}

func wrongType(want string, v any) []string {
	return []string{"must be " + want + ", not " + jsonKind(v)}
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
