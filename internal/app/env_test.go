package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

var bg = context.Background()

// start is the test clock's first reading: a Friday in May 2020.
var start = time.Date(2020, 5, 1, 9, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// loadPolicy reads the sample policy with edits applied as text
// replacements (old, new, old, new, ...), each of which must apply.
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

// fastPolicy needs no monitoring days and no hold hours, so a trip walks
// its whole life without moving the clock.
func fastPolicy(t testing.TB) *policy.Policy {
	return loadPolicy(t, `"pre_departure_monitoring_days": 14`, `"pre_departure_monitoring_days": 0`,
		`"arrival_hold_hours": 48`, `"arrival_hold_hours": 0`, `"weekly_per_sponsor": 20`, `"weekly_per_sponsor": 1000`)
}

// env is a node with one organisation of each kind and a signed-in
// principal for each role.
type env struct {
	t      testing.TB
	engine sqltest.Engine
	db     *sqlstore.DB
	app    *App
	clock  *clock
	keys   map[string]*ecdsa.PrivateKey // "authority", "lab"

	orgs map[string]*Org
	// p holds a principal per name: the trip roles, "lab_token",
	// "org_admin" (admin of the sponsor organisation), "node_admin",
	// "other_sponsor".
	p map[string]Principal
}

func newEnv(t testing.TB, e sqltest.Engine, pol *policy.Policy) *env {
	t.Helper()
	db := e.Open(t)
	en := &env{t: t, engine: e, db: db, clock: &clock{now: start}, keys: map[string]*ecdsa.PrivateKey{},
		orgs: map[string]*Org{}, p: map[string]Principal{}}
	for _, k := range []string{"authority", "lab"} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		en.keys[k] = key
	}
	en.app = en.newApp(db, pol)
	en.setupPeople()
	return en
}

func (en *env) issuer() *SigningIssuer {
	return &SigningIssuer{
		Country:   "KR",
		Authority: Signer{Kid: []byte("authkid1"), Key: en.keys["authority"]},
		Lab: func(string) (Signer, error) {
			return Signer{Kid: []byte("lab-kid1"), Key: en.keys["lab"]}, nil
		},
	}
}

func (en *env) newApp(s store.Store, pol *policy.Policy) *App {
	a, err := New(Config{Store: s, Policy: pol, Country: "KR", AuthorityName: "Ministry of Foreign Affairs, Republic of Korea",
		Issuer: en.issuer(), RateLimitKey: []byte("0123456789abcdef0123456789abcdef"), PasswordParams: auth.TestParams,
		Now: en.clock.Now})
	if err != nil {
		en.t.Fatal(err)
	}
	return a
}

const password = "correct horse battery"

// setupPeople builds the organisations and members through the use cases
// themselves: a node admin, organisations, invitations accepted, sessions
// authenticated.
func (en *env) setupPeople() {
	t := en.t
	admin, err := en.app.CreateNodeAdmin(bg, "root@corridor.example", "Node Admin", password)
	must(t, err)
	ns, err := en.app.Login(bg, LoginInput{Email: admin.Email, Password: password, ClientIP: "127.0.0.1"})
	must(t, err)
	root, err := en.app.Authenticate(bg, ns.Secret)
	must(t, err)
	if !root.NodeAdmin {
		t.Fatal("the node admin is not one")
	}
	en.p["node_admin"] = root

	orgs := []struct {
		key  string
		kind auth.OrgKind
		name string
	}{
		{"sponsor", auth.KindSponsor, "Samsung Display"},
		{"other_sponsor", auth.KindSponsor, "LG Chem"},
		{"authority", auth.KindAuthority, "MOFA"},
		{"lab", auth.KindLab, "Seoul Clinical Lab"},
		{"border", auth.KindBorderAgency, "Incheon Border"},
		{"quarantine", auth.KindQuarantineSite, "Incheon Quarantine"},
		{"health", auth.KindHealthAuthority, "KDCA"},
		{"joint", auth.KindJointMechanism, "Joint Mechanism"},
	}
	for _, o := range orgs {
		org, err := en.app.CreateOrganisation(bg, root, OrgInput{Kind: o.kind, Name: o.name, Country: "KR"})
		must(t, err)
		en.orgs[o.key] = org
	}
	members := []struct {
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
	for _, m := range members {
		inv, err := en.app.Invite(bg, root, InviteInput{OrgID: en.orgs[m.org].ID, Email: m.name + "@corridor.example", Roles: m.roles})
		must(t, err)
		sess, err := en.app.AcceptInvitation(bg, AcceptInput{Token: inv.Token, Name: "Member " + m.name, Password: password, ClientIP: "127.0.0.1"})
		must(t, err)
		p, err := en.app.Authenticate(bg, sess.Secret)
		must(t, err)
		if p.OrgID != en.orgs[m.org].ID || !p.Roles.Covers(auth.NewRoles(m.roles...)) {
			t.Fatalf("%s: principal %+v", m.name, p)
		}
		en.p[m.name] = p
	}
	tok, err := en.app.CreateAPIToken(bg, root, TokenInput{OrgID: en.orgs["lab"].ID, Name: "LIS", Roles: auth.NewRoles(trip.RoleLab)})
	must(t, err)
	p, err := en.app.AuthenticateToken(bg, tok.Secret)
	must(t, err)
	en.p["lab_token"] = p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, code Code) {
	t.Helper()
	if got := ErrorCode(err); err == nil || got != code {
		t.Fatalf("got %v (code %q), want code %q", err, got, code)
	}
}

// day formats the clock's day plus n days.
func (en *env) day(n int) string { return en.clock.Now().AddDate(0, 0, n).Format(time.DateOnly) }

// input is a complete application departing in depDays days for 10 days.
func (en *env) input(depDays int) TripInput {
	dep, ret := en.day(depDays), en.day(depDays+10)
	return TripInput{
		Lane: "CN-KR", Region: "KR", Purpose: "engineering",
		Traveller: Traveller{GivenName: "Wei", FamilyName: "Zhang", DateOfBirth: "1985-03-02", Sex: "M",
			Nationality: "CN", PassportCountry: "CN", PassportNumber: "E 1234 5678", Email: "wei.zhang@example.cn"},
		Host:          Contact{Name: "Kim Min-jun", Phone: "+82 2 555 0100"},
		DepartureDate: dep, ReturnDate: ret,
		Itinerary: []ItineraryItem{
			{Kind: "lodging", Site: "Designated hotel", Address: "1 Gate Road, Asan", FromDate: dep, ToDate: ret},
			{Kind: "work_site", Site: "Asan plant", FromDate: en.day(depDays + 1), ToDate: en.day(depDays + 9)},
			{Kind: "transport", Site: "Company shuttle", FromDate: dep, ToDate: ret},
		},
	}
}

// submitted files and submits an application for the sponsor.
func (en *env) submitted(sponsor string, depDays int) *Trip {
	en.t.Helper()
	tr, err := en.app.CreateTrip(bg, en.p[sponsor], en.input(depDays))
	must(en.t, err)
	tr, err = en.app.SubmitTrip(bg, en.p[sponsor], tr.ID)
	must(en.t, err)
	return tr
}

// negativeTest records a negative NAAT for the trip sampled an hour ago.
func (en *env) negativeTest(tr *Trip, by string) *TestRecorded {
	en.t.Helper()
	rec, err := en.app.RecordTest(bg, en.p[by], TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "NAAT",
		TestName: "RT-PCR", SampledAt: en.clock.Now().Add(-time.Hour), Result: store.ResultNegative, Facility: "Seoul Clinical Lab"})
	must(en.t, err)
	return rec
}

// walk takes a fresh trip to state s under the fast policy, through the
// use cases and the roles that take each step.
func (en *env) walk(s trip.State) *Trip {
	en.t.Helper()
	t := en.t
	ap := en.app
	p := en.p
	if s == trip.Draft {
		tr, err := ap.CreateTrip(bg, p["sponsor"], en.input(1))
		must(t, err)
		return tr
	}
	tr := en.submitted("sponsor", 1)
	step := func(next *Trip, err error) {
		t.Helper()
		must(t, err)
		tr = next
	}
	switch s {
	case trip.Submitted:
		return tr
	case trip.NeedsInfo:
		step(ap.RequestInfo(bg, p["reviewer"], tr.ID, "Which plant?"))
		return tr
	case trip.Suspended:
		step(ap.SuspendTrip(bg, p["joint_officer"], tr.ID, "route under review"))
		return tr
	}
	step(ap.ApproveTrip(bg, p["reviewer"], tr.ID, ""))
	if s == trip.Approved {
		return tr
	}
	if s == trip.PreDeparture {
		step(ap.StartPreDepartureMonitoring(bg, p["health_authority"], tr.ID))
		return tr
	}
	tr = en.negativeTest(tr, "lab").Trip // clears: no monitoring days under the fast policy
	if tr.State != trip.Cleared {
		t.Fatalf("a negative test left the trip %s", tr.State)
	}
	if s == trip.Cleared {
		return tr
	}
	step(ap.Depart(bg, p["border_officer"], tr.ID, DepartureInput{Flight: "OZ361", Seat: "32A"}))
	if s == trip.Departed {
		return tr
	}
	en.clock.Add(2 * time.Hour) // the flight; the arrival test is sampled after departure
	step(ap.Arrive(bg, p["arrival_officer"], tr.ID))
	if s == trip.Arrived {
		return tr
	}
	step(ap.HoldForArrivalTest(bg, p["arrival_officer"], tr.ID))
	if s == trip.ArrivalHold {
		return tr
	}
	tr = en.negativeTest(tr, "lab").Trip // hold of 0 h: released at once, monitoring starts
	if tr.State != trip.Monitoring {
		t.Fatalf("a negative arrival test left the trip %s", tr.State)
	}
	if s == trip.Monitoring {
		return tr
	}
	step(ap.Isolate(bg, p["health_monitor"], tr.ID, "symptoms on day 2"))
	if s == trip.Isolated {
		return tr
	}
	t.Fatalf("walk: no way to %s", s)
	return nil
}

// snapshot is what a refused use case must leave untouched.
type snapshot struct {
	version     int64
	state       trip.State
	transitions int
	audit       int64
}

func (en *env) snap(tripID string) snapshot {
	en.t.Helper()
	var s snapshot
	if tripID != "" {
		tr, err := en.db.GetTrip(bg, tripID)
		must(en.t, err)
		trs, err := en.db.ListTransitions(bg, tripID)
		must(en.t, err)
		s.version, s.state, s.transitions = tr.Version, tr.State, len(trs)
	}
	h, err := en.db.AuditHead(bg)
	must(en.t, err)
	s.audit = h.Seq
	return s
}

func (en *env) unchanged(before snapshot, tripID string) {
	en.t.Helper()
	if after := en.snap(tripID); after != before {
		en.t.Fatalf("a refused use case wrote: before %+v, after %+v", before, after)
	}
}

func isRefusal(err error) bool { return errors.Is(err, trip.ErrRefused) }

func asError(err error, target **Error) bool { return errors.As(err, target) }
