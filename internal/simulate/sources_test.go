package simulate

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Each test here checks one component of the model against the publication
// it comes from, through the code path the simulation uses.

// roundsTo reports whether v, printed to one decimal as the paper does,
// reads as printed.
func roundsTo(v, printed float64) bool { return math.Abs(v-printed) < 0.05 }

func TestIncubationReproducesLauer(t *testing.T) {
	// Simulated travellers, not the formula: the incubation periods the
	// simulation actually draws.
	d := centralParams()
	p := newPlan(DefaultScenario())
	prof := profile()
	rng := stream(7, tagTravellers, 0, 0)
	const n = 1_000_000
	inc := make([]float64, n)
	for i := range inc {
		tr := traveller{infection: rng.Float64(), incubation: rng.NormFloat64(), asymptomatic: rng.Float64(), key: rng.Uint64()}
		c := p.course(&d, &tr, prof)
		inc[i] = c.onset - c.infected
	}
	slices.Sort(inc)
	median, q975 := quantile(inc, 0.5), quantile(inc, 0.975)
	if !roundsTo(median, 5.1) {
		t.Errorf("median incubation %.3f days, Lauer et al. report 5.1", median)
	}
	if !roundsTo(q975, 11.5) {
		t.Errorf("97.5th percentile of incubation %.3f days, Lauer et al. report 11.5", q975)
	}
}

func TestIncubationUncertaintyReproducesLauer(t *testing.T) {
	// Over the parameter draws, the median and 97.5th percentile must span
	// Lauer's 95% intervals: 4.5–5.8 and 8.2–15.6 days.
	r := &runner{seed: 3}
	const draws = 20_000
	var medians, q975s []float64
	for d := range draws {
		p := r.paramsFor(d)
		medians = append(medians, math.Exp(p.meanLog))
		q975s = append(q975s, math.Exp(p.meanLog+z975*p.sdLog))
	}
	slices.Sort(medians)
	slices.Sort(q975s)
	// Draws are random: the percentiles of 20,000 of them are within 2% of
	// the distribution's.
	for _, c := range []struct {
		what       string
		sorted     []float64
		p, printed float64
	}{
		{"median, 2.5%", medians, 0.025, incubationMedianLo},
		{"median, 97.5%", medians, 0.975, incubationMedianHi},
		{"97.5th percentile, 2.5%", q975s, 0.025, incubationQ975Lo},
		{"97.5th percentile, 97.5%", q975s, 0.975, incubationQ975Hi},
	} {
		got := quantile(c.sorted, c.p)
		if math.Abs(got-c.printed)/c.printed > 0.02 {
			t.Errorf("incubation %s over the draws is %.2f days, Lauer et al.'s interval ends at %.1f", c.what, got, c.printed)
		}
	}
}

func TestInfectiousnessBeforeOnsetReproducesHe(t *testing.T) {
	prof := profile()
	// He et al.: 44% of transmission happens before symptom onset.
	if got := prof.cumulative(0); math.Abs(got-0.44) > 0.005 {
		t.Errorf("share of infectiousness before onset %.4f, He et al. report 44%%", got)
	}
	// The table must agree with the gamma distribution it tabulates.
	g := distuv.Gamma{Alpha: infectiousnessShape, Beta: infectiousnessRate}
	for x := -12.0; x <= 30; x += 0.37 {
		want := g.CDF(x + infectiousnessShift)
		if got := prof.cumulative(x); math.Abs(got-want) > 1e-5 {
			t.Fatalf("cumulative(%.2f) = %.7f, gamma CDF %.7f", x, got, want)
		}
	}
	if got := g.CDF(profileDays); got < 1-1e-9 {
		t.Errorf("the table ends at %d days where the CDF is only %.12f", profileDays, got)
	}
	// The infectious period is the central 95% of the profile.
	if got := prof.cumulative(-prof.preOnset); math.Abs(got-0.025) > 1e-4 {
		t.Errorf("infectious period starts where %.5f of infectiousness is spent, want 0.025", got)
	}
	if got := prof.cumulative(prof.postOnset); math.Abs(got-0.975) > 1e-4 {
		t.Errorf("infectious period ends where %.5f of infectiousness is spent, want 0.975", got)
	}
}

func TestAsymptomaticShare(t *testing.T) {
	b := distuv.Beta{Alpha: asymptomaticAlpha, Beta: asymptomaticBeta}
	if lo, hi := b.Quantile(0.025), b.Quantile(0.975); math.Abs(lo-asymptomaticLo) > 0.001 || math.Abs(hi-asymptomaticHi) > 0.001 {
		t.Errorf("Beta's 95%% range %.4f–%.4f, want %.2f–%.2f", lo, hi, asymptomaticLo, asymptomaticHi)
	}
	if m := b.Mean(); math.Abs(m-asymptomaticShare) > 0.005 {
		t.Errorf("Beta's mean %.4f, want about %.2f", m, asymptomaticShare)
	}
	r := &runner{seed: 5}
	var shares []float64
	for d := range 20_000 {
		shares = append(shares, r.paramsFor(d).asymptomatic)
	}
	slices.Sort(shares)
	if lo, hi := quantile(shares, 0.025), quantile(shares, 0.975); math.Abs(lo-asymptomaticLo) > 0.005 || math.Abs(hi-asymptomaticHi) > 0.005 {
		t.Errorf("drawn asymptomatic shares span %.4f–%.4f, want %.2f–%.2f", lo, hi, asymptomaticLo, asymptomaticHi)
	}
}

func TestSensitivityCurveReproducesKucirka(t *testing.T) {
	median, lower, upper := newSensitivityTable(0), newSensitivityTable(-z975), newSensitivityTable(z975)
	for _, k := range kucirkaFNR {
		if !k.printed {
			continue
		}
		for _, c := range []struct {
			what  string
			table *sensitivityTable
			want  float64
		}{{"median", median, k.median}, {"lower bound", lower, k.lo}, {"upper bound", upper, k.hi}} {
			if got := 1 - c.table.at(k.day); math.Abs(got-c.want) > 0.005 {
				t.Errorf("day %g: false-negative rate %s %.3f, Kucirka et al. print %.2f", k.day, c.what, got, c.want)
			}
		}
	}
}

func TestSimulatedPCRTestsReproduceKucirka(t *testing.T) {
	// Tests taken through the simulation's own detection, by days since
	// infection: the share missed must lie in Kucirka's interval and within
	// Monte Carlo error (4 standard deviations) of the printed median.
	d := centralParams()
	p := newPlan(DefaultScenario())
	const n = 200_000
	rng := stream(11, tagTravellers, 0, 0)
	for _, k := range kucirkaFNR {
		if !k.printed {
			continue
		}
		c := course{infected: -k.day}
		missed := 0
		for range n {
			tr := traveller{key: rng.Uint64()}
			if !p.detects(&d, PCR, 0, &c, tr.uniform(slotArrivalTest)) {
				missed++
			}
		}
		fnr := float64(missed) / n
		tol := 4 * math.Sqrt(k.median*(1-k.median)/n)
		if fnr < k.lo || fnr > k.hi || math.Abs(fnr-k.median) > tol+0.005 {
			t.Errorf("day %g: simulated PCR missed %.4f, Kucirka et al. %.2f (%.2f–%.2f)", k.day, fnr, k.median, k.lo, k.hi)
		}
	}
}

func TestSensitivityCurveIsSmooth(t *testing.T) {
	for _, z := range []float64{-2.5, -z975, -1, 0, 1, z975, 2.5} {
		table := newSensitivityTable(z)
		days, fnr := kucirkaFNRAt(z)
		// No jumps: hour to hour, the curve moves no faster than three
		// times the steepest knot-to-knot slope (the Fritsch–Carlson bound).
		steepest := 0.0
		for k := 0; k+1 < len(days); k++ {
			steepest = max(steepest, math.Abs(fnr[k+1]-fnr[k])/(days[k+1]-days[k]))
		}
		for i := 1; i < len(table); i++ {
			if step := math.Abs(table[i] - table[i-1]); step > 3*steepest/sensitivityStepsPerDay+1e-12 {
				t.Fatalf("z=%g: sensitivity jumps by %.3f in an hour at day %.2f", z, step, float64(i)/sensitivityStepsPerDay)
			}
		}
		// Between knots the curve stays between the knots' values: the
		// interpolation adds no bumps of its own.
		for k := 0; k+1 < len(days); k++ {
			lo, hi := min(fnr[k], fnr[k+1]), max(fnr[k], fnr[k+1])
			for d := days[k]; d <= days[k+1]; d += 1.0 / sensitivityStepsPerDay {
				if got := 1 - table.at(d); got < lo-1e-9 || got > hi+1e-9 {
					t.Fatalf("z=%g: false-negative rate %.4f on day %.2f is outside its knots' %.3f–%.3f", z, got, d, lo, hi)
				}
			}
		}
	}
	// The median curve is lowest around day 8, as Kucirka et al. find.
	table := newSensitivityTable(0)
	best := 0
	for i := range table {
		if table[i] > table[best] {
			best = i
		}
	}
	if day := float64(best) / sensitivityStepsPerDay; day < 7 || day > 9 {
		t.Errorf("sensitivity peaks on day %.2f, Kucirka et al. on day 8", day)
	}
	// Before day 1 nothing is detectable; past day 21 detection keeps falling.
	if table.at(1) != 0 || table.at(0.5) != 0 {
		t.Errorf("sensitivity on day 1 is %g, Kucirka et al.'s false-negative rate is 100%%", table.at(1))
	}
	if table.at(25) >= table.at(21) {
		t.Errorf("sensitivity on day 25 (%.3f) is not below day 21's (%.3f)", table.at(25), table.at(21))
	}
}
