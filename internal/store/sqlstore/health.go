package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/store"
)

func (c *conn) AddDeclaration(ctx context.Context, d *store.Declaration) error {
	_, err := c.exec(ctx, `INSERT INTO declarations (id, trip_id, phase, day, temperature_dc, symptoms, note, recorded_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.TripID, string(d.Phase), d.Day, d.TemperatureDeci, strings.Join(d.Symptoms, ","), d.Note, d.RecordedBy, d.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("recording declaration for %s: %w", d.Day, err)
	}
	return nil
}

func (c *conn) ListDeclarations(ctx context.Context, tripID string, phase store.Phase) ([]store.Declaration, error) {
	rows, err := c.query(ctx, `SELECT id, trip_id, phase, day, temperature_dc, symptoms, note, recorded_by, created_at
		FROM declarations WHERE trip_id = ? AND phase = ? ORDER BY day`, tripID, string(phase))
	if err != nil {
		return nil, fmt.Errorf("reading declarations: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.Declaration, error) {
		var d store.Declaration
		var ph, symptoms string
		var created int64
		if err := s.Scan(&d.ID, &d.TripID, &ph, &d.Day, &d.TemperatureDeci, &symptoms, &d.Note, &d.RecordedBy, &created); err != nil {
			return nil, err
		}
		d.Phase = store.Phase(ph)
		if symptoms != "" {
			d.Symptoms = strings.Split(symptoms, ",")
		}
		d.CreatedAt = time.UnixMilli(created).UTC()
		return &d, nil
	})
}

const testColumns = `id, trip_id, lab_org_id, stage, test_type, test_name, sampled_at, result, facility, country, uvci, hc1, recorded_by, created_at`

func scanTest(s interface{ Scan(...any) error }) (*store.TestResult, error) {
	var r store.TestResult
	var stage string
	var sampled, created int64
	if err := s.Scan(&r.ID, &r.TripID, &r.LabOrgID, &stage, &r.TestType, &r.TestName, &sampled, &r.Result, &r.Facility,
		&r.Country, &r.UVCI, &r.HC1, &r.RecordedBy, &created); err != nil {
		return nil, err
	}
	r.Stage = store.Stage(stage)
	r.SampledAt = time.UnixMilli(sampled).UTC()
	r.CreatedAt = time.UnixMilli(created).UTC()
	return &r, nil
}

func (c *conn) AddTest(ctx context.Context, r *store.TestResult) error {
	_, err := c.exec(ctx, `INSERT INTO tests (`+testColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TripID, r.LabOrgID, string(r.Stage), r.TestType, r.TestName, r.SampledAt.UnixMilli(), r.Result, r.Facility,
		r.Country, r.UVCI, r.HC1, r.RecordedBy, r.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("recording test: %w", err)
	}
	return nil
}

func (c *conn) GetTest(ctx context.Context, id string) (*store.TestResult, error) {
	r, err := scanTest(c.queryRow(ctx, `SELECT `+testColumns+` FROM tests WHERE id = ?`, id))
	if err := c.scanErr(err, "test "+id); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *conn) ListTests(ctx context.Context, tripID string) ([]store.TestResult, error) {
	rows, err := c.query(ctx, `SELECT `+testColumns+` FROM tests WHERE trip_id = ? ORDER BY sampled_at, id`, tripID)
	if err != nil {
		return nil, fmt.Errorf("reading tests: %w", err)
	}
	return collect(rows, scanTest)
}

func (c *conn) OpenCase(ctx context.Context, k *store.Case) error {
	_, err := c.exec(ctx, `INSERT INTO cases (id, trip_id, test_id, stage, opened_at, closed_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.TripID, k.TestID, string(k.Stage), k.OpenedAt.UnixMilli(), ms(k.ClosedAt))
	if err != nil {
		return fmt.Errorf("opening case: %w", err)
	}
	return nil
}

func (c *conn) ListCases(ctx context.Context, tripID string) ([]store.Case, error) {
	rows, err := c.query(ctx, `SELECT id, trip_id, test_id, stage, opened_at, closed_at FROM cases WHERE trip_id = ? ORDER BY opened_at, id`, tripID)
	if err != nil {
		return nil, fmt.Errorf("reading cases: %w", err)
	}
	return collect(rows, scanCase)
}

func scanCase(s interface{ Scan(...any) error }) (*store.Case, error) {
	var k store.Case
	var stage string
	var opened int64
	var closed sql.NullInt64
	if err := s.Scan(&k.ID, &k.TripID, &k.TestID, &stage, &opened, &closed); err != nil {
		return nil, err
	}
	k.Stage = store.Stage(stage)
	k.OpenedAt, k.ClosedAt = time.UnixMilli(opened).UTC(), fromMS(closed)
	return &k, nil
}

const alertColumns = `id, trip_id, phase, kind, day, detail, created_at, acknowledged_at, acknowledged_by`

func scanAlert(s interface{ Scan(...any) error }) (*store.Alert, error) {
	var a store.Alert
	var phase string
	var created int64
	var acked sql.NullInt64
	if err := s.Scan(&a.ID, &a.TripID, &phase, &a.Kind, &a.Day, &a.Detail, &created, &acked, &a.AcknowledgedBy); err != nil {
		return nil, err
	}
	a.Phase = store.Phase(phase)
	a.CreatedAt, a.AcknowledgedAt = time.UnixMilli(created).UTC(), fromMS(acked)
	return &a, nil
}

func (c *conn) AddAlert(ctx context.Context, a *store.Alert) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO alerts (`+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (trip_id, phase, kind, day) DO NOTHING`,
		a.ID, a.TripID, string(a.Phase), a.Kind, a.Day, a.Detail, a.CreatedAt.UnixMilli(), ms(a.AcknowledgedAt), a.AcknowledgedBy)
	if err != nil {
		return false, fmt.Errorf("raising alert: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (c *conn) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	var where []string
	var args []any
	if f.TripID != "" {
		where = append(where, "trip_id = ?")
		args = append(args, f.TripID)
	}
	if f.OpenOnly {
		where = append(where, "acknowledged_at IS NULL")
	}
	q := `SELECT ` + alertColumns + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q += " ORDER BY created_at DESC, id LIMIT " + strconv.Itoa(limit)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing alerts: %w", err)
	}
	return collect(rows, scanAlert)
}

func (c *conn) GetAlert(ctx context.Context, id string) (*store.Alert, error) {
	a, err := scanAlert(c.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if err := c.scanErr(err, "alert "+id); err != nil {
		return nil, err
	}
	return a, nil
}

func (c *conn) AcknowledgeAlert(ctx context.Context, id, by string, at time.Time) error {
	return c.execOne(ctx, fmt.Errorf("alert %s is unknown or already acknowledged: %w", id, store.ErrConflict),
		`UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL`, at.UnixMilli(), by, id)
}
