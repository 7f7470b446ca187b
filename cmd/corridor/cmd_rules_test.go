package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

// runCorridor calls realMain with buffers and returns the exit code and
// both streams.
func runCorridor(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, args)
	return code, stdout.String(), stderr.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// sharedSuites lists the specification's suite files and counts their
// checks from the JSON itself: one per assertion, one per validation case.
func sharedSuites(t *testing.T) ([]string, int) {
	t.Helper()
	var files []string
	checks := 0
	for _, dir := range []string{"testSuite", "validation-testSuite"} {
		found, err := filepath.Glob(filepath.Join(testdata.Path(t, "certlogic", dir), "*.json"))
		if err != nil || len(found) == 0 {
			t.Fatalf("no suite files in certlogic/%s (%v)", dir, err)
		}
		for _, f := range found {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var s struct {
				Cases []struct {
					Assertions []any `json:"assertions"`
					Issues     []any `json:"issues"`
				} `json:"cases"`
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			for _, c := range s.Cases {
				if c.Issues != nil {
					checks++
				} else {
					checks += len(c.Assertions)
				}
			}
		}
		files = append(files, found...)
	}
	return files, checks
}

func TestRulesTestPassesSharedSuites(t *testing.T) {
	files, checks := sharedSuites(t)
	code, stdout, stderr := runCorridor(t, append([]string{"rules", "test"}, files...)...)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if want := fmt.Sprintf("%d passed, 0 failed", checks); lastLine(stdout) != want {
		t.Fatalf("last line %q, want %q", lastLine(stdout), want)
	}
	if strings.Contains(stdout, "FAIL") {
		t.Fatalf("failures reported:\n%s", stdout)
	}
}

func TestRulesTestVerboseListsPassingChecks(t *testing.T) {
	files, checks := sharedSuites(t)
	_, stdout, _ := runCorridor(t, append([]string{"rules", "test", "-v"}, files...)...)
	n := 0
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "ok   ") {
			n++
		}
	}
	if n != checks {
		t.Fatalf("-v listed %d passing checks, want %d", n, checks)
	}
}

func TestRulesTestReportsFailingCase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wrong.json")
	suite := `{"name": "deliberately failing", "cases": [
		{"name": "one plus one", "certLogicExpression": {"+": [1, 1]}, "assertions": [
			{"data": {}, "expected": 2},
			{"data": {}, "expected": 3, "message": "wrong sum"}
		]},
		{"name": "skipped", "directive": "skip", "certLogicExpression": true, "assertions": [{"data": {}, "expected": false}]}
	]}`
	if err := os.WriteFile(path, []byte(suite), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCorridor(t, "rules", "test", path)
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d\n%s", code, exitInvalid, stdout)
	}
	want := "FAIL wrong.json: deliberately failing / one plus one / assertion 2: wrong sum: expected 3, got 2"
	if !strings.Contains(stdout, want+"\n") {
		t.Fatalf("stdout lacks %q:\n%s", want, stdout)
	}
	if lastLine(stdout) != "1 passed, 1 failed, 1 skipped" {
		t.Fatalf("last line %q", lastLine(stdout))
	}
}

func TestRulesTestRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte(`{"name": "x", "cases": [{"name": "c"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	good, _ := sharedSuites(t)
	code, stdout, stderr := runCorridor(t, "rules", "test", good[0], broken, missing)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	for _, f := range []string{broken, missing} {
		if !strings.Contains(stderr, f) {
			t.Errorf("stderr does not name %s:\n%s", f, stderr)
		}
	}
	if strings.Contains(stdout, "passed") {
		t.Errorf("suites ran although a file was bad:\n%s", stdout)
	}
}

func TestRulesUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"rules"}, {"rules", "run"}, {"rules", "test"}, {"rules", "test", "-x", "f"}, {"rules", "check"}, {"rules", "check", "a", "b"}} {
		if code, _, stderr := runCorridor(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, stderr, exitUsage)
		}
	}
	if code, stdout, _ := runCorridor(t, "rules", "-h"); code != exitOK || !strings.Contains(stdout, "usage: corridor rules") {
		t.Errorf("rules -h: exit %d, %q", code, stdout)
	}
}

const checkRule = `{
  "Identifier": "TR-KR-0001", "Type": "Acceptance", "Country": "KR", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.2", "CertificateType": "Test",
  "Description": [{"lang": "en", "desc": "The test result must be \"not detected\"."}],
  "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
  "AffectedFields": ["t.0.tr"],
  "Logic": {"if": [{"var": "payload.t.0"}, {"===": [{"var": "payload.t.0.tr"}, "260415000"]}, true]}
}`

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(good, []byte("["+checkRule+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCorridor(t, "rules", "check", good)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{good + ": 1 valid rule\n", "TR-KR-0001", "1.0.0", "Acceptance", "Test", "2030-01-01T00:00Z", `The test result must be "not detected".`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(checkRule, `"===":`, `"==":`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCorridor(t, "rules", "check", bad)
	if code != exitInvalid || !strings.Contains(stderr, bad) || !strings.Contains(stderr, `unrecognised operator: "=="`) {
		t.Fatalf("invalid rule: exit %d, stderr %q", code, stderr)
	}

	code, _, stderr = runCorridor(t, "rules", "check", filepath.Join(dir, "none.json"))
	if code != exitUsage || !strings.Contains(stderr, "none.json") {
		t.Fatalf("missing file: exit %d, stderr %q", code, stderr)
	}
}
