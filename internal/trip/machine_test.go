package trip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2020, 5, 10, 9, 0, 0, 0, time.UTC)

// The happy path of DESIGN.md, each step by the role that takes it.
func TestWholeTrip(t *testing.T) {
	steps := []struct {
		a    Action
		role Role
		to   State
	}{
		{Submit, RoleSponsor, Submitted},
		{RequestInfo, RoleReviewer, NeedsInfo},
		{Resubmit, RoleSponsor, Submitted},
		{Approve, RoleReviewer, Approved},
		{StartMonitoring, RoleTraveller, PreDeparture},
		{Clear, RoleSystem, Cleared},
		{Depart, RoleBorder, Departed},
		{Arrive, RoleArrival, Arrived},
		{Hold, RoleArrival, ArrivalHold},
		{Release, RoleArrival, Released},
		{StartFollowUp, RoleSystem, Monitoring},
		{Complete, RoleSystem, Completed},
	}
	s := Draft
	for _, st := range steps {
		tr, err := Apply(s, "", st.a, Actor{ID: "u1", Role: st.role}, "because", now)
		if err != nil {
			t.Fatalf("%s from %s by %s: %v", st.a, s, st.role, err)
		}
		if tr.From != s || tr.To != st.to || tr.At != now || tr.Actor.ID != "u1" {
			t.Fatalf("%s: got %+v", st.a, tr)
		}
		s = tr.To
	}
	if !s.Final() {
		t.Fatal("completed is not final")
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		from   State
		a      Action
		role   Role
		reason string
		want   string
	}{
		{Draft, Approve, RoleReviewer, "", "cannot approve a trip that is draft"},
		{Submitted, Approve, RoleSponsor, "", "a sponsor may not approve"},
		{Submitted, Reject, RoleReviewer, "  ", "give a reason"},
		{Completed, Withdraw, RoleSponsor, "", "final state"},
		{Departed, Withdraw, RoleSponsor, "", "cannot withdraw a trip that is departed"},
		{Submitted, "fly", RoleSponsor, "", "not a trip action"},
		{Submitted, Approve, RoleReviewer, strings.Repeat("x", 2001), "longer than 2000"},
	}
	for _, c := range cases {
		_, err := Apply(c.from, "", c.a, Actor{ID: "u", Role: c.role}, c.reason, now)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s by %s: got %v, want %q", c.from, c.a, c.role, err, c.want)
		}
	}
	if _, err := Apply(Submitted, "", Approve, Actor{Role: RoleReviewer}, "", now); !errors.Is(err, ErrRefused) {
		t.Error("an anonymous actor was allowed")
	}
}

func TestSuspendAndReinstate(t *testing.T) {
	tr, err := Apply(Cleared, "", Suspend, Actor{ID: "j", Role: RoleJoint}, "route suspended", now)
	if err != nil || tr.To != Suspended {
		t.Fatalf("suspend: %+v %v", tr, err)
	}
	back, err := Apply(Suspended, Cleared, Reinstate, Actor{ID: "j", Role: RoleJoint}, "", now)
	if err != nil || back.To != Cleared {
		t.Fatalf("reinstate: %+v %v", back, err)
	}
	if _, err := Apply(Suspended, "", Reinstate, Actor{ID: "j", Role: RoleJoint}, "", now); err == nil {
		t.Fatal("reinstated with no remembered state")
	}
}

// Every (state, action, role) either refuses or lands on a known state, and
// Allowed agrees with Apply.
func TestAllowedMatchesApply(t *testing.T) {
	roles := []Role{RoleSponsor, RoleReviewer, RoleHealthAuthority, RoleLab, RoleBorder, RoleArrival,
		RoleHealthMonitor, RoleJoint, RoleTraveller, RoleSystem, RolePeer}
	for _, s := range States {
		for _, r := range roles {
			allowed := map[Action]bool{}
			for _, a := range Allowed(s, r) {
				allowed[a] = true
			}
			for _, a := range Actions {
				tr, err := Apply(s, Approved, a, Actor{ID: "x", Role: r}, "reason", now)
				if (err == nil) != allowed[a] {
					t.Errorf("%s/%s/%s: Apply err=%v, Allowed=%v", s, r, a, err, allowed[a])
				}
				if err == nil && !tr.To.Valid() {
					t.Errorf("%s/%s/%s: lands on unknown state %q", s, r, a, tr.To)
				}
			}
		}
	}
}
