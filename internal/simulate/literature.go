package simulate

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// A LiteratureCheck is a published modelling result about whole scenarios
// and the scenario that reproduces its set-up here. Our figure must fall in
// [Lo, Hi] (widened by twice our own Monte Carlo standard error); Band says
// why that band.
type LiteratureCheck struct {
	Study       string
	SetUp       string
	TheirFigure string
	Lo, Hi      float64
	Band        string
	Outcome     Outcome
	// Flags are the `corridor simulate` flags of Scenario.
	Flags    string
	Scenario Scenario
	// Comparator, when set, is the study's own reference scenario: the
	// reduction is 1 − ours/comparator's on the same travellers. Otherwise
	// it is against no measures.
	Comparator      *Scenario
	ComparatorFlags string
}

// LiteratureChecks lists the published figures the model is held to.
func LiteratureChecks() []LiteratureCheck {
	const clifford = "Clifford et al. 2021, Eurosurveillance 26(39):2001440"
	const cliffordBand = "their 95% uncertainty interval"
	cliff := func(set func(*Scenario)) Scenario {
		s := DefaultScenario()
		s.TravelHours = 0
		s.SymptomScreening = SymptomScreening{Departure: true}
		set(&s)
		return s
	}
	comparator := cliff(func(*Scenario) {})
	const cliffordComparator = "--travel-hours 0 --symptom-screening departure"

	const johansson = "Johansson et al. 2021, BMC Medicine 19:94"
	const johanssonBand = "the span of their published and preprint (medRxiv 2020.11.23.20237412) figures: each is a range over their own assumptions, and their revision moved it"
	john := func(set func(*Scenario)) Scenario {
		s := DefaultScenario()
		s.InfectedMaxDays = 7
		set(&s)
		return s
	}

	return []LiteratureCheck{
		{
			Study:       clifford,
			SetUp:       "arrivals to the UK; 14-day quarantine, symptomatic travellers isolated; against departure symptom screening (70%) alone",
			TheirFigure: "infectious travellers released: >99% (98–100%) fewer",
			Lo:          0.98, Hi: 1, Band: cliffordBand,
			Outcome:         ReleasedInfectious,
			Flags:           "--travel-hours 0 --symptom-screening departure,quarantine --quarantine 14",
			Scenario:        cliff(func(s *Scenario) { s.SymptomScreening.Quarantine = true; s.QuarantineDays = 14 }),
			Comparator:      &comparator,
			ComparatorFlags: cliffordComparator,
		},
		{
			Study:       clifford,
			SetUp:       "quarantine with a PCR on day 7, released on day 8 when negative",
			TheirFigure: "infectious travellers released: 94% (89–98%) fewer",
			Lo:          0.89, Hi: 0.98, Band: cliffordBand,
			Outcome: ReleasedInfectious,
			Flags:   "--travel-hours 0 --symptom-screening departure,quarantine --quarantine 7 --exit-test 7",
			Scenario: cliff(func(s *Scenario) {
				s.SymptomScreening.Quarantine = true
				s.QuarantineDays = 7
				s.ExitTests = []ExitTest{{Day: 7, Kind: PCR}}
			}),
			Comparator:      &comparator,
			ComparatorFlags: cliffordComparator,
		},
		{
			Study:       clifford,
			SetUp:       "at least 5 days of quarantine and a negative PCR before release (here: test on day 5, released on day 6)",
			TheirFigure: "infectious travellers released: 89% (83–95%) fewer",
			Lo:          0.83, Hi: 0.95, Band: cliffordBand,
			Outcome: ReleasedInfectious,
			Flags:   "--travel-hours 0 --symptom-screening departure,quarantine --quarantine 5 --exit-test 5",
			Scenario: cliff(func(s *Scenario) {
				s.SymptomScreening.Quarantine = true
				s.QuarantineDays = 5
				s.ExitTests = []ExitTest{{Day: 5, Kind: PCR}}
			}),
			Comparator:      &comparator,
			ComparatorFlags: cliffordComparator,
		},
		{
			Study:       johansson,
			SetUp:       "infected 0–7 days before travel; isolation at symptom onset before travel",
			TheirFigure: "transmission risk during travel: 30–35% lower (preprint 26–30%)",
			Lo:          0.26, Hi: 0.35, Band: johanssonBand,
			Outcome:  InfectiousnessDuringTravel,
			Flags:    "--infected-before-departure 0:7 --symptom-screening departure --symptom-sensitivity 1",
			Scenario: john(func(s *Scenario) { s.SymptomScreening.Departure, s.SymptomSensitivity = true, 1 }),
		},
		{
			Study:       johansson,
			SetUp:       "as above, and an antigen test on the day of departure",
			TheirFigure: "transmission risk during travel: 44–72% lower (preprint 37–61%)",
			Lo:          0.37, Hi: 0.72, Band: johanssonBand,
			Outcome: InfectiousnessDuringTravel,
			Flags:   "--infected-before-departure 0:7 --symptom-screening departure --symptom-sensitivity 1 --pre-departure-test 0:antigen",
			Scenario: john(func(s *Scenario) {
				s.SymptomScreening.Departure, s.SymptomSensitivity = true, 1
				s.PreDepartureTests = []PreDepartureTest{{HoursBefore: 0, Kind: Antigen}}
			}),
		},
		{
			Study:       johansson,
			SetUp:       "as above, with a PCR (result in 12 h) sampled on the day of departure",
			TheirFigure: "transmission risk during travel: 44–72% lower (preprint 37–61%)",
			Lo:          0.37, Hi: 0.72, Band: johanssonBand,
			Outcome: InfectiousnessDuringTravel,
			Flags:   "--infected-before-departure 0:7 --symptom-screening departure --symptom-sensitivity 1 --pre-departure-test 12 --result-delay 12",
			Scenario: john(func(s *Scenario) {
				s.SymptomScreening.Departure, s.SymptomSensitivity = true, 1
				s.ResultDelayHours = 12
				s.PreDepartureTests = []PreDepartureTest{{HoursBefore: 12, Kind: PCR}}
			}),
		},
		{
			Study:       johansson,
			SetUp:       "infected 0–7 days before arrival; isolation at symptom onset after arrival",
			TheirFigure: "transmission risk after arrival: 42–56% lower (preprint the same)",
			Lo:          0.42, Hi: 0.56, Band: johanssonBand,
			Outcome: InfectiousnessAfterRelease,
			Flags:   "--infected-before-departure 0:7 --travel-hours 0 --symptom-screening arrival --symptom-sensitivity 1 --monitoring 60",
			Scenario: john(func(s *Scenario) {
				s.TravelHours = 0
				s.SymptomScreening.Arrival, s.SymptomSensitivity = true, 1
				s.MonitoringDays = 60
			}),
		},
		{
			Study:       johansson,
			SetUp:       "infected 0–7 days before arrival; 14-day quarantine without symptom monitoring or testing",
			TheirFigure: "transmission risk after arrival: 96–100% lower (preprint 97–100%)",
			Lo:          0.96, Hi: 1, Band: johanssonBand,
			Outcome: InfectiousnessAfterRelease,
			Flags:   "--infected-before-departure 0:7 --travel-hours 0 --quarantine 14",
			Scenario: john(func(s *Scenario) {
				s.TravelHours = 0
				s.QuarantineDays = 14
			}),
		},
	}
}

// A LiteratureFinding is our figure for a LiteratureCheck.
type LiteratureFinding struct {
	Check LiteratureCheck
	// Ours is the reduction, mean and 95% interval over the draws.
	Ours Interval
	// StdErr is the Monte Carlo standard error of Ours.Mean.
	StdErr float64
}

// Within reports whether our mean falls in the check's band, widened by
// twice our standard error so that Monte Carlo noise alone cannot fail it.
func (f LiteratureFinding) Within() bool {
	return f.Ours.Mean >= f.Check.Lo-2*f.StdErr && f.Ours.Mean <= f.Check.Hi+2*f.StdErr
}

// CheckLiterature runs every LiteratureCheck (and its comparator) on the
// same travellers.
func CheckLiterature(ctx context.Context, opt Options) ([]LiteratureFinding, error) {
	checks := LiteratureChecks()
	var scenarios []Scenario
	index := make([][2]int, len(checks)) // the check's scenario and comparator, or -1
	for i, c := range checks {
		s := c.Scenario
		s.Name = fmt.Sprintf("check %d", i+1)
		index[i] = [2]int{len(scenarios), -1}
		scenarios = append(scenarios, s)
		if c.Comparator != nil {
			cmp := *c.Comparator
			cmp.Name = fmt.Sprintf("check %d comparator", i+1)
			index[i][1] = len(scenarios)
			scenarios = append(scenarios, cmp)
		}
	}
	var results Results
	for start := 0; start < len(scenarios); start += MaxScenarios {
		rs, err := Run(ctx, scenarios[start:min(start+MaxScenarios, len(scenarios))], opt)
		if err != nil {
			return nil, err
		}
		results = append(results, rs...)
	}
	findings := make([]LiteratureFinding, len(checks))
	for i, c := range checks {
		r := results[index[i][0]]
		var reductions []float64
		for d := range r.perDraw {
			base := r.baseline[d][c.Outcome]
			if index[i][1] >= 0 {
				base = results[index[i][1]].perDraw[d][c.Outcome]
			}
			if base > 0 {
				reductions = append(reductions, 1-r.perDraw[d][c.Outcome]/base)
			}
		}
		if len(reductions) == 0 {
			return nil, fmt.Errorf("simulate: check %d (%s): the reference has no %s in any draw", i+1, c.Study, c.Outcome)
		}
		findings[i] = LiteratureFinding{Check: c, Ours: interval(reductions), StdErr: stdErr(reductions)}
	}
	return findings, nil
}

func stdErr(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var mean, ss float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(v)-1)) / math.Sqrt(float64(len(v)))
}

// WriteLiteratureTable writes the findings as a Markdown table.
func WriteLiteratureTable(w io.Writer, findings []LiteratureFinding) error {
	var b strings.Builder
	b.WriteString("| Study | Their set-up | Their figure | Our scenario | Our figure (reduction, 95% interval) | Band |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, f := range findings {
		c := f.Check
		scenario := "`" + c.Flags + "`"
		against := "against no measures"
		if c.Comparator != nil {
			against = "against `" + c.ComparatorFlags + "`"
		}
		verdict := "within"
		if !f.Within() {
			verdict = "**outside**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s, %s | %s: %s | %s–%s%%: %s |\n",
			c.Study, c.SetUp, c.TheirFigure, scenario, against, c.Outcome, formatInterval(f.Ours),
			bandPercent(c.Lo), bandPercent(c.Hi), verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bandPercent writes a band's end as the studies print it: 98, not 98.0.
func bandPercent(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64)
}
