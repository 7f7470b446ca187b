package store

import (
	"context"
	"time"
)

// QuotaScope says what a weekly quota counts.
type QuotaScope string

const (
	PerRegion  QuotaScope = "region"
	PerSponsor QuotaScope = "sponsor"
)

// QuotaKey names one weekly counter.
type QuotaKey struct {
	Lane   string
	Scope  QuotaScope
	Bucket string // the region, or the sponsor organisation's id
	Week   string // ISO week, e.g. 2020-W19
}

// LaneSuspension shuts a lane to new approvals for a time.
type LaneSuspension struct {
	ID        string
	Lane      string
	StartsAt  time.Time
	EndsAt    time.Time
	Reason    string
	CreatedBy string
	LiftedAt  time.Time
}

// Quotas keeps the weekly counters and lane suspensions.
type Quotas interface {
	// TakeQuota adds one to the counter if it is below limit, atomically
	// on every engine, and reports whether it did. Run it in the same
	// transaction as the approval it pays for.
	TakeQuota(ctx context.Context, k QuotaKey, limit int) (bool, error)
	QuotaUsed(ctx context.Context, k QuotaKey) (int, error)

	// AddLaneSuspension stores s; ErrConflict, without spoiling the
	// transaction, when a suspension with its id exists: the breaker's
	// decisions and a peer's reports of them share ids.
	AddLaneSuspension(ctx context.Context, s *LaneSuspension) error
	GetLaneSuspension(ctx context.Context, id string) (*LaneSuspension, error)
	// ActiveLaneSuspension returns the suspension in force on the lane at
	// now, or ErrNotFound.
	ActiveLaneSuspension(ctx context.Context, lane string, now time.Time) (*LaneSuspension, error)
	LiftLaneSuspension(ctx context.Context, id string, at time.Time) error

	// AddLiftApproval records one side's approval to lift a suspension;
	// ErrConflict, without spoiling the transaction, when that side
	// approved it already.
	AddLiftApproval(ctx context.Context, a *LiftApproval) error
	// ListLiftApprovals returns the lift approvals of a lane's
	// suspensions, oldest first.
	ListLiftApprovals(ctx context.Context, lane string) ([]LiftApproval, error)
	// LaneCases returns the cases of a stage opened at or after since on
	// the lane's trips, oldest first: the circuit breaker's input.
	LaneCases(ctx context.Context, lane string, stage Stage, since time.Time) ([]Case, error)
}

// LiftApproval is one side's approval to lift a lane suspension before
// its time; a lift needs an officer of each side.
type LiftApproval struct {
	SuspensionID string
	Lane         string
	Country      string // the approving side
	OfficerRef   string // the officer's actor id on that side, not a name
	At           time.Time
}
