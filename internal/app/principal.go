package app

import (
	"log/slog"
	"slices"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/trip"
)

// PrincipalKind says how a principal proved who it is.
type PrincipalKind string

const (
	KindUser      PrincipalKind = "user"      // a signed-in person, acting in one membership
	KindToken     PrincipalKind = "token"     // a machine client with an API token
	KindTraveller PrincipalKind = "traveller" // a traveller through the personal link
	KindSystem    PrincipalKind = "system"    // this node's own jobs
	KindPeer      PrincipalKind = "peer"      // the other country's node
)

// Principal is who asks. Every use case takes one and refuses what it may
// not do. Make them only with Authenticate, AuthenticateToken,
// AuthenticateTraveller, System and Peer.
type Principal struct {
	Kind PrincipalKind
	// ID: the user id, token id, trip id (traveller) or peer country.
	ID        string
	OrgID     string
	OrgKind   auth.OrgKind
	Roles     auth.Roles
	NodeAdmin bool
}

// System is the node itself, for periodic jobs.
func System() Principal { return Principal{Kind: KindSystem, ID: "system"} }

// Peer is the other country's node, for the federation.
func Peer(country string) Principal { return Principal{Kind: KindPeer, ID: country} }

// ActorID is how the audit log and the trip's transitions name the
// principal: never a name or an e-mail address.
func (p Principal) ActorID() string {
	switch p.Kind {
	case KindUser, KindToken:
		return string(p.Kind) + ":" + p.ID
	case KindTraveller:
		return "traveller"
	case KindPeer:
		return "peer:" + p.ID
	}
	return "system"
}

// Has tells whether the principal holds role in its current membership
// (or is, by kind, the traveller, the system or the peer).
func (p Principal) Has(r trip.Role) bool {
	switch p.Kind {
	case KindTraveller:
		return r == trip.RoleTraveller
	case KindSystem:
		return r == trip.RoleSystem
	case KindPeer:
		return r == trip.RolePeer
	}
	return p.Roles.Has(r)
}

// LogValue keeps principals in logs to kind and id.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(p.Kind)), slog.String("id", p.ActorID()), slog.String("org", p.OrgID))
}

// UseCase names one thing a principal can ask for; Can tells which
// principals may.
type UseCase string

const (
	UCTripCreate          UseCase = "trip.create"
	UCTripEdit            UseCase = "trip.edit"
	UCTripSubmit          UseCase = "trip.submit"
	UCTripAnswer          UseCase = "trip.answer_info"
	UCTripWithdraw        UseCase = "trip.withdraw"
	UCTripList            UseCase = "trip.list"
	UCTripView            UseCase = "trip.view"
	UCTravellerLink       UseCase = "trip.traveller_link"
	UCTripRequestInfo     UseCase = "trip.request_info"
	UCTripApprove         UseCase = "trip.approve"
	UCTripReject          UseCase = "trip.reject"
	UCStartMonitoring     UseCase = "trip.start_monitoring"
	UCDeclare             UseCase = "trip.declare"
	UCTestRecord          UseCase = "test.record"
	UCTripDepart          UseCase = "trip.depart"
	UCTripArrive          UseCase = "trip.arrive"
	UCTripHold            UseCase = "trip.hold"
	UCTripRelease         UseCase = "trip.release"
	UCTripIsolate         UseCase = "trip.isolate"
	UCTripCompleteIsolate UseCase = "trip.complete_isolation"
	UCTripSuspend         UseCase = "trip.suspend"
	UCTripReinstate       UseCase = "trip.reinstate"
	UCLaneSuspend         UseCase = "lane.suspend"
	UCPolicyChange        UseCase = "policy.change"
	UCAlerts              UseCase = "alert.list"
	UCAlertAck            UseCase = "alert.acknowledge"
	UCOrgCreate           UseCase = "org.create"
	UCOrgList             UseCase = "org.list"
	UCMembersManage       UseCase = "member.manage"     // invite, list, change roles, remove
	UCTokensManage        UseCase = "token.manage"      // create, list, revoke API tokens
	UCFederation          UseCase = "federation.manage" // peers' status, dead letters and their retry
	UCLedger              UseCase = "ledger.view"       // the joint dashboard: both nodes' positives, route status
	UCSecondaryRecord     UseCase = "ledger.record_secondary"
)

// permissions: the roles that may take each use case, in the order a
// principal holding several is taken to act in. Node admins have their own
// column (nodeAdminMay); travellers, the system and the peer appear as
// their roles.
var permissions = map[UseCase][]trip.Role{
	UCTripCreate:          {trip.RoleSponsor},
	UCTripEdit:            {trip.RoleSponsor},
	UCTripSubmit:          {trip.RoleSponsor},
	UCTripAnswer:          {trip.RoleSponsor},
	UCTripWithdraw:        {trip.RoleSponsor, trip.RoleReviewer},
	UCTripList:            tripReaders(),
	UCTripView:            tripReaders(),
	UCTravellerLink:       {trip.RoleSponsor, trip.RoleReviewer},
	UCTripRequestInfo:     {trip.RoleReviewer},
	UCTripApprove:         {trip.RoleReviewer},
	UCTripReject:          {trip.RoleReviewer},
	UCStartMonitoring:     {trip.RoleHealthAuthority},
	UCDeclare:             {trip.RoleTraveller, trip.RoleHealthAuthority, trip.RoleHealthMonitor},
	UCTestRecord:          {trip.RoleLab},
	UCTripDepart:          {trip.RoleBorder, trip.RoleHealthAuthority},
	UCTripArrive:          {trip.RoleArrival, trip.RoleBorder},
	UCTripHold:            {trip.RoleArrival},
	UCTripRelease:         {trip.RoleArrival},
	UCTripIsolate:         {trip.RoleArrival, trip.RoleHealthMonitor, trip.RoleHealthAuthority},
	UCTripCompleteIsolate: {trip.RoleHealthMonitor, trip.RoleHealthAuthority},
	UCTripSuspend:         {trip.RoleJoint},
	UCTripReinstate:       {trip.RoleJoint},
	UCLaneSuspend:         {trip.RoleJoint},
	UCPolicyChange:        {trip.RoleJoint},
	UCAlerts:              {trip.RoleHealthMonitor, trip.RoleHealthAuthority},
	UCAlertAck:            {trip.RoleHealthMonitor, trip.RoleHealthAuthority},
	UCOrgCreate:           nil, // node admins only
	UCOrgList:             {auth.RoleAdmin},
	UCMembersManage:       {auth.RoleAdmin},
	UCTokensManage:        {auth.RoleAdmin},
	UCFederation:          {trip.RoleJoint},
	UCLedger:              {trip.RoleJoint, trip.RoleHealthAuthority},
	UCSecondaryRecord:     {trip.RoleHealthAuthority, trip.RoleJoint},
}

// nodeAdminMay: what running the node allows; it grants no trip role.
var nodeAdminMay = map[UseCase]bool{UCOrgCreate: true, UCOrgList: true, UCMembersManage: true, UCTokensManage: true}

// tripReaders may list and open trips: officials see every trip on the
// node, a sponsor only its own.
func tripReaders() []trip.Role {
	return []trip.Role{trip.RoleSponsor, trip.RoleReviewer, trip.RoleHealthAuthority, trip.RoleBorder, trip.RoleArrival,
		trip.RoleHealthMonitor, trip.RoleJoint}
}

// UseCases lists every use case, sorted, for the permission matrix.
func UseCases() []UseCase {
	out := make([]UseCase, 0, len(permissions))
	for uc := range permissions {
		out = append(out, uc)
	}
	slices.Sort(out)
	return out
}

// Can tells whether p may take use case uc at all (before looking at any
// particular trip): pages use it to show only what works.
func Can(p Principal, uc UseCase) bool {
	_, ok := actingRole(p, uc)
	return ok
}

// actingRole picks the role p acts in for uc.
func actingRole(p Principal, uc UseCase) (trip.Role, bool) {
	if p.NodeAdmin && p.Kind == KindUser && nodeAdminMay[uc] {
		return auth.RoleAdmin, true
	}
	for _, r := range permissions[uc] {
		if p.Has(r) {
			return r, true
		}
	}
	return "", false
}

// authorize returns the role p acts in for uc, or a forbidden error.
func authorize(p Principal, uc UseCase) (trip.Role, error) {
	if p.Kind == "" {
		return "", errorf(CodeUnauthenticated, "sign in first")
	}
	r, ok := actingRole(p, uc)
	if !ok {
		return "", forbidden("you may not %s", describeUseCase(uc))
	}
	return r, nil
}

func describeUseCase(uc UseCase) string {
	switch uc {
	case UCOrgCreate:
		return "create organisations"
	case UCOrgList:
		return "list organisations"
	case UCMembersManage:
		return "manage this organisation's members"
	case UCTokensManage:
		return "manage this organisation's API tokens"
	case UCAlerts, UCAlertAck:
		return "work monitoring alerts"
	case UCLaneSuspend:
		return "suspend a lane"
	case UCPolicyChange:
		return "change the corridor policy"
	case UCFederation:
		return "look after the link with the peer nodes"
	case UCLedger:
		return "see the cross-border infection ledger"
	case UCSecondaryRecord:
		return "record secondary cases"
	case UCTestRecord:
		return "record test results"
	case UCDeclare:
		return "make health declarations for this trip"
	}
	return "do this (" + string(uc) + ")"
}
