package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/bundle"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
)

var bg = context.Background()

// start is the test clock's first reading: a Friday in May 2020, when the
// China–Korea fast-track lane opened.
var start = time.Date(2020, 5, 1, 1, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

const password = "correct horse battery"

// loadPolicy reads the sample policy with text edits (old, new, ...).
func loadPolicy(t testing.TB, edits ...string) *policy.Policy {
	t.Helper()
	b, err := os.ReadFile("../../policies/cn-kr.json")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("policy edit %q does not apply", edits[i])
		}
		s = strings.ReplaceAll(s, edits[i], edits[i+1])
	}
	p, err := policy.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testPolicy keeps the lane's shape but shortens its days, so that a
// whole trip runs in a test: two monitoring days before departure, a 48 h
// hold, three days of monitoring after arrival.
func testPolicy(t testing.TB) *policy.Policy {
	return loadPolicy(t, `"pre_departure_monitoring_days": 14`, `"pre_departure_monitoring_days": 2`,
		`"post_arrival_monitoring_days": 14`, `"post_arrival_monitoring_days": 3`)
}

// env is a node: a real SQLite store in a temporary folder, real keys, the
// application, and the web server over it, with one person per role.
type env struct {
	t      testing.TB
	db     *sqlstore.DB
	app    *app.App
	srv    *Server
	http   *httptest.Server
	clock  *clock
	keys   *keys.Set
	fed    *federation.Service // built, not running; China is pinned by pinCN
	cn     *peerCN
	orgs   map[string]*app.Org
	secret map[string]string // session secret per person
	token  string            // the lab's API token
	logs   *logBuffer
}

// logBuffer keeps the server's log lines for the test that reads them.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

func newEnv(t testing.TB, pol *policy.Policy) *env {
	t.Helper()
	en := &env{t: t, clock: &clock{now: start}, orgs: map[string]*app.Org{}, secret: map[string]string{}, logs: &logBuffer{}}
	en.db = sqltest.SQLite().Open(t)
	dir := filepath.Join(t.TempDir(), "keys")
	_, err := keys.Init(dir, "KR", keys.Options{Now: start.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddSigner(dir, "lab-seoul", keys.Lab, keys.Options{Now: start.Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if en.keys, err = keys.Load(dir); err != nil {
		t.Fatal(err)
	}
	authKey, _, authKid, err := en.keys.Signer(keys.AuthorityName)
	if err != nil {
		t.Fatal(err)
	}
	labKey, _, labKid, err := en.keys.Signer("lab-seoul")
	if err != nil {
		t.Fatal(err)
	}
	issuer := &app.SigningIssuer{Country: "KR", Authority: app.Signer{Kid: authKid, Key: authKey},
		Lab: func(string) (app.Signer, error) { return app.Signer{Kid: labKid, Key: labKey}, nil }}
	logger := slog.New(slog.NewJSONHandler(en.logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: app.RedactAttr}))
	en.app, err = app.New(app.Config{Store: en.db, Policy: pol, Country: "KR", AuthorityName: "Ministry of Foreign Affairs, Republic of Korea",
		Issuer: issuer, RateLimitKey: []byte("0123456789abcdef0123456789abcdef"), PasswordParams: auth.TestParams,
		Now: en.clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	trustList, err := trust.SignList(en.keys.TrustList(1, start.Add(-time.Hour), start.AddDate(1, 0, 0)), en.keys.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	rev := &revocation.List{Country: "KR", Sequence: 1, IssuedAt: start.Add(-time.Hour), NextUpdate: start.AddDate(1, 0, 0)}
	revSigned, err := revocation.Sign(rev, en.keys.CSCA, en.keys.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	var st trust.Store
	if _, err := st.Load(trustList, trust.LoadOptions{Pinned: en.keys.CSCA, At: start}); err != nil {
		t.Fatal(err)
	}
	rules, err := pol.Rules()
	if err != nil {
		t.Fatal(err)
	}
	v := &verify.Verifier{Trust: &st, Revocation: rev, Rules: rules, Country: "KR"}
	fedID, err := envelope.Create(dir, keys.Options{Now: start.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	en.fed, err = federation.New(federation.Config{Store: en.db, App: en.app, Identity: fedID, Logger: logger, Now: en.clock.Now,
		Lists: func(context.Context, time.Time) ([]byte, []byte, error) { return trustList, revSigned, nil }})
	if err != nil {
		t.Fatal(err)
	}
	en.srv, err = New(Config{
		App:      en.app,
		Ready:    en.db.Ping,
		Verifier: func() *verify.Verifier { return v },
		Bundle: func(ctx context.Context) ([]byte, error) {
			now := en.clock.Now()
			return bundle.Seal(bundle.Contents{Country: "KR", IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1),
				Policy:    bundle.Policy{ID: pol.ID, Version: pol.Version, Digest: pol.Digest()},
				TrustList: trustList, RevocationList: revSigned, EntryRules: pol.EntryRules}, en.keys.CSCA, en.keys.CSCAKey())
		},
		Country: "KR", BaseURL: "http://corridor.test", CSRFKey: []byte("csrf-key-for-tests-only-0123456789abcdef"),
		Logger: logger, Now: en.clock.Now, Federation: en.fed,
	})
	if err != nil {
		t.Fatal(err)
	}
	en.http = httptest.NewServer(en.srv)
	t.Cleanup(en.http.Close)
	en.setupPeople()
	return en
}

// people: the name of each person, their organisation and roles.
var people = []struct {
	name, org string
	roles     []trip.Role
}{
	{"sponsor", "sponsor", []trip.Role{trip.RoleSponsor}},
	{"other_sponsor", "other_sponsor", []trip.Role{trip.RoleSponsor}},
	{"org_admin", "sponsor", []trip.Role{auth.RoleAdmin}},
	{"reviewer", "authority", []trip.Role{trip.RoleReviewer}},
	{"lab", "lab", []trip.Role{trip.RoleLab}},
	{"border_officer", "border", []trip.Role{trip.RoleBorder}},
	{"arrival_officer", "quarantine", []trip.Role{trip.RoleArrival}},
	{"health_monitor", "quarantine", []trip.Role{trip.RoleHealthMonitor}},
	{"health_authority", "health", []trip.Role{trip.RoleHealthAuthority}},
	{"joint_officer", "joint", []trip.Role{trip.RoleJoint}},
}

func (en *env) setupPeople() {
	t := en.t
	admin, err := en.app.CreateNodeAdmin(bg, "root@corridor.example", "Node Admin", password)
	must(t, err)
	ns, err := en.app.Login(bg, app.LoginInput{Email: admin.Email, Password: password, ClientIP: "127.0.0.1"})
	must(t, err)
	root, err := en.app.Authenticate(bg, ns.Secret)
	must(t, err)
	en.secret["node_admin"] = ns.Secret
	for _, o := range []struct {
		key  string
		kind auth.OrgKind
		name string
	}{
		{"sponsor", auth.KindSponsor, "Samsung Display"}, {"other_sponsor", auth.KindSponsor, "LG Chem"},
		{"authority", auth.KindAuthority, "Ministry of Foreign Affairs"}, {"lab", auth.KindLab, "Seoul Clinical Lab"},
		{"border", auth.KindBorderAgency, "Incheon Border Control"}, {"quarantine", auth.KindQuarantineSite, "Incheon Quarantine Station"},
		{"health", auth.KindHealthAuthority, "KDCA"}, {"joint", auth.KindJointMechanism, "Joint Prevention Mechanism"},
	} {
		org, err := en.app.CreateOrganisation(bg, root, app.OrgInput{Kind: o.kind, Name: o.name, Country: "KR"})
		must(t, err)
		en.orgs[o.key] = org
	}
	for _, m := range people {
		inv, err := en.app.Invite(bg, root, app.InviteInput{OrgID: en.orgs[m.org].ID, Email: m.name + "@corridor.example", Roles: m.roles})
		must(t, err)
		sess, err := en.app.AcceptInvitation(bg, app.AcceptInput{Token: inv.Token, Name: "Member " + m.name, Password: password, ClientIP: "127.0.0.1"})
		must(t, err)
		en.secret[m.name] = sess.Secret
	}
	tok, err := en.app.CreateAPIToken(bg, root, app.TokenInput{OrgID: en.orgs["lab"].ID, Name: "LIS", Roles: auth.NewRoles(trip.RoleLab)})
	must(t, err)
	en.token = tok.Secret
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// client is an HTTP client acting as one person: a cookie jar with their
// session, and the CSRF token for it.
type client struct {
	en    *env
	c     *http.Client
	csrf  string
	token string // bearer token, for the API
	lang  string
}

func (en *env) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{en: en, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// as returns a client signed in as a person of people (or "node_admin").
func (en *env) as(name string) *client {
	c := en.anonymous()
	if _, ok := en.secret[name]; !ok {
		en.t.Fatalf("no person %q", name)
	}
	// A fresh sign-in each time: sessions last hours of the test clock,
	// which moves days.
	email := name + "@corridor.example"
	if name == "node_admin" {
		email = "root@corridor.example"
	}
	ns, err := en.app.Login(bg, app.LoginInput{Email: email, Password: password, ClientIP: "192.0.2.1"})
	if err != nil {
		en.t.Fatalf("signing %s in: %v", name, err)
	}
	secret := ns.Secret
	u, _ := url.Parse(en.http.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieSession, Value: secret, Path: "/"}})
	c.csrf = en.srv.csrfToken(&reqState{binding: "s:" + secret})
	return c
}

// bearer returns an API client with the lab's token.
func (en *env) bearer() *client {
	c := en.anonymous()
	c.token = en.token
	return c
}

// do sends a request; body is a string (form or JSON) or nil.
func (c *client) do(method, path, contentType, body string) (*http.Response, string) {
	c.en.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.en.http.URL+path, rd)
	if err != nil {
		c.en.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" && strings.HasPrefix(path, "/api/") {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.en.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.en.t.Fatal(err)
	}
	return res, string(b)
}

func (c *client) get(path string) (*http.Response, string) { return c.do(http.MethodGet, path, "", "") }

// form posts a form with the client's CSRF token added.
func (c *client) form(path string, v url.Values) (*http.Response, string) {
	if v == nil {
		v = url.Values{}
	}
	if c.csrf != "" && v.Get("csrf") == "" {
		v.Set("csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", v.Encode())
}

// api sends JSON and decodes the answer into out (when not nil).
func (c *client) api(method, path string, in, out any) (int, string) {
	c.en.t.Helper()
	body := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			c.en.t.Fatal(err)
		}
		body = string(b)
	}
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	res, text := c.do(method, path, ct, body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal([]byte(text), out); err != nil {
			c.en.t.Fatalf("%s %s: decoding %q: %v", method, path, text, err)
		}
	}
	return res.StatusCode, text
}

// validTrip is a complete application departing on dep (YYYY-MM-DD).
func validTrip(dep, ret string) TripInputJSON {
	return TripInputJSON{Lane: "CN-KR", Region: "KR", Purpose: "engineering",
		Traveller: TravellerJSON{GivenName: "Wei", FamilyName: "Zhang", DateOfBirth: "1985-03-14", Sex: "M", Nationality: "CN",
			PassportCountry: "CN", PassportNumber: "E12345678", Email: "zhang.wei@example.cn", Phone: "+86 10 1234 5678"},
		Host:          ContactJSON{Name: "Kim Min-jun", Email: "minjun.kim@example.kr", Phone: "+82 2 555 0100"},
		DepartureDate: dep, ReturnDate: ret,
		Itinerary: []ItineraryJSON{
			{Kind: "transport", Site: "Incheon Airport to Cheonan by company car", FromDate: dep, ToDate: dep},
			{Kind: "lodging", Site: "Shilla Stay Cheonan", Address: "Seobuk-gu, Cheonan", FromDate: dep, ToDate: ret},
			{Kind: "work_site", Site: "Samsung Display Asan Campus", Address: "Tangjeong-myeon, Asan", FromDate: dep, ToDate: ret},
		}}
}

// newTrip files and submits a trip as the sponsor, returning its id.
func (en *env) newTrip(dep, ret string) string {
	en.t.Helper()
	var st TripStateJSON
	if code, body := en.as("sponsor").api(http.MethodPost, "/api/v1/trips", validTrip(dep, ret), &st); code != http.StatusCreated {
		en.t.Fatalf("creating a trip: %d %s", code, body)
	}
	if code, body := en.as("sponsor").api(http.MethodPost, "/api/v1/trips/"+st.ID+"/submit", nil, nil); code != http.StatusOK {
		en.t.Fatalf("submitting: %d %s", code, body)
	}
	return st.ID
}

var csrfInputRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
