package breaker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/policy"
)

// The steps of the China–Korea policy: 5 positives in 7 days suspend the
// route for 7 days, 10 for 28.
func lanePolicy(t *testing.T) (Route, []policy.BreakerStep) {
	t.Helper()
	p, err := policy.LoadFile("../../policies/cn-kr.json")
	if err != nil {
		t.Fatal(err)
	}
	l, ok := p.Lane("KR-CN")
	if !ok {
		t.Fatal("no KR-CN lane")
	}
	want := []policy.BreakerStep{{Positives: 5, WindowDays: 7, SuspendDays: 7}, {Positives: 10, WindowDays: 7, SuspendDays: 28}}
	if !reflect.DeepEqual(p.CircuitBreaker, want) {
		t.Fatalf("the policy's steps changed: %+v; this test's thresholds assume %+v", p.CircuitBreaker, want)
	}
	return RouteOf(l), p.CircuitBreaker
}

var t0 = time.Date(2020, 6, 1, 9, 0, 0, 0, time.UTC)

// spaced returns n positives one every gap from t0.
func spaced(n int, gap time.Duration) []Positive {
	out := make([]Positive, n)
	for i := range out {
		out[i] = Positive{CaseRef: fmt.Sprintf("C-%03d", i+1), At: t0.Add(time.Duration(i) * gap)}
	}
	return out
}

func eval(t *testing.T, ps []Positive, lifts []Lift, now time.Time) Decision {
	t.Helper()
	r, steps := lanePolicy(t)
	d, err := Evaluate(r, steps, ps, lifts, now)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestThresholds(t *testing.T) {
	last := func(ps []Positive) time.Time { return ps[len(ps)-1].At }
	four := spaced(4, day)
	if d := eval(t, four, nil, last(four).Add(time.Hour)); d.Suspended || d.ID != "" || d.Route != "KR-CN" {
		t.Errorf("4 positives: %+v, want open", d)
	}
	five := spaced(5, day)
	d := eval(t, five, nil, last(five).Add(time.Hour))
	if !d.Suspended || d.Step.Positives != 5 || d.Count != 5 || d.TriggerRef != "C-005" ||
		!d.From.Equal(last(five)) || !d.Until.Equal(last(five).Add(7*day)) || !d.ReopensAt.Equal(d.Until) || len(d.ID) != 32 {
		t.Errorf("5 positives: %+v, want 7 days from the fifth", d)
	}
	ten := spaced(10, 12*time.Hour)
	d = eval(t, ten, nil, last(ten).Add(time.Hour))
	if !d.Suspended || d.Step.Positives != 10 || d.Step.SuspendDays != 28 || d.TriggerRef != "C-010" || d.Count != 10 ||
		!d.Until.Equal(last(ten).Add(28*day)) || !d.ReopensAt.Equal(d.Until) {
		t.Errorf("10 positives: %+v, want 28 days from the tenth", d)
	}
	nine := spaced(9, 12*time.Hour)
	if d := eval(t, nine, nil, last(nine).Add(time.Hour)); d.Step.Positives != 5 || d.TriggerRef != "C-009" || d.Count != 9 {
		t.Errorf("9 positives: %+v, want the 7-day step, tripped again by the ninth", d)
	}
}

func TestWindowBoundary(t *testing.T) {
	ps := spaced(4, day)
	// The fifth exactly seven days after the first: the first is outside
	// the window (t − 7 days, t].
	edge := append(ps, Positive{"C-005", t0.Add(7 * day)})
	if d := eval(t, edge, nil, t0.Add(7*day)); d.Suspended {
		t.Errorf("fifth at exactly 7 days: %+v, want open", d)
	}
	inside := append(ps, Positive{"C-005", t0.Add(7*day - time.Second)})
	if d := eval(t, inside, nil, t0.Add(7*day)); !d.Suspended {
		t.Errorf("fifth a second inside 7 days: %+v, want suspended", d)
	}
}

func TestSuspensionEndsOnTime(t *testing.T) {
	five := spaced(5, day)
	until := five[4].At.Add(7 * day)
	if d := eval(t, five, nil, until.Add(-time.Nanosecond)); !d.Suspended {
		t.Errorf("just before the end: %+v", d)
	}
	if d := eval(t, five, nil, until); d.Suspended || d.ID != "" {
		t.Errorf("at the end: %+v, want reinstated", d)
	}
	// Before the fifth positive, nothing was suspended.
	if d := eval(t, five, nil, five[4].At.Add(-time.Nanosecond)); d.Suspended {
		t.Errorf("before the trigger: %+v", d)
	}
}

func TestLargerStepWinsThenSmallerOneRuns(t *testing.T) {
	ten := spaced(10, 12*time.Hour) // 10 in 4.5 days: 28 days
	big := ten[9].At.Add(28 * day)
	// Five more positives near the end of the long suspension, from
	// travellers who had departed before it: the 7-day step trips again
	// and runs past the 28 days.
	late := big.Add(-2 * day)
	ps := append(ten, spaced(5, time.Hour)...)
	for i := 10; i < 15; i++ {
		ps[i] = Positive{fmt.Sprintf("L-%d", i), late.Add(time.Duration(i-10) * time.Hour)}
	}
	d := eval(t, ps, nil, late.Add(5*time.Hour))
	if d.Step.Positives != 10 || !d.Until.Equal(big) || !d.ReopensAt.Equal(late.Add(4*time.Hour+7*day)) {
		t.Errorf("both in force: %+v; want the 28-day step reported, reopening after the later 7 days", d)
	}
	d = eval(t, ps, nil, big)
	if !d.Suspended || d.Step.Positives != 5 || d.TriggerRef != "L-14" {
		t.Errorf("after the 28 days: %+v, want the later 7-day suspension", d)
	}
}

func TestEvaluationIsIdempotentAndOrderFree(t *testing.T) {
	ps := spaced(12, 10*time.Hour)
	now := ps[11].At.Add(3 * day)
	want := eval(t, ps, nil, now)
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := append([]Positive{}, ps...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		// At-least-once delivery: a case reported twice, the copy later.
		dup := shuffled[r.IntN(len(shuffled))]
		dup.At = dup.At.Add(time.Hour)
		shuffled = append(shuffled, dup)
		// Positives reported after now do not count yet.
		shuffled = append(shuffled, Positive{"F-1", now.Add(time.Second)})
		if got := eval(t, shuffled, nil, now); !reflect.DeepEqual(got, want) {
			t.Fatalf("order changed the decision:\n%+v\nwant\n%+v", got, want)
		}
	}
	if again := eval(t, ps, nil, now); !reflect.DeepEqual(again, want) {
		t.Error("evaluating twice gave two decisions")
	}
}

func TestDecisionIDs(t *testing.T) {
	five := spaced(5, day)
	a := eval(t, five, nil, five[4].At.Add(time.Hour))
	b := eval(t, five, nil, five[4].At.Add(6*day)) // later in the same suspension
	if a.ID == "" || a.ID != b.ID {
		t.Errorf("the id changed within one suspension: %q, %q", a.ID, b.ID)
	}
	// The other node stores times rounded to the microsecond: same id.
	rounded := make([]Positive, len(five))
	for i, p := range five {
		rounded[i] = Positive{p.CaseRef, p.At.Add(123 * time.Nanosecond).Truncate(time.Microsecond)}
	}
	if c := eval(t, rounded, nil, five[4].At.Add(time.Hour)); c.ID != a.ID {
		t.Errorf("rounding times changed the id: %q vs %q", c.ID, a.ID)
	}
	ids := map[string]bool{
		decisionID("KR-CN", policy.BreakerStep{Positives: 5, WindowDays: 7, SuspendDays: 7}, "C-5"):  true,
		decisionID("CN-KR", policy.BreakerStep{Positives: 5, WindowDays: 7, SuspendDays: 7}, "C-5"):  true,
		decisionID("KR-CN", policy.BreakerStep{Positives: 10, WindowDays: 7, SuspendDays: 7}, "C-5"): true,
		decisionID("KR-CN", policy.BreakerStep{Positives: 5, WindowDays: 7, SuspendDays: 7}, "C-6"):  true,
		decisionID("KR-CN", policy.BreakerStep{Positives: 5, WindowDays: 77, SuspendDays: 7}, ""):    true,
		decisionID("KR-CN", policy.BreakerStep{Positives: 5, WindowDays: 7, SuspendDays: 77}, ""):    true,
	}
	if len(ids) != 6 {
		t.Errorf("decision ids collide: %d distinct of 6", len(ids))
	}
}

func TestTwoPartyLift(t *testing.T) {
	r, _ := lanePolicy(t)
	five := spaced(5, day)
	trip := five[4].At
	d := eval(t, five, nil, trip.Add(time.Hour))

	var l Lift
	l.DecisionID = d.ID
	if err := l.Approve(r, Approval{"KR", "officer-kr-1", trip.Add(2 * day)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Approve(r, Approval{"KR", "officer-kr-2", trip.Add(2 * day)}); !errors.Is(err, ErrAlreadyApproved) {
		t.Errorf("a second approval by the same side: %v", err)
	}
	if err := l.Approve(r, Approval{"JP", "officer-jp", trip.Add(2 * day)}); !errors.Is(err, ErrNotParty) {
		t.Errorf("an approval by a non-party: %v", err)
	}
	if got := eval(t, five, []Lift{l}, trip.Add(3*day)); !got.Suspended || got.LiftedID != "" {
		t.Errorf("one side's approval lifted the suspension: %+v", got)
	}
	if err := l.Approve(r, Approval{"CN", "officer-cn-1", trip.Add(3 * day)}); err != nil {
		t.Fatal(err)
	}
	if got := eval(t, five, []Lift{l}, trip.Add(3*day-time.Second)); !got.Suspended {
		t.Errorf("lifted before the second approval: %+v", got)
	}
	got := eval(t, five, []Lift{l}, trip.Add(3*day))
	if got.Suspended || got.LiftedID != d.ID || !got.LiftedAt.Equal(trip.Add(3*day)) {
		t.Errorf("after both approvals: %+v, want reinstated, lifted %s", got, d.ID)
	}
	// A lift forgives the suspension, not the positives: one more within
	// the window trips the breaker again, as a new decision.
	again := append(five, Positive{"C-006", trip.Add(3*day + time.Hour)})
	got = eval(t, again, []Lift{l}, trip.Add(3*day+2*time.Hour))
	if !got.Suspended || got.TriggerRef != "C-006" || got.ID == d.ID || got.LiftedID != d.ID {
		t.Errorf("a new positive after the lift: %+v", got)
	}
}

func TestStaleLiftLiftsNothing(t *testing.T) {
	r, _ := lanePolicy(t)
	five := spaced(5, day)
	first := eval(t, five, nil, five[4].At.Add(time.Hour))
	// A sixth positive extends the suspension with a new decision before
	// the second side approves lifting the first one.
	ps := append(five, Positive{"C-006", five[4].At.Add(2 * time.Hour)})
	var l Lift
	l.DecisionID = first.ID
	l.Approve(r, Approval{"KR", "kr", five[4].At.Add(time.Hour)})
	l.Approve(r, Approval{"CN", "cn", five[4].At.Add(3 * time.Hour)})
	got := eval(t, ps, []Lift{l}, five[4].At.Add(4*time.Hour))
	if !got.Suspended || got.TriggerRef != "C-006" || got.LiftedID != "" {
		t.Errorf("a lift of a superseded decision: %+v, want still suspended", got)
	}
	// Lifts that take effect after now do not count yet; approvals
	// gathered by hand (not through Approve) from a single side never do.
	future := Lift{DecisionID: first.ID, Approvals: []Approval{{"KR", "kr", five[4].At.Add(time.Hour)}, {"CN", "cn", five[4].At.Add(5 * day)}}}
	oneSide := Lift{DecisionID: first.ID, Approvals: []Approval{{"KR", "a", five[4].At.Add(time.Hour)}, {"KR", "b", five[4].At.Add(time.Hour)}}}
	if got := eval(t, five, []Lift{future, oneSide}, five[4].At.Add(2*day)); !got.Suspended {
		t.Errorf("a future or one-sided lift took effect: %+v", got)
	}
}

func TestEvaluateRefusesBadInput(t *testing.T) {
	r, steps := lanePolicy(t)
	now := t0
	cases := map[string]func() error{
		"no route id": func() error { _, err := Evaluate(Route{}, steps, nil, nil, now); return err },
		"step of zero positives": func() error {
			_, err := Evaluate(r, []policy.BreakerStep{{Positives: 0, WindowDays: 7, SuspendDays: 7}}, nil, nil, now)
			return err
		},
		"positive without a case": func() error { _, err := Evaluate(r, steps, []Positive{{At: now}}, nil, now); return err },
		"positive without a time": func() error { _, err := Evaluate(r, steps, []Positive{{CaseRef: "C"}}, nil, now); return err },
	}
	for name, f := range cases {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if d, err := Evaluate(r, nil, spaced(50, time.Hour), nil, t0.Add(50*time.Hour)); err != nil || d.Suspended {
		t.Errorf("no steps: %+v, %v; want never suspended", d, err)
	}
}
