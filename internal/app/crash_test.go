package app

import (
	"context"
	"errors"
	"testing"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// faultyStore fails (or panics, as a dying process would stop) at one
// chosen write, inside the transaction of a use case.
type faultyStore struct {
	store.Store
	failAt string // "transition", "audit" or "update"
	panic  bool
}

var errInjected = errors.New("injected failure")

func (f *faultyStore) fault(op string) error {
	if op != f.failAt {
		return nil
	}
	if f.panic {
		panic("process killed at " + op)
	}
	return errInjected
}

func (f *faultyStore) InTx(ctx context.Context, fn func(store.Store) error) error {
	return f.Store.InTx(ctx, func(tx store.Store) error {
		return fn(&faultyStore{Store: tx, failAt: f.failAt, panic: f.panic})
	})
}

func (f *faultyStore) UpdateTrip(ctx context.Context, t *store.Trip) error {
	if err := f.fault("update"); err != nil {
		return err
	}
	return f.Store.UpdateTrip(ctx, t)
}

func (f *faultyStore) AddTransition(ctx context.Context, tr *store.Transition) error {
	if err := f.fault("transition"); err != nil {
		return err
	}
	return f.Store.AddTransition(ctx, tr)
}

func (f *faultyStore) AppendAudit(ctx context.Context, e *audit.Entry) error {
	if err := f.fault("audit"); err != nil {
		return err
	}
	return f.Store.AppendAudit(ctx, e)
}

// TestCrashMidTransition: an approval that fails, or whose process dies,
// after some of its writes (quota taken, trip row updated, transition
// written) leaves the trip submitted, the quota untaken, no transition and
// no audit entry. Then the same approval succeeds.
func TestCrashMidTransition(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		en := newEnv(t, e, fastPolicy(t))
		tr := en.submitted("sponsor", 2)
		week := isoWeek(en.clock.Now().AddDate(0, 0, 2))
		quota := store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: week}
		for _, tc := range []struct {
			at    string
			panic bool
		}{{"update", false}, {"transition", false}, {"audit", false}, {"transition", true}, {"audit", true}} {
			before := en.snap(tr.ID)
			faulty := en.newApp(&faultyStore{Store: en.db, failAt: tc.at, panic: tc.panic}, fastPolicy(t))
			func() {
				defer func() {
					r := recover()
					if tc.panic && r == nil {
						t.Fatalf("%s: no panic", tc.at)
					}
					if !tc.panic && r != nil {
						panic(r)
					}
				}()
				_, err := faulty.ApproveTrip(bg, en.p["reviewer"], tr.ID, "")
				if !errors.Is(err, errInjected) {
					t.Fatalf("%s: got %v, want the injected failure", tc.at, err)
				}
			}()
			en.unchanged(before, tr.ID)
			if used, _ := en.db.QuotaUsed(bg, quota); used != 0 {
				t.Fatalf("%s: quota taken by a failed approval: %d", tc.at, used)
			}
			got, _ := en.db.GetTrip(bg, tr.ID)
			if got.ApprovalHC1 != "" || got.State != trip.Submitted {
				t.Fatalf("%s: half-written approval: %+v", tc.at, got)
			}
		}
		got, err := en.app.ApproveTrip(bg, en.p["reviewer"], tr.ID, "")
		must(t, err)
		if got.State != trip.Approved {
			t.Fatalf("state %s", got.State)
		}
		if used, _ := en.db.QuotaUsed(bg, quota); used != 1 {
			t.Fatalf("quota %d after the approval", used)
		}
	})
}
