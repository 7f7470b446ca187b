package simulate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Outcome is one figure the simulation reports, as a share of the infected
// travellers (or of their infectiousness).
type Outcome int

const (
	CaughtBeforeDeparture Outcome = iota
	CaughtOnArrival
	CaughtInQuarantine
	CaughtInMonitoring
	// InfectiousDuringTravel: travellers who board and are inside their
	// infectious period at some time during the journey.
	InfectiousDuringTravel
	// InfectiousnessDuringTravel: the share of the travellers' total
	// infectiousness spent on the journey (transmission potential on board).
	InfectiousnessDuringTravel
	// ReleasedInfectious: travellers released before their infectious
	// period is over.
	ReleasedInfectious
	// InfectiousnessAfterRelease: the share of the travellers' total
	// infectiousness left after release (minus what monitoring isolates),
	// the transmission potential that reaches the community.
	InfectiousnessAfterRelease
	numOutcomes
)

var outcomeText = [numOutcomes]struct{ key, label string }{
	CaughtBeforeDeparture:      {"caught_before_departure", "caught before departure"},
	CaughtOnArrival:            {"caught_on_arrival", "caught on arrival"},
	CaughtInQuarantine:         {"caught_in_quarantine", "caught in quarantine"},
	CaughtInMonitoring:         {"caught_in_monitoring", "caught during monitoring"},
	InfectiousDuringTravel:     {"infectious_during_travel", "infectious during travel"},
	InfectiousnessDuringTravel: {"infectiousness_during_travel", "infectiousness spent travelling"},
	ReleasedInfectious:         {"released_infectious", "released while infectious"},
	InfectiousnessAfterRelease: {"infectiousness_after_release", "infectiousness left after release"},
}

// Outcomes lists every outcome in report order.
func Outcomes() []Outcome {
	out := make([]Outcome, numOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// Key is the outcome's name in JSON and CSV.
func (o Outcome) Key() string { return outcomeText[o].key }

// String is the outcome's name in tables and charts.
func (o Outcome) String() string { return outcomeText[o].label }

// HasBaseline reports whether the outcome is a risk that measures reduce, and
// so has a reduction against no measures.
func (o Outcome) HasBaseline() bool { return o >= InfectiousDuringTravel && o < numOutcomes }

// Interval is a figure's mean over the parameter draws and the 2.5th and
// 97.5th percentiles of its draws.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// Result is one scenario's figures.
type Result struct {
	Scenario        Scenario
	Travellers      int
	Draws           int
	Seed            uint64
	FixedParameters bool

	shares       [numOutcomes]Interval
	reductions   [numOutcomes]Interval
	hasReduction [numOutcomes]bool
	// perDraw and baseline keep each draw's values, for the tests.
	perDraw, baseline [][numOutcomes]float64
}

// Share is the outcome's share of infected travellers.
func (r *Result) Share(o Outcome) Interval { return r.shares[o] }

// Reduction is 1 − (share with the measures)/(share with no measures), for
// the same travellers and parameters. It is missing (false) for outcomes
// without a baseline, or when no measures give a share of zero in every draw.
func (r *Result) Reduction(o Outcome) (Interval, bool) {
	return r.reductions[o], r.hasReduction[o]
}

func summarise(s Scenario, perDraw []tally, opt Options, draws int) *Result {
	r := &Result{
		Scenario:        s,
		Travellers:      opt.Travellers,
		Draws:           draws,
		Seed:            opt.Seed,
		FixedParameters: opt.FixedParameters,
	}
	for _, t := range perDraw {
		v, b := t.values()
		r.perDraw = append(r.perDraw, v)
		r.baseline = append(r.baseline, b)
	}
	for o := range numOutcomes {
		vals := make([]float64, 0, draws)
		var reductions []float64
		for d := range perDraw {
			vals = append(vals, r.perDraw[d][o])
			if o.HasBaseline() && r.baseline[d][o] > 0 {
				reductions = append(reductions, 1-r.perDraw[d][o]/r.baseline[d][o])
			}
		}
		r.shares[o] = interval(vals)
		if len(reductions) > 0 {
			r.reductions[o], r.hasReduction[o] = interval(reductions), true
		}
	}
	return r
}

func interval(vals []float64) Interval {
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	return Interval{
		Mean: sum / float64(len(sorted)),
		Lo:   quantile(sorted, 0.025),
		Hi:   quantile(sorted, 0.975),
	}
}

// quantile interpolates linearly between order statistics (R's type 7).
func quantile(sorted []float64, p float64) float64 {
	h := p * float64(len(sorted)-1)
	i := int(math.Floor(h))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// Results are the figures of the scenarios of one run, in order.
type Results []*Result

// WriteTable writes the result as a text table.
func (r *Result) WriteTable(w io.Writer) error { return Results{r}.WriteTable(w) }

func (rs Results) names() []string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Scenario.Name
		if names[i] == "" {
			names[i] = fmt.Sprintf("scenario %d", i+1)
		}
	}
	return names
}

// WriteTable writes the scenarios side by side: one row per outcome, then
// the reductions against no measures, then what each scenario is.
func (rs Results) WriteTable(w io.Writer) error {
	if len(rs) == 0 {
		return nil
	}
	names := rs.names()
	var b strings.Builder
	first := rs[0]
	params := "parameter draws"
	if first.FixedParameters {
		params = "runs with fixed parameters"
	}
	fmt.Fprintf(&b, "%d infected travellers per scenario, %d %s, seed %d.\n", first.Travellers, first.Draws, params, first.Seed)
	b.WriteString("Shares of infected travellers (or of their infectiousness): mean, with the 95% interval over the draws.\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	fmt.Fprintf(tw, "share of infected travellers\t%s\t\n", strings.Join(names, "\t"))
	for _, o := range Outcomes() {
		cells := make([]string, len(rs))
		for i, r := range rs {
			cells[i] = formatInterval(r.Share(o))
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", o, strings.Join(cells, "\t"))
	}
	fmt.Fprintf(tw, "%s\n", strings.Repeat("\t", len(rs)+1))
	fmt.Fprintf(tw, "reduction against no measures\t%s\t\n", strings.Join(names, "\t"))
	for _, o := range Outcomes() {
		if !o.HasBaseline() {
			continue
		}
		cells := make([]string, len(rs))
		for i, r := range rs {
			cells[i] = "n/a"
			if red, ok := r.Reduction(o); ok {
				cells[i] = formatInterval(red)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", o, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	for i, r := range rs {
		fmt.Fprintf(&b, "%s: %s\n  assuming %s\n", names[i], r.Scenario.Describe(), r.Scenario.describeAssumptions())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatInterval writes "94.3% (91.2–96.8%)", with enough digits for small
// shares to stay visible.
func formatInterval(iv Interval) string {
	return fmt.Sprintf("%s%% (%s–%s%%)", percent(iv.Mean), percent(iv.Lo), percent(iv.Hi))
}

func percent(v float64) string {
	p := v * 100
	switch a := math.Abs(p); {
	case a == 0:
		return "0"
	case a < 0.001:
		return fmt.Sprintf("%.1e", p)
	case a < 1:
		return strconv.FormatFloat(p, 'f', 3, 64)
	default:
		return strconv.FormatFloat(p, 'f', 1, 64)
	}
}

type jsonOutcome struct {
	Outcome   string    `json:"outcome"`
	Label     string    `json:"label"`
	Share     Interval  `json:"share"`
	Reduction *Interval `json:"reduction,omitempty"`
}

type jsonScenario struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Scenario    Scenario      `json:"scenario"`
	Outcomes    []jsonOutcome `json:"outcomes"`
}

type jsonRun struct {
	Travellers      int            `json:"travellers"`
	Draws           int            `json:"draws"`
	Seed            uint64         `json:"seed"`
	FixedParameters bool           `json:"fixed_parameters"`
	Scenarios       []jsonScenario `json:"scenarios"`
}

// WriteJSON writes the results as one JSON document.
func (rs Results) WriteJSON(w io.Writer) error {
	if len(rs) == 0 {
		return nil
	}
	run := jsonRun{Travellers: rs[0].Travellers, Draws: rs[0].Draws, Seed: rs[0].Seed, FixedParameters: rs[0].FixedParameters}
	names := rs.names()
	for i, r := range rs {
		js := jsonScenario{Name: names[i], Description: r.Scenario.Describe(), Scenario: r.Scenario}
		for _, o := range Outcomes() {
			jo := jsonOutcome{Outcome: o.Key(), Label: o.String(), Share: r.Share(o)}
			if red, ok := r.Reduction(o); ok {
				jo.Reduction = &red
			}
			js.Outcomes = append(js.Outcomes, jo)
		}
		run.Scenarios = append(run.Scenarios, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(run)
}

// WriteCSV writes one row per scenario and outcome; shares are fractions.
func (rs Results) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	if err := cw.Write([]string{"scenario", "outcome", "mean", "lo", "hi", "reduction_mean", "reduction_lo", "reduction_hi"}); err != nil {
		return err
	}
	names := rs.names()
	for i, r := range rs {
		for _, o := range Outcomes() {
			s := r.Share(o)
			row := []string{names[i], o.Key(), f(s.Mean), f(s.Lo), f(s.Hi), "", "", ""}
			if red, ok := r.Reduction(o); ok {
				row[5], row[6], row[7] = f(red.Mean), f(red.Lo), f(red.Hi)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
