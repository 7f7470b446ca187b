package sqlstore

import (
	"cmp"
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

// AddLaneSuspension inserts with ON CONFLICT DO NOTHING rather than
// catching a unique violation, which would abort a PostgreSQL
// transaction.
func (c *conn) AddLaneSuspension(ctx context.Context, s *store.LaneSuspension) error {
	res, err := c.exec(ctx, `INSERT INTO lane_suspensions (id, lane, starts_at, ends_at, reason, created_by, lifted_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		s.ID, s.Lane, s.StartsAt.UnixMilli(), s.EndsAt.UnixMilli(), s.Reason, s.CreatedBy, ms(s.LiftedAt))
	if err != nil {
		return fmt.Errorf("suspending lane: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, fmt.Errorf("%w: lane suspension %s exists", store.ErrConflict, s.ID))
	}
	return nil
}

const suspensionColumns = `id, lane, starts_at, ends_at, reason, created_by, lifted_at`

func scanSuspension(row interface{ Scan(...any) error }) (*store.LaneSuspension, error) {
	var s store.LaneSuspension
	var starts, ends int64
	var lifted sql.NullInt64
	if err := row.Scan(&s.ID, &s.Lane, &starts, &ends, &s.Reason, &s.CreatedBy, &lifted); err != nil {
		return nil, err
	}
	s.StartsAt, s.EndsAt, s.LiftedAt = time.UnixMilli(starts).UTC(), time.UnixMilli(ends).UTC(), fromMS(lifted)
	return &s, nil
}

func (c *conn) GetLaneSuspension(ctx context.Context, id string) (*store.LaneSuspension, error) {
	s, err := scanSuspension(c.queryRow(ctx, `SELECT `+suspensionColumns+` FROM lane_suspensions WHERE id = ?`, id))
	if err := c.scanErr(err, "lane suspension "+id); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *conn) ActiveLaneSuspension(ctx context.Context, lane string, now time.Time) (*store.LaneSuspension, error) {
	s, err := scanSuspension(c.queryRow(ctx, `SELECT `+suspensionColumns+` FROM lane_suspensions
		WHERE lane = ? AND starts_at <= ? AND ends_at > ? AND lifted_at IS NULL ORDER BY ends_at DESC, id LIMIT 1`,
		lane, now.UnixMilli(), now.UnixMilli()))
	if err := c.scanErr(err, "suspension of lane "+lane); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *conn) AddLiftApproval(ctx context.Context, a *store.LiftApproval) error {
	res, err := c.exec(ctx, `INSERT INTO lane_lift_approvals (suspension_id, country, lane, officer_ref, approved_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (suspension_id, country) DO NOTHING`, a.SuspensionID, a.Country, a.Lane, a.OfficerRef, a.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("recording a lift approval: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, fmt.Errorf("%w: %s approved lifting suspension %s already", store.ErrConflict, a.Country, a.SuspensionID))
	}
	return nil
}

func (c *conn) ListLiftApprovals(ctx context.Context, lane string) ([]store.LiftApproval, error) {
	rows, err := c.query(ctx, `SELECT suspension_id, country, lane, officer_ref, approved_at FROM lane_lift_approvals
		WHERE lane = ? ORDER BY approved_at, suspension_id, country`, lane)
	if err != nil {
		return nil, fmt.Errorf("listing lift approvals: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.LiftApproval, error) {
		var a store.LiftApproval
		var at int64
		if err := s.Scan(&a.SuspensionID, &a.Country, &a.Lane, &a.OfficerRef, &at); err != nil {
			return nil, err
		}
		a.At = time.UnixMilli(at).UTC()
		return &a, nil
	})
}

func (c *conn) LaneCases(ctx context.Context, lane string, stage store.Stage, since time.Time) ([]store.Case, error) {
	rows, err := c.query(ctx, `SELECT k.id, k.trip_id, k.test_id, k.stage, k.opened_at, k.closed_at FROM cases k
		JOIN trips t ON t.id = k.trip_id
		WHERE t.lane = ? AND k.stage = ? AND k.opened_at >= ? ORDER BY k.opened_at, k.id`, lane, string(stage), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("reading the cases of lane %s: %w", lane, err)
	}
	return collect(rows, scanCase)
}

func (c *conn) LiftLaneSuspension(ctx context.Context, id string, at time.Time) error {
	return c.execOne(ctx, notFound("active lane suspension "+id),
		`UPDATE lane_suspensions SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL`, at.UnixMilli(), id)
}
