package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/corridorlane/corridor/internal/trip"
)

// RoleAdmin manages an organisation: its members, invitations and API
// tokens. It is not a trip role: the trip machine never sees it.
const RoleAdmin trip.Role = "admin"

// OrgKind is what an organisation is; it bounds the roles its members may
// hold, so a sponsor company can never hand out the reviewer role.
type OrgKind string

const (
	KindAuthority       OrgKind = "authority"        // destination authority: reviews and approves
	KindSponsor         OrgKind = "sponsor"          // inviting enterprise
	KindLab             OrgKind = "lab"              // testing laboratory
	KindBorderAgency    OrgKind = "border_agency"    // border and arrival checks
	KindQuarantineSite  OrgKind = "quarantine_site"  // arrival hold and monitoring
	KindHealthAuthority OrgKind = "health_authority" // origin pre-departure monitoring
	KindJointMechanism  OrgKind = "joint_mechanism"  // the joint response mechanism
)

// OrgKinds lists every kind in a stable order.
var OrgKinds = []OrgKind{KindAuthority, KindSponsor, KindLab, KindBorderAgency, KindQuarantineSite, KindHealthAuthority, KindJointMechanism}

// kindRoles: the roles a member of each kind may hold. Every kind may have
// admins of its own.
var kindRoles = map[OrgKind][]trip.Role{
	KindAuthority:       {trip.RoleReviewer, RoleAdmin},
	KindSponsor:         {trip.RoleSponsor, RoleAdmin},
	KindLab:             {trip.RoleLab, RoleAdmin},
	KindBorderAgency:    {trip.RoleBorder, trip.RoleArrival, RoleAdmin},
	KindQuarantineSite:  {trip.RoleArrival, trip.RoleHealthMonitor, RoleAdmin},
	KindHealthAuthority: {trip.RoleHealthAuthority, trip.RoleHealthMonitor, RoleAdmin},
	KindJointMechanism:  {trip.RoleJoint, RoleAdmin},
}

// Valid tells whether k is a known kind.
func (k OrgKind) Valid() bool { _, ok := kindRoles[k]; return ok }

// Roles lists the roles a member of an organisation of kind k may hold.
func (k OrgKind) Roles() []trip.Role { return slices.Clone(kindRoles[k]) }

// Allows tells whether a member of kind k may hold role r.
func (k OrgKind) Allows(r trip.Role) bool { return slices.Contains(kindRoles[k], r) }

// Roles is a set of roles, kept sorted and without duplicates so that two
// equal sets compare and store the same way.
type Roles []trip.Role

// NewRoles sorts and de-duplicates rs.
func NewRoles(rs ...trip.Role) Roles {
	out := slices.Clone(rs)
	slices.Sort(out)
	return slices.Compact(out)
}

// ParseRoles reads the stored form written by String.
func ParseRoles(s string) Roles {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	rs := make([]trip.Role, len(parts))
	for i, p := range parts {
		rs[i] = trip.Role(p)
	}
	return NewRoles(rs...)
}

// String is the stored form: roles joined by commas, sorted.
func (rs Roles) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// Has tells whether r is in the set.
func (rs Roles) Has(r trip.Role) bool { return slices.Contains(rs, r) }

// Covers tells whether every role of other is in rs: a grantor must cover
// what it grants.
func (rs Roles) Covers(other Roles) bool {
	for _, r := range other {
		if !rs.Has(r) {
			return false
		}
	}
	return true
}

// CheckFor refuses an empty set and names the first role of rs that a
// member of an organisation of kind k may not hold.
func (rs Roles) CheckFor(k OrgKind) error {
	if len(rs) == 0 {
		return fmt.Errorf("at least one role is required")
	}
	for _, r := range rs {
		if !k.Allows(r) {
			return fmt.Errorf("a member of a %s may not hold the role %q (allowed: %s)", k, r, Roles(k.Roles()))
		}
	}
	return nil
}
