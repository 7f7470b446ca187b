package simulate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

func smallResults(t *testing.T) Results {
	t.Helper()
	none := DefaultScenario()
	none.Name = "none"
	q := DefaultScenario()
	q.Name = `quarantine <14> & "test"`
	q.QuarantineDays = 14
	return mustRun(t, []Scenario{none, q, benchScenario()}, Options{Travellers: 30_000, Draws: 6, Seed: 2})
}

func TestWriteTable(t *testing.T) {
	rs := smallResults(t)
	var b bytes.Buffer
	if err := rs.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"30000 infected travellers per scenario, 6 parameter draws, seed 2.",
		`quarantine <14> & "test"`,
		"reduction against no measures",
		"full policy: pcr 72 h before departure",
		formatInterval(rs[2].Share(ReleasedInfectious)),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, o := range Outcomes() {
		if !strings.Contains(out, o.String()) {
			t.Errorf("table lacks the outcome %q", o)
		}
	}
	// The reduction block lines up with the shares above it.
	lines := strings.Split(out, "\n")
	var header, reduction string
	for _, l := range lines {
		if strings.HasPrefix(l, "share of infected travellers") {
			header = l
		}
		if strings.HasPrefix(l, "reduction against no measures") {
			reduction = l
		}
	}
	if i, j := strings.Index(header, "none"), strings.Index(reduction, "none"); i < 0 || i != j {
		t.Errorf("columns do not line up:\n%s\n%s", header, reduction)
	}
}

func TestWriteJSON(t *testing.T) {
	rs := smallResults(t)
	var b bytes.Buffer
	if err := rs.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc jsonRun
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Travellers != 30_000 || doc.Draws != 6 || doc.Seed != 2 || len(doc.Scenarios) != 3 {
		t.Fatalf("header %+v", doc)
	}
	got := doc.Scenarios[2]
	if got.Scenario.ExitTests[0].Day != 6 || got.Scenario.ArrivalTestKind != PCR {
		t.Errorf("scenario did not round-trip: %+v", got.Scenario)
	}
	for i, o := range got.Outcomes {
		if o.Outcome != Outcome(i).Key() || o.Share != rs[2].Share(Outcome(i)) {
			t.Errorf("outcome %d: %+v", i, o)
		}
		if (o.Reduction != nil) != Outcome(i).HasBaseline() {
			t.Errorf("%s: reduction %v", o.Outcome, o.Reduction)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	rs := smallResults(t)
	var b bytes.Buffer
	if err := rs.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+3*int(numOutcomes) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows[1:] {
		mean, err := strconv.ParseFloat(row[2], 64)
		if err != nil || mean < 0 || mean > 1 {
			t.Errorf("row %q: mean %q", row, row[2])
		}
	}
}

func TestWriteSVG(t *testing.T) {
	rs := smallResults(t)
	var b bytes.Buffer
	if err := rs.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	rects, titles := 0, 0
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "rect":
				rects++
			case "title":
				titles++
			}
		case xml.CharData:
			text.Write(tok)
		}
	}
	// One bar per scenario for each outcome and each reduction, one legend
	// swatch per scenario, and the background.
	risks := 0
	for _, o := range Outcomes() {
		if o.HasBaseline() {
			risks++
		}
	}
	if want := 3*(int(numOutcomes)+risks) + 3 + 1; rects != want || titles != 3*(int(numOutcomes)+risks) {
		t.Errorf("%d rectangles and %d titles, want %d and %d", rects, titles, want, 3*(int(numOutcomes)+risks))
	}
	if !strings.Contains(text.String(), `quarantine <14> & "test"`) {
		t.Error("the scenario's name did not survive escaping")
	}
	if err := (Results{}).WriteSVG(io.Discard); err == nil {
		t.Error("drew an empty chart")
	}
}

func TestPercent(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.943: "94.3", 1: "100.0", 0.0512: "5.1", 0.00512: "0.512", 0.0000051: "5.1e-04"} {
		if got := percent(v); got != want {
			t.Errorf("percent(%g) = %q, want %q", v, got, want)
		}
	}
	if got := formatInterval(Interval{Mean: 0.5, Lo: 0.25, Hi: 0.75}); got != "50.0% (25.0–75.0%)" {
		t.Errorf("formatInterval: %q", got)
	}
}

func TestQuantile(t *testing.T) {
	sorted := []float64{1, 2, 3, 4, 5}
	for p, want := range map[float64]float64{0: 1, 0.5: 3, 1: 5, 0.025: 1.1, 0.975: 4.9} {
		if got := quantile(sorted, p); got < want-1e-12 || got > want+1e-12 {
			t.Errorf("quantile(%g) = %g, want %g", p, got, want)
		}
	}
	if got := quantile([]float64{7}, 0.975); got != 7 {
		t.Errorf("quantile of one value: %g", got)
	}
}
