package simulate

import "math"

// A traveller is the handful of random numbers that make one infected person.
// They are drawn the same way whatever the scenario, so scenarios compared in
// one run see the same people: differences between them are the measures',
// not the dice's.
type traveller struct {
	infection    float64 // uniform: where in the infection window
	incubation   float64 // standard normal: the log-incubation deviate
	asymptomatic float64 // uniform: below the draw's asymptomatic share means never symptomatic
	key          uint64  // seeds the traveller's own test and screening outcomes
}

// Each chance a traveller meets has its own uniform, derived from his key and
// a slot number, so the Nth exit test of one scenario and the Nth exit test
// of another use the same luck.
const (
	slotDepartureScreen = 1
	slotArrivalScreen   = 2
	slotObserved        = 3 // symptoms noticed in quarantine or monitoring
	slotArrivalTest     = 4
	slotPreDeparture    = 16                                      // + index
	slotExitTest        = slotPreDeparture + MaxPreDepartureTests // + index
)

func (t *traveller) uniform(slot uint64) float64 {
	return float64(mix64(t.key+slot*0x9e3779b97f4a7c15)>>11) * 0x1p-53
}

// mix64 is the SplitMix64 finaliser: a bijection that scrambles every input
// bit into every output bit.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// drawParams are the uncertain parameters for one draw.
type drawParams struct {
	asymptomatic   float64
	meanLog, sdLog float64
	pcr            *sensitivityTable
}

// centralParams are the point estimates.
func centralParams() drawParams {
	return drawParams{
		asymptomatic: asymptomaticShare,
		meanLog:      incubationMeanLog,
		sdLog:        incubationSDLog,
		pcr:          newSensitivityTable(0),
	}
}

type timedTest struct {
	at, result float64 // days from departure
	kind       TestKind
}

// plan is a Scenario turned into times (days from departure) once, so the
// per-traveller work is arithmetic.
type plan struct {
	infectedMin, infectedSpan float64
	arrival                   float64
	pre                       []timedTest
	arrivalTest               bool
	arrivalTestAt             timedTest
	exits                     []timedTest
	quarantine                bool
	release                   float64
	screen                    SymptomScreening
	monitoring                bool
	monitorDays               float64
	symptomSensitivity        float64
	reportSensitivity         float64
	antigen                   float64
}

func newPlan(s Scenario) *plan {
	p := &plan{
		infectedMin:        s.InfectedMinDays,
		infectedSpan:       s.InfectedMaxDays - s.InfectedMinDays,
		arrival:            s.TravelHours / 24,
		arrivalTest:        s.ArrivalTest,
		quarantine:         s.QuarantineDays > 0,
		screen:             s.SymptomScreening,
		monitoring:         s.MonitoringDays > 0,
		monitorDays:        s.MonitoringDays,
		symptomSensitivity: s.SymptomSensitivity,
		reportSensitivity:  s.SymptomReportSensitivity,
		antigen:            s.AntigenRelativeSensitivity,
	}
	for _, t := range s.PreDepartureTests {
		at := -t.HoursBefore / 24
		p.pre = append(p.pre, timedTest{at: at, result: at + s.resultDelayHours(t.Kind)/24, kind: t.Kind})
	}
	p.release = p.arrival + s.QuarantineDays
	if s.ArrivalTest {
		p.arrivalTestAt = timedTest{at: p.arrival, result: p.arrival + s.resultDelayHours(s.ArrivalTestKind)/24, kind: s.ArrivalTestKind}
		p.release = max(p.release, p.arrivalTestAt.result)
	}
	for _, t := range s.ExitTests {
		at := p.arrival + t.Day
		e := timedTest{at: at, result: at + s.resultDelayHours(t.Kind)/24, kind: t.Kind}
		p.exits = append(p.exits, e)
		p.release = max(p.release, e.result)
	}
	return p
}

// Where a traveller was caught, if he was.
type caughtAt uint8

const (
	notCaught caughtAt = iota
	caughtBeforeDeparture
	caughtOnArrival
	caughtInQuarantine
	caughtInMonitoring
)

// fate is what one scenario does to one traveller, beside what no measures
// would have done (the baseline).
type fate struct {
	caught             caughtAt
	infectiousTravel   bool
	travelShare        float64 // of his infectiousness, spent travelling
	releasedInfectious bool
	afterRelease       float64 // of his infectiousness, left after release

	baseInfectiousTravel   bool
	baseTravelShare        float64
	baseReleasedInfectious bool
	baseAfterRelease       float64
}

// course is a traveller's infection on the time line of one scenario.
type course struct {
	infected, onset float64 // days from departure
	symptomatic     bool
	// The infectiousness profile is cut at the moment of infection and
	// rescaled to total 1; before is the (untruncated) share cut off.
	before, total           float64
	infectious, noLongerInf float64 // the infectious period
}

func (p *plan) course(d *drawParams, t *traveller, prof *infectiousnessProfile) course {
	infected := -(p.infectedMin + t.infection*p.infectedSpan)
	onset := infected + math.Exp(d.meanLog+d.sdLog*t.incubation)
	before := prof.cumulative(infected - onset)
	return course{
		infected:    infected,
		onset:       onset,
		symptomatic: t.asymptomatic >= d.asymptomatic,
		before:      before,
		total:       1 - before,
		infectious:  max(infected, onset-prof.preOnset),
		noLongerInf: onset + prof.postOnset,
	}
}

// share is the part of the infectiousness spent between from and to.
func (c *course) share(prof *infectiousnessProfile, from, to float64) float64 {
	if to <= from {
		return 0
	}
	lo := max(prof.cumulative(from-c.onset), c.before)
	hi := 1.0
	if !math.IsInf(to, 1) {
		hi = max(prof.cumulative(to-c.onset), c.before)
	}
	return (hi - lo) / c.total
}

func (c *course) infectiousDuring(from, to float64) bool {
	return c.infectious <= to && c.noLongerInf > from
}

func (p *plan) detects(d *drawParams, k TestKind, sampledAt float64, c *course, u float64) bool {
	days := sampledAt - c.infected
	switch k {
	case Antigen:
		return u < p.antigen*d.pcr.at(days)
	case Perfect:
		return days > detectableAfterDays
	default:
		return u < d.pcr.at(days)
	}
}

// fate follows one traveller through the scenario.
func (p *plan) fate(d *drawParams, t *traveller, prof *infectiousnessProfile) fate {
	c := p.course(d, t, prof)
	a := p.arrival
	f := fate{
		baseInfectiousTravel:   c.infectiousDuring(0, a),
		baseTravelShare:        c.share(prof, 0, a),
		baseReleasedInfectious: a < c.noLongerInf,
		baseAfterRelease:       c.share(prof, a, math.Inf(1)),
	}

	for i, test := range p.pre {
		if p.detects(d, test.kind, test.at, &c, t.uniform(slotPreDeparture+uint64(i))) {
			f.caught = caughtBeforeDeparture
			return f
		}
	}
	if p.screen.Departure && c.symptomatic && c.onset <= 0 && t.uniform(slotDepartureScreen) < p.symptomSensitivity {
		f.caught = caughtBeforeDeparture
		return f
	}

	// Boarding, he travels as he would have with no measures.
	f.infectiousTravel = f.baseInfectiousTravel
	f.travelShare = f.baseTravelShare

	// Between arrival and release, the earliest of the ways to be caught
	// decides where the traveller counts as caught.
	when, where := math.Inf(1), notCaught
	catch := func(at float64, w caughtAt) {
		if at < when {
			when, where = at, w
		}
	}
	if p.screen.Arrival && c.symptomatic && c.onset <= a && t.uniform(slotArrivalScreen) < p.symptomSensitivity {
		catch(a, caughtOnArrival)
	}
	if p.arrivalTest && p.detects(d, p.arrivalTestAt.kind, a, &c, t.uniform(slotArrivalTest)) {
		catch(p.arrivalTestAt.result, caughtOnArrival)
	}
	// After arrival, symptoms are noticed (or not) once, with the report
	// sensitivity: by quarantine screening as soon as they show while the
	// traveller is held, else at the next daily report if he is monitored.
	// Reports are daily from the day after arrival, through quarantine and
	// for MonitoringDays after release.
	observed := c.symptomatic && t.uniform(slotObserved) < p.reportSensitivity
	report := a + max(1, math.Ceil(c.onset-a))
	held := caughtInQuarantine
	if !p.quarantine {
		held = caughtOnArrival // the hold for the arrival test's result
	}
	if observed && p.screen.Quarantine && p.release > a && c.onset < p.release {
		catch(max(c.onset, a), held)
	} else if observed && p.monitoring && report < p.release {
		catch(report, held)
	}
	for i, test := range p.exits {
		if p.detects(d, test.kind, test.at, &c, t.uniform(slotExitTest+uint64(i))) {
			catch(test.result, held)
		}
	}
	if where != notCaught {
		f.caught = where
		return f
	}

	r := p.release
	f.releasedInfectious = r < c.noLongerInf
	isolated := math.Inf(1)
	if p.monitoring && observed && c.onset < r+p.monitorDays {
		isolated = report
		f.caught = caughtInMonitoring
	}
	f.afterRelease = c.share(prof, r, isolated)
	return f
}
