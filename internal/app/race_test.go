package app

import (
	"errors"
	"sync"
	"testing"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// TestQuotaRace: 50 reviewers approve 50 applications at once, through
// four separate connection pools (four App instances, as four node
// processes would), against a weekly quota of 10 for the region. Exactly
// 10 are approved; the other 40 are refused with quota_exhausted and stay
// submitted.
func TestQuotaRace(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		pol := loadPolicy(t, `"KR": 500`, `"KR": 10`, `"weekly_per_sponsor": 20`, `"weekly_per_sponsor": 0`)
		en := newEnv(t, e, pol)
		apps := []*App{en.app}
		for i := 0; i < 3; i++ {
			apps = append(apps, en.newApp(e.Reopen(t, en.db), pol))
		}
		const n, quota = 50, 10
		ids := make([]string, n)
		for i := range ids {
			ids[i] = en.submitted("sponsor", 3).ID
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		approved, exhausted := 0, 0
		var other []error
		for i, id := range ids {
			wg.Add(1)
			go func(a *App, id string) {
				defer wg.Done()
				<-start
				_, err := a.ApproveTrip(bg, en.p["reviewer"], id, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					approved++
				case ErrorCode(err) == CodeQuotaExhausted:
					exhausted++
				default:
					other = append(other, err)
				}
			}(apps[i%len(apps)], id)
		}
		close(start)
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("%d approvals failed otherwise, first: %v", len(other), errors.Join(other...))
		}
		if approved != quota || exhausted != n-quota {
			t.Fatalf("%d approved, %d refused for quota; want %d and %d", approved, exhausted, quota, n-quota)
		}
		counts, err := en.db.CountTrips(bg)
		must(t, err)
		if counts[trip.Approved] != quota || counts[trip.Submitted] != n-quota {
			t.Fatalf("trip states %v", counts)
		}
		week := isoWeek(en.clock.Now().AddDate(0, 0, 3))
		used, err := en.db.QuotaUsed(bg, store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: week})
		must(t, err)
		if used != quota {
			t.Fatalf("quota counter %d, want %d", used, quota)
		}
	})
}
