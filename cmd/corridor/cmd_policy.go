package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/simulate"
)

func init() {
	register(command{name: "policy", summary: "check a corridor policy document and estimate what its measures let through", run: runPolicy})
}

func runPolicy(ctx context.Context, e *env, args []string) error {
	_, rest, err := subcommand("policy", args, "check")
	if err != nil {
		return err
	}
	fs := newFlags(e, "policy check", "policy check [--travellers N] [--seed S] [--no-estimate] FILE")
	travellers := fs.Int("travellers", 200_000, "simulated infected travellers per lane for the estimate")
	seed := fs.Uint64("seed", 1, "random seed of the estimate")
	noEstimate := fs.Bool("no-estimate", false, "skip the simulator's estimate")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("give exactly one policy FILE")
	}
	p, err := policy.LoadFile(fs.Arg(0))
	if err != nil {
		// The error lists every fault with its line and field.
		fmt.Fprintln(e.stderr, strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return &exitError{code: exitInvalid}
	}
	rules, err := p.Rules()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "policy %s version %d, effective %s: valid\n%s\nsha256 %s\n\n", p.ID, p.Version, p.Effective, p.Title, p.Digest())
	w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "lane\tregions\tweekly quota\tper sponsor\tmonitoring\ttest\tarrival hold\tpost-arrival\ton suspension")
	for _, l := range p.Lanes {
		total := 0
		for _, n := range l.Quota.WeeklyPerRegion {
			total += n
		}
		m := l.Measures
		test := fmt.Sprintf("%s ≤%d h", m.TestType, m.TestWindowHours)
		hold := "none"
		if m.ArrivalTest {
			hold = fmt.Sprintf("test, %d h", m.ArrivalHoldHours)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d d\t%s\t%s\t%d d\t%s\n", l.ID, len(l.Regions), total, l.Quota.WeeklyPerSponsor,
			m.PreDepartureMonitoringDays, test, hold, m.PostArrivalMonitoringDays, l.OnSuspension)
	}
	w.Flush()
	fmt.Fprintf(e.stdout, "\neligible purposes: %s\nretention: %d days\n", strings.Join(p.Purposes, ", "), p.RetentionDays)
	for _, s := range p.CircuitBreaker {
		fmt.Fprintf(e.stdout, "circuit breaker: %d positives on arrival in %d days suspend a route for %d days\n", s.Positives, s.WindowDays, s.SuspendDays)
	}
	byCountry := map[string]int{}
	for _, r := range rules {
		byCountry[r.Country]++
	}
	countries := make([]string, 0, len(byCountry))
	for c := range byCountry {
		countries = append(countries, c)
	}
	sort.Strings(countries)
	fmt.Fprintf(e.stdout, "entry rules: %d (", len(rules))
	for i, c := range countries {
		if i > 0 {
			fmt.Fprint(e.stdout, ", ")
		}
		fmt.Fprintf(e.stdout, "%s %d", c, byCountry[c])
	}
	fmt.Fprintln(e.stdout, ")")
	if *noEstimate {
		return nil
	}
	var scenarios []simulate.Scenario
	for i := range p.Lanes {
		scenarios = append(scenarios, simulate.FromLane(&p.Lanes[i]))
	}
	res, err := simulate.Run(ctx, scenarios, simulate.Options{Travellers: *travellers, Seed: *seed})
	if err != nil {
		return fmt.Errorf("estimate: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nestimate (corridor simulate, %d infected travellers per lane):\n", *travellers)
	return res.WriteTable(e.stdout)
}
