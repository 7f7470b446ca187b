package tracing

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// genExposure draws trips from a small world, so that rules fire often:
// two flights over three days, seats in 8 rows (and some unreadable), two
// hold sites, three itinerary sites over ten days.
func genExposure(ref string) *rapid.Generator[Exposure] {
	return rapid.Custom(func(t *rapid.T) Exposure {
		e := Exposure{TripRef: ref}
		if rapid.Bool().Draw(t, "flies") {
			e.Flight = rapid.SampledFrom([]string{"KE123", "ke0123", "OZ301"}).Draw(t, "flight")
			e.FlightDate = may10 + Day(rapid.IntRange(0, 2).Draw(t, "fday"))
			e.Seat = rapid.OneOf(
				rapid.Custom(func(t *rapid.T) string {
					return fmt.Sprintf("%d%c", rapid.IntRange(1, 8).Draw(t, "row"), 'A'+rune(rapid.IntRange(0, 5).Draw(t, "col")))
				}),
				rapid.SampledFrom([]string{"", "??", "0A", "12"}),
			).Draw(t, "seat")
		}
		if rapid.Bool().Draw(t, "held") {
			e.HoldSite = rapid.SampledFrom([]string{"Hotel A", "hotel a", "Hotel B"}).Draw(t, "hold")
			e.HoldFrom = at(10, 0).Add(time.Duration(rapid.IntRange(0, 96).Draw(t, "hfrom")) * time.Hour)
			e.HoldUntil = e.HoldFrom.Add(time.Duration(rapid.IntRange(-2, 60).Draw(t, "hlen")) * time.Hour)
		}
		for i := range rapid.IntRange(0, 3).Draw(t, "nsites") {
			from := may10 + Day(rapid.IntRange(0, 10).Draw(t, fmt.Sprint("sfrom", i)))
			e.Sites = append(e.Sites, SiteVisit{
				Site: rapid.SampledFrom([]string{"Factory X", "factory  x", "Lab Y", "Port Z"}).Draw(t, fmt.Sprint("site", i)),
				From: from,
				To:   from + Day(rapid.IntRange(-1, 4).Draw(t, fmt.Sprint("slen", i))),
			})
		}
		return e
	})
}

type shape struct {
	rule        Rule
	place       string
	first, last Day
}

func shapes(rs []Reason) []shape {
	var out []shape
	for _, r := range rs {
		out = append(out, shape{r.Rule, normPlace(r.Place), r.First, r.Last})
	}
	slices.SortFunc(out, func(a, b shape) int {
		return cmpStrings(fmt.Sprint(a), fmt.Sprint(b))
	})
	return out
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestPropertySymmetry(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genExposure("a").Draw(t, "a"), genExposure("b").Draw(t, "b")
		ab, ba := shapes(Match(a, b)), shapes(Match(b, a))
		// Flight places are compared normalised too: "KE123" and "ke0123"
		// are one flight.
		for i := range ab {
			if ab[i].rule == FlightNearSeat || ab[i].rule == FlightSeatUnknown {
				ab[i].place = normFlight(ab[i].place)
			}
		}
		for i := range ba {
			if ba[i].rule == FlightNearSeat || ba[i].rule == FlightSeatUnknown {
				ba[i].place = normFlight(ba[i].place)
			}
		}
		if !slices.Equal(ab, ba) {
			t.Fatalf("Match(a, b) = %+v but Match(b, a) = %+v", ab, ba)
		}
	})
}

func TestPropertyNoSelfContact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genExposure("a").Draw(t, "a")
		b := genExposure("a").Draw(t, "b") // another record of the same trip
		if rs := Match(a, b); rs != nil {
			t.Fatalf("a trip is its own contact: %+v", rs)
		}
		x := NewIndex()
		x.Add(a)
		if cs := x.Trace(a); len(cs) != 0 {
			t.Fatalf("the indexed case traced itself: %+v", cs)
		}
	})
}

func TestPropertyRowDistance(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genExposure("a").Draw(t, "a"), genExposure("b").Draw(t, "b")
		rowA, okA := SeatRow(a.Seat)
		rowB, okB := SeatRow(b.Seat)
		sameFlight := a.Flight != "" && b.Flight != "" && normFlight(a.Flight) == normFlight(b.Flight) && a.FlightDate == b.FlightDate
		var near, unknown bool
		for _, r := range Match(a, b) {
			near = near || r.Rule == FlightNearSeat
			unknown = unknown || r.Rule == FlightSeatUnknown
		}
		wantNear := sameFlight && okA && okB && abs(rowA-rowB) <= MaxRowDistance
		wantUnknown := sameFlight && (!okA || !okB)
		if near != wantNear || unknown != wantUnknown {
			t.Fatalf("seats %q/%q rows %d/%d same flight %v: near %v unknown %v; want %v %v",
				a.Seat, b.Seat, rowA, rowB, sameFlight, near, unknown, wantNear, wantUnknown)
		}
	})
}

// TestPropertyIndexFindsWhatTheRulesFind: any two contacts share a key, so
// tracing through the index gives exactly the brute-force answer.
func TestPropertyIndexFindsWhatTheRulesFind(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "n")
		x := NewIndex()
		var all []Exposure
		for i := range n {
			e := genExposure(fmt.Sprintf("t%02d", i)).Draw(t, fmt.Sprint("trip", i))
			all = append(all, e)
			if err := x.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		c := genExposure("case").Draw(t, "case")
		want, got := Contacts(c, all), x.Trace(c)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("index: %+v\nbrute force: %+v", got, want)
		}
		for _, e := range all {
			if Match(c, e) == nil {
				continue
			}
			if !shareKey(Keys(c), Keys(e)) {
				t.Fatalf("contacts %+v and %+v share no key", c, e)
			}
		}
	})
}

func shareKey(a, b []Key) bool {
	set := map[Key]bool{}
	for _, k := range a {
		set[k] = true
	}
	for _, k := range b {
		if set[k] {
			return true
		}
	}
	return false
}
