package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/web/webtest"
)

// The browser test drives Debian's Chromium through one whole trip: a
// sponsor files, a reviewer approves, the traveller opens the link and
// declares, a lab posts its results with an API token, the border page
// verifies the QR codes, the arrival desk holds and releases, and the
// trip completes. It runs in English, Chinese and Korean, and saves
// screenshots of the key pages.
//
// It is skipped when Chromium is absent, unless CORRIDOR_CI is set: a
// green CI run must have driven a real browser.

// browser is one person's browser (package webtest), on this test's
// server.
type browser struct{ *webtest.Browser }

func (en *env) browserFor(t *testing.T, root context.Context, lang i18n.Lang) *browser {
	b := &browser{webtest.NewTab(t, root, en.http.URL, lang)}
	b.Open("/lang/" + string(lang) + "?next=/login")
	return b
}

func (b *browser) login(name string) {
	b.T.Helper()
	b.Login(name+"@corridor.example", password)
}

func TestBrowserWholeTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is not short")
	}
	root := webtest.Start(t)
	for _, lang := range i18n.Langs {
		t.Run(string(lang), func(t *testing.T) {
			en := newEnv(t, testPolicy(t))
			en.wholeTrip(t, root, lang)
		})
	}
}

func (en *env) wholeTrip(t *testing.T, root context.Context, lang i18n.Lang) {
	full := lang == i18n.EN // the English run shows every page
	day := func(d int) string { return start.AddDate(0, 0, d).Format(time.DateOnly) }
	dep, ret := day(3), day(12)

	// The sponsor files the application in the browser.
	sponsor := en.browserFor(t, root, lang)
	if full {
		sponsor.Shot("login")
	}
	sponsor.login("sponsor")
	sponsor.Open("/trips/new")
	sponsor.Fill(
		"lane", "CN-KR", "region", "KR", "purpose", "engineering",
		"traveller.family_name", "Zhang", "traveller.given_name", "Wei", "traveller.date_of_birth", "1985-03-14",
		"traveller.sex", "M", "traveller.nationality", "CN", "traveller.passport_country", "CN",
		"traveller.passport_number", "E12345678", "traveller.email", "zhang.wei@example.cn",
		"host.name", "Kim Min-jun", "host.phone", "+82 2 555 0100",
		"departure_date", dep, "return_date", ret,
		"itinerary[0].kind", "transport", "itinerary[0].site", "Incheon Airport to Cheonan by company car",
		"itinerary[0].from_date", dep, "itinerary[0].to_date", dep,
		"itinerary[1].kind", "lodging", "itinerary[1].site", "Shilla Stay Cheonan", "itinerary[1].address", "Seobuk-gu, Cheonan",
		"itinerary[1].from_date", dep, "itinerary[1].to_date", ret,
		"itinerary[2].kind", "work_site", "itinerary[2].site", "Samsung Display Asan Campus",
		"itinerary[2].from_date", dep, "itinerary[2].to_date", ret,
	)
	sponsor.Shot("sponsor-new-trip")
	sponsor.Submit(`form.trip-form > button[type=submit]`)
	sponsor.Expect(".flash", "flash.created")
	tripID := strings.TrimPrefix(strings.SplitN(sponsor.Location(), "?", 2)[0], en.http.URL+"/trips/")
	sponsor.Submit(`form.action-submit button`)
	sponsor.Expect(".flash", "flash.submit")
	sponsor.Submit(`form[action$="/traveller-link"] button`)
	link := sponsor.Text("#traveller-link")
	if !strings.HasPrefix(link, "http://corridor.test/t/tl_") {
		t.Fatalf("traveller link %q", link)
	}
	linkPath := strings.TrimPrefix(link, "http://corridor.test")
	if full {
		sponsor.Shot("sponsor-trip")
		sponsor.Open("/trips")
		sponsor.Shot("sponsor-trips")
	}

	// The reviewer works the queue and approves.
	reviewer := en.browserFor(t, root, lang)
	reviewer.login("reviewer")
	reviewer.Open("/trips?state=submitted")
	reviewer.Shot("reviewer-queue")
	reviewer.Submit(`table.list a[href="/trips/` + tripID + `"]`)
	reviewer.Submit(`form.action-approve button`)
	reviewer.Expect(".flash", "flash.approve")
	reviewer.Shot("reviewer-approved")
	reviewer.Open("/trips/" + tripID + "/letter")
	reviewer.Shot("letter")

	// The traveller opens the personal link and declares, two days running.
	traveller := en.browserFor(t, root, lang)
	traveller.Phone()
	// A traveller's sign-in lasts hours, not days: each day they open
	// the link again and give the passport number, typed as people do.
	signIn := func() {
		traveller.Open(linkPath)
		traveller.Fill("passport_number", "e1234 5678")
		traveller.Submit(`form button[type=submit]`)
	}
	signIn()
	traveller.Expect(".status-line", "state.approved")
	traveller.Shot("traveller-approved")
	for d := 0; d < 3; d++ {
		if d > 0 {
			en.clock.Add(24 * time.Hour)
			signIn()
		}
		traveller.Fill("temperature", "36.6")
		traveller.Submit(`form[action="/traveller/declarations"] button[type=submit]`)
		traveller.Expect(".flash", "flash.declared")
	}
	traveller.Expect(".status-line", "state.pre_departure")

	// The lab posts the pre-departure test with its API token: the trip
	// is cleared.
	ref := en.reference(tripID)
	var rec TestRecordedJSON
	code, body := en.bearer().api(http.MethodPost, "/api/v1/tests", TestInputJSON{Reference: ref, PassportNumber: "E12345678",
		TestType: "NAAT", TestName: "Allplex SARS-CoV-2 Assay", SampledAt: en.clock.Now().Add(-2 * time.Hour).Format(time.RFC3339),
		Result: "negative", Facility: "Beijing Tiantan Hospital"}, &rec)
	if code != http.StatusCreated || rec.Trip.State != "cleared" {
		t.Fatalf("lab result: %d %s", code, body)
	}
	traveller.Open("/traveller")
	traveller.Expect(".status-line", "state.cleared")
	traveller.Shot("traveller")

	// Departure day: the border officer verifies the QR texts, pasted.
	en.clock.Add(24 * time.Hour)
	approvalHC1, testHC1 := en.credentials(tripID)
	border := en.browserFor(t, root, lang)
	border.login("border_officer")
	if full {
		border.Open("/verify")
		border.Fill("test", testHC1)
		border.Submit(`form[action="/verify"] button[type=submit]`)
		border.Expect(".verdict .big", "verdict.no.entry")
		border.Expect(".verdict .reasons", "verdict.reason.no_approval")
		border.Shot("border-refused")
	}
	border.Open("/verify")
	border.Fill("approval", approvalHC1, "test", testHC1, "passport_number", "E12345678")
	border.Submit(`form[action="/verify"] button[type=submit]`)
	border.Expect(".verdict .big", "verdict.yes.entry")
	border.Shot("border-verdict")
	border.Open("/trips/" + tripID)
	border.Fill("flight", "OZ324", "seat", "32A")
	border.Submit(`form.action-depart button`)
	border.Expect(".flash", "flash.depart")

	// The arrival desk finds the traveller by the approval's QR, records
	// the arrival and holds for the arrival test.
	en.clock.Add(3 * time.Hour)
	desk := en.browserFor(t, root, lang)
	desk.login("arrival_officer")
	desk.Open("/arrivals")
	if full {
		desk.Shot("arrival-desk")
	}
	desk.Fill("qr", approvalHC1)
	desk.Submit(`form[action="/arrivals"] button[type=submit]`)
	desk.Submit(`form.action-arrive button`)
	desk.Expect(".flash", "flash.arrive")
	desk.Submit(`form.action-hold button`)
	desk.Expect(".flash", "flash.hold")
	desk.Shot("arrival-held")
	code, body = en.bearer().api(http.MethodPost, "/api/v1/tests", TestInputJSON{Reference: ref, PassportNumber: "E12345678",
		TestType: "NAAT", TestName: "Allplex SARS-CoV-2 Assay", SampledAt: en.clock.Now().Add(-30 * time.Minute).Format(time.RFC3339),
		Result: "negative", Facility: "Incheon Airport Testing Centre"}, &rec)
	if code != http.StatusCreated || rec.Trip.State != "arrival_hold" {
		t.Fatalf("arrival test: %d %s", code, body)
	}
	// Too early: the hold lasts 48 hours, and the page says so.
	desk.Submit(`form.action-release button`)
	if got := desk.Text(".problem"); !strings.Contains(got, webtest.Catalog(t).T(lang, "error.heading")) && got == "" {
		t.Fatalf("an early release was not refused")
	}
	en.clock.Add(49 * time.Hour)
	desk.login("arrival_officer") // two days on, the session has ended
	desk.Open("/trips/" + tripID)
	desk.Submit(`form.action-release button`)
	desk.Expect(".flash", "flash.release")
	desk.Expect("h1 .state", "state.monitoring")

	// Post-arrival monitoring: the traveller declares daily; in English a
	// day is missed, the health monitor sees the alert and acknowledges it.
	for d := 0; d < 4; d++ {
		if d > 0 {
			en.clock.Add(24 * time.Hour)
		}
		if full && d == 1 {
			continue
		}
		signIn()
		traveller.Fill("temperature", "36.5")
		traveller.Submit(`form[action="/traveller/declarations"] button[type=submit]`)
		traveller.Expect(".flash", "flash.declared")
	}
	if full {
		if _, err := en.app.RaiseAlerts(bg, en.clock.Now()); err != nil {
			t.Fatal(err)
		}
		monitor := en.browserFor(t, root, lang)
		monitor.login("health_monitor")
		monitor.Open("/alerts")
		monitor.Expect("table.list", "alert.missed_day")
		monitor.Shot("monitor-alerts")
		monitor.Submit(`table.list form button`)
		monitor.Expect(".flash", "flash.acknowledged")
	}
	en.clock.Add(24 * time.Hour)
	rep, err := en.app.CompleteDueMonitoring(bg, en.clock.Now())
	if err != nil || rep.Done != 1 {
		t.Fatalf("completing monitoring: %+v %v", rep, err)
	}
	signIn()
	traveller.Expect(".status-line", "state.completed")
	traveller.Shot("traveller-completed")
}

// reference reads a trip's reference as the reviewer.
func (en *env) reference(id string) string {
	var tj TripJSON
	if code, body := en.as("reviewer").api(http.MethodGet, "/api/v1/trips/"+id, nil, &tj); code != http.StatusOK {
		en.t.Fatalf("reading the trip: %d %s", code, body)
	}
	return tj.Reference
}

// credentials returns the trip's entry approval and latest test, as the
// texts inside their QR codes.
func (en *env) credentials(id string) (approval, test string) {
	var tj TripJSON
	if code, body := en.as("reviewer").api(http.MethodGet, "/api/v1/trips/"+id, nil, &tj); code != http.StatusOK {
		en.t.Fatalf("reading the trip: %d %s", code, body)
	}
	if tj.Approval == nil || len(tj.Tests) == 0 {
		en.t.Fatalf("trip %s has no approval or no test", id)
	}
	return tj.Approval.HC1, tj.Tests[len(tj.Tests)-1].HC1
}
