package envelope

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/ledger"
)

// t0 is when the test key sets are made; messages are sent a little later.
var t0 = time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)

var now = time.Date(2020, 5, 10, 8, 0, 0, 0, time.UTC)

type node struct {
	dir string
	set *keys.Set
	id  *Identity
}

// newNode makes a key folder for country with a federation identity.
func newNode(t testing.TB, country string) *node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys-"+country)
	set, err := keys.Init(dir, country, keys.Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	id, err := Create(dir, keys.Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return &node{dir: dir, set: set, id: id}
}

func sampleExposure() Exposure {
	from := time.Date(2020, 5, 10, 14, 0, 0, 0, time.UTC)
	until := from.Add(40 * time.Hour)
	return Exposure{
		Flight: "KE123", FlightDate: "2020-05-10", Seat: "23C",
		HoldSite: "Incheon Hold Hotel A", HoldFrom: &from, HoldUntil: &until,
		Sites: []SiteVisit{{Site: "Samsung Xi'an plant", From: "2020-05-12", To: "2020-05-20"}},
	}
}

// sampleBodies has one valid body of every type.
func sampleBodies(t testing.TB) []Body {
	t.Helper()
	a := approval.Approval{
		Ver: approval.Version, ID: "URN:UVCI:01:CN:APPROVAL0001#X",
		Nam:  approval.Name{Fn: "Kim", Fnt: "KIM", Gn: "Minjun", Gnt: "MINJUN"},
		Dob:  "1988-02-03",
		Lane: "KR-CN", Region: "Shanghai", Purpose: "engineering",
		ValidFrom: "2020-05-05T00:00:00Z", ValidUntil: "2020-06-05T00:00:00Z",
		Itinerary: "IT-2020-0001", Authority: "Shanghai Foreign Affairs Office",
	}
	if err := a.SetPassport("KR", "M12345678", nil); err != nil {
		t.Fatal(err)
	}
	e := sampleExposure()
	at := time.Date(2020, 5, 10, 6, 0, 0, 0, time.UTC)
	return []Body{
		&ApprovalIssued{TripRef: "T-0001", Approval: a},
		&TripCleared{TripRef: "T-0001", ClearedAt: at, MonitoringDays: 14, TestType: "LP6464-4", TestSampledAt: at.Add(-20 * time.Hour)},
		&TripDeparted{TripRef: "T-0001", DepartedAt: at, Flight: "KE123", FlightDate: "2020-05-10", Seat: "23C"},
		&ArrivalResult{TripRef: "T-0001", ArrivedAt: at, HoldSite: "Hold Hotel A", HoldFrom: at, Result: ResultPositive, ResultAt: at.Add(20 * time.Hour)},
		&TripReleased{TripRef: "T-0001", ReleasedAt: at},
		&TripCancelled{TripRef: "T-0002", State: "withdrawn", At: at},
		&CaseNotified{CaseRef: "C-1", Lane: "KR-CN", Stage: ledger.Arrival, DetectedAt: at.Add(20 * time.Hour), TripRef: "T-0001", Exposure: &e},
		&TraceRequest{RequestRef: "R-1", CaseRef: "C-1", Exposure: e},
		&TraceAnswer{RequestRef: "R-1", CaseRef: "C-1", AnsweredAt: at, Contacts: []TracedContact{{TripRef: "T-0003", Rules: []string{"flight_near_seat"}}}},
		&TrustUpdate{Sequence: 3, List: []byte(`{"payloadType":"x"}`)},
		&RevocationUpdate{Sequence: 1, List: []byte(`{"payloadType":"y"}`)},
		&PolicyChanged{PolicyID: "cn-kr-fast-track", Version: 2, Digest: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Document: []byte(`{"id":"cn-kr-fast-track"}`)},
		&RouteSuspended{Lane: "KR-CN", DecisionID: "d0d0d0d0", Positives: 5, WindowDays: 7, SuspendDays: 7, TriggerRef: "C-5", From: at, Until: at.AddDate(0, 0, 7)},
		&RouteLiftApproved{Lane: "KR-CN", DecisionID: "d0d0d0d0", Country: "CN", OfficerRef: "officer-17", At: at},
		&RouteReinstated{Lane: "KR-CN", DecisionID: "d0d0d0d0", How: ReinstatedLifted, At: at},
		&StatsDaily{Date: "2020-05-10", Lane: "KR-CN", Approved: 40, Departed: 30, Arrived: 29, Released: 25, Positives: ledger.Counts{Arrival: 1}},
		&TripArrived{TripRef: "T-0001", ArrivedAt: at, HoldSite: "Hold Hotel A", HoldFrom: at.Add(time.Hour)},
		&TripIsolated{TripRef: "T-0001", At: at},
		&TripCompleted{TripRef: "T-0001", From: "isolated", At: at.AddDate(0, 0, 14)},
		&TripReinstated{TripRef: "T-0002", State: "approved", At: at},
		&RouteSuspended{Lane: "KR-CN", DecisionID: "S-77", SuspendDays: 10, Reason: "joint decision after an outbreak in the origin region", From: at, Until: at.AddDate(0, 0, 10)},
	}
}

// mustSeal seals a message from a to b.
func mustSeal(t testing.TB, from *node, to string, seq uint64, body Body, at time.Time) *Message {
	t.Helper()
	m, err := Seal(from.id, to, seq, body, at)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantReason fails the test unless err is a refusal for reason r.
func wantReason(t testing.TB, err error, r Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want a refusal as %s", r)
	}
	if got := ReasonOf(err); got != r {
		t.Fatalf("refused as %q (%v); want %q", got, err, r)
	}
}
