package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/simulate"
)

// maxPolicyBody bounds a policy document sent to the node; the shipped
// one is a few KiB.
const maxPolicyBody = 256 << 10

// policyTravellers is how many infected travellers per lane the policy
// page's estimate simulates: enough for intervals steady to a tenth of a
// point, quick enough (well under a second) for a page's first view.
const policyTravellers = 100_000

// estimateCache keeps the simulator's estimate for the policy in force,
// computed on the first view after the policy changes.
type estimateCache struct {
	mu      sync.Mutex
	digest  string
	results simulate.Results
}

var policyEstimates estimateCache

func (c *estimateCache) get(ctx context.Context, p *policy.Policy) (simulate.Results, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.digest == p.Digest() && c.results != nil {
		return c.results, nil
	}
	var scenarios []simulate.Scenario
	for i := range p.Lanes {
		scenarios = append(scenarios, simulate.FromLane(&p.Lanes[i]))
	}
	res, err := simulate.Run(ctx, scenarios, simulate.Options{Travellers: policyTravellers, Seed: 1})
	if err != nil {
		return nil, err
	}
	c.digest, c.results = p.Digest(), res
	return res, nil
}

type policyLane struct {
	ID                           string
	Regions, Quota, PerSponsor   int
	Monitoring, Window, FollowUp int
	TestType                     string
	ArrivalTest                  bool
	Hold                         int
}

type estimateRow struct {
	Key   string
	Cells []string
}

type policyData struct {
	Policy     *policy.Policy
	Document   string // for the change form, shown to joint officers
	Lanes      []policyLane
	Rules      int
	Travellers int
	Shares     []estimateRow
	Reductions []estimateRow
}

func (s *Server) pagePolicy(w http.ResponseWriter, r *http.Request) {
	s.policyPage(w, r, http.StatusOK, nil)
}

// pageChangePolicy puts in force the document a joint officer pasted.
func (s *Server) pageChangePolicy(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if _, err := s.app.ChangePolicy(r.Context(), principal(r), []byte(r.PostForm.Get("document"))); err != nil {
		if st := statusOf(err); st == http.StatusUnprocessableEntity || st == http.StatusConflict {
			s.policyPage(w, r, st, err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/policy?done=policy_changed", http.StatusSeeOther)
}

func (s *Server) apiGetPolicy(r *http.Request, _ *noBody) (PolicyJSON, error) {
	p := s.app.Policy()
	return PolicyJSON{ID: p.ID, Version: p.Version, Digest: p.Digest(), Document: string(p.Document())}, nil
}

func (s *Server) apiChangePolicy(r *http.Request, in *PolicyChangeInputJSON) (PolicyJSON, error) {
	p, err := s.app.ChangePolicy(r.Context(), principal(r), []byte(in.Document))
	if err != nil {
		return PolicyJSON{}, err
	}
	return PolicyJSON{ID: p.ID, Version: p.Version, Digest: p.Digest(), Document: string(p.Document())}, nil
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	p := s.app.Policy()
	d := &policyData{Policy: p, Travellers: policyTravellers}
	if app.Can(principal(r), app.UCPolicyChange) {
		d.Document = string(p.Document())
	}
	for _, l := range p.Lanes {
		pl := policyLane{ID: l.ID, Regions: len(l.Regions), PerSponsor: l.Quota.WeeklyPerSponsor,
			Monitoring: l.Measures.PreDepartureMonitoringDays, Window: l.Measures.TestWindowHours,
			FollowUp: l.Measures.PostArrivalMonitoringDays, TestType: l.Measures.TestType,
			ArrivalTest: l.Measures.ArrivalTest, Hold: l.Measures.ArrivalHoldHours}
		for _, n := range l.Quota.WeeklyPerRegion {
			pl.Quota += n
		}
		d.Lanes = append(d.Lanes, pl)
	}
	if rules, err := p.Rules(); err == nil {
		d.Rules = len(rules)
	}
	res, err := policyEstimates.get(r.Context(), p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, o := range simulate.Outcomes() {
		row := estimateRow{Key: "sim." + o.Key()}
		red := estimateRow{Key: "sim." + o.Key()}
		for _, lr := range res {
			row.Cells = append(row.Cells, formatInterval(lr.Share(o)))
			if iv, ok := lr.Reduction(o); ok {
				red.Cells = append(red.Cells, formatInterval(iv))
			}
		}
		d.Shares = append(d.Shares, row)
		if len(red.Cells) > 0 {
			d.Reductions = append(d.Reductions, red)
		}
	}
	v := s.newView(w, r, "title.policy", d)
	if problem != nil {
		v.Form = r.PostForm
		d.Document = r.PostForm.Get("document")
		v.setError(problem)
	}
	s.render(w, r, status, "policy", v)
}

// formatInterval writes a share as "24.5% (18.8–30.0%)".
func formatInterval(iv simulate.Interval) string {
	return fmt.Sprintf("%.1f%% (%.1f–%.1f%%)", 100*iv.Mean, 100*iv.Lo, 100*iv.Hi)
}
