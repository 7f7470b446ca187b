package app

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// tripStep is a use case that moves a trip, called by a principal that may
// take the use case.
type tripStep struct {
	name   string
	action trip.Action
	by     string
	call   func(en *env, p Principal, id string) error
}

func drop(_ *Trip, err error) error { return err }

var tripSteps = []tripStep{
	{"submit", trip.Submit, "sponsor", func(en *env, p Principal, id string) error { return drop(en.app.SubmitTrip(bg, p, id)) }},
	{"answer", trip.Resubmit, "sponsor", func(en *env, p Principal, id string) error { return drop(en.app.AnswerInfo(bg, p, id, "answer")) }},
	{"withdraw", trip.Withdraw, "sponsor", func(en *env, p Principal, id string) error { return drop(en.app.WithdrawTrip(bg, p, id, "")) }},
	{"request info", trip.RequestInfo, "reviewer", func(en *env, p Principal, id string) error { return drop(en.app.RequestInfo(bg, p, id, "why?")) }},
	{"approve", trip.Approve, "reviewer", func(en *env, p Principal, id string) error { return drop(en.app.ApproveTrip(bg, p, id, "")) }},
	{"reject", trip.Reject, "reviewer", func(en *env, p Principal, id string) error { return drop(en.app.RejectTrip(bg, p, id, "no")) }},
	{"start monitoring", trip.StartMonitoring, "health_authority", func(en *env, p Principal, id string) error {
		return drop(en.app.StartPreDepartureMonitoring(bg, p, id))
	}},
	{"depart", trip.Depart, "border_officer", func(en *env, p Principal, id string) error {
		return drop(en.app.Depart(bg, p, id, DepartureInput{Flight: "OZ361", Seat: "1A"}))
	}},
	{"arrive", trip.Arrive, "arrival_officer", func(en *env, p Principal, id string) error { return drop(en.app.Arrive(bg, p, id)) }},
	{"hold", trip.Hold, "arrival_officer", func(en *env, p Principal, id string) error { return drop(en.app.HoldForArrivalTest(bg, p, id)) }},
	{"release", trip.Release, "arrival_officer", func(en *env, p Principal, id string) error { return drop(en.app.Release(bg, p, id)) }},
	{"isolate", trip.Isolate, "health_monitor", func(en *env, p Principal, id string) error { return drop(en.app.Isolate(bg, p, id, "fever")) }},
	{"complete isolation", trip.Complete, "health_monitor", func(en *env, p Principal, id string) error {
		return drop(en.app.CompleteIsolation(bg, p, id, "recovered"))
	}},
	{"suspend", trip.Suspend, "joint_officer", func(en *env, p Principal, id string) error { return drop(en.app.SuspendTrip(bg, p, id, "route")) }},
	{"reinstate", trip.Reinstate, "joint_officer", func(en *env, p Principal, id string) error { return drop(en.app.ReinstateTrip(bg, p, id, "")) }},
}

// finalTrip makes a trip in a final state.
func (en *env) finalTrip(s trip.State) *Trip {
	en.t.Helper()
	var tr *Trip
	var err error
	switch s {
	case trip.Rejected:
		tr, err = en.app.RejectTrip(bg, en.p["reviewer"], en.walk(trip.Submitted).ID, "incomplete")
	case trip.Withdrawn:
		tr, err = en.app.WithdrawTrip(bg, en.p["sponsor"], en.walk(trip.Submitted).ID, "")
	case trip.Completed, trip.Expired:
		from, job := trip.Monitoring, en.app.CompleteDueMonitoring
		if s == trip.Expired {
			from, job = trip.Approved, en.app.ExpireStaleApprovals
		}
		tr = en.walk(from)
		var rep JobReport
		rep, err = job(bg, en.clock.Now().AddDate(0, 1, 0))
		if err == nil && (rep.Done < 1 || rep.Failed > 0) {
			err = fmt.Errorf("job: %+v", rep)
		}
		if err == nil {
			tr, err = en.db.GetTrip(bg, tr.ID)
		}
	}
	must(en.t, err)
	if tr.State != s {
		en.t.Fatalf("final trip is %s, want %s", tr.State, s)
	}
	return tr
}

// TestForbiddenTransitions: from every state, every trip-moving use case
// the trip machine does not allow is refused with the machine's refusal
// (a conflict wrapping *trip.Refusal, with its message), and writes
// nothing: not the trip, not a transition, not an audit entry.
func TestForbiddenTransitions(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	live := []trip.State{trip.Draft, trip.Submitted, trip.NeedsInfo, trip.Approved, trip.PreDeparture, trip.Cleared,
		trip.Departed, trip.Arrived, trip.ArrivalHold, trip.Monitoring, trip.Isolated, trip.Suspended}
	final := []trip.State{trip.Rejected, trip.Withdrawn, trip.Completed, trip.Expired}
	refusedCount := 0
	for _, s := range append(live, final...) {
		var tr *Trip
		if s.Final() {
			tr = en.finalTrip(s)
		} else {
			tr = en.walk(s)
		}
		for _, st := range tripSteps {
			role := en.p[st.by].Roles[0]
			if allows(s, role, st.action) {
				continue
			}
			before := en.snap(tr.ID)
			err := st.call(en, en.p[st.by], tr.ID)
			if !isRefusal(err) || ErrorCode(err) != CodeConflict {
				t.Fatalf("%s from %s by %s: got %v (%s), want the trip machine's refusal as a conflict", st.name, s, role, err, ErrorCode(err))
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("%s from %s: refusal without a message", st.name, s)
			}
			en.unchanged(before, tr.ID)
			refusedCount++
		}
	}
	if refusedCount < 150 {
		t.Fatalf("only %d refusals checked", refusedCount)
	}
}

// matrixPrincipals are the principals of the permission matrix.
var matrixPrincipals = []string{"sponsor", "reviewer", "health_authority", "lab", "lab_token", "border_officer",
	"arrival_officer", "health_monitor", "joint_officer", "org_admin", "node_admin", "traveller"}

// useCaseCase is one row of the permission matrix: the state its trip
// must be in ("" for none), the principals allowed, and the call.
type useCaseCase struct {
	name    string
	state   trip.State
	allowed []string
	call    func(en *env, p Principal, tr *Trip) error
}

var officials = []string{"sponsor", "reviewer", "health_authority", "border_officer", "arrival_officer", "health_monitor", "joint_officer"}

// The permission matrix, written out by hand (not derived from the
// permissions table it checks).
var matrix = []useCaseCase{
	{"create trip", "", []string{"sponsor"}, func(en *env, p Principal, _ *Trip) error { return drop(en.app.CreateTrip(bg, p, en.input(2))) }},
	{"edit trip", trip.Draft, []string{"sponsor"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.UpdateTrip(bg, p, tr.ID, tr.Version, en.input(3)))
	}},
	{"submit", trip.Draft, []string{"sponsor"}, func(en *env, p Principal, tr *Trip) error { return drop(en.app.SubmitTrip(bg, p, tr.ID)) }},
	{"answer info", trip.NeedsInfo, []string{"sponsor"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.AnswerInfo(bg, p, tr.ID, "the plant is in Asan"))
	}},
	{"withdraw", trip.Submitted, []string{"sponsor", "reviewer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.WithdrawTrip(bg, p, tr.ID, "plans changed"))
	}},
	{"list trips", "", officials, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.ListTrips(bg, p, TripQuery{})
		return err
	}},
	{"view trip", trip.Submitted, officials, func(en *env, p Principal, tr *Trip) error {
		_, err := en.app.GetTrip(bg, p, tr.ID)
		return err
	}},
	{"traveller link", trip.Submitted, []string{"sponsor", "reviewer"}, func(en *env, p Principal, tr *Trip) error {
		_, err := en.app.IssueTravellerLink(bg, p, tr.ID)
		return err
	}},
	{"request info", trip.Submitted, []string{"reviewer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.RequestInfo(bg, p, tr.ID, "which plant?"))
	}},
	{"approve", trip.Submitted, []string{"reviewer"}, func(en *env, p Principal, tr *Trip) error { return drop(en.app.ApproveTrip(bg, p, tr.ID, "")) }},
	{"reject", trip.Submitted, []string{"reviewer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.RejectTrip(bg, p, tr.ID, "not eligible"))
	}},
	{"start monitoring", trip.Approved, []string{"health_authority"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.StartPreDepartureMonitoring(bg, p, tr.ID))
	}},
	{"declare before departure", trip.PreDeparture, []string{"traveller", "health_authority"}, func(en *env, p Principal, tr *Trip) error {
		_, err := en.app.RecordDeclaration(bg, p, tr.ID, DeclarationInput{TemperatureC: 36.5})
		return err
	}},
	{"declare after arrival", trip.Monitoring, []string{"traveller", "health_monitor"}, func(en *env, p Principal, tr *Trip) error {
		_, err := en.app.RecordDeclaration(bg, p, tr.ID, DeclarationInput{TemperatureC: 36.5})
		return err
	}},
	{"record test", trip.Approved, []string{"lab", "lab_token"}, func(en *env, p Principal, tr *Trip) error {
		_, err := en.app.RecordTest(bg, p, TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "NAAT",
			SampledAt: en.clock.Now().Add(-time.Hour), Result: store.ResultNegative})
		return err
	}},
	{"depart", trip.Cleared, []string{"border_officer", "health_authority"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.Depart(bg, p, tr.ID, DepartureInput{Flight: "OZ361", Seat: "1A"}))
	}},
	{"arrive", trip.Departed, []string{"arrival_officer", "border_officer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.Arrive(bg, p, tr.ID))
	}},
	{"hold", trip.Arrived, []string{"arrival_officer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.HoldForArrivalTest(bg, p, tr.ID))
	}},
	{"release", "release-ready", []string{"arrival_officer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.Release(bg, p, tr.ID))
	}},
	{"isolate", trip.Monitoring, []string{"arrival_officer", "health_monitor", "health_authority"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.Isolate(bg, p, tr.ID, "fever"))
	}},
	{"complete isolation", trip.Isolated, []string{"health_monitor", "health_authority"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.CompleteIsolation(bg, p, tr.ID, "recovered, two negative tests"))
	}},
	{"suspend trip", trip.Submitted, []string{"joint_officer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.SuspendTrip(bg, p, tr.ID, "route review"))
	}},
	{"reinstate trip", trip.Suspended, []string{"joint_officer"}, func(en *env, p Principal, tr *Trip) error {
		return drop(en.app.ReinstateTrip(bg, p, tr.ID, ""))
	}},
	{"suspend lane", "", []string{"joint_officer"}, func(en *env, p Principal, _ *Trip) error {
		if _, err := en.app.SuspendLane(bg, p, "CN-KR", en.clock.Now().Add(24*time.Hour), "5 arrival positives"); err != nil {
			return err
		}
		return drop2(en.app.LiftLaneSuspension(bg, p, "CN-KR"))
	}},
	{"change policy", "", []string{"joint_officer"}, func(en *env, p Principal, _ *Trip) error {
		cur := en.app.Policy()
		doc := strings.Replace(string(cur.Document()), fmt.Sprintf(`"version": %d,`, cur.Version), fmt.Sprintf(`"version": %d,`, cur.Version+1), 1)
		_, err := en.app.ChangePolicy(bg, p, []byte(doc))
		return err
	}},
	{"list alerts", "", []string{"health_monitor", "health_authority"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.ListAlerts(bg, p, AlertQuery{OpenOnly: true})
		return err
	}},
	{"acknowledge alert", "alert", []string{"health_monitor", "health_authority"}, func(en *env, p Principal, tr *Trip) error {
		alerts, err := en.db.ListAlerts(bg, store.AlertFilter{TripID: tr.ID})
		if err != nil || len(alerts) != 1 {
			return fmt.Errorf("setup: %d alerts, %v", len(alerts), err)
		}
		return en.app.AcknowledgeAlert(bg, p, alerts[0].ID)
	}},
	{"create organisation", "", []string{"node_admin"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.CreateOrganisation(bg, p, OrgInput{Kind: auth.KindLab, Name: "Lab " + auth.NewID(), Country: "CN"})
		return err
	}},
	{"list organisations", "", []string{"node_admin", "org_admin"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.ListOrganisations(bg, p)
		return err
	}},
	{"invite member", "", []string{"node_admin", "org_admin"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.Invite(bg, p, InviteInput{OrgID: en.orgs["sponsor"].ID, Email: auth.NewID() + "@example.org", Roles: auth.NewRoles(auth.RoleAdmin)})
		return err
	}},
	{"list members", "", []string{"node_admin", "org_admin"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.ListMembers(bg, p, en.orgs["sponsor"].ID)
		return err
	}},
	{"list API tokens", "", []string{"node_admin", "org_admin"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.ListAPITokens(bg, p, en.orgs["sponsor"].ID)
		return err
	}},
	{"list dead letters", "", []string{"joint_officer"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.DeadLetters(bg, p, DeadLetterQuery{OpenOnly: true})
		return err
	}},
	{"see the ledger", "", []string{"health_authority", "joint_officer"}, func(en *env, p Principal, _ *Trip) error {
		_, err := en.app.JointLedger(bg, p, LedgerQuery{})
		return err
	}},
	{"record secondary case", trip.Departed, []string{"health_authority", "joint_officer"}, func(en *env, p Principal, tr *Trip) error {
		_, err := en.app.RecordSecondaryCase(bg, p, SecondaryInput{TripRef: tr.Reference, DetectedOn: en.day(0), LocalRef: auth.NewID()})
		return err
	}},
}

// matrixTrip makes a trip for a matrix row.
func (en *env) matrixTrip(state trip.State) *Trip {
	switch state {
	case "":
		return nil
	case "release-ready":
		// The arrival test is in before the hold starts, so the hold (0 h
		// under the fast policy) is due at once but nobody released it.
		tr := en.walk(trip.Arrived)
		en.negativeTest(tr, "lab")
		tr, err := en.app.HoldForArrivalTest(bg, en.p["arrival_officer"], tr.ID)
		must(en.t, err)
		return tr
	case "alert":
		tr := en.walk(trip.Monitoring)
		res, err := en.app.RecordDeclaration(bg, en.p["health_monitor"], tr.ID, DeclarationInput{TemperatureC: 38.1})
		must(en.t, err)
		if res.Alert == nil {
			en.t.Fatal("no alert for a fever")
		}
		return tr
	}
	return en.walk(state)
}

// TestPermissionMatrix: every use case, by every kind of principal, is
// allowed or refused as the matrix says. An allowed call succeeds on a
// trip in the right state; a refused one is forbidden and writes nothing.
func TestPermissionMatrix(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	principal := func(name string, tr *Trip) Principal {
		if name == "traveller" {
			id := ""
			if tr != nil {
				id = tr.ID
			}
			return Principal{Kind: KindTraveller, ID: id}
		}
		return en.p[name]
	}
	covered := map[UseCase]bool{}
	for _, row := range matrix {
		t.Run(row.name, func(t *testing.T) {
			en.t = t
			shared := en.matrixTrip(row.state) // for the refused: they must leave it as it is
			for _, name := range matrixPrincipals {
				allowed := slices.Contains(row.allowed, name)
				tr := shared
				if allowed {
					tr = en.matrixTrip(row.state) // a fresh one: success changes it
				}
				id := ""
				if tr != nil {
					id = tr.ID
				}
				before := en.snap(id)
				err := row.call(en, principal(name, tr), tr)
				if allowed {
					if err != nil {
						t.Errorf("%s by %s: refused: %v", row.name, name, err)
					}
					continue
				}
				if ErrorCode(err) != CodeForbidden {
					t.Errorf("%s by %s: got %v (%s), want forbidden", row.name, name, err, ErrorCode(err))
					continue
				}
				en.unchanged(before, id)
			}
		})
	}
	en.t = t
	// Every use case the application knows has a row (or is covered by
	// the trip steps above).
	for _, uc := range UseCases() {
		covered[uc] = false
	}
	names := map[string]UseCase{"create trip": UCTripCreate, "edit trip": UCTripEdit, "submit": UCTripSubmit, "answer info": UCTripAnswer,
		"withdraw": UCTripWithdraw, "list trips": UCTripList, "view trip": UCTripView, "traveller link": UCTravellerLink,
		"request info": UCTripRequestInfo, "approve": UCTripApprove, "reject": UCTripReject, "start monitoring": UCStartMonitoring,
		"declare before departure": UCDeclare, "declare after arrival": UCDeclare, "record test": UCTestRecord, "depart": UCTripDepart,
		"arrive": UCTripArrive, "hold": UCTripHold, "release": UCTripRelease, "isolate": UCTripIsolate, "complete isolation": UCTripCompleteIsolate,
		"suspend trip": UCTripSuspend, "reinstate trip": UCTripReinstate, "suspend lane": UCLaneSuspend, "change policy": UCPolicyChange, "list alerts": UCAlerts,
		"acknowledge alert": UCAlertAck, "create organisation": UCOrgCreate, "list organisations": UCOrgList, "invite member": UCMembersManage,
		"list members": UCMembersManage, "list API tokens": UCTokensManage, "list dead letters": UCFederation,
		"see the ledger": UCLedger, "record secondary case": UCSecondaryRecord}
	for _, row := range matrix {
		uc, ok := names[row.name]
		if !ok {
			t.Fatalf("matrix row %q names no use case", row.name)
		}
		covered[uc] = true
	}
	for uc, ok := range covered {
		if !ok {
			t.Errorf("use case %s has no row in the permission matrix", uc)
		}
	}
}
