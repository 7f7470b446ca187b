package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/trip"
)

// The permission test tries every route with every role and checks the
// status the table below says. A route missing from the table fails the
// test, so a new route cannot go unchecked.
//
// A sponsor of another organisation asking for a trip that is not theirs
// gets 404, not 403: the answer must not tell that such a trip exists.
// Where the role alone decides (a sponsor trying to approve), the answer
// is 403 whatever the trip, since it says nothing about the trip.

// roles: who asks, and the person of env.people they sign in as.
var roles = []struct{ name, person string }{
	{"sponsor_a", "sponsor"}, {"sponsor_b", "other_sponsor"}, {"reviewer", "reviewer"}, {"lab", "lab"},
	{"border", "border_officer"}, {"arrival", "arrival_officer"}, {"monitor", "health_monitor"},
	{"health", "health_authority"}, {"joint", "joint_officer"}, {"admin", "node_admin"}, {"org_admin", "org_admin"},
	{"traveller", ""}, {"token", ""}, {"none", ""},
}

// perm is one route's row.
type perm struct {
	fix  func(en *env) *fixture               // builds what the route needs; nil: nothing
	path string                               // the path to request; empty: the route's, with ids filled in
	body func(en *env, f *fixture) url.Values // a form (pages) or, for the API, fields turned into JSON
	json func(en *env, f *fixture) any        // the API body
	ok   map[string]int                       // roles allowed, and the status they get
	not  map[string]int                       // roles refused otherwise than the default
	all  int                                  // public routes: what everyone gets
	// fresh: every role gets a fixture of its own, for routes whose
	// failures are rate limited per link.
	fresh bool
}

func trips(s trip.State) func(en *env) *fixture {
	return func(en *env) *fixture { return en.tripIn(s) }
}

func form(kv ...string) func(*env, *fixture) url.Values {
	return func(*env, *fixture) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
}

func obj(kv ...any) func(*env, *fixture) any {
	return func(*env, *fixture) any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
}

var (
	readers  = []string{"sponsor_a", "reviewer", "border", "arrival", "monitor", "health", "joint"}
	officers = []string{"reviewer", "border", "arrival", "monitor", "health", "joint"}
)

func only(status int, names ...string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		m[n] = status
	}
	return m
}

func merge(ms ...map[string]int) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var b404 = map[string]int{"sponsor_b": 404}

// action rows: the page form and the API route of one trip action.
func actionRows(rows map[string]perm, name string, state trip.State, body []string, allowed []string, sponsorOwn bool) {
	not := map[string]int{}
	if sponsorOwn {
		not = b404
	}
	rows["POST /trips/{id}/actions/{action}#"+name] = perm{fix: trips(state), path: "/trips/{id}/actions/" + name,
		body: form(body...), ok: only(303, allowed...), not: not}
	var js func(*env, *fixture) any
	if len(body) > 0 {
		js = func(*env, *fixture) any { return map[string]string{body[0]: body[1]} }
	}
	if name == "depart" {
		rows["POST /api/v1/trips/{id}/departure"] = perm{fix: trips(state), json: obj("flight", "OZ324", "seat", "32A"), ok: only(200, allowed...)}
		return
	}
	rows["POST /api/v1/trips/{id}/"+name] = perm{fix: trips(state), json: js, ok: only(200, allowed...), not: not}
}

func permissionTable() map[string]perm {
	rows := map[string]perm{
		"GET /healthz": {all: 200},
		"GET /readyz":  {all: 200},
		"GET /metrics": {all: 200},
		"GET /static/": {path: "/static/style.css", all: 200},
		"/":            {path: "/no-such-page", all: 404},
		"/api/":        {path: "/api/v1/no-such-route", all: 404},
		"GET /{$}":     {path: "/", all: 303, ok: only(200, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin")},
		"GET /login":   {all: 200},
		// Failed sign-ins are rate limited per account and address: each
		// request names another account.
		"POST /login": {body: func(*env, *fixture) url.Values {
			return url.Values{"email": {auth.NewID() + "@corridor.example"}, "password": {"wrong password"}}
		}, all: 401},
		"POST /logout":     {all: 303},
		"GET /lang/{lang}": {path: "/lang/ko?next=/trips", all: 303},
		"GET /account":     {ok: only(200, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin")},
		"POST /account/password": {body: form("current_password", "not my password", "new_password", "a new password 2020"),
			ok: only(422, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin")},
		"GET /invitations/{token}":  {path: "/invitations/ci_bogus", all: 200},
		"POST /invitations/{token}": {path: "/invitations/ci_bogus", body: form("name", "Somebody", "password", "long enough password"), all: 404},

		"GET /trips":              {ok: merge(only(200, readers...), only(200, "sponsor_b"))},
		"GET /trips/new":          {ok: only(200, "sponsor_a", "sponsor_b")},
		"POST /trips/new":         {body: form("lane", "CN-KR", "traveller.family_name", "Zhang"), ok: only(303, "sponsor_a", "sponsor_b")},
		"GET /trips/by-reference": {fix: trips(trip.Submitted), path: "/trips/by-reference?reference={reference}", ok: only(303, readers...), not: b404},
		"GET /trips/{id}":         {fix: trips(trip.Submitted), ok: only(200, readers...), not: b404},
		"GET /trips/{id}/edit":    {fix: trips(trip.Draft), ok: only(200, "sponsor_a"), not: b404},
		"POST /trips/{id}/edit": {fix: trips(trip.Draft), body: func(en *env, f *fixture) url.Values {
			return url.Values{"version": {fmt.Sprint(f.version)}, "lane": {"CN-KR"}, "traveller.family_name": {"Li"}}
		}, ok: only(303, "sponsor_a"), not: b404},
		"POST /trips/{id}/traveller-link": {fix: trips(trip.Approved), ok: only(200, "sponsor_a", "reviewer"), not: b404},
		"POST /trips/{id}/declarations":   {fix: trips(trip.Approved), body: form("temperature", "36.6"), ok: only(303, "health")},
		"GET /trips/{id}/letter":          {fix: trips(trip.Approved), ok: only(200, readers...), not: b404},

		"GET /tests/new": {ok: only(200, "lab")},
		"POST /tests/new": {fix: trips(trip.Approved), body: func(en *env, f *fixture) url.Values {
			return url.Values{"reference": {f.ref}, "passport_number": {passport}, "test_type": {"NAAT"}, "test_name": {"PCR"},
				"sampled_at": {en.clock.Now().Add(-time.Hour).Format("2006-01-02T15:04")}, "result": {"negative"}}
		}, ok: only(200, "lab")},
		"GET /verify":   {ok: only(200, "border", "arrival")},
		"POST /verify":  {body: form("approval", "HC1:NOT-A-CREDENTIAL"), ok: only(200, "border", "arrival")},
		"GET /arrivals": {ok: only(200, "border", "arrival")},
		"POST /arrivals": {fix: trips(trip.Approved), body: func(en *env, f *fixture) url.Values {
			return url.Values{"reference": {f.ref}}
		}, ok: only(303, "border", "arrival")},
		"GET /alerts":                   {ok: only(200, "monitor", "health")},
		"POST /alerts/{id}/acknowledge": {fix: (*env).withAlert, ok: only(303, "monitor", "health")},
		"GET /joint":                    {ok: only(200, "joint")},
		"GET /policy":                   {ok: only(200, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin")},
		"POST /joint/lanes/{lane}/suspend": {body: func(en *env, f *fixture) url.Values {
			return url.Values{"until": {en.clock.Now().AddDate(0, 0, 7).Format(time.DateOnly)}, "reason": {"5 positives in 7 days"}}
		}, ok: only(303, "joint")},
		"POST /joint/lanes/{lane}/lift": {fix: (*env).withLaneSuspended, ok: only(303, "joint")},
		"POST /policy": {body: func(en *env, f *fixture) url.Values {
			return url.Values{"document": {en.nextPolicy()}}
		}, ok: only(303, "joint")},
		"GET /joint/ledger": {ok: only(200, "joint", "health")},
		"POST /joint/ledger/secondary-cases": {fix: trips(trip.Departed), body: func(en *env, f *fixture) url.Values {
			return url.Values{"trip_ref": {f.ref}, "detected_on": {en.clock.Now().Format(time.DateOnly)}, "local_ref": {auth.NewID()}}
		}, ok: only(303, "joint", "health")},
		"GET /joint/peers":                      {ok: only(200, "joint")},
		"GET /joint/dead-letters":               {fix: (*env).withDeadLetter, ok: only(200, "joint")},
		"POST /joint/dead-letters/{id}/retry":   {fix: (*env).withDeadLetter, ok: only(303, "joint")},
		"POST /joint/dead-letters/{id}/dismiss": {fix: (*env).withDeadLetter, ok: only(303, "joint")},
		"GET /joint/contacts":                   {ok: only(200, "joint")},

		"GET /admin": {ok: only(200, "admin", "org_admin")},
		"POST /admin/orgs": {body: func(*env, *fixture) url.Values {
			return url.Values{"name": {"Lab " + auth.NewID()}, "kind": {"lab"}, "country": {"KR"}}
		}, ok: only(303, "admin")},
		"GET /admin/orgs/{org}": {ok: only(200, "admin", "org_admin")},
		"POST /admin/orgs/{org}/invitations": {body: func(*env, *fixture) url.Values {
			return url.Values{"email": {auth.NewID() + "@corridor.example"}, "roles": {"admin"}}
		}, ok: only(200, "admin", "org_admin")},
		"POST /admin/orgs/{org}/members/{user}":        {fix: (*env).withMember, body: form("roles", "sponsor"), ok: only(303, "admin")},
		"POST /admin/orgs/{org}/members/{user}/remove": {fix: (*env).withMember, ok: only(303, "admin")},
		"POST /admin/orgs/{org}/tokens":                {body: form("name", "ERP", "roles", "sponsor"), ok: only(200, "admin")},
		"POST /admin/orgs/{org}/tokens/{id}/revoke":    {fix: (*env).withMember, ok: only(303, "admin")},

		"GET /t/{token}":               {fix: trips(trip.Approved), all: 200},
		"POST /t/{token}":              {fix: trips(trip.Approved), fresh: true, body: form("passport_number", "X9999999"), all: 401},
		"GET /traveller":               {ok: only(200, "traveller"), all: 401},
		"POST /traveller/declarations": {body: form("temperature", "36.7"), ok: only(303, "traveller"), all: 401},
		"POST /traveller/logout":       {ok: only(303, "traveller"), all: 401},
		"GET /traveller/signed-out":    {all: 200},
		"POST /account/organisation": {body: func(en *env, f *fixture) url.Values {
			return url.Values{"org": {en.orgs["sponsor"].ID}}
		}, ok: only(303, "sponsor_a", "org_admin"), not: only(404, "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin")},

		// The API.
		"GET /api/v1/session": {ok: only(200, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin", "token")},
		"POST /api/v1/session": {json: func(*env, *fixture) any {
			return map[string]string{"email": auth.NewID() + "@corridor.example", "password": "wrong password"}
		}, all: 401},
		"DELETE /api/v1/session": {ok: only(204, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin", "token")},
		"PUT /api/v1/session/organisation": {json: func(en *env, f *fixture) any { return map[string]string{"org_id": en.orgs["sponsor"].ID} },
			ok: only(200, "sponsor_a", "org_admin"), not: merge(only(404, "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin"), only(403, "token"))},
		"POST /api/v1/session/password": {json: obj("current_password", "not my password", "new_password", "a new password 2020"),
			ok: only(422, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin")},
		"POST /api/v1/invitations/accept": {json: obj("token", "ci_bogus", "name", "X", "password", "long enough password"), all: 404},
		"GET /api/v1/trips":               {ok: merge(only(200, readers...), only(200, "sponsor_b"))},
		"POST /api/v1/trips":              {json: obj("lane", "CN-KR"), ok: only(201, "sponsor_a", "sponsor_b")},
		"GET /api/v1/trips/{id}":          {fix: trips(trip.Submitted), ok: only(200, readers...), not: b404},
		"PUT /api/v1/trips/{id}": {fix: trips(trip.Draft), json: func(en *env, f *fixture) any {
			return map[string]any{"version": f.version, "lane": "CN-KR"}
		}, ok: only(200, "sponsor_a"), not: b404},
		"GET /api/v1/trips/by-reference/{reference}": {fix: trips(trip.Submitted), ok: only(200, readers...), not: b404},
		"POST /api/v1/trips/{id}/traveller-link":     {fix: trips(trip.Approved), ok: only(201, "sponsor_a", "reviewer"), not: b404},
		"POST /api/v1/trips/{id}/declarations":       {fix: trips(trip.Approved), json: obj("temperature_c", 36.6), ok: only(201, "health")},
		"POST /api/v1/tests": {fix: trips(trip.Approved), json: func(en *env, f *fixture) any {
			return TestInputJSON{Reference: f.ref, PassportNumber: passport, TestType: "NAAT", TestName: "PCR",
				SampledAt: en.clock.Now().Add(-time.Hour).Format(time.RFC3339), Result: "negative"}
		}, ok: only(201, "lab", "token")},
		"POST /api/v1/verify":                  {json: obj("credentials", []string{"HC1:NOT-A-CREDENTIAL"}), ok: only(200, "border", "arrival")},
		"GET /api/v1/bundle":                   {all: 200},
		"GET /api/v1/alerts":                   {ok: only(200, "monitor", "health")},
		"POST /api/v1/alerts/{id}/acknowledge": {fix: (*env).withAlert, ok: only(204, "monitor", "health")},
		"PUT /api/v1/lanes/{lane}/suspension": {json: func(en *env, f *fixture) any {
			return map[string]string{"until": en.clock.Now().AddDate(0, 0, 7).Format(time.RFC3339), "reason": "5 positives in 7 days"}
		}, ok: only(200, "joint")},
		"DELETE /api/v1/lanes/{lane}/suspension": {fix: (*env).withLaneSuspended, ok: only(200, "joint")},
		"GET /api/v1/policy":                     {ok: only(200, "sponsor_a", "sponsor_b", "reviewer", "lab", "border", "arrival", "monitor", "health", "joint", "admin", "org_admin", "token")},
		"PUT /api/v1/policy": {json: func(en *env, f *fixture) any {
			return PolicyChangeInputJSON{Document: en.nextPolicy()}
		}, ok: only(200, "joint")},
		"GET /api/v1/ledger": {ok: only(200, "joint", "health")},
		"POST /api/v1/ledger/secondary-cases": {fix: trips(trip.Departed), json: func(en *env, f *fixture) any {
			return SecondaryInputJSON{TripRef: f.ref, DetectedOn: en.clock.Now().Format(time.DateOnly), LocalRef: auth.NewID()}
		}, ok: only(201, "joint", "health")},
		"GET /api/v1/federation/peers":                      {ok: only(200, "joint")},
		"GET /api/v1/federation/dead-letters":               {fix: (*env).withDeadLetter, ok: only(200, "joint")},
		"POST /api/v1/federation/dead-letters/{id}/retry":   {fix: (*env).withDeadLetter, ok: only(204, "joint")},
		"POST /api/v1/federation/dead-letters/{id}/dismiss": {fix: (*env).withDeadLetter, ok: only(204, "joint")},
		"GET /api/v1/federation/contacts":                   {ok: only(200, "joint")},
		"GET /api/v1/orgs":                                  {ok: only(200, "admin", "org_admin")},
		"POST /api/v1/orgs": {json: func(*env, *fixture) any {
			return map[string]string{"name": "Lab " + auth.NewID(), "kind": "lab", "country": "KR"}
		}, ok: only(201, "admin")},
		"GET /api/v1/orgs/{org}/members":           {ok: only(200, "admin", "org_admin")},
		"PUT /api/v1/orgs/{org}/members/{user}":    {fix: (*env).withMember, json: obj("roles", []string{"sponsor"}), ok: only(204, "admin")},
		"DELETE /api/v1/orgs/{org}/members/{user}": {fix: (*env).withMember, ok: only(204, "admin")},
		"GET /api/v1/orgs/{org}/invitations":       {ok: only(200, "admin", "org_admin")},
		"POST /api/v1/orgs/{org}/invitations": {json: func(*env, *fixture) any {
			return map[string]any{"email": auth.NewID() + "@corridor.example", "roles": []string{"admin"}}
		}, ok: only(201, "admin", "org_admin")},
		"GET /api/v1/orgs/{org}/tokens":  {ok: only(200, "admin", "org_admin")},
		"POST /api/v1/orgs/{org}/tokens": {json: obj("name", "ERP", "roles", []string{"sponsor"}), ok: only(201, "admin")},
		"DELETE /api/v1/tokens/{id}":     {fix: (*env).withMember, ok: only(204, "admin")},
		"POST /api/v1/traveller/session": {fix: trips(trip.Approved), fresh: true, json: func(en *env, f *fixture) any {
			return map[string]string{"token": f.link, "passport_number": "X9999999"}
		}, all: 401},
		"DELETE /api/v1/traveller/session":    {ok: only(204, "traveller"), all: 401},
		"GET /api/v1/traveller/trip":          {ok: only(200, "traveller"), all: 401},
		"POST /api/v1/traveller/declarations": {json: obj("temperature_c", 36.7), ok: only(201, "traveller"), all: 401},
		"GET /api/v1/openapi.json":            {all: 200},
	}
	actionRows(rows, "submit", trip.Draft, nil, []string{"sponsor_a"}, true)
	actionRows(rows, "answer", trip.NeedsInfo, []string{"answer", "The work site is Asan."}, []string{"sponsor_a"}, true)
	actionRows(rows, "withdraw", trip.Submitted, []string{"reason", "plans changed"}, []string{"sponsor_a", "reviewer"}, true)
	actionRows(rows, "request-info", trip.Submitted, []string{"reason", "Which site?"}, []string{"reviewer"}, false)
	actionRows(rows, "approve", trip.Submitted, []string{"reason", ""}, []string{"reviewer"}, false)
	actionRows(rows, "reject", trip.Submitted, []string{"reason", "not essential"}, []string{"reviewer"}, false)
	actionRows(rows, "start-monitoring", trip.Approved, nil, []string{"health"}, false)
	actionRows(rows, "depart", trip.Cleared, []string{"flight", "OZ324", "seat", "32A"}, []string{"border", "health"}, false)
	actionRows(rows, "arrive", trip.Departed, nil, []string{"arrival", "border"}, false)
	actionRows(rows, "hold", trip.Arrived, nil, []string{"arrival"}, false)
	actionRows(rows, "release", trip.ArrivalHold, nil, []string{"arrival"}, false)
	actionRows(rows, "isolate", trip.ArrivalHold, []string{"reason", "fever"}, []string{"arrival", "monitor", "health"}, false)
	actionRows(rows, "complete-isolation", trip.Isolated, []string{"reason", "recovered"}, []string{"monitor", "health"}, false)
	actionRows(rows, "suspend", trip.Submitted, []string{"reason", "circuit breaker"}, []string{"joint"}, false)
	actionRows(rows, "reinstate", trip.Suspended, []string{"reason", "reopened"}, []string{"joint"}, false)
	return rows
}

func (en *env) withLaneSuspended() *fixture {
	_, err := en.app.SuspendLane(bg, en.p("joint_officer"), "KR-CN", en.clock.Now().AddDate(0, 0, 7), "5 positives in 7 days")
	must(en.t, err)
	return &fixture{}
}

// fill puts a fixture's ids into a route's path.
func (en *env) fill(path string, f *fixture) string {
	id := f.tripID
	switch {
	case strings.Contains(path, "/alerts/"):
		id = f.alertID
	case strings.Contains(path, "tokens/{id}"):
		id = f.tokenID
	case strings.Contains(path, "dead-letters/{id}"):
		id = f.deadID
	}
	return strings.NewReplacer("{id}", id, "{reference}", f.ref, "{org}", en.orgs["sponsor"].ID, "{user}", f.userID,
		"{lane}", "KR-CN", "{token}", f.link, "{lang}", "ko").Replace(path)
}

// clientFor returns a client acting as role.
func (en *env) clientFor(role string, f *fixture) *client {
	switch role {
	case "none":
		return en.anonymous().withAnon()
	case "token":
		c := en.bearer()
		return c.withAnon()
	case "traveller":
		return en.traveller(f)
	}
	for _, r := range roles {
		if r.name == role {
			return en.as(r.person)
		}
	}
	en.t.Fatalf("no role %q", role)
	return nil
}

// want is the status the table expects for role on a route.
func (p perm) want(rt *route, role string) int {
	if s, ok := p.ok[role]; ok {
		return s
	}
	if s, ok := p.not[role]; ok {
		return s
	}
	if p.all != 0 {
		return p.all
	}
	switch rt.access {
	case accessTraveller:
		return http.StatusUnauthorized
	case accessUser:
		if role == "none" || role == "traveller" || (role == "token" && !rt.api) {
			if rt.api {
				return http.StatusUnauthorized
			}
			return http.StatusSeeOther
		}
	}
	return http.StatusForbidden
}

func TestPermissions(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	table := permissionTable()
	// Every route has a row; every row names a route.
	covered := map[string]bool{}
	for key := range table {
		covered[strings.SplitN(key, "#", 2)[0]] = true
	}
	byPattern := map[string]*route{}
	for _, rt := range en.srv.routes {
		pattern := strings.TrimSpace(rt.method + " " + rt.path)
		byPattern[pattern] = rt
		if !covered[pattern] {
			t.Errorf("route %s has no row in the permission table", pattern)
		}
	}
	keys := make([]string, 0, len(table))
	for key := range table {
		keys = append(keys, key)
		if byPattern[strings.SplitN(key, "#", 2)[0]] == nil {
			t.Errorf("the permission table's row %q names no route", key)
		}
	}
	sort.Strings(keys)
	if t.Failed() {
		t.FailNow()
	}
	checked := 0
	for _, key := range keys {
		p := table[key]
		rt := byPattern[strings.SplitN(key, "#", 2)[0]]
		// The refused roles share one fixture, and must leave it as it
		// was; each allowed role gets a fresh one, as its success may
		// change it.
		var shared *fixture
		for _, r := range roles {
			want := p.want(rt, r.name)
			f := &fixture{}
			if p.fix != nil {
				if _, allowed := p.ok[r.name]; allowed || p.fresh {
					f = p.fix(en)
				} else {
					if shared == nil {
						shared = p.fix(en)
					}
					f = shared
				}
			}
			got, body := en.request(rt, p, r.name, f)
			checked++
			if got != want {
				t.Errorf("%s as %s: got %d, want %d\n%.400s", key, r.name, got, want, body)
			}
		}
	}
	t.Logf("%d routes, %d requests", len(en.srv.routes), checked)
}

// request sends one permission case.
func (en *env) request(rt *route, p perm, role string, f *fixture) (int, string) {
	path := p.path
	if path == "" {
		path = rt.path
	}
	path = en.fill(path, f)
	method := rt.method
	if method == "" {
		method = http.MethodGet
	}
	c := en.clientFor(role, f)
	if rt.api {
		var in any
		if p.json != nil {
			in = p.json(en, f)
		}
		if in == nil {
			res, body := c.do(method, path, "", "")
			return res.StatusCode, body
		}
		b, _ := json.Marshal(in)
		res, body := c.do(method, path, "application/json", string(b))
		return res.StatusCode, body
	}
	if method == http.MethodGet {
		res, body := c.get(path)
		return res.StatusCode, body
	}
	var v url.Values
	if p.body != nil {
		v = p.body(en, f)
	}
	res, body := c.form(path, v)
	return res.StatusCode, body
}

// nextPolicy is the policy in force with its version raised by one: a
// change the node accepts.
func (en *env) nextPolicy() string {
	p := en.app.Policy()
	return strings.Replace(string(p.Document()), fmt.Sprintf(`"version": %d,`, p.Version), fmt.Sprintf(`"version": %d,`, p.Version+1), 1)
}
