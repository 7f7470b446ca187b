package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRouter walks the router's routes and the document's
// paths and requires each to be the other's: a route cannot be served
// undescribed, nor a path described that no route serves.
func TestOpenAPIMatchesRouter(t *testing.T) {
	en := newEnv(t, testPolicy(t))
	res, body := en.anonymous().get("/api/v1/openapi.json")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			// The router must send this method and path to the route
			// of the same pattern.
			req := httptest.NewRequest(strings.ToUpper(method), strings.NewReplacer("{", "x", "}", "").Replace(path), nil)
			_, pattern := en.srv.mux.Handler(req)
			if pattern != key {
				t.Errorf("the document has %s, but the router sends it to %q", key, pattern)
			}
			if op["summary"] == "" || op["operationId"] == "" || op["responses"] == nil {
				t.Errorf("%s lacks a summary, an operationId or responses", key)
			}
		}
	}
	served := 0
	for _, rt := range en.srv.routes {
		if !rt.api || rt.method == "" {
			continue
		}
		served++
		if key := rt.method + " " + rt.path; !documented[key] {
			t.Errorf("route %s is not in the OpenAPI document", key)
		}
	}
	if served != len(documented) || served < 40 {
		t.Errorf("%d API routes served, %d documented", served, len(documented))
	}
	// Every reference resolves.
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z0-9_]+)"`).FindAllStringSubmatch(body, -1) {
		if doc.Components.Schemas[m[1]] == nil {
			t.Errorf("dangling reference to schema %s", m[1])
		}
	}
	// The request body of filing a trip is the type the handler decodes,
	// with its nested fields.
	trip, _ := doc.Components.Schemas["TripInputJSON"].(map[string]any)
	props, _ := trip["properties"].(map[string]any)
	if props["traveller"] == nil || props["itinerary"] == nil || trip["additionalProperties"] != false {
		t.Errorf("TripInputJSON schema: %v", trip)
	}
}
