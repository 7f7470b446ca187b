package store

import (
	"context"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
)

// Org is an organisation on this node.
type Org struct {
	ID        string
	Kind      auth.OrgKind
	Name      string
	Country   string // ISO 3166-1 alpha-2
	CreatedAt time.Time
}

// User is a person with an account. Travellers have none.
type User struct {
	ID           string
	Email        string // lower case; unique
	Name         string
	PasswordHash string
	// NodeAdmin runs the node: creates organisations and their first
	// admins. It holds no trip role by itself.
	NodeAdmin  bool
	CreatedAt  time.Time
	DisabledAt time.Time // zero while the account is active
}

// Membership gives a user roles in one organisation.
type Membership struct {
	UserID    string
	OrgID     string
	Roles     auth.Roles
	CreatedAt time.Time
}

// Member is a membership with its user, for listing an organisation.
type Member struct {
	User       User
	Membership Membership
}

// Invitation asks someone, by e-mail, to join an organisation with roles.
type Invitation struct {
	ID         string
	TokenHash  string
	OrgID      string
	Email      string
	Roles      auth.Roles
	InvitedBy  string // user id
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt time.Time // zero until accepted
	AcceptedBy string    // user id
}

// Session is a signed-in browser. The cookie holds the secret; the store
// holds its hash.
type Session struct {
	IDHash     string
	UserID     string
	OrgID      string // the membership the user acts in; "" for a node admin without one
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// TravellerSession is a traveller's sign-in, opened with the personal
// link and the passport number.
type TravellerSession struct {
	IDHash    string
	TripID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIToken lets a machine client (a lab's information system) act for an
// organisation with some of its roles.
type APIToken struct {
	ID         string
	TokenHash  string
	OrgID      string
	Name       string
	Roles      auth.Roles
	CreatedBy  string // user id
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: no expiry
	RevokedAt  time.Time
	LastUsedAt time.Time
}

// Orgs keeps organisations.
type Orgs interface {
	CreateOrg(ctx context.Context, o *Org) error // ErrConflict on a taken name
	GetOrg(ctx context.Context, id string) (*Org, error)
	ListOrgs(ctx context.Context) ([]Org, error)
}

// Users keeps accounts, memberships and invitations.
type Users interface {
	CreateUser(ctx context.Context, u *User) error // ErrConflict on a taken e-mail
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	SetPasswordHash(ctx context.Context, userID, hash string) error
	CountNodeAdmins(ctx context.Context) (int, error)

	// PutMembership creates or replaces the user's roles in the org.
	PutMembership(ctx context.Context, m *Membership) error
	GetMembership(ctx context.Context, userID, orgID string) (*Membership, error)
	ListMemberships(ctx context.Context, userID string) ([]Membership, error)
	ListMembers(ctx context.Context, orgID string) ([]Member, error)
	DeleteMembership(ctx context.Context, userID, orgID string) error

	CreateInvitation(ctx context.Context, inv *Invitation) error
	GetInvitationByTokenHash(ctx context.Context, hash string) (*Invitation, error)
	ListInvitations(ctx context.Context, orgID string) ([]Invitation, error)
	// AcceptInvitation marks it used; ErrConflict if it already was.
	AcceptInvitation(ctx context.Context, id, userID string, at time.Time) error
}

// Sessions keeps sign-ins, API tokens and rate-limit counters.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, idHash string) (*Session, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	SetSessionOrg(ctx context.Context, idHash, orgID string) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteUserSessions(ctx context.Context, userID string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	CreateTravellerSession(ctx context.Context, s *TravellerSession) error
	GetTravellerSession(ctx context.Context, idHash string) (*TravellerSession, error)
	DeleteTravellerSession(ctx context.Context, idHash string) error
	// DeleteTripTravellerSessions ends every traveller session of a trip,
	// when its link is replaced.
	DeleteTripTravellerSessions(ctx context.Context, tripID string) error

	CreateAPIToken(ctx context.Context, t *APIToken) error
	GetAPITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	GetAPIToken(ctx context.Context, id string) (*APIToken, error)
	ListAPITokens(ctx context.Context, orgID string) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error // ErrNotFound if absent or already revoked
	TouchAPIToken(ctx context.Context, id string, at time.Time) error

	// HitRateLimit counts one event under key in a fixed window starting
	// at the key's first event, and returns the count including this one.
	HitRateLimit(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	// RateLimitCount returns the count in the current window, 0 if it
	// has passed.
	RateLimitCount(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	ResetRateLimit(ctx context.Context, key string) error
	// DeleteStaleRateLimits drops counters whose window started before
	// before, so the table does not grow without end.
	DeleteStaleRateLimits(ctx context.Context, before time.Time) (int, error)
}
