package simulate

import (
	"fmt"
	"math"
	"strings"
)

// TestKind is the kind of test a measure uses.
type TestKind uint8

const (
	// PCR follows Kucirka et al.'s sensitivity by days since infection; its
	// result takes Scenario.ResultDelayHours.
	PCR TestKind = iota
	// Antigen is a rapid test: PCR's curve scaled by
	// Scenario.AntigenRelativeSensitivity, with its result at once.
	Antigen
	// Perfect detects every infection from the day it becomes detectable
	// (day 1 after infection, where Kucirka's false-negative rate leaves
	// 100%), with PCR's result delay. It bounds what any test could do.
	Perfect
)

var testKindNames = [...]string{PCR: "pcr", Antigen: "antigen", Perfect: "perfect"}

func (k TestKind) String() string {
	if int(k) < len(testKindNames) {
		return testKindNames[k]
	}
	return fmt.Sprintf("TestKind(%d)", k)
}

// ParseTestKind reads "pcr", "antigen" or "perfect" (any case).
func ParseTestKind(s string) (TestKind, error) {
	for k, name := range testKindNames {
		if strings.EqualFold(s, name) {
			return TestKind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown test kind %q: one of pcr, antigen, perfect", s)
}

// MarshalText writes the kind's name, so JSON shows "pcr" rather than 0.
func (k TestKind) MarshalText() ([]byte, error) {
	if int(k) >= len(testKindNames) {
		return nil, fmt.Errorf("unknown test kind %d", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name.
func (k *TestKind) UnmarshalText(b []byte) error {
	v, err := ParseTestKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// PreDepartureTest is a test sampled HoursBefore hours before departure; a
// positive result keeps the traveller from boarding.
type PreDepartureTest struct {
	HoursBefore float64  `json:"hours_before"`
	Kind        TestKind `json:"kind"`
}

// ExitTest is a test sampled on Day of quarantine (day 0 is the day of
// arrival); release waits for its negative result.
type ExitTest struct {
	Day  float64  `json:"day"`
	Kind TestKind `json:"kind"`
}

// SymptomScreening says where a symptomatic traveller can be caught by his
// symptoms: at the departure and arrival checkpoints (with
// Scenario.SymptomSensitivity) and during the arrival hold and quarantine
// (with Scenario.SymptomReportSensitivity).
type SymptomScreening struct {
	Departure  bool `json:"departure"`
	Arrival    bool `json:"arrival"`
	Quarantine bool `json:"quarantine"`
}

// Any reports whether any screening point is on.
func (s SymptomScreening) Any() bool { return s.Departure || s.Arrival || s.Quarantine }

// Scenario is one set of measures, and the assumptions the simulation makes
// about the travellers it applies to. Times are measured from departure.
type Scenario struct {
	Name string `json:"name"`

	// Each simulated traveller was infected a number of days before
	// departure drawn uniformly from [InfectedMinDays, InfectedMaxDays].
	InfectedMinDays float64 `json:"infected_min_days"`
	InfectedMaxDays float64 `json:"infected_max_days"`
	// TravelHours is the time from departure to arrival.
	TravelHours float64 `json:"travel_hours"`

	PreDepartureTests []PreDepartureTest `json:"pre_departure_tests"`
	// ArrivalTest samples every traveller on arrival and holds him until
	// the result; ArrivalTestKind says which test.
	ArrivalTest     bool     `json:"arrival_test"`
	ArrivalTestKind TestKind `json:"arrival_test_kind"`
	// QuarantineDays is how long travellers stay in quarantine after
	// arrival; ExitTests are taken during it (on a day no later than its
	// end) and release waits for their results.
	QuarantineDays float64    `json:"quarantine_days"`
	ExitTests      []ExitTest `json:"exit_tests"`
	// ResultDelayHours is how long a PCR (or perfect) result takes from
	// sampling; antigen results come at once. Pre-departure results must
	// be back before departure.
	ResultDelayHours float64          `json:"result_delay_hours"`
	SymptomScreening SymptomScreening `json:"symptom_screening"`
	// MonitoringDays of daily symptom reports follow release; a reported
	// onset isolates the traveller at the next daily report.
	MonitoringDays float64 `json:"monitoring_days"`

	// SymptomSensitivity is the chance that a checkpoint screening catches
	// a traveller whose symptoms have started.
	SymptomSensitivity float64 `json:"symptom_sensitivity"`
	// SymptomReportSensitivity is the chance that a symptom onset during
	// quarantine or monitoring is noticed and reported.
	SymptomReportSensitivity float64 `json:"symptom_report_sensitivity"`
	// AntigenRelativeSensitivity scales PCR's sensitivity curve for
	// antigen tests.
	AntigenRelativeSensitivity float64 `json:"antigen_relative_sensitivity"`
}

// DefaultScenario has no measures and the default assumptions: travellers
// infected 0–14 days before departure (the span an incubation period almost
// always falls in), a 3-hour journey, PCR results after 24 hours, checkpoint
// symptom screening (where switched on) that catches 70% of symptomatic
// travellers (the syndromic sensitivity Clifford et al. 2021 use), symptom
// onsets during quarantine or monitoring always reported, and antigen tests
// at 80% of PCR's sensitivity. Start from it and set the measures.
func DefaultScenario() Scenario {
	return Scenario{
		InfectedMinDays:            0,
		InfectedMaxDays:            14,
		TravelHours:                3,
		ResultDelayHours:           24,
		SymptomSensitivity:         0.7,
		SymptomReportSensitivity:   1,
		AntigenRelativeSensitivity: 0.8,
	}
}

// Limits of a scenario. They are far beyond any sensible policy; they exist
// so that nonsense is refused instead of simulated.
const (
	MaxInfectedDays      = 90
	MaxTravelHours       = 7 * 24
	MaxPreDepartureHours = 30 * 24
	MaxPreDepartureTests = 8
	MaxQuarantineDays    = 60
	MaxExitTests         = 16
	MaxResultDelayHours  = 14 * 24
	MaxMonitoringDays    = 60
)

// FieldError says which field of a Scenario is wrong and why.
type FieldError struct {
	Field  string // the Scenario field's Go name
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate refuses a scenario that makes no sense: negative or non-finite
// times, an empty infection window, a test after release, a pre-departure
// result that would come after departure, shares outside [0, 1]. The error is
// a *FieldError.
func (s Scenario) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	inRange := func(field string, v, max float64, unit string) error {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return bad(field, "%v is not a number of %s", v, unit)
		case v < 0:
			return bad(field, "%v %s is negative", v, unit)
		case v > max:
			return bad(field, "%v %s is more than the limit of %v", v, unit, max)
		}
		return nil
	}
	share := func(field string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return bad(field, "%v is not a share between 0 and 1", v)
		}
		return nil
	}
	if err := inRange("InfectedMinDays", s.InfectedMinDays, MaxInfectedDays, "days"); err != nil {
		return err
	}
	if err := inRange("InfectedMaxDays", s.InfectedMaxDays, MaxInfectedDays, "days"); err != nil {
		return err
	}
	if s.InfectedMaxDays < s.InfectedMinDays {
		return bad("InfectedMaxDays", "the infection window %v–%v days before departure is empty", s.InfectedMinDays, s.InfectedMaxDays)
	}
	if err := inRange("TravelHours", s.TravelHours, MaxTravelHours, "hours"); err != nil {
		return err
	}
	if err := inRange("ResultDelayHours", s.ResultDelayHours, MaxResultDelayHours, "hours"); err != nil {
		return err
	}
	if len(s.PreDepartureTests) > MaxPreDepartureTests {
		return bad("PreDepartureTests", "%d tests is more than the limit of %d", len(s.PreDepartureTests), MaxPreDepartureTests)
	}
	for _, t := range s.PreDepartureTests {
		if err := inRange("PreDepartureTests", t.HoursBefore, MaxPreDepartureHours, "hours before departure"); err != nil {
			return err
		}
		if err := validKind("PreDepartureTests", t.Kind); err != nil {
			return err
		}
		if d := s.resultDelayHours(t.Kind); t.HoursBefore < d {
			return bad("PreDepartureTests", "a %s test %v hours before departure has its result %v hours after sampling, after departure", t.Kind, t.HoursBefore, d)
		}
	}
	if err := validKind("ArrivalTestKind", s.ArrivalTestKind); err != nil {
		return err
	}
	if err := inRange("QuarantineDays", s.QuarantineDays, MaxQuarantineDays, "days"); err != nil {
		return err
	}
	if len(s.ExitTests) > MaxExitTests {
		return bad("ExitTests", "%d tests is more than the limit of %d", len(s.ExitTests), MaxExitTests)
	}
	for _, t := range s.ExitTests {
		if err := inRange("ExitTests", t.Day, MaxQuarantineDays, "days"); err != nil {
			return err
		}
		if err := validKind("ExitTests", t.Kind); err != nil {
			return err
		}
		if t.Day > s.QuarantineDays {
			return bad("ExitTests", "a test on day %v comes after release from a %v-day quarantine", t.Day, s.QuarantineDays)
		}
	}
	if err := inRange("MonitoringDays", s.MonitoringDays, MaxMonitoringDays, "days"); err != nil {
		return err
	}
	if err := share("SymptomSensitivity", s.SymptomSensitivity); err != nil {
		return err
	}
	if err := share("SymptomReportSensitivity", s.SymptomReportSensitivity); err != nil {
		return err
	}
	return share("AntigenRelativeSensitivity", s.AntigenRelativeSensitivity)
}

func validKind(field string, k TestKind) error {
	if int(k) >= len(testKindNames) {
		return &FieldError{Field: field, Reason: fmt.Sprintf("unknown test kind %d", k)}
	}
	return nil
}

func (s Scenario) resultDelayHours(k TestKind) float64 {
	if k == Antigen {
		return 0
	}
	return s.ResultDelayHours
}

// Describe lists the scenario's measures in a line, for tables and charts.
func (s Scenario) Describe() string {
	var parts []string
	for _, t := range s.PreDepartureTests {
		parts = append(parts, fmt.Sprintf("%s %s h before departure", t.Kind, num(t.HoursBefore)))
	}
	var screens []string
	if s.SymptomScreening.Departure {
		screens = append(screens, "departure")
	}
	if s.SymptomScreening.Arrival {
		screens = append(screens, "arrival")
	}
	if s.SymptomScreening.Quarantine {
		screens = append(screens, "quarantine")
	}
	if len(screens) > 0 {
		parts = append(parts, "symptom screening at "+strings.Join(screens, ", "))
	}
	if s.ArrivalTest {
		parts = append(parts, s.ArrivalTestKind.String()+" on arrival")
	}
	if s.QuarantineDays > 0 {
		parts = append(parts, fmt.Sprintf("quarantine %s d", num(s.QuarantineDays)))
	}
	for _, t := range s.ExitTests {
		parts = append(parts, fmt.Sprintf("%s on day %s", t.Kind, num(t.Day)))
	}
	if s.MonitoringDays > 0 {
		parts = append(parts, fmt.Sprintf("monitoring %s d", num(s.MonitoringDays)))
	}
	if len(parts) == 0 {
		parts = append(parts, "no measures")
	}
	return strings.Join(parts, "; ")
}

// describeAssumptions lists what the scenario assumes about the travellers.
func (s Scenario) describeAssumptions() string {
	return fmt.Sprintf("infected %s–%s d before departure; travel %s h; PCR result after %s h; checkpoint symptom sensitivity %s; symptom report sensitivity %s; antigen at %s of PCR",
		num(s.InfectedMinDays), num(s.InfectedMaxDays), num(s.TravelHours), num(s.ResultDelayHours),
		num(s.SymptomSensitivity), num(s.SymptomReportSensitivity), num(s.AntigenRelativeSensitivity))
}

func num(v float64) string { return fmt.Sprintf("%g", v) }
