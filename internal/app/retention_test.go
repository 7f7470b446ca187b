package app

import (
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// TestRetention: only trips that reached a final state longer ago than
// the retention lose their personal data; trips still running, however
// old, keep it; counts, states and the audit chain stay whole; a
// retention under 14 days is refused and purges nothing.
func TestRetention(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		en := newEnv(t, e, fastPolicy(t))
		oldRejected := en.finalTrip(trip.Rejected)
		oldWithdrawn := en.finalTrip(trip.Withdrawn)
		running := en.walk(trip.Isolated) // old, but not finished
		en.clock.Add(20 * 24 * time.Hour)
		recent := en.finalTrip(trip.Rejected)
		countsBefore, err := en.db.CountTrips(bg)
		must(t, err)

		now := en.clock.Now().Add(10 * 24 * time.Hour) // the old ones finished 30 days before, the recent one 10
		for _, days := range []int{13, 1, -5} {
			before := en.snap("")
			_, err := en.app.PurgePersonalData(bg, now, days)
			wantCode(t, err, CodeInvalid)
			en.unchanged(before, "")
		}
		rep, err := en.app.PurgePersonalData(bg, now, 0) // the policy's 28 days
		must(t, err)
		if rep.Done != 2 || rep.Failed != 0 || rep.RetentionDays != 28 {
			t.Fatalf("purge %+v", rep)
		}
		for _, tr := range []*Trip{oldRejected, oldWithdrawn} {
			got, err := en.db.GetTrip(bg, tr.ID)
			must(t, err)
			if got.Traveller != (Traveller{}) || got.Host != (Contact{}) || got.PurgedAt.IsZero() || got.State != tr.State {
				t.Fatalf("old %s trip after purge: %+v", tr.State, got)
			}
		}
		for _, tr := range []*Trip{running, recent} {
			got, err := en.db.GetTrip(bg, tr.ID)
			must(t, err)
			if got.Traveller.PassportNumber != "E12345678" || !got.PurgedAt.IsZero() {
				t.Fatalf("%s trip lost its data: %+v", got.State, got.Traveller)
			}
		}
		again, err := en.app.PurgePersonalData(bg, now, 0)
		must(t, err)
		if again.Done != 0 {
			t.Fatalf("purged %d trips twice", again.Done)
		}
		countsAfter, err := en.db.CountTrips(bg)
		must(t, err)
		for s, n := range countsBefore {
			if countsAfter[s] != n {
				t.Fatalf("counts changed: %v -> %v", countsBefore, countsAfter)
			}
		}
		vr, err := audit.Verify(bg, en.db)
		must(t, err)
		if vr.Problem != nil {
			t.Fatal(vr.Problem)
		}
	})
}
