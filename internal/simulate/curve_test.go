package simulate

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func TestMonotoneCubicKeepsShape(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 12).Draw(t, "knots")
		x := make([]float64, n)
		y := make([]float64, n)
		rising := rapid.Bool().Draw(t, "rising")
		x[0], y[0] = rapid.Float64Range(-5, 5).Draw(t, "x0"), rapid.Float64Range(0, 1).Draw(t, "y0")
		for i := 1; i < n; i++ {
			x[i] = x[i-1] + rapid.Float64Range(0.1, 3).Draw(t, "dx")
			dy := rapid.Float64Range(0, 1).Draw(t, "dy")
			if !rising {
				dy = -dy
			}
			y[i] = y[i-1] + dy
		}
		c := newMonotoneCubic(x, y)
		for i := range x {
			if got := c.at(x[i]); math.Abs(got-y[i]) > 1e-9 {
				t.Fatalf("curve misses knot %d: %g, want %g", i, got, y[i])
			}
		}
		prev := c.at(x[0])
		for v := x[0]; v <= x[n-1]; v += (x[n-1] - x[0]) / 500 {
			got := c.at(v)
			if rising && got < prev-1e-9 || !rising && got > prev+1e-9 {
				t.Fatalf("monotone data, but the curve turns at %g: %g after %g", v, got, prev)
			}
			prev = got
		}
	})
}
