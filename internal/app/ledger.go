package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
)

// The zero-cross-border-infection ledger, as the joint dashboard shows it:
// each node's positives per route and ISO week, side by side, the days
// since the last cross-border infection, and each route's status.
//
// Whose figures are whose. A node's own column holds the positives found
// on that node: the cases opened here (a positive test recorded by a lab
// here) and the secondary cases recorded here. The peer's column holds
// what the peer reported, and that is its case notifications
// (case.notified), not its daily figures (stats.daily): a notification
// crosses in the transaction that opens the case, so the peer's column is
// as current as the link, while the daily figures come once a day, for
// the day before. Once both nodes hold every message, node A's own column
// and node B's column for A are built from the same cases, and both
// dashboards show the same figures in the same order (the columns are
// sorted by country, not "mine first").
//
// The daily figures still count: they include positives that never
// crossed as a notice (a trip approved before the nodes were peered, a
// notice lost), so each day the peer sent figures for is checked against
// its notices, and a day where they differ is listed for the officers
// (LedgerView.Checks) rather than silently merged into either column.
//
// Weeks and days are cut in UTC, the corridor's reference zone: the wire
// carries UTC dates (a notice's detection date as the peer stores it, the
// day of the daily figures), and two nodes in different zones must cut
// the same weeks.
var ledgerZone = time.UTC

// Bounds of the dashboard's range.
const (
	ledgerDefaultWeeks = 26
	ledgerMaxDays      = 731
	maxLocalRef        = 64
)

// LedgerQuery selects the joint dashboard's figures.
type LedgerQuery struct {
	// Peer is the other node's country; the first peer when empty.
	Peer string
	// From and To are the first and last days shown, YYYY-MM-DD; by
	// default the 26 ISO weeks up to today.
	From, To string
}

// LedgerView is the joint dashboard.
type LedgerView struct {
	Node string // this node's country
	Peer string // the peer's; "" when this node has none
	// From and To are the days counted, inclusive.
	From, To string
	// Joint holds both nodes' figures, in the order of Joint.Nodes (by
	// country), one row per route and week that either counts.
	Joint  ledger.Joint
	Routes []RouteLedger
	// Since is per node in the order of Joint.Nodes, over all time: the
	// headline does not depend on the range shown.
	Since [2]ledger.Since
	// SinceJoint counts from the last cross-border infection either node
	// reports.
	SinceJoint ledger.Since
	Totals     [2]ledger.Counts // over the range, per node
	// Checks lists the days the peer's daily figures count otherwise
	// than the cases it notified.
	Checks []StatsCheck
	// Secondary lists the secondary cases recorded on this node in the
	// range, with their local references and notes.
	Secondary []SecondaryCase
	At        time.Time
}

// Side tells which column of the view is this node's.
func (v *LedgerView) Side() int {
	if v.Joint.Nodes[1] == v.Node {
		return 1
	}
	return 0
}

// RouteLedger is one route on the dashboard.
type RouteLedger struct {
	Lane                string
	Origin, Destination string
	Rows                []ledger.JointRow
	Totals              [2]ledger.Counts
	// Suspension is the suspension in force on the route; nil when the
	// route is open.
	Suspension *LaneSuspension
}

// StatsCheck is a day and route where the peer's daily figures count
// otherwise than the cases it notified.
type StatsCheck struct {
	Lane, Date string
	Stats      ledger.Counts
	Notified   ledger.Counts
}

// SecondaryCase is a cross-border infection recorded on this node.
type SecondaryCase = store.SecondaryCase

// JointLedger returns the joint dashboard. Roles: joint_officer,
// health_authority.
//
// It reads the range's cases, notices and figures with one query each:
// the cases table holds positives only, a small fraction of the trips, so
// reading a range of it per page load stays cheap up to about 100 000
// cases, and the reads go by indexed dates (migration 0003).
func (a *App) JointLedger(ctx context.Context, p Principal, q LedgerQuery) (*LedgerView, error) {
	if _, err := authorize(p, UCLedger); err != nil {
		return nil, err
	}
	now := a.now()
	from, to, err := ledgerRange(q, now)
	if err != nil {
		return nil, err
	}
	v := &LedgerView{Node: a.cfg.Country, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), At: now}
	if v.Peer, err = a.ledgerPeer(ctx, q.Peer); err != nil {
		return nil, err
	}
	days := store.DayRange{From: v.From, To: to.AddDate(0, 0, 1).Format(time.DateOnly)}

	// This node's positives: its cases in the range, and its secondary
	// cases, all of them for the headline.
	cases, err := a.db.LedgerCases(ctx, from, to.AddDate(0, 0, 1))
	if err != nil {
		return nil, storeErr(err, "cases")
	}
	secondary, err := a.db.ListSecondaryCases(ctx, store.DayRange{})
	if err != nil {
		return nil, storeErr(err, "secondary cases")
	}
	var own, ownSecondary []ledger.Positive
	for _, k := range cases {
		stage, ok := caseStage(k.Stage)
		if !ok || !a.onLedgerRoute(k.Lane, v.Peer) {
			continue // a positive during isolation is no new case
		}
		own = append(own, ledger.Positive{CaseRef: k.ID, Route: k.Lane, Stage: stage, DetectedAt: k.OpenedAt})
	}
	for _, k := range secondary {
		if !a.onLedgerRoute(k.Lane, v.Peer) {
			continue
		}
		d, err := time.ParseInLocation(time.DateOnly, k.DetectedOn, ledgerZone)
		if err != nil {
			return nil, fmt.Errorf("secondary case %s: detection date %q: %w", k.ID, k.DetectedOn, err)
		}
		pos := ledger.Positive{CaseRef: k.ID, Route: k.Lane, Stage: ledger.Secondary, DetectedAt: d}
		ownSecondary = append(ownSecondary, pos)
		if k.DetectedOn >= days.From && k.DetectedOn < days.To {
			own = append(own, pos)
			v.Secondary = append(v.Secondary, k)
		}
	}
	ownFig, err := ledger.Tally(v.Node, own, ledgerZone)
	if err != nil {
		return nil, err
	}
	ownSince := ledger.SinceLastCrossBorder(ownSecondary, now, ledgerZone)

	if v.Peer == "" {
		v.Joint = alone(ownFig)
		v.Since[0], v.SinceJoint = ownSince, ownSince
	} else {
		peerPos, peerSecondary, notified, err := a.peerPositives(ctx, v.Peer, days)
		if err != nil {
			return nil, err
		}
		peerFig, err := ledger.Tally(v.Peer, peerPos, ledgerZone)
		if err != nil {
			return nil, fmt.Errorf("%s's notified cases: %w", v.Peer, err)
		}
		peerSince := ledger.SinceLastCrossBorder(peerSecondary, now, ledgerZone)
		a1, b1, sa, sb := ownFig, peerFig, ownSince, peerSince
		if v.Peer < v.Node {
			a1, b1, sa, sb = peerFig, ownFig, peerSince, ownSince
		}
		if v.Joint, err = ledger.Merge(a1, b1); err != nil {
			return nil, err
		}
		v.Since = [2]ledger.Since{sa, sb}
		v.SinceJoint = ledger.SinceLastCrossBorder(append(ownSecondary, peerSecondary...), now, ledgerZone)
		if v.Checks, err = a.statsChecks(ctx, v.Peer, days, notified); err != nil {
			return nil, err
		}
		flagChecks(&v.Joint, v.Checks)
	}
	if v.Routes, err = a.ledgerRoutes(ctx, v, now); err != nil {
		return nil, err
	}
	for _, r := range v.Routes {
		for i := range v.Totals {
			v.Totals[i] = addCounts(v.Totals[i], r.Totals[i])
		}
	}
	return v, nil
}

// LedgerStage classifies a case opened on this node for the ledger; false
// for a positive found during isolation, which is no new case.
func LedgerStage(s store.Stage) (ledger.Stage, bool) { return caseStage(s) }

// ledgerRange reads the range asked for, or the default one.
func ledgerRange(q LedgerQuery, now time.Time) (from, to time.Time, err error) {
	v := invalid{}
	today := now.In(ledgerZone)
	to = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, ledgerZone)
	if s := strings.TrimSpace(q.To); s != "" {
		if d, ok := v.date("to", s, false); ok {
			to = d
		}
	}
	from = ledger.WeekOf(to, ledgerZone).Monday(ledgerZone).AddDate(0, 0, -7*(ledgerDefaultWeeks-1))
	if s := strings.TrimSpace(q.From); s != "" {
		if d, ok := v.date("from", s, false); ok {
			from = d
		}
	}
	if len(v) == 0 {
		switch {
		case from.After(to):
			v.add("from", "must not be after the last day shown")
		case to.Sub(from) > ledgerMaxDays*24*time.Hour:
			v.add("to", "the range may span at most %d days", ledgerMaxDays)
		}
	}
	return from, to, v.err()
}

// ledgerPeer picks the peer whose figures the dashboard sets beside this
// node's.
func (a *App) ledgerPeer(ctx context.Context, want string) (string, error) {
	want = strings.ToUpper(strings.TrimSpace(want))
	if want != "" {
		if !reCountry.MatchString(want) {
			return "", &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"peer": "must be a two-letter country code such as KR"}}
		}
		if _, err := a.db.GetPeer(ctx, want); errors.Is(err, store.ErrNotFound) {
			return "", &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"peer": "is not a peer of this node"}}
		} else if err != nil {
			return "", storeErr(err, "peer")
		}
		return want, nil
	}
	peers, err := a.db.ListPeers(ctx)
	if err != nil {
		return "", storeErr(err, "peers")
	}
	if len(peers) == 0 {
		return "", nil
	}
	countries := make([]string, 0, len(peers))
	for _, pr := range peers {
		countries = append(countries, pr.Country)
	}
	slices.Sort(countries)
	return countries[0], nil
}

// onLedgerRoute tells whether a positive on lane belongs on the dashboard
// with peer: a lane between the two nodes, or one the policy no longer
// names, which is shown rather than dropped.
func (a *App) onLedgerRoute(lane, peer string) bool {
	l, ok := a.Policy().Lane(lane)
	if !ok || peer == "" {
		return true
	}
	return (l.Origin == a.cfg.Country && l.Destination == peer) || (l.Origin == peer && l.Destination == a.cfg.Country)
}

// peerPositives reads the cases the peer notified: those detected in
// days as positives, every secondary one for the headline, and the
// notified counts per lane and day for the check of the daily figures.
func (a *App) peerPositives(ctx context.Context, peer string, days store.DayRange) (inRange, secondary []ledger.Positive,
	notified map[[2]string]*ledger.Counts, err error) {
	list, err := a.db.PeerCasesIn(ctx, store.PeerCaseFilter{Peer: peer, Days: days})
	if err != nil {
		return nil, nil, nil, storeErr(err, "notified cases")
	}
	sec, err := a.db.PeerCasesIn(ctx, store.PeerCaseFilter{Peer: peer, Stage: string(ledger.Secondary)})
	if err != nil {
		return nil, nil, nil, storeErr(err, "notified cases")
	}
	positive := func(k store.PeerCase) (ledger.Positive, error) {
		d, err := time.ParseInLocation(time.DateOnly, k.DetectedOn, ledgerZone)
		if err != nil {
			return ledger.Positive{}, fmt.Errorf("%s's case %s: detection date %q: %w", peer, k.Ref, k.DetectedOn, err)
		}
		return ledger.Positive{CaseRef: k.Ref, Route: k.Lane, Stage: ledger.Stage(k.Stage), DetectedAt: d}, nil
	}
	notified = map[[2]string]*ledger.Counts{}
	for _, k := range list {
		pos, err := positive(k)
		if err != nil {
			return nil, nil, nil, err
		}
		inRange = append(inRange, pos)
		key := [2]string{k.Lane, k.DetectedOn}
		if notified[key] == nil {
			notified[key] = new(ledger.Counts)
		}
		*notified[key] = addCounts(*notified[key], countOf(pos.Stage))
	}
	for _, k := range sec {
		pos, err := positive(k)
		if err != nil {
			return nil, nil, nil, err
		}
		secondary = append(secondary, pos)
	}
	return inRange, secondary, notified, nil
}

// statsChecks compares the peer's daily figures with its notices, day by
// day, and lists the days they dispute.
func (a *App) statsChecks(ctx context.Context, peer string, days store.DayRange, notified map[[2]string]*ledger.Counts) ([]StatsCheck, error) {
	stats, err := a.db.PeerStatsIn(ctx, peer, days)
	if err != nil {
		return nil, storeErr(err, "daily figures")
	}
	var out []StatsCheck
	for _, st := range stats {
		var b envelope.StatsDaily
		if err := json.Unmarshal(st.Body, &b); err != nil {
			return nil, fmt.Errorf("%s's figures of %s: %w", peer, st.Date, err)
		}
		var n ledger.Counts
		if c := notified[[2]string{st.Lane, st.Date}]; c != nil {
			n = *c
		}
		if c := (StatsCheck{Lane: st.Lane, Date: st.Date, Stats: b.Positives, Notified: n}); len(c.Disputed()) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// Disputed lists the stages the daily figures and the notices count
// differently. A secondary case notified beyond the day's figures is not
// one: it is often recorded days after its detection date, when the
// figures of that day have been sent already.
func (c StatsCheck) Disputed() []ledger.Stage {
	var out []ledger.Stage
	for _, st := range ledger.Stages {
		s, n := c.Stats.Of(st), c.Notified.Of(st)
		if s != n && (st != ledger.Secondary || s > n) {
			out = append(out, st)
		}
	}
	return out
}

// flagChecks sets which weeks the dashboard marks as disputed. Merge
// marks the weeks whose columns differ, as if they were two counts of the
// same positives; here each column is one node's own positives, which
// differ by nature (one node stops travellers before departure, the other
// finds them on arrival). What can disagree is the peer's two reports of
// its own positives, its notices and its daily figures: a week is marked
// where a day of it was checked and found to differ, with a row of its
// own if neither node counted a positive that week.
func flagChecks(j *ledger.Joint, checks []StatsCheck) {
	for i := range j.Rows {
		j.Rows[i].Differ = nil
	}
	added := false
	for _, c := range checks {
		d, err := time.ParseInLocation(time.DateOnly, c.Date, ledgerZone)
		if err != nil {
			continue // a peer's figures are stored under the date they were validated with
		}
		w := ledger.WeekOf(d, ledgerZone)
		i := slices.IndexFunc(j.Rows, func(r ledger.JointRow) bool { return r.Route == c.Lane && r.Week == w })
		if i < 0 {
			j.Rows = append(j.Rows, ledger.JointRow{Route: c.Lane, Week: w})
			i, added = len(j.Rows)-1, true
		}
		r := &j.Rows[i]
		for _, st := range c.Disputed() {
			if !slices.Contains(r.Differ, st) {
				r.Differ = append(r.Differ, st)
			}
		}
		slices.SortFunc(r.Differ, func(x, y ledger.Stage) int {
			return cmp.Compare(slices.Index(ledger.Stages, x), slices.Index(ledger.Stages, y))
		})
	}
	if added {
		slices.SortFunc(j.Rows, func(x, y ledger.JointRow) int {
			return cmp.Or(cmp.Compare(x.Route, y.Route), x.Week.Compare(y.Week))
		})
	}
}

// ledgerRoutes lists the routes between the two nodes, with the routes
// the figures name besides, each with its rows and its status now.
func (a *App) ledgerRoutes(ctx context.Context, v *LedgerView, now time.Time) ([]RouteLedger, error) {
	var out []RouteLedger
	seen := map[string]bool{}
	for _, l := range a.Policy().Lanes {
		between := (l.Origin == v.Node && (v.Peer == "" || l.Destination == v.Peer)) ||
			(l.Destination == v.Node && (v.Peer == "" || l.Origin == v.Peer))
		if between {
			out = append(out, RouteLedger{Lane: l.ID, Origin: l.Origin, Destination: l.Destination})
			seen[l.ID] = true
		}
	}
	for _, r := range v.Joint.Rows {
		if !seen[r.Route] {
			origin, dest, _ := strings.Cut(r.Route, "-")
			out = append(out, RouteLedger{Lane: r.Route, Origin: origin, Destination: dest})
			seen[r.Route] = true
		}
	}
	slices.SortFunc(out, func(x, y RouteLedger) int { return cmp.Compare(x.Lane, y.Lane) })
	for i := range out {
		r := &out[i]
		for _, row := range v.Joint.Rows {
			if row.Route != r.Lane {
				continue
			}
			r.Rows = append(r.Rows, row)
			for side := range r.Totals {
				r.Totals[side] = addCounts(r.Totals[side], row.Counts[side])
			}
		}
		s, err := a.db.ActiveLaneSuspension(ctx, r.Lane, now)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, storeErr(err, "lane suspension")
		default:
			r.Suspension = s
		}
	}
	return out, nil
}

// alone is the joint view of a node without a peer: its own figures, with
// an empty second column.
func alone(f ledger.Figures) ledger.Joint {
	j := ledger.Joint{Nodes: [2]string{f.Node, ""}}
	for _, r := range f.Rows {
		j.Rows = append(j.Rows, ledger.JointRow{Route: r.Route, Week: r.Week, Counts: [2]ledger.Counts{r.Counts}})
	}
	return j
}

func countOf(s ledger.Stage) ledger.Counts {
	var c ledger.Counts
	switch s {
	case ledger.PreDeparture:
		c.PreDeparture = 1
	case ledger.Arrival:
		c.Arrival = 1
	case ledger.Monitoring:
		c.Monitoring = 1
	case ledger.Secondary:
		c.Secondary = 1
	}
	return c
}

func addCounts(a, b ledger.Counts) ledger.Counts {
	return ledger.Counts{PreDeparture: a.PreDeparture + b.PreDeparture, Arrival: a.Arrival + b.Arrival,
		Monitoring: a.Monitoring + b.Monitoring, Secondary: a.Secondary + b.Secondary}
}

// SecondaryInput records a secondary case.
type SecondaryInput struct {
	// TripRef is the lane traveller's trip the infection is linked to.
	TripRef    string
	DetectedOn string // YYYY-MM-DD
	// LocalRef is the local health system's case reference; Note is free
	// text. Both stay on this node.
	LocalRef string
	Note     string
}

// RecordSecondaryCase records a cross-border infection: someone who is
// not a lane traveller, infected by the traveller of trip TripRef, who
// must have crossed the border. The infected person is not named. The
// case counts in the ledger as secondary, and crosses to the peer as a
// case notice when the trip is shared. Roles: health_authority,
// joint_officer.
func (a *App) RecordSecondaryCase(ctx context.Context, p Principal, in SecondaryInput) (*SecondaryCase, error) {
	role, err := authorize(p, UCSecondaryRecord)
	if err != nil {
		return nil, err
	}
	v := invalid{}
	in.TripRef = strings.ToUpper(strings.TrimSpace(in.TripRef))
	if in.TripRef == "" || len(in.TripRef) > maxRefQuery {
		v.add("trip_ref", "must be the trip's reference, such as KR-7H2M4QX0")
	}
	in.DetectedOn = strings.TrimSpace(in.DetectedOn)
	now := a.now()
	if d, ok := v.date("detected_on", in.DetectedOn, true); ok && d.Format(time.DateOnly) > a.day(now) {
		v.add("detected_on", "must not be in the future")
	}
	in.LocalRef = strings.TrimSpace(in.LocalRef)
	v.text("local_ref", in.LocalRef, maxLocalRef, true)
	in.Note = strings.TrimSpace(in.Note)
	v.text("note", in.Note, maxNote, false)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *SecondaryCase
	err = a.tx(ctx, "secondary case", func(tx store.Store) error {
		now := a.now()
		t, err := tx.GetTripByReference(ctx, in.TripRef)
		if errors.Is(err, store.ErrNotFound) {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"trip_ref": "no trip with this reference on this node"}}
		}
		if err != nil {
			return err
		}
		if t.DepartedAt.IsZero() {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting",
				Fields: map[string]string{"trip_ref": "the trip's traveller never crossed the border: there is no cross-border infection to link"}}
		}
		if dep := a.day(t.DepartedAt); in.DetectedOn < dep {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting",
				Fields: map[string]string{"detected_on": fmt.Sprintf("must not be before the traveller departed, on %s", dep)}}
		}
		k := &store.SecondaryCase{ID: auth.NewID(), TripID: t.ID, TripRef: t.Reference, Lane: t.Lane, DetectedOn: in.DetectedOn,
			LocalRef: in.LocalRef, Note: in.Note, RecordedBy: p.ActorID(), CreatedAt: now}
		if err := tx.AddSecondaryCase(ctx, k); errors.Is(err, store.ErrConflict) {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting",
				Fields: map[string]string{"local_ref": "a secondary case with this reference is recorded already"}}
		} else if err != nil {
			return err
		}
		if err := a.notifySecondary(ctx, tx, t, k, now); err != nil {
			return err
		}
		out = k
		// The audit names the case and its trip; the local reference and
		// the note stay in the case's row, which the purge reaches.
		return tx.AppendAudit(ctx, entry(p, string(role), "case.secondary", "trip:"+t.ID, now,
			map[string]string{"case": k.ID, "lane": k.Lane, "detected_on": k.DetectedOn}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
