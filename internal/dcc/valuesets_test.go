package dcc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

func TestLoadValueSetsFromSharedData(t *testing.T) {
	dir := testdata.Path(t, "dcc-valuesets")
	sets, err := LoadValueSets(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Every file's codes, read independently of LoadValueSets.
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != len(files) {
		t.Errorf("%d value sets from %d files", len(sets), len(files))
	}
	for _, f := range files {
		var raw struct {
			ID     string                     `json:"valueSetId"`
			Values map[string]json.RawMessage `json:"valueSetValues"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		codes := sets[raw.ID]
		if len(codes) != len(raw.Values) || !slices.IsSorted(codes) {
			t.Errorf("%s: %d codes (sorted: %v), the file has %d", raw.ID, len(codes), slices.IsSorted(codes), len(raw.Values))
		}
		for code := range raw.Values {
			if _, found := slices.BinarySearch(codes, code); !found {
				t.Errorf("%s: code %q missing", raw.ID, code)
			}
		}
	}
	// The codes Corridor relies on are where CertLogic rules look for them.
	want := map[string][]string{
		"covid-19-lab-test-type": {TestTypeNAAT, TestTypeRAT},
		"covid-19-lab-result":    {ResultDetected, ResultNotDetected},
		"disease-agent-targeted": {DiseaseCOVID19},
		"country-2-codes":        {"CN", "KR"},
	}
	for id, codes := range want {
		for _, code := range codes {
			if _, found := slices.BinarySearch(sets[id], code); !found {
				t.Errorf("value set %q lacks %q", id, code)
			}
		}
	}
}

func TestLoadValueSetsRefusesBadInput(t *testing.T) {
	const good = `{"valueSetId":"x","valueSetDate":"2021-04-27","valueSetValues":{"A":{"display":"a","lang":"en","active":true,"system":"s","version":"1"}}}`
	cases := map[string]map[string]string{
		"no files":          {},
		"not JSON":          {"a.json": "{"},
		"no id":             {"a.json": strings.Replace(good, `"valueSetId":"x",`, "", 1)},
		"bad date":          {"a.json": strings.Replace(good, "2021-04-27", "27.04.2021", 1)},
		"no values":         {"a.json": strings.Replace(good, `"A":{"display":"a","lang":"en","active":true,"system":"s","version":"1"}`, "", 1)},
		"no active flag":    {"a.json": strings.Replace(good, `"active":true,`, "", 1)},
		"the same id twice": {"a.json": good, "b.json": good},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, body := range files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if sets, err := LoadValueSets(dir); err == nil {
				t.Errorf("loaded %v", sets)
			}
		})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("Apache-2.0"), 0o600); err != nil {
		t.Fatal(err)
	}
	sets, err := LoadValueSets(dir)
	if err != nil || !slices.Equal(sets["x"], []string{"A"}) {
		t.Errorf("got %v, %v", sets, err)
	}
}
