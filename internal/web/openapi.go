package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/verify"
)

// The OpenAPI 3.1 document is generated from the route table and from the
// Go types the API decodes and encodes, so a route cannot be served
// without being described, and a described body cannot drift from the
// one decoded. TestOpenAPIMatchesRouter checks the router against it.

// rawJSON is an answer already encoded (the signed bundle), sent as it is.
type rawJSON []byte

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawJSONType = reflect.TypeOf(rawJSON(nil))
	// resultType is verify.Result, whose JSON has a payload of any shape.
	resultType = reflect.TypeOf(verify.Result{})
)

type schemaGen struct {
	components map[string]any
}

// schema returns the JSON Schema of t, putting named structs in
// components and referring to them.
func (g *schemaGen) schema(t reflect.Type) any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawJSONType:
		return map[string]any{"type": "object", "description": "a signed DSSE envelope; see docs/bundle.md"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.structSchema(t)
		}
		if _, done := g.components[name]; !done {
			g.components[name] = nil // reserve: types may refer to themselves
			g.components[name] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				walk(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
	}
	walk(t)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if t == resultType {
		s["additionalProperties"] = true
	}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func (s *Server) openAPIDocument() ([]byte, error) {
	g := &schemaGen{components: map[string]any{}}
	errorRef := g.schema(reflect.TypeOf(apiErrorBody{}))
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		if !rt.api || rt.method == "" {
			continue
		}
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"tags":        []string{rt.tag},
		}
		var params []any
		for _, m := range pathParamRE.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "required": false, "description": q.desc,
				"schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.in != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(rt.in)}}}
		}
		responses := map[string]any{}
		switch {
		case rt.out == nil && rt.produces == "":
			responses["204"] = map[string]any{"description": "done"}
		case rt.produces != "" && rt.out == nil:
			responses[fmt.Sprint(rt.status)] = map[string]any{"description": "the document", "content": map[string]any{
				rt.produces: map[string]any{"schema": map[string]any{"type": "object"}}}}
		default:
			responses[fmt.Sprint(rt.status)] = map[string]any{"description": "done", "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(rt.out)}}}
		}
		errResp := map[string]any{"description": "refused: error names the problem, code is stable, fields name the inputs at fault",
			"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}}
		for _, code := range errorCodes(rt) {
			responses[code] = errResp
		}
		op["responses"] = responses
		switch rt.access {
		case accessUser:
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}}
		case accessTraveller:
			op["security"] = []any{map[string]any{"traveller": []string{}}}
		default:
			op["security"] = []any{}
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Corridor node API",
			"version": "1",
			"description": "The JSON API of a Corridor node. Machine clients send Authorization: Bearer <API token>. " +
				"Browser clients use the session cookie and send the X-CSRF-Token header (from GET /api/v1/session) with every change. " +
				"Bodies are decoded strictly: unknown fields are refused. Errors are {\"error\", \"code\", \"fields\"}; " +
				"codes: invalid (422), unauthenticated (401), forbidden (403), not_found (404), conflict and quota_exhausted (409), rate_limited (429).",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearer":    map[string]any{"type": "http", "scheme": "bearer", "description": "an API token (ct_…) made by an organisation admin"},
				"session":   map[string]any{"type": "apiKey", "in": "cookie", "name": s.sessionCookie()},
				"traveller": map[string]any{"type": "apiKey", "in": "cookie", "name": s.travellerCookie()},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// errorCodes lists the error statuses a route can answer.
func errorCodes(rt *route) []string {
	codes := []string{"422"}
	if rt.access != accessPublic {
		codes = append(codes, "401", "403")
	}
	if strings.Contains(rt.path, "{") {
		codes = append(codes, "404")
	}
	if rt.method != http.MethodGet {
		codes = append(codes, "409")
	}
	if rt.path == "/api/v1/session" || strings.HasSuffix(rt.path, "/accept") || rt.path == "/api/v1/traveller/session" {
		codes = append(codes, "429")
	}
	return codes
}

// operationID names an operation after its method and path.
func operationID(rt *route) string {
	p := strings.TrimPrefix(rt.path, "/api/v1/")
	p = pathParamRE.ReplaceAllString(p, "by_$1")
	p = strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(p)
	return strings.ToLower(rt.method) + "_" + p
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(s.openapi)
}
