package simulate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// WriteSVG draws the results as two bar charts, one bar per scenario in each
// group, with the 95% interval as a whisker: the shares of infected
// travellers by outcome, and the reductions against no measures. Written by
// hand: a plotting library would be a large dependency for a few rectangles.
func (rs Results) WriteSVG(w io.Writer) error {
	if len(rs) == 0 {
		return errors.New("simulate: no results to draw")
	}
	const (
		width      = 960.0
		left       = 60.0
		right      = 20.0
		plotHeight = 220.0
		labelSpace = 44.0
		legendRow  = 18.0
		perRow     = 4
	)
	names := rs.names()
	var b bytes.Buffer
	legendRows := (len(rs) + perRow - 1) / perRow
	top := 40 + float64(legendRows)*legendRow + 10
	height := top + 2*(plotHeight+labelSpace+30) + 10

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%g" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(fmt.Sprintf(
		"Infected travellers through each policy: %d per scenario, %d draws, seed %d", rs[0].Travellers, rs[0].Draws, rs[0].Seed)))
	for i, name := range names {
		x := left + float64(i%perRow)*(width-left-right)/perRow
		y := 40 + float64(i/perRow)*legendRow
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="12" height="12" fill="%s"/>`, x, y-10, colour(i))
		fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`+"\n", x+18, y, esc(name))
	}

	var risks []Outcome
	for _, o := range Outcomes() {
		if o.HasBaseline() {
			risks = append(risks, o)
		}
	}
	panel := func(y0 float64, title string, outcomes []Outcome, value func(r *Result, o Outcome) (Interval, bool)) {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="13" font-weight="bold">%s</text>`+"\n", left, y0-8, esc(title))
		plotW := width - left - right
		yOf := func(v float64) float64 { return y0 + plotHeight*(1-clamp01(v)) }
		for _, tick := range []float64{0, 0.25, 0.5, 0.75, 1} {
			y := yOf(tick)
			fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="#ddd"/>`, left, left+plotW, y, y)
			fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%g%%</text>`+"\n", left-6, y+4, tick*100)
		}
		group := plotW / float64(len(outcomes))
		bar := group * 0.8 / float64(len(rs))
		for g, o := range outcomes {
			gx := left + float64(g)*group + group*0.1
			for i, r := range rs {
				iv, ok := value(r, o)
				if !ok {
					continue
				}
				x := gx + float64(i)*bar
				y := yOf(iv.Mean)
				fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s</title></rect>`,
					x, y, bar*0.9, y0+plotHeight-y, colour(i), esc(fmt.Sprintf("%s, %s: %s", names[i], o, formatInterval(iv))))
				cx := x + bar*0.45
				fmt.Fprintf(&b, `<line x1="%.2f" x2="%.2f" y1="%.2f" y2="%.2f" stroke="black"/>`+"\n", cx, cx, yOf(iv.Lo), yOf(iv.Hi))
			}
			lines := splitLabel(o.String())
			for k, line := range lines {
				fmt.Fprintf(&b, `<text x="%.2f" y="%g" text-anchor="middle">%s</text>`+"\n", left+float64(g)*group+group/2, y0+plotHeight+16+float64(k)*13, esc(line))
			}
		}
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="black"/>`+"\n", left, left+plotW, y0+plotHeight, y0+plotHeight)
	}
	panel(top+20, "Share of infected travellers", Outcomes(), func(r *Result, o Outcome) (Interval, bool) { return r.Share(o), true })
	panel(top+20+plotHeight+labelSpace+30, "Reduction against no measures", risks, (*Result).Reduction)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Okabe–Ito colours: told apart by colour-blind readers too.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

func colour(i int) string { return palette[i%len(palette)] }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails to write
	return b.String()
}

// splitLabel breaks a label into two lines near its middle.
func splitLabel(s string) []string {
	words := strings.Fields(s)
	if len(words) < 3 {
		return []string{s}
	}
	best, bestDiff := 1, len(s)
	for i := 1; i < len(words); i++ {
		a := len(strings.Join(words[:i], " "))
		if d := abs(2*a - len(s)); d < bestDiff {
			best, bestDiff = i, d
		}
	}
	return []string{strings.Join(words[:best], " "), strings.Join(words[best:], " ")}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func clamp01(v float64) float64 { return min(1, max(0, v)) }
