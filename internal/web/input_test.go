package web

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/trip"
)

// apiErr is an API error answer.
type apiErr struct {
	Error  string            `json:"error"`
	Code   string            `json:"code"`
	Fields map[string]string `json:"fields"`
}

func decodeErr(t *testing.T, body string) apiErr {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an error document: %q", body)
	}
	return e
}

// TestBadInputNamesTheField sends wrong input to the API and forms and
// checks each answer names the field at fault.
func TestBadInputNamesTheField(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	sponsor := en.as("sponsor")
	draft := en.tripIn(trip.Draft)
	var bare TripStateJSON
	if code, body := sponsor.api("POST", "/api/v1/trips", map[string]string{"lane": "CN-KR"}, &bare); code != 201 {
		t.Fatalf("a bare draft: %d %s", code, body)
	}
	cleared := en.tripIn(trip.Cleared)
	approved := en.tripIn(trip.Approved)
	cases := []struct {
		who, method, path, body string
		status                  int
		field, says             string
	}{
		{"sponsor", "POST", "/api/v1/trips", `{"lane": 5}`, 422, "lane", "must be a string"},
		{"sponsor", "POST", "/api/v1/trips", `{"traveller": {"passport_number": ["E1"]}}`, 422, "traveller.passport_number", "must be a string"},
		{"sponsor", "POST", "/api/v1/trips", `{"itinerary": [{"site": 1}]}`, 422, "itinerary.site", "must be a string"},
		{"sponsor", "POST", "/api/v1/trips", `{"colour": "blue"}`, 422, "colour", "not a known field"},
		{"sponsor", "POST", "/api/v1/trips", `{"lane": "CN-KR"} {"lane": "CN-KR"}`, 422, "body", "nothing after it"},
		{"sponsor", "POST", "/api/v1/trips", `{"lane": "CN-`, 422, "body", "not valid JSON"},
		{"sponsor", "POST", "/api/v1/trips", `[]`, 422, "body", "must be a JSON object"},
		{"sponsor", "POST", "/api/v1/trips", ``, 422, "body", "is required"},
		{"sponsor", "POST", "/api/v1/trips", `{"lane": "XX-YY"}`, 422, "lane", "not a lane"},
		{"sponsor", "POST", "/api/v1/trips", `{"traveller": {"passport_number": "E1"}}`, 422, "traveller.passport_number", "5 to 20"},
		{"sponsor", "POST", "/api/v1/trips", `{"departure_date": "4 May"}`, 422, "departure_date", "YYYY-MM-DD"},
		{"sponsor", "POST", "/api/v1/trips", `{"itinerary": [{"kind": "tent", "site": "x", "from_date": "2020-05-04", "to_date": "2020-05-05"}]}`, 422, "itinerary[0].kind", "lodging"},
		{"sponsor", "POST", "/api/v1/trips/" + bare.ID + "/submit", ``, 422, "traveller.family_name", "required"},
		{"sponsor", "PUT", "/api/v1/trips/" + draft.tripID, `{"version": "one"}`, 422, "version", "whole number"},
		{"reviewer", "POST", "/api/v1/trips/" + draft.tripID + "/reject", `{"reason": 7}`, 422, "reason", "must be a string"},
		{"border_officer", "POST", "/api/v1/trips/" + cleared.tripID + "/departure", `{"flight": "??", "seat": "32A"}`, 422, "flight", "OZ361"},
		{"border_officer", "POST", "/api/v1/trips/" + cleared.tripID + "/departure", `{"flight": "OZ324", "seat": "window"}`, 422, "seat", "32A"},
		{"border_officer", "POST", "/api/v1/trips/" + cleared.tripID + "/departure", `{"flight": "OZ324", "seat": "32A", "departed_at": "yesterday"}`, 422, "departed_at", "2020-05-10T08:30:00Z"},
		{"health_authority", "POST", "/api/v1/trips/" + approved.tripID + "/declarations", `{"temperature_c": 50}`, 422, "temperature", "34.0 and 43.0"},
		{"health_authority", "POST", "/api/v1/trips/" + approved.tripID + "/declarations", `{"temperature_c": 36.6, "symptoms": ["sneezing"]}`, 422, "symptoms", "not a known symptom"},
		{"lab", "POST", "/api/v1/tests", `{"reference": "", "passport_number": "E12345678", "test_type": "NAAT", "sampled_at": "2020-05-01T00:00:00Z", "result": "negative"}`, 422, "reference", "reference"},
		{"lab", "POST", "/api/v1/tests", `{"reference": "KR-X", "passport_number": "E12345678", "test_type": "NAAT", "sampled_at": "soon", "result": "negative"}`, 422, "sampled_at", "2020-05-10T08:30:00Z"},
		{"lab", "POST", "/api/v1/tests", `{"reference": "KR-X", "passport_number": "E12345678", "test_type": "smell", "sampled_at": "2020-05-01T00:00:00Z", "result": "negative"}`, 422, "test_type", "NAAT or RAT"},
		{"lab", "POST", "/api/v1/tests", `{"reference": "KR-X", "passport_number": "E12345678", "test_type": "NAAT", "sampled_at": "2020-05-01T00:00:00Z", "result": "maybe"}`, 422, "result", "negative or positive"},
		{"border_officer", "POST", "/api/v1/verify", `{"credentials": []}`, 422, "credentials", "at least one"},
		{"border_officer", "POST", "/api/v1/verify", `{"credentials": ["HC1:` + strings.Repeat("A", 5000) + `"]}`, 422, "credentials[0]", "at most 4500"},
		{"joint_officer", "PUT", "/api/v1/lanes/CN-KR/suspension", `{"until": "next week", "reason": "x"}`, 422, "until", "2020-05-10T08:30:00Z"},
		{"joint_officer", "GET", "/api/v1/ledger?from=soon", ``, 422, "from", "YYYY-MM-DD"},
		{"joint_officer", "GET", "/api/v1/ledger?from=2020-06-01&to=2020-05-01", ``, 422, "from", "after the last day"},
		{"joint_officer", "GET", "/api/v1/ledger?peer=JP", ``, 422, "peer", "not a peer"},
		{"health_authority", "POST", "/api/v1/ledger/secondary-cases", `{"trip_ref": 5}`, 422, "trip_ref", "must be a string"},
		{"health_authority", "POST", "/api/v1/ledger/secondary-cases", `{"trip_ref": "KR-NOPE", "detected_on": "2020-05-01", "local_ref": "X"}`, 422, "trip_ref", "no trip"},
		{"health_authority", "POST", "/api/v1/ledger/secondary-cases", `{"trip_ref": "` + cleared.ref + `", "detected_on": "2020-05-01", "local_ref": "X"}`, 422, "trip_ref", "never crossed"},
		{"health_authority", "POST", "/api/v1/ledger/secondary-cases", `{"trip_ref": "KR-X", "detected_on": "last week", "local_ref": "X"}`, 422, "detected_on", "YYYY-MM-DD"},
		{"joint_officer", "POST", "/api/v1/ledger/secondary-cases", `{"trip_ref": "KR-X", "detected_on": "2020-05-01", "local_ref": ""}`, 422, "local_ref", "required"},
		{"node_admin", "POST", "/api/v1/orgs", `{"kind": "bakery", "name": "X", "country": "KR"}`, 422, "kind", "one of"},
		{"node_admin", "POST", "/api/v1/orgs", `{"kind": "lab", "name": "X", "country": "Korea"}`, 422, "country", "two-letter"},
		{"node_admin", "POST", "/api/v1/orgs/" + en.orgs["sponsor"].ID + "/invitations", `{"email": "not-an-address", "roles": ["sponsor"]}`, 422, "email", "e-mail address"},
		{"node_admin", "POST", "/api/v1/orgs/" + en.orgs["sponsor"].ID + "/invitations", `{"email": "a@b.example", "roles": ["reviewer"]}`, 422, "roles", "may not hold"},
		{"node_admin", "POST", "/api/v1/orgs/" + en.orgs["lab"].ID + "/tokens", `{"name": "", "roles": ["lab"]}`, 422, "name", "required"},
		{"node_admin", "POST", "/api/v1/orgs/" + en.orgs["lab"].ID + "/tokens", `{"name": "LIS", "roles": ["lab"], "expires_at": "never"}`, 422, "expires_at", "2020-05-10T08:30:00Z"},
		{"sponsor", "GET", "/api/v1/trips?limit=5000", ``, 422, "limit", "1 to 200"},
		{"sponsor", "GET", "/api/v1/trips?state=flying", ``, 422, "state", "not a trip state"},
		{"sponsor", "GET", "/api/v1/trips?order=sideways", ``, 422, "order", "oldest or newest"},
		{"health_monitor", "GET", "/api/v1/alerts?open=perhaps", ``, 422, "open", "true or false"},
	}
	for _, tc := range cases {
		c := en.as(tc.who)
		ct := ""
		if tc.body != "" {
			ct = "application/json"
		}
		res, body := c.do(tc.method, tc.path, ct, tc.body)
		if res.StatusCode != tc.status {
			t.Errorf("%s %s %.60s: status %d, want %d: %s", tc.method, tc.path, tc.body, res.StatusCode, tc.status, body)
			continue
		}
		e := decodeErr(t, body)
		if msg, ok := e.Fields[tc.field]; !ok || !strings.Contains(msg, tc.says) {
			t.Errorf("%s %s %.60s: fields %v, want %s to say %q", tc.method, tc.path, tc.body, e.Fields, tc.field, tc.says)
		}
		if e.Code != "invalid" || e.Error == "" {
			t.Errorf("%s %s: code %q, error %q", tc.method, tc.path, e.Code, e.Error)
		}
	}

	// Too large a body is refused as such, naming the limit.
	res, body := sponsor.do("POST", "/api/v1/trips", "application/json", `{"lane": "`+strings.Repeat("x", maxJSONBody)+`"}`)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(decodeErr(t, body).Fields["body"], "at most") {
		t.Errorf("a large body: %d %s", res.StatusCode, body)
	}
	// A body in another format is refused by name.
	res, body = sponsor.do("POST", "/api/v1/trips", "text/plain", `{"lane": "CN-KR"}`)
	if res.StatusCode != 422 || !strings.Contains(decodeErr(t, body).Fields["body"], "application/json") {
		t.Errorf("text/plain: %d %s", res.StatusCode, body)
	}

	// Forms: the page comes back with the problem beside the field, in
	// the reader's language.
	for _, lang := range []struct{ accept, says string }{{"en", "must be 5 to 20 letters and digits"}, {"zh-CN", "须为 5 至 20 位字母和数字"}, {"ko", "5~20자의 영문자와 숫자여야 합니다"}} {
		sponsor.lang = lang.accept
		res, body := sponsor.form("/trips/new", url.Values{"lane": {"CN-KR"}, "traveller.passport_number": {"E1"}})
		if res.StatusCode != 422 || !strings.Contains(body, `<span class="field-error">`+lang.says+`</span>`) {
			t.Errorf("%s: the form's error: %d, want %q beside the field", lang.accept, res.StatusCode, lang.says)
		}
		if !strings.Contains(body, `value="E1"`) {
			t.Errorf("%s: the form lost what was typed", lang.accept)
		}
	}
}

// junkBodies are the bodies the robustness test sends everywhere.
func junkBodies(rng *rand.Rand, rt *route) []string {
	bodies := []string{"", "{}", "null", "[]", "0", `"x"`, "{", `{"a":`, "\x00\xff\xfe", strings.Repeat("[", 10000),
		`{"` + strings.Repeat("k", 70000) + `": 1}`, `{"a": "` + strings.Repeat("é", 60000) + `"}`}
	if rt.in != nil {
		for i := 0; i < 6; i++ {
			b, _ := json.Marshal(randomValue(rng, rt.in, 0))
			bodies = append(bodies, string(b))
		}
	}
	junk := make([]byte, 2048)
	for i := range junk {
		junk[i] = byte(rng.IntN(256))
	}
	return append(bodies, string(junk))
}

// randomValue makes a JSON value shaped roughly like t: the right field
// names with values of any type, sometimes huge, sometimes wrong.
func randomValue(rng *rand.Rand, t reflect.Type, depth int) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 4 || rng.IntN(6) == 0 {
		return anyValue(rng)
	}
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if f.Anonymous && name == "" {
					walk(f.Type)
					continue
				}
				if name != "" && name != "-" && rng.IntN(4) != 0 {
					m[name] = randomValue(rng, f.Type, depth+1)
				}
			}
		}
		walk(t)
		return m
	case reflect.Slice:
		n := rng.IntN(4)
		if rng.IntN(10) == 0 {
			n = 60 // more than any list allows
		}
		out := make([]any, n)
		for i := range out {
			out[i] = randomValue(rng, t.Elem(), depth+1)
		}
		return out
	case reflect.String:
		return randomString(rng)
	case reflect.Int, reflect.Int64:
		return []any{0, -1, 1 << 62, 7}[rng.IntN(4)]
	case reflect.Float64:
		return []any{36.6, -273.15, 1e308, 0}[rng.IntN(4)]
	}
	return anyValue(rng)
}

func anyValue(rng *rand.Rand) any {
	switch rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return rng.Float64() * 1e9
	case 3:
		return []any{"a", 1, nil}
	case 4:
		return map[string]any{"x": "y"}
	}
	return randomString(rng)
}

func randomString(rng *rand.Rand) string {
	samples := []string{"", "CN-KR", "KR", "E12345678", "2020-05-04", "2020-05-04T08:00:00Z", "HC1:6BFOXN", "NAAT", "negative",
		"sponsor", "<script>alert(1)</script>", "'; DROP TABLE trips; --", "\u202e\u0000\x1b[31m", "名字", "이름",
		strings.Repeat("A", 5000), strings.Repeat("😀", 3000)}
	return samples[rng.IntN(len(samples))]
}

// TestNoServerErrorOnJunk posts random, malformed and oversized bodies to
// every API route with every method, as a sponsor session, a lab token
// and no one, and requires that nothing answers 5xx.
func TestNoServerErrorOnJunk(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	f := en.tripIn(trip.Submitted)
	f.deadID = en.withDeadLetter().deadID
	rng := rand.New(rand.NewPCG(1, 2))
	callers := map[string]func(*http.Request){
		"sponsor": en.sessionHeaders("sponsor"),
		"lab":     func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+en.token) },
		"nobody":  func(*http.Request) {},
	}
	// The joint mechanism's routes refuse the others before reading
	// anything; its officer gets the junk through to the handlers.
	joint := en.sessionHeaders("joint_officer")
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}
	huge := bytes.Repeat([]byte(`{"a":"`), 10<<20/6)
	n := 0
	for _, rt := range en.srv.routes {
		if !rt.api {
			continue
		}
		path := en.fill(strings.Replace(rt.path, "{token}", "tl_x", 1), f)
		if rt.path == "/api/" {
			path = "/api/v1/nope"
		}
		paths := []string{path}
		if rt.tag == "joint" && rt.method == http.MethodGet {
			paths = append(paths, path+"?peer=%00%ff&open=maybe&limit=-1", path+"?peer=CN&open=false&limit=1000",
				path+"?peer="+strings.Repeat("Z", 5000)+"&limit=99999999999999999999")
		}
		for _, body := range junkBodies(rng, rt) {
			for _, m := range methods {
				for who, auth := range callers {
					n++
					if code := serve(en, m, path, []byte(body), auth); code >= 500 {
						t.Errorf("%s %s as %s with %.80q: %d", m, path, who, body, code)
					}
				}
				if rt.tag != "joint" {
					continue
				}
				for _, p := range paths {
					n++
					if code := serve(en, m, p, []byte(body), joint); code >= 500 {
						t.Errorf("%s %s as joint officer with %.80q: %d", m, p, body, code)
					}
				}
			}
		}
		// Ten megabytes, once per route.
		n++
		if code := serve(en, http.MethodPost, path, huge, callers["sponsor"]); code >= 500 {
			t.Errorf("POST %s with 10 MB: %d", path, code)
		}
	}
	t.Logf("%d requests", n)
}

// sessionHeaders returns a function that makes a request act in a
// person's session, with the CSRF token.
func (en *env) sessionHeaders(name string) func(*http.Request) {
	c := en.as(name)
	u, _ := url.Parse(en.http.URL)
	var secret string
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == cookieSession {
			secret = ck.Value
		}
	}
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: cookieSession, Value: secret})
		r.Header.Set("X-CSRF-Token", c.csrf)
	}
}

// serve runs one request through the handler in the test's process.
func serve(en *env, method, path string, body []byte, auth func(*http.Request)) int {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	rec := httptest.NewRecorder()
	en.srv.ServeHTTP(rec, req)
	return rec.Code
}

// FuzzAPI sends fuzzed bodies to the API routes, choosing the route and
// the method from the input, as a signed-in sponsor; no answer may be 5xx.
func FuzzAPI(f *testing.F) {
	en := newEnv(f, quickPolicy(f))
	tr := en.tripIn(trip.Submitted)
	tr.deadID = en.withDeadLetter().deadID
	auth := en.sessionHeaders("sponsor")
	var api []*route
	for _, rt := range en.srv.routes {
		if rt.api && rt.method != "" {
			api = append(api, rt)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i, rt := range api {
		for _, b := range junkBodies(rng, rt)[:4] {
			f.Add(uint8(i), uint8(1), []byte(b))
		}
		if rt.in != nil {
			b, _ := json.Marshal(reflect.New(rt.in).Interface())
			f.Add(uint8(i), uint8(1), b)
		}
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	f.Fuzz(func(t *testing.T, which, method uint8, body []byte) {
		rt := api[int(which)%len(api)]
		m := rt.method
		if method%5 != 0 {
			m = methods[int(method)%len(methods)]
		}
		if code := serve(en, m, en.fill(rt.path, tr), body, auth); code >= 500 {
			t.Fatalf("%s %s with %q: %d", m, rt.path, body, code)
		}
	})
}
