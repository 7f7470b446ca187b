package demo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/verify"
)

// Summary is what a scripted run left on both nodes.
type Summary struct {
	Nodes map[string]*NodeSummary `json:"nodes"`
	// SharedTrips counts the trips that live on both nodes.
	SharedTrips int `json:"shared_trips"`
	// Agree tells whether both nodes hold every shared trip in the same
	// state; Disagreements names the trips where they do not.
	Agree         bool     `json:"agree"`
	Disagreements []string `json:"disagreements,omitempty"`
}

// NodeSummary is one node's figures.
type NodeSummary struct {
	TripsByState map[trip.State]int `json:"trips_by_state"`
	Messages     Messages           `json:"messages"`
	// Cases opened here; NotifiedCases the peer's cases notified here.
	Cases         int `json:"cases"`
	NotifiedCases int `json:"notified_cases"`
	// Contacts counts the trips flagged here as contacts of a case.
	Contacts int `json:"contacts"`
	// CrossBorderInfections counts secondary cases linked to a lane
	// traveller, here and as notified: the ledger's headline.
	CrossBorderInfections int `json:"cross_border_infections"`
	// CasesByStage counts the positives found here, as this node's
	// column of the joint dashboard does: the cases opened here by the
	// ledger's stage, and the secondary cases recorded here.
	CasesByStage map[ledger.Stage]int `json:"cases_by_stage"`
	DeadLetters  int                  `json:"dead_letters"`
	// PeerTestVerifies tells whether a test result issued by the peer's
	// lab verifies here, against the trust list the peer sent; absent on
	// the node that issued it.
	PeerTestVerifies *bool `json:"peer_test_verifies,omitempty"`
}

// Messages counts what crossed, from this node's side.
type Messages struct {
	Sent      uint64           `json:"sent"`
	Received  int64            `json:"received"`
	Applied   int64            `json:"applied"`
	Duplicate int64            `json:"duplicate"`
	Held      int64            `json:"held"`
	Refused   map[string]int64 `json:"refused"`
}

// scripted travellers and what happens to each.
const (
	arrivalPositive      = "positive on arrival"
	negative             = "negative throughout"
	withdrawn            = "withdrawn before departure"
	preDeparturePositive = "positive before departure"
	symptoms             = "isolated for symptoms during monitoring"
	rejected             = "rejected"
)

type traveller struct {
	given, family, passport string
	flight, seat            string
	story                   string
	krID, cnID, ref         string
	hc1                     string // the pre-departure test certificate
}

// RunScript runs trips through both nodes, settling the link between
// steps, and returns the summary. say, when not nil, narrates.
//
// Lane CN-KR under the sample policy: Korea files and approves; China
// runs fourteen days of monitoring, its lab's NAAT and the departure;
// Korea holds each arrival 48 hours for its test, then follows fourteen
// days of monitoring. One traveller tests positive on arrival: the case
// is notified, both sides trace its contacts (a fellow passenger a row
// away, travellers in the same hold), and flag them. Another tests
// positive before departure and never travels; a third reports a fever
// while monitored and is isolated without a positive test. All three
// isolations end, each on the side that has the traveller. One
// application is suspended, reinstated and then withdrawn; one rejected.
func (d *Demo) RunScript(ctx context.Context, say func(format string, a ...any)) (*Summary, error) {
	if say == nil {
		say = func(string, ...any) {}
	}
	kr, cn := d.Sides["KR"], d.Sides["CN"]
	ts := []*traveller{
		{given: "Wei", family: "Zhang", passport: "E12345671", flight: "OZ361", seat: "32A", story: arrivalPositive},
		{given: "Na", family: "Li", passport: "E12345672", flight: "OZ361", seat: "33C", story: negative},
		{given: "Fang", family: "Wang", passport: "E12345673", flight: "MU5041", seat: "10A", story: negative},
		{given: "Jun", family: "Chen", passport: "E12345674", story: withdrawn},
		{given: "Min", family: "Liu", passport: "E12345675", story: preDeparturePositive},
		{given: "Lei", family: "Zhao", passport: "E12345676", story: rejected},
		{given: "Yan", family: "Huang", passport: "E12345677", flight: "MU5041", seat: "14F", story: symptoms},
	}
	settle := func(what string) error {
		if err := d.Settle(ctx, time.Minute); err != nil {
			return fmt.Errorf("after %s: %w", what, err)
		}
		return nil
	}
	const depDay = 16
	today := d.Clock.Now()
	date := func(n int) string { return today.UTC().AddDate(0, 0, n).Format(time.DateOnly) }

	// Day 0: Korea files and reviews the applications.
	for i, t := range ts {
		in := app.TripInput{Lane: "CN-KR", Region: "KR", Purpose: "engineering",
			Traveller: app.Traveller{GivenName: t.given, FamilyName: t.family, DateOfBirth: "1985-03-02", Sex: "M", Nationality: "CN",
				PassportCountry: "CN", PassportNumber: t.passport, Email: "traveller@example.cn"},
			Host:          app.Contact{Name: "Kim Min-jun", Phone: "+82 2 555 0100"},
			DepartureDate: date(depDay), ReturnDate: date(depDay + 30),
			Itinerary: []app.ItineraryItem{
				{Kind: "lodging", Site: fmt.Sprintf("Asan hotel %d", i+1), Address: "1 Gate Road, Asan", FromDate: date(depDay), ToDate: date(depDay + 30)},
				{Kind: "work_site", Site: "Asan display plant", FromDate: date(depDay + 3), ToDate: date(depDay + 29)},
			}}
		tr, err := kr.Node.App.CreateTrip(ctx, kr.As[trip.RoleSponsor], in)
		if err != nil {
			return nil, fmt.Errorf("filing %s's application: %w", t.family, err)
		}
		if _, err := kr.Node.App.SubmitTrip(ctx, kr.As[trip.RoleSponsor], tr.ID); err != nil {
			return nil, err
		}
		t.krID, t.ref = tr.ID, tr.Reference
		if t.story == rejected {
			_, err = kr.Node.App.RejectTrip(ctx, kr.As[trip.RoleReviewer], tr.ID, "the purpose is not eligible for the lane")
		} else {
			_, err = kr.Node.App.ApproveTrip(ctx, kr.As[trip.RoleReviewer], tr.ID, "")
		}
		if err != nil {
			return nil, fmt.Errorf("reviewing %s's application: %w", t.family, err)
		}
	}
	if err := settle("the approvals"); err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.story == rejected {
			continue
		}
		tw, err := cn.Node.Store.GetTripByReference(ctx, t.ref)
		if err != nil {
			return nil, fmt.Errorf("the approval of %s did not reach China: %w", t.ref, err)
		}
		t.cnID = tw.ID
	}
	say("day 0: Korea approved %d applications and rejected 1; China holds their twins", len(ts)-1)

	// Days 1 to 15: China's health authority takes the daily declarations.
	for day := 1; day < depDay; day++ {
		d.Clock.Advance(24 * time.Hour)
		for _, t := range ts {
			if t.story == rejected || (t.story == withdrawn && day > 3) {
				continue
			}
			if _, err := cn.Node.App.RecordDeclaration(ctx, cn.As[trip.RoleHealthAuthority], t.cnID, app.DeclarationInput{TemperatureC: 36.6}); err != nil {
				return nil, fmt.Errorf("day %d, %s's declaration: %w", day, t.ref, err)
			}
		}
		if day == 2 {
			for _, t := range ts {
				if t.story == withdrawn {
					if _, err := kr.Node.App.SuspendTrip(ctx, kr.As[trip.RoleJoint], t.krID, "the sponsor's site is under review"); err != nil {
						return nil, fmt.Errorf("suspending %s: %w", t.ref, err)
					}
					if err := settle("the suspension"); err != nil {
						return nil, err
					}
					if _, err := kr.Node.App.ReinstateTrip(ctx, kr.As[trip.RoleJoint], t.krID, "the review found nothing"); err != nil {
						return nil, fmt.Errorf("reinstating %s: %w", t.ref, err)
					}
					if err := settle("the reinstatement"); err != nil {
						return nil, err
					}
				}
			}
		}
		if day == 3 {
			for _, t := range ts {
				if t.story == withdrawn {
					if _, err := kr.Node.App.WithdrawTrip(ctx, kr.As[trip.RoleSponsor], t.krID, "the project was postponed"); err != nil {
						return nil, err
					}
				}
			}
		}
		d.RunJobs(ctx)
		// A day passes for real only once the link is quiet: a delivery
		// signed before the clock jumps a day would be refused as stale.
		if err := settle("the day's jobs"); err != nil {
			return nil, err
		}
	}
	if err := settle("pre-departure monitoring"); err != nil {
		return nil, err
	}
	say("days 1-15: China took 15 days of declarations; one application was suspended and reinstated on day 2, and withdrawn on day 3")

	// Day 15: China's lab tests before departure.
	for _, t := range ts {
		if t.story == rejected || t.story == withdrawn {
			continue
		}
		result := store.ResultNegative
		if t.story == preDeparturePositive {
			result = store.ResultPositive
		}
		rec, err := cn.Node.App.RecordTest(ctx, cn.As[trip.RoleLab], app.TestInput{Reference: t.ref, PassportNumber: t.passport, TestType: "NAAT",
			TestName: "RT-PCR", SampledAt: d.Clock.Now().Add(-time.Hour), Result: result, Facility: "Shanghai Clinical Laboratory"})
		if err != nil {
			return nil, fmt.Errorf("%s's pre-departure test: %w", t.ref, err)
		}
		t.hc1 = rec.Test.HC1
	}
	if err := settle("the pre-departure tests"); err != nil {
		return nil, err
	}
	say("day 15: China's lab tested; four travellers cleared, one positive isolated before departure")

	// Day 16: departures from Shanghai, arrivals at Incheon.
	d.Clock.Advance(24 * time.Hour)
	for _, t := range ts {
		if t.flight == "" {
			continue
		}
		if _, err := cn.Node.App.Depart(ctx, cn.As[trip.RoleBorder], t.cnID, app.DepartureInput{Flight: t.flight, Seat: t.seat}); err != nil {
			return nil, fmt.Errorf("%s's departure: %w", t.ref, err)
		}
	}
	if err := settle("the departures"); err != nil {
		return nil, err
	}
	d.Clock.Advance(3 * time.Hour)
	for _, t := range ts {
		if t.flight == "" {
			continue
		}
		if _, err := kr.Node.App.Arrive(ctx, kr.As[trip.RoleArrival], t.krID); err != nil {
			return nil, fmt.Errorf("%s's arrival: %w", t.ref, err)
		}
		if _, err := kr.Node.App.HoldForArrivalTest(ctx, kr.As[trip.RoleArrival], t.krID); err != nil {
			return nil, fmt.Errorf("%s's hold: %w", t.ref, err)
		}
	}
	// China follows its travellers into the hold before any result is in.
	if err := settle("the arrivals"); err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.flight == "" {
			continue
		}
		tw, err := cn.Node.Store.GetTrip(ctx, t.cnID)
		if err != nil {
			return nil, err
		}
		if tw.State != trip.ArrivalHold {
			return nil, fmt.Errorf("China holds %s as %s after its arrival and hold in Korea", t.ref, tw.State)
		}
	}
	d.Clock.Advance(time.Hour)
	// The negatives first, so that China knows every hold before it
	// traces the positive's contacts.
	order := append([]*traveller(nil), ts...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].story != arrivalPositive && order[j].story == arrivalPositive })
	for _, t := range order {
		if t.flight == "" {
			continue
		}
		result := store.ResultNegative
		if t.story == arrivalPositive {
			result = store.ResultPositive
		}
		if _, err := kr.Node.App.RecordTest(ctx, kr.As[trip.RoleLab], app.TestInput{Reference: t.ref, PassportNumber: t.passport, TestType: "NAAT",
			TestName: "RT-PCR", SampledAt: d.Clock.Now().Add(-30 * time.Minute), Result: result, Facility: "Incheon Airport Testing Centre"}); err != nil {
			return nil, fmt.Errorf("%s's arrival test: %w", t.ref, err)
		}
	}
	if err := settle("the arrival tests"); err != nil {
		return nil, err
	}
	say("day 16: four arrivals held at Incheon; one tested positive, and both nodes traced its contacts")

	// Day 18: the holds end.
	d.Clock.Advance(48 * time.Hour)
	d.RunJobs(ctx)
	if err := settle("the releases"); err != nil {
		return nil, err
	}
	// Days 19 to 32: Korea follows the released travellers.
	for day := 0; day < 15; day++ {
		d.Clock.Advance(24 * time.Hour)
		for _, t := range ts {
			switch {
			case t.story == symptoms && day == 4:
				if _, err := kr.Node.App.RecordDeclaration(ctx, kr.As[trip.RoleHealthMonitor], t.krID,
					app.DeclarationInput{TemperatureC: 38.2, Symptoms: []string{"fever", "cough"}}); err != nil {
					return nil, fmt.Errorf("%s's post-arrival declaration: %w", t.ref, err)
				}
				if _, err := kr.Node.App.Isolate(ctx, kr.As[trip.RoleHealthMonitor], t.krID, "fever and cough on the fifth day of monitoring"); err != nil {
					return nil, fmt.Errorf("isolating %s: %w", t.ref, err)
				}
				continue
			case t.story == symptoms && day == 11:
				if _, err := kr.Node.App.CompleteIsolation(ctx, kr.As[trip.RoleHealthMonitor], t.krID, "symptoms gone; two negative tests"); err != nil {
					return nil, fmt.Errorf("ending %s's isolation: %w", t.ref, err)
				}
			}
			if t.story != negative && !(t.story == symptoms && day < 4) {
				continue
			}
			if _, err := kr.Node.App.RecordDeclaration(ctx, kr.As[trip.RoleHealthMonitor], t.krID, app.DeclarationInput{TemperatureC: 36.5}); err != nil &&
				app.ErrorCode(err) != app.CodeConflict { // the last day may fall after monitoring ended
				return nil, fmt.Errorf("%s's post-arrival declaration: %w", t.ref, err)
			}
		}
		d.RunJobs(ctx)
		// A day passes for real only once the link is quiet: a delivery
		// signed before the clock jumps a day would be refused as stale.
		if err := settle("the day's jobs"); err != nil {
			return nil, err
		}
	}
	if err := settle("post-arrival monitoring"); err != nil {
		return nil, err
	}
	say("days 18-33: the negatives were released, monitored for 14 days and completed on both nodes; one was isolated for symptoms on day 23 and left isolation on day 30")

	// Day 33: the two positives leave isolation, each ended by the side
	// that has the traveller, and the other side follows.
	for _, t := range ts {
		var err error
		switch t.story {
		case arrivalPositive:
			_, err = kr.Node.App.CompleteIsolation(ctx, kr.As[trip.RoleHealthMonitor], t.krID, "recovered: two negative tests 24 hours apart")
		case preDeparturePositive:
			_, err = cn.Node.App.CompleteIsolation(ctx, cn.As[trip.RoleHealthAuthority], t.cnID, "recovered: two negative tests 24 hours apart")
		}
		if err != nil {
			return nil, fmt.Errorf("ending %s's isolation: %w", t.ref, err)
		}
	}
	if err := settle("the ends of isolation"); err != nil {
		return nil, err
	}
	say("day 33: both positives recovered; their isolations ended on the side that had them, and both nodes completed the trips")
	return d.Summarise(ctx, ts[0].hc1, cn)
}

// Summarise counts what both nodes hold and compares their shared trips.
// peerTest, issued on side issuer, is checked on the other side.
func (d *Demo) Summarise(ctx context.Context, peerTest string, issuer *Side) (*Summary, error) {
	sum := &Summary{Nodes: map[string]*NodeSummary{}, Agree: true}
	states := map[string]map[string]trip.State{} // country -> ref -> state of shared trips
	for _, c := range Countries {
		s := d.Sides[c]
		ns, shared, err := s.summarise(ctx)
		if err != nil {
			return nil, fmt.Errorf("summing up %s: %w", c, err)
		}
		if peerTest != "" && s != issuer {
			r := s.Node.Verifier().Text(peerTest, d.Clock.Now())
			ok := r.Check(verify.StepSignature).Result == verify.Pass
			ns.PeerTestVerifies = &ok
		}
		sum.Nodes[c], states[c] = ns, shared
	}
	refs := map[string]bool{}
	for _, m := range states {
		for ref := range m {
			refs[ref] = true
		}
	}
	for ref := range refs {
		a, b := states["CN"][ref], states["KR"][ref]
		if a != b {
			sum.Agree = false
			sum.Disagreements = append(sum.Disagreements, fmt.Sprintf("%s: CN %q, KR %q", ref, a, b))
		}
	}
	sort.Strings(sum.Disagreements)
	sum.SharedTrips = len(refs)
	return sum, nil
}

func (s *Side) summarise(ctx context.Context) (*NodeSummary, map[string]trip.State, error) {
	db := s.Node.Store
	ns := &NodeSummary{Messages: Messages{Refused: map[string]int64{}}}
	var err error
	if ns.TripsByState, err = db.CountTrips(ctx); err != nil {
		return nil, nil, err
	}
	counts, err := db.Counts(ctx)
	if err != nil {
		return nil, nil, err
	}
	for peer, m := range counts {
		for name, n := range m {
			switch name {
			case federation.CountReceived:
				ns.Messages.Received += n
			case federation.CountApplied:
				ns.Messages.Applied += n
			case federation.CountDuplicate:
				ns.Messages.Duplicate += n
			case federation.CountHeld:
				ns.Messages.Held += n
			case federation.CountDead:
			default:
				ns.Messages.Refused[name] += n
			}
		}
		if peer != "" {
			st, err := db.OutboxStatus(ctx, peer)
			if err != nil {
				return nil, nil, err
			}
			for _, n := range st.LastSeq {
				ns.Messages.Sent += n
			}
		}
	}
	dead, err := db.ListDeadLetters(ctx, store.DeadLetterFilter{OpenOnly: true, Limit: 1000})
	if err != nil {
		return nil, nil, err
	}
	ns.DeadLetters = len(dead)
	notified, err := db.ListPeerCases(ctx, 1000)
	if err != nil {
		return nil, nil, err
	}
	ns.NotifiedCases = len(notified)
	for _, k := range notified {
		if ledger.Stage(k.Stage) == ledger.Secondary {
			ns.CrossBorderInfections++
		}
	}
	ns.CasesByStage = map[ledger.Stage]int{}
	secondary, err := db.ListSecondaryCases(ctx, store.DayRange{})
	if err != nil {
		return nil, nil, err
	}
	ns.CrossBorderInfections += len(secondary)
	if len(secondary) > 0 {
		ns.CasesByStage[ledger.Secondary] = len(secondary)
	}
	shared := map[string]trip.State{}
	f := store.TripFilter{Limit: 200}
	for {
		page, err := db.ListTrips(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range page.Trips {
			cases, err := db.ListCases(ctx, t.ID)
			if err != nil {
				return nil, nil, err
			}
			ns.Cases += len(cases)
			for _, k := range cases {
				if st, ok := app.LedgerStage(k.Stage); ok {
					ns.CasesByStage[st]++
				}
			}
			contacts, err := db.ContactsOfTrip(ctx, t.ID)
			if err != nil {
				return nil, nil, err
			}
			if len(contacts) > 0 {
				ns.Contacts++
			}
			if _, err := db.GetTripLink(ctx, t.ID); err == nil {
				shared[t.Reference] = t.State
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	return ns, shared, nil
}
