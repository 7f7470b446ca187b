package dcc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with the payloads of the
// shared vectors. Parse must never panic; it must accept exactly what
// fxamacker/cbor accepts under the same rules, with the same result; and
// whatever it accepts must be plain JSON, must read back the same after
// re-encoding, and must get the same schema verdict from ValidateSchema as
// from the official schema.
func FuzzParse(f *testing.F) {
	seeds := 0
	for _, v := range loadVectors(f) {
		if payload, err := v.dccCBOR(); err == nil {
			f.Add(payload)
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no vector payload to seed the corpus")
	}
	// Corners of the decoders: date tags around odd content, floats of
	// each width, indefinite strings, nesting at the limit.
	for _, s := range []string{
		"a1 6178 c1 f97e00",
		"a1 6178 c1 f97c00",
		"a1 6178 c1 f93c00",
		"a1 6178 c1 fa3f800000",
		"a1 6178 c1 fb7fefffffffffffff",
		"a1 6178 c1 fbc1cd27e44ffffc00",
		"a1 6178 c1 3b7fffffffffffffff",
		"a1 6178 c1 1b0000003afff4417f",
		"a1 6178 c0 781e 323032312d30352d32305431303a30303a30302e3132333435363738393132335a",
		"a1 6178 c0 74 323032312d30352d32305431303a30303a30307a",
		"a1 6178 d903ec 6a 323032312d30352d3230",
		"a1 6178 d864 1a00002ca7",
		"a1 6178 d9d9f7 00",
		"a1 6178 7f 61c3 61a9 ff",
		"a1 6178 7f 6161 ff",
		"a1 6178 f90001",
		"a1 6178 f98001",
		"a1 6178 f97bff",
		"a1 6178 f8ff",
		"a1 6178 " + strings.Repeat("81", 14) + "00", "a1 6178 " + strings.Repeat("81", 15) + "00",
		"d9d9f7 d9d9f7 a0", "bf c4c4 6130 393030 ff", "d9d9f7 a1 6178 " + strings.Repeat("81", 15) + "00",
		"a1 6178 " + strings.Repeat("c1", 1) + strings.Repeat("81", 15) + "00", "a1 6178 d9d9f7 " + strings.Repeat("81", 15) + "00",
	} {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		ref, refErr := oracleParse(data)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("Parse: %v\nfxamacker/cbor: %v\ninput %x", err, refErr, data)
		}
		if err != nil {
			return
		}
		if !sameDecoding(doc.JSON, ref) {
			t.Fatalf("Parse gives %#v\nfxamacker/cbor gives %#v\ninput %x", doc.JSON, ref, data)
		}
		if _, err := json.Marshal(doc.JSON); err != nil {
			t.Fatalf("Parse gave a document JSON cannot write: %v", err)
		}
		again, err := em.Marshal(doc.JSON)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := Parse(again)
		if err != nil || !reflect.DeepEqual(back.JSON, doc.JSON) {
			t.Fatalf("re-encoded document reads back as %#v, %v; was %#v", back, err, doc.JSON)
		}
		agreeWithOfficial(t, official(t), doc.JSON)
		_, _ = doc.Kind()
		_, _, _ = doc.Entry()
		_ = doc.Version()
		_, _ = doc.Payload()
	})
}

// oracleDecoder is fxamacker/cbor set to Parse's rules. Maps decode with
// keys of any type and dates as time.Time, so that a tagged key stays
// visible: decoding into a string key, the library would drop the tag.
var oracleDecoder = func() cbor.DecMode {
	simple, err := cbor.NewSimpleValueRegistryFromDefaults(cbor.WithRejectedSimpleValue(23))
	if err != nil {
		panic(err)
	}
	dm, err := cbor.DecOptions{
		DupMapKey:       cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels: maxNesting,
		IntDec:          cbor.IntDecConvertSignedOrFail,
		BignumTag:       cbor.BignumTagForbidden,
		NaN:             cbor.NaNDecodeForbidden,
		Inf:             cbor.InfDecodeForbidden,
		SimpleValues:    simple,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// oracleParse decodes a payload with fxamacker/cbor and applies Parse's
// rules to what the library leaves: the RFC 8943 date tags become strings,
// other tags, byte strings and simple values are refused.
func oracleParse(data []byte) (map[string]any, error) {
	var v any
	if err := oracleDecoder.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[any]any); !ok {
		return nil, errors.New("not a map")
	}
	out, err := oracleModel(v)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func oracleModel(v any) (any, error) {
	switch x := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, c := range x {
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key of type %T", k)
			}
			m, err := oracleModel(c)
			if err != nil {
				return nil, err
			}
			out[key] = m
		}
		return out, nil
	case time.Time:
		// Tag 1 gives local time, tag 0 the zone of its text. RFC 3339
		// text holds the years 0000 to 9999 only.
		if x.Location() == time.Local {
			x = x.UTC()
		}
		text, err := x.MarshalText()
		return string(text), err
	case []any:
		for i, c := range x {
			m, err := oracleModel(c)
			if err != nil {
				return nil, err
			}
			x[i] = m
		}
		return x, nil
	case nil, bool, string, int64, float64:
		return x, nil
	case cbor.Tag:
		switch x.Number {
		case tagFullDate:
			if s, ok := x.Content.(string); ok {
				return s, nil
			}
		case tagEpochDays:
			if d, ok := x.Content.(int64); ok && d >= firstDayOf0000 && d <= lastDayOf9999 {
				return time.Unix(d*86400, 0).UTC().Format(time.DateOnly), nil
			}
		}
		return nil, fmt.Errorf("tag %d", x.Number)
	}
	return nil, fmt.Errorf("%T", v)
}

// sameDecoding compares Parse's result with the oracle's. Strings match
// exactly, except that the library rewrites date-time tag (0) text in its
// own RFC 3339 form where Parse keeps the issuer's text.
func sameDecoding(mine, ref any) bool {
	switch x := mine.(type) {
	case map[string]any:
		y, ok := ref.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !sameDecoding(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := ref.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameDecoding(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := ref.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		t, err := time.Parse(time.RFC3339, x)
		return err == nil && t.Format(time.RFC3339Nano) == y
	}
	return reflect.DeepEqual(mine, ref)
}
