package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// encoding/json reports byte offsets, officials read line numbers: these
// helpers translate, and find where a field path sits in the file so that a
// semantic fault ("quota for Shanghai is negative") points at its line too.

type lineIndex []int // byte offset at which each line starts

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) line(off int) int {
	if off < 0 {
		return 0
	}
	return sort.Search(len(l), func(i int) bool { return l[i] > off })
}

func (l lineIndex) jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{Line: l.line(int(syn.Offset) - 1), Msg: "not valid JSON: " + syn.Error()}
	case errors.As(err, &typ):
		return &Error{Line: l.line(int(typ.Offset) - 1), Field: typ.Field, Msg: fmt.Sprintf("must be %s, not a JSON %s", describeType(typ.Type.String()), typ.Value)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Field: name, Msg: "is not a policy field (misspelt?)"}
	case errors.Is(err, errEOF) || err.Error() == "EOF":
		return &Error{Line: 1, Msg: "the file is empty"}
	case err.Error() == "unexpected EOF":
		return &Error{Line: len(l), Msg: "the document ends too early"}
	}
	return &Error{Msg: err.Error()}
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"):
		return "a whole number"
	case goType == "string":
		return "a text"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "policy."):
		return "an object"
	}
	return goType
}

// pathIndex maps a field path (lanes[0].quota.weekly_per_region.Shanghai) to
// the byte offset where it appears.
type pathIndex struct {
	data []byte
	off  map[string]int
}

func indexPaths(data []byte) (*pathIndex, error) {
	pi := &pathIndex{data: data, off: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > 64 {
			return errors.New("nested too deeply")
		}
		start := pi.skip(int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if _, ok := pi.off[path]; !ok {
			pi.off[path] = start
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		switch d {
		case '{':
			for dec.More() {
				keyOff := pi.skip(int(dec.InputOffset()))
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				child := key
				if path != "" {
					child = path + "." + key
				}
				pi.off[child] = keyOff
				if err := walk(child, depth+1); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	if err := walk("", 0); err != nil {
		return nil, err
	}
	return pi, nil
}

// skip moves past the separators encoding/json leaves before a token.
func (pi *pathIndex) skip(off int) int {
	for off < len(pi.data) {
		switch pi.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// offset finds path, or its nearest listed parent (a missing field is
// reported where its object starts).
func (pi *pathIndex) offset(path string) int {
	for {
		if off, ok := pi.off[path]; ok {
			return off
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return pi.off[""]
		}
		path = path[:i]
	}
}
