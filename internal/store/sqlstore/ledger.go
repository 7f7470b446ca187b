package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/store"
)

func (c *conn) AddSecondaryCase(ctx context.Context, k *store.SecondaryCase) error {
	return c.insertOnce(ctx, "a secondary case with local reference "+k.LocalRef+" is recorded already",
		`INSERT INTO secondary_cases (id, trip_id, lane, detected_on, local_ref, note, recorded_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (local_ref) DO NOTHING`,
		k.ID, k.TripID, k.Lane, k.DetectedOn, k.LocalRef, k.Note, k.RecordedBy, k.CreatedAt.UnixMilli())
}

// dayRange appends the conditions of r on column to where and args.
func dayRange(column string, r store.DayRange, where []string, args []any) ([]string, []any) {
	if r.From != "" {
		where, args = append(where, column+" >= ?"), append(args, r.From)
	}
	if r.To != "" {
		where, args = append(where, column+" < ?"), append(args, r.To)
	}
	return where, args
}

func whereClause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}

func (c *conn) ListSecondaryCases(ctx context.Context, r store.DayRange) ([]store.SecondaryCase, error) {
	where, args := dayRange("s.detected_on", r, nil, nil)
	rows, err := c.query(ctx, `SELECT s.id, s.trip_id, t.reference, s.lane, s.detected_on, s.local_ref, s.note, s.recorded_by, s.created_at
		FROM secondary_cases s JOIN trips t ON t.id = s.trip_id`+whereClause(where)+` ORDER BY s.detected_on, s.created_at, s.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing secondary cases: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.SecondaryCase, error) {
		var k store.SecondaryCase
		var created int64
		if err := s.Scan(&k.ID, &k.TripID, &k.TripRef, &k.Lane, &k.DetectedOn, &k.LocalRef, &k.Note, &k.RecordedBy, &created); err != nil {
			return nil, err
		}
		k.CreatedAt = time.UnixMilli(created).UTC()
		return &k, nil
	})
}

func (c *conn) LedgerCases(ctx context.Context, from, to time.Time) ([]store.LedgerCase, error) {
	rows, err := c.query(ctx, `SELECT k.id, k.trip_id, k.test_id, k.stage, k.opened_at, k.closed_at, t.lane, t.reference
		FROM cases k JOIN trips t ON t.id = k.trip_id WHERE k.opened_at >= ? AND k.opened_at < ? ORDER BY k.opened_at, k.id`,
		from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("listing the cases of the ledger: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.LedgerCase, error) {
		var k store.LedgerCase
		var stage string
		var opened int64
		var closed sql.NullInt64
		if err := s.Scan(&k.ID, &k.TripID, &k.TestID, &stage, &opened, &closed, &k.Lane, &k.TripRef); err != nil {
			return nil, err
		}
		k.Stage = store.Stage(stage)
		k.OpenedAt, k.ClosedAt = time.UnixMilli(opened).UTC(), fromMS(closed)
		return &k, nil
	})
}

func (c *conn) PeerCasesIn(ctx context.Context, f store.PeerCaseFilter) ([]store.PeerCase, error) {
	where, args := []string{"peer = ?"}, []any{f.Peer}
	if f.Stage != "" {
		where, args = append(where, "stage = ?"), append(args, f.Stage)
	}
	where, args = dayRange("detected_on", f.Days, where, args)
	rows, err := c.query(ctx, `SELECT `+peerCaseColumns+` FROM federation_peer_cases`+whereClause(where)+` ORDER BY detected_on, ref`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s's notified cases: %w", f.Peer, err)
	}
	return collect(rows, scanPeerCase)
}

func (c *conn) PeerStatsIn(ctx context.Context, peer string, r store.DayRange) ([]store.PeerStats, error) {
	where, args := dayRange("day", r, []string{"peer = ?"}, []any{peer})
	rows, err := c.query(ctx, `SELECT peer, day, lane, body, received_at FROM federation_peer_stats`+whereClause(where)+` ORDER BY day, lane`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s's figures: %w", peer, err)
	}
	return collect(rows, scanPeerStats)
}
