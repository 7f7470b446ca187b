package ledger

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/trip"
)

func TestStageOfEveryTripState(t *testing.T) {
	want := map[trip.State]Stage{
		trip.Approved:     PreDeparture,
		trip.PreDeparture: PreDeparture,
		trip.Cleared:      PreDeparture,
		trip.Departed:     Arrival,
		trip.Arrived:      Arrival,
		trip.ArrivalHold:  Arrival,
		trip.Released:     Monitoring,
		trip.Monitoring:   Monitoring,
	}
	for _, s := range trip.States {
		got, err := StageOf(s)
		if w, ok := want[s]; ok {
			if err != nil || got != w {
				t.Errorf("StageOf(%s) = %q, %v; want %q", s, got, err, w)
			}
			continue
		}
		if !errors.Is(err, ErrNotLanePositive) || got != "" {
			t.Errorf("StageOf(%s) = %q, %v; want a refusal matching ErrNotLanePositive", s, got, err)
		}
	}
	if _, err := StageOf("boarding"); !errors.Is(err, ErrNotLanePositive) {
		t.Errorf("unknown state: got %v", err)
	}
}

func TestOutcomes(t *testing.T) {
	want := map[Stage]Outcome{PreDeparture: Stopped, Arrival: Contained, Monitoring: Contained, Secondary: CrossBorder}
	for _, s := range Stages {
		if s.Outcome() != want[s] {
			t.Errorf("%s.Outcome() = %q, want %q", s, s.Outcome(), want[s])
		}
	}
	if Stage("x").Outcome() != "" || Stage("x").Valid() {
		t.Error("an unknown stage has an outcome or is valid")
	}
}

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

func TestWeekOfAcrossYearEnds(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	cases := []struct {
		at   time.Time
		loc  *time.Location
		want Week
	}{
		{day(2020, 12, 31, 12), time.UTC, Week{2020, 53}},
		{day(2021, 1, 3, 12), time.UTC, Week{2020, 53}}, // Sunday of 2020's week 53
		{day(2021, 1, 4, 0), time.UTC, Week{2021, 1}},   // the Monday after
		{day(2019, 12, 30, 12), time.UTC, Week{2020, 1}},
		{day(2018, 12, 31, 12), time.UTC, Week{2019, 1}},
		{day(2016, 1, 3, 12), time.UTC, Week{2015, 53}},
		{day(2020, 5, 10, 12), time.UTC, Week{2020, 19}},
		// 20:00 UTC on Sunday 3 Jan is Monday 05:00 in Seoul: a new week.
		{day(2021, 1, 3, 20), kst, Week{2021, 1}},
		{day(2021, 1, 3, 20), time.UTC, Week{2020, 53}},
	}
	for _, c := range cases {
		if got := WeekOf(c.at, c.loc); got != c.want {
			t.Errorf("WeekOf(%s in %s) = %s, want %s", c.at, c.loc, got, c.want)
		}
	}
}

func TestWeekMondayNextAndString(t *testing.T) {
	w := WeekOf(day(2014, 12, 1, 0), time.UTC)
	for i := 0; i < 52*17; i++ {
		m := w.Monday(time.UTC)
		if m.Weekday() != time.Monday || WeekOf(m, time.UTC) != w || WeekOf(m.Add(-time.Second), time.UTC) == w {
			t.Fatalf("%s: Monday() = %s is not its first moment", w, m)
		}
		n := w.Next()
		if n.Monday(time.UTC).Sub(m) != 7*24*time.Hour || n.Compare(w) != 1 || w.Compare(n) != -1 || w.Compare(w) != 0 {
			t.Fatalf("%s.Next() = %s", w, n)
		}
		w = n
	}
	if s := (Week{2020, 5}).String(); s != "2020-W05" {
		t.Errorf("String = %q", s)
	}
}

func TestTallyCountsPerRouteAndWeek(t *testing.T) {
	ps := []Positive{
		{"c1", "KR-CN", Arrival, day(2020, 12, 31, 10)},
		{"c2", "KR-CN", Arrival, day(2021, 1, 2, 10)},   // same ISO week (2020-W53)
		{"c3", "KR-CN", Secondary, day(2021, 1, 4, 10)}, // 2021-W01
		{"c4", "CN-KR", PreDeparture, day(2021, 1, 4, 10)},
		{"c5", "KR-CN", Monitoring, day(2020, 12, 28, 0)},
	}
	f, err := Tally("CN", ps, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{"CN-KR", Week{2021, 1}, Counts{PreDeparture: 1}},
		{"KR-CN", Week{2020, 53}, Counts{Arrival: 2, Monitoring: 1}},
		{"KR-CN", Week{2021, 1}, Counts{Secondary: 1}},
	}
	if f.Node != "CN" || !slices.Equal(f.Rows, want) {
		t.Errorf("Tally = %+v\nwant %+v", f.Rows, want)
	}
	if r := f.Routes(); !slices.Equal(r, []string{"CN-KR", "KR-CN"}) {
		t.Errorf("Routes = %v", r)
	}
	if r := f.Route("KR-CN"); len(r) != 2 || r[0].Counts.Total() != 3 || r[1].Counts.CrossBorder() != 1 {
		t.Errorf("Route(KR-CN) = %+v", r)
	}
	total := 0
	for _, r := range f.Rows {
		total += r.Counts.Total()
	}
	if total != len(ps) {
		t.Errorf("tallied %d positives, gave %d", total, len(ps))
	}
}

func TestTallyRefusesRatherThanDrops(t *testing.T) {
	for _, p := range []Positive{
		{"c1", "KR-CN", "unknown", day(2020, 5, 1, 0)},
		{"c2", "", Arrival, day(2020, 5, 1, 0)},
		{"c3", "KR-CN", Arrival, time.Time{}},
	} {
		if _, err := Tally("CN", []Positive{{"ok", "KR-CN", Arrival, day(2020, 5, 1, 0)}, p}, time.UTC); err == nil {
			t.Errorf("Tally accepted %+v", p)
		}
	}
}

func TestSinceLastCrossBorder(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	now := day(2020, 6, 10, 12)
	ps := []Positive{
		{"a", "KR-CN", Arrival, day(2020, 6, 9, 0)},
		{"b", "KR-CN", Secondary, day(2020, 6, 1, 8)},
		{"c", "KR-CN", Secondary, day(2020, 5, 20, 8)},
		{"d", "KR-CN", Secondary, day(2020, 6, 11, 0)}, // after now: ignored
	}
	got := SinceLastCrossBorder(ps, now, time.UTC)
	if got.Never || got.Days != 9 || !got.Last.Equal(day(2020, 6, 1, 8)) {
		t.Errorf("Since = %+v, want 9 days since 2020-06-01", got)
	}
	if got := SinceLastCrossBorder(ps[:1], now, time.UTC); !got.Never || got.Days != 0 {
		t.Errorf("no secondary case: %+v, want never", got)
	}
	if got := SinceLastCrossBorder(nil, now, time.UTC); !got.Never {
		t.Errorf("empty ledger: %+v, want never", got)
	}
	// Detected today: 0 days.
	if got := SinceLastCrossBorder([]Positive{{"x", "KR-CN", Secondary, day(2020, 6, 10, 0)}}, now, time.UTC); got.Days != 0 || got.Never {
		t.Errorf("today: %+v", got)
	}
	// Calendar days, not 24-hour periods: 23:30 yesterday is 1 day ago at 00:30.
	late := time.Date(2020, 6, 9, 23, 30, 0, 0, time.UTC)
	if got := SinceLastCrossBorder([]Positive{{"x", "KR-CN", Secondary, late}}, late.Add(time.Hour), time.UTC); got.Days != 1 {
		t.Errorf("across midnight: %+v, want 1", got)
	}
	// The same instants in Seoul are both on 10 June.
	if got := SinceLastCrossBorder([]Positive{{"x", "KR-CN", Secondary, late}}, late.Add(time.Hour), kst); got.Days != 0 {
		t.Errorf("across midnight UTC, same day in Seoul: %+v, want 0", got)
	}
}

func TestMergeShowsBothAndFlagsDisagreements(t *testing.T) {
	cn := Figures{Node: "CN", Rows: []Row{
		{"KR-CN", Week{2020, 20}, Counts{Arrival: 2}},
		{"KR-CN", Week{2020, 21}, Counts{Arrival: 1, Secondary: 1}},
	}}
	kr := Figures{Node: "KR", Rows: []Row{
		{"KR-CN", Week{2020, 20}, Counts{Arrival: 2}},
		{"KR-CN", Week{2020, 21}, Counts{Arrival: 1}},
		{"CN-KR", Week{2020, 21}, Counts{PreDeparture: 3}},
	}}
	j, err := Merge(cn, kr)
	if err != nil {
		t.Fatal(err)
	}
	if j.Nodes != [2]string{"CN", "KR"} || len(j.Rows) != 3 {
		t.Fatalf("Merge = %+v", j)
	}
	want := []JointRow{
		{"CN-KR", Week{2020, 21}, [2]Counts{{}, {PreDeparture: 3}}, []Stage{PreDeparture}},
		{"KR-CN", Week{2020, 20}, [2]Counts{{Arrival: 2}, {Arrival: 2}}, nil},
		{"KR-CN", Week{2020, 21}, [2]Counts{{Arrival: 1, Secondary: 1}, {Arrival: 1}}, []Stage{Secondary}},
	}
	for i, w := range want {
		g := j.Rows[i]
		if g.Route != w.Route || g.Week != w.Week || g.Counts != w.Counts || !slices.Equal(g.Differ, w.Differ) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	if d := j.Disagreements(); len(d) != 2 || d[0].Agree() || !j.Rows[1].Agree() {
		t.Errorf("Disagreements = %+v", d)
	}
	if _, err := Merge(cn, cn); err == nil {
		t.Error("merging a node with itself was accepted")
	}
}
