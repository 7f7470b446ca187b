package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/trip"
)

// cellRE reads the dashboard's total cells: node, stage and count.
var cellRE = regexp.MustCompile(`<td data-total data-route="([A-Z-]+)" data-node="([A-Z]+)" data-stage="([a-z_]+)"><strong>(\d+)</strong></td>`)

// pageTotals sums the page's total cells of one node per stage.
func pageTotals(body, node string) map[string]string {
	out := map[string]string{}
	for _, m := range cellRE.FindAllStringSubmatch(body, -1) {
		if m[2] == node && m[4] != "0" {
			out[m[1]+" "+m[3]] = m[4]
		}
	}
	return out
}

// TestLedgerPage: the dashboard and its JSON show this node's positives
// and route status alike; a secondary case recorded through the form
// moves the headline; refused input comes back beside its field.
func TestLedgerPage(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	held := en.tripIn(trip.ArrivalHold)
	departed := en.tripIn(trip.Departed) // before the lane is suspended
	var rec TestRecordedJSON
	if code, body := en.bearer().api(http.MethodPost, "/api/v1/tests", TestInputJSON{Reference: held.ref, PassportNumber: passport,
		TestType: "NAAT", TestName: "PCR", SampledAt: en.clock.Now().Add(-time.Minute).Format(time.RFC3339), Result: "positive"}, &rec); code != 201 {
		t.Fatalf("a positive arrival test: %d %s", code, body)
	}
	_, err := en.app.SuspendLane(bg, en.p("joint_officer"), "CN-KR", en.clock.Now().AddDate(0, 0, 7), "5 positives in 7 days")
	must(t, err)

	joint := en.as("joint_officer")
	res, body := joint.get("/joint/ledger")
	if res.StatusCode != 200 {
		t.Fatalf("the dashboard: %d", res.StatusCode)
	}
	if got := pageTotals(body, "KR"); len(got) != 1 || got["CN-KR arrival"] != "1" {
		t.Fatalf("the page's totals for KR: %v", got)
	}
	if !strings.Contains(body, `data-lane-status="CN-KR" data-status="suspended"`) || !strings.Contains(body, `data-lane-status="KR-CN" data-status="open"`) {
		t.Fatal("the page does not show CN-KR suspended and KR-CN open")
	}
	if !strings.Contains(body, `data-since-joint data-never="true"`) || !strings.Contains(body, "<svg") {
		t.Fatal("the page lacks the headline or the chart")
	}
	var lj LedgerJSON
	if code, body := joint.api(http.MethodGet, "/api/v1/ledger", nil, &lj); code != 200 {
		t.Fatalf("GET /api/v1/ledger: %d %s", code, body)
	}
	var kr *CountsJSON
	for i := range lj.Totals {
		if lj.Totals[i].Node == "KR" {
			kr = &lj.Totals[i]
		}
	}
	if kr == nil || kr.Arrival != 1 || kr.PreDeparture+kr.Monitoring+kr.Secondary != 0 || !lj.SinceLastCrossBorder.Never {
		t.Fatalf("the JSON's figures: %+v", lj)
	}
	statuses := map[string]string{}
	for _, r := range lj.Routes {
		statuses[r.Lane] = r.Status
	}
	if statuses["CN-KR"] != "suspended" || statuses["KR-CN"] != "open" || lj.Routes[0].Suspension == nil {
		t.Fatalf("the JSON's routes: %+v", lj.Routes)
	}

	// A secondary case, through the form.
	today := en.clock.Now().Format(time.DateOnly)
	in := url.Values{"trip_ref": {departed.ref}, "detected_on": {today}, "local_ref": {"KDCA-2020-0042"}, "note": {"a colleague"}}
	res, body = joint.form("/joint/ledger/secondary-cases", in)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/joint/ledger?done=secondary_recorded" {
		t.Fatalf("recording a secondary case: %d %s", res.StatusCode, body)
	}
	res, body = joint.get("/joint/ledger?done=secondary_recorded")
	if !strings.Contains(body, `data-since-joint data-never="false" data-days="0"`) || !strings.Contains(body, "KDCA-2020-0042") ||
		pageTotals(body, "KR")["CN-KR secondary"] != "1" || !strings.Contains(body, `class="flash"`) {
		t.Fatalf("after the secondary case: %d\n%s", res.StatusCode, body)
	}
	// The same case again is refused beside its field, with what was
	// typed kept.
	res, body = joint.form("/joint/ledger/secondary-cases", in)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<span class="field-error">a secondary case with this reference is recorded already</span>`) ||
		!strings.Contains(body, `value="KDCA-2020-0042"`) {
		t.Fatalf("the same case twice: %d", res.StatusCode)
	}
	// A range the page cannot show is named, over the default one.
	res, body = joint.get("/joint/ledger?from=soon")
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "must be a date YYYY-MM-DD") || !strings.Contains(body, "data-since-joint") {
		t.Fatalf("a bad range: %d", res.StatusCode)
	}

	// A health authority sees the dashboard and the form, not the lanes'
	// forms; a sponsor neither.
	res, body = en.as("health_authority").get("/joint/ledger")
	if res.StatusCode != 200 || !strings.Contains(body, `id="secondary-form"`) || strings.Contains(body, `href="/joint"`) {
		t.Fatalf("the health authority's dashboard: %d", res.StatusCode)
	}
	if res, _ := en.as("sponsor").get("/joint/ledger"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a sponsor's dashboard: %d", res.StatusCode)
	}
}
