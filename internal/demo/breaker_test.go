package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/policies"
)

// breakerPolicy is the sample policy with no pre-departure monitoring and
// a breaker that trips at the second arrival positive within 7 days, so a
// test reaches it with a handful of trips.
func breakerPolicy(t *testing.T) string {
	t.Helper()
	doc := string(policies.ChinaKorea)
	for old, new := range map[string]string{
		`"pre_departure_monitoring_days": 14`: `"pre_departure_monitoring_days": 0`,
		`"positives": 5,`:                     `"positives": 2,`,
		`"positives": 10,`:                    `"positives": 4,`,
	} {
		if !strings.Contains(doc, old) {
			t.Fatalf("the sample policy no longer holds %s", old)
		}
		doc = strings.ReplaceAll(doc, old, new)
	}
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCircuitBreakerAcrossNodes: two arrival positives on lane CN-KR trip
// Korea's breaker; the route suspends itself on both nodes, new
// applications are refused there with the reason, travellers not yet
// departed are held, and the lift needs an officer of each side. An
// officer's own suspension crosses too.
func TestCircuitBreakerAcrossNodes(t *testing.T) {
	engines(t, func(t *testing.T, engine string) {
		ctx, d := startDriven(t, engine, Options{PolicyFile: breakerPolicy(t)}, 3*time.Minute)
		testBreaker(ctx, t, d)
	})
}

func testBreaker(ctx context.Context, t *testing.T, d *Demo) {
	kr, cn := d.Sides["KR"], d.Sides["CN"]
	settle := func() {
		t.Helper()
		if err := d.Settle(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	date := func(n int) string { return d.Clock.Now().UTC().AddDate(0, 0, n).Format(time.DateOnly) }
	file := func(i int) (*app.Trip, error) {
		in := app.TripInput{Lane: "CN-KR", Region: "KR", Purpose: "engineering",
			Traveller: app.Traveller{GivenName: "Wei", FamilyName: fmt.Sprintf("Zhang%c", 'a'+i), DateOfBirth: "1985-03-02", Sex: "M", Nationality: "CN",
				PassportCountry: "CN", PassportNumber: fmt.Sprintf("E2000000%d", i), Email: "traveller@example.cn"},
			Host:          app.Contact{Name: "Kim Min-jun", Phone: "+82 2 555 0100"},
			DepartureDate: date(1), ReturnDate: date(20),
			Itinerary: []app.ItineraryItem{{Kind: "lodging", Site: "Asan hotel", Address: "1 Gate Road, Asan", FromDate: date(1), ToDate: date(20)}}}
		tr, err := kr.Node.App.CreateTrip(ctx, kr.As[trip.RoleSponsor], in)
		if err != nil {
			return nil, err
		}
		return kr.Node.App.SubmitTrip(ctx, kr.As[trip.RoleSponsor], tr.ID)
	}
	type traveller struct{ kr, cn, ref, passport string }
	var ts []traveller
	for i := range 4 {
		tr, err := file(i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kr.Node.App.ApproveTrip(ctx, kr.As[trip.RoleReviewer], tr.ID, ""); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, traveller{kr: tr.ID, ref: tr.Reference, passport: fmt.Sprintf("E2000000%d", i)})
	}
	settle()
	for i := range ts {
		tw, err := cn.Node.Store.GetTripByReference(ctx, ts[i].ref)
		if err != nil {
			t.Fatal(err)
		}
		ts[i].cn = tw.ID
		if _, err := cn.Node.App.RecordTest(ctx, cn.As[trip.RoleLab], app.TestInput{Reference: ts[i].ref, PassportNumber: ts[i].passport, TestType: "NAAT",
			TestName: "RT-PCR", SampledAt: d.Clock.Now().Add(-time.Hour), Result: store.ResultNegative, Facility: "Shanghai Clinical Laboratory"}); err != nil {
			t.Fatal(err)
		}
	}
	d.RunJobs(ctx)
	settle()
	d.Clock.Advance(24 * time.Hour)
	// Three fly; the fourth waits at home.
	for i, tr := range ts[:3] {
		if _, err := cn.Node.App.Depart(ctx, cn.As[trip.RoleBorder], tr.cn, app.DepartureInput{Flight: "OZ361", Seat: fmt.Sprintf("%dA", 10+i)}); err != nil {
			t.Fatalf("departure %d: %v", i, err)
		}
	}
	settle()
	d.Clock.Advance(3 * time.Hour)
	for _, tr := range ts[:3] {
		if _, err := kr.Node.App.Arrive(ctx, kr.As[trip.RoleArrival], tr.kr); err != nil {
			t.Fatal(err)
		}
		if _, err := kr.Node.App.HoldForArrivalTest(ctx, kr.As[trip.RoleArrival], tr.kr); err != nil {
			t.Fatal(err)
		}
	}
	d.Clock.Advance(time.Hour)
	arrivalTest := func(tr traveller, result string) {
		t.Helper()
		if _, err := kr.Node.App.RecordTest(ctx, kr.As[trip.RoleLab], app.TestInput{Reference: tr.ref, PassportNumber: tr.passport, TestType: "NAAT",
			TestName: "RT-PCR", SampledAt: d.Clock.Now().Add(-30 * time.Minute), Result: result, Facility: "Incheon Airport Testing Centre"}); err != nil {
			t.Fatal(err)
		}
	}
	arrivalTest(ts[0], store.ResultPositive)
	settle()
	for _, side := range []*Side{kr, cn} {
		if s, err := side.Node.Store.ActiveLaneSuspension(ctx, "CN-KR", d.Clock.Now()); err == nil {
			t.Fatalf("%s: one positive suspended the route: %+v", side.Country, s)
		}
	}
	arrivalTest(ts[1], store.ResultPositive)
	arrivalTest(ts[2], store.ResultNegative)
	settle()

	// Suspended on both nodes, under the same decision, for 7 days.
	var ids []string
	for _, side := range []*Side{kr, cn} {
		s, err := side.Node.Store.ActiveLaneSuspension(ctx, "CN-KR", d.Clock.Now())
		if err != nil {
			t.Fatalf("%s: the route is not suspended after two arrival positives: %v", side.Country, err)
		}
		if got := s.EndsAt.Sub(s.StartsAt); got != 7*24*time.Hour {
			t.Errorf("%s: suspended for %s, want 7 days", side.Country, got)
		}
		ids = append(ids, s.ID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("the nodes hold different suspensions: %v", ids)
	}
	// New applications are refused with the reason; the traveller still
	// at home is held (the sample lane holds on suspension).
	tr, err := file(9)
	if err != nil {
		t.Fatal(err)
	}
	_, err = kr.Node.App.ApproveTrip(ctx, kr.As[trip.RoleReviewer], tr.ID, "")
	if app.ErrorCode(err) != app.CodeConflict || !strings.Contains(err.Error(), "circuit breaker") {
		t.Fatalf("approval on a suspended route: %v", err)
	}
	if _, err := cn.Node.App.Depart(ctx, cn.As[trip.RoleBorder], ts[3].cn, app.DepartureInput{Flight: "OZ361", Seat: "20C"}); app.ErrorCode(err) != app.CodeConflict {
		t.Fatalf("departure on a suspended route that holds travellers: %v", err)
	}

	// One side cannot lift alone; a second approval by the same side is
	// refused; the other side's approval lifts it on both.
	out, err := kr.Node.App.LiftLaneSuspension(ctx, kr.As[trip.RoleJoint], "CN-KR")
	if err != nil || out.Lifted || out.WaitingFor != "CN" {
		t.Fatalf("Korea's lift: %+v, %v", out, err)
	}
	if _, err := kr.Node.App.LiftLaneSuspension(ctx, kr.As[trip.RoleJoint], "CN-KR"); app.ErrorCode(err) != app.CodeConflict {
		t.Fatalf("Korea's second lift approval: %v", err)
	}
	settle()
	for _, side := range []*Side{kr, cn} {
		if _, err := side.Node.Store.ActiveLaneSuspension(ctx, "CN-KR", d.Clock.Now()); err != nil {
			t.Fatalf("%s: one side's approval lifted the suspension", side.Country)
		}
	}
	d.Clock.Advance(time.Minute)
	out, err = cn.Node.App.LiftLaneSuspension(ctx, cn.As[trip.RoleJoint], "CN-KR")
	if err != nil || !out.Lifted {
		t.Fatalf("China's lift: %+v, %v", out, err)
	}
	settle()
	var lifted []time.Time
	for _, side := range []*Side{kr, cn} {
		if s, err := side.Node.Store.ActiveLaneSuspension(ctx, "CN-KR", d.Clock.Now()); err == nil {
			t.Fatalf("%s: still suspended after both sides approved the lift: %+v", side.Country, s)
		}
		s, err := side.Node.Store.GetLaneSuspension(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		lifted = append(lifted, s.LiftedAt)
	}
	if lifted[0].IsZero() || !lifted[0].Equal(lifted[1]) {
		t.Fatalf("lifted at %v on Korea and %v on China", lifted[0], lifted[1])
	}
	if _, err := kr.Node.App.ApproveTrip(ctx, kr.As[trip.RoleReviewer], tr.ID, ""); err != nil {
		t.Fatalf("approval after the lift: %v", err)
	}

	// An officer's suspension crosses too, with its reason.
	if _, err := cn.Node.App.SuspendLane(ctx, cn.As[trip.RoleJoint], "CN-KR", d.Clock.Now().AddDate(0, 0, 3), "outbreak in the origin region"); err != nil {
		t.Fatal(err)
	}
	settle()
	s, err := kr.Node.Store.ActiveLaneSuspension(ctx, "CN-KR", d.Clock.Now())
	if err != nil || !strings.Contains(s.Reason, "outbreak in the origin region") {
		t.Fatalf("China's officer's suspension in Korea: %+v, %v", s, err)
	}
	// The route reopens by itself when the time is up, on both sides.
	d.Clock.Advance(4 * 24 * time.Hour)
	for _, side := range []*Side{kr, cn} {
		if s, err := side.Node.Store.ActiveLaneSuspension(ctx, "CN-KR", d.Clock.Now()); err == nil {
			t.Fatalf("%s: a suspension outlived its time: %+v", side.Country, s)
		}
	}
	sum, err := d.Summarise(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for c, ns := range sum.Nodes {
		if len(ns.Messages.Refused) != 0 || ns.DeadLetters != 0 {
			t.Errorf("%s: refused %v, %d dead letters", c, ns.Messages.Refused, ns.DeadLetters)
		}
	}
}

// TestPolicyChangeCrosses: a joint officer on one node puts a new version
// of the policy in force; the peer runs it once the message is applied,
// with the same digest. Versions that are not newer, other policies and
// broken documents are refused with the field at fault, and change
// nothing on either node.
func TestPolicyChangeCrosses(t *testing.T) {
	ctx, d := startDriven(t, "sqlite", Options{}, 2*time.Minute)
	cn, kr := d.Sides["CN"], d.Sides["KR"]
	cur := cn.Node.App.Policy()
	doc := string(cur.Document())
	next := strings.Replace(doc, fmt.Sprintf(`"version": %d`, cur.Version), fmt.Sprintf(`"version": %d`, cur.Version+1), 1)
	next = strings.ReplaceAll(next, `"weekly_per_sponsor": 20`, `"weekly_per_sponsor": 5`)
	if next == doc || !strings.Contains(next, `"weekly_per_sponsor": 5`) {
		t.Fatal("the sample policy changed shape; update the test's edits")
	}
	for name, bad := range map[string]string{
		"same version":  strings.Replace(next, fmt.Sprintf(`"version": %d`, cur.Version+1), fmt.Sprintf(`"version": %d`, cur.Version), 1),
		"other policy":  strings.Replace(next, `"id": "`+cur.ID+`"`, `"id": "another-lane"`, 1),
		"broken":        next[:len(next)/2],
		"empty":         "",
		"short retains": strings.Replace(next, fmt.Sprintf(`"retention_days": %d`, cur.RetentionDays), `"retention_days": 7`, 1),
	} {
		_, err := cn.Node.App.ChangePolicy(ctx, cn.As[trip.RoleJoint], []byte(bad))
		var e *app.Error
		if !errors.As(err, &e) || e.Code != app.CodeInvalid || e.Fields["document"] == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cn.Node.App.ChangePolicy(ctx, cn.As[trip.RoleReviewer], []byte(next)); app.ErrorCode(err) != app.CodeForbidden {
		t.Errorf("a reviewer changed the policy: %v", err)
	}
	np, err := cn.Node.App.ChangePolicy(ctx, cn.As[trip.RoleJoint], []byte(next))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Settle(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, side := range []*Side{cn, kr} {
		p := side.Node.App.Policy()
		lane, _ := p.Lane("CN-KR")
		if p.Version != cur.Version+1 || p.Digest() != np.Digest() || lane.Quota.WeeklyPerSponsor != 5 {
			t.Errorf("%s runs version %d (digest %s, %d per sponsor), want version %d (%s)", side.Country, p.Version, p.Digest(), lane.Quota.WeeklyPerSponsor, np.Version, np.Digest())
		}
	}
	if _, err := cn.Node.App.ChangePolicy(ctx, cn.As[trip.RoleJoint], []byte(next)); app.ErrorCode(err) != app.CodeInvalid {
		t.Errorf("the same version again: %v", err)
	}
}
