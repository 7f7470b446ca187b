package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/corridorlane/corridor/internal/app"
)

// decodeJSON reads a request body strictly into v: one JSON object, no
// unknown field, no trailing data, within the route's size limit. Its
// errors name the field at fault. An empty body reads as {} when
// emptyOK, for actions whose every field is optional.
func decodeJSON(r *http.Request, v any, emptyOK bool) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &app.Error{Code: app.CodeInvalid, Msg: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit),
				Fields: map[string]string{"body": fmt.Sprintf("must be at most %d bytes", mbe.Limit)}, Err: mbe}
		}
		return &app.Error{Code: app.CodeInvalid, Msg: "the request body could not be read", Fields: map[string]string{"body": "could not be read"}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if emptyOK {
			return nil
		}
		return invalidField("body", "is required: a JSON object")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return invalidField("body", "must be sent as Content-Type: application/json")
	}
	if !utf8.Valid(data) {
		return invalidField("body", "must be UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidField("body", "must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonFieldError words a decoding error so that it names the field.
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return invalidField("body", "must be a JSON object")
		}
		return invalidField(field, "must be "+jsonKind(te.Type.Kind().String()))
	case errors.As(err, &se):
		return invalidField("body", fmt.Sprintf("is not valid JSON (at byte %d)", se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidField("body", "is not valid JSON: it ends too early")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalidField(name, "is not a known field")
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return invalidField(fe.field, fe.msg)
	}
	return invalidField("body", "is not valid JSON")
}

// fieldError is a custom type's decoding refusal (a time, a role set).
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number"
	case "float64", "float32":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}
