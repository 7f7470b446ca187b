package dcc

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
	"pgregory.net/rapid"
)

// TestValidateSchemaAgreesOnMutations mutates valid payloads (dropping
// fields, changing types, overlong strings, broken dates and patterns,
// odd numbers, extra fields and groups) and checks that ValidateSchema
// and the official schema always reach the same verdict, and that every
// violation points at a place that exists in the payload.
func TestValidateSchemaAgreesOnMutations(t *testing.T) {
	schemas := official(t)
	bases := validPayloads(t)
	rapid.Check(t, func(rt *rapid.T) {
		doc := deepCopy(rapid.SampledFrom(bases).Draw(rt, "base")).(map[string]any)
		for i, n := 0, rapid.IntRange(1, 3).Draw(rt, "mutations"); i < n; i++ {
			mutate(rt, doc)
		}
		mine, _ := agreeWithOfficial(rt, schemas, doc)
		if se, ok := mine.(*SchemaError); ok {
			for _, v := range se.Violations {
				if _, found := resolve(doc, v.Path); !found {
					rt.Fatalf("violation %v points at nothing in %s", v, mustJSON(doc))
				}
			}
		}
	})
}

// TestValidateSchemaAgreesOnFieldValues draws a date, a pattern-like
// string, a long string and a number, puts each into every field of its
// sort in complete payloads of each kind, one field at a time, and
// compares the verdicts: with a single change, no other fault can hide a
// difference.
func TestValidateSchemaAgreesOnFieldValues(t *testing.T) {
	schemas := official(t)
	bases := []map[string]any{
		{"ver": "1.3.0", "nam": map[string]any{"fn": "Kim", "fnt": "KIM", "gn": "Min-jun", "gnt": "MIN<JUN"}, "dob": "1990-04-01",
			"t": []any{map[string]any{"tg": DiseaseCOVID19, "tt": TestTypeNAAT, "nm": "PCR", "ma": "1232", "sc": "2021-05-20T08:30:00Z",
				"tr": ResultNotDetected, "tc": "Seoul Lab", "co": "KR", "is": "KDCA", "ci": "URN:UVCI:01:KR:LAB1/ABC#D"}}},
		{"ver": "1.3.0", "nam": map[string]any{"fnt": "LI"}, "dob": "1964",
			"v": []any{map[string]any{"tg": DiseaseCOVID19, "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
				"dn": 2.0, "sd": 2.0, "dt": "2021-06-11", "co": "CN", "is": "NHC", "ci": "URN:UVCI:01:CN:X"}}},
		{"ver": "1.0.0", "nam": map[string]any{"gnt": "WEI"}, "dob": "",
			"r": []any{map[string]any{"tg": DiseaseCOVID19, "fr": "2021-01-01", "co": "CN", "is": "NHC",
				"df": "2021-01-12", "du": "2021-07-01", "ci": "URN:UVCI:01:CN:Y"}}},
	}
	sorts := map[string][]string{
		"date":    {"dob", "sc", "dt", "fr", "df", "du"},
		"pattern": {"ver", "fnt", "gnt", "co", "dob", "sc"},
		"long":    {"fn", "fnt", "gn", "gnt", "is", "ci", "nm", "tc"},
		"number":  {"dn", "sd"},
	}
	rapid.Check(t, func(rt *rapid.T) {
		values := map[string]any{
			"date":    dateLike().Draw(rt, "date"),
			"pattern": patternLike().Draw(rt, "pattern"),
			"long":    strings.Repeat(rapid.SampledFrom([]string{"A", "<", "ž", "7"}).Draw(rt, "char"), rapid.IntRange(78, 82).Draw(rt, "length")),
			"number":  doseLikeNumber().Draw(rt, "number"),
		}
		for _, base := range bases {
			for _, target := range slots(base) {
				for sort, keys := range sorts {
					if target.object == nil || !slices.Contains(keys, target.key) {
						continue
					}
					doc := deepCopy(base).(map[string]any)
					for _, s := range slots(doc) {
						if s.path == target.path {
							s.set(values[sort])
						}
					}
					agreeWithOfficial(rt, schemas, doc)
				}
			}
		}
	})
}

// validPayloads gathers every payload both validators accept: the schema
// project's examples and valid cases, and the vectors' JSON.
func validPayloads(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	keep := func(doc map[string]any) {
		if ValidateSchema(doc) == nil {
			out = append(out, doc)
		}
	}
	dir := testdata.Path(t, "dcc-schema")
	for _, sub := range []string{"examples", filepath.Join("test", "valid")} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
				keep(readJSONObject(t, path))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range loadVectors(t) {
		if doc, ok := v.JSON.(map[string]any); ok {
			keep(doc)
		}
	}
	if len(out) < 3 {
		t.Fatalf("only %d valid payloads to mutate", len(out))
	}
	return out
}

// slot is a place in a document: a key of an object or an index of an
// array.
type slot struct {
	path   string
	object map[string]any
	array  []any
	key    string
	index  int
}

// slots lists every value of doc with where it sits, root excluded.
func slots(doc map[string]any) []slot {
	var out []slot
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys) // rapid needs the same draws to find the same slot
			for _, k := range keys {
				p := pointer(path, k)
				out = append(out, slot{path: p, object: x, key: k})
				walk(p, x[k])
			}
		case []any:
			for i := range x {
				p := pointer(path, strconv.Itoa(i))
				out = append(out, slot{path: p, array: x, index: i})
				walk(p, x[i])
			}
		}
	}
	walk("", doc)
	return out
}

func (s slot) set(v any) {
	if s.object != nil {
		s.object[s.key] = v
	} else {
		s.array[s.index] = v
	}
}

func (s slot) get() any {
	if s.object != nil {
		return s.object[s.key]
	}
	return s.array[s.index]
}

// objects lists the objects of doc, root included, for adding fields.
func objects(doc map[string]any) []map[string]any {
	out := []map[string]any{doc}
	for _, s := range slots(doc) {
		if m, ok := s.get().(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// mutate applies one random change to doc.
func mutate(t *rapid.T, doc map[string]any) {
	all := slots(doc)
	switch rapid.IntRange(0, 7).Draw(t, "change") {
	case 0: // drop a field
		var fields []slot
		for _, s := range all {
			if s.object != nil {
				fields = append(fields, s)
			}
		}
		if len(fields) > 0 {
			s := rapid.SampledFrom(fields).Draw(t, "drop")
			delete(s.object, s.key)
		}
	case 1: // a value of another type
		if len(all) > 0 {
			rapid.SampledFrom(all).Draw(t, "retype").set(anyValue().Draw(t, "value"))
		}
	case 2: // a string too long, or just long enough
		if s, ok := pickString(t, all, "fn", "fnt", "gn", "gnt", "is", "ci", "nm", "tc"); ok {
			s.set(strings.Repeat(rapid.SampledFrom([]string{"A", "z", "<", "ž", "7", " "}).Draw(t, "char"),
				rapid.IntRange(78, 82).Draw(t, "length")))
		}
	case 3: // a date, date-time or date of birth, valid or broken
		if s, ok := pickString(t, all, "dob", "dt", "fr", "df", "du", "sc"); ok {
			s.set(dateLike().Draw(t, "date"))
		}
	case 4: // a string from the characters the patterns care about
		if s, ok := pickString(t, all, "ver", "fnt", "gnt", "co", "dob"); ok {
			s.set(patternLike().Draw(t, "text"))
		}
	case 5: // a number at the edges of the dose rules
		if len(all) > 0 {
			rapid.SampledFrom(all).Draw(t, "renumber").set(doseLikeNumber().Draw(t, "number"))
		}
	case 6: // an extra field, known elsewhere in the schema or not
		obj := rapid.SampledFrom(objects(doc)).Draw(t, "object")
		key := rapid.SampledFrom([]string{"x", "ver", "nam", "dob", "v", "t", "r", "fnt", "gnt", "fn", "tc", "nm", "ma", "sc", "dn"}).Draw(t, "key")
		obj[key] = anyValue().Draw(t, "extra")
	case 7: // a group emptied, doubled or copied to another group
		var groups []string
		for _, k := range kinds {
			if _, ok := doc[string(k)]; ok {
				groups = append(groups, string(k))
			}
		}
		if len(groups) == 0 {
			return
		}
		g := rapid.SampledFrom(groups).Draw(t, "group")
		entries, _ := doc[g].([]any)
		switch rapid.IntRange(0, 2).Draw(t, "how") {
		case 0:
			doc[g] = []any{}
		case 1:
			doc[g] = append(entries, deepCopy(entries).([]any)...)
		case 2:
			doc[rapid.SampledFrom([]string{"v", "t", "r"}).Draw(t, "into")] = deepCopy(entries)
		}
	}
}

// pickString picks a string of doc, mostly one of the fields named.
func pickString(t *rapid.T, all []slot, prefer ...string) (slot, bool) {
	var strs, preferred []slot
	for _, s := range all {
		if _, ok := s.get().(string); ok {
			strs = append(strs, s)
			if s.object != nil && slices.Contains(prefer, s.key) {
				preferred = append(preferred, s)
			}
		}
	}
	if len(preferred) > 0 && rapid.IntRange(0, 3).Draw(t, "prefer") > 0 {
		strs = preferred
	}
	if len(strs) == 0 {
		return slot{}, false
	}
	return rapid.SampledFrom(strs).Draw(t, "string"), true
}

// anyValue draws a small JSON value of any type.
func anyValue() *rapid.Generator[any] {
	return rapid.OneOf(
		rapid.Just[any](nil),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(doseLikeNumber(), func(f any) any { return f }),
		rapid.Map(patternLike(), func(s string) any { return s }),
		rapid.Just[any]([]any{}),
		rapid.Just[any](map[string]any{}),
		rapid.Just[any]([]any{"1.3.0"}),
		rapid.Just[any](map[string]any{"fnt": "DOE"}),
	)
}

// doseLikeNumber draws JSON numbers as encoding/json gives them, around the
// dose limits and beyond.
func doseLikeNumber() *rapid.Generator[any] {
	return rapid.OneOf(
		rapid.Map(rapid.SampledFrom([]float64{0, 1, 2, 9, 10, -1, 0.5, 1.5, 0.999999, 1e21, 1e300, -0.0}), func(f float64) any { return f }),
		rapid.Map(rapid.Float64(), func(f float64) any { return f }),
		rapid.Map(rapid.Int64Range(-3, 12), func(i int64) any { return float64(i) }),
	)
}

// patternLike draws strings over the characters the schema's patterns
// and formats turn on.
func patternLike() *rapid.Generator[string] {
	return rapid.StringOfN(rapid.SampledFrom([]rune("0123456789.-:<AZaz +Tté\n")), 0, 24, -1)
}

// dateLike draws dates, date-times and dates of birth around every edge
// of the rules: each part is mostly in range and sometimes just out of it,
// and the whole may be damaged by one character.
func dateLike() *rapid.Generator[string] {
	two := func(lo, hi int) *rapid.Generator[string] {
		return rapid.Map(rapid.IntRange(lo, hi), func(n int) string { return fmt.Sprintf("%02d", n) })
	}
	edgy := func(lo, hi int, edges ...string) *rapid.Generator[string] {
		return rapid.OneOf(two(lo, hi), two(lo, hi), rapid.SampledFrom(edges))
	}
	year := rapid.SampledFrom([]string{"2021", "1900", "2000", "2024", "0000", "1899", "1999", "2099", "2100", "9999"})
	month := edgy(1, 12, "00", "13", "02", "02")
	day := edgy(1, 28, "00", "29", "30", "31", "32")
	// Leap seconds are valid at 23:59 UTC only; random draws seldom get there.
	leapSeconds := rapid.SampledFrom([]string{
		"2016-12-31T23:59:60Z", "2016-12-31T23:59:60+00:00", "2017-01-01T00:59:60+01:00",
		"2016-12-31T22:59:60-01:00", "2016-12-31T23:59:60+01:00", "2016-12-31T23:58:60Z",
		"2016-12-31T23:59:60.5z", "2017-01-01T05:29:60+05:30", "2016-12-31T23:59:61Z",
	})
	return rapid.OneOf(leapSeconds, rapid.Custom(func(t *rapid.T) string {
		s := year.Draw(t, "year")
		form := rapid.IntRange(0, 4).Draw(t, "form")
		if form > 0 {
			s += "-" + month.Draw(t, "month")
		}
		if form > 1 {
			s += "-" + day.Draw(t, "day")
		}
		if form > 2 {
			s += rapid.SampledFrom([]string{"T", "t", "T", " "}).Draw(t, "T") +
				edgy(0, 23, "24").Draw(t, "hour") + ":" + edgy(0, 59, "60").Draw(t, "minute") + ":" +
				edgy(0, 59, "60", "61").Draw(t, "second")
			if rapid.Bool().Draw(t, "fraction") {
				s += rapid.SampledFrom([]string{".", ".5", ".123456789"}).Draw(t, "frac")
			}
			s += rapid.OneOf(
				rapid.SampledFrom([]string{"Z", "z", "", "+02", "+0200"}),
				rapid.Custom(func(t *rapid.T) string {
					return rapid.SampledFrom([]string{"+", "-"}).Draw(t, "sign") +
						edgy(0, 23, "24").Draw(t, "oh") + ":" + edgy(0, 59, "60").Draw(t, "om")
				}),
			).Draw(t, "offset")
		}
		if rapid.IntRange(0, 4).Draw(t, "damage") == 0 && len(s) > 0 {
			at := rapid.IntRange(0, len(s)-1).Draw(t, "at")
			c := rapid.SampledFrom([]string{"", "0", "9", "-", ":", "+", "T", "Z", "x", "١"}).Draw(t, "with")
			s = s[:at] + c + s[at+1:]
		}
		return s
	}))
}

// resolve finds the value at a JSON Pointer of doc.
func resolve(doc map[string]any, path string) (any, bool) {
	var v any = doc
	if path == "" {
		return v, true
	}
	for _, tok := range strings.Split(path[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
