package certlogic

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// FuzzEvaluate feeds arbitrary expression and data JSON to Evaluate and
// Validate. Neither may panic or run unbounded, and evaluation must be
// deterministic. The seed corpus is every expression/data pair of the
// specification's suites, plus the validation suite's expressions.
func FuzzEvaluate(f *testing.F) {
	for _, dir := range []string{"testSuite", "validation-testSuite"} {
		for _, path := range suiteFiles(f, dir) {
			s, err := LoadSuite(path)
			if err != nil {
				f.Fatal(err)
			}
			for _, c := range s.Cases {
				if s.Kind == ValidationSuite {
					f.Add(marshalSeed(f, c.Expression), []byte(`{}`))
					continue
				}
				for _, a := range c.Assertions {
					expr := c.Expression
					if a.HasExpression {
						expr = a.Expression
					}
					f.Add(marshalSeed(f, expr), marshalSeed(f, a.Data))
				}
			}
		}
	}
	f.Add([]byte(corridorRulesLogic(f)), []byte(`{"payload": {"t": [{"tt": "LP6464-4", "sc": "2021-06-01T10:00:00+02:00"}]}, "external": {"validationClock": "2021-06-02T10:00:00Z"}}`))

	f.Fuzz(func(t *testing.T, exprJSON, dataJSON []byte) {
		var expr, data any
		if decodeStrict(exprJSON, &expr, false) != nil || decodeStrict(dataJSON, &data, false) != nil {
			return
		}
		start := time.Now()
		got, err := Evaluate(expr, data)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("evaluation took %v", d)
		}
		// Results may share structure exponentially (see render), so they
		// are compared by their bounded renderings, not walked in full.
		again, errAgain := Evaluate(expr, data)
		if render(got) != render(again) || fmt.Sprint(err) != fmt.Sprint(errAgain) {
			t.Fatalf("not deterministic: %s, %v then %s, %v", render(got), err, render(again), errAgain)
		}
		_ = Validate(expr)
	})
}

func marshalSeed(tb testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// corridorRulesLogic returns the Logic of the first test rule as JSON.
func corridorRulesLogic(tb testing.TB) string {
	var rules []struct{ Logic json.RawMessage }
	if err := json.Unmarshal([]byte(corridorRules), &rules); err != nil {
		tb.Fatal(err)
	}
	return string(rules[0].Logic)
}
