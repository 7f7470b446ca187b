package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func samplePath(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "..", "policies", "cn-kr.json")
}

func TestSamplePolicy(t *testing.T) {
	p, err := LoadFile(samplePath(t))
	if err != nil {
		t.Fatal(err)
	}
	cn := []string{"Shanghai", "Tianjin", "Chongqing", "Liaoning", "Shandong", "Jiangsu", "Guangdong", "Shaanxi", "Sichuan", "Anhui"}
	l, ok := p.Lane("KR-CN")
	if !ok {
		t.Fatal("no KR-CN lane")
	}
	for _, r := range cn {
		if !l.OpensRegion(r) {
			t.Errorf("KR-CN does not open %s", r)
		}
	}
	if len(l.Regions) != len(cn) {
		t.Errorf("KR-CN opens %d regions, want the 10 of the 2020 fast track", len(l.Regions))
	}
	if k, ok := p.Lane("CN-KR"); !ok || !k.OpensRegion("KR") {
		t.Error("CN-KR lane must admit to KR")
	}
	if l.Measures.TestTypeCode() != "LP6464-4" {
		t.Errorf("test type code %q", l.Measures.TestTypeCode())
	}
	if len(p.Digest()) != 64 {
		t.Errorf("digest %q", p.Digest())
	}
}

// mutate loads the sample, applies f to its generic form, and parses the
// result re-indented, so the expected line of each fault is computable.
func mutate(t *testing.T, f func(m map[string]any)) ([]byte, error) {
	t.Helper()
	raw, err := os.ReadFile(samplePath(t))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(out)
	return out, err
}

func lineOf(t *testing.T, doc []byte, needle string) int {
	t.Helper()
	i := strings.Index(string(doc), needle)
	if i < 0 {
		t.Fatalf("%q not in document", needle)
	}
	return strings.Count(string(doc[:i]), "\n") + 1
}

func TestFaultsNameLineAndField(t *testing.T) {
	lane := func(m map[string]any, i int) map[string]any { return m["lanes"].([]any)[i].(map[string]any) }
	cases := []struct {
		name, field, needle string
		f                   func(m map[string]any)
	}{
		{"negative quota", "lanes[1].quota.weekly_per_region.KR", `"KR": -3`, func(m map[string]any) {
			lane(m, 1)["quota"].(map[string]any)["weekly_per_region"].(map[string]any)["KR"] = -3
		}},
		{"unknown test type", "lanes[0].measures.test_type", `"test_type": "PCR"`, func(m map[string]any) {
			lane(m, 0)["measures"].(map[string]any)["test_type"] = "PCR"
		}},
		{"short retention", "retention_days", `"retention_days": 7`, func(m map[string]any) { m["retention_days"] = 7 }},
		{"region not of party", "lanes[1].regions[0]", `"Atlantis"`, func(m map[string]any) {
			lane(m, 1)["regions"] = []any{"Atlantis"}
		}},
		{"falling breaker", "circuit_breaker[1].positives", `"positives": 2`, func(m map[string]any) {
			m["circuit_breaker"].([]any)[1].(map[string]any)["positives"] = 2
		}},
		{"bad on_suspension", "lanes[0].on_suspension", `"on_suspension": "maybe"`, func(m map[string]any) {
			lane(m, 0)["on_suspension"] = "maybe"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := mutate(t, c.f)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a policy error", err)
			}
			found := false
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				if errors.As(e, &pe) && pe.Field == c.field {
					found = true
					if want := lineOf(t, doc, c.needle); pe.Line != want {
						t.Errorf("%s reported on line %d, want %d", c.field, pe.Line, want)
					}
				}
			}
			if !found {
				t.Errorf("no error for %s in: %v", c.field, err)
			}
		})
	}
}

func TestSyntaxAndTypeErrors(t *testing.T) {
	for _, c := range []struct {
		doc  string
		line int
		want string
	}{
		{"{\n  \"id\": \"x\",\n  \"version\": \"one\"\n}", 3, "whole number"},
		{"{\n  \"id\": \"x\",\n  \"version\": 1,,\n}", 3, "not valid JSON"},
		{"{\n  \"idd\": \"x\"\n}", 0, "not a policy field"},
		{"", 1, "empty"},
		{"{\"id\":", 1, "ends too early"},
		{"{} {}", 1, "after the policy"},
	} {
		_, err := Parse([]byte(c.doc))
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || (c.line > 0 && pe.Line != c.line) {
			t.Errorf("%q: got %v, want line %d and %q", c.doc, err, c.line, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "policies", "cn-kr.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data)
	})
}
