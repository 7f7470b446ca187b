// Package certlogic evaluates and validates CertLogic, the JsonLogic subset
// in which EU Digital COVID Certificate business rules are written
// (specification 1.3.2 of ehn-dcc-development/dgc-business-rules), and
// applies rule sets in the shape the EU gateway distributes them.
//
// Expressions and data are JSON values as encoding/json decodes them into
// any: nil, bool, string, []any, map[string]any, and numbers as json.Number
// (Decoder.UseNumber, which this package's loaders use), float64 or any Go
// integer type. Results may share memory with the expression and the data:
// treat them as read-only.
package certlogic

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits that keep evaluation of hostile expressions bounded in stack and
// time. Real rules nest a dozen levels and take a few hundred steps.
const (
	maxDepth = 128
	maxSteps = 1_000_000
)

// ErrTooComplex is wrapped by the error Evaluate returns when an expression
// nests deeper than it allows or takes too many steps.
var ErrTooComplex = errors.New("expression too complex")

// EvalError is an evaluation failure: Op names the operation that failed
// ("" outside any), Msg says what is wrong with it.
type EvalError struct {
	Op  string
	Msg string
	Err error // cause, if any
}

func (e *EvalError) Error() string {
	msg := e.Msg
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Op == "" {
		return "certlogic: " + msg
	}
	return fmt.Sprintf("certlogic: %q operation: %s", e.Op, msg)
}

func (e *EvalError) Unwrap() error { return e.Err }

func opError(op, format string, a ...any) error {
	return &EvalError{Op: op, Msg: fmt.Sprintf(format, a...)}
}

// Evaluate evaluates a CertLogic expression against a data context, as the
// specification defines. A valid expression evaluates to a value; an invalid
// one, or a type mismatch found while evaluating (e.g. comparing a string with
// an integer), gives an *EvalError naming the operation. Operands of "and" and
// the branches of "if" are evaluated lazily, so an error in an operand that is
// never reached does not surface.
//
// Integer results of "+" are json.Number; date-times are time.Time in UTC.
// Expressions nested more than 128 levels deep or needing more than a million
// evaluation steps fail with an error wrapping ErrTooComplex.
func Evaluate(expr any, data any) (any, error) {
	ev := evaluator{}
	return ev.eval(expr, data, 0)
}

type evaluator struct {
	steps int
}

// charge counts n units of work against the step budget. Every evaluation
// is one unit, and so is each array item looked at and each path fragment
// followed, so that no single step hides work proportional to the input.
func (ev *evaluator) charge(n int) error {
	ev.steps += n
	if ev.steps > maxSteps {
		return &EvalError{Msg: fmt.Sprintf("evaluation takes more than %d steps", maxSteps), Err: ErrTooComplex}
	}
	return nil
}

func (ev *evaluator) eval(expr, data any, depth int) (any, error) {
	if err := ev.charge(1); err != nil {
		return nil, err
	}
	if depth > maxDepth {
		return nil, &EvalError{Msg: fmt.Sprintf("expression nests deeper than %d levels", maxDepth), Err: ErrTooComplex}
	}
	switch x := expr.(type) {
	case string, bool:
		return expr, nil
	case nil:
		return nil, &EvalError{Msg: "invalid CertLogic expression: null is not a literal"}
	case []any:
		return ev.evalArray(x, data, depth)
	case map[string]any:
		return ev.evalOperation(x, data, depth)
	}
	if isNumber(expr) {
		if _, ok := asInt(expr); ok {
			return expr, nil
		}
		return nil, &EvalError{Msg: fmt.Sprintf("invalid CertLogic expression: %s is a non-integer number", render(expr))}
	}
	return nil, &EvalError{Msg: fmt.Sprintf("invalid CertLogic expression: a value of Go type %T", expr)}
}

// evalArray evaluates each item. An array of literals, the common case of
// the right-hand side of "in", is returned as it is rather than copied.
func (ev *evaluator) evalArray(items []any, data any, depth int) (any, error) {
	if err := ev.charge(len(items)); err != nil {
		return nil, err
	}
	allLiteral := true
	for _, it := range items {
		switch it.(type) {
		case string, bool:
			continue
		}
		if _, ok := asInt(it); !ok {
			allLiteral = false
			break
		}
	}
	if allLiteral {
		return items, nil
	}
	out := make([]any, len(items))
	for i, it := range items {
		v, err := ev.eval(it, data, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (ev *evaluator) evalOperation(obj map[string]any, data any, depth int) (any, error) {
	if len(obj) != 1 {
		return nil, &EvalError{Msg: fmt.Sprintf("expression object must have exactly one key, but it has %d", len(obj))}
	}
	var op string
	var args any
	for op, args = range obj {
	}
	if op == "var" {
		return ev.evalVar(args, data)
	}
	operands, ok := args.([]any)
	if !ok {
		return nil, opError(op, `not of the form { "<operator>": [ <values...> ] }`)
	}
	switch op {
	case "if":
		if err := arity(op, operands, 3, 3); err != nil {
			return nil, err
		}
		return ev.evalIf(operands, data, depth)
	case "===", "in", "+":
		if err := arity(op, operands, 2, 2); err != nil {
			return nil, err
		}
		return ev.evalBinary(op, operands, data, depth)
	case "and":
		if err := arity(op, operands, 2, -1); err != nil {
			return nil, err
		}
		return ev.evalAnd(operands, data, depth)
	case "<", ">", "<=", ">=":
		if err := arity(op, operands, 2, 3); err != nil {
			return nil, err
		}
		return ev.evalIntComparison(op, operands, data, depth)
	case "after", "before", "not-after", "not-before":
		if err := arity(op, operands, 2, 3); err != nil {
			return nil, err
		}
		return ev.evalDateComparison(op, operands, data, depth)
	case "!":
		if err := arity(op, operands, 1, 1); err != nil {
			return nil, err
		}
		return ev.evalNot(operands[0], data, depth)
	case "plusTime":
		if err := arity(op, operands, 3, 3); err != nil {
			return nil, err
		}
		return ev.evalPlusTime(operands, data, depth)
	case "reduce":
		if err := arity(op, operands, 3, 3); err != nil {
			return nil, err
		}
		return ev.evalReduce(operands, data, depth)
	case "extractFromUVCI":
		if err := arity(op, operands, 2, 2); err != nil {
			return nil, err
		}
		return ev.evalExtractFromUVCI(operands, data, depth)
	case "dccDateOfBirth":
		if err := arity(op, operands, 1, 1); err != nil {
			return nil, err
		}
		return ev.evalDccDateOfBirth(operands[0], data, depth)
	}
	return nil, &EvalError{Msg: fmt.Sprintf("unrecognised operator: %q", op)}
}

// arity checks the operand count; max < 0 means unbounded.
func arity(op string, operands []any, min, max int) error {
	n := len(operands)
	switch {
	case max < 0 && n < min:
		return opError(op, "must have at least %d operands, but it has %d", min, n)
	case max >= 0 && min == max && n != min:
		return opError(op, "must have exactly %d operand%s, but it has %d", min, plural(min), n)
	case max >= 0 && (n < min || n > max):
		return opError(op, "must have %d to %d operands, but it has %d", min, max, n)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (ev *evaluator) evalVar(args, data any) (any, error) {
	path, ok := args.(string)
	if !ok {
		return nil, opError("var", `not of the form { "var": "<path>" }`)
	}
	if path == "" {
		return data, nil
	}
	if !validPath(path) {
		return nil, opError("var", "data access path doesn't have a valid format: %s", path)
	}
	cur := data
	for rest := path; ; {
		if err := ev.charge(1); err != nil {
			return nil, err
		}
		frag, tail, more := strings.Cut(rest, ".")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[frag] // a missing key is null
		case []any:
			// Indices longer than 9 digits are out of range of any array
			// here, and would overflow digits.
			i, ok := digits(frag)
			if !ok || len(frag) > 9 || i >= len(c) {
				return nil, nil
			}
			cur = c[i]
		default:
			return nil, nil
		}
		if !more {
			return cur, nil
		}
		rest = tail
	}
}

// validPath reports whether a non-empty path is period-separated non-empty
// fragments.
func validPath(path string) bool {
	return path != "" && path[0] != '.' && path[len(path)-1] != '.' && !strings.Contains(path, "..")
}

func (ev *evaluator) evalIf(operands []any, data any, depth int) (any, error) {
	guard, err := ev.eval(operands[0], data, depth+1)
	if err != nil {
		return nil, err
	}
	switch boolsinessOf(guard) {
	case truthy:
		return ev.eval(operands[1], data, depth+1)
	case falsy:
		return ev.eval(operands[2], data, depth+1)
	}
	return nil, opError("if", "guard evaluates to %s, which is neither truthy nor falsy", render(guard))
}

func (ev *evaluator) evalOperands(operands []any, data any, depth int) ([]any, error) {
	vals := make([]any, len(operands))
	for i, o := range operands {
		v, err := ev.eval(o, data, depth+1)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

func (ev *evaluator) evalBinary(op string, operands []any, data any, depth int) (any, error) {
	l, err := ev.eval(operands[0], data, depth+1)
	if err != nil {
		return nil, err
	}
	r, err := ev.eval(operands[1], data, depth+1)
	if err != nil {
		return nil, err
	}
	switch op {
	case "===":
		if err := ev.charge(scanCost(l)); err != nil {
			return nil, err
		}
		return strictEqual(l, r), nil
	case "in":
		items, ok := r.([]any)
		if !ok {
			return nil, opError(op, "right-hand side must be an array, but it is %s", typeName(r))
		}
		if err := ev.charge(len(items) * (1 + scanCost(l))); err != nil {
			return nil, err
		}
		for _, it := range items {
			if strictEqual(l, it) {
				return true, nil
			}
		}
		return false, nil
	default: // "+"
		a, okA := asInt(l)
		b, okB := asInt(r)
		if !okA || !okB {
			return nil, opError(op, "operands must both be integers, but they are %s and %s", typeName(l), typeName(r))
		}
		sum := a + b
		if (a > 0 && b > 0 && sum < 0) || (a < 0 && b < 0 && sum >= 0) {
			return nil, opError(op, "%d + %d overflows a 64-bit integer", a, b)
		}
		return intValue(sum), nil
	}
}

func (ev *evaluator) evalAnd(operands []any, data any, depth int) (any, error) {
	var v any
	for i, o := range operands {
		var err error
		v, err = ev.eval(o, data, depth+1)
		if err != nil {
			return nil, err
		}
		switch boolsinessOf(v) {
		case falsy:
			return v, nil
		case neither:
			return nil, opError("and", "operand %d evaluates to %s, which is neither truthy nor falsy", i+1, render(v))
		}
	}
	return v, nil
}

func (ev *evaluator) evalIntComparison(op string, operands []any, data any, depth int) (any, error) {
	vals, err := ev.evalOperands(operands, data, depth)
	if err != nil {
		return nil, err
	}
	ints := make([]int64, len(vals))
	for i, v := range vals {
		n, ok := asInt(v)
		if !ok {
			return nil, opError(op, "all operands must be integers, but operand %d is %s", i+1, typeName(v))
		}
		ints[i] = n
	}
	cmp := func(a, b int64) bool {
		switch op {
		case "<":
			return a < b
		case ">":
			return a > b
		case "<=":
			return a <= b
		default:
			return a >= b
		}
	}
	return chain(len(ints), func(i int) bool { return cmp(ints[i], ints[i+1]) }), nil
}

func (ev *evaluator) evalDateComparison(op string, operands []any, data any, depth int) (any, error) {
	vals, err := ev.evalOperands(operands, data, depth)
	if err != nil {
		return nil, err
	}
	times := make([]time.Time, len(vals))
	for i, v := range vals {
		t, ok := v.(time.Time)
		if !ok {
			return nil, opError(op, "all operands must be date-times (made with plusTime or dccDateOfBirth), but operand %d is %s", i+1, typeName(v))
		}
		times[i] = t
	}
	cmp := func(a, b time.Time) bool {
		switch op {
		case "after":
			return a.After(b)
		case "before":
			return a.Before(b)
		case "not-after":
			return !a.After(b)
		default: // not-before
			return !a.Before(b)
		}
	}
	return chain(len(times), func(i int) bool { return cmp(times[i], times[i+1]) }), nil
}

// scanCost is the work, in steps, of scanning a string once: strings
// compared or parsed come from the data, so their length is not bounded by
// the expression's size.
func scanCost(v any) int {
	if s, ok := v.(string); ok {
		return len(s) / 64
	}
	return 0
}

// chain gives the ternary form's meaning, (a op b) and (b op c), and the
// binary form's as its special case.
func chain(n int, holds func(i int) bool) bool {
	for i := 0; i+1 < n; i++ {
		if !holds(i) {
			return false
		}
	}
	return true
}

func (ev *evaluator) evalNot(operand, data any, depth int) (any, error) {
	v, err := ev.eval(operand, data, depth+1)
	if err != nil {
		return nil, err
	}
	switch boolsinessOf(v) {
	case truthy:
		return false, nil
	case falsy:
		return true, nil
	}
	return nil, opError("!", "operand evaluates to %s, which is neither truthy nor falsy", render(v))
}

func (ev *evaluator) evalPlusTime(operands []any, data any, depth int) (any, error) {
	const op = "plusTime"
	amount, ok := asInt(operands[1])
	if !ok {
		return nil, opError(op, `"amount" operand (#2) must be an integer literal, but it is %s`, render(operands[1]))
	}
	unit, ok := operands[2].(string)
	if _, known := maxAmount[unit]; !ok || !known {
		return nil, opError(op, `"unit" operand (#3) must be one of "year", "month", "day", "hour", but it is %s`, render(operands[2]))
	}
	v, err := ev.eval(operands[0], data, depth+1)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, opError(op, "date operand (#1) must evaluate to a string, but it is %s", typeName(v))
	}
	if err := ev.charge(scanCost(s)); err != nil {
		return nil, err
	}
	t, err := parseDateTime(s)
	if err != nil {
		return nil, &EvalError{Op: op, Msg: "date operand (#1)", Err: err}
	}
	t, err = plusTime(t, amount, unit)
	if err != nil {
		return nil, &EvalError{Op: op, Msg: "offsetting", Err: err}
	}
	return t, nil
}

func (ev *evaluator) evalReduce(operands []any, data any, depth int) (any, error) {
	v, err := ev.eval(operands[0], data, depth+1)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return ev.eval(operands[2], data, depth+1)
	}
	items, ok := v.([]any)
	if !ok {
		return nil, opError("reduce", "operand (#1) must evaluate to an array or null, but it is %s", typeName(v))
	}
	acc, err := ev.eval(operands[2], data, depth+1)
	if err != nil {
		return nil, err
	}
	for _, cur := range items {
		acc, err = ev.eval(operands[1], map[string]any{"accumulator": acc, "current": cur}, depth+1)
		if err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// uciPrefix is the optional prefix of a UCI (formerly UVCI).
const uciPrefix = "URN:UVCI:"

func (ev *evaluator) evalExtractFromUVCI(operands []any, data any, depth int) (any, error) {
	const op = "extractFromUVCI"
	v, err := ev.eval(operands[0], data, depth+1)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if _, ok := v.(string); !ok {
			return nil, opError(op, "UCI operand (#1) must evaluate to a string or null, but it is %s", typeName(v))
		}
	}
	index, ok := asInt(operands[1])
	if !ok {
		return nil, opError(op, `"index" operand (#2) must be an integer literal, but it is %s`, render(operands[1]))
	}
	if v == nil || index < 0 {
		return nil, nil
	}
	if err := ev.charge(scanCost(v)); err != nil {
		return nil, err
	}
	uci := strings.TrimPrefix(v.(string), uciPrefix)
	// Walk the fragments instead of splitting, to find the one wanted
	// without allocating the rest.
	for i := int64(0); ; i++ {
		end := strings.IndexAny(uci, "/#:")
		if i == index {
			if end < 0 {
				return uci, nil
			}
			return uci[:end], nil
		}
		if end < 0 {
			return nil, nil
		}
		uci = uci[end+1:]
	}
}

func (ev *evaluator) evalDccDateOfBirth(operand, data any, depth int) (any, error) {
	v, err := ev.eval(operand, data, depth+1)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, opError("dccDateOfBirth", "operand must evaluate to a string, but it is %s", typeName(v))
	}
	t, err := parseDateOfBirth(s)
	if err != nil {
		return nil, &EvalError{Op: "dccDateOfBirth", Msg: "operand", Err: err}
	}
	return t, nil
}
