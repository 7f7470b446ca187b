package tracing

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// The synthetic corridor: a year of trips, a dozen flights a day of about
// 230 passengers each, 40 hold hotels, 5000 itinerary sites. Densities are
// those of a busy lane, so a trace checks a realistic number of
// candidates.
const (
	worldTrips   = 1_000_000
	worldDays    = 365
	flightsDaily = 12
	holdSites    = 40
	workSites    = 5000
)

var worldStart = DayOf(2020, time.May, 1)

// synthTrip makes trip i of the world, the same every time.
func synthTrip(i int) Exposure {
	r := rand.New(rand.NewPCG(uint64(i), 0x636f727269646f72))
	day := worldStart + Day(r.IntN(worldDays))
	e := Exposure{
		TripRef:    fmt.Sprintf("T%07d", i),
		Flight:     fmt.Sprintf("KE%d", 100+r.IntN(flightsDaily)),
		FlightDate: day,
		Seat:       fmt.Sprintf("%d%c", 1+r.IntN(40), 'A'+rune(r.IntN(6))),
		HoldSite:   fmt.Sprintf("Hold hotel %d", r.IntN(holdSites)),
	}
	if r.IntN(20) == 0 {
		e.Seat = "" // some seats were never recorded
	}
	e.HoldFrom = day.Time().Add(14*time.Hour + time.Duration(r.IntN(600))*time.Minute)
	e.HoldUntil = e.HoldFrom.Add(time.Duration(24+r.IntN(24)) * time.Hour)
	for v := range 1 + r.IntN(3) {
		from := day + 2 + Day(r.IntN(5)) + Day(3*v)
		e.Sites = append(e.Sites, SiteVisit{Site: fmt.Sprintf("Work site %d", r.IntN(workSites)), From: from, To: from + Day(r.IntN(7))})
	}
	return e
}

var (
	worldOnce  sync.Once
	world      *Index
	worldBuild time.Duration
)

// millionTrips builds the world's index once per test binary.
func millionTrips(tb testing.TB) *Index {
	worldOnce.Do(func() {
		start := time.Now()
		x := NewIndex()
		for i := range worldTrips {
			if err := x.Add(synthTrip(i)); err != nil {
				panic(err) // synthetic refs are unique: a failure is a bug here
			}
		}
		world, worldBuild = x, time.Since(start)
	})
	if world.Len() != worldTrips {
		tb.Fatalf("world has %d trips", world.Len())
	}
	return world
}

// BenchmarkTraceOneCaseAmong1M traces one case among a million indexed
// trips; building the index is outside the timer.
func BenchmarkTraceOneCaseAmong1M(b *testing.B) {
	x := millionTrips(b)
	cases := make([]Exposure, 1000)
	for i := range cases {
		cases[i] = synthTrip(i * 997)
	}
	b.ReportAllocs()
	b.ResetTimer()
	contacts, candidates := 0, 0
	for i := 0; i < b.N; i++ {
		contacts += len(x.Trace(cases[i%len(cases)]))
	}
	b.StopTimer()
	for _, c := range cases {
		candidates += x.Candidates(c)
	}
	b.ReportMetric(float64(contacts)/float64(b.N), "contacts/op")
	b.ReportMetric(float64(candidates)/float64(len(cases)), "candidates/op")
	b.ReportMetric(worldBuild.Seconds(), "build-s")
}
