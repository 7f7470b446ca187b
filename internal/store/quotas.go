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

	AddLaneSuspension(ctx context.Context, s *LaneSuspension) error
	// ActiveLaneSuspension returns the suspension in force on the lane at
	// now, or ErrNotFound.
	ActiveLaneSuspension(ctx context.Context, lane string, now time.Time) (*LaneSuspension, error)
	LiftLaneSuspension(ctx context.Context, id string, at time.Time) error
}
