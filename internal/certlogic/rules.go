package certlogic

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rule types and certificate types of the EU validation-rule format.
const (
	RuleAcceptance   = "Acceptance"
	RuleInvalidation = "Invalidation"

	CertGeneral     = "General"
	CertTest        = "Test"
	CertVaccination = "Vaccination"
	CertRecovery    = "Recovery"

	// CertApproval is Corridor's extension of the rule format: rules on
	// an entry approval (docs/approval-claim.md), identified "AR-…".
	CertApproval = "Approval"

	// EngineCertLogic is the only engine this package runs.
	EngineCertLogic = "CERTLOGIC"
)

// Description is a rule's human-readable description in one language.
type Description struct {
	Lang string `json:"lang"`
	Desc string `json:"desc"`
}

// Rule is a business rule in the shape the EU DCC gateway distributes
// (validation-rule.schema.json of eu-digital-green-certificates/dgc-gateway).
// Region is the optional sub-national scope later gateway versions added.
type Rule struct {
	Identifier      string        `json:"Identifier"`
	Type            string        `json:"Type"`
	Country         string        `json:"Country"`
	Region          string        `json:"Region,omitempty"`
	Version         string        `json:"Version"`
	SchemaVersion   string        `json:"SchemaVersion"`
	Engine          string        `json:"Engine"`
	EngineVersion   string        `json:"EngineVersion"`
	CertificateType string        `json:"CertificateType"`
	Description     []Description `json:"Description"`
	ValidFrom       time.Time     `json:"ValidFrom"`
	ValidTo         time.Time     `json:"ValidTo"`
	AffectedFields  []string      `json:"AffectedFields"`
	Logic           any           `json:"Logic"`
}

// EnglishDescription returns the rule's description in English ("" if none).
func (r *Rule) EnglishDescription() string {
	for _, d := range r.Description {
		if d.Lang == "en" {
			return d.Desc
		}
	}
	return ""
}

// Patterns of the gateway's rule schema.
var (
	identifierPattern = regexp.MustCompile(`^(GR|VR|TR|RR|AR|IR)-([A-Z]{2})-\d{4}$`)
	countryPattern    = regexp.MustCompile(`^[A-Z]{2}$`)
	versionPattern    = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)
	langPattern       = regexp.MustCompile(`^([a-z]{2}|[a-z]{2}-[a-z]{2})$`)
	timestampPattern  = regexp.MustCompile(`^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d([-+][0-2]\d:[0-5]\d|Z)$`)
)

// identifierPrefix maps a rule identifier's prefix to what it stands for:
// IR marks invalidation rules, the others the certificate type.
var identifierPrefix = map[string]string{
	"GR": CertGeneral, "VR": CertVaccination, "TR": CertTest, "RR": CertRecovery, "AR": CertApproval, "IR": RuleInvalidation,
}

// minDescriptionLength is the gateway schema's minimum for "desc".
const minDescriptionLength = 20

// LoadRules reads one rule object or an array of them and checks each
// against the gateway's rule schema: required fields, identifier, country,
// version and timestamp formats, an English description, an identifier
// consistent with the rule's type, certificate type and country, ValidFrom
// before ValidTo, and Logic a valid CertLogic expression. It reports every
// problem found, not just the first.
func LoadRules(data []byte) ([]Rule, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var raws []map[string]any
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []any
		if err := decodeStrict(data, &list, false); err != nil {
			return nil, fmt.Errorf("certlogic: rules: %w", err)
		}
		for i, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("certlogic: rules: item #%d is %s, not a rule object", i+1, typeName(it))
			}
			raws = append(raws, m)
		}
	} else {
		var one map[string]any
		if err := decodeStrict(data, &one, false); err != nil {
			return nil, fmt.Errorf("certlogic: rules: %w", err)
		}
		if one == nil {
			return nil, errors.New("certlogic: rules: want a rule object or an array of them, got null")
		}
		raws = append(raws, one)
	}

	var errs []error
	rules := make([]Rule, 0, len(raws))
	seen := map[string]int{}
	for i, raw := range raws {
		r, problems := parseRule(raw)
		label := fmt.Sprintf("rule #%d", i+1)
		if r.Identifier != "" {
			label += " " + r.Identifier
		}
		if r.Identifier != "" && r.Version != "" {
			key := r.Identifier + "@" + r.Version
			if prev, dup := seen[key]; dup {
				problems = append(problems, fmt.Sprintf("version %s repeats rule #%d", r.Version, prev))
			} else {
				seen[key] = i + 1
			}
		}
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: %s", label, p))
		}
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, &InvalidRulesError{Problems: errs}
	}
	return rules, nil
}

// InvalidRulesError lists every problem LoadRules found, each naming its
// rule.
type InvalidRulesError struct {
	Problems []error
}

func (e *InvalidRulesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "certlogic: invalid rules (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *InvalidRulesError) Unwrap() []error { return e.Problems }

// parseRule converts one decoded rule object, listing what is wrong with it.
func parseRule(raw map[string]any) (Rule, []string) {
	var r Rule
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	known := []string{"Identifier", "Type", "Country", "Region", "Version", "SchemaVersion", "Engine",
		"EngineVersion", "CertificateType", "Description", "ValidFrom", "ValidTo", "AffectedFields", "Logic"}
	for k := range raw {
		if !slices.Contains(known, k) {
			bad("unknown field %q", k)
		}
	}
	str := func(field string, required bool) string {
		v, present := raw[field]
		if !present {
			if required {
				bad("missing %s", field)
			}
			return ""
		}
		s, ok := v.(string)
		if !ok {
			bad("%s must be a string, not %s", field, typeName(v))
		}
		return s
	}
	r.Identifier = str("Identifier", true)
	r.Type = str("Type", true)
	r.Country = str("Country", true)
	r.Region = str("Region", false)
	r.Version = str("Version", true)
	r.SchemaVersion = str("SchemaVersion", true)
	r.Engine = str("Engine", true)
	r.EngineVersion = str("EngineVersion", true)
	r.CertificateType = str("CertificateType", true)
	validFrom := str("ValidFrom", true)
	validTo := str("ValidTo", true)

	if m := identifierPattern.FindStringSubmatch(r.Identifier); r.Identifier != "" && m == nil {
		bad("Identifier %q does not match %s", r.Identifier, identifierPattern)
	} else if m != nil {
		switch want := identifierPrefix[m[1]]; {
		case want == RuleInvalidation && r.Type != RuleInvalidation:
			bad("Identifier prefix IR is for Invalidation rules, but Type is %q", r.Type)
		case want != RuleInvalidation && r.Type == RuleInvalidation:
			bad("an Invalidation rule's Identifier must start with IR, not %s", m[1])
		case want != RuleInvalidation && r.CertificateType != "" && want != r.CertificateType:
			bad("Identifier prefix %s is for CertificateType %s, but it is %q", m[1], want, r.CertificateType)
		}
		if r.Country != "" && m[2] != r.Country {
			bad("Identifier names country %s, but Country is %q", m[2], r.Country)
		}
	}
	if r.Type != "" && r.Type != RuleAcceptance && r.Type != RuleInvalidation {
		bad("Type must be %s or %s, not %q", RuleAcceptance, RuleInvalidation, r.Type)
	}
	if r.Country != "" && !countryPattern.MatchString(r.Country) {
		bad("Country must be two capital letters, not %q", r.Country)
	}
	for _, f := range []struct{ name, value string }{{"Version", r.Version}, {"SchemaVersion", r.SchemaVersion}, {"EngineVersion", r.EngineVersion}} {
		if f.value != "" && !versionPattern.MatchString(f.value) {
			bad("%s must be a semantic version (major.minor.patch), not %q", f.name, f.value)
		}
	}
	if r.Engine != "" && r.Engine != EngineCertLogic {
		bad("Engine must be %s, not %q", EngineCertLogic, r.Engine)
	}
	if r.CertificateType != "" && !slices.Contains([]string{CertGeneral, CertTest, CertVaccination, CertRecovery, CertApproval}, r.CertificateType) {
		bad("CertificateType must be one of General, Test, Vaccination, Recovery, Approval, not %q", r.CertificateType)
	}

	r.ValidFrom = ruleTimestamp("ValidFrom", validFrom, bad)
	r.ValidTo = ruleTimestamp("ValidTo", validTo, bad)
	if !r.ValidFrom.IsZero() && !r.ValidTo.IsZero() && !r.ValidFrom.Before(r.ValidTo) {
		bad("ValidFrom %s is not before ValidTo %s", validFrom, validTo)
	}

	r.Description = ruleDescriptions(raw["Description"], bad)
	r.AffectedFields = ruleAffectedFields(raw["AffectedFields"], bad)

	logic, present := raw["Logic"]
	switch obj, isObj := logic.(map[string]any); {
	case !present:
		bad("missing Logic")
	case !isObj || len(obj) == 0:
		bad("Logic must be a CertLogic operation object, not %s", render(logic))
	default:
		r.Logic = logic
		for _, err := range Validate(logic) {
			bad("Logic: %s", strings.TrimPrefix(err.Error(), "certlogic: "))
		}
	}
	return r, problems
}

func ruleTimestamp(field, s string, bad func(string, ...any)) time.Time {
	if s == "" {
		return time.Time{}
	}
	if !timestampPattern.MatchString(s) {
		bad("%s must be a timestamp like 2021-06-01T00:00:00Z (no fraction, with offset), not %q", field, s)
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		bad("%s: %v", field, err)
		return time.Time{}
	}
	return t
}

func ruleDescriptions(v any, bad func(string, ...any)) []Description {
	list, ok := v.([]any)
	if !ok {
		bad("Description must be an array of {lang, desc}, not %s", typeName(v))
		return nil
	}
	var out []Description
	hasEnglish := false
	for i, it := range list {
		m, _ := it.(map[string]any)
		lang, okL := m["lang"].(string)
		desc, okD := m["desc"].(string)
		if !okL || !okD || len(m) != 2 {
			bad("Description #%d must be exactly {\"lang\": string, \"desc\": string}", i+1)
			continue
		}
		if !langPattern.MatchString(lang) {
			bad("Description #%d: lang %q is not a language code like en or de-at", i+1, lang)
		}
		if len([]rune(desc)) < minDescriptionLength {
			bad("Description #%d: desc must be at least %d characters", i+1, minDescriptionLength)
		}
		hasEnglish = hasEnglish || lang == "en"
		out = append(out, Description{Lang: lang, Desc: desc})
	}
	if !hasEnglish {
		bad("Description needs an English (\"en\") entry")
	}
	return out
}

func ruleAffectedFields(v any, bad func(string, ...any)) []string {
	if v == nil {
		bad("missing AffectedFields")
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		bad("AffectedFields must be an array of strings, not %s", typeName(v))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, it := range list {
		s, ok := it.(string)
		if !ok {
			bad("AffectedFields #%d must be a string, not %s", i+1, typeName(it))
			continue
		}
		out = append(out, s)
	}
	return out
}

// compareVersions orders two semantic versions by major, minor, patch.
// Versions LoadRules accepted always parse; anything else sorts first.
func compareVersions(a, b string) int {
	pa, pb := parseVersion(a), parseVersion(b)
	for i := range pa {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func parseVersion(v string) [3]int64 {
	var out [3]int64
	m := versionPattern.FindStringSubmatch(v)
	if m == nil {
		return [3]int64{-1, -1, -1}
	}
	for i := range out {
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil {
			n = -1
		}
		out[i] = n
	}
	return out
}

// External holds the verifier-side facts a rule may read under "external".
// CountryCode is the country of arrival (whose Acceptance rules apply),
// IssuerCountryCode the certificate's issuing country (whose Invalidation
// rules apply); Exp and Iat are the CWT's expiry and issue times; Kid is the
// signing key's id as base64, as EU verifiers pass it.
type External struct {
	ValidationClock   time.Time
	ValueSets         map[string][]string
	CountryCode       string
	IssuerCountryCode string
	Region            string
	Exp, Iat          time.Time
	Kid               string
}

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Identifier  string
	Version     string
	Type        string
	Passed      bool
	Description string // English
	Err         error  // why the rule could not pass, when it errored or did not yield a boolean
}

// externalTimeLayout is RFC 3339 with milliseconds, CertLogic's precision.
const externalTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Data builds the data context EU verifiers evaluate rules against:
//
//	{"payload": <DCC payload>, "external": {"validationClock": …, "valueSets": {id: [codes]},
//	 "countryCode": …, "exp": …, "iat": …, "issuerCountryCode": …, "kid": …, "region": …}}
//
// Times are RFC 3339 strings; a zero Exp or Iat is left out, so a rule
// reading it sees null.
func (ext External) Data(payload map[string]any) map[string]any {
	valueSets := make(map[string]any, len(ext.ValueSets))
	for id, codes := range ext.ValueSets {
		list := make([]any, len(codes))
		for i, c := range codes {
			list[i] = c
		}
		valueSets[id] = list
	}
	external := map[string]any{
		"validationClock":   ext.ValidationClock.Format(externalTimeLayout),
		"valueSets":         valueSets,
		"countryCode":       ext.CountryCode,
		"issuerCountryCode": ext.IssuerCountryCode,
		"kid":               ext.Kid,
		"region":            ext.Region,
	}
	if !ext.Exp.IsZero() {
		external["exp"] = ext.Exp.Format(externalTimeLayout)
	}
	if !ext.Iat.IsZero() {
		external["iat"] = ext.Iat.Format(externalTimeLayout)
	}
	var p any = payload
	if payload == nil {
		p = nil
	}
	return map[string]any{"payload": p, "external": external}
}

// CertificateTypeOf names the kind of a DCC payload from the entry it
// carries: Test for "t", Vaccination for "v", Recovery for "r"; "" when it
// carries none or more than one.
func CertificateTypeOf(payload map[string]any) string {
	found := ""
	for key, kind := range map[string]string{"t": CertTest, "v": CertVaccination, "r": CertRecovery} {
		if entries, ok := payload[key].([]any); ok && len(entries) > 0 {
			if found != "" {
				return ""
			}
			found = kind
		}
	}
	return found
}

// Apply evaluates the rules that apply to a certificate, as EU verifiers do,
// and reports each, ordered by identifier. A rule applies when
//
//   - its CertificateType is certificateType (the payload's kind; "" derives
//     it from the payload), or General for any DCC (not for an Approval);
//   - ValidFrom ≤ ext.ValidationClock < ValidTo (so a zero clock applies
//     no rule);
//   - it is an Acceptance rule of ext.CountryCode or an Invalidation rule of
//     ext.IssuerCountryCode (either code left empty accepts every country);
//   - it has no Region or ext.Region's;
//   - of the versions of its Identifier that satisfy the above, it is the
//     newest.
//
// A rule passes when it evaluates to true. One whose evaluation fails, or
// that yields anything but a boolean, fails with Err saying why.
func Apply(rules []Rule, payload map[string]any, certificateType string, ext External) []RuleResult {
	if certificateType == "" {
		certificateType = CertificateTypeOf(payload)
	}
	clock := ext.ValidationClock
	chosen := map[string]*Rule{}
	for i := range rules {
		r := &rules[i]
		// General rules are written for DCC payloads; an entry approval
		// has a layout of its own and only its own rules.
		general := r.CertificateType == CertGeneral && certificateType != CertApproval
		if !general && r.CertificateType != certificateType {
			continue
		}
		if clock.Before(r.ValidFrom) || !clock.Before(r.ValidTo) {
			continue
		}
		country := ext.CountryCode
		if r.Type == RuleInvalidation {
			country = ext.IssuerCountryCode
		}
		if country != "" && r.Country != country {
			continue
		}
		if r.Region != "" && r.Region != ext.Region {
			continue
		}
		if prev, ok := chosen[r.Identifier]; !ok || compareVersions(r.Version, prev.Version) > 0 {
			chosen[r.Identifier] = r
		}
	}

	ids := make([]string, 0, len(chosen))
	for id := range chosen {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	data := ext.Data(payload)
	results := make([]RuleResult, 0, len(ids))
	for _, id := range ids {
		r := chosen[id]
		res := RuleResult{Identifier: r.Identifier, Version: r.Version, Type: r.Type, Description: r.EnglishDescription()}
		v, err := Evaluate(r.Logic, data)
		switch b, isBool := v.(bool); {
		case err != nil:
			res.Err = err
		case isBool:
			res.Passed = b
		default:
			res.Err = fmt.Errorf("certlogic: rule %s evaluated to %s, not a boolean", r.Identifier, strings.TrimSpace(render(v)))
		}
		results = append(results, res)
	}
	return results
}
