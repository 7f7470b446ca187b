package app

import (
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/hcert"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// An approval signed before its transaction is used only for the trip as
// it was read: a change to the trip or to the sponsor's name in between
// gets a freshly signed approval that carries the change.
func TestPresignedApproval(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		en := newEnv(t, e, loadPolicy(t))
		reviewer, sponsor := en.p["reviewer"], en.p["sponsor"]

		draft, err := en.app.CreateTrip(bg, sponsor, en.input(5))
		must(t, err)
		if en.app.presignApproval(bg, reviewer, draft.ID, "") != nil {
			t.Fatal("an approval was signed for a draft")
		}
		tr := en.submitted("sponsor", 5)
		if en.app.presignApproval(bg, sponsor, tr.ID, "") != nil {
			t.Fatal("an approval was signed for a sponsor")
		}
		pre := en.app.presignApproval(bg, reviewer, tr.ID, "")
		if pre == nil {
			t.Fatal("no approval was signed for a submitted trip")
		}

		// issue runs issueApproval on the stored trip in a transaction
		// that writes nothing.
		issue := func(pre *presigned) *store.Trip {
			t.Helper()
			var got *store.Trip
			must(t, en.db.InTx(bg, func(tx store.Store) error {
				st, err := tx.GetTrip(bg, tr.ID)
				if err != nil {
					return err
				}
				dep, err := time.Parse(time.DateOnly, st.DepartureDate)
				if err != nil {
					return err
				}
				if _, err := en.app.issueApproval(bg, tx, st, dep, en.clock.Now(), pre); err != nil {
					return err
				}
				got = st
				return nil
			}))
			return got
		}
		if got := issue(pre); got.ApprovalID != pre.ap.ID || got.ApprovalHC1 != pre.hc1 {
			t.Fatalf("the unchanged trip got approval %s, not the presigned %s", got.ApprovalID, pre.ap.ID)
		}
		renamed := *pre
		renamed.sponsor = "Another name"
		if got := issue(&renamed); got.ApprovalID == pre.ap.ID {
			t.Fatal("the presigned approval was used though the sponsor's name changed")
		}

		// The sponsor corrects the traveller's name after the approval was
		// signed.
		_, err = en.app.RequestInfo(bg, reviewer, tr.ID, "Please check the traveller's name.")
		must(t, err)
		cur, err := en.db.GetTrip(bg, tr.ID)
		must(t, err)
		in := en.input(5)
		in.Traveller.FamilyName = "Zhao"
		_, err = en.app.UpdateTrip(bg, sponsor, tr.ID, cur.Version, in)
		must(t, err)
		_, err = en.app.AnswerInfo(bg, sponsor, tr.ID, "Corrected.")
		must(t, err)
		got := issue(pre)
		if got.ApprovalID == pre.ap.ID || got.ApprovalHC1 == pre.hc1 {
			t.Fatal("the approval signed before the trip changed was used")
		}
		checkApprovalName(t, en, got, "ZHAO")

		done, err := en.app.ApproveTrip(bg, reviewer, tr.ID, "")
		must(t, err)
		if done.State != trip.Approved {
			t.Fatalf("state %s", done.State)
		}
		checkApprovalName(t, en, done, "ZHAO")
	})
}

// checkApprovalName verifies the trip's entry approval and the traveller's
// family name on it.
func checkApprovalName(t *testing.T, en *env, tr *store.Trip, fnt string) {
	t.Helper()
	u, err := hcert.Decode(tr.ApprovalHC1)
	must(t, err)
	must(t, u.VerifySignature(&en.keys["authority"].PublicKey))
	a, err := approval.Unmarshal(u.Claims.Approval)
	must(t, err)
	if a.ID != tr.ApprovalID || a.Nam.Fnt != fnt {
		t.Fatalf("approval %s for %s, want %s for %s", a.ID, a.Nam.Fnt, tr.ApprovalID, fnt)
	}
}

// The quota is taken last, after the audit entries: a refusal for an
// exhausted quota must still leave the trip, the audit chain and the
// counter as they were.
func TestQuotaRefusalWritesNothing(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		pol := loadPolicy(t, `"KR": 500`, `"KR": 1`)
		en := newEnv(t, e, pol)
		reviewer := en.p["reviewer"]
		first := en.submitted("sponsor", 3)
		_, err := en.app.ApproveTrip(bg, reviewer, first.ID, "")
		must(t, err)
		second := en.submitted("other_sponsor", 3)
		before := en.snap(second.ID)
		_, err = en.app.ApproveTrip(bg, reviewer, second.ID, "")
		wantCode(t, err, CodeQuotaExhausted)
		en.unchanged(before, second.ID)
		used, err := en.db.QuotaUsed(bg, store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR",
			Week: isoWeek(en.clock.Now().AddDate(0, 0, 3))})
		must(t, err)
		if used != 1 {
			t.Fatalf("quota counter %d after one approval and one refusal", used)
		}
	})
}
