package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// tripColumns lists the trip columns in the order of tripValues and
// scanTrip.
var tripColumns = []string{
	"id", "reference", "state", "suspended_from", "version", "lane", "region", "purpose", "sponsor_org_id", "created_by",
	"given_name", "family_name", "given_name_icao", "family_name_icao", "date_of_birth", "sex", "nationality",
	"passport_country", "passport_number", "email", "phone", "host_name", "host_email", "host_phone",
	"departure_date", "return_date", "traveller_token_hash", "approval_id", "approval_hc1", "approved_at",
	"approval_valid_until", "monitoring_started_at", "cleared_at", "flight", "seat", "departed_at", "arrived_at",
	"hold_started_at", "hold_until", "released_at", "follow_up_until", "created_at", "updated_at", "submitted_at",
	"finished_at", "purged_at",
}

var tripSelect = "SELECT " + strings.Join(tripColumns, ", ") + " FROM trips"

func tripValues(t *store.Trip) []any {
	tv := &t.Traveller
	return []any{
		t.ID, t.Reference, string(t.State), string(t.SuspendedFrom), t.Version, t.Lane, t.Region, t.Purpose, t.SponsorOrgID, t.CreatedBy,
		tv.GivenName, tv.FamilyName, tv.GivenNameICAO, tv.FamilyNameICAO, tv.DateOfBirth, tv.Sex, tv.Nationality,
		tv.PassportCountry, tv.PassportNumber, tv.Email, tv.Phone, t.Host.Name, t.Host.Email, t.Host.Phone,
		t.DepartureDate, t.ReturnDate, nullText(t.TravellerTokenHash), t.ApprovalID, t.ApprovalHC1, ms(t.ApprovedAt),
		ms(t.ApprovalValidUntil), ms(t.MonitoringStartedAt), ms(t.ClearedAt), t.Flight, t.Seat, ms(t.DepartedAt), ms(t.ArrivedAt),
		ms(t.HoldStartedAt), ms(t.HoldUntil), ms(t.ReleasedAt), ms(t.FollowUpUntil), t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli(), ms(t.SubmittedAt),
		ms(t.FinishedAt), ms(t.PurgedAt),
	}
}

func scanTrip(s interface{ Scan(...any) error }) (*store.Trip, error) {
	var t store.Trip
	tv := &t.Traveller
	var state, suspended string
	var token sql.NullString
	var created, updated int64
	var approved, validUntil, monStart, cleared, departed, arrived, holdStart, holdUntil, released, followUp, submitted, finished, purged sql.NullInt64
	err := s.Scan(&t.ID, &t.Reference, &state, &suspended, &t.Version, &t.Lane, &t.Region, &t.Purpose, &t.SponsorOrgID, &t.CreatedBy,
		&tv.GivenName, &tv.FamilyName, &tv.GivenNameICAO, &tv.FamilyNameICAO, &tv.DateOfBirth, &tv.Sex, &tv.Nationality,
		&tv.PassportCountry, &tv.PassportNumber, &tv.Email, &tv.Phone, &t.Host.Name, &t.Host.Email, &t.Host.Phone,
		&t.DepartureDate, &t.ReturnDate, &token, &t.ApprovalID, &t.ApprovalHC1, &approved,
		&validUntil, &monStart, &cleared, &t.Flight, &t.Seat, &departed, &arrived,
		&holdStart, &holdUntil, &released, &followUp, &created, &updated, &submitted,
		&finished, &purged)
	if err != nil {
		return nil, err
	}
	t.State, t.SuspendedFrom = trip.State(state), trip.State(suspended)
	t.TravellerTokenHash = token.String
	t.ApprovedAt, t.ApprovalValidUntil, t.MonitoringStartedAt, t.ClearedAt = fromMS(approved), fromMS(validUntil), fromMS(monStart), fromMS(cleared)
	t.DepartedAt, t.ArrivedAt, t.HoldStartedAt, t.HoldUntil = fromMS(departed), fromMS(arrived), fromMS(holdStart), fromMS(holdUntil)
	t.ReleasedAt, t.FollowUpUntil, t.SubmittedAt = fromMS(released), fromMS(followUp), fromMS(submitted)
	t.FinishedAt, t.PurgedAt = fromMS(finished), fromMS(purged)
	t.CreatedAt, t.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &t, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (c *conn) CreateTrip(ctx context.Context, t *store.Trip) error {
	if t.Version == 0 {
		t.Version = 1
	}
	_, err := c.exec(ctx, "INSERT INTO trips ("+strings.Join(tripColumns, ", ")+") VALUES ("+placeholders(len(tripColumns))+")", tripValues(t)...)
	if err != nil {
		return fmt.Errorf("creating trip: %w", err)
	}
	return nil
}

func (c *conn) getTrip(ctx context.Context, what, where string, arg any) (*store.Trip, error) {
	t, err := scanTrip(c.queryRow(ctx, tripSelect+" WHERE "+where, arg))
	if err := c.scanErr(err, what); err != nil {
		return nil, err
	}
	return t, nil
}

func (c *conn) GetTrip(ctx context.Context, id string) (*store.Trip, error) {
	return c.getTrip(ctx, "trip "+id, "id = ?", id)
}

func (c *conn) GetTripByReference(ctx context.Context, ref string) (*store.Trip, error) {
	return c.getTrip(ctx, "trip "+ref, "reference = ?", ref)
}

func (c *conn) GetTripByTravellerToken(ctx context.Context, hash string) (*store.Trip, error) {
	return c.getTrip(ctx, "trip by traveller link", "traveller_token_hash = ?", hash)
}

var tripUpdate = func() string {
	sets := make([]string, 0, len(tripColumns))
	for _, col := range tripColumns[1:] { // not id
		sets = append(sets, col+" = ?")
	}
	return "UPDATE trips SET " + strings.Join(sets, ", ") + " WHERE id = ? AND version = ?"
}()

func (c *conn) UpdateTrip(ctx context.Context, t *store.Trip) error {
	old := t.Version
	t.Version = old + 1
	vals := tripValues(t)
	args := append(vals[1:], t.ID, old)
	err := c.execOne(ctx, fmt.Errorf("trip %s changed since it was read: %w", t.Reference, store.ErrConflict), tripUpdate, args...)
	if err != nil {
		t.Version = old
		return err
	}
	return nil
}

// A cursor is the last row's creation time and id, so that pages stay
// stable while new trips arrive.
func encodeCursor(t *store.Trip) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.CreatedAt.UnixMilli(), 10) + ":" + t.ID))
}

func decodeCursor(s string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 100 {
		return 0, "", store.ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", store.ErrBadCursor
	}
	return n, id, nil
}

func (c *conn) ListTrips(ctx context.Context, f store.TripFilter) (store.TripPage, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.SponsorOrgID != "" {
		add("sponsor_org_id = ?", f.SponsorOrgID)
	}
	if f.Lane != "" {
		add("lane = ?", f.Lane)
	}
	if f.Region != "" {
		add("region = ?", f.Region)
	}
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i, s := range f.States {
			ph[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "state IN ("+strings.Join(ph, ", ")+")")
	}
	if f.Reference != "" {
		add(`reference LIKE ? ESCAPE '\'`, "%"+escapeLike(f.Reference)+"%")
	}
	filter := ""
	if len(where) > 0 {
		filter = " WHERE " + strings.Join(where, " AND ")
	}
	var page store.TripPage
	if err := c.queryRow(ctx, "SELECT COUNT(*) FROM trips"+filter, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting trips: %w", c.classify(err))
	}
	cmp, dir := ">", "ASC"
	if f.Order == store.NewestFirst {
		cmp, dir = "<", "DESC"
	}
	if f.After != "" {
		at, id, err := decodeCursor(f.After)
		if err != nil {
			return page, err
		}
		// Row-value comparison is not on every engine's list: spell it out.
		add("(created_at "+cmp+" ? OR (created_at = ? AND id "+cmp+" ?))", at, at, id)
		filter = " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := c.query(ctx, tripSelect+filter+" ORDER BY created_at "+dir+", id "+dir+" LIMIT "+strconv.Itoa(limit+1), args...)
	if err != nil {
		return page, fmt.Errorf("listing trips: %w", err)
	}
	trips, err := collect(rows, scanTrip)
	if err != nil {
		return page, fmt.Errorf("listing trips: %w", err)
	}
	if len(trips) > limit {
		trips = trips[:limit]
		page.Next = encodeCursor(&trips[limit-1])
	}
	page.Trips = trips
	return page, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// dueColumns whitelists the columns ListDue may compare.
var dueColumns = map[store.DueField]string{
	store.DueHold:           "hold_until",
	store.DueFollowUp:       "follow_up_until",
	store.DueApproval:       "approval_valid_until",
	store.DueFinishedBefore: "finished_at",
}

func (c *conn) ListDue(ctx context.Context, states []trip.State, field store.DueField, before time.Time, limit int) ([]string, error) {
	col, ok := dueColumns[field]
	if !ok || len(states) == 0 {
		return nil, fmt.Errorf("listing due trips: unknown field %q or no states", field)
	}
	args := make([]any, 0, len(states)+1)
	ph := make([]string, len(states))
	for i, s := range states {
		ph[i] = "?"
		args = append(args, string(s))
	}
	args = append(args, before.UnixMilli())
	q := "SELECT id FROM trips WHERE state IN (" + strings.Join(ph, ", ") + ") AND " + col + " IS NOT NULL AND " + col + " <= ?"
	if field == store.DueFinishedBefore {
		q += " AND purged_at IS NULL"
	}
	if limit <= 0 {
		limit = 500
	}
	q += " ORDER BY " + col + ", id LIMIT " + strconv.Itoa(limit)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing due trips: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (c *conn) CountTrips(ctx context.Context) (map[trip.State]int, error) {
	rows, err := c.query(ctx, `SELECT state, COUNT(*) FROM trips GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("counting trips: %w", err)
	}
	defer rows.Close()
	out := map[trip.State]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[trip.State(s)] = n
	}
	return out, rows.Err()
}

func (c *conn) ReplaceItinerary(ctx context.Context, tripID string, items []store.ItineraryItem) error {
	if _, err := c.exec(ctx, `DELETE FROM itinerary_items WHERE trip_id = ?`, tripID); err != nil {
		return fmt.Errorf("replacing itinerary: %w", err)
	}
	for i, it := range items {
		if _, err := c.exec(ctx, `INSERT INTO itinerary_items (trip_id, pos, kind, site, address, from_date, to_date) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tripID, i, it.Kind, it.Site, it.Address, it.FromDate, it.ToDate); err != nil {
			return fmt.Errorf("replacing itinerary: %w", err)
		}
	}
	return nil
}

func (c *conn) ListItinerary(ctx context.Context, tripID string) ([]store.ItineraryItem, error) {
	rows, err := c.query(ctx, `SELECT kind, site, address, from_date, to_date FROM itinerary_items WHERE trip_id = ? ORDER BY pos`, tripID)
	if err != nil {
		return nil, fmt.Errorf("reading itinerary: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.ItineraryItem, error) {
		var it store.ItineraryItem
		return &it, s.Scan(&it.Kind, &it.Site, &it.Address, &it.FromDate, &it.ToDate)
	})
}

func (c *conn) AddTransition(ctx context.Context, tr *store.Transition) error {
	// The next sequence number is read and written in the caller's
	// transaction, right after the trip row was updated under its version
	// check, so no other writer can take the same number; the unique index
	// stands guard all the same.
	var seq int
	if err := c.queryRowWrite(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM transitions WHERE trip_id = ?`, tr.TripID).Scan(&seq); err != nil {
		return fmt.Errorf("recording transition: %w", c.classify(err))
	}
	tr.Seq = seq
	_, err := c.exec(ctx, `INSERT INTO transitions (id, trip_id, seq, action, from_state, to_state, actor, actor_role, reason, occurred_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tr.ID, tr.TripID, tr.Seq, string(tr.Action), string(tr.From), string(tr.To), tr.Actor.ID, string(tr.Actor.Role), tr.Reason, tr.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("recording transition: %w", err)
	}
	return nil
}

func (c *conn) ListTransitions(ctx context.Context, tripID string) ([]store.Transition, error) {
	rows, err := c.query(ctx, `SELECT id, trip_id, seq, action, from_state, to_state, actor, actor_role, reason, occurred_at
		FROM transitions WHERE trip_id = ? ORDER BY seq`, tripID)
	if err != nil {
		return nil, fmt.Errorf("reading transitions: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.Transition, error) {
		var tr store.Transition
		var action, from, to, role string
		var at int64
		if err := s.Scan(&tr.ID, &tr.TripID, &tr.Seq, &action, &from, &to, &tr.Actor.ID, &role, &tr.Reason, &at); err != nil {
			return nil, err
		}
		tr.Action, tr.From, tr.To, tr.Actor.Role = trip.Action(action), trip.State(from), trip.State(to), trip.Role(role)
		tr.At = time.UnixMilli(at).UTC()
		return &tr, nil
	})
}

func (c *conn) PurgeTrip(ctx context.Context, tripID string, at time.Time) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{`UPDATE trips SET given_name = '', family_name = '', given_name_icao = '', family_name_icao = '', date_of_birth = '',
			sex = '', nationality = '', passport_country = '', passport_number = '', email = '', phone = '',
			host_name = '', host_email = '', host_phone = '', traveller_token_hash = NULL, approval_hc1 = '',
			flight = '', seat = '', purged_at = ?, version = version + 1 WHERE id = ?`, []any{at.UnixMilli(), tripID}},
		{`UPDATE itinerary_items SET site = '', address = '' WHERE trip_id = ?`, []any{tripID}},
		{`UPDATE declarations SET note = '' WHERE trip_id = ?`, []any{tripID}},
		{`UPDATE transitions SET reason = '' WHERE trip_id = ?`, []any{tripID}},
		{`UPDATE tests SET hc1 = '' WHERE trip_id = ?`, []any{tripID}},
		{`DELETE FROM traveller_sessions WHERE trip_id = ?`, []any{tripID}},
		// The federation's copies: the salted passport hash of a shared
		// trip and the trip's place in the tracing index.
		{`UPDATE federation_trip_links SET passport_salt = '', passport_hash = '' WHERE trip_id = ?`, []any{tripID}},
		{`DELETE FROM trace_keys WHERE trip_id = ?`, []any{tripID}},
		{`DELETE FROM trace_exposures WHERE trip_id = ?`, []any{tripID}},
		// A secondary case's note may describe the person infected; its
		// link, date and local reference stay for the ledger.
		{`UPDATE secondary_cases SET note = '' WHERE trip_id = ?`, []any{tripID}},
	}
	for i, s := range stmts {
		res, err := c.exec(ctx, s.q, s.args...)
		if err != nil {
			return fmt.Errorf("purging trip %s: %w", tripID, err)
		}
		if i == 0 {
			if n, _ := res.RowsAffected(); n == 0 {
				return notFound("trip " + tripID)
			}
		}
	}
	return nil
}
