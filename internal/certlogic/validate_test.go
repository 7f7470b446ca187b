package certlogic

import (
	"errors"
	"strings"
	"testing"
)

// Cases beyond the validation suite, which covers only literals, operation
// objects and var.
func TestValidate(t *testing.T) {
	cases := []struct {
		name, expr string
		want       []string // messages, in order
	}{
		{"typical rule", `{"if": [{"var": "payload.t.0"}, {"not-after": [{"plusTime": [{"var": "payload.t.0.sc"}, 0, "day"]}, {"plusTime": [{"var": "external.validationClock"}, 72, "hour"]}]}, true]}`, nil},
		{"all operators", `{"and": [{"===": [1, 1]}, {"in": ["a", ["a"]]}, {"<": [1, {"+": [1, 1]}, 3]}, {"!": [false]}, {"reduce": [[], {"var": "accumulator"}, 0]}, {"extractFromUVCI": ["x", 1]}, {"before": [{"dccDateOfBirth": ["2000"]}, {"plusTime": ["2001", 0, "year"]}]}]}`, nil},
		{"if arity", `{"if": [true, 1]}`, []string{`an "if"-operation must have exactly 3 values/operands, but it has 2`}},
		{"and arity", `{"and": [true]}`, []string{`an "and" operation must have at least 2 operands, but it has 1`}},
		{"comparison arity", `{"after": [1]}`, []string{`an operation with operator "after" must have 2 or 3 operands, but it has 1`}},
		{"binary arity", `{"in": [1, [], 3]}`, []string{`an operation with operator "in" must have 2 operands, but it has 3`}},
		{"not arity", `{"!": [1, 2]}`, []string{`a !-operation (logical not/negation) must have exactly 1 operand, but it has 2`}},
		{"plusTime amount and unit", `{"plusTime": ["2021", "1", "week"]}`, []string{
			`"amount" argument (#2) of "plusTime" must be an integer, but it is: "1"`,
			`"unit" argument (#3) of "plusTime" must be a string equal to one of year, month, day, hour, but it is: "week"`}},
		{"plusTime arity", `{"plusTime": ["2021"]}`, []string{`a "plusTime"-operation must have exactly 3 values/operands, but it has 1`}},
		{"reduce arity", `{"reduce": [[], 0]}`, []string{`a "reduce"-operation must have exactly 3 values/operands, but it has 2`}},
		{"extractFromUVCI index", `{"extractFromUVCI": ["x", 1.5]}`, []string{`"index" argument (#2) of "extractFromUVCI" must be an integer, but it is: 1.5`}},
		{"dccDateOfBirth arity", `{"dccDateOfBirth": []}`, []string{`a "dccDateOfBirth"-operation must have exactly 1 value/operand, but it has 0`}},
		{"nested problems all reported", `{"and": [{"var": 1}, [null, 2.5], {"foo": []}]}`, []string{
			`not of the form { "var": "<path>" }`, "invalid CertLogic expression", "2.5 is a non-integer number", `unrecognised operator: "foo"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := Validate(mustJSON(t, tc.expr))
			var got []string
			for _, err := range errs {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%T is not a *ValidationError", err)
				}
				got = append(got, ve.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestValidateBoundsDepth(t *testing.T) {
	deep := strings.Repeat(`[`, 10*maxDepth) + strings.Repeat(`]`, 10*maxDepth)
	errs := Validate(mustJSON(t, deep))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "nests deeper") {
		t.Fatalf("got %v", errs)
	}
}

func TestValidationErrorNamesTheExpression(t *testing.T) {
	errs := Validate(mustJSON(t, `{"!": [{"var": "a."}]}`))
	if len(errs) != 1 || errs[0].Error() != `certlogic: data access path doesn't have a valid format: a. (in {"var":"a."})` {
		t.Fatalf("got %v", errs)
	}
}
