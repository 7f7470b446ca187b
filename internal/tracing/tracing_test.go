package tracing

import (
	"slices"
	"testing"
	"time"
)

var may10 = DayOf(2020, time.May, 10)

func at(day, hour int) time.Time { return time.Date(2020, time.May, day, hour, 0, 0, 0, time.UTC) }

func TestSeatRow(t *testing.T) {
	good := map[string]int{"23C": 23, "23c": 23, " 7A ": 7, "007A": 7, "1K": 1, "999F": 999}
	for s, want := range good {
		if row, ok := SeatRow(s); !ok || row != want {
			t.Errorf("SeatRow(%q) = %d, %v; want %d", s, row, ok, want)
		}
	}
	for _, s := range []string{"", "C23", "23", "0A", "23CD", "1000A", "２３C", "-1A", "23 C", "A"} {
		if row, ok := SeatRow(s); ok {
			t.Errorf("SeatRow(%q) = %d; want unreadable", s, row)
		}
	}
}

func TestFlightRule(t *testing.T) {
	flight := func(ref, no string, day Day, seat string) Exposure {
		return Exposure{TripRef: ref, Flight: no, FlightDate: day, Seat: seat}
	}
	c := flight("case", "KE123", may10, "23C")
	cases := []struct {
		other Exposure
		want  []Rule
	}{
		{flight("a", "KE123", may10, "23C"), []Rule{FlightNearSeat}},
		{flight("b", "KE123", may10, "25A"), []Rule{FlightNearSeat}},   // two rows behind
		{flight("c", "KE123", may10, "21K"), []Rule{FlightNearSeat}},   // two rows ahead
		{flight("d", "KE123", may10, "26C"), nil},                      // three rows
		{flight("e", "KE123", may10, "20C"), nil},                      // three rows
		{flight("f", "ke 0123", may10, "24b"), []Rule{FlightNearSeat}}, // the same flight, typed differently
		{flight("g", "KE123", may10+1, "23C"), nil},                    // next day's flight
		{flight("h", "KE124", may10, "23C"), nil},
		{flight("i", "KE123", may10, ""), []Rule{FlightSeatUnknown}},
		{flight("j", "KE123", may10, "window"), []Rule{FlightSeatUnknown}},
		{flight("k", "", may10, "23C"), nil},
	}
	for _, tc := range cases {
		got := Match(c, tc.other)
		var rules []Rule
		for _, r := range got {
			rules = append(rules, r.Rule)
			if r.Place != "KE123" || r.First != may10 || r.Last != may10 {
				t.Errorf("%s: reason %+v", tc.other.TripRef, r)
			}
		}
		if !slices.Equal(rules, tc.want) {
			t.Errorf("%s (%s %s): rules %v, want %v", tc.other.TripRef, tc.other.Flight, tc.other.Seat, rules, tc.want)
		}
	}
	// A case whose own seat is unknown has the whole flight as contacts.
	if got := Match(flight("case", "KE123", may10, "?"), flight("z", "KE123", may10, "60K")); len(got) != 1 || got[0].Rule != FlightSeatUnknown {
		t.Errorf("unknown case seat: %+v", got)
	}
}

func TestHoldRule(t *testing.T) {
	hold := func(ref, site string, from, until time.Time) Exposure {
		return Exposure{TripRef: ref, HoldSite: site, HoldFrom: from, HoldUntil: until}
	}
	c := hold("case", "Hotel A", at(10, 14), at(12, 6))
	cases := []struct {
		other Exposure
		want  bool
		first Day
		last  Day
	}{
		{hold("a", "Hotel A", at(11, 0), at(13, 0)), true, may10 + 1, may10 + 2},
		{hold("b", " hotel  a ", at(9, 0), at(10, 15)), true, may10, may10},
		{hold("c", "Hotel A", at(12, 6), at(14, 0)), false, 0, 0}, // arrives as the case leaves
		{hold("d", "Hotel A", at(8, 0), at(10, 14)), false, 0, 0}, // leaves as the case arrives
		{hold("e", "Hotel B", at(11, 0), at(13, 0)), false, 0, 0},
		{hold("f", "Hotel A", at(11, 0), time.Time{}), false, 0, 0}, // end unknown: matches nothing
		{hold("g", "Hotel A", at(1, 0), at(30, 0)), true, may10, may10 + 2},
	}
	for _, tc := range cases {
		got := Match(c, tc.other)
		if (len(got) > 0) != tc.want {
			t.Errorf("%s: %+v, want contact %v", tc.other.TripRef, got, tc.want)
			continue
		}
		if tc.want && (got[0].Rule != SameHold || got[0].Place != "Hotel A" || got[0].First != tc.first || got[0].Last != tc.last) {
			t.Errorf("%s: %+v, want hold %s..%s", tc.other.TripRef, got[0], tc.first, tc.last)
		}
	}
	// A hold ending at midnight does not reach into the next day.
	a := hold("a", "H", at(10, 12), at(11, 0))
	b := hold("b", "H", at(10, 20), at(12, 0))
	if got := Match(a, b); len(got) != 1 || got[0].First != may10 || got[0].Last != may10 {
		t.Errorf("midnight end: %+v", got)
	}
	if k := Keys(a); len(k) != 1 || k[0] != (Key{KindHold, may10, "h"}) {
		t.Errorf("Keys of a hold ending at midnight: %v", k)
	}
}

func TestSiteRule(t *testing.T) {
	site := func(ref string, vs ...SiteVisit) Exposure { return Exposure{TripRef: ref, Sites: vs} }
	c := site("case", SiteVisit{"Factory X", may10 + 2, may10 + 6}, SiteVisit{"Hotel Lodge", may10 + 2, may10 + 6})
	got := Match(c, site("a", SiteVisit{"factory x", may10 + 6, may10 + 9}))
	if len(got) != 1 || got[0] != (Reason{SharedSite, "Factory X", may10 + 6, may10 + 6}) {
		t.Errorf("last day shared: %+v", got)
	}
	if got := Match(c, site("b", SiteVisit{"Factory X", may10 + 7, may10 + 9})); got != nil {
		t.Errorf("the day after: %+v", got)
	}
	// Two visits to one site fold into one reason; two sites give two.
	got = Match(c, site("c", SiteVisit{"Factory X", may10, may10 + 2}, SiteVisit{"Factory X", may10 + 5, may10 + 5}, SiteVisit{"Hotel Lodge", may10 + 3, may10 + 3}))
	want := []Reason{{SharedSite, "Factory X", may10 + 2, may10 + 5}, {SharedSite, "Hotel Lodge", may10 + 3, may10 + 3}}
	if !slices.Equal(got, want) {
		t.Errorf("several visits: %+v, want %+v", got, want)
	}
	// Bad visits are ignored, not fatal.
	bad := site("d", SiteVisit{"Factory X", may10 + 6, may10 + 2}, SiteVisit{"", may10 + 2, may10 + 6}, SiteVisit{"Factory X", -1 << 30, may10})
	if got := Match(c, bad); got != nil {
		t.Errorf("bad visits matched: %+v", got)
	}
}

func TestAllRulesTogetherAndNoSelfContact(t *testing.T) {
	a := Exposure{TripRef: "a", Flight: "KE123", FlightDate: may10, Seat: "23C", HoldSite: "H", HoldFrom: at(10, 14), HoldUntil: at(12, 0),
		Sites: []SiteVisit{{"F", may10 + 2, may10 + 4}}}
	b := a
	b.TripRef, b.Seat = "b", "24A"
	got := Match(a, b)
	if rules := (Contact{Reasons: got}).Rules(); !slices.Equal(rules, []Rule{FlightNearSeat, SameHold, SharedSite}) {
		t.Errorf("rules %v", rules)
	}
	if got := Match(a, a); got != nil {
		t.Errorf("a trip is its own contact: %+v", got)
	}
	if got := Contacts(a, []Exposure{a, b}); len(got) != 1 || got[0].TripRef != "b" {
		t.Errorf("Contacts = %+v", got)
	}
}

func TestKeys(t *testing.T) {
	e := Exposure{TripRef: "a", Flight: "ke 0123", FlightDate: may10, Seat: "bad",
		HoldSite: "Hotel  A", HoldFrom: at(10, 14), HoldUntil: at(12, 6),
		Sites: []SiteVisit{{"Factory X", may10 + 2, may10 + 3}, {"factory x", may10 + 3, may10 + 4}}}
	var got []string
	for _, k := range Keys(e) {
		got = append(got, k.String())
	}
	want := []string{
		"flight|2020-05-10|KE123",
		"hold|2020-05-10|hotel a", "hold|2020-05-11|hotel a", "hold|2020-05-12|hotel a",
		"site|2020-05-12|factory x", "site|2020-05-13|factory x", "site|2020-05-14|factory x",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Keys =\n%q\nwant\n%q", got, want)
	}
	long := Exposure{TripRef: "b", Sites: []SiteVisit{{"S", may10, may10 + 100000}}}
	if n := len(Keys(long)); n != MaxVisitDays {
		t.Errorf("a mistyped visit gave %d keys, want the cap %d", n, MaxVisitDays)
	}
	if n := len(Keys(Exposure{TripRef: "c"})); n != 0 {
		t.Errorf("an empty exposure gave %d keys", n)
	}
}

func TestIndex(t *testing.T) {
	x := NewIndex()
	trips := []Exposure{
		{TripRef: "a", Flight: "KE123", FlightDate: may10, Seat: "23C"},
		{TripRef: "b", Flight: "KE123", FlightDate: may10, Seat: "25C"},
		{TripRef: "c", Flight: "KE123", FlightDate: may10, Seat: "40C"},
		{TripRef: "d", HoldSite: "H", HoldFrom: at(10, 14), HoldUntil: at(12, 0)},
	}
	for _, e := range trips {
		if err := x.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Add(trips[0]); err == nil {
		t.Error("a trip was indexed twice")
	}
	if err := x.Add(Exposure{}); err == nil {
		t.Error("a trip without a reference was indexed")
	}
	c := Exposure{TripRef: "a", Flight: "KE123", FlightDate: may10, Seat: "23C", HoldSite: "h", HoldFrom: at(11, 0), HoldUntil: at(11, 1)}
	got := x.Trace(c)
	if len(got) != 2 || got[0].TripRef != "b" || got[1].TripRef != "d" {
		t.Errorf("Trace = %+v", got)
	}
	if n := x.Candidates(c); n != 4 { // a, b, c on the flight; d in the hold
		t.Errorf("Candidates = %d, want 4", n)
	}
	if x.Len() != 4 {
		t.Errorf("Len = %d", x.Len())
	}
}

func TestDay(t *testing.T) {
	d, err := ParseDay("2020-05-10")
	if err != nil || d != may10 || d.String() != "2020-05-10" {
		t.Errorf("ParseDay = %v, %v", d, err)
	}
	if _, err := ParseDay("10/05/2020"); err == nil {
		t.Error("ParseDay accepted 10/05/2020")
	}
	kst := time.FixedZone("KST", 9*3600)
	if DayFromTime(time.Date(2020, 5, 10, 1, 0, 0, 0, kst)) != may10 {
		t.Error("DayFromTime does not read the date in its own location")
	}
	if DayOf(1970, 1, 1) != 0 || DayOf(2020, 12, 31)-DayOf(2020, 1, 1) != 365 {
		t.Error("DayOf miscounts")
	}
	// Past the year 2262, where a time.Duration from 1970 overflows.
	if d := DayOf(2999, 12, 31); d.String() != "2999-12-31" || !d.plausible() || (d + 1).plausible() {
		t.Errorf("DayOf(2999-12-31) = %d (%s)", d, d)
	}
}
