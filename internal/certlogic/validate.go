package certlogic

import (
	"fmt"
	"slices"
)

// ValidationError is one problem Validate found: Expr is the (sub)expression
// at fault, Message says what is wrong with it. Messages follow the reference
// validator (certlogic-js), which the validation test suite checks verbatim.
type ValidationError struct {
	Expr    any
	Message string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("certlogic: %s (in %s)", e.Message, render(e.Expr))
}

// timeUnits lists plusTime's units in the order messages name them.
var timeUnits = []string{unitYear, unitMonth, unitDay, unitHour}

// Validate checks the form of a CertLogic expression without data: known
// operators with the right number of operands, literal operands where the
// spec wants literals (plusTime's amount and unit, extractFromUVCI's index),
// integer-only number literals and well-formed var paths. It returns every
// problem found, each a *ValidationError, or none for a valid expression. A
// valid expression can still fail to evaluate on data of the wrong types.
func Validate(expr any) []error {
	var v validator
	v.validate(expr, 0)
	return v.errs
}

type validator struct {
	errs    []error
	tooDeep bool
}

func (v *validator) add(expr any, format string, a ...any) {
	v.errs = append(v.errs, &ValidationError{Expr: expr, Message: fmt.Sprintf(format, a...)})
}

func (v *validator) validate(expr any, depth int) {
	if depth > maxDepth {
		if !v.tooDeep {
			v.tooDeep = true
			v.add(expr, "expression nests deeper than %d levels", maxDepth)
		}
		return
	}
	switch x := expr.(type) {
	case string, bool:
		return
	case nil:
		v.add(expr, "invalid CertLogic expression")
		return
	case []any:
		for _, it := range x {
			v.validate(it, depth+1)
		}
		return
	case map[string]any:
		v.validateOperation(x, depth)
		return
	}
	if isNumber(expr) {
		if _, ok := asInt(expr); !ok {
			v.add(expr, "%s is a non-integer number", render(expr))
		}
		return
	}
	v.add(expr, "invalid CertLogic expression")
}

func (v *validator) validateOperation(expr map[string]any, depth int) {
	if len(expr) != 1 {
		v.add(expr, "expression object must have exactly one key, but it has %d", len(expr))
		return
	}
	var op string
	var args any
	for op, args = range expr {
	}
	if op == "var" {
		path, ok := args.(string)
		switch {
		case !ok:
			v.add(expr, `not of the form { "var": "<path>" }`)
		case path != "" && !validPath(path):
			v.add(expr, "data access path doesn't have a valid format: %s", path)
		}
		return
	}
	operands, ok := args.([]any)
	if !ok {
		v.add(expr, `operation not of the form { "<operator>": [ <values...> ] }`)
		return
	}
	n := len(operands)
	// operandsUpTo validates the operands that the operation uses.
	operandsUpTo := func(max int) {
		for _, o := range operands[:min(n, max)] {
			v.validate(o, depth+1)
		}
	}
	switch op {
	case "if":
		if n != 3 {
			v.add(expr, `an "if"-operation must have exactly 3 values/operands, but it has %d`, n)
		}
		operandsUpTo(3)
	case "and":
		if n < 2 {
			v.add(expr, `an "and" operation must have at least 2 operands, but it has %d`, n)
		}
		operandsUpTo(n)
	case "<", ">", "<=", ">=", "after", "before", "not-after", "not-before":
		if n < 2 || n > 3 {
			v.add(expr, "an operation with operator %q must have 2 or 3 operands, but it has %d", op, n)
		}
		operandsUpTo(3)
	case "===", "in", "+":
		if n != 2 {
			v.add(expr, "an operation with operator %q must have 2 operands, but it has %d", op, n)
		}
		operandsUpTo(2)
	case "!":
		if n != 1 {
			v.add(expr, "a !-operation (logical not/negation) must have exactly 1 operand, but it has %d", n)
			return
		}
		operandsUpTo(1)
	case "plusTime":
		if n != 3 {
			v.add(expr, `a "plusTime"-operation must have exactly 3 values/operands, but it has %d`, n)
		}
		operandsUpTo(1)
		if n > 1 {
			if _, ok := asInt(operands[1]); !ok {
				v.add(expr, `"amount" argument (#2) of "plusTime" must be an integer, but it is: %s`, render(operands[1]))
			}
		}
		if n > 2 {
			if unit, ok := operands[2].(string); !ok || !slices.Contains(timeUnits, unit) {
				v.add(expr, `"unit" argument (#3) of "plusTime" must be a string equal to one of year, month, day, hour, but it is: %s`, render(operands[2]))
			}
		}
	case "reduce":
		if n != 3 {
			v.add(expr, `a "reduce"-operation must have exactly 3 values/operands, but it has %d`, n)
		}
		operandsUpTo(3)
	case "extractFromUVCI":
		if n != 2 {
			v.add(expr, `an "extractFromUVCI"-operation must have exactly 2 values/operands, but it has %d`, n)
		}
		operandsUpTo(1)
		if n > 1 {
			if _, ok := asInt(operands[1]); !ok {
				v.add(expr, `"index" argument (#2) of "extractFromUVCI" must be an integer, but it is: %s`, render(operands[1]))
			}
		}
	case "dccDateOfBirth":
		if n != 1 {
			v.add(expr, `a "dccDateOfBirth"-operation must have exactly 1 value/operand, but it has %d`, n)
		}
		operandsUpTo(1)
	default:
		v.add(expr, "unrecognised operator: %q", op)
	}
}
