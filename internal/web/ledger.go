package web

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/ledger"
)

// The joint dashboard: the zero-cross-border-infection ledger of both
// nodes, side by side, as a page (/joint/ledger) and as JSON
// (/api/v1/ledger), both built from one app.LedgerView so that they say
// the same; and the recording of a secondary case.

// ledgerCell is one count of the dashboard: a node's positives of one
// stage, in one week (Week set) or over the range (Week empty).
type ledgerCell struct {
	Node   string
	Stage  ledger.Stage
	N      int
	Differ bool // the other node counts this week and stage otherwise
}

type ledgerWeek struct {
	Week   string // ISO, e.g. 2020-W19
	Differ bool
	Cells  []ledgerCell
}

type ledgerRoute struct {
	app.RouteLedger
	Weeks  []ledgerWeek
	Totals []ledgerCell
	Chart  template.HTML
}

type ledgerPage struct {
	V       *app.LedgerView
	Columns []string // the nodes with a column: both, or this node alone
	Stages  []ledger.Stage
	Routes  []ledgerRoute
	Since   []ledgerSince
}

type ledgerSince struct {
	Node string
	ledger.Since
}

// columns lists the view's columns with their index in Joint.Nodes.
func columns(v *app.LedgerView) ([]string, []int) {
	var names []string
	var idx []int
	for i, n := range v.Joint.Nodes {
		if n != "" {
			names, idx = append(names, n), append(idx, i)
		}
	}
	return names, idx
}

// ledgerPageData shapes the view for the template, with each route's
// chart drawn in the reader's language.
func (s *Server) ledgerPageData(v *app.LedgerView, lang i18n.Lang) *ledgerPage {
	t := func(key string) string { return s.cat.T(lang, key) }
	names, idx := columns(v)
	d := &ledgerPage{V: v, Columns: names, Stages: ledger.Stages}
	for j, i := range idx {
		d.Since = append(d.Since, ledgerSince{Node: names[j], Since: v.Since[i]})
	}
	for _, r := range v.Routes {
		lr := ledgerRoute{RouteLedger: r}
		for _, row := range r.Rows {
			w := ledgerWeek{Week: row.Week.String(), Differ: v.Peer != "" && !row.Agree()}
			for _, i := range idx {
				for _, st := range ledger.Stages {
					differ := v.Peer != "" && slices.Contains(row.Differ, st)
					w.Cells = append(w.Cells, ledgerCell{Node: v.Joint.Nodes[i], Stage: st, N: row.Counts[i].Of(st), Differ: differ})
				}
			}
			lr.Weeks = append(lr.Weeks, w)
		}
		for _, i := range idx {
			for _, st := range ledger.Stages {
				lr.Totals = append(lr.Totals, ledgerCell{Node: v.Joint.Nodes[i], Stage: st, N: r.Totals[i].Of(st)})
			}
		}
		var svg []byte
		if v.Peer == "" {
			rows := make([]ledger.Row, 0, len(r.Rows))
			for _, row := range r.Rows {
				rows = append(rows, ledger.Row{Route: row.Route, Week: row.Week, Counts: row.Counts[0]})
			}
			svg = ledger.Chart(r.Lane, rows, t)
		} else {
			svg = ledger.JointChart(r.Lane, ledger.Joint{Nodes: v.Joint.Nodes, Rows: r.Rows}, t)
		}
		// The chart is drawn here, from counts, with every text escaped
		// by package ledger: safe to place as markup.
		lr.Chart = template.HTML(svg)
		d.Routes = append(d.Routes, lr)
	}
	return d
}

func ledgerQuery(r *http.Request) app.LedgerQuery {
	q := r.URL.Query()
	return app.LedgerQuery{Peer: q.Get("peer"), From: q.Get("from"), To: q.Get("to")}
}

func (s *Server) pageLedger(w http.ResponseWriter, r *http.Request) {
	s.ledgerPage(w, r, http.StatusOK, nil)
}

// ledgerPage renders the dashboard, with problem (a refused form) shown
// above it. A range the application refuses is shown as a problem too,
// over the default range.
func (s *Server) ledgerPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	p := principal(r)
	v, err := s.app.JointLedger(r.Context(), p, ledgerQuery(r))
	if app.ErrorCode(err) == app.CodeInvalid && problem == nil {
		problem, status = err, http.StatusUnprocessableEntity
		v, err = s.app.JointLedger(r.Context(), p, app.LedgerQuery{})
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	view := s.newView(w, r, "title.ledger", nil)
	view.Data = s.ledgerPageData(v, view.Lang)
	if problem != nil {
		if r.Method == http.MethodPost {
			view.Form = r.PostForm
		}
		view.setError(problem)
	}
	s.render(w, r, status, "joint_ledger", view)
}

func (s *Server) pageRecordSecondary(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := r.PostForm
	_, err := s.app.RecordSecondaryCase(r.Context(), principal(r), app.SecondaryInput{TripRef: f.Get("trip_ref"),
		DetectedOn: f.Get("detected_on"), LocalRef: f.Get("local_ref"), Note: f.Get("note")})
	if err != nil {
		if statusOf(err) == http.StatusUnprocessableEntity {
			s.ledgerPage(w, r, http.StatusUnprocessableEntity, err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/joint/ledger?done=secondary_recorded", http.StatusSeeOther)
}

// The API.

// LedgerJSON is the joint dashboard's figures.
type LedgerJSON struct {
	Node string `json:"node"`
	// Peer is the other node; empty when this node has none.
	Peer string `json:"peer"`
	// Nodes orders every per-node list below: by country, the same on
	// both nodes.
	Nodes []string `json:"nodes"`
	From  string   `json:"from"` // first day counted, YYYY-MM-DD (UTC)
	To    string   `json:"to"`   // last day counted
	// SinceLastCrossBorder is the headline: days since the last
	// cross-border infection either node reports, over all time.
	SinceLastCrossBorder SinceJSON         `json:"since_last_cross_border"`
	Since                []SinceJSON       `json:"since"` // per node
	Totals               []CountsJSON      `json:"totals"`
	Routes               []RouteLedgerJSON `json:"routes"`
	// Checks lists the days the peer's daily figures count otherwise than
	// the cases it notified.
	Checks []StatsCheckJSON `json:"checks"`
	// SecondaryCases are the cross-border infections recorded on this
	// node in the range.
	SecondaryCases []SecondaryCaseJSON `json:"secondary_cases"`
	At             time.Time           `json:"at"`
}

type SinceJSON struct {
	Node  string `json:"node,omitempty"`
	Never bool   `json:"never"`
	// Days and Last are absent when Never is true.
	Days *int   `json:"days,omitempty"`
	Last string `json:"last,omitempty"` // YYYY-MM-DD
}

// CountsJSON is one node's positives per stage.
type CountsJSON struct {
	Node         string `json:"node"`
	PreDeparture int    `json:"pre_departure"`
	Arrival      int    `json:"arrival"`
	Monitoring   int    `json:"monitoring"`
	Secondary    int    `json:"secondary"`
}

type RouteLedgerJSON struct {
	Lane        string `json:"lane"`
	Origin      string `json:"origin"`
	Destination string `json:"destination"`
	// Status is "open" or "suspended".
	Status     string               `json:"status"`
	Suspension *RouteSuspensionJSON `json:"suspension,omitempty"`
	Totals     []CountsJSON         `json:"totals"`
	Weeks      []LedgerWeekJSON     `json:"weeks"`
}

type RouteSuspensionJSON struct {
	From   time.Time `json:"from"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

type LedgerWeekJSON struct {
	Week   string       `json:"week"` // ISO week, e.g. 2020-W19
	Counts []CountsJSON `json:"counts"`
	// Differ lists the stages the nodes count differently this week.
	Differ []string `json:"differ"`
}

type StatsCheckJSON struct {
	Lane     string     `json:"lane"`
	Date     string     `json:"date"`
	Stats    CountsJSON `json:"daily_figures"`
	Notified CountsJSON `json:"notified"`
}

type SecondaryCaseJSON struct {
	ID         string    `json:"id"`
	TripRef    string    `json:"trip_ref"`
	Lane       string    `json:"lane"`
	DetectedOn string    `json:"detected_on"`
	LocalRef   string    `json:"local_ref"`
	Note       string    `json:"note"`
	RecordedAt time.Time `json:"recorded_at"`
}

type SecondaryInputJSON struct {
	TripRef    string `json:"trip_ref"`
	DetectedOn string `json:"detected_on"` // YYYY-MM-DD
	LocalRef   string `json:"local_ref"`
	Note       string `json:"note"`
}

func countsJSON(node string, c ledger.Counts) CountsJSON {
	return CountsJSON{Node: node, PreDeparture: c.PreDeparture, Arrival: c.Arrival, Monitoring: c.Monitoring, Secondary: c.Secondary}
}

func sinceJSON(node string, s ledger.Since) SinceJSON {
	out := SinceJSON{Node: node, Never: s.Never}
	if !s.Never {
		days := s.Days
		out.Days, out.Last = &days, s.Last.UTC().Format(time.DateOnly)
	}
	return out
}

func secondaryJSON(k app.SecondaryCase) SecondaryCaseJSON {
	return SecondaryCaseJSON{ID: k.ID, TripRef: k.TripRef, Lane: k.Lane, DetectedOn: k.DetectedOn, LocalRef: k.LocalRef, Note: k.Note,
		RecordedAt: k.CreatedAt.UTC()}
}

func ledgerJSON(v *app.LedgerView) LedgerJSON {
	names, idx := columns(v)
	out := LedgerJSON{Node: v.Node, Peer: v.Peer, Nodes: names, From: v.From, To: v.To, SinceLastCrossBorder: sinceJSON("", v.SinceJoint),
		Since: []SinceJSON{}, Totals: []CountsJSON{}, Routes: []RouteLedgerJSON{}, Checks: []StatsCheckJSON{},
		SecondaryCases: []SecondaryCaseJSON{}, At: v.At.UTC()}
	for _, i := range idx {
		out.Since = append(out.Since, sinceJSON(v.Joint.Nodes[i], v.Since[i]))
		out.Totals = append(out.Totals, countsJSON(v.Joint.Nodes[i], v.Totals[i]))
	}
	for _, r := range v.Routes {
		rj := RouteLedgerJSON{Lane: r.Lane, Origin: r.Origin, Destination: r.Destination, Status: "open", Totals: []CountsJSON{},
			Weeks: []LedgerWeekJSON{}}
		if s := r.Suspension; s != nil {
			rj.Status = "suspended"
			rj.Suspension = &RouteSuspensionJSON{From: s.StartsAt.UTC(), Until: s.EndsAt.UTC(), Reason: s.Reason}
		}
		for _, i := range idx {
			rj.Totals = append(rj.Totals, countsJSON(v.Joint.Nodes[i], r.Totals[i]))
		}
		for _, row := range r.Rows {
			wj := LedgerWeekJSON{Week: row.Week.String(), Counts: []CountsJSON{}, Differ: []string{}}
			for _, i := range idx {
				wj.Counts = append(wj.Counts, countsJSON(v.Joint.Nodes[i], row.Counts[i]))
			}
			if v.Peer != "" {
				for _, st := range row.Differ {
					wj.Differ = append(wj.Differ, string(st))
				}
			}
			rj.Weeks = append(rj.Weeks, wj)
		}
		out.Routes = append(out.Routes, rj)
	}
	for _, c := range v.Checks {
		out.Checks = append(out.Checks, StatsCheckJSON{Lane: c.Lane, Date: c.Date, Stats: countsJSON(v.Peer, c.Stats),
			Notified: countsJSON(v.Peer, c.Notified)})
	}
	for _, k := range v.Secondary {
		out.SecondaryCases = append(out.SecondaryCases, secondaryJSON(k))
	}
	return out
}

func (s *Server) apiLedger(r *http.Request, _ *noBody) (LedgerJSON, error) {
	v, err := s.app.JointLedger(r.Context(), principal(r), ledgerQuery(r))
	if err != nil {
		return LedgerJSON{}, err
	}
	return ledgerJSON(v), nil
}

func (s *Server) apiRecordSecondary(r *http.Request, in *SecondaryInputJSON) (SecondaryCaseJSON, error) {
	k, err := s.app.RecordSecondaryCase(r.Context(), principal(r), app.SecondaryInput{TripRef: in.TripRef,
		DetectedOn: strings.TrimSpace(in.DetectedOn), LocalRef: in.LocalRef, Note: in.Note})
	if err != nil {
		return SecondaryCaseJSON{}, err
	}
	return secondaryJSON(*k), nil
}
