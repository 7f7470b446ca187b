package dcc

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// hx decodes hex written with spaces between items, for readable CBOR.
func hx(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseGivesTheJSONDataModel(t *testing.T) {
	// {"n": 1, "neg": -5, "h": 1.5 (half precision), "d": 0.1 (double),
	//  "b": true, "z": null, "a": [1, "x"], "m": {"k": "v"}}
	in := hx(t, "a8 616e 01 636e6567 24 6168 f93e00 6164 fb3fb999999999999a 6162 f5 617a f6"+
		" 6161 82 01 6178 616d a1 616b 6176")
	doc, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"n": int64(1), "neg": int64(-5), "h": 1.5, "d": 0.1, "b": true, "z": nil,
		"a": []any{int64(1), "x"}, "m": map[string]any{"k": "v"},
	}
	if !reflect.DeepEqual(doc.JSON, want) {
		t.Errorf("got %#v\nwant %#v", doc.JSON, want)
	}
}

func TestParseTurnsDateTagsIntoStrings(t *testing.T) {
	day := time.Date(2021, 5, 20, 0, 0, 0, 0, time.UTC)
	epochDays, err := cbor.Marshal(cbor.Tag{Number: 100, Content: day.Unix() / 86400})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		item []byte // CBOR of the tagged value
		want string
	}{
		{"tag 0, UTC", hx(t, "c0 74 323032312d30352d32305431303a30303a30305a"), "2021-05-20T10:00:00Z"},
		{"tag 0, offset kept", hx(t, "c0 7819 323032312d30352d32305431303a30303a30302b30323a3030"), "2021-05-20T10:00:00+02:00"},
		{"tag 1, integer seconds", hx(t, "c1 1a 60a63320"), "2021-05-20T10:00:00Z"},
		{"tag 1, fractional seconds", hx(t, "c1 fb 41d8298cc8200000"), "2021-05-20T10:00:00.5Z"},
		{"tag 1004, full-date", hx(t, "d903ec 6a 323032312d30352d3230"), "2021-05-20"},
		{"tag 100, days since 1970", epochDays, "2021-05-20"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// {"t": [{"sc": <item>}]}: tags are found at any depth.
			in := append(hx(t, "a1 6174 81 a1 627363"), c.item...)
			doc, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			got := doc.JSON["t"].([]any)[0].(map[string]any)["sc"]
			if got != c.want {
				t.Errorf("got %#v, want %q", got, c.want)
			}
		})
	}
}

func TestParseRefusesWhatJSONCannotHold(t *testing.T) {
	cases := []struct {
		name, in, wantErr string
	}{
		{"empty input", "", "dcc: payload is empty"},
		{"an array, not a map", "80", "dcc: payload is an array, not a map"},
		{"trailing bytes", "a0 00", "dcc: payload is followed by 1 bytes of stray data"},
		{"truncated", "a1 6178", "dcc: /x is not well-formed CBOR: the data ends inside an item"},
		{"a length beyond the data", "a1 6178 7a7fffffff 61", "dcc: /x is not well-formed CBOR: the data ends inside an item"},
		{"reserved additional information", "a1 6178 1c", "dcc: /x is not well-formed CBOR: reserved additional information 28"},
		{"stray break", "a1 6178 ff", "dcc: /x is not well-formed CBOR: a break code where an item belongs"},
		{"indefinite integer", "a1 6178 1f", "dcc: /x is not well-formed CBOR: indefinite length on an integer or tag"},
		{"mixed string chunks", "a1 6178 7f 4161 ff", "dcc: /x is not well-formed CBOR: a chunk of an indefinite-length string"},
		{"two-byte simple value below 32", "a1 6178 f814", "dcc: /x is not well-formed CBOR: a simple value in two bytes"},
		{"duplicate key", "a2 6161 01 6161 02", `dcc: payload has the key "a" twice`},
		{"duplicate key, once indefinite", "a2 6161 01 7f 6161 ff 02", `dcc: payload has the key "a" twice`},
		{"integer key", "a1 01 01", "dcc: payload has a map key that is not text"},
		{"byte string key", "a1 4178 01", "dcc: payload has a map key that is not text"},
		{"byte string value", "a1 6178 a1 6179 4100", "dcc: /x/y is a byte string, which no DCC field holds"},
		{"NaN", "a1 6178 f97e00", "dcc: /x is NaN or an infinity"},
		{"infinity", "a1 6178 fa7f800000", "dcc: /x is NaN or an infinity"},
		{"negative infinity", "a1 6178 fbfff0000000000000", "dcc: /x is NaN or an infinity"},
		{"undefined", "a1 6178 f7", "dcc: /x is undefined, which JSON cannot hold"},
		{"simple value 16", "a1 6178 f0", "dcc: /x is the simple value 16"},
		{"simple value 255", "a1 6178 f8ff", "dcc: /x is the simple value 255"},
		{"integer above int64", "a1 6178 1b8000000000000000", "dcc: /x is an integer above the 64-bit range"},
		{"integer below int64", "a1 6178 3b8000000000000000", "dcc: /x is an integer below the 64-bit range"},
		{"bignum", "a1 6178 c2 4101", "dcc: /x is a tagged item (tag 2)"},
		{"unknown tag", "a1 6178 82 00 d820 6161", "dcc: /x/1 is a tagged item (tag 32)"},
		{"full-date tag around a number", "a1 6178 d903ec 01", "dcc: /x is a full-date tag (1004) around a number, not text"},
		{"days tag beyond year 9999", "a1 6178 d864 1a7fffffff", "dcc: /x is a days-since-1970 tag (100) around a number"},
		{"date-time tag around a number", "a1 6178 c0 01", "dcc: /x is a date-time tag (0) around a number, not text"},
		{"date-time tag around a non-date", "a1 6178 c0 63616263", "dcc: /x is a date-time tag (0) around text that is not an RFC 3339 date-time"},
		{"epoch tag beyond year 9999", "a1 6178 c1 1b0000003afff44180", "dcc: /x is an epoch-seconds tag (1) outside the years 0000-9999"},
		{"epoch tag around text", "a1 6178 c1 6161", "dcc: /x is an epoch-seconds tag (1) around text, not a number"},
		{"invalid UTF-8", "a1 6178 62c328", "dcc: /x is text that is not valid UTF-8"},
		{"a character split across chunks", "a1 6178 7f 61c3 61a9 ff", "dcc: /x is text that is not valid UTF-8"},
		{"nested too deep", "a1 6178" + strings.Repeat("81", 16) + "00", "nests deeper than 16 levels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse(hx(t, c.in))
			if err == nil {
				t.Fatalf("accepted as %#v", doc.JSON)
			}
			if !strings.HasPrefix(err.Error(), c.wantErr) && !strings.HasSuffix(err.Error(), c.wantErr) {
				t.Errorf("error %q does not say %q", err, c.wantErr)
			}
		})
	}
}

func TestParseAcceptsIndefiniteLengthAndSelfDescription(t *testing.T) {
	// 55799({_ "x": (_ "a", "b"), "y": 55799(1)}): upstream vectors use
	// indefinite lengths, and the self-described CBOR tag only marks data
	// as CBOR.
	doc, err := Parse(hx(t, "d9d9f7 bf 6178 7f 6161 6162 ff 6179 d9d9f7 01 ff"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"x": "ab", "y": int64(1)}; !reflect.DeepEqual(doc.JSON, want) {
		t.Errorf("got %#v", doc.JSON)
	}
}

func TestKind(t *testing.T) {
	entry := map[string]any{"tg": DiseaseCOVID19}
	cases := []struct {
		name    string
		doc     map[string]any
		want    Kind
		wantErr string
	}{
		{"test", map[string]any{"t": []any{entry}}, KindTest, ""},
		{"vaccination beside an empty test group", map[string]any{"v": []any{entry}, "t": []any{}}, KindVaccination, ""},
		{"recovery", map[string]any{"r": []any{entry}}, KindRecovery, ""},
		{"no group", map[string]any{"ver": "1.3.0"}, "", "it holds no entry"},
		{"a group that is not an array", map[string]any{"v": entry}, "", "it holds no entry"},
		{"two groups", map[string]any{"v": []any{entry}, "r": []any{entry}}, "", "it holds entries in v, r"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &Document{JSON: c.doc}
			got, err := d.Kind()
			if c.wantErr == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				k, e, err := d.Entry()
				if err != nil || k != c.want || !reflect.DeepEqual(e, entry) {
					t.Errorf("Entry: %q %v %v", k, e, err)
				}
				return
			}
			if !errors.Is(err, ErrKind) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("got %q, %v; want ErrKind saying %q", got, err, c.wantErr)
			}
		})
	}
	if _, _, err := (&Document{JSON: map[string]any{"t": []any{"x"}}}).Entry(); err == nil {
		t.Error("Entry accepted an entry that is not an object")
	}
	if v := (&Document{JSON: map[string]any{"ver": 1.0}}).Version(); v != "" {
		t.Errorf("Version of a numeric ver: %q", v)
	}
}

// TestParseMatchesVectorJSON decodes every vector's CBOR and compares it
// with the vector's JSON, as upstream's test_cbor_json does: equal when
// EXPECTEDDECODE is true, different when false.
func TestParseMatchesVectorJSON(t *testing.T) {
	checked := 0
	for _, v := range loadVectors(t) {
		if _, ok := v.expected("EXPECTEDVALIDJSON"); !ok || v.CBORHex == "" || v.JSON == nil {
			continue
		}
		wantEqual, ok := v.expected("EXPECTEDDECODE")
		if !ok {
			continue
		}
		checked++
		payload, err := v.dccCBOR()
		if err != nil {
			t.Errorf("%s: %v", v.ID, err)
			continue
		}
		doc, err := Parse(payload)
		if err != nil {
			if wantEqual {
				t.Errorf("%s: %v", v.ID, err)
			}
			continue
		}
		if equal := sameJSON(doc.JSON, v.JSON); equal != wantEqual {
			t.Errorf("%s: decoded payload equals the JSON: %v, want %v\n  CBOR: %s\n  JSON: %s", v.ID, equal, wantEqual, mustJSON(doc.JSON), mustJSON(v.JSON))
		}
	}
	if checked == 0 {
		t.Fatal("no vector compares CBOR with JSON")
	}
	t.Logf("%d vectors: decoded CBOR compared with their JSON", checked)
}

// sameJSON compares JSON values, numbers by value whatever their Go type.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameJSON(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case int64:
		return sameJSON(float64(x), b)
	case float64:
		switch y := b.(type) {
		case float64:
			return x == y
		case int64:
			return x == float64(y)
		}
		return false
	}
	return a == b
}
