package simulate

import (
	"sync"

	"gonum.org/v1/gonum/stat/distuv"
)

// The infectiousness profile is He et al.'s shifted gamma. Its CDF is tabled
// once so a traveller costs two table look-ups, not two incomplete gamma
// functions.
const (
	profileStepsPerDay = 128
	profileDays        = 48 // the CDF is 1 − 3e-11 there
)

type infectiousnessProfile struct {
	cdf [profileDays*profileStepsPerDay + 1]float64
	// A traveller counts as infectious from preOnset days before symptom
	// onset to postOnset days after it: the central 95% of the profile.
	preOnset, postOnset float64
}

var profile = sync.OnceValue(func() *infectiousnessProfile {
	g := distuv.Gamma{Alpha: infectiousnessShape, Beta: infectiousnessRate}
	p := new(infectiousnessProfile)
	for i := range p.cdf {
		p.cdf[i] = g.CDF(float64(i) / profileStepsPerDay)
	}
	p.preOnset = infectiousnessShift - g.Quantile(0.025)
	p.postOnset = g.Quantile(0.975) - infectiousnessShift
	return p
})

// cumulative is the share of a traveller's infectiousness (untruncated) spent
// before sinceOnset days after symptom onset.
func (p *infectiousnessProfile) cumulative(sinceOnset float64) float64 {
	x := (sinceOnset + infectiousnessShift) * profileStepsPerDay
	if x <= 0 {
		return 0
	}
	if x >= float64(len(p.cdf)-1) {
		return 1
	}
	i := int(x)
	f := x - float64(i)
	return p.cdf[i] + f*(p.cdf[i+1]-p.cdf[i])
}
