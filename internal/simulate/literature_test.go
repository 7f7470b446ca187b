package simulate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// literatureOptions are the options docs/simulator.md states for its table:
// `corridor simulate --literature --travellers 2000000 --seed 1`.
var literatureOptions = Options{Travellers: 2_000_000, Seed: 1}

func TestWholeScenariosMatchPublishedModels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 2 million travellers through 11 scenarios")
	}
	findings, err := CheckLiterature(context.Background(), literatureOptions)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := WriteLiteratureTable(&table, findings); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	for i, f := range findings {
		if !f.Within() {
			t.Errorf("check %d, %s (%s): our %s reduction %s ± %.4f is outside %s–%s%% (%s)",
				i+1, f.Check.Study, f.Check.SetUp, f.Check.Outcome, formatInterval(f.Ours), f.StdErr,
				percent(f.Check.Lo), percent(f.Check.Hi), f.Check.Band)
		}
	}

	// The documentation shows these very figures.
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "simulator.md"))
	if err != nil {
		t.Fatalf("reading the documentation: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(table.String()), "\n") {
		if !strings.Contains(string(doc), line) {
			t.Errorf("docs/simulator.md lacks the row\n%s\n(regenerate it with `corridor simulate --literature --travellers 2000000 --seed 1`)", line)
		}
	}
}

func TestLiteratureChecksAreValidScenarios(t *testing.T) {
	for i, c := range LiteratureChecks() {
		if err := c.Scenario.Validate(); err != nil {
			t.Errorf("check %d: %v", i+1, err)
		}
		if c.Comparator != nil {
			if err := c.Comparator.Validate(); err != nil {
				t.Errorf("check %d comparator: %v", i+1, err)
			}
		}
		if !(c.Lo >= 0 && c.Lo < c.Hi && c.Hi <= 1) || !c.Outcome.HasBaseline() {
			t.Errorf("check %d: band %g–%g for %s", i+1, c.Lo, c.Hi, c.Outcome)
		}
	}
}
