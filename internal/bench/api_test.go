package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The benchmark itself must work: a short run files, approves and verifies
// without a single error, and reports every figure.
func TestAPIBenchmarkRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and loads it for a few seconds")
	}
	rep, err := API(context.Background(), Options{Clients: 4, Duration: 1500 * time.Millisecond, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Database != "sqlite" || len(rep.Phases) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	for _, p := range rep.Phases {
		if p.Operations == 0 || p.Errors != 0 || p.P50 <= 0 || p.P99 < p.P50 || p.Requests < p.Operations {
			t.Errorf("%s: %+v", p.Name, p)
		}
	}
	var b strings.Builder
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "trips filed and approved") || !strings.Contains(b.String(), "verifications") {
		t.Errorf("text report:\n%s", b.String())
	}
}
