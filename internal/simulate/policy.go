package simulate

import "github.com/corridorlane/corridor/internal/policy"

// FromLane builds the scenario a lane's measures describe, on the default
// assumptions about travellers:
//
//   - the pre-departure test is sampled at the start of the policy's window
//     (e.g. 72 hours before departure): the oldest test the policy accepts,
//     so the estimate is what the policy guarantees, not what a diligent
//     traveller achieves;
//   - pre-departure health monitoring with daily declarations is symptom
//     screening at departure; the arrival desk and the hold screen too;
//   - the arrival hold is a quarantine of its hours, released on the
//     arrival test's negative result;
//   - post-arrival monitoring is daily symptom reporting.
func FromLane(l *policy.Lane) Scenario {
	m := l.Measures
	kind := PCR
	if m.TestType == "RAT" {
		kind = Antigen
	}
	s := DefaultScenario()
	s.Name = l.ID
	s.PreDepartureTests = []PreDepartureTest{{HoursBefore: float64(m.TestWindowHours), Kind: kind}}
	s.ArrivalTest = m.ArrivalTest
	s.ArrivalTestKind = kind
	s.QuarantineDays = float64(m.ArrivalHoldHours) / 24
	s.SymptomScreening = SymptomScreening{
		Departure:  m.SymptomScreening || m.PreDepartureMonitoringDays > 0,
		Arrival:    m.SymptomScreening,
		Quarantine: m.SymptomScreening && m.ArrivalHoldHours > 0,
	}
	s.MonitoringDays = float64(m.PostArrivalMonitoringDays)
	// A hold shorter than the lab's turnaround keeps the traveller until
	// the result all the same; the simulator models that by the delay.
	if m.ArrivalTest && m.ArrivalHoldHours > 0 && float64(m.ArrivalHoldHours) < s.ResultDelayHours {
		s.ResultDelayHours = float64(m.ArrivalHoldHours)
	}
	return s
}
