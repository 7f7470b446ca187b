// Package ledger keeps the zero-cross-border-infection ledger: every
// positive among lane travellers, classified by where it was caught, counted
// per route and ISO week, and the days since the last cross-border
// infection, which the corridor aims to keep at "never". Each node keeps
// its own figures; Merge sets both nodes' side by side and flags where they
// disagree, and Chart draws them as SVG.
package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/corridorlane/corridor/internal/trip"
)

// Stage is where a positive was caught.
type Stage string

const (
	// PreDeparture: found before the traveller left (pre-departure
	// monitoring or test). The case was stopped at the origin.
	PreDeparture Stage = "pre_departure"
	// Arrival: found on the arrival test, during the arrival hold. The case
	// was contained: the traveller met nobody outside the hold.
	Arrival Stage = "arrival"
	// Monitoring: found during post-arrival monitoring on the closed-loop
	// itinerary. Contained too.
	Monitoring Stage = "monitoring"
	// Secondary: someone who is not a lane traveller, infected by one. This
	// is a cross-border infection, the figure the corridor exists to keep
	// at zero.
	Secondary Stage = "secondary"
)

// Stages lists the stages in the order of a trip.
var Stages = []Stage{PreDeparture, Arrival, Monitoring, Secondary}

// Valid tells whether s is a known stage.
func (s Stage) Valid() bool { return slices.Contains(Stages, s) }

// Outcome is what a stage means for the corridor.
type Outcome string

const (
	Stopped     Outcome = "stopped"
	Contained   Outcome = "contained"
	CrossBorder Outcome = "cross_border"
)

// Outcome returns what catching a positive at s means; "" for an unknown
// stage.
func (s Stage) Outcome() Outcome {
	switch s {
	case PreDeparture:
		return Stopped
	case Arrival, Monitoring:
		return Contained
	case Secondary:
		return CrossBorder
	}
	return ""
}

// ErrNotLanePositive is matched by StageOf's refusals: the trip's state
// says the positive does not belong in the ledger as a new lane positive.
var ErrNotLanePositive = errors.New("not a new positive of a lane traveller")

// StageOf classifies a lane traveller's positive by the state the trip was
// in when the positive was found. A secondary case is not a trip's
// positive; it is recorded as Secondary directly, with its link.
func StageOf(state trip.State) (Stage, error) {
	switch state {
	case trip.Approved, trip.PreDeparture, trip.Cleared:
		return PreDeparture, nil
	case trip.Departed, trip.Arrived, trip.ArrivalHold:
		return Arrival, nil
	case trip.Released, trip.Monitoring:
		return Monitoring, nil
	case trip.Isolated:
		return "", fmt.Errorf("%w: the trip is isolated, so it is already a case", ErrNotLanePositive)
	case trip.Completed:
		return "", fmt.Errorf("%w: the trip completed its monitoring; a later infection is not the lane's, unless it is linked as a secondary case", ErrNotLanePositive)
	case trip.Suspended:
		return "", fmt.Errorf("%w: a suspended trip is classified by the state it was suspended from", ErrNotLanePositive)
	case trip.Draft, trip.Submitted, trip.NeedsInfo, trip.Rejected, trip.Withdrawn, trip.Expired:
		return "", fmt.Errorf("%w: a trip in state %q was never approved to travel or no longer is", ErrNotLanePositive, state)
	}
	return "", fmt.Errorf("%w: unknown trip state %q", ErrNotLanePositive, state)
}

// Positive is one entry of the ledger.
type Positive struct {
	CaseRef    string
	Route      string // lane id, e.g. "CN-KR"
	Stage      Stage
	DetectedAt time.Time
}

// Counts are positives per stage.
type Counts struct {
	PreDeparture int `json:"pre_departure"`
	Arrival      int `json:"arrival"`
	Monitoring   int `json:"monitoring"`
	Secondary    int `json:"secondary"`
}

// Of returns the count of one stage.
func (c Counts) Of(s Stage) int {
	switch s {
	case PreDeparture:
		return c.PreDeparture
	case Arrival:
		return c.Arrival
	case Monitoring:
		return c.Monitoring
	case Secondary:
		return c.Secondary
	}
	return 0
}

func (c *Counts) add(s Stage) {
	switch s {
	case PreDeparture:
		c.PreDeparture++
	case Arrival:
		c.Arrival++
	case Monitoring:
		c.Monitoring++
	case Secondary:
		c.Secondary++
	}
}

// Total is every positive counted.
func (c Counts) Total() int { return c.PreDeparture + c.Arrival + c.Monitoring + c.Secondary }

// CrossBorder is the number of cross-border infections.
func (c Counts) CrossBorder() int { return c.Secondary }

// Week is an ISO 8601 week: weeks start on Monday, and week 1 is the one
// holding the year's first Thursday, so 2020-12-31 is in 2020-W53 and
// 2021-01-03 too, and 2019-12-30 is in 2020-W01.
type Week struct {
	Year int
	Week int
}

// WeekOf returns the ISO week of t's date in loc. Both nodes must pass the
// same location (the corridor's reference zone) for their weeks to line up.
func WeekOf(t time.Time, loc *time.Location) Week {
	y, w := t.In(loc).ISOWeek()
	return Week{y, w}
}

// Monday returns the first day of w, at midnight in loc.
func (w Week) Monday(loc *time.Location) time.Time {
	// 4 January is always in week 1.
	jan4 := time.Date(w.Year, time.January, 4, 0, 0, 0, 0, loc)
	offset := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return jan4.AddDate(0, 0, -offset+7*(w.Week-1))
}

// Next returns the week after w.
func (w Week) Next() Week {
	y, n := w.Monday(time.UTC).AddDate(0, 0, 7).ISOWeek()
	return Week{y, n}
}

// Compare orders weeks in time.
func (w Week) Compare(o Week) int {
	return cmp.Or(cmp.Compare(w.Year, o.Year), cmp.Compare(w.Week, o.Week))
}

// String is the ISO form, e.g. "2020-W05".
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Week) }

// Row is one route's counts in one week.
type Row struct {
	Route  string
	Week   Week
	Counts Counts
}

// Figures are one node's ledger: rows sorted by route, then week; a week
// without positives has no row.
type Figures struct {
	Node string
	Rows []Row
}

// Tally counts positives per route and ISO week (in loc). It refuses an
// entry with an unknown stage or no route rather than drop it, since a lost
// positive is the one error this ledger must not make.
func Tally(node string, positives []Positive, loc *time.Location) (Figures, error) {
	type key struct {
		route string
		week  Week
	}
	counts := map[key]*Counts{}
	var errs []error
	for i, p := range positives {
		if !p.Stage.Valid() || p.Route == "" || p.DetectedAt.IsZero() {
			errs = append(errs, fmt.Errorf("ledger: positive %d (case %q): needs a route, a known stage and a detection time (got route %q, stage %q)",
				i, p.CaseRef, p.Route, p.Stage))
			continue
		}
		k := key{p.Route, WeekOf(p.DetectedAt, loc)}
		c := counts[k]
		if c == nil {
			c = new(Counts)
			counts[k] = c
		}
		c.add(p.Stage)
	}
	if len(errs) > 0 {
		return Figures{}, errors.Join(errs...)
	}
	f := Figures{Node: node, Rows: make([]Row, 0, len(counts))}
	for k, c := range counts {
		f.Rows = append(f.Rows, Row{Route: k.route, Week: k.week, Counts: *c})
	}
	slices.SortFunc(f.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), a.Week.Compare(b.Week))
	})
	return f, nil
}

// Routes lists the routes that have rows, sorted.
func (f Figures) Routes() []string {
	var out []string
	for _, r := range f.Rows {
		if len(out) == 0 || out[len(out)-1] != r.Route {
			out = append(out, r.Route)
		}
	}
	return out
}

// Route returns the rows of one route, in week order.
func (f Figures) Route(route string) []Row {
	var out []Row
	for _, r := range f.Rows {
		if r.Route == route {
			out = append(out, r)
		}
	}
	return out
}

// Since is the time since the last cross-border infection.
type Since struct {
	Never bool      // no cross-border infection was ever recorded
	Days  int       // whole calendar days from the last one's date to today's, in loc
	Last  time.Time // when the last one was detected
}

// SinceLastCrossBorder counts calendar days (in loc) from the last
// cross-border infection detected at or before now; one detected today is
// 0 days ago. Entries dated after now are ignored: the figure must not
// depend on a clock that runs ahead.
func SinceLastCrossBorder(positives []Positive, now time.Time, loc *time.Location) Since {
	var last time.Time
	for _, p := range positives {
		if p.Stage == Secondary && !p.DetectedAt.After(now) && p.DetectedAt.After(last) {
			last = p.DetectedAt
		}
	}
	if last.IsZero() {
		return Since{Never: true}
	}
	return Since{Days: daysBetween(last.In(loc), now.In(loc)), Last: last}
}

// daysBetween counts calendar days from a's date to b's, both already in
// the wanted location; computed on UTC dates so that a day with a DST
// change still counts as one.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// JointRow is one route and week as both nodes count it.
type JointRow struct {
	Route  string
	Week   Week
	Counts [2]Counts // in the order of Joint.Nodes
	// Differ lists the stages whose counts the nodes disagree on, in stage
	// order; empty when they agree.
	Differ []Stage
}

// Agree tells whether both nodes count the same.
func (r JointRow) Agree() bool { return len(r.Differ) == 0 }

// Joint is the joint dashboard's view: each node's own counts, side by
// side. Neither node's figures overwrite the other's: a difference means a
// message is missing or a case is disputed, and officers must see it.
type Joint struct {
	Nodes [2]string
	Rows  []JointRow
}

// Merge sets two nodes' figures side by side, one row per route and week
// that either node has.
func Merge(a, b Figures) (Joint, error) {
	if a.Node == "" || b.Node == "" || a.Node == b.Node {
		return Joint{}, fmt.Errorf("ledger: merging needs the figures of two different nodes (got %q and %q)", a.Node, b.Node)
	}
	j := Joint{Nodes: [2]string{a.Node, b.Node}}
	type key struct {
		route string
		week  Week
	}
	idx := map[key]int{}
	for side, f := range []Figures{a, b} {
		for _, r := range f.Rows {
			k := key{r.Route, r.Week}
			i, ok := idx[k]
			if !ok {
				i = len(j.Rows)
				idx[k] = i
				j.Rows = append(j.Rows, JointRow{Route: r.Route, Week: r.Week})
			}
			// A node's figures hold one row per route and week; should a
			// caller pass more, they add up rather than one hiding another.
			c := &j.Rows[i].Counts[side]
			c.PreDeparture += r.Counts.PreDeparture
			c.Arrival += r.Counts.Arrival
			c.Monitoring += r.Counts.Monitoring
			c.Secondary += r.Counts.Secondary
		}
	}
	for i := range j.Rows {
		r := &j.Rows[i]
		for _, s := range Stages {
			if r.Counts[0].Of(s) != r.Counts[1].Of(s) {
				r.Differ = append(r.Differ, s)
			}
		}
	}
	slices.SortFunc(j.Rows, func(x, y JointRow) int {
		return cmp.Or(cmp.Compare(x.Route, y.Route), x.Week.Compare(y.Week))
	})
	return j, nil
}

// Disagreements returns the rows where the nodes' counts differ.
func (j Joint) Disagreements() []JointRow {
	var out []JointRow
	for _, r := range j.Rows {
		if !r.Agree() {
			out = append(out, r)
		}
	}
	return out
}
