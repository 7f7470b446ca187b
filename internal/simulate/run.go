package simulate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/stat/distuv"
)

// Options control a run.
type Options struct {
	// Travellers is how many infected travellers each scenario is run on,
	// across all draws. The same travellers go through every scenario.
	Travellers int
	// Draws is how many times the uncertain parameters are drawn; the
	// travellers are split evenly among the draws. 0 means DefaultDraws,
	// or fewer when there are under minTravellersPerDraw travellers a draw.
	Draws int
	// Seed fixes every random number: the same seed, travellers, draws and
	// scenarios give the same figures, whatever the number of workers.
	Seed uint64
	// FixedParameters uses the point estimates in every draw; the
	// intervals then show Monte Carlo noise only.
	FixedParameters bool
	// Workers is how many goroutines simulate; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is told how many travellers (summed over the
	// scenarios) are done out of the total. It is called from the workers,
	// one call at a time.
	Progress func(done, total int64)
}

const (
	// MaxTravellers bounds a run; beyond it the figures would not get
	// better, only later.
	MaxTravellers = 1_000_000_000
	// MaxScenarios bounds a comparison.
	MaxScenarios = 16
	// DefaultDraws is the number of parameter draws when Options.Draws is 0.
	DefaultDraws = 100
	// MaxDraws bounds Options.Draws.
	MaxDraws = 10_000

	minTravellersPerDraw = 1000
	// chunkTravellers is the unit of work. It fixes which random stream
	// each traveller comes from, so it must not depend on the workers.
	chunkTravellers = 1 << 16
)

// Estimate runs one scenario with DefaultDraws parameter draws (fewer for a
// small run) on all cores. It is what `corridor policy check` and the node's
// policy page show beside a policy.
func Estimate(s Scenario, travellers int, seed uint64) (*Result, error) {
	rs, err := Run(context.Background(), []Scenario{s}, Options{Travellers: travellers, Seed: seed})
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// Run simulates the scenarios on the same travellers and summarises each.
func Run(ctx context.Context, scenarios []Scenario, opt Options) (Results, error) {
	if len(scenarios) == 0 {
		return nil, errors.New("simulate: no scenario to run")
	}
	if len(scenarios) > MaxScenarios {
		return nil, fmt.Errorf("simulate: %d scenarios is more than the limit of %d", len(scenarios), MaxScenarios)
	}
	for i, s := range scenarios {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("simulate: scenario %s: %w", scenarioLabel(s, i), err)
		}
	}
	if opt.Travellers < 1 || opt.Travellers > MaxTravellers {
		return nil, fmt.Errorf("simulate: %d travellers is outside 1 to %d", opt.Travellers, MaxTravellers)
	}
	draws := opt.Draws
	if draws == 0 {
		draws = max(1, min(DefaultDraws, opt.Travellers/minTravellersPerDraw))
	}
	if draws < 1 || draws > MaxDraws {
		return nil, fmt.Errorf("simulate: %d parameter draws is outside 1 to %d", draws, MaxDraws)
	}
	if draws > opt.Travellers {
		return nil, fmt.Errorf("simulate: %d parameter draws for %d travellers leaves a draw with none", draws, opt.Travellers)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	r := &runner{
		seed:       opt.Seed,
		fixed:      opt.FixedParameters,
		prof:       profile(),
		tallies:    make([][]tally, draws),
		locks:      make([]sync.Mutex, draws),
		total:      int64(opt.Travellers) * int64(len(scenarios)),
		onProgress: opt.Progress,
	}
	for _, s := range scenarios {
		r.plans = append(r.plans, newPlan(s))
	}
	for d := range draws {
		r.tallies[d] = make([]tally, len(scenarios))
		n := opt.Travellers / draws
		if d < opt.Travellers%draws {
			n++
		}
		for c := 0; c*chunkTravellers < n; c++ {
			r.units = append(r.units, unit{draw: d, chunk: c, travellers: min(chunkTravellers, n-c*chunkTravellers)})
		}
	}

	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(r.units)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(r.units)) {
					return
				}
				r.run(r.units[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("simulate: stopped: %w", err)
	}

	results := make(Results, len(scenarios))
	for i, s := range scenarios {
		perDraw := make([]tally, draws)
		for d := range draws {
			perDraw[d] = r.tallies[d][i]
		}
		results[i] = summarise(s, perDraw, opt, draws)
	}
	return results, nil
}

type unit struct {
	draw, chunk, travellers int
}

type runner struct {
	seed    uint64
	fixed   bool
	prof    *infectiousnessProfile
	plans   []*plan
	units   []unit
	tallies [][]tally // [draw][scenario]
	locks   []sync.Mutex

	done, total  int64
	progressLock sync.Mutex
	onProgress   func(done, total int64)
}

// Stream tags keep the parameter and traveller streams apart.
const (
	tagParams     = 0x70617261 // "para"
	tagTravellers = 0x74726176 // "trav"
)

func stream(seed, tag, a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(seed^mix64(tag+a*0x9e3779b97f4a7c15)), mix64(mix64(seed+tag)^(b+1)*0xd1b54a32d192ed03)))
}

// paramsFor draws the uncertain parameters of one draw.
func (r *runner) paramsFor(draw int) drawParams {
	if r.fixed {
		return centralParams()
	}
	rng := stream(r.seed, tagParams, uint64(draw), 0)
	return drawParams{
		asymptomatic: distuv.Beta{Alpha: asymptomaticAlpha, Beta: asymptomaticBeta, Src: rng}.Rand(),
		meanLog:      incubationMeanLog + incubationMeanLogSD*rng.NormFloat64(),
		// Four standard deviations below its estimate sdlog is still 0.11;
		// the floor only keeps a freak draw positive.
		sdLog: max(0.05, incubationSDLog+incubationSDLogSD*rng.NormFloat64()),
		pcr:   newSensitivityTable(rng.NormFloat64()),
	}
}

func (r *runner) run(u unit) {
	params := r.paramsFor(u.draw)
	rng := stream(r.seed, tagTravellers, uint64(u.draw), uint64(u.chunk))
	local := make([]tally, len(r.plans))
	for range u.travellers {
		t := traveller{
			infection:    rng.Float64(),
			incubation:   rng.NormFloat64(),
			asymptomatic: rng.Float64(),
			key:          rng.Uint64(),
		}
		for i, p := range r.plans {
			f := p.fate(&params, &t, r.prof)
			local[i].add(&f)
		}
	}
	r.locks[u.draw].Lock()
	for i := range local {
		r.tallies[u.draw][i].merge(&local[i])
	}
	r.locks[u.draw].Unlock()

	if r.onProgress != nil {
		r.progressLock.Lock()
		r.done += int64(u.travellers) * int64(len(r.plans))
		r.onProgress(r.done, r.total)
		r.progressLock.Unlock()
	}
}

// tally adds up fates. Shares of infectiousness are summed in fixed point
// (units of 2^-32), so that the sum is exact and the same in whatever order
// the workers finish: a billion travellers fit in 64 bits.
type tally struct {
	n                      int64
	caught                 [caughtInMonitoring + 1]int64
	infectiousTravel       int64
	releasedInfectious     int64
	travelShare            uint64
	afterRelease           uint64
	baseInfectiousTravel   int64
	baseReleasedInfectious int64
	baseTravelShare        uint64
	baseAfterRelease       uint64
}

const fixedPointOne = 1 << 32

func fixedPoint(share float64) uint64 { return uint64(share*fixedPointOne + 0.5) }

func (t *tally) add(f *fate) {
	t.n++
	t.caught[f.caught]++
	if f.infectiousTravel {
		t.infectiousTravel++
	}
	if f.releasedInfectious {
		t.releasedInfectious++
	}
	t.travelShare += fixedPoint(f.travelShare)
	t.afterRelease += fixedPoint(f.afterRelease)
	if f.baseInfectiousTravel {
		t.baseInfectiousTravel++
	}
	if f.baseReleasedInfectious {
		t.baseReleasedInfectious++
	}
	t.baseTravelShare += fixedPoint(f.baseTravelShare)
	t.baseAfterRelease += fixedPoint(f.baseAfterRelease)
}

func (t *tally) merge(o *tally) {
	t.n += o.n
	for i := range t.caught {
		t.caught[i] += o.caught[i]
	}
	t.infectiousTravel += o.infectiousTravel
	t.releasedInfectious += o.releasedInfectious
	t.travelShare += o.travelShare
	t.afterRelease += o.afterRelease
	t.baseInfectiousTravel += o.baseInfectiousTravel
	t.baseReleasedInfectious += o.baseReleasedInfectious
	t.baseTravelShare += o.baseTravelShare
	t.baseAfterRelease += o.baseAfterRelease
}

// values turns a tally into the share of each outcome, and what no measures
// would have given for the outcomes that have a baseline.
func (t *tally) values() (v, base [numOutcomes]float64) {
	n := float64(t.n)
	v[CaughtBeforeDeparture] = float64(t.caught[caughtBeforeDeparture]) / n
	v[CaughtOnArrival] = float64(t.caught[caughtOnArrival]) / n
	v[CaughtInQuarantine] = float64(t.caught[caughtInQuarantine]) / n
	v[CaughtInMonitoring] = float64(t.caught[caughtInMonitoring]) / n
	v[InfectiousDuringTravel] = float64(t.infectiousTravel) / n
	v[InfectiousnessDuringTravel] = float64(t.travelShare) / fixedPointOne / n
	v[ReleasedInfectious] = float64(t.releasedInfectious) / n
	v[InfectiousnessAfterRelease] = float64(t.afterRelease) / fixedPointOne / n
	base[InfectiousDuringTravel] = float64(t.baseInfectiousTravel) / n
	base[InfectiousnessDuringTravel] = float64(t.baseTravelShare) / fixedPointOne / n
	base[ReleasedInfectious] = float64(t.baseReleasedInfectious) / n
	base[InfectiousnessAfterRelease] = float64(t.baseAfterRelease) / fixedPointOne / n
	return v, base
}

func scenarioLabel(s Scenario, i int) string {
	if s.Name != "" {
		return fmt.Sprintf("%q", s.Name)
	}
	return fmt.Sprintf("%d", i+1)
}
