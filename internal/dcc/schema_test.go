package dcc

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

// TestSchemaFilesAgreeWithOfficialSchema runs the schema project's own
// examples and test cases through both validators.
func TestSchemaFilesAgreeWithOfficialSchema(t *testing.T) {
	schemas := official(t)
	dir := testdata.Path(t, "dcc-schema")
	folders := []struct {
		dir   string
		valid bool
	}{
		{"examples", true},
		{filepath.Join("test", "valid"), true},
		{filepath.Join("test", "invalid"), false},
	}
	// Files of the schema project that the official schema itself
	// rejects once its formats are asserted. The project lists the offsets
	// "+hh" and "+hhmm" among the sample-time variants "documented in the
	// specifications" (test/readme.md), but sc is declared format
	// date-time, which is RFC 3339's date-time and requires "+hh:mm". Both
	// validators reject them; ValidateSchema follows the schema.
	rejectedByOfficial := map[string]bool{
		filepath.Join("test", "valid", "T-rat-dates1.json"): true, // sc "2021-06-11T17:30:00+02"
		filepath.Join("test", "valid", "T-rat-dates2.json"): true, // sc "2021-06-11T17:30:00+0200"
	}
	total := 0
	for _, folder := range folders {
		var files []string
		err := filepath.WalkDir(filepath.Join(dir, folder.dir), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no schema cases in %s", folder.dir)
		}
		for _, file := range files {
			name, _ := filepath.Rel(dir, file)
			doc := readJSONObject(t, file)
			mine, ref := agreeWithOfficial(t, schemas, doc)
			valid := folder.valid && !rejectedByOfficial[name]
			if (ref == nil) != valid {
				t.Errorf("%s: the official schema says %v, against its folder", name, ref)
			}
			if (mine == nil) != valid {
				t.Errorf("%s: ValidateSchema says %v", name, mine)
			}
			delete(rejectedByOfficial, name)
			total++
		}
	}
	for name := range rejectedByOfficial {
		t.Errorf("%s is named as rejected by the official schema but was not found", name)
	}
	t.Logf("%d schema example and test files: both validators agree", total)
}

// TestSchemaInvalidCasesPointAtTheFault checks where the violations of the
// schema project's invalid cases are reported, and that they say why.
func TestSchemaInvalidCasesPointAtTheFault(t *testing.T) {
	dir := testdata.Path(t, "dcc-schema", "test", "invalid")
	want := map[string]Violation{
		"empty.json":           {"/v", "holds no vaccination entry; it must hold exactly one"},
		"invalid_dob.json":     {"/dob", "must be a date of birth written YYYY-MM-DD, YYYY-MM or YYYY with a year from 1900 to 2099, or be empty"},
		"invalid_dob2.json":    {"/dob", "must be a date of birth written YYYY-MM-DD, YYYY-MM or YYYY with a year from 1900 to 2099, or be empty"},
		"invalid_vac.json":     {"/v/0/dn", "must be at least 1"},
		"missing_dob.json":     {"", `the required field "dob" is missing`},
		"missing_fnt_gnt.json": {"/nam", `neither the standardised surname "fnt" nor the standardised forename "gnt" is present; at least one is required`},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("%d invalid cases on disk, %d expected here: update the table", len(files), len(want))
	}
	for _, file := range files {
		base := filepath.Base(file)
		err := ValidateSchema(readJSONObject(t, file))
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a *SchemaError", base, err)
			continue
		}
		if !slices.Equal(se.Violations, []Violation{want[base]}) {
			t.Errorf("%s: violations %v, want [%v]", base, se.Violations, want[base])
		}
	}
}

func TestValidateSchemaListsEveryViolation(t *testing.T) {
	doc := map[string]any{
		"ver": "1.3",
		"nam": map[string]any{"fn": strings.Repeat("ž", 81), "fnt": "Doe"},
		"dob": "1990-1-1",
		"t": []any{map[string]any{
			"tg": 840539006.0, "tt": TestTypeNAAT, "sc": "2021-05-20 10:00:00Z",
			"tr": ResultNotDetected, "co": "kr", "is": "Lab", "ci": "URN:UVCI:01:KR:X",
		}},
		"r": []any{},
	}
	err := ValidateSchema(doc)
	var se *SchemaError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *SchemaError", err)
	}
	want := []Violation{
		{"", "t and r are both present; a certificate holds exactly one of v, t and r"},
		{"/ver", `must be a schema version such as 1.3.0 (pattern ^\d+.\d+.\d+$)`},
		{"/nam/fn", "is 81 characters long; at most 80 are allowed"},
		{"/nam/fnt", "must hold only the capital letters A-Z and the filler <, as ICAO 9303 standardises names"},
		{"/dob", "must be a date of birth written YYYY-MM-DD, YYYY-MM or YYYY with a year from 1900 to 2099, or be empty"},
		{"/t/0/tg", "must be a string, not a number"},
		{"/t/0/sc", "must be a date and time as RFC 3339 writes it, such as 2021-05-20T08:30:00Z or 2021-05-20T10:30:00+02:00"},
		{"/t/0/co", "must be a country code in capital letters, such as KR"},
		{"/r", "holds no recovery entry; it must hold exactly one"},
	}
	if !slices.Equal(se.Violations, want) {
		t.Errorf("violations:\n got %v\nwant %v", se.Violations, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "dcc: payload does not match DCC schema 1.3.3 (9 violations): payload: t and r are both present; a certificate holds exactly one of v, t and r; /ver: must be") ||
		!strings.HasSuffix(msg, "; /r: holds no recovery entry; it must hold exactly one") {
		t.Errorf("message %q", msg)
	}
	if strings.Contains(err.Error(), "Doe") || strings.Contains(err.Error(), "ž") {
		t.Errorf("the message repeats personal data: %q", err)
	}
}

// TestVectorJSONAgreesWithOfficialSchema runs the JSON of every test
// vector through both validators.
func TestVectorJSONAgreesWithOfficialSchema(t *testing.T) {
	schemas := official(t)
	checked := 0
	for _, v := range loadVectors(t) {
		doc, ok := v.JSON.(map[string]any)
		if !ok {
			continue // a vector of a broken QR code or envelope carries no payload
		}
		agreeWithOfficial(t, schemas, doc)
		checked++
	}
	if checked == 0 {
		t.Fatal("no vector carries JSON")
	}
	t.Logf("%d vector JSON payloads: both validators agree", checked)
}

// knownSchemaDefects names the vectors in our subset that
// known_issues.csv lists for test_cose_schema, with why their
// EXPECTEDSCHEMAVALIDATION flag (true) cannot be met and the violations
// ValidateSchema finds instead, so that a change in either is noticed.
var knownSchemaDefects = map[string]struct {
	why        string
	violations []string // paths
}{
	// Issue 298: Bulgaria's two "old version" vectors write the unused
	// groups as null instead of leaving them out, and their dates with a
	// time ("1978-01-26T00:00:00" as dob, dt, fr, df, du). Null is not an
	// array under any schema release, so no harness can pass them.
	"BG/1": {"t and r are null; dob and dt carry a time", []string{"", "/dob", "/v/0/dt", "/t", "/r"}},
	"BG/2": {"v and t are null; dob, fr, df and du carry a time", []string{"", "/dob", "/v", "/t", "/r/0/fr", "/r/0/df", "/r/0/du"}},
	// Issue 357: two vaccination entries in one certificate, where 1.3
	// allows one entry per group (maxItems 1).
	"SK/3": {"two vaccination entries", []string{"/v"}},
}

// TestVectorSchemaFlags checks ValidateSchema against each vector's
// EXPECTEDSCHEMAVALIDATION flag, on the payload decoded from its CBOR.
// Payloads of every version are held to the 1.3.x rules; see
// ValidateSchema for why, and for how upstream's harness differs.
func TestVectorSchemaFlags(t *testing.T) {
	known := knownIssues(t, "test_cose_schema")
	checked, metKnown := 0, 0
	for _, v := range loadVectors(t) {
		want, ok := v.expected("EXPECTEDSCHEMAVALIDATION")
		if !ok {
			continue
		}
		checked++
		payload, err := v.dccCBOR()
		if err != nil {
			t.Errorf("%s: %v", v.ID, err)
			continue
		}
		var got error
		doc, err := Parse(payload)
		if err != nil {
			got = err
		} else {
			got = ValidateSchema(doc.JSON)
		}
		defect, isDefect := knownSchemaDefects[v.ID]
		if reason := known[v.Country+":"+v.Set] + known[v.Country+":"]; reason != "" && !isDefect && (got == nil) != want {
			t.Errorf("%s: listed upstream (%s) but not named in knownSchemaDefects: %v", v.ID, reason, got)
			continue
		}
		if isDefect {
			metKnown++
			var se *SchemaError
			if !errors.As(got, &se) {
				t.Errorf("%s (known defect: %s): got %v, want schema violations", v.ID, defect.why, got)
				continue
			}
			var paths []string
			for _, vi := range se.Violations {
				paths = append(paths, vi.Path)
			}
			if !slices.Equal(paths, defect.violations) {
				t.Errorf("%s (known defect: %s): violations at %q, want %q", v.ID, defect.why, paths, defect.violations)
			}
			continue
		}
		if (got == nil) != want {
			t.Errorf("%s (ver %q, %s): EXPECTEDSCHEMAVALIDATION %v, ValidateSchema says %v", v.ID, docVersion(doc), v.Context.Description, want, got)
		}
	}
	if metKnown != len(knownSchemaDefects) {
		t.Errorf("%d of %d known defects met: a named vector is gone or lost its flag", metKnown, len(knownSchemaDefects))
	}
	t.Logf("%d vectors with a schema flag: all met but the %d known defects", checked, metKnown)
}

func docVersion(d *Document) string {
	if d == nil {
		return ""
	}
	return d.Version()
}

// knownIssues reads known_issues.csv and returns, for one upstream test,
// the reason of each listed vector keyed "country:set" (set empty for a
// whole country).
func knownIssues(t testing.TB, test string) map[string]string {
	t.Helper()
	f, err := os.Open(testdata.Path(t, "dcc", "known_issues.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], []string{"test_name", "country", "test_set", "reason"}) {
		t.Fatalf("known_issues.csv: unexpected header %v", rows[:min(1, len(rows))])
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		if r[0] == test {
			out[r[1]+":"+r[2]] = r[3]
		}
	}
	return out
}

// TestReferenceLeniencyIsNarrow pins the one known difference between the
// two validators, which agreeWithOfficial forgives: jsonschema/v6 takes a
// sign inside a two-digit time field ("+8" as an hour), RFC 3339 does not.
func TestReferenceLeniencyIsNarrow(t *testing.T) {
	schemas := official(t)
	doc := map[string]any{
		"ver": "1.3.0", "nam": map[string]any{"fnt": "KIM"}, "dob": "1990",
		"t": []any{map[string]any{"tg": DiseaseCOVID19, "tt": TestTypeRAT, "sc": "2021-05-20T+8:30:00+00:+5",
			"tr": ResultNotDetected, "co": "KR", "is": "KDCA", "ci": "URN:UVCI:01:KR:A"}},
	}
	if err := officialVerdict(t, schemas, doc); err != nil {
		t.Fatalf("the reference no longer accepts signed time fields (%v): drop the allowance in agreeWithOfficial", err)
	}
	if ValidateSchema(doc) == nil {
		t.Fatal("ValidateSchema accepts a signed hour")
	}
	fixed, changed := normaliseSignedTimeFields(doc)
	sc := fixed["t"].([]any)[0].(map[string]any)["sc"]
	if !changed || sc != "2021-05-20T08:30:00+00:05" {
		t.Errorf("normalised to %v (changed %v)", sc, changed)
	}
	if doc["t"].([]any)[0].(map[string]any)["sc"] != "2021-05-20T+8:30:00+00:+5" {
		t.Error("normaliseSignedTimeFields changed its input")
	}
}
