package dcc

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Parse turns the CBOR payload of a DCC (the map at hcert claim -260, key 1)
// into a Document. It checks the data model only; call ValidateSchema to
// check the content.
//
// Parse refuses what JSON cannot hold or what would make a signed payload
// ambiguous: duplicate or non-text map keys, byte strings, integers beyond
// int64, NaN, infinities, undefined and other simple values, tags other
// than the date tags and the self-described CBOR tag, nesting deeper than
// 16 levels and trailing bytes.
//
// The date tags become strings: 0 (RFC 3339 text) as written, 1 (epoch
// seconds) as RFC 3339 in UTC, and the RFC 8943 full-date tags 1004
// (text) and 100 (days since 1970) as YYYY-MM-DD.
//
// It reads the CBOR itself, into the JSON data model directly, because a
// general decoder that also detects duplicate keys costs several times the
// whole verify budget; FuzzParse holds it to fxamacker/cbor.
func Parse(cborPayload []byte) (*Document, error) {
	if len(cborPayload) == 0 {
		return nil, fmt.Errorf("dcc: payload is empty")
	}
	r := cborReader{data: cborPayload, src: string(cborPayload)}
	v, err := r.item(1)
	if err == nil && r.off != len(r.data) {
		err = &decodeError{problem: fmt.Sprintf("is followed by %d bytes of stray data", len(r.data)-r.off)}
	}
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("dcc: payload is %s, not a map", describe(v))
	}
	return &Document{JSON: top}, nil
}

// maxNesting bounds arrays, maps and tags inside one another; a DCC nests
// four deep.
const maxNesting = 16

// CBOR tags that issuers put around dates in real certificates.
const (
	tagDateTime       = 0     // RFC 3339 date-time text
	tagEpochSeconds   = 1     // seconds since 1970-01-01T00:00Z
	tagEpochDays      = 100   // RFC 8943: days since 1970-01-01
	tagFullDate       = 1004  // RFC 8943: RFC 3339 full-date text
	tagSelfDescribed  = 55799 // RFC 8949 section 3.4.6
	firstSecondOf0000 = -62167219200
	lastSecondOf9999  = 253402300799
	firstDayOf0000    = -719528
	lastDayOf9999     = 2932896
)

// decodeError locates a problem in the payload. The path is gathered on
// the way out of the recursion, so decoding a good payload builds none.
type decodeError struct {
	reversed []string // JSON Pointer tokens, innermost first
	problem  string
}

func (e *decodeError) within(token string) *decodeError {
	e.reversed = append(e.reversed, token)
	return e
}

func (e *decodeError) Error() string {
	path := ""
	for i := len(e.reversed) - 1; i >= 0; i-- {
		path = pointer(path, e.reversed[i])
	}
	return "dcc: " + where(path) + " " + e.problem
}

func malformed(detail string) *decodeError {
	return &decodeError{problem: "is not well-formed CBOR: " + detail}
}

// ended reports data that stops inside an item. Each error is a new
// value: within adds to its path.
func ended() *decodeError { return malformed("the data ends inside an item") }

// cborReader reads one CBOR data item (RFC 8949) into the JSON data model.
type cborReader struct {
	data []byte
	src  string // data as a string, once: text items are slices of it
	off  int
}

// head reads an initial byte and its argument. Additional information 31
// (indefinite length, or break) comes back as info 31 with no argument;
// the caller decides where that is allowed.
func (r *cborReader) head() (major, info byte, arg uint64, err *decodeError) {
	if r.off >= len(r.data) {
		return 0, 0, 0, ended()
	}
	b := r.data[r.off]
	r.off++
	major, info = b>>5, b&0x1f
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info == 31:
		return major, info, 0, nil
	case info > 27:
		return 0, 0, 0, malformed("reserved additional information " + strconv.Itoa(int(info)))
	}
	n := 1 << (info - 24) // 1, 2, 4 or 8 bytes follow
	if len(r.data)-r.off < n {
		return 0, 0, 0, ended()
	}
	p := r.data[r.off : r.off+n]
	r.off += n
	switch n {
	case 1:
		arg = uint64(p[0])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(p))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(p))
	default:
		arg = binary.BigEndian.Uint64(p)
	}
	if major == 7 && info == 24 && arg < 32 {
		return 0, 0, 0, malformed("a simple value in two bytes that fits in one")
	}
	return major, info, arg, nil
}

// item reads one data item at the given nesting level.
func (r *cborReader) item(level int) (any, *decodeError) {
	major, info, arg, err := r.head()
	for err == nil && major == 6 && arg == tagSelfDescribed {
		// The self-described CBOR tag only marks data as CBOR: drop it,
		// without counting it as a level (as fxamacker/cbor does).
		major, info, arg, err = r.head()
	}
	if err != nil {
		return nil, err
	}
	indefinite := info == 31
	if indefinite && (major < 2 || major == 6) {
		return nil, malformed("indefinite length on an integer or tag")
	}
	switch major {
	case 0:
		if arg > math.MaxInt64 {
			return nil, &decodeError{problem: "is an integer above the 64-bit range"}
		}
		return int64(arg), nil
	case 1:
		if arg > math.MaxInt64 {
			return nil, &decodeError{problem: "is an integer below the 64-bit range"}
		}
		return -1 - int64(arg), nil
	case 2:
		if _, err := r.chunks(2, arg, indefinite); err != nil {
			return nil, err
		}
		return nil, &decodeError{problem: "is a byte string, which no DCC field holds"}
	case 3:
		return r.text(arg, indefinite)
	case 4:
		if level > maxNesting {
			return nil, &decodeError{problem: "nests deeper than " + strconv.Itoa(maxNesting) + " levels"}
		}
		return r.array(arg, indefinite, level)
	case 5:
		if level > maxNesting {
			return nil, &decodeError{problem: "nests deeper than " + strconv.Itoa(maxNesting) + " levels"}
		}
		return r.object(arg, indefinite, level)
	case 6:
		if level > maxNesting {
			return nil, &decodeError{problem: "nests deeper than " + strconv.Itoa(maxNesting) + " levels"}
		}
		return r.tagged(arg, level)
	}
	return r.simple(info, arg)
}

// chunks reads the bytes of a string, joining the definite-length chunks
// of an indefinite-length one; each chunk of a text string must be valid
// UTF-8 on its own (RFC 8949 section 3.2.3).
func (r *cborReader) chunks(major byte, n uint64, indefinite bool) ([]byte, *decodeError) {
	if !indefinite {
		if n > uint64(len(r.data)-r.off) {
			return nil, ended()
		}
		b := r.data[r.off : r.off+int(n)]
		r.off += int(n)
		if major == 3 && !utf8.Valid(b) {
			return nil, &decodeError{problem: "is text that is not valid UTF-8"}
		}
		return b, nil
	}
	var joined []byte
	for {
		if r.off >= len(r.data) {
			return nil, ended()
		}
		if r.data[r.off] == 0xff {
			r.off++
			if joined == nil {
				joined = []byte{}
			}
			return joined, nil
		}
		m, info, size, err := r.head()
		if err != nil {
			return nil, err
		}
		if m != major || info == 31 {
			return nil, malformed("a chunk of an indefinite-length string that is not a definite-length string of the same type")
		}
		chunk, err := r.chunks(major, size, false)
		if err != nil {
			return nil, err
		}
		joined = append(joined, chunk...)
	}
}

func (r *cborReader) text(n uint64, indefinite bool) (string, *decodeError) {
	start := r.off
	b, err := r.chunks(3, n, indefinite)
	if err != nil {
		return "", err
	}
	if !indefinite {
		return r.src[start : start+len(b)], nil
	}
	return string(b), nil
}

func (r *cborReader) atBreak() bool {
	if r.off < len(r.data) && r.data[r.off] == 0xff {
		r.off++
		return true
	}
	return false
}

func (r *cborReader) array(n uint64, indefinite bool, level int) ([]any, *decodeError) {
	if !indefinite && n > uint64(len(r.data)-r.off) { // every item takes a byte at least
		return nil, ended()
	}
	out := make([]any, 0, min(n, 64))
	for i := 0; indefinite || uint64(i) < n; i++ {
		if indefinite && r.atBreak() {
			break
		}
		v, err := r.item(level + 1)
		if err != nil {
			return nil, err.within(strconv.Itoa(i))
		}
		out = append(out, v)
	}
	return out, nil
}

func (r *cborReader) object(n uint64, indefinite bool, level int) (map[string]any, *decodeError) {
	if !indefinite && n > uint64(len(r.data)-r.off)/2 { // every pair takes two bytes at least
		return nil, ended()
	}
	out := make(map[string]any, min(n, 64))
	for i := uint64(0); indefinite || i < n; i++ {
		if indefinite && r.atBreak() {
			break
		}
		major, info, size, err := r.head()
		if err != nil {
			return nil, err
		}
		if major != 3 {
			return nil, &decodeError{problem: "has a map key that is not text"}
		}
		key, err := r.text(size, info == 31)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, &decodeError{problem: fmt.Sprintf("has the key %q twice", key)}
		}
		v, err := r.item(level + 1)
		if err != nil {
			return nil, err.within(key)
		}
		out[key] = v
	}
	return out, nil
}

// tagged reads the content of a tag: the date tags become strings, any
// other tag is refused.
func (r *cborReader) tagged(tag uint64, level int) (any, *decodeError) {
	switch tag {
	case tagDateTime, tagEpochSeconds, tagFullDate, tagEpochDays:
	default:
		return nil, &decodeError{problem: fmt.Sprintf("is a tagged item (tag %d), which no DCC field holds", tag)}
	}
	content, err := r.item(level + 1)
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagDateTime:
		s, ok := content.(string)
		if !ok {
			return nil, &decodeError{problem: "is a date-time tag (0) around " + describe(content) + ", not text"}
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return nil, &decodeError{problem: "is a date-time tag (0) around text that is not an RFC 3339 date-time"}
		}
		return s, nil
	case tagEpochSeconds:
		var t time.Time
		switch x := content.(type) {
		case int64:
			if x < firstSecondOf0000 || x > lastSecondOf9999 {
				return nil, &decodeError{problem: "is an epoch-seconds tag (1) outside the years 0000-9999"}
			}
			t = time.Unix(x, 0)
		case float64:
			if !(x >= firstSecondOf0000 && x < lastSecondOf9999+1) {
				return nil, &decodeError{problem: "is an epoch-seconds tag (1) outside the years 0000-9999"}
			}
			seconds, fraction := math.Modf(x)
			t = time.Unix(int64(seconds), int64(fraction*1e9))
		default:
			return nil, &decodeError{problem: "is an epoch-seconds tag (1) around " + describe(content) + ", not a number"}
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	case tagFullDate:
		s, ok := content.(string)
		if !ok {
			return nil, &decodeError{problem: "is a full-date tag (1004) around " + describe(content) + ", not text"}
		}
		return s, nil
	default: // tagEpochDays
		days, ok := content.(int64)
		if !ok || days < firstDayOf0000 || days > lastDayOf9999 {
			return nil, &decodeError{problem: "is a days-since-1970 tag (100) around " + describe(content) + ", not a day count within the years 0000-9999"}
		}
		return time.Unix(0, 0).UTC().AddDate(0, 0, int(days)).Format(time.DateOnly), nil
	}
}

// simple reads major type 7: false, true, null and floats.
func (r *cborReader) simple(info byte, arg uint64) (any, *decodeError) {
	var f float64
	switch info {
	case 20:
		return false, nil
	case 21:
		return true, nil
	case 22:
		return nil, nil
	case 23:
		return nil, &decodeError{problem: "is undefined, which JSON cannot hold"}
	case 25:
		f = halfToFloat(uint16(arg))
	case 26:
		f = float64(math.Float32frombits(uint32(arg)))
	case 27:
		f = math.Float64frombits(arg)
	case 31:
		return nil, malformed("a break code where an item belongs")
	default:
		return nil, &decodeError{problem: fmt.Sprintf("is the simple value %d, which JSON cannot hold", arg)}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &decodeError{problem: "is NaN or an infinity, which JSON cannot hold"}
	}
	return f, nil
}

// halfToFloat widens an IEEE 754 half-precision float.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0: // zero and subnormals
		return sign * math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(mant+1024, exp-25)
}

// describe names the kind of a decoded value, for messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "text"
	case int64, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}

// where names a location in a message: the JSON Pointer, or "payload" for
// the root.
func where(path string) string {
	if path == "" {
		return "payload"
	}
	return path
}
