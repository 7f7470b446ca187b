package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/corridorlane/corridor/internal/simulate"
)

func init() {
	register(command{
		name:    "simulate",
		summary: "estimate how many infectious travellers a lane's measures let through",
		run:     runSimulate,
	})
}

// scenarioFromPolicyFile reads a corridor policy document and returns the
// scenario its measures describe. The policy adapter sets it; while it is
// nil, --policy is refused.
var scenarioFromPolicyFile func(path string) (simulate.Scenario, error)

// progressBarMinimum is the smallest run (travellers × scenarios) that gets a
// progress bar: shorter runs finish before a bar would be worth drawing.
const progressBarMinimum = 5_000_000

const simulateUsage = `usage: corridor simulate [flags]

Runs infected travellers through a lane's measures (a Monte Carlo model of
incubation, infectiousness, test sensitivity and symptom screening) and
reports, with 95% intervals over draws of the uncertain parameters, where
they are caught, how many are released while still infectious and how much
of their infectiousness reaches the community.

Scenario flags (also allowed inside --compare):
  --infected-before-departure MIN:MAX  days before departure each traveller was infected, uniform (default 0:14)
  --travel-hours H                     journey time (default 3)
  --pre-departure-test HOURS[:KIND]    a test HOURS before departure; repeatable; KIND is pcr (default), antigen or perfect
  --arrival-test[=KIND]                a test on arrival, held until the result
  --quarantine DAYS                    quarantine after arrival
  --exit-test DAY[:KIND]               a test on DAY of quarantine (0 = arrival day); repeatable; release waits for it
  --result-delay HOURS                 PCR result time (default 24); antigen results are immediate
  --symptom-screening on|off|LIST      where symptoms are screened: LIST of departure, arrival, quarantine (default off)
  --monitoring DAYS                    daily symptom reports after release
  --symptom-sensitivity P              chance a checkpoint catches a symptomatic traveller (default 0.7)
  --symptom-report-sensitivity P       chance an onset in quarantine or monitoring is reported (default 1)
  --antigen-sensitivity R              antigen sensitivity relative to PCR (default 0.8)

Run flags:
  --policy FILE        take the measures from a corridor policy document; scenario flags then change them
  --compare "NAME: FLAGS"
                       add a scenario to a side-by-side comparison; repeatable. Each starts from the
                       scenario the other flags describe and applies its own FLAGS; a repeatable flag
                       named in FLAGS replaces that list instead of adding to it
  --travellers N       infected travellers per scenario, at most 10^9 (default 1000000)
  --draws D            parameter draws (default 100, fewer for small runs)
  --fixed-parameters   use the point estimates in every draw (intervals then show only Monte Carlo noise)
  --seed S             random seed (default 1); the same seed gives the same figures
  --workers N          goroutines (default: all cores)
  --json, --csv        machine-readable output instead of the table
  --svg FILE           also draw the results as a bar chart
  --literature         instead, reproduce the published studies in docs/simulator.md and print
                       their table (exit 1 if a figure falls outside its band)

Example:
  corridor simulate --symptom-screening on --result-delay 24 \
    --compare "14 days: --quarantine 14" \
    --compare "7 days + test: --quarantine 7 --exit-test 6" \
    --compare "test 72 h + arrival: --pre-departure-test 72 --arrival-test --monitoring 14"
`

func runSimulate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	var top scenarioFlags
	top.register(fs)
	var (
		policyFile   = fs.String("policy", "", "")
		travellers   = fs.Int("travellers", 1_000_000, "")
		draws        = fs.Int("draws", 0, "")
		seed         = fs.Uint64("seed", 1, "")
		fixed        = fs.Bool("fixed-parameters", false, "")
		workers      = fs.Int("workers", 0, "")
		asJSON       = fs.Bool("json", false, "")
		asCSV        = fs.Bool("csv", false, "")
		svgFile      = fs.String("svg", "", "")
		literature   = fs.Bool("literature", false, "")
		compareSpecs []string
	)
	fs.Func("compare", "", func(v string) error {
		compareSpecs = append(compareSpecs, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, werr := io.WriteString(e.stdout, simulateUsage)
			return werr
		}
		return usageErrorf("%v (run `corridor simulate -h` for the flags)", err)
	}
	if fs.NArg() > 0 {
		return strayArgument(fs, args, "simulate")
	}
	if *asJSON && *asCSV {
		return usageErrorf("--json and --csv: choose one output format")
	}
	if *travellers < 1 || *travellers > simulate.MaxTravellers {
		return usageErrorf("--travellers: %d is outside 1 to 10^9", *travellers)
	}
	if *draws < 0 || *draws > simulate.MaxDraws {
		return usageErrorf("--draws: %d is outside 1 to %d", *draws, simulate.MaxDraws)
	}
	if *draws > *travellers {
		return usageErrorf("--draws: %d draws need at least as many travellers, got --travellers %d", *draws, *travellers)
	}
	if *workers < 0 {
		return usageErrorf("--workers: %d is negative", *workers)
	}

	opt := simulate.Options{Travellers: *travellers, Draws: *draws, Seed: *seed, FixedParameters: *fixed, Workers: *workers}
	if *literature {
		if fs.NFlag() != countSet(fs, "literature", "travellers", "draws", "seed", "fixed-parameters", "workers") {
			return usageErrorf("--literature runs its own scenarios: only --travellers, --draws, --seed, --fixed-parameters and --workers go with it")
		}
		return runLiterature(ctx, e, opt)
	}

	base := simulate.DefaultScenario()
	if *policyFile != "" {
		if scenarioFromPolicyFile == nil {
			return usageErrorf("--policy: policy files are not supported in this build")
		}
		s, err := scenarioFromPolicyFile(*policyFile)
		if err != nil {
			return usageErrorf("--policy %s: %v", *policyFile, err)
		}
		base = s
	}
	touched := map[string]bool{}
	top.apply(&base, touched)
	if base.Name == "" {
		base.Name = "scenario"
	}

	scenarios := []simulate.Scenario{base}
	if len(compareSpecs) > 0 {
		scenarios = scenarios[:0]
		names := map[string]bool{}
		for _, spec := range compareSpecs {
			s, specTouched, err := compareScenario(base, touched, spec)
			if err != nil {
				return err
			}
			if names[s.Name] {
				return usageErrorf("--compare %q: another scenario is already named %q", spec, s.Name)
			}
			names[s.Name] = true
			if err := validateScenario(s, specTouched, *policyFile, fmt.Sprintf("--compare %q: ", spec)); err != nil {
				return err
			}
			scenarios = append(scenarios, s)
		}
		if len(scenarios) > simulate.MaxScenarios {
			return usageErrorf("--compare: %d scenarios is more than the limit of %d", len(scenarios), simulate.MaxScenarios)
		}
	} else if err := validateScenario(base, touched, *policyFile, ""); err != nil {
		return err
	}

	if total := int64(*travellers) * int64(len(scenarios)); total >= progressBarMinimum {
		if bar := newProgressBar(e.stderr, total); bar != nil {
			opt.Progress = func(done, _ int64) { _ = bar.Set64(done) }
			defer func() { _ = bar.Finish() }()
		}
	}
	results, err := simulate.Run(ctx, scenarios, opt)
	if err != nil {
		return err
	}

	switch {
	case *asJSON:
		err = results.WriteJSON(e.stdout)
	case *asCSV:
		err = results.WriteCSV(e.stdout)
	default:
		err = results.WriteTable(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	if *svgFile != "" {
		var b bytes.Buffer
		if err := results.WriteSVG(&b); err != nil {
			return fmt.Errorf("drawing the results: %w", err)
		}
		if err := os.WriteFile(*svgFile, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--svg: %w", err)
		}
	}
	return nil
}

// runLiterature reproduces the published modelling studies the model is
// held to and prints the Markdown table docs/simulator.md carries. A figure
// outside its band is a failing check: exit 1.
func runLiterature(ctx context.Context, e *env, opt simulate.Options) error {
	findings, err := simulate.CheckLiterature(ctx, opt)
	if err != nil {
		return err
	}
	if err := simulate.WriteLiteratureTable(e.stdout, findings); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	for _, f := range findings {
		if !f.Within() {
			return &exitError{code: exitInvalid, msg: "a figure is outside its published band"}
		}
	}
	return nil
}

// strayArgument explains the first argument the flags left over. The usual
// cause is a value given to a switch with a space, as in "--arrival-test
// antigen", which the flag syntax reads as a switch and an argument.
func strayArgument(fs *flag.FlagSet, args []string, what string) error {
	stray := fs.Arg(0)
	if i := len(args) - fs.NArg(); i > 0 {
		name := strings.TrimLeft(args[i-1], "-")
		if f := fs.Lookup(name); f != nil && !strings.Contains(name, "=") {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				return usageErrorf("--%s takes its value after \"=\" (--%s=%s), not %q after a space", name, name, stray, stray)
			}
		}
	}
	return usageErrorf("%s takes only flags, got the argument %q", what, stray)
}

// countSet counts how many of the named flags were given.
func countSet(fs *flag.FlagSet, names ...string) int {
	n := 0
	fs.Visit(func(f *flag.Flag) {
		for _, name := range names {
			if f.Name == name {
				n++
			}
		}
	})
	return n
}

// newProgressBar draws on w only when w is a terminal: redirected output and
// tests get no bar.
func newProgressBar(w io.Writer, total int64) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("simulating travellers"),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// compareScenario builds one --compare scenario, "NAME: FLAGS", on top of base.
func compareScenario(base simulate.Scenario, baseTouched map[string]bool, spec string) (simulate.Scenario, map[string]bool, error) {
	name, rest, ok := strings.Cut(spec, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return base, nil, usageErrorf(`--compare %q: write it as "NAME: FLAGS", e.g. "14 days: --quarantine 14"`, spec)
	}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var sf scenarioFlags
	sf.register(fs)
	if err := fs.Parse(strings.Fields(rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			err = errors.New("-h is not a scenario flag")
		}
		return base, nil, usageErrorf("--compare %q: %v", spec, err)
	}
	if fs.NArg() > 0 {
		return base, nil, usageErrorf("--compare %q: %v", spec, strayArgument(fs, strings.Fields(rest), "a scenario"))
	}
	s := base
	// The lists are shared with base until a flag replaces them.
	s.PreDepartureTests = append([]simulate.PreDepartureTest(nil), base.PreDepartureTests...)
	s.ExitTests = append([]simulate.ExitTest(nil), base.ExitTests...)
	touched := map[string]bool{}
	for k := range baseTouched {
		touched[k] = true
	}
	sf.apply(&s, touched)
	s.Name = name
	return s, touched, nil
}

// fieldFlags names the flag that sets each Scenario field, to point at it
// when the field is wrong.
var fieldFlags = map[string]string{
	"InfectedMinDays":            "--infected-before-departure",
	"InfectedMaxDays":            "--infected-before-departure",
	"TravelHours":                "--travel-hours",
	"PreDepartureTests":          "--pre-departure-test",
	"ArrivalTestKind":            "--arrival-test",
	"QuarantineDays":             "--quarantine",
	"ExitTests":                  "--exit-test",
	"ResultDelayHours":           "--result-delay",
	"MonitoringDays":             "--monitoring",
	"SymptomSensitivity":         "--symptom-sensitivity",
	"SymptomReportSensitivity":   "--symptom-report-sensitivity",
	"AntigenRelativeSensitivity": "--antigen-sensitivity",
}

// validateScenario turns a simulate.FieldError into a usage error that names
// the flag (and the policy file, when the value came from there).
func validateScenario(s simulate.Scenario, touched map[string]bool, policyFile, prefix string) error {
	err := s.Validate()
	if err == nil {
		return nil
	}
	var fe *simulate.FieldError
	if !errors.As(err, &fe) {
		return usageErrorf("%s%v", prefix, err)
	}
	name, ok := fieldFlags[fe.Field]
	if !ok {
		return usageErrorf("%s%v", prefix, err)
	}
	if policyFile != "" && !touched[name] {
		return usageErrorf("%s--policy %s: %s (set by %s): %s", prefix, policyFile, fe.Field, name, fe.Reason)
	}
	return usageErrorf("%s%s: %s", prefix, name, fe.Reason)
}

// scenarioFlags collects the scenario flags of one command line as edits,
// applied in order to a starting scenario: the defaults, a policy's, or the
// comparison's base.
type scenarioFlags struct {
	edits []scenarioEdit
}

type scenarioEdit struct {
	flag  string
	apply func(s *simulate.Scenario)
}

func (sf *scenarioFlags) add(name string, apply func(s *simulate.Scenario)) {
	sf.edits = append(sf.edits, scenarioEdit{flag: "--" + name, apply: apply})
}

// apply edits s; a repeatable flag's first use empties the list it fills.
func (sf *scenarioFlags) apply(s *simulate.Scenario, touched map[string]bool) {
	cleared := map[string]bool{}
	for _, e := range sf.edits {
		switch e.flag {
		case "--pre-departure-test":
			if !cleared[e.flag] {
				s.PreDepartureTests = nil
			}
		case "--exit-test":
			if !cleared[e.flag] {
				s.ExitTests = nil
			}
		}
		cleared[e.flag] = true
		touched[e.flag] = true
		e.apply(s)
	}
}

func (sf *scenarioFlags) register(fs *flag.FlagSet) {
	fs.Func("infected-before-departure", "", func(v string) error {
		lo, hi, ok := strings.Cut(v, ":")
		if !ok {
			return errors.New("write it as MIN:MAX days, e.g. 0:14")
		}
		from, err := parseNumber(lo, "days")
		if err != nil {
			return err
		}
		to, err := parseNumber(hi, "days")
		if err != nil {
			return err
		}
		sf.add("infected-before-departure", func(s *simulate.Scenario) { s.InfectedMinDays, s.InfectedMaxDays = from, to })
		return nil
	})
	number := func(name, unit string, set func(s *simulate.Scenario, v float64)) {
		fs.Func(name, "", func(v string) error {
			x, err := parseNumber(v, unit)
			if err != nil {
				return err
			}
			sf.add(name, func(s *simulate.Scenario) { set(s, x) })
			return nil
		})
	}
	number("travel-hours", "hours", func(s *simulate.Scenario, v float64) { s.TravelHours = v })
	number("quarantine", "days", func(s *simulate.Scenario, v float64) { s.QuarantineDays = v })
	number("result-delay", "hours", func(s *simulate.Scenario, v float64) { s.ResultDelayHours = v })
	number("monitoring", "days", func(s *simulate.Scenario, v float64) { s.MonitoringDays = v })
	number("symptom-sensitivity", "a share", func(s *simulate.Scenario, v float64) { s.SymptomSensitivity = v })
	number("symptom-report-sensitivity", "a share", func(s *simulate.Scenario, v float64) { s.SymptomReportSensitivity = v })
	number("antigen-sensitivity", "a share", func(s *simulate.Scenario, v float64) { s.AntigenRelativeSensitivity = v })

	fs.Func("pre-departure-test", "", func(v string) error {
		hours, kind, err := parseTimedTest(v, "hours")
		if err != nil {
			return err
		}
		sf.add("pre-departure-test", func(s *simulate.Scenario) {
			s.PreDepartureTests = append(s.PreDepartureTests, simulate.PreDepartureTest{HoursBefore: hours, Kind: kind})
		})
		return nil
	})
	fs.Func("exit-test", "", func(v string) error {
		day, kind, err := parseTimedTest(v, "days")
		if err != nil {
			return err
		}
		sf.add("exit-test", func(s *simulate.Scenario) {
			s.ExitTests = append(s.ExitTests, simulate.ExitTest{Day: day, Kind: kind})
		})
		return nil
	})
	fs.BoolFunc("arrival-test", "", func(v string) error {
		on, kind := true, simulate.PCR
		if b, err := strconv.ParseBool(v); err == nil {
			on = b
		} else if kind, err = simulate.ParseTestKind(v); err != nil {
			return errors.New("write --arrival-test, --arrival-test=false or --arrival-test=KIND (pcr, antigen, perfect)")
		}
		sf.add("arrival-test", func(s *simulate.Scenario) { s.ArrivalTest, s.ArrivalTestKind = on, kind })
		return nil
	})
	fs.Func("symptom-screening", "", func(v string) error {
		var scr simulate.SymptomScreening
		switch strings.ToLower(v) {
		case "on", "true", "all":
			scr = simulate.SymptomScreening{Departure: true, Arrival: true, Quarantine: true}
		case "off", "false", "none":
		default:
			for _, point := range strings.Split(v, ",") {
				switch strings.ToLower(strings.TrimSpace(point)) {
				case "departure":
					scr.Departure = true
				case "arrival":
					scr.Arrival = true
				case "quarantine":
					scr.Quarantine = true
				default:
					return fmt.Errorf("%q is not on, off or a list of departure, arrival, quarantine", v)
				}
			}
		}
		sf.add("symptom-screening", func(s *simulate.Scenario) { s.SymptomScreening = scr })
		return nil
	})
}

// parseNumber reads a plain decimal number; range checks are the scenario's.
func parseNumber(v, unit string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number of %s", v, unit)
	}
	return x, nil
}

// parseTimedTest reads "WHEN[:KIND]".
func parseTimedTest(v, unit string) (float64, simulate.TestKind, error) {
	when, kindName, hasKind := strings.Cut(v, ":")
	x, err := parseNumber(when, unit)
	if err != nil {
		return 0, 0, err
	}
	kind := simulate.PCR
	if hasKind {
		if kind, err = simulate.ParseTestKind(kindName); err != nil {
			return 0, 0, err
		}
	}
	return x, kind, nil
}
