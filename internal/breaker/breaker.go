// Package breaker is the corridor's circuit breaker: arrival positives on
// one route within a window suspend the route for a while, and a larger
// step (more positives) suspends it for longer. Evaluation is a pure
// function of the positives, the policy's steps, the lift approvals and
// the time, so both nodes, given the same data, reach the same decision
// with the same id, and evaluating again changes nothing.
package breaker

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/corridorlane/corridor/internal/policy"
)

// Route is a lane and the two parties whose officers must both agree to
// lift its suspension early.
type Route struct {
	ID          string // lane id, e.g. "KR-CN"
	Origin      string
	Destination string
}

// RouteOf describes a policy lane as a route.
func RouteOf(l *policy.Lane) Route {
	return Route{ID: l.ID, Origin: l.Origin, Destination: l.Destination}
}

// Positive is a positive arrival test on the route.
type Positive struct {
	// CaseRef identifies the case on both nodes (it crosses in the case
	// notification), so a case notified twice counts once and the
	// decision id is the same on both sides.
	CaseRef string
	At      time.Time // when the positive was found
}

const day = 24 * time.Hour

// Decision is the state of a route at one time.
type Decision struct {
	Route     string
	Suspended bool
	// The rest describes the suspension in force; zero when not suspended.
	Step       policy.BreakerStep // the largest step in force
	TriggerRef string             // the case whose positive tripped that step
	Count      int                // positives in the step's window at the trigger
	From       time.Time          // the trigger's time
	Until      time.Time          // the end of that step's suspension
	// ReopensAt is when the route opens again if nothing changes: the end
	// of the last suspension in force, which a smaller step tripped later
	// may push past Until.
	ReopensAt time.Time
	// ID names this suspension, the same on both nodes: a hash of the
	// route, the step and the trigger. Lift approvals name it.
	ID string
	// LiftedID and LiftedAt record the last suspension lifted early by both
	// parties, if any, so a node can say how a route was reinstated.
	LiftedID string
	LiftedAt time.Time
}

// Approval is one officer's approval to lift a suspension early.
type Approval struct {
	Country string // the officer's side: the route's origin or destination
	Officer string // a reference to the officer, for the audit
	At      time.Time
}

// Lift gathers the approvals to lift one suspension. It takes effect when
// an officer of each party approved, at the later approval's time, and
// only if the suspension it names is still the one in force then: an
// approval for a suspension since extended or superseded lifts nothing.
type Lift struct {
	DecisionID string
	Approvals  []Approval
}

// Errors matched by Approve's refusals.
var (
	ErrNotParty        = errors.New("the officer's country is not a party to this route")
	ErrAlreadyApproved = errors.New("this side has already approved the lift")
)

// Approve records one side's approval. Each side approves once; a second
// approval by the same side is refused, so one side cannot lift alone.
func (l *Lift) Approve(r Route, a Approval) error {
	if a.Country != r.Origin && a.Country != r.Destination {
		return fmt.Errorf("breaker: %w: %q is not %s or %s", ErrNotParty, a.Country, r.Origin, r.Destination)
	}
	if a.Officer == "" || a.At.IsZero() {
		return errors.New("breaker: an approval needs the officer and the time")
	}
	for _, x := range l.Approvals {
		if x.Country == a.Country {
			return fmt.Errorf("breaker: %w: %s approved at %s", ErrAlreadyApproved, x.Country, x.At.UTC().Format(time.RFC3339))
		}
	}
	l.Approvals = append(l.Approvals, a)
	return nil
}

// EffectiveAt tells when the lift took effect: when both parties had
// approved. Approvals from other countries are ignored; of one side's
// approvals the first counts.
func (l Lift) EffectiveAt(r Route) (time.Time, bool) {
	var origin, dest time.Time
	for _, a := range l.Approvals {
		switch a.Country {
		case r.Origin:
			if origin.IsZero() || a.At.Before(origin) {
				origin = a.At
			}
		case r.Destination:
			if dest.IsZero() || a.At.Before(dest) {
				dest = a.At
			}
		}
	}
	if origin.IsZero() || dest.IsZero() {
		return time.Time{}, false
	}
	if origin.After(dest) {
		return origin, true
	}
	return dest, true
}

// trigger is one positive that completed a step's count.
type trigger struct {
	step  policy.BreakerStep
	rank  int // the step's place when sorted by threshold: larger wins
	ref   string
	at    time.Time
	count int
}

func (t trigger) until() time.Time { return t.at.Add(time.Duration(t.step.SuspendDays) * day) }

// Evaluate decides the state of route at now from the policy's breaker
// steps, the arrival positives on the route, and the lifts recorded.
//
// A step trips at each positive that brings the positives in the window
// (t − WindowDays, t] to its threshold or above; it suspends the route
// over [t, t + SuspendDays). A positive exactly WindowDays before another
// is outside that one's window. While several suspensions are in force,
// the largest step's is reported. A lift in effect at time L cancels every
// suspension tripped at or before L; later positives can trip the breaker
// again, counting earlier positives still in their window, since a lift
// forgives a suspension, not the positives.
//
// Positives after now are ignored, and a case listed twice counts once,
// so the decision depends only on what was known at now.
func Evaluate(r Route, steps []policy.BreakerStep, positives []Positive, lifts []Lift, now time.Time) (Decision, error) {
	if r.ID == "" {
		return Decision{}, errors.New("breaker: the route needs an id")
	}
	steps = slices.Clone(steps)
	for i, s := range steps {
		if s.Positives < 1 || s.WindowDays < 1 || s.SuspendDays < 1 {
			return Decision{}, fmt.Errorf("breaker: step %d (%+v): positives, window and suspension must each be 1 or more", i, s)
		}
	}
	slices.SortStableFunc(steps, func(a, b policy.BreakerStep) int {
		return cmp.Or(cmp.Compare(a.Positives, b.Positives), cmp.Compare(a.SuspendDays, b.SuspendDays), cmp.Compare(a.WindowDays, b.WindowDays))
	})
	ps, err := known(positives, now)
	if err != nil {
		return Decision{}, err
	}
	triggers := tripped(steps, ps)

	type effective struct {
		id string
		at time.Time
	}
	var effs []effective
	for _, l := range lifts {
		if at, ok := l.EffectiveAt(r); ok && !at.After(now) {
			effs = append(effs, effective{l.DecisionID, at})
		}
	}
	slices.SortFunc(effs, func(a, b effective) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.id, b.id)) })

	// Lifts apply in time order: each is checked against the decision in
	// force when it took effect, with the lifts before it applied.
	var forgiven time.Time // suspensions tripped at or before this are lifted
	var lastLift effective
	for _, e := range effs {
		d := decide(r, triggers, forgiven, e.at)
		if d.Suspended && d.ID == e.id {
			forgiven, lastLift = e.at, e
		}
	}
	d := decide(r, triggers, forgiven, now)
	d.LiftedID, d.LiftedAt = lastLift.id, lastLift.at
	return d, nil
}

// known returns the positives at or before now, each case once (its
// earliest report), sorted by time and then case.
func known(positives []Positive, now time.Time) ([]Positive, error) {
	first := map[string]time.Time{}
	for i, p := range positives {
		if p.CaseRef == "" || p.At.IsZero() {
			return nil, fmt.Errorf("breaker: positive %d needs a case reference and a time", i)
		}
		if p.At.After(now) {
			continue
		}
		if at, ok := first[p.CaseRef]; !ok || p.At.Before(at) {
			first[p.CaseRef] = p.At
		}
	}
	out := make([]Positive, 0, len(first))
	for ref, at := range first {
		out = append(out, Positive{ref, at})
	}
	slices.SortFunc(out, func(a, b Positive) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.CaseRef, b.CaseRef)) })
	return out, nil
}

// tripped finds every trigger of every step. Positives at one instant
// count in the order known sorted them, so each trigger is a distinct
// positive and the first to reach a threshold trips it.
func tripped(steps []policy.BreakerStep, ps []Positive) []trigger {
	var out []trigger
	for rank, s := range steps {
		window := time.Duration(s.WindowDays) * day
		lo := 0
		for j, p := range ps {
			for !ps[lo].At.After(p.At.Add(-window)) {
				lo++
			}
			if n := j - lo + 1; n >= s.Positives {
				out = append(out, trigger{step: s, rank: rank, ref: p.CaseRef, at: p.At, count: n})
			}
		}
	}
	return out
}

// decide picks the suspension in force at t among the triggers not
// forgiven: the largest step's, and of its triggers the latest.
func decide(r Route, triggers []trigger, forgiven, t time.Time) Decision {
	d := Decision{Route: r.ID}
	var best *trigger
	for i := range triggers {
		tr := &triggers[i]
		if tr.at.After(t) || !tr.until().After(t) || (!forgiven.IsZero() && !tr.at.After(forgiven)) {
			continue
		}
		if tr.until().After(d.ReopensAt) {
			d.ReopensAt = tr.until()
		}
		if best == nil || tr.rank > best.rank || (tr.rank == best.rank && tr.at.After(best.at)) {
			best = tr
		}
	}
	if best == nil {
		return d
	}
	d.Suspended = true
	d.Step, d.TriggerRef, d.Count, d.From, d.Until = best.step, best.ref, best.count, best.at, best.until()
	d.ID = decisionID(r.ID, best.step, best.ref)
	return d
}

// decisionID hashes what identifies a suspension on both nodes. Times are
// left out: the case reference pins the trigger, and a time that one
// store rounds differently from the other must not split the id.
func decisionID(route string, s policy.BreakerStep, ref string) string {
	h := sha256.New()
	for _, part := range []string{"corridor-breaker-v1", route, strconv.Itoa(s.Positives), strconv.Itoa(s.WindowDays), strconv.Itoa(s.SuspendDays), ref} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":" + part + ";"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
