package simulate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// fataler is what testing.T and rapid.T share.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func mustRun(t fataler, scenarios []Scenario, opt Options) Results {
	t.Helper()
	rs, err := Run(context.Background(), scenarios, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// genScenario draws a valid scenario with any mix of measures.
func genScenario(t *rapid.T, label string) Scenario {
	s := DefaultScenario()
	s.Name = label
	s.InfectedMinDays = rapid.Float64Range(0, 10).Draw(t, label+" infected min")
	s.InfectedMaxDays = s.InfectedMinDays + rapid.Float64Range(0, 20).Draw(t, label+" infected span")
	s.TravelHours = rapid.Float64Range(0, 24).Draw(t, label+" travel hours")
	s.ResultDelayHours = rapid.Float64Range(0, 48).Draw(t, label+" result delay")
	kind := rapid.SampledFrom([]TestKind{PCR, Antigen, Perfect})
	for range rapid.IntRange(0, 3).Draw(t, label+" pre-departure tests") {
		k := kind.Draw(t, label+" pre-departure kind")
		h := rapid.Float64Range(0, 120).Draw(t, label+" pre-departure hours")
		if k != Antigen {
			h += s.ResultDelayHours
		}
		s.PreDepartureTests = append(s.PreDepartureTests, PreDepartureTest{HoursBefore: h, Kind: k})
	}
	s.ArrivalTest = rapid.Bool().Draw(t, label+" arrival test")
	s.ArrivalTestKind = kind.Draw(t, label+" arrival kind")
	s.QuarantineDays = rapid.Float64Range(0, 21).Draw(t, label+" quarantine")
	for range rapid.IntRange(0, 3).Draw(t, label+" exit tests") {
		day := rapid.Float64Range(0, s.QuarantineDays).Draw(t, label+" exit day")
		s.ExitTests = append(s.ExitTests, ExitTest{Day: day, Kind: kind.Draw(t, label+" exit kind")})
	}
	s.SymptomScreening = SymptomScreening{
		Departure:  rapid.Bool().Draw(t, label+" screen departure"),
		Arrival:    rapid.Bool().Draw(t, label+" screen arrival"),
		Quarantine: rapid.Bool().Draw(t, label+" screen quarantine"),
	}
	s.MonitoringDays = rapid.SampledFrom([]float64{0, 3, 14}).Draw(t, label+" monitoring")
	s.SymptomSensitivity = rapid.Float64Range(0, 1).Draw(t, label+" symptom sensitivity")
	s.SymptomReportSensitivity = rapid.Float64Range(0, 1).Draw(t, label+" report sensitivity")
	s.AntigenRelativeSensitivity = rapid.Float64Range(0, 1).Draw(t, label+" antigen")
	if err := s.Validate(); err != nil {
		t.Fatalf("generated an invalid scenario: %v", err)
	}
	return s
}

func TestSameSeedSameNumbers(t *testing.T) {
	s := []Scenario{benchScenario(), DefaultScenario()}
	a := mustRun(t, s, Options{Travellers: 150_000, Draws: 7, Seed: 42, Workers: 1})
	b := mustRun(t, s, Options{Travellers: 150_000, Draws: 7, Seed: 42, Workers: 3})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different figures on 1 and 3 workers")
	}
	c := mustRun(t, s, Options{Travellers: 150_000, Draws: 7, Seed: 43, Workers: 2})
	if reflect.DeepEqual(a[0].perDraw, c[0].perDraw) {
		t.Fatal("seeds 42 and 43 gave the same figures")
	}
}

func TestScenarioFiguresDoNotDependOnCompanions(t *testing.T) {
	// The same travellers meet every scenario, and each test's luck is the
	// traveller's own: a scenario's figures are the same alone or compared.
	alone := mustRun(t, []Scenario{benchScenario()}, Options{Travellers: 50_000, Draws: 5, Seed: 9})
	q := DefaultScenario()
	q.QuarantineDays = 10
	compared := mustRun(t, []Scenario{q, benchScenario()}, Options{Travellers: 50_000, Draws: 5, Seed: 9})
	if !reflect.DeepEqual(alone[0], compared[1]) {
		t.Fatal("a scenario's figures changed when another scenario ran beside it")
	}
}

func TestMoreQuarantineNeverReleasesMoreInfectious(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		short := genScenario(t, "short")
		long := short
		long.Name = "long"
		long.QuarantineDays = short.QuarantineDays + rapid.Float64Range(0.5, 14).Draw(t, "extra days")
		rs := mustRun(t, []Scenario{short, long}, Options{
			Travellers:      4000,
			Draws:           4,
			Seed:            rapid.Uint64().Draw(t, "seed"),
			FixedParameters: rapid.Bool().Draw(t, "fixed"),
		})
		for d := range rs[0].perDraw {
			for _, o := range []Outcome{ReleasedInfectious, InfectiousnessAfterRelease} {
				if l, s := rs[1].perDraw[d][o], rs[0].perDraw[d][o]; l > s {
					t.Fatalf("draw %d: %g days of quarantine give %s %g, more than %g days' %g", d, long.QuarantineDays, o, l, short.QuarantineDays, s)
				}
			}
		}
	})
}

func TestPerfectTestCatchesEveryDetectableTraveller(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := DefaultScenario()
		s.ResultDelayHours = 0
		s.InfectedMinDays = rapid.Float64Range(0, 5).Draw(t, "infected min")
		s.InfectedMaxDays = s.InfectedMinDays + rapid.Float64Range(0, 10).Draw(t, "infected span")
		s.TravelHours = rapid.Float64Range(0, 12).Draw(t, "travel hours")
		// The time of the one test, in days from departure.
		var at float64
		switch where := rapid.IntRange(0, 2).Draw(t, "where"); where {
		case 0:
			h := rapid.Float64Range(0, 96).Draw(t, "hours before departure")
			s.PreDepartureTests = []PreDepartureTest{{HoursBefore: h, Kind: Perfect}}
			at = -h / 24
		case 1:
			s.ArrivalTest, s.ArrivalTestKind = true, Perfect
			at = s.TravelHours / 24
		case 2:
			s.QuarantineDays = rapid.Float64Range(0, 10).Draw(t, "quarantine")
			day := rapid.Float64Range(0, s.QuarantineDays).Draw(t, "exit day")
			s.ExitTests = []ExitTest{{Day: day, Kind: Perfect}}
			at = s.TravelHours/24 + day
		}
		p := newPlan(s)
		d := centralParams()
		prof := profile()
		rng := stream(rapid.Uint64().Draw(t, "seed"), tagTravellers, 0, 0)
		for range 2000 {
			tr := traveller{infection: rng.Float64(), incubation: rng.NormFloat64(), asymptomatic: rng.Float64(), key: rng.Uint64()}
			c := p.course(&d, &tr, prof)
			detectable := at-c.infected > detectableAfterDays
			if caught := p.fate(&d, &tr, prof).caught != notCaught; caught != detectable {
				t.Fatalf("test %.3f days after infection: caught %v, detectable %v", at-c.infected, caught, detectable)
			}
		}
	})
}

func TestFiguresAreConsistent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genScenario(t, "s")
		r := mustRun(t, []Scenario{s}, Options{Travellers: 3000, Draws: 3, Seed: rapid.Uint64().Draw(t, "seed")})[0]
		for d := range r.perDraw {
			caught := 0.0
			for _, o := range []Outcome{CaughtBeforeDeparture, CaughtOnArrival, CaughtInQuarantine, CaughtInMonitoring} {
				caught += r.perDraw[d][o]
			}
			if caught > 1+1e-12 {
				t.Fatalf("draw %d: %g of travellers caught", d, caught)
			}
			for _, o := range Outcomes() {
				v := r.perDraw[d][o]
				if v < 0 || v > 1 {
					t.Fatalf("draw %d: %s is %g", d, o, v)
				}
				if o.HasBaseline() && v > r.baseline[d][o] {
					t.Fatalf("draw %d: %s is %g with measures, %g without", d, o, v, r.baseline[d][o])
				}
			}
		}
		for _, o := range Outcomes() {
			iv := r.Share(o)
			if !(iv.Lo <= iv.Mean+1e-12 && iv.Mean <= iv.Hi+1e-12) {
				t.Fatalf("%s: mean %g outside its interval %g–%g", o, iv.Mean, iv.Lo, iv.Hi)
			}
		}
	})
}

func TestNoMeasuresReduceNothing(t *testing.T) {
	r := mustRun(t, []Scenario{DefaultScenario()}, Options{Travellers: 20_000, Draws: 4, Seed: 1})[0]
	for _, o := range Outcomes() {
		if o.HasBaseline() {
			if red, ok := r.Reduction(o); !ok || red != (Interval{}) {
				t.Errorf("%s: reduction %+v (%v) with no measures, want exactly 0", o, red, ok)
			}
		} else if iv := r.Share(o); iv != (Interval{}) {
			t.Errorf("%s: %+v with no measures, want 0", o, iv)
		}
	}
	// With no measures nearly everyone infected in the last fortnight is
	// still infectious on arrival; the share must be far from the edges.
	if ri := r.Share(ReleasedInfectious).Mean; ri < 0.5 || ri > 0.99 {
		t.Errorf("released while infectious %g with no measures", ri)
	}
}

func TestRunRefusesNonsense(t *testing.T) {
	good := DefaultScenario()
	bad := DefaultScenario()
	bad.QuarantineDays = -1
	many := make([]Scenario, MaxScenarios+1)
	for i := range many {
		many[i] = good
	}
	for _, c := range []struct {
		name      string
		scenarios []Scenario
		opt       Options
		want      string
	}{
		{"no scenario", nil, Options{Travellers: 10}, "no scenario"},
		{"too many scenarios", many, Options{Travellers: 10}, "limit"},
		{"invalid scenario", []Scenario{good, bad}, Options{Travellers: 10}, "QuarantineDays"},
		{"no travellers", []Scenario{good}, Options{Travellers: 0}, "travellers"},
		{"more than 10^9 travellers", []Scenario{good}, Options{Travellers: MaxTravellers + 1}, "travellers"},
		{"negative draws", []Scenario{good}, Options{Travellers: 10, Draws: -1}, "draws"},
		{"too many draws", []Scenario{good}, Options{Travellers: 1_000_000, Draws: MaxDraws + 1}, "draws"},
		{"draws without travellers", []Scenario{good}, Options{Travellers: 5, Draws: 6}, "draws"},
	} {
		_, err := Run(context.Background(), c.scenarios, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, []Scenario{benchScenario()}, Options{Travellers: 1_000_000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestProgressCountsEveryTraveller(t *testing.T) {
	var last, calls int64
	opt := Options{Travellers: 300_000, Draws: 3, Seed: 1, Progress: func(done, total int64) {
		if done < last || total != 600_000 {
			t.Errorf("progress went %d → %d of %d", last, done, total)
		}
		last = done
		calls++
	}}
	mustRun(t, []Scenario{DefaultScenario(), benchScenario()}, opt)
	if last != 600_000 || calls < 3 {
		t.Errorf("progress ended at %d after %d calls, want 600000", last, calls)
	}
}

func TestEstimateChoosesDraws(t *testing.T) {
	for _, c := range []struct{ travellers, draws int }{{500, 1}, {50_000, 50}, {5_000_000, DefaultDraws}} {
		r, err := Estimate(DefaultScenario(), c.travellers, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.Draws != c.draws || r.Travellers != c.travellers {
			t.Errorf("%d travellers: %d draws, want %d", c.travellers, r.Draws, c.draws)
		}
	}
	if _, err := Estimate(DefaultScenario(), MaxTravellers+1, 1); err == nil {
		t.Error("Estimate accepted more than 10^9 travellers")
	}
}
