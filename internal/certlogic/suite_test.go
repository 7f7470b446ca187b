package certlogic

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

// suiteFiles lists the JSON files of one folder of the shared CertLogic test
// data, failing the test if there are none.
func suiteFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata.Path(t, "certlogic", dir), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no test-suite files in certlogic/%s", dir)
	}
	return files
}

// countChecks counts a suite file's checks straight from its JSON, so that
// the runner cannot pass by producing fewer results than there are checks.
func countChecks(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Cases []struct {
			Assertions []json.RawMessage `json:"assertions"`
			Issues     []json.RawMessage `json:"issues"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range raw.Cases {
		if c.Issues != nil {
			n++ // a validation case is one check however many issues it lists
		} else {
			n += len(c.Assertions)
		}
	}
	return n
}

// The specification's suites run in full: every assertion of every file in
// testSuite/ and every case in validation-testSuite/ must pass. None of them
// contradicts the specification as implemented here, so none is exempted.
func TestSpecificationSuites(t *testing.T) {
	for _, dir := range []string{"testSuite", "validation-testSuite"} {
		wantKind := EvaluationSuite
		if dir == "validation-testSuite" {
			wantKind = ValidationSuite
		}
		total := 0
		for _, path := range suiteFiles(t, dir) {
			s, err := LoadSuite(path)
			if err != nil {
				t.Fatal(err)
			}
			if s.Kind != wantKind {
				t.Errorf("%s: detected a %s suite, want %s", path, s.Kind, wantKind)
			}
			results := RunSuite(s)
			if want := countChecks(t, path); len(results) != want {
				t.Errorf("%s: %d results for %d checks", path, len(results), want)
			}
			for _, r := range results {
				name := fmt.Sprintf("%s/%s/%s/#%d", dir, r.Suite, r.Case, r.Assertion)
				switch {
				case r.Skipped:
					t.Errorf("%s: skipped by a directive in the file; the suite must run in full", name)
				case !r.Passed:
					t.Errorf("%s: %s", name, r.Message)
				case r.Message != "":
					t.Errorf("%s: passed with a message %q", name, r.Message)
				}
			}
			total += len(results)
		}
		t.Logf("%s: %d checks", dir, total)
	}
}

func TestLoadSuiteRejectsMalformedFiles(t *testing.T) {
	cases := map[string]struct{ json, wantErr string }{
		"not JSON":          {`{`, "unexpected EOF"},
		"no name":           {`{"cases": []}`, `missing "name"`},
		"no cases":          {`{"name": "x"}`, `missing "cases"`},
		"unknown case key":  {`{"name": "x", "cases": [{"name": "c", "assertions": [], "extra": 1}]}`, `unknown field "extra"`},
		"neither format":    {`{"name": "x", "cases": [{"name": "c"}]}`, `neither "assertions" nor "issues"`},
		"both formats":      {`{"name": "x", "cases": [{"name": "c", "certLogicExpression": 1, "assertions": [], "issues": []}]}`, "both"},
		"mixed formats":     {`{"name": "x", "cases": [{"name": "a", "assertions": []}, {"certLogicExpression": 1, "issues": []}]}`, "case #2 is a validation case"},
		"no expected":       {`{"name": "x", "cases": [{"name": "c", "certLogicExpression": 1, "assertions": [{"data": {}}]}]}`, `"data" and "expected"`},
		"no expression":     {`{"name": "x", "cases": [{"name": "c", "assertions": [{"data": {}, "expected": 1}]}]}`, `no "certLogicExpression"`},
		"bad directive":     {`{"name": "x", "directive": "later", "cases": []}`, "unknown directive"},
		"issue no message":  {`{"name": "x", "cases": [{"certLogicExpression": 1, "issues": [{"expr": 1}]}]}`, `"message"`},
		"trailing data":     {`{"name": "x", "cases": []} {}`, "after the JSON value"},
		"validation no exp": {`{"name": "x", "cases": [{"issues": []}]}`, `without "certLogicExpression"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSuite([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadSuiteNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(path, []byte(`{"name": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSuite(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want an error naming %s", err, path)
	}
	if _, err := LoadSuite(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("loading a missing file succeeded")
	}
}

func TestRunSuiteReportsFailuresAndDirectives(t *testing.T) {
	s, err := ParseSuite([]byte(`{
		"name": "mine",
		"cases": [
			{"name": "sum", "certLogicExpression": {"+": [{"var": "a"}, 1]}, "assertions": [
				{"data": {"a": 1}, "expected": 2},
				{"data": {"a": 1}, "expected": 3, "message": "deliberately wrong"},
				{"data": {"a": "x"}, "expected": 2},
				{"data": {"a": 5}, "expected": 0, "directive": "skip"}
			]},
			{"name": "skipped", "directive": "skip", "certLogicExpression": true, "assertions": [{"data": null, "expected": false}]}
		]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := RunSuite(s)
	want := []struct {
		passed, skipped bool
		msg             string
	}{
		{true, false, ""},
		{false, false, "deliberately wrong: expected 3, got 2"},
		{false, false, `expected 2, got error: certlogic: "+" operation: operands must both be integers, but they are string and integer`},
		{false, true, ""},
		{false, true, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Passed != w.passed || g.Skipped != w.skipped || g.Message != w.msg {
			t.Errorf("result %d = %+v, want passed=%v skipped=%v message %q", i, g, w.passed, w.skipped, w.msg)
		}
	}
	if got[1].Suite != "mine" || got[1].Case != "sum" || got[1].Assertion != 2 {
		t.Errorf("result 1 is labelled %s/%s/#%d", got[1].Suite, got[1].Case, got[1].Assertion)
	}
}

func TestRunSuiteOnlyDirective(t *testing.T) {
	s, err := ParseSuite([]byte(`{"name": "n", "cases": [
		{"name": "a", "certLogicExpression": 1, "assertions": [{"data": null, "expected": 1}]},
		{"name": "b", "directive": "only", "certLogicExpression": 2, "assertions": [{"data": null, "expected": 2}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := RunSuite(s)
	if len(got) != 2 || !got[0].Skipped || got[1].Skipped || !got[1].Passed {
		t.Fatalf("got %+v, want case a skipped and case b run", got)
	}
}

func TestRunSuiteValidationMismatch(t *testing.T) {
	s, err := ParseSuite([]byte(`{"name": "v", "cases": [
		{"certLogicExpression": {"var": 1}, "issues": []},
		{"certLogicExpression": {"!": [true, false]}, "issues": [{"expr": {"!": [true, false]}, "message": "a !-operation (logical not/negation) must have exactly 1 operand, but it has 2"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := RunSuite(s)
	if len(got) != 2 {
		t.Fatalf("got %d results", len(got))
	}
	if got[0].Passed || !strings.Contains(got[0].Message, `expected issues none, got ["not of the form`) {
		t.Errorf("mismatch reported as %+v", got[0])
	}
	if !strings.HasPrefix(got[0].Case, "case #1 ") {
		t.Errorf("unnamed case labelled %q", got[0].Case)
	}
	if !got[1].Passed {
		t.Errorf("matching issues reported as %+v", got[1])
	}
}
