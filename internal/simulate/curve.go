package simulate

import "math"

// monotoneCubic is the Fritsch–Carlson shape-preserving cubic through a set
// of knots: it never overshoots between two knots, so an interpolated false-
// negative rate stays inside [0, 1] and has no wiggles the data do not have.
// Hand-written because it is twenty lines and no maintained Go package offers
// the monotone variant.
type monotoneCubic struct {
	x, y, slope []float64
}

func newMonotoneCubic(x, y []float64) monotoneCubic {
	n := len(x)
	secant := make([]float64, n-1)
	for k := range secant {
		secant[k] = (y[k+1] - y[k]) / (x[k+1] - x[k])
	}
	slope := make([]float64, n)
	slope[0], slope[n-1] = secant[0], secant[n-2]
	for k := 1; k < n-1; k++ {
		if secant[k-1]*secant[k] > 0 {
			slope[k] = (secant[k-1] + secant[k]) / 2
		}
	}
	for k, d := range secant {
		if d == 0 {
			slope[k], slope[k+1] = 0, 0
			continue
		}
		a, b := slope[k]/d, slope[k+1]/d
		if r := a*a + b*b; r > 9 {
			t := 3 / math.Sqrt(r)
			slope[k], slope[k+1] = t*a*d, t*b*d
		}
	}
	return monotoneCubic{x: x, y: y, slope: slope}
}

// at evaluates the curve; outside the knots it continues the end slope.
func (c monotoneCubic) at(t float64) float64 {
	n := len(c.x)
	if t <= c.x[0] {
		return c.y[0] + c.slope[0]*(t-c.x[0])
	}
	if t >= c.x[n-1] {
		return c.y[n-1] + c.slope[n-1]*(t-c.x[n-1])
	}
	k := 0
	for t > c.x[k+1] {
		k++
	}
	h := c.x[k+1] - c.x[k]
	s := (t - c.x[k]) / h
	s2, s3 := s*s, s*s*s
	return (2*s3-3*s2+1)*c.y[k] + (s3-2*s2+s)*h*c.slope[k] +
		(-2*s3+3*s2)*c.y[k+1] + (s3-s2)*h*c.slope[k+1]
}

// sensitivity tables hold PCR sensitivity by days since infection, sampled
// every hour; travellers look their test up here instead of evaluating the
// spline.
const (
	sensitivityStepsPerDay = 24
	sensitivityDays        = 64
)

type sensitivityTable [sensitivityDays*sensitivityStepsPerDay + 1]float64

// kucirkaFNRAt returns the false-negative rates of the knots at the quantile
// z (a standard normal deviate) of their credible intervals: z = 0 is the
// median curve, ±1.96 the interval bounds. One z moves every knot the same way,
// so a draw is a whole plausible curve rather than a jagged one.
func kucirkaFNRAt(z float64) (days, fnr []float64) {
	days = make([]float64, len(kucirkaFNR))
	fnr = make([]float64, len(kucirkaFNR))
	for i, k := range kucirkaFNR {
		days[i] = k.day
		v := k.median
		if z > 0 {
			v += z / z975 * (k.hi - k.median)
		} else {
			v += z / z975 * (k.median - k.lo)
		}
		fnr[i] = math.Min(1, math.Max(0, v))
	}
	return days, fnr
}

// newSensitivityTable builds the PCR sensitivity curve at quantile z of
// Kucirka's intervals. Past day 21, the last knot, the false-negative rate
// keeps rising along the day-20-to-21 slope until it reaches 100%: Kucirka
// stop at day 21 and PCR positivity keeps falling after it.
func newSensitivityTable(z float64) *sensitivityTable {
	days, fnr := kucirkaFNRAt(z)
	curve := newMonotoneCubic(days, fnr)
	var t sensitivityTable
	for i := range t {
		d := float64(i) / sensitivityStepsPerDay
		if d <= detectableAfterDays {
			continue
		}
		t[i] = 1 - math.Min(1, math.Max(0, curve.at(d)))
	}
	return &t
}

// at is the chance that a PCR sample taken days after infection is positive.
func (t *sensitivityTable) at(days float64) float64 {
	if days <= detectableAfterDays {
		return 0
	}
	x := days * sensitivityStepsPerDay
	if x >= float64(len(t)-1) {
		return t[len(t)-1]
	}
	i := int(x)
	f := x - float64(i)
	return t[i] + f*(t[i+1]-t[i])
}
