package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/store/sqlstore"
)

func date(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly) }

// application is a complete application on lane CN-KR.
func application(given, family, passport string) map[string]any {
	return map[string]any{
		"lane": "CN-KR", "region": "KR", "purpose": "engineering",
		"traveller": map[string]string{"given_name": given, "family_name": family, "date_of_birth": "1985-03-02", "sex": "F",
			"nationality": "CN", "passport_country": "CN", "passport_number": passport, "email": "traveller@example.cn"},
		"host":           map[string]string{"name": "Kim Min-jun", "phone": "+82 2 555 0100"},
		"departure_date": date(2), "return_date": date(30),
		"itinerary": []map[string]string{
			{"kind": "lodging", "site": "Asan hotel " + family, "address": "1 Gate Road, Asan", "from_date": date(2), "to_date": date(30)},
			{"kind": "work_site", "site": "Asan display plant", "from_date": date(3), "to_date": date(29)},
		},
	}
}

type tripState struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	State     string `json:"state"`
}

// approve files, submits and approves an application on Korea's node.
func (p *pair) approve(given, family, passport string) tripState {
	p.t.Helper()
	kr := p.as["KR"]
	var t tripState
	kr["sponsor"].must(http.MethodPost, "/api/v1/trips", application(given, family, passport), &t)
	kr["sponsor"].must(http.MethodPost, "/api/v1/trips/"+t.ID+"/submit", nil, &t)
	kr["reviewer"].must(http.MethodPost, "/api/v1/trips/"+t.ID+"/approve", map[string]string{"reason": ""}, &t)
	return t
}

// tripOn reads a trip by reference on a node, as its health authority.
func (p *pair) tripOn(country, ref string) (map[string]any, int) {
	p.t.Helper()
	var out map[string]any
	st := p.as[country]["health_authority"].do(http.MethodGet, "/api/v1/trips/by-reference/"+ref, nil, &out)
	return out, st
}

func (p *pair) stateOn(country, ref string) string {
	p.t.Helper()
	tr, st := p.tripOn(country, ref)
	if st != http.StatusOK {
		return fmt.Sprintf("(HTTP %d)", st)
	}
	return tr["state"].(string)
}

// waitState waits until the trip is in state on a node.
func (p *pair) waitState(country, ref, state string) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got := p.stateOn(country, ref); got == state {
			tr, _ := p.tripOn(country, ref)
			return tr
		} else if time.Now().After(deadline) {
			p.t.Fatalf("trip %s on %s is %s, want %s", ref, country, got, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// test records a NAAT result on a node, sampled at the given time.
func (p *pair) test(country, ref, passport, result string, sampled time.Time) map[string]any {
	p.t.Helper()
	var out map[string]any
	p.as[country]["lab"].must(http.MethodPost, "/api/v1/tests", map[string]string{"reference": ref, "passport_number": passport,
		"test_type": "NAAT", "test_name": "RT-PCR", "sampled_at": sampled.UTC().Format(time.RFC3339),
		"result": result, "facility": country + " testing centre"}, &out)
	return out
}

func alertsOf(tr map[string]any) []string {
	var kinds []string
	list, _ := tr["alerts"].([]any)
	for _, a := range list {
		kinds = append(kinds, a.(map[string]any)["kind"].(string))
	}
	return kinds
}

func engines(t *testing.T, f func(t *testing.T, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) { f(t, false) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv("CORRIDOR_TEST_DATABASE_URL") == "" && os.Getenv("CORRIDOR_CI") == "" {
			t.Skip("CORRIDOR_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
		}
		f(t, true)
	})
}

// TestTripAcrossTwoNodes: a whole trip and a traced case through two
// `corridor serve` processes. Korea approves two travellers; China's lab
// tests them and China's border lets them board the same flight a row
// apart; Korea holds them on arrival, one tests positive. Both nodes end
// with the same states, the case traced on both sides, the fellow
// passenger flagged and alerted on both, and China's lab's certificate
// verifying at Korea's border.
func TestTripAcrossTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two node processes")
	}
	engines(t, func(t *testing.T, postgres bool) {
		p := startPair(t, postgres)
		p.converged(time.Minute) // each node's lists reach the other
		a := p.approve("Wei", "Zhang", "E12345671")
		b := p.approve("Na", "Li", "E12345672")
		cn := map[string]string{}
		for _, tr := range []tripState{a, b} {
			twin := p.waitState("CN", tr.Reference, "approved")
			if tv := twin["traveller"].(map[string]any); tv["passport_number"] != "" {
				t.Fatalf("the passport number crossed the border: %v", tv)
			}
			cn[tr.Reference] = twin["id"].(string)
		}
		// China's lab: negative tests clear both (no monitoring days).
		testA := p.test("CN", a.Reference, "E12345671", "negative", time.Now().Add(-time.Hour))
		p.test("CN", b.Reference, "E12345672", "negative", time.Now().Add(-time.Hour))
		for i, tr := range []tripState{a, b} {
			p.waitState("CN", tr.Reference, "cleared")
			p.as["CN"]["border_officer"].must(http.MethodPost, "/api/v1/trips/"+cn[tr.Reference]+"/departure",
				map[string]string{"flight": "OZ361", "seat": []string{"32A", "33C"}[i]}, nil)
			p.waitState("KR", tr.Reference, "departed")
		}
		// Korea verifies China's lab's certificate against the trust list
		// China sent.
		var verdict struct {
			Results []struct {
				Checks []struct {
					Step   string `json:"step"`
					Result string `json:"result"`
				} `json:"checks"`
			} `json:"results"`
		}
		hc1 := testA["test"].(map[string]any)["hc1"].(string)
		p.as["KR"]["border_officer"].must(http.MethodPost, "/api/v1/verify", map[string]any{"credentials": []string{hc1}}, &verdict)
		sig := ""
		for _, c := range verdict.Results[0].Checks {
			if c.Step == "signature" {
				sig = c.Result
			}
		}
		if sig != "pass" {
			t.Fatalf("China's test certificate does not verify in Korea: %+v", verdict)
		}
		// Arrival at Incheon: both held; B tests negative (released at
		// once, the hold being 0 h), A positive.
		for _, tr := range []tripState{a, b} {
			p.as["KR"]["arrival_officer"].must(http.MethodPost, "/api/v1/trips/"+tr.ID+"/arrive", nil, nil)
			p.as["KR"]["arrival_officer"].must(http.MethodPost, "/api/v1/trips/"+tr.ID+"/hold", nil, nil)
		}
		time.Sleep(time.Second) // the arrival test is sampled after the departure, to the second
		p.test("KR", b.Reference, "E12345672", "negative", time.Now())
		rec := p.test("KR", a.Reference, "E12345671", "positive", time.Now())
		if rec["case_opened"] != true {
			t.Fatalf("a positive arrival test opened no case: %v", rec)
		}
		p.converged(time.Minute)
		for _, c := range []string{"CN", "KR"} {
			if got := p.stateOn(c, a.Reference); got != "isolated" {
				t.Errorf("%s: the positive traveller's trip is %s, want isolated", c, got)
			}
			if got := p.stateOn(c, b.Reference); got != "monitoring" {
				t.Errorf("%s: the negative traveller's trip is %s, want monitoring", c, got)
			}
			trB, _ := p.tripOn(c, b.Reference)
			if !slices.Contains(alertsOf(trB), "contact") {
				t.Errorf("%s: the fellow passenger has no contact alert: %v", c, alertsOf(trB))
			}
			trA, _ := p.tripOn(c, a.Reference)
			if slices.Contains(alertsOf(trA), "contact") {
				t.Errorf("%s: the case is flagged as its own contact", c)
			}
		}
		// Both stores, read directly: the contact is flagged on each side,
		// traced here and on request by the peer.
		for _, c := range []string{"CN", "KR"} {
			db := openStore(t, p.n[c])
			tr, err := db.GetTripByReference(ctx, b.Reference)
			if err != nil {
				t.Fatal(err)
			}
			contacts, err := db.ContactsOfTrip(ctx, tr.ID)
			if err != nil || len(contacts) != 1 || !slices.Contains(contacts[0].Rules, "flight_near_seat") {
				t.Errorf("%s: contacts of the fellow passenger: %+v %v", c, contacts, err)
			}
			cases, err := db.ListPeerCases(ctx, 10)
			if c == "CN" && (err != nil || len(cases) != 1 || cases[0].TripRef != a.Reference || cases[0].Stage != "arrival") {
				t.Errorf("China was not notified of the case: %+v %v", cases, err)
			}
		}
		for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
			st := p.n[c].status(other)
			if st.Counts["dead"] != 0 || st.Counts["received"] != st.Counts["applied"]+st.Counts["duplicate"] {
				t.Errorf("%s's counts from %s: %v", c, other, st.Counts)
			}
			if !strings.Contains(p.n[c].cli("peer", "list"), other) {
				t.Errorf("peer list of %s does not name %s", c, other)
			}
		}
	})
}

// openStore opens a running node's database beside it.
func openStore(t *testing.T, n *proc) *sqlstore.DB {
	t.Helper()
	url := n.dbURL
	if url == "" {
		url = "sqlite:" + n.data + "/corridor.db"
	}
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
