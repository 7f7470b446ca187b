package simulate

import (
	"context"
	"testing"
)

// benchScenario is a full lane policy: a PCR 72 h before departure, symptom
// screening everywhere, a PCR on arrival, 7 days of quarantine with a PCR on
// day 6 and 14 days of monitoring, so every branch of a traveller's fate runs.
func benchScenario() Scenario {
	s := DefaultScenario()
	s.Name = "full policy"
	s.PreDepartureTests = []PreDepartureTest{{HoursBefore: 72, Kind: PCR}}
	s.SymptomScreening = SymptomScreening{Departure: true, Arrival: true, Quarantine: true}
	s.ArrivalTest = true
	s.QuarantineDays = 7
	s.ExitTests = []ExitTest{{Day: 6, Kind: PCR}}
	s.MonitoringDays = 14
	return s
}

// BenchmarkTravellers reports simulated travellers per second for one
// scenario with parameter uncertainty (100 draws), on every core
// (GOMAXPROCS); travellers/cpu-s is the same per second of CPU time, which
// other processes on the machine do not disturb.
func BenchmarkTravellers(b *testing.B) {
	const travellers = 2_000_000
	s := []Scenario{benchScenario()}
	cpu0, cpuOK := cpuTime()
	for b.Loop() {
		if _, err := Run(context.Background(), s, Options{Travellers: travellers, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	total := float64(travellers) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "travellers/s")
	if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(total/(cpu1-cpu0).Seconds(), "travellers/cpu-s")
	}
}

// BenchmarkRandomOnly draws each traveller's random numbers and nothing
// else, on one core: the floor under a traveller's cost.
func BenchmarkRandomOnly(b *testing.B) {
	rng := stream(1, tagTravellers, 0, 0)
	var sink float64
	b.ResetTimer()
	for b.Loop() {
		t := traveller{infection: rng.Float64(), incubation: rng.NormFloat64(), asymptomatic: rng.Float64(), key: rng.Uint64()}
		sink += t.infection + t.incubation + t.asymptomatic + float64(t.key&1)
	}
	_ = sink
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "travellers/s")
}
