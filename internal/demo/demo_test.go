package demo

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/verify"
)

// TestScript runs the scripted trips through both nodes and checks what
// each holds at the end, figure by figure.
func TestScript(t *testing.T) {
	engines(t, func(t *testing.T, engine string) {
		ctx, d := startDriven(t, engine, Options{}, 3*time.Minute)
		sum, err := d.RunScript(ctx, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.MarshalIndent(sum, "", "  ")
		t.Logf("%s", out)
		if !sum.Agree || sum.SharedTrips != 6 {
			t.Fatalf("the nodes disagree on %v (%d shared trips)", sum.Disagreements, sum.SharedTrips)
		}
		// Korea: five completed (two negatives, the three isolations
		// ended), one withdrawn, one rejected (never shared).
		want := map[string]map[trip.State]int{
			"KR": {trip.Completed: 5, trip.Withdrawn: 1, trip.Rejected: 1},
			"CN": {trip.Completed: 5, trip.Withdrawn: 1},
		}
		for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
			ns, peer := sum.Nodes[c], sum.Nodes[other]
			if !maps.Equal(ns.TripsByState, want[c]) {
				t.Errorf("%s trips %v, want %v", c, ns.TripsByState, want[c])
			}
			m := ns.Messages
			if m.Applied != int64(peer.Messages.Sent) || m.Received != m.Applied+m.Duplicate || len(m.Refused) != 0 || ns.DeadLetters != 0 {
				t.Errorf("%s messages %+v, %d dead letters; %s sent %d", c, m, ns.DeadLetters, other, peer.Messages.Sent)
			}
			// One case each (Korea's on arrival, China's before
			// departure), each notified to the other; the arrival
			// case's contacts (a row away on the flight, two more in the same hold)
			// traced on both sides; no one infected across the border.
			if ns.Cases != 1 || ns.NotifiedCases != 1 || ns.Contacts != 3 || ns.CrossBorderInfections != 0 {
				t.Errorf("%s cases %d, notified %d, contacts %d, cross-border %d", c, ns.Cases, ns.NotifiedCases, ns.Contacts, ns.CrossBorderInfections)
			}
		}
		if v := sum.Nodes["KR"].PeerTestVerifies; v == nil || !*v {
			t.Error("China's lab's test certificate does not verify in Korea")
		}
		// The health monitor sees the contact's flag through the use case.
		kr := d.Sides["KR"]
		page, err := kr.Node.App.ListTrips(ctx, kr.As[trip.RoleHealthMonitor], appQuery())
		if err != nil {
			t.Fatal(err)
		}
		flagged := 0
		for _, tr := range page.Trips {
			cs, err := kr.Node.App.ContactsOfTrip(ctx, kr.As[trip.RoleHealthMonitor], tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) > 0 {
				flagged++
			}
		}
		if flagged != 3 {
			t.Errorf("%d trips flagged as contacts through the use case, want 3", flagged)
		}
		if _, err := kr.Node.App.ContactsOfTrip(ctx, kr.As[trip.RoleSponsor], page.Trips[0].ID); err == nil {
			t.Error("a sponsor read the contacts of a trip")
		}
		revocationCrosses(ctx, t, d)
		statsCross(ctx, t, d)
	})
}

// statsCross: Korea sends its figures of the days of the flights; China
// keeps them beside its own.
func statsCross(ctx context.Context, t *testing.T, d *Demo) {
	kr, cn := d.Sides["KR"], d.Sides["CN"]
	page, err := kr.Node.Store.ListTrips(ctx, store.TripFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var flown time.Time
	for _, tr := range page.Trips {
		if !tr.DepartedAt.IsZero() {
			flown = tr.DepartedAt
		}
	}
	days := []time.Time{flown, flown.AddDate(0, 0, 1)} // arrivals may fall after midnight
	for _, day := range days {
		if err := kr.Node.Federation.SendDailyStats(ctx, day); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Settle(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := cn.Node.Store.ListPeerStats(ctx, "KR", 100)
	if err != nil {
		t.Fatal(err)
	}
	var sum envelope.StatsDaily
	n := 0
	for _, st := range got {
		var b envelope.StatsDaily
		if err := json.Unmarshal(st.Body, &b); err != nil {
			t.Fatal(err)
		}
		if b.Lane != "CN-KR" {
			continue
		}
		n++
		sum.Departed += b.Departed
		sum.Arrived += b.Arrived
		sum.Positives.Arrival += b.Positives.Arrival
	}
	if n != 2 || sum.Departed != 4 || sum.Arrived != 4 || sum.Positives.Arrival != 1 {
		t.Errorf("Korea's figures of the flight's days, in China: %d days, %+v", n, sum)
	}
}

// revocationCrosses: China revokes one of its lab's test certificates; once
// the revocation list has crossed, Korea's verifier refuses that one and
// still accepts another.
func revocationCrosses(ctx context.Context, t *testing.T, d *Demo) {
	cn, kr := d.Sides["CN"], d.Sides["KR"]
	var certs []string
	page, err := cn.Node.Store.ListTrips(ctx, store.TripFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range page.Trips {
		tests, err := cn.Node.Store.ListTests(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tests {
			certs = append(certs, r.HC1)
		}
	}
	if len(certs) < 2 {
		t.Fatalf("%d test certificates on China's node", len(certs))
	}
	revocation := func(hc1 string) verify.Outcome {
		return kr.Node.Verifier().Text(hc1, d.Clock.Now()).Check(verify.StepRevocation).Result
	}
	if revocation(certs[0]) != verify.Pass || revocation(certs[1]) != verify.Pass {
		t.Fatal("China's certificates do not pass Korea's revocation check before any revocation")
	}
	if err := cn.Node.Revoke(ctx, certs[0], "test"); err != nil {
		t.Fatal(err)
	}
	if err := d.Settle(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := revocation(certs[0]); got != verify.Fail {
		t.Errorf("the revoked certificate's revocation check in Korea: %s, want fail", got)
	}
	if got := revocation(certs[1]); got != verify.Pass {
		t.Errorf("another certificate's revocation check in Korea: %s, want pass", got)
	}
	if err := kr.Node.Revoke(ctx, certs[1], "test"); err == nil {
		t.Error("Korea revoked a certificate China issued")
	}
}

func appQuery() app.TripQuery { return app.TripQuery{Limit: 200} }
