package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/corridorlane/corridor/internal/simulate"
)

// runSimulateCLI runs `corridor simulate args...` with small defaults unless
// the arguments set them.
func runSimulateCLI(t interface{ Helper() }, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = realMain(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, append([]string{"simulate"}, args...))
	return code, out.String(), errb.String()
}

func TestSimulateTable(t *testing.T) {
	code, out, stderr := runSimulateCLI(t, "--travellers", "20000", "--draws", "10", "--symptom-screening", "on", "--quarantine", "7", "--exit-test", "6")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"20000 infected travellers per scenario, 10 parameter draws, seed 1", "released while infectious", "infectiousness left after release", "reduction against no measures", "quarantine 7 d; pcr on day 6"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if stderr != "" {
		t.Errorf("stderr %q; no progress bar should be drawn off a terminal", stderr)
	}
}

func TestSimulateSameSeedSameOutput(t *testing.T) {
	args := []string{"--travellers", "30000", "--draws", "5", "--arrival-test", "--quarantine", "3", "--json"}
	_, a, _ := runSimulateCLI(t, append(args, "--seed", "7")...)
	_, b, _ := runSimulateCLI(t, append(args, "--seed", "7", "--workers", "1")...)
	_, c, _ := runSimulateCLI(t, append(args, "--seed", "8")...)
	if a != b {
		t.Error("the same seed gave different output")
	}
	if a == c {
		t.Error("seeds 7 and 8 gave the same output")
	}
}

func TestSimulateJSONAndCSV(t *testing.T) {
	code, out, stderr := runSimulateCLI(t, "--travellers", "5000", "--draws", "5", "--json", "--compare", "none:", "--compare", "q14: --quarantine 14")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Travellers int `json:"travellers"`
		Scenarios  []struct {
			Name     string `json:"name"`
			Outcomes []struct {
				Outcome   string             `json:"outcome"`
				Share     simulate.Interval  `json:"share"`
				Reduction *simulate.Interval `json:"reduction"`
			} `json:"outcomes"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if doc.Travellers != 5000 || len(doc.Scenarios) != 2 || doc.Scenarios[1].Name != "q14" || len(doc.Scenarios[1].Outcomes) != len(simulate.Outcomes()) {
		t.Fatalf("unexpected JSON: %+v", doc)
	}
	for _, o := range doc.Scenarios[1].Outcomes {
		if o.Outcome == "released_infectious" && (o.Reduction == nil || o.Reduction.Mean < 0.5) {
			t.Errorf("14 days of quarantine: reduction %+v", o.Reduction)
		}
	}

	code, out, stderr = runSimulateCLI(t, "--travellers", "5000", "--draws", "5", "--csv", "--compare", "a: --quarantine 2", "--compare", "b: --quarantine 4")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("--csv output does not parse: %v", err)
	}
	if want := 1 + 2*len(simulate.Outcomes()); len(rows) != want || rows[0][0] != "scenario" {
		t.Fatalf("%d CSV rows, want %d", len(rows), want)
	}
}

func TestSimulateSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.svg")
	code, _, stderr := runSimulateCLI(t, "--travellers", "5000", "--draws", "5", "--svg", path, "--compare", "a <b> & 'c': --quarantine 3", "--compare", "d: --monitoring 5")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var texts []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			texts = append(texts, string(cd))
		}
	}
	if !strings.Contains(strings.Join(texts, "\n"), "a <b> & 'c'") {
		t.Error("the chart lost the scenario's name")
	}
}

func TestSimulateCompareBuildsOnTheBase(t *testing.T) {
	base := simulate.DefaultScenario()
	var top scenarioFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	top.register(fs)
	if err := fs.Parse([]string{"--exit-test", "2", "--quarantine", "5", "--result-delay", "12"}); err != nil {
		t.Fatal(err)
	}
	top.apply(&base, map[string]bool{})
	s, _, err := compareScenario(base, nil, "replaced: --exit-test 3 --exit-test 4:antigen --quarantine 6")
	if err != nil {
		t.Fatal(err)
	}
	want := []simulate.ExitTest{{Day: 3, Kind: simulate.PCR}, {Day: 4, Kind: simulate.Antigen}}
	if s.Name != "replaced" || s.QuarantineDays != 6 || s.ResultDelayHours != 12 || !reflect.DeepEqual(s.ExitTests, want) {
		t.Fatalf("compare scenario %+v", s)
	}
	if !reflect.DeepEqual(base.ExitTests, []simulate.ExitTest{{Day: 2, Kind: simulate.PCR}}) {
		t.Fatalf("the comparison changed its base: %+v", base.ExitTests)
	}
}

func TestLiteratureFlagsReproduceTheirScenarios(t *testing.T) {
	// docs/simulator.md gives each check's flags: they must build exactly
	// the scenario that was checked.
	build := func(flags string) simulate.Scenario {
		t.Helper()
		s, _, err := compareScenario(simulate.DefaultScenario(), nil, "x: "+flags)
		if err != nil {
			t.Fatalf("%s: %v", flags, err)
		}
		s.Name = ""
		return s
	}
	for i, c := range simulate.LiteratureChecks() {
		if got := build(c.Flags); !reflect.DeepEqual(got, c.Scenario) {
			t.Errorf("check %d: `%s` builds\n%+v\nnot\n%+v", i+1, c.Flags, got, c.Scenario)
		}
		if c.Comparator != nil {
			if got := build(c.ComparatorFlags); !reflect.DeepEqual(got, *c.Comparator) {
				t.Errorf("check %d comparator: `%s` builds %+v", i+1, c.ComparatorFlags, got)
			}
		}
	}
}

func TestSimulatePolicyHook(t *testing.T) {
	saved := scenarioFromPolicyFile
	t.Cleanup(func() { scenarioFromPolicyFile = saved })

	scenarioFromPolicyFile = nil
	code, _, stderr := runSimulateCLI(t, "--policy", "lane.json")
	if code != exitUsage || !strings.Contains(stderr, "--policy: policy files are not supported in this build") {
		t.Errorf("without an adapter: exit %d, %q", code, stderr)
	}

	scenarioFromPolicyFile = func(path string) (simulate.Scenario, error) {
		if path != "lane.json" {
			return simulate.Scenario{}, errors.New("no such policy")
		}
		s := simulate.DefaultScenario()
		s.Name = "CN-KR fast track"
		s.QuarantineDays = 2
		s.ExitTests = []simulate.ExitTest{{Day: 1, Kind: simulate.PCR}}
		return s, nil
	}
	code, out, stderr := runSimulateCLI(t, "--policy", "lane.json", "--travellers", "2000", "--draws", "2", "--monitoring", "14")
	if code != exitOK || !strings.Contains(out, "CN-KR fast track: quarantine 2 d; pcr on day 1; monitoring 14 d") {
		t.Errorf("with the adapter: exit %d, %s%s", code, out, stderr)
	}
	code, _, stderr = runSimulateCLI(t, "--policy", "other.json")
	if code != exitUsage || !strings.Contains(stderr, "--policy other.json: no such policy") {
		t.Errorf("unreadable policy: exit %d, %q", code, stderr)
	}
	// A policy value that makes no sense is blamed on the policy.
	code, _, stderr = runSimulateCLI(t, "--policy", "lane.json", "--quarantine", "0.5")
	if code != exitUsage || !strings.Contains(stderr, "--policy lane.json: ExitTests (set by --exit-test)") {
		t.Errorf("policy test after the flag's release: exit %d, %q", code, stderr)
	}
}

func TestSimulateRefusesNonsense(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // in the message: the flag, and the reason
	}{
		{[]string{"--quarantine", "-1"}, "--quarantine: -1 days is negative"},
		{[]string{"--quarantine", "abc"}, `-quarantine: "abc" is not a number of days`},
		{[]string{"--quarantine", "NaN"}, "--quarantine: NaN is not a number of days"},
		{[]string{"--quarantine", "Inf"}, "--quarantine: +Inf is not a number of days"},
		{[]string{"--quarantine", "1000"}, "--quarantine: 1000 days is more than the limit"},
		{[]string{"--infected-before-departure", "5:2"}, "--infected-before-departure: the infection window 5–2 days before departure is empty"},
		{[]string{"--infected-before-departure", "3"}, "-infected-before-departure: write it as MIN:MAX"},
		{[]string{"--infected-before-departure", "-1:3"}, "--infected-before-departure: -1 days is negative"},
		{[]string{"--infected-before-departure", "a:b"}, `-infected-before-departure: "a" is not a number`},
		{[]string{"--quarantine", "7", "--exit-test", "9"}, "--exit-test: a test on day 9 comes after release from a 7-day quarantine"},
		{[]string{"--exit-test", "1"}, "--exit-test: a test on day 1 comes after release from a 0-day quarantine"},
		{[]string{"--quarantine", "7", "--exit-test", "3:saliva"}, `-exit-test: unknown test kind "saliva"`},
		{[]string{"--quarantine", "7", "--exit-test", "-2"}, "--exit-test: -2 days is negative"},
		{[]string{"--pre-departure-test", "-5"}, "--pre-departure-test: -5 hours before departure is negative"},
		{[]string{"--pre-departure-test", "12"}, "--pre-departure-test: a pcr test 12 hours before departure has its result 24 hours after sampling, after departure"},
		{[]string{"--pre-departure-test", "72:xyz"}, `-pre-departure-test: unknown test kind "xyz"`},
		{[]string{"--pre-departure-test", "10000"}, "--pre-departure-test: 10000 hours before departure is more than the limit"},
		{[]string{"--arrival-test=maybe"}, "-arrival-test: write --arrival-test"},
		{[]string{"--result-delay", "-1"}, "--result-delay: -1 hours is negative"},
		{[]string{"--symptom-screening", "sometimes"}, `-symptom-screening: "sometimes" is not on, off or a list`},
		{[]string{"--symptom-screening", "departure,ferry"}, `-symptom-screening: "departure,ferry" is not on, off or a list`},
		{[]string{"--monitoring", "-2"}, "--monitoring: -2 days is negative"},
		{[]string{"--symptom-sensitivity", "1.5"}, "--symptom-sensitivity: 1.5 is not a share between 0 and 1"},
		{[]string{"--symptom-report-sensitivity", "-0.1"}, "--symptom-report-sensitivity: -0.1 is not a share"},
		{[]string{"--antigen-sensitivity", "2"}, "--antigen-sensitivity: 2 is not a share"},
		{[]string{"--travel-hours", "1000"}, "--travel-hours: 1000 hours is more than the limit"},
		{[]string{"--travellers", "0"}, "--travellers: 0 is outside 1 to 10^9"},
		{[]string{"--travellers", "1000000001"}, "--travellers: 1000000001 is outside 1 to 10^9"},
		{[]string{"--travellers", "-5"}, "--travellers: -5 is outside"},
		{[]string{"--travellers", "many"}, `-travellers`},
		{[]string{"--draws", "-1"}, "--draws: -1 is outside"},
		{[]string{"--draws", "20000"}, "--draws: 20000 is outside"},
		{[]string{"--draws", "100", "--travellers", "50"}, "--draws: 100 draws need at least as many travellers"},
		{[]string{"--seed", "-1"}, "-seed"},
		{[]string{"--workers", "-3"}, "--workers: -3 is negative"},
		{[]string{"--json", "--csv"}, "--json and --csv"},
		{[]string{"extra"}, `simulate takes only flags, got the argument "extra"`},
		{[]string{"--arrival-test", "antigen"}, `--arrival-test takes its value after "=" (--arrival-test=antigen), not "antigen" after a space`},
		{[]string{"--warp-drive"}, "flag provided but not defined: -warp-drive"},
		{[]string{"--compare", "noname"}, `--compare "noname": write it as "NAME: FLAGS"`},
		{[]string{"--compare", ": --quarantine 3"}, `--compare ": --quarantine 3": write it as "NAME: FLAGS"`},
		{[]string{"--compare", "a: --quarantine 3", "--compare", "a: --quarantine 4"}, `another scenario is already named "a"`},
		{[]string{"--compare", "a: --travellers 5"}, `--compare "a: --travellers 5": flag provided but not defined: -travellers`},
		{[]string{"--compare", "a: --quarantine 3 later"}, `--compare "a: --quarantine 3 later": a scenario takes only flags, got the argument "later"`},
		{[]string{"--compare", "a: --quarantine -3"}, `--compare "a: --quarantine -3": --quarantine: -3 days is negative`},
		{[]string{"--compare", "a: -h"}, `-h is not a scenario flag`},
	} {
		code, out, stderr := runSimulateCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) || out != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 2 with %q", c.args, code, stderr, out, c.want)
		}
	}
}

func TestSimulateHelp(t *testing.T) {
	code, out, _ := runSimulateCLI(t, "-h")
	if code != exitOK || !strings.Contains(out, "--compare \"NAME: FLAGS\"") {
		t.Errorf("-h: exit %d\n%s", code, out)
	}
}

// TestSimulateSurvivesRandomFlags throws random mixes of sensible and
// nonsense flags at the command: it must answer 0 or 2, never panic, and
// name a flag whenever it refuses.
func TestSimulateSurvivesRandomFlags(t *testing.T) {
	flags := []string{"--infected-before-departure", "--travel-hours", "--pre-departure-test", "--arrival-test", "--quarantine", "--exit-test",
		"--result-delay", "--symptom-screening", "--monitoring", "--symptom-sensitivity", "--symptom-report-sensitivity", "--antigen-sensitivity",
		"--draws", "--seed", "--fixed-parameters", "--compare", "--json", "--csv"}
	values := []string{"0", "1", "7", "14", "72", "-1", "1e9", "NaN", "-Inf", "0.5", "3:7", "9:2", ":", "2:antigen", "48:perfect", "5:pcr",
		"on", "off", "departure,arrival", "x", "", "q: --quarantine 5", "r: --exit-test 4 --quarantine 3", ": --monitoring 2", "s:", "--json"}
	rapid.Check(t, func(t *rapid.T) {
		args := []string{"--travellers", "400"}
		for range rapid.IntRange(0, 8).Draw(t, "flags") {
			args = append(args, rapid.SampledFrom(flags).Draw(t, "flag"))
			if rapid.Bool().Draw(t, "with value") {
				args = append(args, rapid.SampledFrom(values).Draw(t, "value"))
			}
		}
		code, _, stderr := runSimulateCLI(t, args...)
		switch code {
		case exitOK:
		case exitUsage:
			if !strings.Contains(stderr, "-") && !strings.Contains(stderr, "takes only flags") {
				t.Fatalf("%q: refused without naming a flag: %q", args, stderr)
			}
		default:
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
	})
}

// FuzzSimulateCompareSpec feeds arbitrary --compare specifications to the
// parser: an error or a valid scenario, never a panic.
func FuzzSimulateCompareSpec(f *testing.F) {
	for _, seed := range []string{"q14: --quarantine 14", "a: --exit-test 3:antigen --quarantine 4", "x: --symptom-screening departure,arrival", ":", "b: --infected-before-departure 1:2 --pre-departure-test 72"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, _, err := compareScenario(simulate.DefaultScenario(), nil, spec)
		if err != nil {
			return
		}
		_ = s.Validate()
	})
}
