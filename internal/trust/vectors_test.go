package trust

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

// dccVector is the part of a dgc-testdata vector this package checks.
type dccVector struct {
	path    string // COUNTRY/2DCode/raw/NAME.json
	country string
	name    string

	JSON    map[string]json.RawMessage `json:"JSON"`
	CBOR    string                     `json:"CBOR"`
	COSE    string                     `json:"COSE"`
	TestCtx struct {
		Certificate     string `json:"CERTIFICATE"`
		ValidationClock string `json:"VALIDATIONCLOCK"`
		Description     string `json:"DESCRIPTION"`
	} `json:"TESTCTX"`
	Expected map[string]any `json:"EXPECTEDRESULTS"`
}

// flag returns an EXPECTED* flag; ok is false when the vector leaves the
// step untested.
func (v *dccVector) flag(name string) (value, ok bool) {
	raw, present := v.Expected[name]
	if !present {
		return false, false
	}
	b, isBool := raw.(bool)
	return b, isBool
}

func loadVectors(t *testing.T) []*dccVector {
	t.Helper()
	root := testdata.Path(t, "dcc")
	files, err := filepath.Glob(filepath.Join(root, "*", "2DCode", "raw", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no vectors under %s", root)
	}
	var out []*dccVector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := &dccVector{}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(root, f)
		v.path = filepath.ToSlash(rel)
		v.country = strings.SplitN(v.path, "/", 2)[0]
		v.name = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, v)
	}
	return out
}

// knownIssue is a row of dcc/known_issues.csv: upstream's list of vectors
// whose flags its reference harness does not meet.
type knownIssue struct{ test, country, set, reason string }

func loadKnownIssues(t *testing.T) []knownIssue {
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
	if len(rows) < 2 || strings.Join(rows[0], ",") != "test_name,country,test_set,reason" {
		t.Fatalf("known_issues.csv: unexpected header %v", rows[0])
	}
	var out []knownIssue
	for _, r := range rows[1:] {
		out = append(out, knownIssue{r[0], r[1], r[2], r[3]})
	}
	return out
}

// knownIssueFor returns the reason upstream lists for test on v, if any.
func knownIssueFor(issues []knownIssue, test string, v *dccVector) string {
	for _, k := range issues {
		if k.test == test && k.country == v.country && (k.set == "" || k.set == v.name) {
			return k.reason
		}
	}
	return ""
}
