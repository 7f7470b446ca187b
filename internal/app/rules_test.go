package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// TestSponsorsSeeOnlyTheirOwn: another sponsor's trip does not exist for
// a sponsor, in lists or by id, whatever the use case.
func TestSponsorsSeeOnlyTheirOwn(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	mine := en.walk(trip.Draft)
	theirs := en.submitted("other_sponsor", 2)
	other := en.p["other_sponsor"]
	for name, call := range map[string]func() error{
		"view":     func() error { _, err := en.app.GetTrip(bg, other, mine.ID); return err },
		"by ref":   func() error { _, err := en.app.GetTripByReference(bg, other, mine.Reference); return err },
		"edit":     func() error { return drop(en.app.UpdateTrip(bg, other, mine.ID, mine.Version, en.input(2))) },
		"submit":   func() error { return drop(en.app.SubmitTrip(bg, other, mine.ID)) },
		"withdraw": func() error { return drop(en.app.WithdrawTrip(bg, other, mine.ID, "")) },
		"link":     func() error { _, err := en.app.IssueTravellerLink(bg, other, mine.ID); return err },
	} {
		before := en.snap(mine.ID)
		if err := call(); ErrorCode(err) != CodeNotFound {
			t.Errorf("%s of another sponsor's trip: got %v, want not_found", name, err)
		}
		en.unchanged(before, mine.ID)
	}
	list, err := en.app.ListTrips(bg, other, TripQuery{SponsorOrgID: en.orgs["sponsor"].ID})
	must(t, err)
	if list.Total != 1 || list.Trips[0].ID != theirs.ID {
		t.Fatalf("other sponsor lists %+v", list)
	}
	// A reviewer sees both.
	list, err = en.app.ListTrips(bg, en.p["reviewer"], TripQuery{})
	must(t, err)
	if list.Total != 2 {
		t.Fatalf("reviewer lists %d trips", list.Total)
	}
	// The traveller of one trip does not reach another.
	if _, err := en.app.RecordDeclaration(bg, Principal{Kind: KindTraveller, ID: theirs.ID}, mine.ID, DeclarationInput{TemperatureC: 36.5}); ErrorCode(err) != CodeNotFound {
		t.Fatalf("a traveller declared on another trip: %v", err)
	}
}

func TestPositiveTests(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	positive := func(tr *Trip) *TestRecorded {
		t.Helper()
		rec, err := en.app.RecordTest(bg, en.p["lab"], TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "RAT",
			TestName: "1232", SampledAt: en.clock.Now().Add(-30 * time.Minute), Result: store.ResultPositive})
		must(t, err)
		return rec
	}
	for _, tc := range []struct {
		from  trip.State
		to    trip.State
		stage store.Stage
	}{
		{trip.PreDeparture, trip.Isolated, store.StagePreDeparture},
		{trip.Cleared, trip.Isolated, store.StagePreDeparture},
		{trip.ArrivalHold, trip.Isolated, store.StageArrival},
		{trip.Monitoring, trip.Isolated, store.StageFollowUp},
		// A positive at any stage isolates: approved but not yet
		// monitoring, and in the air (isolated on landing).
		{trip.Approved, trip.Isolated, store.StagePreDeparture},
		{trip.Departed, trip.Isolated, store.StageArrival},
	} {
		tr := en.walk(tc.from)
		rec := positive(tr)
		if !rec.CaseOpened || rec.Trip.State != tc.to {
			t.Errorf("positive while %s: case %v, state %s; want a case and %s", tc.from, rec.CaseOpened, rec.Trip.State, tc.to)
			continue
		}
		cases, err := en.db.ListCases(bg, tr.ID)
		must(t, err)
		if len(cases) != 1 || cases[0].Stage != tc.stage || cases[0].TestID != rec.Test.ID {
			t.Errorf("positive while %s: cases %+v", tc.from, cases)
		}
		checkTestCertRAT(t, en, rec)
		// A second positive adds no second case.
		if rec2 := positive(tr); rec2.CaseOpened {
			t.Errorf("positive while %s: a second case opened", tc.from)
		}
	}
	// An approved trip with an open case is never cleared by a negative.
	tr := en.walk(trip.Approved)
	positive(tr)
	en.clock.Add(time.Hour)
	rec := en.negativeTest(tr, "lab")
	if rec.Trip.State == trip.Cleared {
		t.Fatal("a trip with an open case was cleared")
	}
}

func checkTestCertRAT(t *testing.T, en *env, rec *TestRecorded) {
	t.Helper()
	if rec.Test.TestType != "LP217198-3" || rec.Test.Result != store.ResultPositive || !strings.HasPrefix(rec.Test.HC1, "HC1:") {
		t.Fatalf("test %+v", rec.Test)
	}
}

func TestQuotaPerSponsorAndPolicy(t *testing.T) {
	pol := loadPolicy(t, `"pre_departure_monitoring_days": 14`, `"pre_departure_monitoring_days": 0`, `"weekly_per_sponsor": 20`, `"weekly_per_sponsor": 2`)
	en := newEnv(t, sqltest.SQLite(), pol)
	approve := func(sponsor string) error {
		return drop(en.app.ApproveTrip(bg, en.p["reviewer"], en.submitted(sponsor, 2).ID, ""))
	}
	must(t, approve("sponsor"))
	must(t, approve("sponsor"))
	wantCode(t, approve("sponsor"), CodeQuotaExhausted)
	must(t, approve("other_sponsor"))
	// The week of departure counts: a week later there is room again.
	must(t, drop(en.app.ApproveTrip(bg, en.p["reviewer"], en.submitted("sponsor", 9).ID, "")))

	// A suspended lane approves nothing until lifted.
	tr := en.submitted("other_sponsor", 2)
	_, err := en.app.SuspendLane(bg, en.p["joint_officer"], "CN-KR", en.clock.Now().Add(7*24*time.Hour), "5 positives on arrival in 7 days")
	must(t, err)
	before := en.snap(tr.ID)
	_, err = en.app.ApproveTrip(bg, en.p["reviewer"], tr.ID, "")
	wantCode(t, err, CodeConflict)
	en.unchanged(before, tr.ID)
	must(t, drop2(en.app.LiftLaneSuspension(bg, en.p["joint_officer"], "CN-KR")))

	// A purpose the policy no longer lists is refused at approval.
	narrowed := loadPolicy(t, `"engineering",`, ``, `"pre_departure_monitoring_days": 14`, `"pre_departure_monitoring_days": 0`)
	must(t, en.app.SetPolicy(narrowed))
	_, err = en.app.ApproveTrip(bg, en.p["reviewer"], tr.ID, "")
	wantCode(t, err, CodeConflict)
	must(t, en.app.SetPolicy(pol))
	must(t, drop(en.app.ApproveTrip(bg, en.p["reviewer"], tr.ID, "")))
}

func TestExpiryAndDepartureWindow(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	stale := en.walk(trip.Approved)
	cleared := en.walk(trip.Cleared)
	// Four days on, the test that cleared the trip is older than 72 h.
	en.clock.Add(4 * 24 * time.Hour)
	before := en.snap(cleared.ID)
	_, err := en.app.Depart(bg, en.p["border_officer"], cleared.ID, DepartureInput{Flight: "OZ361", Seat: "2C"})
	wantCode(t, err, CodeConflict)
	en.unchanged(before, cleared.ID)
	en.negativeTest(cleared, "lab")
	must(t, drop(en.app.Depart(bg, en.p["border_officer"], cleared.ID, DepartureInput{Flight: "OZ361", Seat: "2C"})))

	rep, err := en.app.ExpireStaleApprovals(bg, en.clock.Now())
	must(t, err)
	if rep.Done != 0 {
		t.Fatalf("expired %d approvals still valid", rep.Done)
	}
	rep, err = en.app.ExpireStaleApprovals(bg, stale.ApprovalValidUntil)
	must(t, err)
	got, _ := en.db.GetTrip(bg, stale.ID)
	if rep.Done != 1 || got.State != trip.Expired || got.FinishedAt.IsZero() {
		t.Fatalf("expiry: %+v, trip %s", rep, got.State)
	}
}

func TestRecordTestChecks(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	draft := en.walk(trip.Draft)
	tr := en.walk(trip.Approved)
	in := TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "NAAT", SampledAt: en.clock.Now(), Result: store.ResultNegative}
	wrongPassport := in
	wrongPassport.PassportNumber = "E99999999"
	_, err := en.app.RecordTest(bg, en.p["lab"], wrongPassport)
	wantCode(t, err, CodeNotFound)
	atDraft := in
	atDraft.Reference = draft.Reference
	_, err = en.app.RecordTest(bg, en.p["lab"], atDraft)
	wantCode(t, err, CodeConflict)
	bad := TestInput{Reference: tr.Reference, PassportNumber: "x", TestType: "PCR", SampledAt: en.clock.Now().Add(time.Hour), Result: "maybe"}
	_, err = en.app.RecordTest(bg, en.p["lab"], bad)
	wantFields(t, err, "passport_number", "test_type", "sampled_at", "result")
	rat := in
	rat.TestType = "RAT"
	_, err = en.app.RecordTest(bg, en.p["lab"], rat)
	wantFields(t, err, "test_name") // the RAT device is required
}

func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalid {
		t.Fatalf("got %v, want invalid", err)
	}
	for _, f := range fields {
		if e.Fields[f] == "" {
			t.Errorf("no message for field %s in %v", f, e.Fields)
		}
	}
}

func TestValidation(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	p := en.p["sponsor"]
	in := en.input(5)
	in.Traveller.Email = "not an address"
	in.Traveller.PassportNumber = "E-1"
	in.Traveller.DateOfBirth = "1985-02-30"
	in.Lane = "KR-CN"                  // leads to China, not this node's country
	in.Itinerary[0].ToDate = en.day(9) // a gap in the lodging before return
	in.Itinerary = append(in.Itinerary, ItineraryItem{Kind: "camping", Site: "x", FromDate: en.day(5), ToDate: en.day(6)})
	_, err := en.app.CreateTrip(bg, p, in)
	wantFields(t, err, "traveller.email", "traveller.passport_number", "traveller.date_of_birth", "lane", "itinerary[3].kind")

	// Names in Hangul cannot be transliterated: the machine-readable zone
	// names are then required to submit.
	in = en.input(5)
	in.Traveller.FamilyName, in.Traveller.GivenName = "김", "민준"
	tr, err := en.app.CreateTrip(bg, p, in)
	must(t, err)
	_, err = en.app.SubmitTrip(bg, p, tr.ID)
	wantFields(t, err, "traveller.family_name_icao", "traveller.given_name_icao")
	in.Traveller.FamilyNameICAO, in.Traveller.GivenNameICAO = "KIM", "MINJUN"
	tr, err = en.app.UpdateTrip(bg, p, tr.ID, tr.Version, in)
	must(t, err)
	must(t, drop(en.app.SubmitTrip(bg, p, tr.ID)))

	// The lodging must cover every night.
	in = en.input(5)
	in.Itinerary[0].ToDate = en.day(9)
	tr, err = en.app.CreateTrip(bg, p, in)
	must(t, err)
	_, err = en.app.SubmitTrip(bg, p, tr.ID)
	wantFields(t, err, "itinerary")

	// Oversized input is refused by field, not stored.
	in = en.input(5)
	in.Traveller.FamilyName = strings.Repeat("A", 81)
	_, err = en.app.CreateTrip(bg, p, in)
	wantFields(t, err, "traveller.family_name")
	_, err = en.app.RequestInfo(bg, en.p["reviewer"], tr.ID, strings.Repeat("x", 2001))
	wantFields(t, err, "reason")
	_, err = en.app.RejectTrip(bg, en.p["reviewer"], tr.ID, "  ")
	wantFields(t, err, "reason")
}

func TestPeople(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	ap, p := en.app, en.p
	sponsorOrg := en.orgs["sponsor"].ID

	// No one grants what they lack; no kind holds a role not its own.
	_, err := ap.Invite(bg, p["org_admin"], InviteInput{OrgID: sponsorOrg, Email: "a@example.org", Roles: auth.NewRoles(trip.RoleSponsor)})
	wantCode(t, err, CodeForbidden)
	_, err = ap.Invite(bg, p["org_admin"], InviteInput{OrgID: en.orgs["lab"].ID, Email: "a@example.org", Roles: auth.NewRoles(auth.RoleAdmin)})
	wantCode(t, err, CodeForbidden) // another organisation
	_, err = ap.Invite(bg, p["node_admin"], InviteInput{OrgID: en.orgs["lab"].ID, Email: "a@example.org", Roles: auth.NewRoles(trip.RoleReviewer)})
	wantFields(t, err, "roles")
	_, err = ap.CreateAPIToken(bg, p["node_admin"], TokenInput{OrgID: en.orgs["lab"].ID, Name: "x", Roles: auth.NewRoles(auth.RoleAdmin)})
	wantFields(t, err, "roles")
	_, err = ap.CreateAPIToken(bg, p["org_admin"], TokenInput{OrgID: sponsorOrg, Name: "x", Roles: auth.NewRoles(trip.RoleSponsor)})
	wantCode(t, err, CodeForbidden)

	// An invitation works once, before it expires; an existing account
	// joins with its own password.
	inv, err := ap.Invite(bg, p["node_admin"], InviteInput{OrgID: en.orgs["lab"].ID, Email: "Sponsor@Corridor.example", Roles: auth.NewRoles(trip.RoleLab)})
	must(t, err)
	_, err = ap.AcceptInvitation(bg, AcceptInput{Token: inv.Token, Password: "wrong password!"})
	wantCode(t, err, CodeUnauthenticated)
	sess, err := ap.AcceptInvitation(bg, AcceptInput{Token: inv.Token, Password: password})
	must(t, err)
	_, err = ap.AcceptInvitation(bg, AcceptInput{Token: inv.Token, Password: password})
	wantCode(t, err, CodeConflict)
	ms, err := ap.Memberships(bg, p["sponsor"])
	must(t, err)
	if len(ms) != 2 {
		t.Fatalf("memberships %+v", ms)
	}
	pr, err := ap.SwitchOrganisation(bg, sess.Secret, en.orgs["lab"].ID)
	must(t, err)
	if !pr.Has(trip.RoleLab) || pr.Has(trip.RoleSponsor) {
		t.Fatalf("after switching: %+v", pr)
	}
	late, err := ap.Invite(bg, p["node_admin"], InviteInput{OrgID: sponsorOrg, Email: "late@example.org", Roles: auth.NewRoles(trip.RoleSponsor)})
	must(t, err)
	en.clock.Add(8 * 24 * time.Hour)
	_, err = ap.AcceptInvitation(bg, AcceptInput{Token: late.Token, Name: "Late", Password: password})
	wantCode(t, err, CodeConflict)
	en.clock.Add(-8 * 24 * time.Hour)

	// Login: a fresh session each time, the old one ended; five failures
	// lock the (account, address) pair out, even for the right password,
	// while another address still gets in.
	s1, err := ap.Login(bg, LoginInput{Email: "sponsor@corridor.example", Password: password, ClientIP: "192.0.2.1"})
	must(t, err)
	s2, err := ap.Login(bg, LoginInput{Email: "sponsor@corridor.example", Password: password, ClientIP: "192.0.2.1", PreviousSession: s1.Secret})
	must(t, err)
	if _, err := ap.Authenticate(bg, s1.Secret); ErrorCode(err) != CodeUnauthenticated {
		t.Fatalf("the session before login survived: %v", err)
	}
	if _, err := ap.Authenticate(bg, s2.Secret); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rateLimitMax; i++ {
		_, err := ap.Login(bg, LoginInput{Email: "sponsor@corridor.example", Password: "nope nope nope", ClientIP: "192.0.2.1"})
		wantCode(t, err, CodeUnauthenticated)
	}
	_, err = ap.Login(bg, LoginInput{Email: "sponsor@corridor.example", Password: password, ClientIP: "192.0.2.1"})
	wantCode(t, err, CodeRateLimited)
	must(t, drop2(ap.Login(bg, LoginInput{Email: "sponsor@corridor.example", Password: password, ClientIP: "192.0.2.2"})))
	_, err = ap.Login(bg, LoginInput{Email: "nobody@corridor.example", Password: password, ClientIP: "192.0.2.2"})
	wantCode(t, err, CodeUnauthenticated)
	en.clock.Add(rateLimitWindow + time.Minute)
	must(t, drop2(ap.Login(bg, LoginInput{Email: "sponsor@corridor.example", Password: password, ClientIP: "192.0.2.1"})))
	// Sessions expire.
	en.clock.Add(13 * time.Hour)
	if _, err := ap.Authenticate(bg, s2.Secret); ErrorCode(err) != CodeUnauthenticated {
		t.Fatalf("an expired session authenticated: %v", err)
	}
	en.clock.Add(-13*time.Hour - rateLimitWindow - time.Minute)

	// The rate-limit table holds no e-mail address or IP address.
	for _, k := range []string{"sponsor@corridor.example", "192.0.2.1"} {
		if n, _ := en.db.RateLimitCount(bg, k, en.clock.Now(), time.Hour); n != 0 {
			t.Fatalf("a raw %q is a rate-limit key", k)
		}

	}

	// Roles change only within what the manager holds; removal ends the
	// member's sessions.
	members, err := ap.ListMembers(bg, p["node_admin"], sponsorOrg)
	must(t, err)
	var sponsorUser string
	for _, m := range members {
		if m.Roles.Has(trip.RoleSponsor) {
			sponsorUser = m.User.ID
		}
	}
	wantCode(t, ap.SetMemberRoles(bg, p["org_admin"], sponsorOrg, sponsorUser, auth.NewRoles(auth.RoleAdmin)), CodeForbidden)
	wantCode(t, ap.RemoveMember(bg, p["org_admin"], sponsorOrg, sponsorUser), CodeForbidden)
	must(t, ap.RemoveMember(bg, p["node_admin"], sponsorOrg, sponsorUser))
	if pr, err := ap.Authenticate(bg, s2.Secret); err == nil && pr.Has(trip.RoleSponsor) {
		t.Fatal("a removed member kept the role")
	}

	// API tokens: shown once, stored hashed, revocable.
	tok, err := ap.CreateAPIToken(bg, p["node_admin"], TokenInput{OrgID: en.orgs["lab"].ID, Name: "LIS 2", Roles: auth.NewRoles(trip.RoleLab)})
	must(t, err)
	stored, err := en.db.GetAPIToken(bg, tok.Token.ID)
	must(t, err)
	if strings.Contains(stored.TokenHash, tok.Secret) || stored.TokenHash != auth.HashSecret(tok.Secret) {
		t.Fatal("the token is not stored as its hash")
	}
	must(t, drop2(ap.AuthenticateToken(bg, tok.Secret)))
	must(t, ap.RevokeAPIToken(bg, p["node_admin"], tok.Token.ID))
	_, err = ap.AuthenticateToken(bg, tok.Secret)
	wantCode(t, err, CodeUnauthenticated)
	_, err = ap.AuthenticateToken(bg, "ct_"+strings.Repeat("a", 52))
	wantCode(t, err, CodeUnauthenticated)
	list, err := ap.ListAPITokens(bg, p["node_admin"], en.orgs["lab"].ID)
	must(t, err)
	for _, x := range list {
		if x.TokenHash != "" {
			t.Fatal("a token listing shows the hash")
		}
	}
	// Bootstrap: a second admin with the same e-mail is refused.
	_, err = ap.CreateNodeAdmin(bg, "ROOT@corridor.example", "Again", password)
	wantCode(t, err, CodeConflict)
	_, err = ap.CreateNodeAdmin(bg, "short@corridor.example", "Short", "short")
	wantFields(t, err, "password")
}

func drop2[T any](_ T, err error) error { return err }

func TestTravellerLink(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	tr := en.walk(trip.Approved)
	link, err := en.app.IssueTravellerLink(bg, en.p["sponsor"], tr.ID)
	must(t, err)
	open := func(token, passport, ip string) (*NewTravellerSession, error) {
		return en.app.OpenTravellerLink(bg, TravellerLogin{Token: token, PassportNumber: passport, ClientIP: ip})
	}
	ts, err := open(link, "E12345678", "203.0.113.9")
	must(t, err)
	// A new link ends the old link and its sessions.
	link2, err := en.app.IssueTravellerLink(bg, en.p["reviewer"], tr.ID)
	must(t, err)
	_, err = en.app.AuthenticateTraveller(bg, ts.Secret)
	wantCode(t, err, CodeUnauthenticated)
	_, err = open(link, "E12345678", "203.0.113.9")
	wantCode(t, err, CodeUnauthenticated)
	for i := 0; i < rateLimitMax; i++ {
		_, err := open(link2, "E00000000", "203.0.113.9")
		wantCode(t, err, CodeUnauthenticated)
	}
	_, err = open(link2, "E12345678", "203.0.113.9")
	wantCode(t, err, CodeRateLimited)
	ts, err = open(link2, "E12345678", "203.0.113.10")
	must(t, err)
	trav, err := en.app.AuthenticateTraveller(bg, ts.Secret)
	must(t, err)
	// The traveller may declare and view, nothing else.
	if _, err := en.app.GetTrip(bg, trav, tr.ID); ErrorCode(err) != CodeForbidden {
		t.Fatalf("traveller used the officials' view: %v", err)
	}
	res, err := en.app.RecordDeclaration(bg, trav, tr.ID, DeclarationInput{TemperatureC: 36.4, Symptoms: []string{"headache"}})
	must(t, err)
	if res.Trip.State != trip.PreDeparture || res.Alert == nil {
		t.Fatalf("declaration %+v", res)
	}
	_, err = en.app.RecordDeclaration(bg, trav, tr.ID, DeclarationInput{Day: en.day(-2), TemperatureC: 36.4})
	wantFields(t, err, "day")
	v, err := en.app.TravellerView(bg, trav)
	must(t, err)
	if !v.DeclaredToday || v.Traveller.PassportNumber != "E12345678" || v.ApprovalHC1 == "" {
		t.Fatalf("view %+v", v)
	}
	must(t, en.app.EndTravellerSession(bg, ts.Secret))
	_, err = en.app.AuthenticateTraveller(bg, ts.Secret)
	wantCode(t, err, CodeUnauthenticated)
}

// TestViewsAreAudited: an official opening a trip leaves an audit entry
// naming them, without personal data.
func TestViewsAreAudited(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	tr := en.walk(trip.Submitted)
	_, err := en.app.GetTrip(bg, en.p["border_officer"], tr.ID)
	must(t, err)
	entries, err := en.db.AuditFor(bg, "trip:"+tr.ID, 1)
	must(t, err)
	e := entries[0]
	if e.Action != "trip.view" || e.Actor != en.p["border_officer"].ActorID() || e.Role != "border_officer" {
		t.Fatalf("entry %+v", e)
	}
	all, err := en.db.AuditEntries(bg, 0, 10000)
	must(t, err)
	for _, e := range all {
		s := strings.ToLower(string(e.Canonical()))
		for _, pd := range []string{"zhang", "e12345678", "wei.zhang", "corridor.example", "kim min-jun"} {
			if strings.Contains(s, pd) {
				t.Fatalf("audit entry %d holds personal data %q: %s", e.Seq, pd, s)
			}
		}
	}
}
