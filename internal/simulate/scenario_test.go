package simulate

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestScenarioValidate(t *testing.T) {
	ok := DefaultScenario()
	if err := ok.Validate(); err != nil {
		t.Fatalf("the default scenario is invalid: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(*Scenario)
		field  string
		reason string
	}{
		{"negative window", func(s *Scenario) { s.InfectedMinDays = -1 }, "InfectedMinDays", "negative"},
		{"empty window", func(s *Scenario) { s.InfectedMinDays, s.InfectedMaxDays = 5, 2 }, "InfectedMaxDays", "empty"},
		{"window past the limit", func(s *Scenario) { s.InfectedMaxDays = MaxInfectedDays + 1 }, "InfectedMaxDays", "limit"},
		{"NaN travel", func(s *Scenario) { s.TravelHours = math.NaN() }, "TravelHours", "not a number"},
		{"infinite quarantine", func(s *Scenario) { s.QuarantineDays = math.Inf(1) }, "QuarantineDays", "not a number"},
		{"negative quarantine", func(s *Scenario) { s.QuarantineDays = -3 }, "QuarantineDays", "negative"},
		{"test after release", func(s *Scenario) { s.QuarantineDays = 7; s.ExitTests = []ExitTest{{Day: 8}} }, "ExitTests", "after release"},
		{"too many exit tests", func(s *Scenario) { s.QuarantineDays = 7; s.ExitTests = make([]ExitTest, MaxExitTests+1) }, "ExitTests", "limit"},
		{"pre-departure result after departure", func(s *Scenario) { s.PreDepartureTests = []PreDepartureTest{{HoursBefore: 6, Kind: PCR}} }, "PreDepartureTests", "after departure"},
		{"pre-departure test after departure", func(s *Scenario) { s.PreDepartureTests = []PreDepartureTest{{HoursBefore: -1, Kind: Antigen}} }, "PreDepartureTests", "negative"},
		{"unknown kind", func(s *Scenario) { s.ArrivalTest, s.ArrivalTestKind = true, TestKind(9) }, "ArrivalTestKind", "unknown"},
		{"negative delay", func(s *Scenario) { s.ResultDelayHours = -1 }, "ResultDelayHours", "negative"},
		{"negative monitoring", func(s *Scenario) { s.MonitoringDays = -1 }, "MonitoringDays", "negative"},
		{"sensitivity above 1", func(s *Scenario) { s.SymptomSensitivity = 1.2 }, "SymptomSensitivity", "share"},
		{"NaN report sensitivity", func(s *Scenario) { s.SymptomReportSensitivity = math.NaN() }, "SymptomReportSensitivity", "share"},
		{"negative antigen", func(s *Scenario) { s.AntigenRelativeSensitivity = -0.1 }, "AntigenRelativeSensitivity", "share"},
	} {
		s := DefaultScenario()
		c.change(&s)
		err := s.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%s: error %v, want a FieldError on %s saying %q", c.name, err, c.field, c.reason)
		}
	}
	// Antigen results are immediate, so an antigen test at the gate is fine.
	s := DefaultScenario()
	s.PreDepartureTests = []PreDepartureTest{{HoursBefore: 0, Kind: Antigen}}
	s.QuarantineDays = 5
	s.ExitTests = []ExitTest{{Day: 5, Kind: PCR}}
	if err := s.Validate(); err != nil {
		t.Errorf("antigen at departure, PCR on the last day: %v", err)
	}
}

func TestTestKindText(t *testing.T) {
	for _, k := range []TestKind{PCR, Antigen, Perfect} {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var back TestKind
		if err := json.Unmarshal(b, &back); err != nil || back != k {
			t.Errorf("%v → %s → %v (%v)", k, b, back, err)
		}
	}
	if k, err := ParseTestKind("Antigen"); err != nil || k != Antigen {
		t.Errorf("ParseTestKind(Antigen) = %v, %v", k, err)
	}
	if _, err := ParseTestKind("saliva"); err == nil {
		t.Error("ParseTestKind accepted saliva")
	}
	if _, err := json.Marshal(TestKind(7)); err == nil {
		t.Error("an unknown kind marshalled")
	}
}

func TestDescribe(t *testing.T) {
	if got := DefaultScenario().Describe(); got != "no measures" {
		t.Errorf("default: %q", got)
	}
	s := benchScenario()
	want := "pcr 72 h before departure; symptom screening at departure, arrival, quarantine; pcr on arrival; quarantine 7 d; pcr on day 6; monitoring 14 d"
	if got := s.Describe(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
