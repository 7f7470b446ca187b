package app

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

// outbox records what the application sends the peer, in place of the
// federation's outbox (which package federation tests end to end).
type outbox struct {
	mu   sync.Mutex
	sent []envelope.Body
}

func (o *outbox) Send(_ context.Context, _ store.Store, _ string, body envelope.Body, _ time.Time) error {
	if err := body.Validate(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, body)
	return nil
}

func (o *outbox) notices() []*envelope.CaseNotified {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*envelope.CaseNotified
	for _, b := range o.sent {
		if n, ok := b.(*envelope.CaseNotified); ok {
			out = append(out, n)
		}
	}
	return out
}

// fromPeer applies a message from China's node as the inbox would.
func (en *env) fromPeer(body envelope.Body) {
	en.t.Helper()
	must(en.t, en.db.InTx(bg, func(tx store.Store) error {
		return en.app.ApplyPeerMessage(bg, tx, PeerMessage{From: "CN", ID: auth.NewID(), Time: en.clock.Now(), Body: body})
	}))
}

// positive records a positive NAAT for the trip.
func (en *env) positive(tr *Trip) {
	en.t.Helper()
	rec, err := en.app.RecordTest(bg, en.p["lab"], TestInput{Reference: tr.Reference, PassportNumber: "E12345678", TestType: "NAAT",
		TestName: "RT-PCR", SampledAt: en.clock.Now().Add(-time.Minute), Result: store.ResultPositive, Facility: "Seoul Clinical Lab"})
	must(en.t, err)
	if !rec.CaseOpened {
		en.t.Fatalf("a positive test on a %s trip opened no case", tr.State)
	}
}

func (en *env) ledgerView(q LedgerQuery) *LedgerView {
	en.t.Helper()
	v, err := en.app.JointLedger(bg, en.p["joint_officer"], q)
	must(en.t, err)
	return v
}

func counts(pre, arr, mon, sec int) ledger.Counts {
	return ledger.Counts{PreDeparture: pre, Arrival: arr, Monitoring: mon, Secondary: sec}
}

func wantField(t *testing.T, err error, field, says string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Code != CodeInvalid || !strings.Contains(e.Fields[field], says) {
		t.Fatalf("got %v (%+v), want %s to say %q", err, e, field, says)
	}
}

// TestJointLedger: this node's positives, the peer's notices and figures,
// the headline and the route status, as the joint dashboard shows them.
func TestJointLedger(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))

	// Alone, the node shows its routes, open, and no infection ever.
	v := en.ledgerView(LedgerQuery{})
	if v.Peer != "" || len(v.Routes) != 2 || v.Routes[0].Lane != "CN-KR" || v.Routes[0].Suspension != nil || !v.SinceJoint.Never ||
		len(v.Joint.Rows) != 0 {
		t.Fatalf("a node alone: %+v", v)
	}

	// Three positives found here, one per stage of a trip.
	early := en.walk(trip.Approved)
	en.positive(early)
	held := en.walk(trip.ArrivalHold)
	en.positive(held)
	monitored := en.walk(trip.Monitoring)
	en.positive(monitored)
	v = en.ledgerView(LedgerQuery{})
	if v.Totals[0] != counts(1, 1, 1, 0) || len(v.Routes[0].Rows) != 1 || v.Routes[0].Rows[0].Week != ledger.WeekOf(en.clock.Now(), time.UTC) {
		t.Fatalf("this node's positives: totals %+v, routes %+v", v.Totals, v.Routes)
	}

	// China is peered; its notices and figures come in as the inbox
	// applies them.
	now := en.clock.Now()
	today := now.UTC().Format(time.DateOnly)
	yesterday := now.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	must(t, en.db.PutPeer(bg, &store.Peer{Country: "CN", URL: "https://cn.corridor.example", CSCAPEM: "pem", CreatedAt: now, UpdatedAt: now}))
	en.fromPeer(&envelope.CaseNotified{CaseRef: "cn-case-1", Lane: "CN-KR", Stage: ledger.PreDeparture, DetectedAt: now.Add(-time.Hour), TripRef: "KR-ONLYINCN1"})
	en.fromPeer(&envelope.CaseNotified{CaseRef: "cn-case-2", Lane: "CN-KR", Stage: ledger.Arrival, DetectedAt: now.AddDate(0, 0, -1), TripRef: "KR-ONLYINCN2"})
	// Yesterday's figures agree with the notices; today's count one
	// positive more than China notified.
	en.fromPeer(&envelope.StatsDaily{Date: yesterday, Lane: "CN-KR", Positives: counts(0, 1, 0, 0)})
	en.fromPeer(&envelope.StatsDaily{Date: today, Lane: "CN-KR", Positives: counts(2, 0, 0, 0)})
	// Three weeks ago, a positive China counted and never notified.
	earlier := now.UTC().AddDate(0, 0, -21)
	en.fromPeer(&envelope.StatsDaily{Date: earlier.Format(time.DateOnly), Lane: "CN-KR", Positives: counts(0, 1, 0, 0)})
	v = en.ledgerView(LedgerQuery{})
	if v.Peer != "CN" || v.Joint.Nodes != [2]string{"CN", "KR"} || v.Side() != 1 {
		t.Fatalf("the columns: peer %q, nodes %v, side %d", v.Peer, v.Joint.Nodes, v.Side())
	}
	if v.Totals != [2]ledger.Counts{counts(1, 1, 0, 0), counts(1, 1, 1, 0)} {
		t.Fatalf("totals %+v", v.Totals)
	}
	if len(v.Checks) != 2 || v.Checks[1].Date != today || v.Checks[1].Stats.PreDeparture != 2 || v.Checks[1].Notified.PreDeparture != 1 ||
		v.Checks[0].Stats.Arrival != 1 || v.Checks[0].Notified.Arrival != 0 {
		t.Fatalf("checks of China's figures: %+v", v.Checks)
	}
	if !v.SinceJoint.Never || !v.Since[0].Never || !v.Since[1].Never {
		t.Fatalf("no cross-border infection yet, but %+v / %+v", v.Since, v.SinceJoint)
	}
	// The columns differ by nature (China found a positive before
	// departure, Korea on arrival); what is disputed is China's daily
	// figures against its notices, this week and three weeks ago, which
	// gets a row of its own.
	week, before := ledger.WeekOf(now, time.UTC), ledger.WeekOf(earlier, time.UTC)
	if len(v.Joint.Rows) != 2 || v.Joint.Rows[0].Week != before || v.Joint.Rows[0].Counts != [2]ledger.Counts{} {
		t.Fatalf("rows %+v", v.Joint.Rows)
	}
	for _, r := range v.Joint.Rows {
		want := []ledger.Stage(nil)
		switch {
		case r.Route == "CN-KR" && r.Week == week:
			want = []ledger.Stage{ledger.PreDeparture}
		case r.Route == "CN-KR" && r.Week == before:
			want = []ledger.Stage{ledger.Arrival}
		}
		if !slices.Equal(r.Differ, want) {
			t.Fatalf("row %s %s is disputed on %v, want %v", r.Route, r.Week, r.Differ, want)
		}
	}

	// Recording a secondary case: the inputs are checked field by field.
	hp := en.p["health_authority"]
	in := SecondaryInput{TripRef: held.Reference, DetectedOn: today, LocalRef: "KDCA-2020-0001", Note: "the host's colleague"}
	_, err := en.app.RecordSecondaryCase(bg, en.p["sponsor"], in)
	wantCode(t, err, CodeForbidden)
	bad := []struct {
		edit        func(*SecondaryInput)
		field, says string
	}{
		{func(s *SecondaryInput) { s.TripRef = "" }, "trip_ref", "reference"},
		{func(s *SecondaryInput) { s.TripRef = "KR-NOSUCHTRIP" }, "trip_ref", "no trip"},
		{func(s *SecondaryInput) { s.TripRef = early.Reference }, "trip_ref", "never crossed"},
		{func(s *SecondaryInput) { s.DetectedOn = "tomorrow" }, "detected_on", "YYYY-MM-DD"},
		{func(s *SecondaryInput) { s.DetectedOn = now.AddDate(0, 0, 2).Format(time.DateOnly) }, "detected_on", "future"},
		{func(s *SecondaryInput) { s.DetectedOn = now.AddDate(0, 0, -30).Format(time.DateOnly) }, "detected_on", "before the traveller departed"},
		{func(s *SecondaryInput) { s.LocalRef = "" }, "local_ref", "required"},
		{func(s *SecondaryInput) { s.LocalRef = strings.Repeat("x", 65) }, "local_ref", "at most 64"},
		{func(s *SecondaryInput) { s.Note = "a\x00b" }, "note", "control"},
	}
	for _, b := range bad {
		x := in
		b.edit(&x)
		_, err := en.app.RecordSecondaryCase(bg, hp, x)
		wantField(t, err, b.field, b.says)
	}
	k, err := en.app.RecordSecondaryCase(bg, hp, in)
	must(t, err)
	if k.Lane != "CN-KR" || k.TripRef != held.Reference || k.DetectedOn != today {
		t.Fatalf("secondary case %+v", k)
	}
	_, err = en.app.RecordSecondaryCase(bg, en.p["joint_officer"], in)
	wantField(t, err, "local_ref", "recorded already")
	entries, err := en.db.AuditFor(bg, "trip:"+held.ID, 5)
	must(t, err)
	if len(entries) == 0 || entries[0].Action != "case.secondary" || entries[0].Details["case"] != k.ID {
		t.Fatalf("audit of the secondary case: %+v", entries)
	}
	for _, e := range entries {
		for _, d := range e.Details {
			if strings.Contains(d, "colleague") || strings.Contains(d, "KDCA") {
				t.Fatalf("the audit holds the local reference or the note: %+v", e)
			}
		}
	}

	// Days later, the headline counts from it, on this node's side.
	en.clock.Add(3 * 24 * time.Hour)
	v = en.ledgerView(LedgerQuery{})
	if v.Since[1].Never || v.Since[1].Days != 3 || !v.Since[0].Never || v.SinceJoint.Days != 3 || v.Totals[1].Secondary != 1 {
		t.Fatalf("after a secondary case here: since %+v, joint %+v, totals %+v", v.Since, v.SinceJoint, v.Totals)
	}
	if len(v.Secondary) != 1 || v.Secondary[0].LocalRef != "KDCA-2020-0001" {
		t.Fatalf("this node's secondary cases: %+v", v.Secondary)
	}
	// China reports one of its own, more recent: the joint headline
	// follows the latest of both.
	en.fromPeer(&envelope.CaseNotified{CaseRef: "cn-case-3", Lane: "KR-CN", Stage: ledger.Secondary, DetectedAt: en.clock.Now().AddDate(0, 0, -1), TripRef: "CN-ONLYINCN3"})
	v = en.ledgerView(LedgerQuery{})
	if v.Since[0].Days != 1 || v.SinceJoint.Days != 1 || v.Since[1].Days != 3 || v.Routes[1].Lane != "KR-CN" || v.Routes[1].Totals[0].Secondary != 1 {
		t.Fatalf("after China's secondary case: since %+v, joint %+v, routes %+v", v.Since, v.SinceJoint, v.Routes)
	}
	// A range that leaves the cases out changes the table, not the
	// headline.
	v = en.ledgerView(LedgerQuery{From: "2020-01-01", To: "2020-01-31"})
	if len(v.Joint.Rows) != 0 || v.SinceJoint.Days != 1 || v.From != "2020-01-01" || v.To != "2020-01-31" {
		t.Fatalf("January: rows %+v, since %+v", v.Joint.Rows, v.SinceJoint)
	}

	// The route's status.
	_, err = en.app.SuspendLane(bg, en.p["joint_officer"], "CN-KR", en.clock.Now().AddDate(0, 0, 7), "5 arrival positives in 7 days")
	must(t, err)
	v = en.ledgerView(LedgerQuery{})
	if s := v.Routes[0].Suspension; s == nil || s.Reason != "5 arrival positives in 7 days" || v.Routes[1].Suspension != nil {
		t.Fatalf("route status after suspending CN-KR: %+v", v.Routes)
	}

	// The range and the peer are checked.
	for _, b := range []struct {
		q           LedgerQuery
		field, says string
	}{
		{LedgerQuery{From: "May"}, "from", "YYYY-MM-DD"},
		{LedgerQuery{To: "2020-13-01"}, "to", "YYYY-MM-DD"},
		{LedgerQuery{From: "2020-05-02", To: "2020-05-01"}, "from", "after"},
		{LedgerQuery{From: "2017-01-01", To: "2020-05-01"}, "to", "at most 731 days"},
		{LedgerQuery{Peer: "JP"}, "peer", "not a peer"},
		{LedgerQuery{Peer: "Japan"}, "peer", "two-letter"},
	} {
		_, err := en.app.JointLedger(bg, en.p["joint_officer"], b.q)
		wantField(t, err, b.field, b.says)
	}
	_, err = en.app.JointLedger(bg, en.p["lab"], LedgerQuery{})
	wantCode(t, err, CodeForbidden)
}

// TestSecondaryCaseCrosses: a secondary case on a shared trip crosses as
// a case notice without the local reference, the note or an exposure; a
// secondary notice from the peer does not isolate the traveller here.
func TestSecondaryCaseCrosses(t *testing.T) {
	en := newEnv(t, sqltest.SQLite(), fastPolicy(t))
	now := en.clock.Now()
	must(t, en.db.PutPeer(bg, &store.Peer{Country: "CN", URL: "https://cn.corridor.example", CSCAPEM: "pem", CreatedAt: now, UpdatedAt: now}))
	shared, alone := en.walk(trip.Monitoring), en.walk(trip.Monitoring)
	must(t, en.db.AddTripLink(bg, &store.TripLink{TripID: shared.ID, Peer: "CN", Side: store.SideDestination, PassportCountry: "CN", CreatedAt: now}))
	box := &outbox{}
	en.app.SetFederation(box)

	k, err := en.app.RecordSecondaryCase(bg, en.p["joint_officer"], SecondaryInput{TripRef: shared.Reference, DetectedOn: en.day(0),
		LocalRef: "KDCA-2020-0002", Note: "a colleague at the plant"})
	must(t, err)
	_, err = en.app.RecordSecondaryCase(bg, en.p["joint_officer"], SecondaryInput{TripRef: alone.Reference, DetectedOn: en.day(0),
		LocalRef: "KDCA-2020-0003"})
	must(t, err)
	ns := box.notices()
	if len(ns) != 1 {
		t.Fatalf("%d notices sent, want 1 (the unshared trip's case stays here)", len(ns))
	}
	n := ns[0]
	if n.CaseRef != k.ID || n.Stage != ledger.Secondary || n.TripRef != shared.Reference || n.Lane != "CN-KR" || n.Exposure != nil ||
		n.DetectedAt.Format(time.DateOnly) != en.day(0) {
		t.Fatalf("the notice %+v", n)
	}
	if len(box.sent) != 1 {
		t.Fatalf("sent %d messages, want the notice alone (no tracing request)", len(box.sent))
	}

	// China's secondary case linked to a shared trip here: counted, the
	// traveller's state left as it is.
	en.fromPeer(&envelope.CaseNotified{CaseRef: "cn-sec-1", Lane: "CN-KR", Stage: ledger.Secondary, DetectedAt: now, TripRef: shared.Reference})
	got, err := en.db.GetTrip(bg, shared.ID)
	must(t, err)
	if got.State != trip.Monitoring {
		t.Fatalf("a secondary notice moved the traveller's trip to %s", got.State)
	}
	v := en.ledgerView(LedgerQuery{})
	if v.Totals != [2]ledger.Counts{counts(0, 0, 0, 1), counts(0, 0, 0, 2)} || v.SinceJoint.Days != 0 {
		t.Fatalf("totals %+v, since %+v", v.Totals, v.SinceJoint)
	}
}
