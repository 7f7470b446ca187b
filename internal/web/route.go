package web

import (
	"net/http"
	"reflect"
)

// access says who may reach a route at all; what they may do there is the
// application's to decide (app.Can and the use cases' own checks).
type access int

const (
	accessPublic    access = iota // anyone
	accessUser                    // a signed-in person, or on the API a token
	accessTraveller               // a traveller signed in through the personal link
)

// route is one entry of the route table, which feeds both the router and
// the OpenAPI document.
type route struct {
	method string
	path   string // a net/http pattern path, e.g. /api/v1/trips/{id}
	api    bool
	access access
	// csrf: an unsafe request must carry the form token (bearer-token
	// API requests excepted).
	csrf    bool
	maxBody int64
	h       http.HandlerFunc

	// For the OpenAPI document.
	tag     string
	summary string
	in      reflect.Type // request body; nil for none
	out     reflect.Type // answer body; nil for 204
	status  int          // success status
	query   []queryParam
	// produces is the media type of a non-JSON answer (a PNG, a bundle).
	produces string
}

type queryParam struct {
	name, desc string
}

// page makes a page route.
func page(method, path string, acc access, h http.HandlerFunc) *route {
	return &route{method: method, path: path, access: acc, csrf: true, h: h}
}

// apiRoute makes a JSON API route from a typed function: the request body
// is decoded strictly into In (none when In is noBody), and Out is the
// answer (none, 204, when it is noContent).
func apiRoute[In, Out any](s *Server, method, path string, acc access, tag, summary string, status int,
	fn func(r *http.Request, in *In) (Out, error)) *route {
	rt := &route{method: method, path: path, api: true, access: acc, csrf: true, tag: tag, summary: summary, status: status}
	var inZero In
	var outZero Out
	_, bodiless := any(inZero).(noBody)
	if !bodiless {
		rt.in = reflect.TypeOf(inZero)
	}
	if _, empty := any(outZero).(noContent); !empty {
		rt.out = reflect.TypeOf(outZero)
	}
	rt.h = func(w http.ResponseWriter, r *http.Request) {
		var in In
		// A bodiless route still refuses a body it would ignore: a
		// client sending fields expects them to count.
		if err := decodeJSON(r, &in, bodiless || method == http.MethodGet || method == http.MethodDelete); err != nil {
			s.apiError(w, r, err)
			return
		}
		out, err := fn(r, &in)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		if rt.out == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if raw, ok := any(out).(rawJSON); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(raw)
			return
		}
		writeJSON(w, status, out)
	}
	return rt
}

func (rt *route) withQuery(q ...queryParam) *route { rt.query = append(rt.query, q...); return rt }

func (rt *route) noCSRF() *route { rt.csrf = false; return rt }

func (rt *route) limit(n int64) *route { rt.maxBody = n; return rt }
