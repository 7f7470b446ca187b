package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/trip"
)

// quickPolicy lets a trip run its life with few clock moves: no
// monitoring days before departure, a one-hour arrival hold.
func quickPolicy(t testing.TB) *policy.Policy {
	return loadPolicy(t, `"pre_departure_monitoring_days": 14`, `"pre_departure_monitoring_days": 0`,
		`"arrival_hold_hours": 48`, `"arrival_hold_hours": 1`, `"weekly_per_sponsor": 20`, `"weekly_per_sponsor": 100000`,
		`"KR": 500`, `"KR": 100000`)
}

// p signs a person in through the application and returns the principal.
func (en *env) p(name string) app.Principal {
	en.t.Helper()
	email := name + "@corridor.example"
	if name == "node_admin" {
		email = "root@corridor.example"
	}
	ns, err := en.app.Login(bg, app.LoginInput{Email: email, Password: password, ClientIP: "192.0.2.1"})
	must(en.t, err)
	p, err := en.app.Authenticate(bg, ns.Secret)
	must(en.t, err)
	return p
}

// fixture is what one permission case needs: a trip in a given state and
// the ids the route's path names.
type fixture struct {
	tripID, ref string
	version     int64
	link        string // the traveller's personal link secret
	alertID     string
	userID      string // a member of the sponsor organisation, to change or remove
	tokenID     string // an API token of the sponsor organisation
	deadID      string // a dead letter from China whose cause is fixed
}

const passport = "E12345678"

// tripIn builds a trip in state s through the use cases.
func (en *env) tripIn(s trip.State) *fixture {
	t := en.t
	t.Helper()
	now := en.clock.Now()
	dep := now.AddDate(0, 0, 2).Format(time.DateOnly)
	ret := now.AddDate(0, 0, 9).Format(time.DateOnly)
	in := validTrip(dep, ret)
	tr, err := en.app.CreateTrip(bg, en.p("sponsor"), in.toApp())
	must(t, err)
	f := &fixture{tripID: tr.ID, ref: tr.Reference}
	step := func(want trip.State, do func() (*app.Trip, error)) bool {
		if s == tr.State {
			return false
		}
		next, err := do()
		if err != nil {
			t.Fatalf("building a %s trip, on the way to %s: %v", s, want, err)
		}
		tr = next
		return true
	}
	lab := func(sampled time.Time) func() (*app.Trip, error) {
		return func() (*app.Trip, error) {
			res, err := en.app.RecordTest(bg, en.p("lab"), app.TestInput{Reference: f.ref, PassportNumber: passport, TestType: "NAAT",
				TestName: "PCR", SampledAt: sampled, Result: "negative", Facility: "Lab"})
			if err != nil {
				return nil, err
			}
			return res.Trip, nil
		}
	}
	switch s {
	case trip.Draft:
	case trip.Suspended:
		step(trip.Submitted, func() (*app.Trip, error) { return en.app.SubmitTrip(bg, en.p("sponsor"), f.tripID) })
		step(trip.Suspended, func() (*app.Trip, error) {
			return en.app.SuspendTrip(bg, en.p("joint_officer"), f.tripID, "circuit breaker")
		})
	case trip.NeedsInfo:
		step(trip.Submitted, func() (*app.Trip, error) { return en.app.SubmitTrip(bg, en.p("sponsor"), f.tripID) })
		step(trip.NeedsInfo, func() (*app.Trip, error) {
			return en.app.RequestInfo(bg, en.p("reviewer"), f.tripID, "Which site hosts the work?")
		})
	default:
		order := []trip.State{trip.Submitted, trip.Approved, trip.Cleared, trip.Departed, trip.Arrived, trip.ArrivalHold, trip.Isolated}
		do := map[trip.State]func() (*app.Trip, error){
			trip.Submitted: func() (*app.Trip, error) { return en.app.SubmitTrip(bg, en.p("sponsor"), f.tripID) },
			trip.Approved:  func() (*app.Trip, error) { return en.app.ApproveTrip(bg, en.p("reviewer"), f.tripID, "") },
			trip.Cleared:   lab(now.Add(-time.Hour)),
			trip.Departed: func() (*app.Trip, error) {
				en.clock.Add(48 * time.Hour) // departure day
				return en.app.Depart(bg, en.p("border_officer"), f.tripID, app.DepartureInput{Flight: "OZ324", Seat: "32A"})
			},
			trip.Arrived:     func() (*app.Trip, error) { return en.app.Arrive(bg, en.p("arrival_officer"), f.tripID) },
			trip.ArrivalHold: func() (*app.Trip, error) { return en.app.HoldForArrivalTest(bg, en.p("arrival_officer"), f.tripID) },
			trip.Isolated: func() (*app.Trip, error) {
				return en.app.Isolate(bg, en.p("arrival_officer"), f.tripID, "fever on arrival")
			},
		}
		for _, st := range order {
			if st == trip.Isolated && s != trip.Isolated {
				break
			}
			if st == trip.ArrivalHold && s == trip.Isolated {
				continue
			}
			step(st, do[st])
			if tr.State == s {
				break
			}
		}
		if s == trip.ArrivalHold {
			// A negative arrival test, and the hold hour passed: release
			// is due.
			if _, err := lab(en.clock.Now())(); err != nil {
				t.Fatal(err)
			}
			en.clock.Add(2 * time.Hour)
		}
	}
	if tr.State != s {
		t.Fatalf("built a %s trip, wanted %s", tr.State, s)
	}
	f.version = tr.Version
	if !s.Final() {
		link, err := en.app.IssueTravellerLink(bg, en.p("sponsor"), f.tripID)
		must(t, err)
		f.link = link
		d, err := en.app.GetTrip(bg, en.p("reviewer"), f.tripID)
		must(t, err)
		f.version = d.Version
	}
	return f
}

// withAlert builds a trip in pre-departure monitoring with an alert for a
// missed day.
func (en *env) withAlert() *fixture {
	f := en.tripIn(trip.Approved)
	_, err := en.app.StartPreDepartureMonitoring(bg, en.p("health_authority"), f.tripID)
	must(en.t, err)
	en.clock.Add(49 * time.Hour)
	rep, err := en.app.RaiseAlerts(bg, en.clock.Now())
	must(en.t, err)
	if rep.Done == 0 {
		en.t.Fatal("no alert raised")
	}
	list, err := en.app.ListAlerts(bg, en.p("health_monitor"), app.AlertQuery{TripID: f.tripID, OpenOnly: true})
	must(en.t, err)
	if len(list) == 0 {
		en.t.Fatal("the alert is not listed")
	}
	f.alertID = list[0].ID
	return f
}

// withMember adds a member with the sponsor role to the sponsor
// organisation, and an API token of it.
func (en *env) withMember() *fixture {
	t := en.t
	root := en.p("node_admin")
	f := &fixture{}
	inv, err := en.app.Invite(bg, root, app.InviteInput{OrgID: en.orgs["sponsor"].ID, Email: auth.NewID() + "@corridor.example",
		Roles: auth.NewRoles(trip.RoleSponsor)})
	must(t, err)
	ns, err := en.app.AcceptInvitation(bg, app.AcceptInput{Token: inv.Token, Name: "Temporary Member", Password: password, ClientIP: "192.0.2.9"})
	must(t, err)
	f.userID = ns.UserID
	tok, err := en.app.CreateAPIToken(bg, root, app.TokenInput{OrgID: en.orgs["sponsor"].ID, Name: "ERP", Roles: auth.NewRoles(trip.RoleSponsor)})
	must(t, err)
	f.tokenID = tok.Token.ID
	return f
}

// traveller returns a client signed in through a trip's personal link.
func (en *env) traveller(f *fixture) *client {
	c := en.anonymous()
	if f == nil || f.link == "" {
		f = en.tripIn(trip.Approved)
	}
	ts, err := en.app.OpenTravellerLink(bg, app.TravellerLogin{Token: f.link, PassportNumber: passport, ClientIP: "192.0.2.7"})
	must(en.t, err)
	u, _ := url.Parse(en.http.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieTraveller, Value: ts.Secret, Path: "/"}})
	c.csrf = en.srv.csrfToken(&reqState{binding: "t:" + ts.Secret})
	return c
}

// withAnon gives a client without a session the anonymous cookie that
// login forms are bound to, as a browser has after loading the form.
func (c *client) withAnon() *client {
	v := (auth.NewID() + auth.NewID())[:43]
	u, _ := url.Parse(c.en.http.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieAnon, Value: v, Path: "/"}})
	c.csrf = c.en.srv.csrfToken(&reqState{binding: "a:" + v})
	return c
}
