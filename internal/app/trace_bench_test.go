package app

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
	"github.com/corridorlane/corridor/internal/tracing"
)

// A synthetic year of a busy lane, as the tracing package's own benchmark
// builds it in memory, here in SQLite through the store's index: a dozen
// flights a day of about 230 passengers, 40 hold hotels, 5000 itinerary
// sites.
const (
	benchTrips     = 1_000_000
	benchDays      = 365
	benchFlights   = 12
	benchHoldSites = 40
	benchWorkSites = 5000
)

var benchStart = time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)

// benchExposure is trip i's exposure, the same every time.
func benchExposure(i int) store.Exposure {
	r := rand.New(rand.NewPCG(uint64(i), 0x636f727269646f72))
	day := benchStart.AddDate(0, 0, r.IntN(benchDays))
	e := store.Exposure{
		TripID: fmt.Sprintf("trip%07d", i), TripRef: fmt.Sprintf("T%07d", i),
		Flight: fmt.Sprintf("KE%d", 100+r.IntN(benchFlights)), FlightDate: day.Format(time.DateOnly),
		Seat:     fmt.Sprintf("%d%c", 1+r.IntN(40), 'A'+rune(r.IntN(6))),
		HoldSite: fmt.Sprintf("Hold hotel %d", r.IntN(benchHoldSites)),
	}
	e.HoldFrom = day.Add(14*time.Hour + time.Duration(r.IntN(600))*time.Minute)
	e.HoldUntil = e.HoldFrom.Add(time.Duration(24+r.IntN(24)) * time.Hour)
	for v := range 1 + r.IntN(3) {
		from := day.AddDate(0, 0, 2+r.IntN(5)+3*v)
		e.Sites = append(e.Sites, store.ExposureSite{Site: fmt.Sprintf("Work site %d", r.IntN(benchWorkSites)),
			From: from.Format(time.DateOnly), To: from.AddDate(0, 0, r.IntN(7)).Format(time.DateOnly)})
	}
	return e
}

// loadTraceBench fills a fresh SQLite database with benchTrips trips and
// their exposures, through the store's own PutExposure, in large
// transactions.
func loadTraceBench(b *testing.B) *sqlstore.DB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "trace.db")
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	// The trips themselves only need to exist (the exposures refer to
	// them): rows of empty personal data, written straight in SQL.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `INSERT INTO organisations (id, kind, name, country, created_at) VALUES ('org', 'sponsor', 'Bench', 'KR', 0)`); err != nil {
		b.Fatal(err)
	}
	const chunk = 20000
	start := time.Now()
	for lo := 0; lo < benchTrips; lo += chunk {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := lo; i < lo+chunk; i += 500 {
			var q strings.Builder
			q.WriteString(`INSERT INTO trips (id, reference, state, suspended_from, version, lane, region, purpose, sponsor_org_id, created_by,
				given_name, family_name, given_name_icao, family_name_icao, date_of_birth, sex, nationality, passport_country, passport_number,
				email, phone, host_name, host_email, host_phone, departure_date, return_date, approval_id, approval_hc1, flight, seat,
				created_at, updated_at) VALUES `)
			for j := i; j < i+500; j++ {
				if j > i {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "('trip%07d', 'T%07d', 'completed', '', 1, 'CN-KR', 'KR', 'business', 'org', 'bench', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', 0, 0)", j, j)
			}
			if _, err := tx.ExecContext(ctx, q.String()); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	trips := time.Since(start)
	start = time.Now()
	for lo := 0; lo < benchTrips; lo += chunk {
		err := db.InTx(ctx, func(tx store.Store) error {
			for i := lo; i < lo+chunk; i++ {
				e := benchExposure(i)
				if err := tx.PutExposure(ctx, &e, traceKeys(tracingOf(&e))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d trips in %s and their exposures in %s", benchTrips, trips.Round(time.Second), time.Since(start).Round(time.Second))
	return db
}

// BenchmarkTraceAmong1MTrips traces one case among a million trips kept
// in SQLite: its keys looked up in the index, the candidates read and
// checked with the exact rules. The goal is under 50 ms a trace. Loading
// the million trips takes minutes, so it happens once, in the parent
// benchmark, which the timed sub-benchmark runs inside.
func BenchmarkTraceAmong1MTrips(b *testing.B) {
	db := loadTraceBench(b)
	ctx := context.Background()
	cases := make([]tracing.Exposure, 1000)
	for i := range cases {
		e := benchExposure(i * 997)
		cases[i] = tracingOf(&e)
	}
	// The store's index must find what the tracing package's in-memory
	// index finds over the same million trips.
	mem := tracing.NewIndex()
	for i := range benchTrips {
		e := benchExposure(i)
		if err := mem.Add(tracingOf(&e)); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range cases[:20] {
		found, _, err := findContacts(ctx, db, c)
		if err != nil {
			b.Fatal(err)
		}
		want := mem.Trace(c)
		if len(found) == 0 || !slices.EqualFunc(found, want, func(x, y tracing.Contact) bool {
			return x.TripRef == y.TripRef && slices.Equal(x.Rules(), y.Rules())
		}) {
			b.Fatalf("case %s: the store found %d contacts, the in-memory index %d", c.TripRef, len(found), len(want))
		}
	}
	b.Run("sqlite", func(b *testing.B) {
		b.ReportAllocs()
		var worst time.Duration
		contacts := 0
		for i := 0; i < b.N; i++ {
			start := time.Now()
			found, _, err := findContacts(ctx, db, cases[i%len(cases)])
			if err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(start))
			contacts += len(found)
		}
		b.ReportMetric(float64(contacts)/float64(b.N), "contacts/op")
		b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	})
}
