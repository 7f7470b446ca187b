package certlogic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// mustJSON decodes a JSON text the way this package's loaders do.
func mustJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := decodeStrict([]byte(s), &v, false); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestEvaluateValues(t *testing.T) {
	cases := []struct {
		name, expr, data, want string
	}{
		{"integer literal", `42`, `null`, `42`},
		{"array evaluates items", `[1, {"var": "a"}, "x"]`, `{"a": true}`, `[1, true, "x"]`},
		{"var drills into arrays and objects", `{"var": "a.1.b"}`, `{"a": [0, {"b": "deep"}]}`, `"deep"`},
		{"var index past the end", `{"var": "a.5"}`, `{"a": [0]}`, `null`},
		{"var non-numeric index on array", `{"var": "a.x"}`, `{"a": [0]}`, `null`},
		{"var into a scalar", `{"var": "a.b"}`, `{"a": "string"}`, `null`},
		{"var huge index", `{"var": "a.99999999999999999999"}`, `{"a": [0]}`, `null`},
		{"var numeric key on object", `{"var": "a.0"}`, `{"a": {"0": "zero"}}`, `"zero"`},
		{"=== across number forms", `{"===": [2, {"var": "n"}]}`, `{"n": 2.0}`, `true`},
		{"=== string vs number", `{"===": ["2", 2]}`, `null`, `false`},
		{"=== null", `{"===": [{"var": "missing"}, {"var": "gone"}]}`, `{}`, `true`},
		{"=== on arrays is never true", `{"===": [[1], [1]]}`, `null`, `false`},
		{"in uses strict equality", `{"in": [1, ["1", 2]]}`, `null`, `false`},
		{"in finds null", `{"in": [{"var": "x"}, {"var": "list"}]}`, `{"list": [null]}`, `true`},
		{"+ on negatives", `{"+": [-5, 3]}`, `null`, `-2`},
		{"> ternary", `{">": [3, 2, 1]}`, `null`, `true`},
		{">= ternary fails", `{">=": [3, 3, 4]}`, `null`, `false`},
		{"! of empty object", `{"!": [{"var": "o"}]}`, `{"o": {}}`, `true`},
		{"! of non-empty array", `{"!": [[0]]}`, `null`, `false`},
		{"if takes else lazily", `{"if": [false, {"+": ["no", 1]}, "else"]}`, `null`, `"else"`},
		{"if takes then lazily", `{"if": [1, "then", {"+": ["no", 1]}]}`, `null`, `"then"`},
		{"and stops at first falsy", `{"and": [1, 0, {"+": ["no", 1]}]}`, `null`, `0`},
		{"reduce with empty array", `{"reduce": [[], {"+": [1, 1]}, 7]}`, `null`, `7`},
		{"reduce sees only accumulator and current", `{"reduce": [{"var": "xs"}, {"var": "data"}, 0]}`, `{"xs": [1], "data": 5}`, `null`},
		{"extractFromUVCI from null", `{"extractFromUVCI": [{"var": "x"}, 0]}`, `{}`, `null`},
		{"extractFromUVCI keeps lower-case prefix", `{"extractFromUVCI": ["urn:uvci:01:NL", 0]}`, `null`, `"urn"`},
		{"after", `{"after": [{"plusTime": ["2021-01-02", 0, "day"]}, {"plusTime": ["2021-01-01", 0, "day"]}]}`, `null`, `true`},
		{"not-after equal", `{"not-after": [{"plusTime": ["2021-01-01", 0, "day"]}, {"plusTime": ["2021-01-01T00:00:00Z", 0, "hour"]}]}`, `null`, `true`},
		{"before ternary", `{"before": [{"plusTime": ["2021-01-01", 0, "day"]}, {"plusTime": ["2021-01-02", 0, "day"]}, {"plusTime": ["2021-01-02", 0, "day"]}]}`, `null`, `false`},
		{"minor check from the spec", `{"after": [{"dccDateOfBirth": [{"var": "dob"}]}, {"plusTime": [{"var": "clock"}, -18, "year"]}]}`, `{"dob": "2004", "clock": "2022-06-01T00:00:00Z"}`, `true`},
		{"adult check from the spec", `{"after": [{"dccDateOfBirth": [{"var": "dob"}]}, {"plusTime": [{"var": "clock"}, -18, "year"]}]}`, `{"dob": "2003-05", "clock": "2022-06-01T00:00:00Z"}`, `false`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Evaluate(mustJSON(t, tc.expr), mustJSON(t, tc.data))
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if want := mustJSON(t, tc.want); !jsonEqual(got, want) {
				t.Fatalf("got %s, want %s", render(got), tc.want)
			}
		})
	}
}

func TestEvaluateReturnsDateTimes(t *testing.T) {
	got, err := Evaluate(mustJSON(t, `{"plusTime": ["2021-06-01T12:00:00.1239+02:00", 1, "hour"]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tm, ok := got.(time.Time)
	if !ok {
		t.Fatalf("got %T, want time.Time", got)
	}
	if want := time.Date(2021, 6, 1, 11, 0, 0, 123e6, time.UTC); !tm.Equal(want) || tm.Location() != time.UTC {
		t.Fatalf("got %v, want %v in UTC", tm, want)
	}
}

func TestEvaluateAcceptsGoNumbers(t *testing.T) {
	data := map[string]any{"i": 3, "u": uint64(4), "f": 5.0, "n": json.Number("6")}
	expr := mustJSON(t, `{"<": [{"var": "i"}, {"var": "u"}, {"var": "f"}]}`)
	if got, err := Evaluate(expr, data); err != nil || got != true {
		t.Fatalf("got %v, %v; want true", got, err)
	}
	sum, err := Evaluate(mustJSON(t, `{"+": [{"var": "f"}, {"var": "n"}]}`), data)
	if err != nil || sum != json.Number("11") {
		t.Fatalf("got %#v, %v; want json.Number 11", sum, err)
	}
}

// Errors name the operation at fault and say what is wrong.
func TestEvaluateErrors(t *testing.T) {
	cases := []struct {
		name, expr, data, want string
	}{
		{"null literal", `null`, `{}`, "null is not a literal"},
		{"float literal", `1.5`, `{}`, "1.5 is a non-integer number"},
		{"two keys", `{"a": [], "b": []}`, `{}`, "exactly one key, but it has 2"},
		{"unknown operator", `{"or": [true, false]}`, `{}`, `unrecognised operator: "or"`},
		{"operands not an array", `{"if": true}`, `{}`, `"if" operation: not of the form`},
		{"var default not allowed", `{"var": ["x", 1]}`, `{}`, `"var" operation: not of the form { "var": "<path>" }`},
		{"var bad path", `{"var": "a..b"}`, `{}`, "data access path doesn't have a valid format: a..b"},
		{"if arity", `{"if": [true, 1]}`, `{}`, `"if" operation: must have exactly 3 operands, but it has 2`},
		{"if guard neither", `{"if": [{"plusTime": ["2021-01-01", 0, "day"]}, 1, 2]}`, `{}`, `"if" operation: guard evaluates to 2021-01-01T00:00:00.000Z, which is neither`},
		{"and arity", `{"and": [true]}`, `{}`, `"and" operation: must have at least 2 operands, but it has 1`},
		{"and operand neither", `{"and": [true, {"var": "f"}]}`, `{"f": 0.5}`, `"and" operation: operand 2 evaluates to 0.5`},
		{"=== arity", `{"===": [1, 1, 1]}`, `{}`, `"===" operation: must have exactly 2 operands, but it has 3`},
		{"< arity", `{"<": [1, 2, 3, 4]}`, `{}`, `"<" operation: must have 2 to 3 operands, but it has 4`},
		{"< on strings", `{"<": ["a", "b"]}`, `{}`, `"<" operation: all operands must be integers, but operand 1 is string`},
		{"< on null", `{"<=": [1, {"var": "x"}]}`, `{}`, "operand 2 is null"},
		{"+ on string", `{"+": [1, "2"]}`, `{}`, `"+" operation: operands must both be integers, but they are integer and string`},
		{"+ overflow", `{"+": [9223372036854775807, 1]}`, `{}`, "overflows"},
		{"in on string", `{"in": ["a", "abc"]}`, `{}`, `"in" operation: right-hand side must be an array, but it is string`},
		{"! arity", `{"!": []}`, `{}`, `"!" operation: must have exactly 1 operand, but it has 0`},
		{"! neither", `{"!": [{"var": "f"}]}`, `{"f": 1.5}`, `"!" operation: operand evaluates to 1.5, which is neither`},
		{"after on strings", `{"after": ["2021-01-01", "2020-01-01"]}`, `{}`, `"after" operation: all operands must be date-times`},
		{"plusTime amount expression", `{"plusTime": ["2021-01-01", {"var": "n"}, "day"]}`, `{"n": 1}`, `"plusTime" operation: "amount" operand (#2) must be an integer literal`},
		{"plusTime unit", `{"plusTime": ["2021-01-01", 1, "week"]}`, `{}`, `"unit" operand (#3) must be one of`},
		{"plusTime on null", `{"plusTime": [{"var": "d"}, 0, "day"]}`, `{}`, "date operand (#1) must evaluate to a string, but it is null"},
		{"plusTime on a date-time", `{"plusTime": [{"plusTime": ["2021-01-01", 0, "day"]}, 1, "day"]}`, `{}`, "but it is date-time"},
		{"plusTime bad format", `{"plusTime": ["01.02.2021", 0, "day"]}`, `{}`, `"plusTime" operation: date operand (#1): "01.02.2021" is not a date or date-time in an allowed format`},
		{"plusTime amount too large", `{"plusTime": ["2021-01-01", 400000, "year"]}`, `{}`, "out of range"},
		{"reduce on object", `{"reduce": [{"var": ""}, 0, 0]}`, `{"a": 1}`, `"reduce" operation: operand (#1) must evaluate to an array or null, but it is object`},
		{"reduce lambda error", `{"reduce": [[1], {"+": [{"var": "current"}, "x"]}, 0]}`, `{}`, `"+" operation`},
		{"extractFromUVCI on number", `{"extractFromUVCI": [5, 0]}`, `{}`, `"extractFromUVCI" operation: UCI operand (#1) must evaluate to a string or null, but it is integer`},
		{"extractFromUVCI index expression", `{"extractFromUVCI": ["a:b", {"var": "i"}]}`, `{}`, `"index" operand (#2) must be an integer literal`},
		{"dccDateOfBirth on null", `{"dccDateOfBirth": [{"var": "dob"}]}`, `{}`, `"dccDateOfBirth" operation: operand must evaluate to a string, but it is null`},
		{"dccDateOfBirth bad date", `{"dccDateOfBirth": ["1990-02-30"]}`, `{}`, `is not a date of birth`},
		{"dccDateOfBirth date-time", `{"dccDateOfBirth": ["1978-01-26T00:00:00"]}`, `{}`, `is not a date of birth`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Evaluate(mustJSON(t, tc.expr), mustJSON(t, tc.data))
			if err == nil {
				t.Fatalf("got %s, want an error containing %q", render(got), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %q, want one containing %q", err, tc.want)
			}
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("error %T is not an *EvalError", err)
			}
		})
	}
}

func TestEvaluateRejectsForeignGoTypes(t *testing.T) {
	if _, err := Evaluate(struct{}{}, nil); err == nil || !strings.Contains(err.Error(), "Go type struct {}") {
		t.Fatalf("got %v", err)
	}
	// Foreign values in data are neither truthy nor falsy.
	_, err := Evaluate(mustJSON(t, `{"!": [{"var": "x"}]}`), map[string]any{"x": struct{}{}})
	if err == nil {
		t.Fatal("negating a foreign value succeeded")
	}
}

func TestEvaluateBoundsDepthAndSteps(t *testing.T) {
	deep := strings.Repeat(`{"!": [`, maxDepth+10) + "true" + strings.Repeat(`]}`, maxDepth+10)
	if _, err := Evaluate(mustJSON(t, deep), nil); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("deep nesting: got %v, want ErrTooComplex", err)
	}
	shallow := strings.Repeat(`{"!": [`, maxDepth/2) + "true" + strings.Repeat(`]}`, maxDepth/2)
	if _, err := Evaluate(mustJSON(t, shallow), nil); err != nil {
		t.Fatalf("nesting within the limit: %v", err)
	}

	// A reduce over 10^4 arrays of 10^4 items each would take 10^8 steps.
	items := make([]any, 10_000)
	for i := range items {
		items[i] = json.Number("1")
	}
	rows := make([]any, 10_000)
	for i := range rows {
		rows[i] = items
	}
	inner := `{"reduce": [{"var": "current"}, {"+": [{"var": "accumulator"}, 1]}, 0]}`
	expr := `{"reduce": [{"var": "rows"}, ` + inner + `, 0]}`
	start := time.Now()
	_, err := Evaluate(mustJSON(t, expr), map[string]any{"rows": rows})
	if !errors.Is(err, ErrTooComplex) {
		t.Fatalf("runaway reduce: got %v, want ErrTooComplex", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("runaway reduce took %v before being stopped", d)
	}
}

func TestIsTruthy(t *testing.T) {
	truthyValues := []any{true, "0", " ", json.Number("-1"), 1, 2.0, []any{nil}, map[string]any{"a": nil}}
	falsyValues := []any{false, nil, "", json.Number("0"), 0, 0.0, []any{}, map[string]any{}}
	neitherValues := []any{0.5, json.Number("1.5"), time.Unix(0, 0), struct{}{}}
	for _, v := range truthyValues {
		if !IsTruthy(v) || boolsinessOf(v) != truthy {
			t.Errorf("%#v should be truthy", v)
		}
	}
	for _, v := range falsyValues {
		if IsTruthy(v) || boolsinessOf(v) != falsy {
			t.Errorf("%#v should be falsy", v)
		}
	}
	for _, v := range neitherValues {
		if IsTruthy(v) || boolsinessOf(v) != neither {
			t.Errorf("%#v should be neither truthy nor falsy", v)
		}
	}
}

// A reduce can build values whose full rendering is exponentially large;
// evaluating and describing them must stay cheap.
func TestSharedStructureStaysCheap(t *testing.T) {
	xs := make([]any, 200)
	for i := range xs {
		xs[i] = json.Number("1")
	}
	doubling := mustJSON(t, `{"reduce": [{"var": "xs"}, [{"var": "accumulator"}, {"var": "accumulator"}], [1]]}`)
	start := time.Now()
	got, err := Evaluate(doubling, map[string]any{"xs": xs})
	if err != nil {
		t.Fatal(err)
	}
	s := render(got)
	if !strings.HasPrefix(s, "[[[[") || !strings.HasSuffix(s, "…") || len(s) > renderLimit+len("…") {
		t.Errorf("rendering %q is not a bounded prefix", s)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

func TestRenderCutsAtRuneBoundary(t *testing.T) {
	s := render(strings.Repeat("한", 100))
	if !strings.HasSuffix(s, "…") || !utf8.ValidString(s) {
		t.Fatalf("got %q", s)
	}
}

func TestAsInt(t *testing.T) {
	ints := []any{int8(-3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), float32(3), 3.0, json.Number("3"), json.Number("3.0"), json.Number("3e0")}
	for _, v := range ints {
		if n, ok := asInt(v); !ok || (n != 3 && n != -3) {
			t.Errorf("asInt(%T %v) = %d, %v", v, v, n, ok)
		}
	}
	notInts := []any{uint64(1 << 63), 3.5, float64(1 << 60), json.Number("1e300"), json.Number("x"), "3", true, nil}
	for _, v := range notInts {
		if n, ok := asInt(v); ok {
			t.Errorf("asInt(%T %v) = %d, want not an integer", v, v, n)
		}
	}
}

// Expected values in suites are JSON, so a date-time result matches its
// ISO 8601 rendering, as JSON.stringify would write it.
func TestDateTimeResultsMatchISOStrings(t *testing.T) {
	s, err := ParseSuite([]byte(`{"name": "dates", "cases": [{"name": "c",
		"certLogicExpression": {"plusTime": [{"var": ""}, 1, "day"]}, "assertions": [
		{"data": "2021-06-01T23:00:00-01:00", "expected": "2021-06-03T00:00:00.000Z"},
		{"data": "2021-06-01", "expected": "2021-06-02T00:00:00Z"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := RunSuite(s)
	if !got[0].Passed {
		t.Errorf("ISO rendering did not match: %s", got[0].Message)
	}
	if got[1].Passed || got[1].Message != `expected "2021-06-02T00:00:00Z", got 2021-06-02T00:00:00.000Z` {
		t.Errorf("a differently written instant matched: %+v", got[1])
	}
}
