package ledger

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"unicode"
)

// Translation keys the charts ask for; the web layer holds the texts in
// its three languages and should check it has every one.
const (
	KeyChartTitle    = "ledger.chart.title"
	KeyChartAxis     = "ledger.chart.positives" // the y axis
	KeyChartEmpty    = "ledger.chart.empty"     // shown when there is nothing to draw
	KeyChartDisagree = "ledger.chart.disagree"  // marks a week the nodes count differently
)

// StageKey is the translation key of a stage's name, e.g.
// "ledger.stage.secondary".
func StageKey(s Stage) string { return "ledger.stage." + string(s) }

// ChartKeys lists every key Chart and JointChart look up.
func ChartKeys() []string {
	keys := []string{KeyChartTitle, KeyChartAxis, KeyChartEmpty, KeyChartDisagree}
	for _, s := range Stages {
		keys = append(keys, StageKey(s))
	}
	return keys
}

// stageColours: green for stopped, blues for contained, red for the
// cross-border infections the chart exists to show.
var stageColours = map[Stage]string{
	PreDeparture: "#2e7d32",
	Arrival:      "#1565c0",
	Monitoring:   "#64b5f6",
	Secondary:    "#c62828",
}

// maxChartWeeks bounds a chart to two years, the latest weeks kept.
const maxChartWeeks = 104

type bar struct {
	label  string // under the bar; "" for a single-node chart
	counts Counts
}

type group struct {
	week     Week
	bars     []bar
	disagree bool
}

// Chart draws one route's weekly positives as stacked bars, one bar per
// ISO week from the first row's week to the last (weeks without positives
// show as gaps), coloured by stage. t translates the keys in ChartKeys;
// every text it returns is escaped. The SVG is written by hand: a few
// rectangles do not justify a plotting dependency.
func Chart(route string, rows []Row, t func(key string) string) []byte {
	byWeek := map[Week]Counts{}
	var weeks []Week
	for _, r := range rows {
		if r.Route != route {
			continue
		}
		c := byWeek[r.Week]
		c.PreDeparture += r.Counts.PreDeparture
		c.Arrival += r.Counts.Arrival
		c.Monitoring += r.Counts.Monitoring
		c.Secondary += r.Counts.Secondary
		byWeek[r.Week] = c
		weeks = append(weeks, r.Week)
	}
	var groups []group
	for _, w := range span(weeks) {
		groups = append(groups, group{week: w, bars: []bar{{counts: byWeek[w]}}})
	}
	return draw(route, groups, t)
}

// JointChart draws both nodes' counts of one route side by side: two
// stacked bars per week, labelled with the node, and a mark over each week
// the nodes count differently.
func JointChart(route string, j Joint, t func(key string) string) []byte {
	byWeek := map[Week]JointRow{}
	var weeks []Week
	for _, r := range j.Rows {
		if r.Route == route {
			byWeek[r.Week] = r
			weeks = append(weeks, r.Week)
		}
	}
	var groups []group
	for _, w := range span(weeks) {
		r := byWeek[w]
		groups = append(groups, group{week: w, disagree: !r.Agree(), bars: []bar{
			{label: j.Nodes[0], counts: r.Counts[0]},
			{label: j.Nodes[1], counts: r.Counts[1]},
		}})
	}
	return draw(route, groups, t)
}

// span lists every week from the earliest to the latest of weeks, at most
// maxChartWeeks of them, the latest kept.
func span(weeks []Week) []Week {
	if len(weeks) == 0 {
		return nil
	}
	first, last := weeks[0], weeks[0]
	for _, w := range weeks {
		if w.Compare(first) < 0 {
			first = w
		}
		if w.Compare(last) > 0 {
			last = w
		}
	}
	var out []Week
	for w := first; w.Compare(last) <= 0; w = w.Next() {
		out = append(out, w)
	}
	if len(out) > maxChartWeeks {
		out = out[len(out)-maxChartWeeks:]
	}
	return out
}

func draw(route string, groups []group, t func(string) string) []byte {
	const (
		left, right  = 48.0, 16.0
		top          = 64.0 // title and legend
		plotH        = 180.0
		bottom       = 44.0 // week, year and node labels
		barW, barGap = 14.0, 2.0
		groupGap     = 10.0
		minWidth     = 480.0
	)
	perGroup := 1
	if len(groups) > 0 {
		perGroup = len(groups[0].bars)
	}
	groupW := float64(perGroup)*(barW+barGap) - barGap + groupGap
	width := left + float64(len(groups))*groupW + right
	// The legend runs on one line: the chart is as wide as it, at least.
	legendEnd := left
	for _, s := range Stages {
		legendEnd += 14 + textWidth(t(StageKey(s))) + 16
	}
	width = max(width, minWidth, legendEnd-16+right)
	height := top + plotH + bottom
	title := t(KeyChartTitle) + " · " + route

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s" font-family="sans-serif" font-size="11">`+"\n",
		num(width), num(height), num(width), num(height), esc(title))
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&b, `<rect width="%s" height="%s" fill="white"/>`+"\n", num(width), num(height))
	fmt.Fprintf(&b, `<text x="%s" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", num(left), esc(title))

	// Legend, one entry per stage.
	x := left
	for _, s := range Stages {
		label := t(StageKey(s))
		fmt.Fprintf(&b, `<rect x="%s" y="32" width="10" height="10" fill="%s"/>`, num(x), stageColours[s])
		fmt.Fprintf(&b, `<text x="%s" y="41">%s</text>`+"\n", num(x+14), esc(label))
		x += 14 + textWidth(label) + 16
	}

	if len(groups) == 0 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#555">%s</text>`+"\n",
			num(width/2), num(top+plotH/2), esc(t(KeyChartEmpty)))
		b.WriteString("</svg>\n")
		return b.Bytes()
	}

	maxTotal := 0
	for _, g := range groups {
		for _, br := range g.bars {
			maxTotal = max(maxTotal, br.counts.Total())
		}
	}
	step, yMax := ticks(maxTotal)
	scale := plotH / float64(yMax)
	base := top + plotH

	// Axis title and grid.
	fmt.Fprintf(&b, `<text x="12" y="%s" transform="rotate(-90 12 %s)" text-anchor="middle" fill="#555">%s</text>`+"\n",
		num(top+plotH/2), num(top+plotH/2), esc(t(KeyChartAxis)))
	for v := 0; v <= yMax; v += step {
		y := base - float64(v)*scale
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`, num(left), num(y), num(width-right), num(y))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" fill="#555">%d</text>`+"\n", num(left-4), num(y+4), v)
	}

	labelEvery := (len(groups) + 25) / 26 // at most about 26 week labels
	for gi, g := range groups {
		gx := left + groupGap/2 + float64(gi)*groupW
		for bi, br := range g.bars {
			bx := gx + float64(bi)*(barW+barGap)
			y := base
			for _, s := range Stages {
				n := br.counts.Of(s)
				if n == 0 {
					continue
				}
				h := float64(n) * scale
				y -= h
				tip := g.week.String()
				if br.label != "" {
					tip += " · " + br.label
				}
				tip += " · " + t(StageKey(s)) + ": " + strconv.Itoa(n)
				fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
					num(bx), num(y), num(barW), num(h), stageColours[s], esc(tip))
			}
			if br.label != "" {
				fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" font-size="8" fill="#555">%s</text>`+"\n",
					num(bx+barW/2), num(base+10), esc(br.label))
			}
		}
		if g.disagree {
			peak := base
			for _, br := range g.bars {
				peak = min(peak, base-float64(br.counts.Total())*scale)
			}
			fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" font-weight="bold" fill="#c62828">≠<title>%s</title></text>`+"\n",
				num(gx+(groupW-groupGap)/2), num(peak-4), esc(g.week.String()+" · "+t(KeyChartDisagree)))
		}
		if gi%labelEvery == 0 {
			cx := gx + (groupW-groupGap)/2
			fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">W%02d</text>`, num(cx), num(base+22), g.week.Week)
			if gi == 0 || groups[gi-labelEvery].week.Year != g.week.Year {
				fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#555">%d</text>`, num(cx), num(base+36), g.week.Year)
			}
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n", num(left), num(base), num(width-right), num(base))
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// ticks picks a whole-number step of 1, 2 or 5 times a power of ten giving
// at most five intervals, and the axis top that is a multiple of it.
func ticks(maxValue int) (step, top int) {
	if maxValue < 1 {
		maxValue = 1
	}
	for mag := 1; ; mag *= 10 {
		for _, m := range []int{1, 2, 5} {
			step = m * mag
			if (maxValue+step-1)/step <= 5 {
				return step, (maxValue + step - 1) / step * step
			}
		}
	}
}

// textWidth estimates the width of label at the chart's font size: a
// Chinese or Korean character takes a full em, a Latin one about 7 px.
func textWidth(label string) float64 {
	w := 0.0
	for _, r := range label {
		if unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) || (r >= 0xFF01 && r <= 0xFF60) || (r >= 0x3000 && r <= 0x303F) {
			w += 11
		} else {
			w += 7
		}
	}
	return w
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// esc escapes text for element content and double-quoted attributes.
func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s)) // writes to a buffer: cannot fail
	return b.String()
}
