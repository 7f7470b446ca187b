package dcc

import (
	"encoding/json"
	"fmt"
	"math"
)

// EncodeJSON serialises a payload given as JSON (map[string]any as
// encoding/json yields it, with float64 or json.Number numbers) as the CBOR
// payload of a DCC, faithfully: every field as given, whole numbers as CBOR
// integers (the DCC's dn and sd are integers), in core deterministic order.
// It checks the data model, not the schema; an issuer that wants the
// schema's guarantee calls ValidateSchema first, as `corridor issue dcc`
// does.
func EncodeJSON(doc map[string]any) ([]byte, error) {
	v, err := cborReady(doc, 0)
	if err != nil {
		return nil, fmt.Errorf("dcc: %w", err)
	}
	b, err := payloadEncoder.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dcc: encode payload: %w", err)
	}
	return b, nil
}

func cborReady(v any, depth int) (any, error) {
	if depth > 16 {
		return nil, fmt.Errorf("payload nests deeper than 16 levels")
	}
	switch x := v.(type) {
	case nil, string, bool:
		return x, nil
	case float64:
		return number(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s is out of range", x)
		}
		return number(f)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := cborReady(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := cborReady(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("value of type %T has no JSON form", v)
}

func number(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %v has no JSON form", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f), nil
	}
	return f, nil
}
