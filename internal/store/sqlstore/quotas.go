package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/corridorlane/corridor/internal/store"
)

// TakeQuota is one conditional upsert: the first approval of the week
// creates the counter at 1; later ones add one only while the counter is
// below the limit. PostgreSQL's row lock makes a concurrent upsert wait and
// re-check the condition on the committed row; SQLite has one writer at a
// time; CockroachDB aborts one of two conflicting transactions, which InTx
// retries. No engine can count past the limit.
func (c *conn) TakeQuota(ctx context.Context, k store.QuotaKey, limit int) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	var used int
	err := c.queryRowWrite(ctx, `INSERT INTO quota_usage (lane, scope, bucket, week, used) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (lane, scope, bucket, week) DO UPDATE SET used = quota_usage.used + 1
		WHERE quota_usage.used < ?
		RETURNING used`, k.Lane, string(k.Scope), k.Bucket, k.Week, limit).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("taking quota %s/%s/%s/%s: %w", k.Lane, k.Scope, k.Bucket, k.Week, c.classify(err))
	}
	return true, nil
}

func (c *conn) QuotaUsed(ctx context.Context, k store.QuotaKey) (int, error) {
	var used int
	err := c.queryRow(ctx, `SELECT used FROM quota_usage WHERE lane = ? AND scope = ? AND bucket = ? AND week = ?`,
		k.Lane, string(k.Scope), k.Bucket, k.Week).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading quota: %w", c.classify(err))
	}
	return used, nil
}

func (c *conn) AddLaneSuspension(ctx context.Context, s *store.LaneSuspension) error {
	_, err := c.exec(ctx, `INSERT INTO lane_suspensions (id, lane, starts_at, ends_at, reason, created_by, lifted_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Lane, s.StartsAt.UnixMilli(), s.EndsAt.UnixMilli(), s.Reason, s.CreatedBy, ms(s.LiftedAt))
	if err != nil {
		return fmt.Errorf("suspending lane: %w", err)
	}
	return nil
}

func (c *conn) ActiveLaneSuspension(ctx context.Context, lane string, now time.Time) (*store.LaneSuspension, error) {
	var s store.LaneSuspension
	var starts, ends int64
	var lifted sql.NullInt64
	err := c.queryRow(ctx, `SELECT id, lane, starts_at, ends_at, reason, created_by, lifted_at FROM lane_suspensions
		WHERE lane = ? AND starts_at <= ? AND ends_at > ? AND lifted_at IS NULL ORDER BY ends_at DESC, id LIMIT 1`,
		lane, now.UnixMilli(), now.UnixMilli()).Scan(&s.ID, &s.Lane, &starts, &ends, &s.Reason, &s.CreatedBy, &lifted)
	if err := c.scanErr(err, "suspension of lane "+lane); err != nil {
		return nil, err
	}
	s.StartsAt, s.EndsAt, s.LiftedAt = time.UnixMilli(starts).UTC(), time.UnixMilli(ends).UTC(), fromMS(lifted)
	return &s, nil
}

func (c *conn) LiftLaneSuspension(ctx context.Context, id string, at time.Time) error {
	return c.execOne(ctx, notFound("active lane suspension "+id),
		`UPDATE lane_suspensions SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL`, at.UnixMilli(), id)
}
