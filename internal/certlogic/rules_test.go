package certlogic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/testdata"
)

// corridorRules is a small rule set in the gateway's format, as a
// destination (here KR) would publish it for the lane.
const corridorRules = `[
{
  "Identifier": "TR-KR-0001", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Test",
  "Description": [{"lang": "en", "desc": "The test must be a NAAT sampled less than 72 h before the validation clock."}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["t.0", "t.0.tt", "t.0.sc"],
  "Logic": {"if": [{"var": "payload.t.0"},
    {"and": [
      {"===": [{"var": "payload.t.0.tt"}, "LP6464-4"]},
      {"before": [
        {"plusTime": [{"var": "external.validationClock"}, 0, "hour"]},
        {"plusTime": [{"var": "payload.t.0.sc"}, 72, "hour"]}]}]},
    true]}
},
{
  "Identifier": "TR-KR-0002", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Test",
  "Description": [{"lang": "en", "desc": "The test result must be \"not detected\"."}, {"lang": "ko", "desc": "검사 결과는 음성이어야 합니다. (not detected)"}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["t.0", "t.0.tr"],
  "Logic": {"if": [{"var": "payload.t.0"}, {"===": [{"var": "payload.t.0.tr"}, "260415000"]}, true]}
},
{
  "Identifier": "TR-KR-0003", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Test",
  "Description": [{"lang": "en", "desc": "The test type must be one of the value set covid-19-lab-test-type."}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["t.0", "t.0.tt"],
  "Logic": {"if": [{"var": "payload.t.0"},
    {"in": [{"var": "payload.t.0.tt"}, {"var": "external.valueSets.covid-19-lab-test-type"}]}, true]}
},
{
  "Identifier": "GR-KR-0001", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "General",
  "Description": [{"lang": "en", "desc": "The date of birth must not lie after the validation clock."}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["dob"],
  "Logic": {"not-after": [{"dccDateOfBirth": [{"var": "payload.dob"}]}, {"plusTime": [{"var": "external.validationClock"}, 0, "day"]}]}
},
{
  "Identifier": "VR-KR-0001", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Vaccination",
  "Description": [{"lang": "en", "desc": "Vaccination certificates are not accepted on this lane."}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["v.0"],
  "Logic": {"!": [{"var": "payload.v.0"}]}
},
{
  "Identifier": "IR-ES-0001", "Type": "Invalidation", "Country": "ES", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Test",
  "Description": [{"lang": "en", "desc": "The certificate identifier has been revoked by the issuing country."}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["t.0.ci"],
  "Logic": {"!": [{"in": [{"extractFromUVCI": [{"var": "payload.t.0.ci"}, 0]}, ["01ES05T8034C2ED473E6995B4BA5"]]}]}
}
]`

// dccVector is the part of a shared DCC test vector the rules need.
type dccVector struct {
	payload map[string]any
	clock   time.Time
}

func loadVector(t *testing.T, elem ...string) dccVector {
	t.Helper()
	b, err := os.ReadFile(testdata.Path(t, append([]string{"dcc"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		JSON    json.RawMessage
		TESTCTX struct{ VALIDATIONCLOCK string }
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := decodeStrict(raw.JSON, &payload, false); err != nil {
		t.Fatal(err)
	}
	// The vectors write their clocks in several dialects (+0000, no
	// offset, microseconds), all of which CertLogic's own parser reads.
	clock, err := parseDateTime(raw.TESTCTX.VALIDATIONCLOCK)
	if err != nil {
		t.Fatal(err)
	}
	return dccVector{payload: payload, clock: clock}
}

// valueSets compresses the shared value-set files the way EU verifiers pass
// them to rules: value-set id → list of codes.
func valueSets(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range []string{"test-type.json", "test-result.json", "disease-agent-targeted.json"} {
		b, err := os.ReadFile(testdata.Path(t, "dcc-valuesets", name))
		if err != nil {
			t.Fatal(err)
		}
		var vs struct {
			ValueSetID     string                     `json:"valueSetId"`
			ValueSetValues map[string]json.RawMessage `json:"valueSetValues"`
		}
		if err := json.Unmarshal(b, &vs); err != nil {
			t.Fatal(err)
		}
		for code := range vs.ValueSetValues {
			out[vs.ValueSetID] = append(out[vs.ValueSetID], code)
		}
	}
	return out
}

func TestApplyOnDCCVectors(t *testing.T) {
	rules, err := LoadRules([]byte(corridorRules))
	if err != nil {
		t.Fatal(err)
	}
	sets := valueSets(t)
	cases := []struct {
		vector []string
		issuer string
		want   map[string]bool // rule → passed; exactly these rules apply
	}{
		{ // NAAT sampled 39 h before the clock, not detected.
			[]string{"SI", "2DCode", "raw", "test-PCR.json"}, "SI",
			map[string]bool{"GR-KR-0001": true, "TR-KR-0001": true, "TR-KR-0002": true, "TR-KR-0003": true},
		},
		{ // NAAT sampled more than 7 days before the clock.
			[]string{"ES", "2DCode", "raw", "703.json"}, "ES",
			map[string]bool{"GR-KR-0001": true, "TR-KR-0001": false, "TR-KR-0002": true, "TR-KR-0003": true, "IR-ES-0001": true},
		},
		{ // A rapid antigen test is not a NAAT.
			[]string{"SI", "2DCode", "raw", "test-AG.json"}, "SI",
			map[string]bool{"GR-KR-0001": true, "TR-KR-0001": false, "TR-KR-0002": true, "TR-KR-0003": true},
		},
		{ // Result written as "NEGATIVO" instead of the SNOMED code.
			[]string{"ES", "2DCode", "raw", "1103.json"}, "ES",
			map[string]bool{"GR-KR-0001": true, "TR-KR-0001": false, "TR-KR-0002": false, "TR-KR-0003": true, "IR-ES-0001": true},
		},
		{ // Test type "COVID-19 test" is not in the value set.
			[]string{"IE", "2DCode", "Raw", "2.json"}, "IE",
			map[string]bool{"GR-KR-0001": true, "TR-KR-0001": false, "TR-KR-0002": true, "TR-KR-0003": false},
		},
		{ // Born three days after the validation clock.
			[]string{"ES", "2DCode", "raw", "2103.json"}, "ES",
			map[string]bool{"GR-KR-0001": false, "TR-KR-0001": false, "TR-KR-0002": true, "TR-KR-0003": true, "IR-ES-0001": true},
		},
		{ // Its identifier is on the issuer's revocation rule (and it was sampled weeks before).
			[]string{"ES", "2DCode", "raw", "501.json"}, "ES",
			map[string]bool{"GR-KR-0001": true, "TR-KR-0001": false, "TR-KR-0002": true, "TR-KR-0003": true, "IR-ES-0001": false},
		},
		{ // A vaccination certificate meets only the General and Vaccination rules.
			[]string{"SI", "2DCode", "raw", "VAC.json"}, "SI",
			map[string]bool{"GR-KR-0001": true, "VR-KR-0001": false},
		},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.vector, "/"), func(t *testing.T) {
			v := loadVector(t, tc.vector...)
			ext := External{ValidationClock: v.clock, ValueSets: sets, CountryCode: "KR", IssuerCountryCode: tc.issuer}
			results := Apply(rules, v.payload, "", ext)
			got := map[string]bool{}
			for _, r := range results {
				if r.Err != nil {
					t.Errorf("%s: %v", r.Identifier, r.Err)
				}
				if r.Description == "" {
					t.Errorf("%s: no English description", r.Identifier)
				}
				got[r.Identifier] = r.Passed
			}
			if len(got) != len(tc.want) {
				t.Errorf("applied rules %v, want %v", got, tc.want)
			}
			for id, want := range tc.want {
				if passed, ok := got[id]; !ok || passed != want {
					t.Errorf("%s: applied=%v passed=%v, want passed=%v", id, ok, passed, want)
				}
			}
		})
	}
}

func TestApplyReportsErrorsAsFailures(t *testing.T) {
	rules, err := LoadRules([]byte(corridorRules))
	if err != nil {
		t.Fatal(err)
	}
	// BG's first vector, a vaccination, writes the date of birth as a
	// date-time, which dccDateOfBirth refuses.
	v := loadVector(t, "BG", "2DCode", "raw", "1.json")
	results := Apply(rules, v.payload, "", External{ValidationClock: v.clock, CountryCode: "KR"})
	if len(results) != 2 || results[0].Identifier != "GR-KR-0001" || results[1].Identifier != "VR-KR-0001" {
		t.Fatalf("got %+v, want GR-KR-0001 and VR-KR-0001", results)
	}
	r := results[0]
	if r.Passed || r.Err == nil || !strings.Contains(r.Err.Error(), `"dccDateOfBirth" operation`) {
		t.Fatalf("got %+v, want a failure naming dccDateOfBirth", r)
	}
	if r := results[1]; r.Passed || r.Err != nil {
		t.Fatalf("got %+v, want a plain failure", r)
	}
}

func TestApplyRejectsNonBooleanResults(t *testing.T) {
	rule := baseRule()
	rule["Logic"] = map[string]any{"var": "payload.dob"}
	rules, err := LoadRules(mustMarshal(t, rule))
	if err != nil {
		t.Fatal(err)
	}
	results := Apply(rules, map[string]any{"dob": "1990-01-01"}, CertTest, External{ValidationClock: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)})
	if len(results) != 1 || results[0].Passed || results[0].Err == nil || !strings.Contains(results[0].Err.Error(), `"1990-01-01", not a boolean`) {
		t.Fatalf("got %+v", results)
	}
}

func TestApplySelectsRules(t *testing.T) {
	version := func(v, from, to string, result bool) map[string]any {
		r := baseRule()
		r["Version"], r["ValidFrom"], r["ValidTo"] = v, from, to
		r["Logic"] = map[string]any{"===": []any{1, map[string]any{"if": []any{result, 1, 0}}}}
		return r
	}
	regional := baseRule()
	regional["Identifier"], regional["Region"] = "TR-KR-0002", "SEL"
	otherCountry := baseRule()
	otherCountry["Identifier"], otherCountry["Country"] = "TR-CN-0001", "CN"
	recovery := baseRule()
	recovery["Identifier"], recovery["CertificateType"] = "RR-KR-0001", "Recovery"
	all := []any{
		version("1.0.0", "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z", false), // expired by the clock
		version("1.1.0", "2021-06-01T00:00:00Z", "2030-01-01T00:00:00Z", true),  // the one that applies
		version("1.0.5", "2021-01-01T00:00:00Z", "2030-01-01T00:00:00Z", false), // valid, but older
		version("2.0.0", "2023-01-01T00:00:00Z", "2030-01-01T00:00:00Z", false), // not yet valid
		regional, otherCountry, recovery,
	}
	rules, err := LoadRules(mustMarshal(t, all))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	payload := map[string]any{"t": []any{map[string]any{}}}

	results := Apply(rules, payload, "", External{ValidationClock: clock, CountryCode: "KR", Region: "BUS"})
	if len(results) != 1 || results[0].Identifier != "TR-KR-0001" || results[0].Version != "1.1.0" || !results[0].Passed {
		t.Fatalf("got %+v, want TR-KR-0001 1.1.0 passing", results)
	}

	results = Apply(rules, payload, "", External{ValidationClock: clock, CountryCode: "KR", Region: "SEL"})
	if len(results) != 2 || results[1].Identifier != "TR-KR-0002" {
		t.Fatalf("in region SEL got %+v, want TR-KR-0001 and TR-KR-0002", results)
	}

	// The rule's ValidTo is exclusive.
	results = Apply(rules, payload, CertTest, External{ValidationClock: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), CountryCode: "KR"})
	if len(results) != 0 {
		t.Fatalf("at ValidTo got %+v, want none", results)
	}
	// Without a country, every country's acceptance rules apply.
	results = Apply(rules, payload, CertTest, External{ValidationClock: clock})
	if len(results) != 2 || results[0].Identifier != "TR-CN-0001" {
		t.Fatalf("without a country got %+v", results)
	}
	// The caller's certificate type wins over the payload's.
	results = Apply(rules, payload, CertRecovery, External{ValidationClock: clock, CountryCode: "KR"})
	if len(results) != 1 || results[0].Identifier != "RR-KR-0001" {
		t.Fatalf("as a recovery got %+v", results)
	}
}

func TestExternalData(t *testing.T) {
	loc := time.FixedZone("KST", 9*3600)
	ext := External{
		ValidationClock:   time.Date(2021, 6, 1, 9, 30, 0, 123456789, loc),
		ValueSets:         map[string][]string{"covid-19-lab-result": {"260415000"}},
		CountryCode:       "KR",
		IssuerCountryCode: "CN",
		Exp:               time.Date(2021, 7, 1, 0, 0, 0, 0, time.UTC),
	}
	got, err := json.Marshal(ext.Data(map[string]any{"ver": "1.3.0"}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"external":{"countryCode":"KR","exp":"2021-07-01T00:00:00.000Z","issuerCountryCode":"CN","kid":"","region":"",` +
		`"validationClock":"2021-06-01T09:30:00.123+09:00","valueSets":{"covid-19-lab-result":["260415000"]}},"payload":{"ver":"1.3.0"}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestCertificateTypeOf(t *testing.T) {
	entry := []any{map[string]any{}}
	cases := []struct {
		payload map[string]any
		want    string
	}{
		{map[string]any{"t": entry}, CertTest},
		{map[string]any{"v": entry, "dob": "2000"}, CertVaccination},
		{map[string]any{"r": entry}, CertRecovery},
		{map[string]any{"r": entry, "v": entry}, ""},
		{map[string]any{"t": []any{}}, ""},
		{nil, ""},
	}
	for _, tc := range cases {
		if got := CertificateTypeOf(tc.payload); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.payload, got, tc.want)
		}
	}
}

// baseRule is a valid rule to mutate in tests.
func baseRule() map[string]any {
	return map[string]any{
		"Identifier": "TR-KR-0001", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
		"SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Test",
		"Description":    []any{map[string]any{"lang": "en", "desc": "A description long enough for the schema."}},
		"ValidFrom":      "2021-01-01T00:00:00Z",
		"ValidTo":        "2030-01-01T00:00:00+09:00",
		"AffectedFields": []any{"t.0"},
		"Logic":          map[string]any{"===": []any{1, 1}},
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadRules(t *testing.T) {
	rules, err := LoadRules(mustMarshal(t, baseRule()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("got %d rules", len(rules))
	}
	r := rules[0]
	if r.Identifier != "TR-KR-0001" || r.EnglishDescription() != "A description long enough for the schema." ||
		!r.ValidTo.Equal(time.Date(2029, 12, 31, 15, 0, 0, 0, time.UTC)) || len(r.AffectedFields) != 1 {
		t.Fatalf("loaded %+v", r)
	}

	all, err := LoadRules([]byte(corridorRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("got %d rules, want 6", len(all))
	}
}

func TestLoadRulesRejects(t *testing.T) {
	mutate := func(f func(r map[string]any)) []byte {
		r := baseRule()
		f(r)
		b, _ := json.Marshal(r)
		return b
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"not JSON":             {[]byte(`{"Identifier":`), "unexpected EOF"},
		"null":                 {[]byte(`null`), "got null"},
		"array of non-objects": {[]byte(`[1]`), "item #1 is integer"},
		"missing field":        {mutate(func(r map[string]any) { delete(r, "Version") }), "missing Version"},
		"unknown field":        {mutate(func(r map[string]any) { r["CountryCode"] = "KR" }), `unknown field "CountryCode"`},
		"wrong type":           {mutate(func(r map[string]any) { r["Version"] = 1 }), "Version must be a string, not integer"},
		"identifier format":    {mutate(func(r map[string]any) { r["Identifier"] = "TR-KR-1" }), `Identifier "TR-KR-1" does not match`},
		"identifier prefix":    {mutate(func(r map[string]any) { r["Identifier"] = "VR-KR-0001" }), "Identifier prefix VR is for CertificateType Vaccination"},
		"identifier country":   {mutate(func(r map[string]any) { r["Identifier"] = "TR-CN-0001" }), `Identifier names country CN, but Country is "KR"`},
		"invalidation prefix":  {mutate(func(r map[string]any) { r["Type"] = "Invalidation" }), "an Invalidation rule's Identifier must start with IR"},
		"IR on acceptance":     {mutate(func(r map[string]any) { r["Identifier"] = "IR-KR-0001" }), "Identifier prefix IR is for Invalidation rules"},
		"type":                 {mutate(func(r map[string]any) { r["Type"] = "Rejection" }), `Type must be Acceptance or Invalidation, not "Rejection"`},
		"country":              {mutate(func(r map[string]any) { r["Country"] = "kr" }), `Country must be two capital letters, not "kr"`},
		"version":              {mutate(func(r map[string]any) { r["SchemaVersion"] = "1.3" }), `SchemaVersion must be a semantic version`},
		"engine":               {mutate(func(r map[string]any) { r["Engine"] = "JSONLOGIC" }), `Engine must be CERTLOGIC, not "JSONLOGIC"`},
		"certificate type":     {mutate(func(r map[string]any) { r["CertificateType"] = "Antibody" }), `CertificateType must be one of`},
		"timestamp with ms":    {mutate(func(r map[string]any) { r["ValidFrom"] = "2021-01-01T00:00:00.000Z" }), "ValidFrom must be a timestamp"},
		"timestamp impossible": {mutate(func(r map[string]any) { r["ValidFrom"] = "2021-02-30T00:00:00Z" }), "ValidFrom: parsing time"},
		"validity order":       {mutate(func(r map[string]any) { r["ValidTo"] = "2021-01-01T00:00:00Z" }), "is not before ValidTo"},
		"no english": {mutate(func(r map[string]any) {
			r["Description"] = []any{map[string]any{"lang": "ko", "desc": "한국어로만 된 설명입니다, 스무 글자 넘게."}}
		}), `needs an English ("en") entry`},
		"short description": {mutate(func(r map[string]any) { r["Description"] = []any{map[string]any{"lang": "en", "desc": "Too short."}} }), "at least 20 characters"},
		"bad language": {mutate(func(r map[string]any) {
			r["Description"] = append(r["Description"].([]any), map[string]any{"lang": "KO", "desc": "long enough for the schema, surely"})
		}), `lang "KO"`},
		"description shape":   {mutate(func(r map[string]any) { r["Description"] = "text" }), "Description must be an array"},
		"affected fields":     {mutate(func(r map[string]any) { r["AffectedFields"] = []any{1} }), "AffectedFields #1 must be a string"},
		"logic not an object": {mutate(func(r map[string]any) { r["Logic"] = true }), "Logic must be a CertLogic operation object"},
		"logic invalid":       {mutate(func(r map[string]any) { r["Logic"] = map[string]any{"or": []any{true}} }), `Logic: unrecognised operator: "or" (in {"or":[true]})`},
		"duplicate version":   {mustMarshal(t, []any{baseRule(), baseRule()}), "version 1.0.0 repeats rule #1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadRules(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadRulesReportsEveryProblem(t *testing.T) {
	r := baseRule()
	r["Engine"], r["Country"] = "X", "kr"
	ok := baseRule()
	ok["Identifier"] = "TR-KR-0002"
	_, err := LoadRules(mustMarshal(t, []any{ok, r}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"rule #2 TR-KR-0001: Engine", "rule #2 TR-KR-0001: Country must", "rule #2 TR-KR-0001: Identifier names country"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "rule #1") {
		t.Errorf("error %q blames the valid rule", err)
	}
	var ire *InvalidRulesError
	if !errors.As(err, &ire) || len(ire.Problems) != 3 {
		t.Errorf("got %#v, want an *InvalidRulesError with 3 problems", err)
	}
	if !strings.HasPrefix(err.Error(), "certlogic: invalid rules (3 problems):\n  rule #2 ") {
		t.Errorf("error reads %q", err)
	}
}

func TestLoadRulesFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, []byte(corridorRules), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRules(b); err != nil {
		t.Fatal(err)
	}
}
