package dcc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
	"github.com/fxamacker/cbor/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official schema is the reference ValidateSchema is held to. It is
// compiled twice, from the combined file and from the split files that
// reference one another, and the two must always agree.
var (
	officialOnce    sync.Once
	officialSchemas []*jsonschema.Schema
	officialErr     error
)

func compileOfficialSchemas(dir string) ([]*jsonschema.Schema, error) {
	compile := func(main string, files ...string) (*jsonschema.Schema, error) {
		c := jsonschema.NewCompiler()
		// Draft 2020-12 makes format an annotation unless asked; the DCC
		// schema means its dates to be checked.
		c.AssertFormat()
		for _, name := range files {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if err := c.AddResource("https://id.uvci.eu/"+name, doc); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return c.Compile("https://id.uvci.eu/" + main)
	}
	combined, err := compile("DCC.combined-schema.json", "DCC.combined-schema.json")
	if err != nil {
		return nil, err
	}
	split, err := compile("DCC.schema.json", "DCC.schema.json", "DCC.Core.Types.schema.json",
		"DCC.Types.schema.json", "DCC.ValueSets.schema.json")
	if err != nil {
		return nil, err
	}
	return []*jsonschema.Schema{combined, split}, nil
}

// official returns the compiled official schemas, failing the test when
// the schema files are missing or do not compile.
func official(t testing.TB) []*jsonschema.Schema {
	t.Helper()
	dir := testdata.Path(t, "dcc-schema")
	officialOnce.Do(func() { officialSchemas, officialErr = compileOfficialSchemas(dir) })
	if officialErr != nil {
		t.Fatalf("official DCC schema: %v", officialErr)
	}
	return officialSchemas
}

// tb is the part of testing.TB that rapid.T also provides.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// officialVerdict validates doc with the official schema; the combined
// and the split schema files must agree.
func officialVerdict(t tb, schemas []*jsonschema.Schema, doc map[string]any) error {
	t.Helper()
	var verdicts []error
	for _, s := range schemas {
		verdicts = append(verdicts, s.Validate(any(doc)))
	}
	if (verdicts[0] == nil) != (verdicts[1] == nil) {
		t.Fatalf("combined and split official schemas disagree on %s: %v / %v", mustJSON(doc), verdicts[0], verdicts[1])
	}
	return verdicts[0]
}

// agreeWithOfficial fails unless ValidateSchema and the official schema
// give the same verdict on doc. The one difference allowed is the
// reference's leniency on time fields (see normaliseSignedTimeFields).
func agreeWithOfficial(t tb, schemas []*jsonschema.Schema, doc map[string]any) (mine, ref error) {
	t.Helper()
	mine = ValidateSchema(doc)
	ref = officialVerdict(t, schemas, doc)
	if (mine == nil) == (ref == nil) {
		return mine, ref
	}
	if mine != nil && ref == nil {
		if fixed, changed := normaliseSignedTimeFields(doc); changed {
			m2, r2 := ValidateSchema(fixed), officialVerdict(t, schemas, fixed)
			if m2 == nil && r2 == nil {
				return mine, ref // only the reference's sign leniency differed
			}
		}
	}
	t.Fatalf("verdicts differ on %s\n  ValidateSchema: %v\n  official schema: %v", mustJSON(doc), mine, ref)
	return mine, ref
}

// normaliseSignedTimeFields returns a copy of doc whose test sample times
// have every two-digit time field written with a sign ("+1", "-0")
// rewritten as digits, and whether anything changed.
//
// jsonschema/v6 reads those fields with strconv.Atoi, which accepts a
// leading sign, so it takes "2021-05-20T+8:30:00Z" as a date-time; RFC
// 3339 (time-hour = 2DIGIT, and so on) does not, nor does ValidateSchema.
// A verdict that differs only by such fields is the reference's leniency,
// not a fault of ValidateSchema.
func normaliseSignedTimeFields(doc map[string]any) (map[string]any, bool) {
	fixed := deepCopy(doc).(map[string]any)
	entries, _ := fixed["t"].([]any)
	changed := false
	for _, e := range entries {
		entry, ok := e.(map[string]any)
		if !ok {
			continue
		}
		sc, ok := entry["sc"].(string)
		if !ok {
			continue
		}
		if n := unsignTimeFields(sc); n != sc {
			entry["sc"] = n
			changed = true
		}
	}
	return fixed, changed
}

func unsignTimeFields(s string) string {
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
		return s
	}
	b := []byte(s)
	t := b[11:]
	fields := []int{0, 3, 6} // starts of hh, mm, ss
	if len(t) >= 6 {
		if o := t[len(t)-6:]; (o[0] == '+' || o[0] == '-') && o[3] == ':' {
			fields = append(fields, len(t)-5, len(t)-2)
		}
	}
	for _, at := range fields {
		if at+2 > len(t) {
			continue
		}
		f := string(t[at : at+2])
		if f[0] != '+' && f[0] != '-' {
			continue
		}
		if n, err := strconv.Atoi(f); err == nil && n >= 0 {
			copy(t[at:at+2], fmt.Sprintf("%02d", n))
		}
	}
	return string(b)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, c := range x {
			s[i] = deepCopy(c)
		}
		return s
	}
	return v
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// readJSONObject reads a JSON file the way encoding/json gives it.
func readJSONObject(t testing.TB, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc
}

// vector is one test vector of dgc-testdata.
type vector struct {
	ID       string // country/name
	Country  string // as known_issues.csv names it
	Set      string // the file name without .json, as known_issues.csv names it
	JSON     any
	CBORHex  string
	Context  vectorContext
	Expected map[string]any
}

type vectorContext struct {
	Schema      string `json:"SCHEMA"`
	Description string `json:"DESCRIPTION"`
}

func (v *vector) UnmarshalJSON(b []byte) error {
	var raw struct {
		JSON     any            `json:"JSON"`
		CBOR     string         `json:"CBOR"`
		Context  vectorContext  `json:"TESTCTX"`
		Expected map[string]any `json:"EXPECTEDRESULTS"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v.JSON, v.CBORHex, v.Context, v.Expected = raw.JSON, raw.CBOR, raw.Context, raw.Expected
	return nil
}

// expected returns an EXPECTED* flag; a missing flag means "do not test".
func (v *vector) expected(flag string) (value, present bool) {
	x, ok := v.Expected[flag].(bool)
	return x, ok
}

// dccCBOR returns the DCC payload inside the vector's CBOR field, which
// holds either the payload itself or the whole CWT claims map (then the
// payload is at claim -260, key 1), as upstream's harness also allows.
func (v *vector) dccCBOR() ([]byte, error) {
	if v.CBORHex == "" {
		return nil, errors.New("no CBOR field")
	}
	b, err := hex.DecodeString(v.CBORHex)
	if err != nil {
		return nil, fmt.Errorf("CBOR field is not hex: %w", err)
	}
	var claims map[int64]cbor.RawMessage
	if cbor.Unmarshal(b, &claims) != nil {
		return b, nil // not a map with integer keys: the payload itself
	}
	hcert, ok := claims[-260]
	if !ok {
		return b, nil
	}
	var inner map[int64]cbor.RawMessage
	if err := cbor.Unmarshal(hcert, &inner); err != nil {
		return nil, fmt.Errorf("hcert claim: %w", err)
	}
	payload, ok := inner[1]
	if !ok {
		return nil, errors.New("hcert claim has no key 1")
	}
	return payload, nil
}

// loadVectors reads every vector of the shared DCC test data; the folder
// is "raw" in most countries and "Raw" in one.
func loadVectors(t testing.TB) []*vector {
	t.Helper()
	root := testdata.Path(t, "dcc")
	files, err := filepath.Glob(filepath.Join(root, "*", "2DCode", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*vector
	for _, f := range files {
		if !strings.EqualFold(filepath.Base(filepath.Dir(f)), "raw") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := new(vector)
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v.Country = filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(f))))
		v.Set = strings.TrimSuffix(filepath.Base(f), ".json")
		v.ID = v.Country + "/" + v.Set
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("no test vectors under %s", root)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
