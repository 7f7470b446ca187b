package app

import (
	"crypto/ecdsa"
	"slices"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/hcert"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// TestWholeTrip follows one trip from draft to completion under the sample
// policy (14 monitoring days, NAAT within 72 h, 48 h arrival hold, 14 days
// of post-arrival monitoring), on each database.
func TestWholeTrip(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		en := newEnv(t, e, loadPolicy(t))
		wholeTrip(t, en)
	})
}

func wholeTrip(t *testing.T, en *env) {
	ap, p := en.app, en.p
	clk := en.clock

	// The sponsor saves a partial draft, then completes it.
	partial := TripInput{Lane: "CN-KR", Purpose: "engineering", Traveller: Traveller{FamilyName: "Zhang"}}
	tr, err := ap.CreateTrip(bg, p["sponsor"], partial)
	must(t, err)
	if tr.State != trip.Draft || tr.Traveller.FamilyNameICAO != "ZHANG" || tr.SponsorOrgID != en.orgs["sponsor"].ID {
		t.Fatalf("draft %+v", tr)
	}
	_, err = ap.SubmitTrip(bg, p["sponsor"], tr.ID)
	wantCode(t, err, CodeInvalid) // incomplete
	var ae *Error
	if !asError(err, &ae) || ae.Fields["traveller.passport_number"] == "" || ae.Fields["itinerary"] == "" || ae.Fields["departure_date"] == "" {
		t.Fatalf("incomplete submission fields: %v", err)
	}
	in := en.input(19) // departs 2020-05-20
	tr, err = ap.UpdateTrip(bg, p["sponsor"], tr.ID, tr.Version, in)
	must(t, err)
	_, err = ap.UpdateTrip(bg, p["sponsor"], tr.ID, tr.Version-1, in)
	wantCode(t, err, CodeConflict) // a stale form does not overwrite
	tr, err = ap.SubmitTrip(bg, p["sponsor"], tr.ID)
	must(t, err)

	// Review: a question, an answer, an approval.
	tr, err = ap.RequestInfo(bg, p["reviewer"], tr.ID, "Please name the plant's safety officer.")
	must(t, err)
	if tr.State != trip.NeedsInfo {
		t.Fatalf("state %s", tr.State)
	}
	tr, err = ap.AnswerInfo(bg, p["sponsor"], tr.ID, "Park Ji-woo, +82 41 555 0199")
	must(t, err)
	queue, err := ap.ListTrips(bg, p["reviewer"], TripQuery{States: []trip.State{trip.Submitted}})
	must(t, err)
	if queue.Total != 1 || queue.Trips[0].ID != tr.ID || queue.Trips[0].SponsorName != "Samsung Display" {
		t.Fatalf("queue %+v", queue)
	}
	tr, err = ap.ApproveTrip(bg, p["reviewer"], tr.ID, "")
	must(t, err)
	if tr.State != trip.Approved || tr.ApprovalHC1 == "" {
		t.Fatalf("approved %+v", tr)
	}
	checkApproval(t, en.keys["authority"], tr)
	used, err := en.db.QuotaUsed(bg, store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: "2020-W21"})
	must(t, err)
	if used != 1 {
		t.Fatalf("quota used %d, want 1 in the departure week 2020-W21", used)
	}

	// The traveller opens the link with the passport number.
	link, err := ap.IssueTravellerLink(bg, p["sponsor"], tr.ID)
	must(t, err)
	_, err = ap.OpenTravellerLink(bg, TravellerLogin{Token: link, PassportNumber: "E00000000", ClientIP: "198.51.100.7"})
	wantCode(t, err, CodeUnauthenticated)
	ts, err := ap.OpenTravellerLink(bg, TravellerLogin{Token: link, PassportNumber: "e1234-5678", ClientIP: "198.51.100.7"})
	must(t, err)
	traveller, err := ap.AuthenticateTraveller(bg, ts.Secret)
	must(t, err)
	view, err := ap.TravellerView(bg, traveller)
	must(t, err)
	if view.State != trip.Approved || view.ApprovalHC1 != tr.ApprovalHC1 || !view.DeclarationsOpen || view.DeclaredToday || len(view.Timeline) != 4 {
		t.Fatalf("traveller view %+v", view)
	}

	// Fourteen days of declarations (May 2 to 15) and on until the test.
	clk.Set(time.Date(2020, 5, 2, 8, 0, 0, 0, time.UTC))
	for day := 0; day < 17; day++ { // May 2 .. May 18
		res, err := ap.RecordDeclaration(bg, traveller, tr.ID, DeclarationInput{TemperatureC: 36.6})
		must(t, err)
		if res.Trip.State != trip.PreDeparture {
			t.Fatalf("day %d: state %s (cleared without a test?)", day, res.Trip.State)
		}
		if day == 0 {
			_, err := ap.RecordDeclaration(bg, traveller, tr.ID, DeclarationInput{TemperatureC: 36.6})
			wantCode(t, err, CodeConflict) // one per day
		}
		clk.Add(24 * time.Hour)
	}
	// May 19, 08:00: the NAAT sampled May 18, 10:00 (inside 72 h before May 20).
	clk.Set(time.Date(2020, 5, 18, 12, 0, 0, 0, time.UTC))
	rec, err := ap.RecordTest(bg, p["lab_token"], TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "NAAT",
		TestName: "RT-PCR", SampledAt: time.Date(2020, 5, 18, 10, 0, 0, 0, time.UTC), Result: store.ResultNegative, Facility: "Seoul Clinical Lab"})
	must(t, err)
	if rec.Trip.State != trip.Cleared || rec.CaseOpened {
		t.Fatalf("after a negative test in the window: %s", rec.Trip.State)
	}
	checkTestCert(t, en.keys["lab"], rec.Test.HC1, dcc.ResultNotDetected, "ZHANG")

	// Departure, arrival, hold.
	clk.Set(time.Date(2020, 5, 20, 8, 0, 0, 0, time.UTC))
	_, err = ap.Depart(bg, p["border_officer"], tr.ID, DepartureInput{Flight: "oz 361", Seat: "33"})
	wantCode(t, err, CodeInvalid)
	tr, err = ap.Depart(bg, p["border_officer"], tr.ID, DepartureInput{Flight: "oz 361", Seat: "32a"})
	must(t, err)
	if tr.Flight != "OZ361" || tr.Seat != "32A" || tr.State != trip.Departed {
		t.Fatalf("departed %+v", tr)
	}
	clk.Set(time.Date(2020, 5, 20, 13, 0, 0, 0, time.UTC))
	_, err = ap.Arrive(bg, p["arrival_officer"], tr.ID)
	must(t, err)
	tr, err = ap.HoldForArrivalTest(bg, p["arrival_officer"], tr.ID)
	must(t, err)
	if !tr.HoldUntil.Equal(time.Date(2020, 5, 22, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("hold until %s", tr.HoldUntil)
	}
	clk.Set(time.Date(2020, 5, 21, 9, 0, 0, 0, time.UTC))
	rec, err = ap.RecordTest(bg, p["lab"], TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "NAAT",
		TestName: "RT-PCR", SampledAt: time.Date(2020, 5, 20, 13, 30, 0, 0, time.UTC), Result: store.ResultNegative})
	must(t, err)
	if rec.Trip.State != trip.ArrivalHold {
		t.Fatalf("released before the hold hours: %s", rec.Trip.State)
	}
	_, err = ap.Release(bg, p["arrival_officer"], tr.ID)
	wantCode(t, err, CodeConflict) // hold lasts 48 h
	rep, err := ap.ReleaseDueHolds(bg, clk.Now())
	must(t, err)
	if rep.Done != 0 {
		t.Fatalf("released %d before the hold hours", rep.Done)
	}
	clk.Set(time.Date(2020, 5, 22, 14, 0, 0, 0, time.UTC))
	rep, err = ap.ReleaseDueHolds(bg, clk.Now())
	must(t, err)
	if rep.Done != 1 || rep.Failed != 0 {
		t.Fatalf("release job %+v", rep)
	}
	got, err := ap.GetTrip(bg, p["health_monitor"], tr.ID)
	must(t, err)
	if got.State != trip.Monitoring || !got.FollowUpUntil.Equal(time.Date(2020, 6, 5, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("after release: %s until %s", got.State, got.FollowUpUntil)
	}

	// Post-arrival monitoring: May 23 declared, May 24 missed, May 25
	// with a fever.
	clk.Set(time.Date(2020, 5, 23, 9, 0, 0, 0, time.UTC))
	_, err = ap.RecordDeclaration(bg, traveller, tr.ID, DeclarationInput{TemperatureC: 36.5})
	must(t, err)
	clk.Set(time.Date(2020, 5, 25, 9, 0, 0, 0, time.UTC))
	res, err := ap.RecordDeclaration(bg, traveller, tr.ID, DeclarationInput{TemperatureC: 37.8, Symptoms: []string{"cough"}})
	must(t, err)
	if res.Alert == nil || res.Alert.Detail != "fever,cough" {
		t.Fatalf("symptom alert %+v", res.Alert)
	}
	for i := 0; i < 2; i++ { // twice: the job raises each alert once
		rep, err = ap.RaiseAlerts(bg, clk.Now())
		must(t, err)
		if want := 1 - i; rep.Done != want {
			t.Fatalf("run %d raised %d alerts, want %d", i, rep.Done, want)
		}
	}
	alerts, err := ap.ListAlerts(bg, p["health_monitor"], AlertQuery{TripID: tr.ID, OpenOnly: true})
	must(t, err)
	var days []string
	for _, a := range alerts {
		days = append(days, a.Kind+"@"+a.Day)
	}
	slices.Sort(days)
	if want := []string{"missed_day@2020-05-24", "symptoms@2020-05-25"}; !slices.Equal(days, want) {
		t.Fatalf("alerts %v, want %v", days, want)
	}
	must(t, ap.AcknowledgeAlert(bg, p["health_monitor"], alerts[0].ID))
	wantCode(t, ap.AcknowledgeAlert(bg, p["health_monitor"], alerts[0].ID), CodeConflict)

	// Completion when the 14 days have run.
	rep, err = ap.CompleteDueMonitoring(bg, time.Date(2020, 6, 4, 23, 0, 0, 0, time.UTC))
	must(t, err)
	if rep.Done != 0 {
		t.Fatal("completed early")
	}
	clk.Set(time.Date(2020, 6, 5, 1, 0, 0, 0, time.UTC))
	rep, err = ap.CompleteDueMonitoring(bg, clk.Now())
	must(t, err)
	if rep.Done != 1 {
		t.Fatalf("completion job %+v", rep)
	}
	got, err = ap.GetTrip(bg, p["reviewer"], tr.ID)
	must(t, err)
	var states []trip.State
	for _, x := range got.Transitions {
		states = append(states, x.To)
		if x.Actor.ID == "" || x.At.IsZero() {
			t.Fatalf("transition without actor or time: %+v", x)
		}
	}
	want := []trip.State{trip.Submitted, trip.NeedsInfo, trip.Submitted, trip.Approved, trip.PreDeparture, trip.Cleared, trip.Departed,
		trip.Arrived, trip.ArrivalHold, trip.Released, trip.Monitoring, trip.Completed}
	if !slices.Equal(states, want) {
		t.Fatalf("transitions %v\nwant        %v", states, want)
	}
	if got.Transitions[1].Reason != "Please name the plant's safety officer." || got.Transitions[4].Actor.ID != "traveller" {
		t.Fatalf("transition details %+v", got.Transitions)
	}

	// Every transition and every official view is in the audit chain,
	// which verifies.
	entries, err := en.db.AuditFor(bg, "trip:"+tr.ID, 1000)
	must(t, err)
	count := map[string]int{}
	for _, e := range entries {
		count[e.Action]++
	}
	if count["trip.view"] != 2 || count["trip.approve"] != 1 || count["trip.clear"] != 1 || count["test.record"] != 2 {
		t.Fatalf("audit actions %v", count)
	}
	vr, err := audit.Verify(bg, en.db)
	must(t, err)
	if vr.Problem != nil {
		t.Fatalf("audit chain: %v", vr.Problem)
	}

	// Retention: nothing before 28 days; then names and passport go, the
	// counts and states stay.
	rp, err := ap.PurgePersonalData(bg, time.Date(2020, 6, 20, 0, 0, 0, 0, time.UTC), 0)
	must(t, err)
	if rp.Done != 0 {
		t.Fatal("purged inside the retention period")
	}
	_, err = ap.PurgePersonalData(bg, time.Date(2020, 8, 1, 0, 0, 0, 0, time.UTC), 13)
	wantCode(t, err, CodeInvalid)
	rp, err = ap.PurgePersonalData(bg, time.Date(2020, 7, 4, 0, 0, 0, 0, time.UTC), 0)
	must(t, err)
	if rp.Done != 1 || rp.RetentionDays != 28 {
		t.Fatalf("purge %+v", rp)
	}
	got, err = ap.GetTrip(bg, p["reviewer"], tr.ID)
	must(t, err)
	if got.Traveller != (Traveller{}) || got.ApprovalHC1 != "" || got.Tests[0].HC1 != "" || got.Itinerary[0].Site != "" || got.Transitions[1].Reason != "" {
		t.Fatalf("personal data survived the purge: %+v", got.Trip)
	}
	if got.State != trip.Completed || len(got.Transitions) != 12 || len(got.Tests) != 2 || len(got.Declarations) != 19 {
		t.Fatalf("the purge lost what it keeps: %s, %d transitions, %d tests, %d declarations", got.State, len(got.Transitions), len(got.Tests), len(got.Declarations))
	}
	if _, err := ap.AuthenticateTraveller(bg, ts.Secret); ErrorCode(err) != CodeUnauthenticated {
		t.Fatalf("the traveller session outlived the purge: %v", err)
	}
	vr, err = audit.Verify(bg, en.db)
	must(t, err)
	if vr.Problem != nil {
		t.Fatalf("audit chain after the purge: %v", vr.Problem)
	}
	counts, err := en.db.CountTrips(bg)
	must(t, err)
	if counts[trip.Completed] != 1 {
		t.Fatalf("counts after purge %v", counts)
	}
}

// checkApproval verifies the entry approval's signature and contents.
func checkApproval(t *testing.T, key *ecdsa.PrivateKey, tr *Trip) {
	t.Helper()
	u, err := hcert.Decode(tr.ApprovalHC1)
	must(t, err)
	must(t, u.VerifySignature(&key.PublicKey))
	a, err := approval.Unmarshal(u.Claims.Approval)
	must(t, err)
	if a.Nam.Fnt != "ZHANG" || a.Lane != "CN-KR" || a.ID != tr.ApprovalID || a.Itinerary != tr.Reference || u.Claims.Issuer != "KR" {
		t.Fatalf("approval %+v", a)
	}
	if !a.MatchesPassport("CN", "E12345678") || a.MatchesPassport("CN", "E12345679") {
		t.Fatal("the approval's passport hash does not match the passport")
	}
	if !u.Claims.ExpiresAt.Equal(tr.ApprovalValidUntil) {
		t.Fatalf("exp %s, valid until %s", u.Claims.ExpiresAt, tr.ApprovalValidUntil)
	}
}

// checkTestCert verifies a DCC test certificate and its result code.
func checkTestCert(t *testing.T, key *ecdsa.PrivateKey, hc1, result, fnt string) {
	t.Helper()
	u, err := hcert.Decode(hc1)
	must(t, err)
	must(t, u.VerifySignature(&key.PublicKey))
	doc, err := dcc.Parse(u.Claims.HCert)
	must(t, err)
	must(t, dcc.ValidateSchema(doc.JSON))
	p, err := doc.Payload()
	must(t, err)
	if len(p.T) != 1 || p.T[0].Tr != result || p.Nam.Fnt != fnt || p.T[0].Tt != dcc.TestTypeNAAT {
		t.Fatalf("test certificate %+v", p)
	}
	if err := dcc.CheckUVCI(p.T[0].Ci); err != nil {
		t.Fatalf("UVCI %q: %v", p.T[0].Ci, err)
	}
}
