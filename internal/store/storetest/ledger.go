package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
)

// testLedger: secondary cases, the ledger's reads by date range, and the
// secondary cases in the daily figures and the retention purge.
func testLedger(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	lab := newOrg(t, db, auth.KindLab)
	a, b := newTrip(t, db, sp, t0), newTrip(t, db, sp, t0)
	b.Lane = "KR-CN"
	must(t, db.UpdateTrip(ctx, b))

	// Secondary cases: one per local reference, read back by detection
	// date with the trip's reference.
	k1 := &store.SecondaryCase{ID: id("sec"), TripID: a.ID, Lane: a.Lane, DetectedOn: "2020-05-21", LocalRef: "KDCA-2020-0001",
		Note: "the host's colleague", RecordedBy: "user:u1", CreatedAt: t0}
	must(t, db.AddSecondaryCase(ctx, k1))
	dup := *k1
	dup.ID = id("sec")
	wantErr(t, db.AddSecondaryCase(ctx, &dup), store.ErrConflict)
	k2 := &store.SecondaryCase{ID: id("sec"), TripID: b.ID, Lane: b.Lane, DetectedOn: "2020-05-28", LocalRef: "KDCA-2020-0002",
		RecordedBy: "user:u1", CreatedAt: t0}
	must(t, db.AddSecondaryCase(ctx, k2))
	all, err := db.ListSecondaryCases(ctx, store.DayRange{})
	must(t, err)
	if len(all) != 2 || all[0].ID != k1.ID || all[0].TripRef != a.Reference || all[0].Note != k1.Note || !all[0].CreatedAt.Equal(t0) ||
		all[1].Lane != "KR-CN" {
		t.Fatalf("secondary cases %+v", all)
	}
	some, err := db.ListSecondaryCases(ctx, store.DayRange{From: "2020-05-22", To: "2020-05-28"})
	must(t, err)
	if len(some) != 0 {
		t.Fatalf("range excluding both: %+v", some)
	}
	some, err = db.ListSecondaryCases(ctx, store.DayRange{From: "2020-05-21", To: "2020-05-29"})
	must(t, err)
	if len(some) != 2 {
		t.Fatalf("range including both: %+v", some)
	}

	// The daily figures count a secondary case on the day it was
	// detected, on its lane only.
	day := time.Date(2020, 5, 21, 0, 0, 0, 0, time.UTC)
	f, err := db.DayFigures(ctx, "CN-KR", day, day.AddDate(0, 0, 1))
	must(t, err)
	if f.Cases[string(store.StageSecondary)] != 1 {
		t.Fatalf("figures of %s: %+v", day.Format(time.DateOnly), f)
	}
	f, err = db.DayFigures(ctx, "CN-KR", day.AddDate(0, 0, 1), day.AddDate(0, 0, 2))
	must(t, err)
	if _, ok := f.Cases[string(store.StageSecondary)]; ok {
		t.Fatalf("a day without secondary cases: %+v", f)
	}

	// Cases by the time they were opened, with their trips' lanes.
	for i, tr := range []*store.Trip{a, b} {
		r := &store.TestResult{ID: id("tst"), TripID: tr.ID, LabOrgID: lab.ID, Stage: store.StageArrival, TestType: "LP6464-4", SampledAt: day,
			Result: store.ResultPositive, Country: "KR", UVCI: id("URN:UVCI:"), RecordedBy: "x", CreatedAt: day}
		must(t, db.AddTest(ctx, r))
		must(t, db.OpenCase(ctx, &store.Case{ID: id("cas"), TripID: tr.ID, TestID: r.ID, Stage: store.StageArrival,
			OpenedAt: day.Add(time.Duration(i*24+5) * time.Hour)}))
	}
	cases, err := db.LedgerCases(ctx, day, day.AddDate(0, 0, 1))
	must(t, err)
	if len(cases) != 1 || cases[0].TripID != a.ID || cases[0].Lane != "CN-KR" || cases[0].TripRef != a.Reference ||
		cases[0].Stage != store.StageArrival || !cases[0].OpenedAt.Equal(day.Add(5*time.Hour)) {
		t.Fatalf("ledger cases of one day: %+v", cases)
	}
	cases, err = db.LedgerCases(ctx, day, day.AddDate(0, 0, 7))
	must(t, err)
	if len(cases) != 2 || cases[1].Lane != "KR-CN" {
		t.Fatalf("ledger cases of a week: %+v", cases)
	}

	// The peer's cases by detection date and stage, and its figures by
	// day.
	for _, k := range []store.PeerCase{
		{Ref: "CN-1", Peer: "CN", Lane: "CN-KR", Stage: "pre_departure", DetectedOn: "2020-05-19"},
		{Ref: "CN-2", Peer: "CN", Lane: "CN-KR", Stage: "secondary", DetectedOn: "2020-05-20"},
		{Ref: "CN-3", Peer: "CN", Lane: "CN-KR", Stage: "secondary", DetectedOn: "2020-06-20"},
		{Ref: "JP-1", Peer: "JP", Lane: "JP-KR", Stage: "secondary", DetectedOn: "2020-05-20"},
	} {
		k.TripRef, k.ReceivedAt = a.Reference, t0
		must(t, db.AddPeerCase(ctx, &k))
	}
	refs := func(ks []store.PeerCase) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Ref)
		}
		return out
	}
	pcs, err := db.PeerCasesIn(ctx, store.PeerCaseFilter{Peer: "CN", Days: store.DayRange{From: "2020-05-01", To: "2020-06-01"}})
	must(t, err)
	if got := refs(pcs); !slices.Equal(got, []string{"CN-1", "CN-2"}) {
		t.Fatalf("CN's cases in May: %v", got)
	}
	pcs, err = db.PeerCasesIn(ctx, store.PeerCaseFilter{Peer: "CN", Stage: "secondary"})
	must(t, err)
	if got := refs(pcs); !slices.Equal(got, []string{"CN-2", "CN-3"}) {
		t.Fatalf("CN's secondary cases: %v", got)
	}
	for _, d := range []string{"2020-05-19", "2020-05-20", "2020-05-21"} {
		must(t, db.PutPeerStats(ctx, &store.PeerStats{Peer: "CN", Date: d, Lane: "CN-KR", Body: []byte(`{"date":"` + d + `"}`), ReceivedAt: t0}))
	}
	must(t, db.PutPeerStats(ctx, &store.PeerStats{Peer: "JP", Date: "2020-05-20", Lane: "JP-KR", Body: []byte(`{}`), ReceivedAt: t0}))
	stats, err := db.PeerStatsIn(ctx, "CN", store.DayRange{From: "2020-05-20"})
	must(t, err)
	if len(stats) != 2 || stats[0].Date != "2020-05-20" || string(stats[1].Body) != `{"date":"2020-05-21"}` {
		t.Fatalf("CN's figures from the 20th: %+v", stats)
	}

	// The purge blanks the note and keeps what the ledger counts.
	must(t, db.PurgeTrip(ctx, a.ID, t0.Add(time.Hour)))
	all, err = db.ListSecondaryCases(ctx, store.DayRange{})
	must(t, err)
	if len(all) != 2 || all[0].Note != "" || all[0].LocalRef != k1.LocalRef || all[0].DetectedOn != k1.DetectedOn {
		t.Fatalf("secondary case after the purge: %+v", all[0])
	}
}
