// Package trip holds one trip's life: its states, the actions that move it
// between them, who may take each action, and what each one requires. Every
// state change in Corridor goes through Apply in this file, so a reader
// finds every way a trip can move here, and nowhere else.
package trip

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is where a trip stands.
type State string

const (
	Draft        State = "draft"
	Submitted    State = "submitted"
	NeedsInfo    State = "needs_info"
	Approved     State = "approved"
	Rejected     State = "rejected"
	PreDeparture State = "pre_departure"
	Cleared      State = "cleared"
	Departed     State = "departed"
	Arrived      State = "arrived"
	ArrivalHold  State = "arrival_hold"
	Released     State = "released"
	Isolated     State = "isolated"
	Monitoring   State = "monitoring"
	Completed    State = "completed"
	Withdrawn    State = "withdrawn"
	Expired      State = "expired"
	Suspended    State = "suspended"
)

// States lists every state in the order of a trip's life.
var States = []State{Draft, Submitted, NeedsInfo, Approved, Rejected, PreDeparture, Cleared, Departed,
	Arrived, ArrivalHold, Released, Isolated, Monitoring, Completed, Withdrawn, Expired, Suspended}

// Final tells whether no action can leave the state.
func (s State) Final() bool {
	switch s {
	case Rejected, Completed, Withdrawn, Expired:
		return true
	}
	return false
}

// Valid tells whether s is a known state.
func (s State) Valid() bool {
	for _, x := range States {
		if x == s {
			return true
		}
	}
	return false
}

// Action is something an actor does to a trip.
type Action string

const (
	Submit          Action = "submit"
	RequestInfo     Action = "request_info"
	Resubmit        Action = "resubmit"
	Approve         Action = "approve"
	Reject          Action = "reject"
	StartMonitoring Action = "start_monitoring" // pre-departure health monitoring begins
	Clear           Action = "clear"            // computed: monitoring done and a negative test in the window
	Depart          Action = "depart"
	Arrive          Action = "arrive"
	Hold            Action = "hold" // arrival test taken, held until the result
	Release         Action = "release"
	Isolate         Action = "isolate"
	StartFollowUp   Action = "start_follow_up" // post-arrival monitoring begins
	Complete        Action = "complete"
	Withdraw        Action = "withdraw"
	Expire          Action = "expire"
	Suspend         Action = "suspend"
	Reinstate       Action = "reinstate"
)

// Role is what an actor is allowed to be. Roles are granted per
// organisation by memberships; the trip machine only asks which role acts.
type Role string

const (
	RoleSponsor         Role = "sponsor"          // inviting enterprise
	RoleReviewer        Role = "reviewer"         // destination authority
	RoleHealthAuthority Role = "health_authority" // origin health authority
	RoleLab             Role = "lab"
	RoleBorder          Role = "border_officer" // carrier or border officer
	RoleArrival         Role = "arrival_officer"
	RoleHealthMonitor   Role = "health_monitor"
	RoleJoint           Role = "joint_officer"
	RoleTraveller       Role = "traveller"
	RoleSystem          Role = "system" // timers and computed transitions on this node
	RolePeer            Role = "peer"   // the other country's node, through the federation
)

// rule is one allowed move.
type rule struct {
	from  []State // nil: any state that is not final (and not the target)
	to    State
	roles []Role
	// needReason: the actor must say why (refusals, isolation, withdrawal
	// by an official), because the traveller and the audit need it.
	needReason bool
}

// rules is the whole state machine. RolePeer is the other country's node
// mirroring a step it took on its side (a trip lives on both nodes: the
// destination approves and receives, the origin monitors and clears). An action may have several rules (one
// per source state set); the first whose from-list holds the trip's state
// applies.
var rules = map[Action][]rule{
	Submit:          {{from: []State{Draft}, to: Submitted, roles: []Role{RoleSponsor}}},
	RequestInfo:     {{from: []State{Submitted}, to: NeedsInfo, roles: []Role{RoleReviewer}, needReason: true}},
	Resubmit:        {{from: []State{NeedsInfo}, to: Submitted, roles: []Role{RoleSponsor}}},
	Approve:         {{from: []State{Submitted}, to: Approved, roles: []Role{RoleReviewer}}},
	Reject:          {{from: []State{Submitted, NeedsInfo}, to: Rejected, roles: []Role{RoleReviewer}, needReason: true}},
	StartMonitoring: {{from: []State{Approved}, to: PreDeparture, roles: []Role{RoleHealthAuthority, RoleTraveller, RoleSystem, RolePeer}}},
	Clear:           {{from: []State{PreDeparture}, to: Cleared, roles: []Role{RoleSystem, RoleHealthAuthority, RolePeer}}},
	Depart:          {{from: []State{Cleared}, to: Departed, roles: []Role{RoleBorder, RoleHealthAuthority, RolePeer}}},
	Arrive:          {{from: []State{Departed}, to: Arrived, roles: []Role{RoleArrival, RoleBorder, RolePeer}}},
	Hold:            {{from: []State{Arrived}, to: ArrivalHold, roles: []Role{RoleArrival, RolePeer}}},
	Release:         {{from: []State{ArrivalHold}, to: Released, roles: []Role{RoleArrival, RoleSystem, RolePeer}}},
	StartFollowUp:   {{from: []State{Released}, to: Monitoring, roles: []Role{RoleSystem, RoleHealthMonitor, RoleArrival, RolePeer}}},
	// A positive test at any stage isolates: before departure (approved,
	// monitoring, cleared), on the way (departed: isolated on landing),
	// on arrival and after release.
	Isolate: {{from: []State{Approved, PreDeparture, Cleared, Departed, Arrived, ArrivalHold, Released, Monitoring},
		to: Isolated, roles: []Role{RoleArrival, RoleHealthMonitor, RoleHealthAuthority, RoleSystem, RolePeer}, needReason: true}},
	Complete: {
		{from: []State{Monitoring}, to: Completed, roles: []Role{RoleSystem, RoleHealthMonitor, RolePeer}},
		{from: []State{Isolated}, to: Completed, roles: []Role{RoleHealthMonitor, RoleHealthAuthority, RolePeer}, needReason: true},
	},
	Withdraw: {{from: []State{Draft, Submitted, NeedsInfo, Approved, PreDeparture, Cleared, Suspended},
		to: Withdrawn, roles: []Role{RoleSponsor, RoleReviewer, RolePeer}}},
	Expire:    {{from: []State{Approved, PreDeparture, Cleared, Suspended}, to: Expired, roles: []Role{RoleSystem, RolePeer}}},
	Suspend:   {{from: []State{Submitted, NeedsInfo, Approved, PreDeparture, Cleared}, to: Suspended, roles: []Role{RoleJoint, RoleSystem, RolePeer}, needReason: true}},
	Reinstate: {{from: []State{Suspended}, roles: []Role{RoleJoint, RoleSystem, RolePeer}}}, // to: the state before suspension
}

// Actions lists every action, in a stable order.
var Actions = []Action{Submit, RequestInfo, Resubmit, Approve, Reject, StartMonitoring, Clear, Depart,
	Arrive, Hold, Release, StartFollowUp, Isolate, Complete, Withdraw, Expire, Suspend, Reinstate}

// Actor is who acts: a user in a role, the traveller, the node itself or
// the peer node. ID is what the audit log records (a user id, "traveller",
// "system", a peer's country).
type Actor struct {
	ID   string
	Role Role
}

// Transition is the record of one state change.
type Transition struct {
	Action Action
	From   State
	To     State
	Actor  Actor
	Reason string
	At     time.Time
}

// Refusal explains why an action was not allowed, in words for the person
// who tried it.
type Refusal struct {
	Action Action
	State  State
	Role   Role
	Msg    string
}

func (r *Refusal) Error() string { return r.Msg }

// ErrRefused matches every *Refusal with errors.Is.
var ErrRefused = errors.New("transition refused")

func (r *Refusal) Is(target error) bool { return target == ErrRefused }

// Apply decides whether actor may take action on a trip in state from
// (suspendedFrom is the state held before a suspension, needed only to
// reinstate) and returns the transition to record. It changes nothing: the
// caller writes the transition and the new state in one transaction.
func Apply(from, suspendedFrom State, action Action, actor Actor, reason string, now time.Time) (Transition, error) {
	rs, ok := rules[action]
	if !ok {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role, Msg: fmt.Sprintf("%q is not a trip action", action)}
	}
	if from.Final() {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role,
			Msg: fmt.Sprintf("the trip is %s, a final state: nothing more can be done with it", from)}
	}
	var match *rule
	for i := range rs {
		if containsState(rs[i].from, from) {
			match = &rs[i]
			break
		}
	}
	if match == nil {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role,
			Msg: fmt.Sprintf("cannot %s a trip that is %s (allowed from: %s)", humanAction(action), from, joinStates(sourceStates(rs)))}
	}
	if !containsRole(match.roles, actor.Role) {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role,
			Msg: fmt.Sprintf("a %s may not %s a trip (allowed: %s)", actor.Role, humanAction(action), joinRoles(match.roles))}
	}
	reason = strings.TrimSpace(reason)
	if match.needReason && reason == "" {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role,
			Msg: fmt.Sprintf("to %s a trip, give a reason", humanAction(action))}
	}
	if len(reason) > 2000 {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role, Msg: "the reason is longer than 2000 characters"}
	}
	to := match.to
	if action == Reinstate {
		if !suspendedFrom.Valid() || suspendedFrom == Suspended || suspendedFrom.Final() {
			return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role, Msg: "the state before the suspension is unknown"}
		}
		to = suspendedFrom
	}
	if actor.ID == "" {
		return Transition{}, &Refusal{Action: action, State: from, Role: actor.Role, Msg: "every transition needs an identified actor"}
	}
	return Transition{Action: action, From: from, To: to, Actor: actor, Reason: reason, At: now.UTC()}, nil
}

// Allowed lists the actions role may take on a trip in state from; pages
// use it to show only the buttons that would work.
func Allowed(from State, role Role) []Action {
	var out []Action
	if from.Final() {
		return nil
	}
	for _, a := range Actions {
		for _, r := range rules[a] {
			if containsState(r.from, from) && containsRole(r.roles, role) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func containsState(list []State, s State) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsRole(list []Role, r Role) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

func sourceStates(rs []rule) []State {
	var out []State
	for _, r := range rs {
		for _, s := range r.from {
			if !containsState(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func joinStates(s []State) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}

func joinRoles(r []Role) string {
	parts := make([]string, len(r))
	for i, x := range r {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}

func humanAction(a Action) string { return strings.ReplaceAll(string(a), "_", " ") }
