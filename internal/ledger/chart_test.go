package ledger

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// svgDoc is what the tests read back from a chart.
type svgDoc struct {
	texts []string   // every character-data run
	rects []svgRect  // rects that carry a <title>: the bar segments
	attrs []xml.Attr // every attribute seen
	root  xml.StartElement
}

type svgRect struct {
	fill   string
	height float64
	title  string
}

// parseSVG decodes the whole document strictly, failing the test on any
// XML error.
func parseSVG(t *testing.T, data []byte) svgDoc {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var doc svgDoc
	var stack []xml.StartElement
	var cur *svgRect
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, data)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				doc.root = tk.Copy()
			}
			stack = append(stack, tk.Copy())
			doc.attrs = append(doc.attrs, tk.Attr...)
			if tk.Name.Local == "rect" {
				r := svgRect{}
				for _, a := range tk.Attr {
					switch a.Name.Local {
					case "fill":
						r.fill = a.Value
					case "height":
						r.height, _ = strconv.ParseFloat(a.Value, 64)
					}
				}
				cur = &r
			}
		case xml.EndElement:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.Name.Local == "rect" && cur != nil {
				if cur.title != "" {
					doc.rects = append(doc.rects, *cur)
				}
				cur = nil
			}
		case xml.CharData:
			s := string(tk)
			doc.texts = append(doc.texts, s)
			if cur != nil && len(stack) > 0 && stack[len(stack)-1].Name.Local == "title" {
				cur.title += s
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
	if doc.root.Name.Local != "svg" || doc.root.Name.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element is %v, want svg in the SVG namespace", doc.root.Name)
	}
	return doc
}

func english(key string) string {
	return map[string]string{
		KeyChartTitle:          "Positives by stage",
		KeyChartAxis:           "positives",
		KeyChartEmpty:          "No positives",
		KeyChartDisagree:       "the nodes count differently",
		StageKey(PreDeparture): "before departure",
		StageKey(Arrival):      "on arrival",
		StageKey(Monitoring):   "in monitoring",
		StageKey(Secondary):    "cross-border",
	}[key]
}

func TestChartDrawsEachSegmentToScale(t *testing.T) {
	rows := []Row{
		{"KR-CN", Week{2020, 52}, Counts{PreDeparture: 1, Arrival: 3}},
		{"KR-CN", Week{2021, 2}, Counts{Monitoring: 2, Secondary: 1}},
		{"CN-KR", Week{2021, 1}, Counts{Arrival: 9}}, // another route: not drawn
	}
	doc := parseSVG(t, Chart("KR-CN", rows, english))
	if len(doc.rects) != 4 {
		t.Fatalf("drew %d bar segments, want 4: %+v", len(doc.rects), doc.rects)
	}
	wantFill := []string{stageColours[PreDeparture], stageColours[Arrival], stageColours[Monitoring], stageColours[Secondary]}
	wantN := []float64{1, 3, 2, 1}
	unit := doc.rects[0].height
	for i, r := range doc.rects {
		if r.fill != wantFill[i] {
			t.Errorf("segment %d fill %s, want %s", i, r.fill, wantFill[i])
		}
		if d := r.height - wantN[i]*unit; d > 1e-9 || d < -1e-9 {
			t.Errorf("segment %d height %g, want %g (×%g)", i, r.height, wantN[i]*unit, unit)
		}
	}
	if !strings.Contains(doc.rects[3].title, "2021-W02") || !strings.Contains(doc.rects[3].title, "cross-border: 1") {
		t.Errorf("tooltip = %q", doc.rects[3].title)
	}
	all := strings.Join(doc.texts, "|")
	// The empty week 2020-W53 and 2021-W01 are drawn as gaps, with labels.
	for _, want := range []string{"Positives by stage · KR-CN", "W52", "W53", "W01", "W02", "2020", "2021", "on arrival"} {
		if !strings.Contains(all, want) {
			t.Errorf("chart lacks text %q", want)
		}
	}
}

func TestChartEscapesTranslatedLabels(t *testing.T) {
	evil := func(key string) string { return `<script>alert("x")</script> & ' ` + key }
	data := Chart(`KR-CN"><g`, []Row{{`KR-CN"><g`, Week{2020, 1}, Counts{Arrival: 1}}}, evil)
	if bytes.Contains(data, []byte("<script>")) || bytes.Contains(data, []byte(`"><g`)) {
		t.Fatalf("raw markup passed through:\n%s", data)
	}
	doc := parseSVG(t, data)
	all := strings.Join(doc.texts, "|")
	if !strings.Contains(all, `<script>alert("x")</script> & ' `+StageKey(Arrival)) {
		t.Errorf("the label did not survive escaping intact: %q", all)
	}
	found := false
	for _, a := range doc.attrs {
		if a.Name.Local == "aria-label" && strings.Contains(a.Value, `KR-CN"><g`) {
			found = true
		}
	}
	if !found {
		t.Error("the aria-label does not carry the escaped title")
	}
}

func TestChartWithNothingToDraw(t *testing.T) {
	doc := parseSVG(t, Chart("KR-CN", nil, english))
	if len(doc.rects) != 0 || !strings.Contains(strings.Join(doc.texts, "|"), "No positives") {
		t.Errorf("empty chart: %d segments, texts %q", len(doc.rects), doc.texts)
	}
}

func TestJointChartMarksDisagreement(t *testing.T) {
	j, err := Merge(
		Figures{Node: "CN", Rows: []Row{{"KR-CN", Week{2020, 20}, Counts{Arrival: 2}}, {"KR-CN", Week{2020, 21}, Counts{Secondary: 1}}}},
		Figures{Node: "KR", Rows: []Row{{"KR-CN", Week{2020, 20}, Counts{Arrival: 2}}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	data := JointChart("KR-CN", j, english)
	doc := parseSVG(t, data)
	if len(doc.rects) != 3 { // CN W20, KR W20, CN W21
		t.Fatalf("drew %d segments, want 3", len(doc.rects))
	}
	if n := bytes.Count(data, []byte("≠")); n != 1 {
		t.Errorf("%d disagreement marks, want 1", n)
	}
	all := strings.Join(doc.texts, "|")
	if !strings.Contains(all, "2020-W21 · the nodes count differently") || !strings.Contains(all, "KR") {
		t.Errorf("texts: %q", all)
	}
}

func TestChartKeysCoverEveryLookup(t *testing.T) {
	asked := map[string]bool{}
	rec := func(key string) string { asked[key] = true; return key }
	j, _ := Merge(Figures{Node: "CN", Rows: []Row{{"KR-CN", Week{2020, 1}, Counts{1, 1, 1, 1}}}}, Figures{Node: "KR"})
	JointChart("KR-CN", j, rec)
	Chart("KR-CN", nil, rec)
	keys := map[string]bool{}
	for _, k := range ChartKeys() {
		keys[k] = true
	}
	for k := range asked {
		if !keys[k] {
			t.Errorf("chart asked for %q, which ChartKeys does not list", k)
		}
	}
	for k := range keys {
		if !asked[k] {
			t.Errorf("ChartKeys lists %q, which no chart asked for", k)
		}
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct{ max, step, top int }{
		{0, 1, 1}, {1, 1, 1}, {5, 1, 5}, {6, 2, 6}, {11, 5, 15}, {26, 10, 30}, {1000, 200, 1000}, {1001, 500, 1500},
	} {
		if s, top := ticks(c.max); s != c.step || top != c.top || top/s > 5 || top < c.max {
			t.Errorf("ticks(%d) = %d, %d; want %d, %d", c.max, s, top, c.step, c.top)
		}
	}
}

// TestChartFitsItsLegend: long stage names, in Latin or Chinese script,
// widen the chart rather than run off its edge.
func TestChartFitsItsLegend(t *testing.T) {
	for _, tc := range []struct {
		label    string
		minWidth float64 // the legend's four entries, with the margins
	}{
		{strings.Repeat("x", 30), 48 + 4*(14+30*7+16) - 16 + 16},
		{strings.Repeat("跨", 20), 48 + 4*(14+20*11+16) - 16 + 16},
	} {
		tr := func(key string) string {
			if strings.HasPrefix(key, "ledger.stage.") {
				return tc.label
			}
			return key
		}
		doc := parseSVG(t, Chart("CN-KR", nil, tr))
		var width float64
		for _, a := range doc.root.Attr {
			if a.Name.Local == "width" {
				width, _ = strconv.ParseFloat(a.Value, 64)
			}
		}
		if width < tc.minWidth {
			t.Errorf("labels %q: chart %v wide, the legend needs %v", tc.label, width, tc.minWidth)
		}
	}
}
