package certlogic

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Values handled by this package are the ones encoding/json produces:
// nil, bool, string, []any, map[string]any and numbers. Numbers may be
// json.Number (Decoder.UseNumber, which this package's own loaders use so
// that integers beyond 2^53 stay exact), float64, or any Go integer type, so
// a payload decoded from CBOR works too. As in JavaScript, a number with an
// integral value is an integer however it is written (3.0 is 3). Date-times,
// which only plusTime and dccDateOfBirth produce, are time.Time values in
// UTC with millisecond precision.

// maxSafeFloatInt is the largest float64 below which every integer is exact
// (2^53); a float beyond it is not trusted to be the integer it looks like.
const maxSafeFloatInt = 1 << 53

// asInt reports v as an integer when it is a number with an integral value
// that fits in int64.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, true
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false
		}
		return floatAsInt(f)
	case float64:
		return floatAsInt(n)
	case float32:
		return floatAsInt(float64(n))
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

func floatAsInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.Abs(f) > maxSafeFloatInt {
		return 0, false
	}
	return int64(f), true
}

// asFloat reports v as a float64 when it is any kind of number; it is only
// used to compare non-integral numbers for equality.
func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

func intValue(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

// boolsiness is CertLogic's three-valued truthiness: the spec defines a
// narrow set of truthy and of falsy values, and everything else (dates,
// non-integral numbers, values of foreign Go types) is neither.
type boolsiness int8

const (
	neither boolsiness = iota
	truthy
	falsy
)

func boolsinessOf(v any) boolsiness {
	switch x := v.(type) {
	case nil:
		return falsy
	case bool:
		if x {
			return truthy
		}
		return falsy
	case string:
		if x == "" {
			return falsy
		}
		return truthy
	case []any:
		if len(x) == 0 {
			return falsy
		}
		return truthy
	case map[string]any:
		if len(x) == 0 {
			return falsy
		}
		return truthy
	}
	if i, ok := asInt(v); ok {
		if i == 0 {
			return falsy
		}
		return truthy
	}
	return neither
}

// IsTruthy reports whether v is truthy in CertLogic's sense: true, a
// non-empty string, a non-zero integer, a non-empty array or a non-empty
// object. Note that a value which is not truthy need not be falsy: dates and
// non-integral numbers are neither.
func IsTruthy(v any) bool { return boolsinessOf(v) == truthy }

// strictEqual is JavaScript's === restricted to JSON: scalars compare by type
// and value (numbers by value whatever their Go representation); arrays,
// objects and date-times are reference types in JavaScript and two of them
// evaluated separately are never ===, so they compare unequal here.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	if !isNumber(a) || !isNumber(b) {
		return false
	}
	if i, ok := asInt(a); ok {
		if j, ok := asInt(b); ok {
			return i == j
		}
	}
	x, okA := asFloat(a)
	y, okB := asFloat(b)
	return okA && okB && x == y
}

// jsonEqual is deep equality over JSON values, as a test suite's expected
// value is compared with an evaluation result: numbers by value, date-times
// against their ISO 8601 rendering (what JSON.stringify makes of a Date).
func jsonEqual(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		return timeEqualsJSON(ta, b)
	}
	if tb, ok := b.(time.Time); ok {
		return timeEqualsJSON(tb, a)
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return strictEqual(a, b)
}

func timeEqualsJSON(t time.Time, v any) bool {
	switch x := v.(type) {
	case time.Time:
		return t.Equal(x)
	case string:
		return formatDateTime(t) == x
	}
	return false
}

// renderLimit bounds renderings in messages.
const renderLimit = 80

// render gives a short JSON rendering of a value for messages. It stops
// after renderLimit bytes rather than rendering everything and cutting:
// values built by evaluation may share structure (a reduce whose lambda is
// [{"var": "accumulator"}, {"var": "accumulator"}] doubles its result each
// step), so their full rendering can be exponentially larger than the
// memory they take.
func render(v any) string {
	r := renderer{}
	r.value(v)
	out := r.b.String()
	if r.full {
		for !utf8.ValidString(out) { // do not end inside a UTF-8 sequence
			out = out[:len(out)-1]
		}
		out += "…"
	}
	return out
}

type renderer struct {
	b    strings.Builder
	full bool
}

func (r *renderer) write(s string) {
	if r.full {
		return
	}
	if room := renderLimit - r.b.Len(); len(s) > room {
		r.b.WriteString(s[:room])
		r.full = true
		return
	}
	r.b.WriteString(s)
}

func (r *renderer) value(v any) {
	if r.full {
		return
	}
	switch x := v.(type) {
	case nil:
		r.write("null")
	case bool:
		r.write(strconv.FormatBool(x))
	case string:
		if len(x) > renderLimit {
			x = x[:renderLimit] // enough to fill the rendering
		}
		b, _ := json.Marshal(x) // a string always marshals
		r.write(string(b))
	case json.Number:
		r.write(string(x))
	case time.Time:
		r.write(formatDateTime(x))
	case []any:
		r.write("[")
		for i, it := range x {
			if r.full {
				return
			}
			if i > 0 {
				r.write(",")
			}
			r.value(it)
		}
		r.write("]")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		r.write("{")
		for i, k := range keys {
			if r.full {
				return
			}
			if i > 0 {
				r.write(",")
			}
			r.value(k)
			r.write(":")
			r.value(x[k])
		}
		r.write("}")
	default:
		if i, ok := asInt(v); ok {
			r.write(strconv.FormatInt(i, 10))
		} else if f, ok := asFloat(v); ok {
			r.write(strconv.FormatFloat(f, 'g', -1, 64))
		} else {
			r.write(fmt.Sprintf("<%T>", v))
		}
	}
}

// typeName names the CertLogic type of a value, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case time.Time:
		return "date-time"
	}
	if _, ok := asInt(v); ok {
		return "integer"
	}
	if isNumber(v) {
		return "non-integer number"
	}
	return "unsupported value"
}
