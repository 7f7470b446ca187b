package certlogic

import (
	"testing"
	"time"
)

// BenchmarkEvaluateRule evaluates a typical test-result rule (NAAT within
// 72 hours of the validation clock) against a DCC payload.
func BenchmarkEvaluateRule(b *testing.B) {
	rules, err := LoadRules([]byte(corridorRules))
	if err != nil {
		b.Fatal(err)
	}
	logic := rules[0].Logic
	payload := mustJSON(b, `{"ver": "1.3.0", "dob": "1967-10-21", "nam": {"fn": "Test", "fnt": "TEST"},
		"t": [{"tg": "840539006", "tt": "LP6464-4", "sc": "2021-06-28T22:00:00Z", "tr": "260415000",
		"tc": "Lab", "co": "SI", "is": "NIJZ", "ci": "URN:UVCI:01:SI:12345#6"}]}`).(map[string]any)
	data := External{ValidationClock: time.Date(2021, 6, 30, 13, 26, 1, 0, time.UTC)}.Data(payload)
	if got, err := Evaluate(logic, data); err != nil || got != true {
		b.Fatalf("got %v, %v; want true", got, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(logic, data); err != nil {
			b.Fatal(err)
		}
	}
}
