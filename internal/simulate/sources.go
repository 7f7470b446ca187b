package simulate

import "math"

// The numbers below come from the publications named beside them. Each one
// is checked against its source by a test in sources_test.go; change one only
// with the publication in hand.

// Incubation period: lognormal, Lauer et al. 2020, Annals of Internal
// Medicine 172(9):577–582. Median 5.1 days (95% CI 4.5–5.8), 97.5th
// percentile 11.5 days (8.2–15.6).
const (
	incubationMeanLog = 1.621
	incubationSDLog   = 0.418

	incubationMedianLo = 4.5
	incubationMedianHi = 5.8
	incubationQ975Lo   = 8.2
	incubationQ975Hi   = 15.6
)

// Parameter uncertainty of the incubation period, derived from Lauer's
// intervals: the median's interval gives the spread of meanlog; the 97.5th
// percentile's interval, less the part meanlog explains, gives sdlog's.
// Both are treated as independent normals, which ignores the correlation of
// the two estimates (Lauer does not publish it).
var (
	incubationMeanLogSD = (math.Log(incubationMedianHi) - math.Log(incubationMedianLo)) / (2 * z975)
	incubationSDLogSD   = math.Sqrt(sq((math.Log(incubationQ975Hi)-math.Log(incubationQ975Lo))/(2*z975))-sq(incubationMeanLogSD)) / z975
)

// Infectiousness profile: He et al. 2020, Nature Medicine 26:672–675. A
// gamma distribution over time since symptom onset, shifted to start
// infectiousnessShift days before onset; about 44% of transmission happens
// before onset.
const (
	infectiousnessShape = 20.516508
	infectiousnessRate  = 1.592124
	infectiousnessShift = 12.272481
)

// Share of infections that never show symptoms: about 0.31, the pooled
// estimate of Buitrago-Garcia et al. 2020 (PLOS Medicine 17(9):e1003346);
// the 95% range 0.24–0.38 is the corridor's chosen uncertainty around it.
// asymptomaticAlpha and asymptomaticBeta are the Beta distribution whose 2.5%
// and 97.5% quantiles are 0.24 and 0.38 (fitted numerically; its mean is
// 0.308; TestAsymptomaticShare checks both).
const (
	asymptomaticShare = 0.31
	asymptomaticLo    = 0.24
	asymptomaticHi    = 0.38
	asymptomaticAlpha = 50.941
	asymptomaticBeta  = 114.559
)

// PCR false-negative rate by days since exposure: Kucirka et al. 2020, Annals
// of Internal Medicine 173(4):262–267, median and 95% credible interval. The
// paper's text prints days 1, 4, 5, 8, 9 and 21 (marked printed); the other
// days are read off its Figure 2 (top panel), as digitised by Clifford et al.
// for their 2021 Eurosurveillance study, rounded to two places. Where the
// digitised value sits at the top of the axis (0.998) it is the figure's 100%.
type fnrKnot struct {
	day, median, lo, hi float64
	printed             bool
}

var kucirkaFNR = []fnrKnot{
	{1, 1.00, 1.00, 1.00, true},
	{2, 1.00, 0.90, 1.00, false},
	{3, 0.97, 0.50, 1.00, false},
	{4, 0.67, 0.27, 0.94, true},
	{5, 0.38, 0.18, 0.65, true},
	{6, 0.25, 0.14, 0.41, false},
	{7, 0.22, 0.12, 0.33, false},
	{8, 0.20, 0.12, 0.30, true},
	{9, 0.21, 0.13, 0.31, true},
	{10, 0.24, 0.16, 0.34, false},
	{11, 0.27, 0.18, 0.38, false},
	{12, 0.31, 0.21, 0.42, false},
	{13, 0.35, 0.24, 0.47, false},
	{14, 0.39, 0.27, 0.51, false},
	{15, 0.44, 0.32, 0.56, false},
	{16, 0.48, 0.36, 0.61, false},
	{17, 0.53, 0.39, 0.64, false},
	{18, 0.56, 0.44, 0.68, false},
	{19, 0.60, 0.47, 0.71, false},
	{20, 0.64, 0.51, 0.74, false},
	{21, 0.66, 0.54, 0.77, true},
}

// detectableAfterDays is when an infection first becomes detectable at all:
// Kucirka's false-negative rate on day 1 is 100% (95% CI 100–100%).
const detectableAfterDays = 1.0

// z975 is the 97.5th percentile of the standard normal distribution.
const z975 = 1.959963984540054

func sq(x float64) float64 { return x * x }
