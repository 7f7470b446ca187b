package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
)

// --- organisations

func (c *conn) CreateOrg(ctx context.Context, o *store.Org) error {
	_, err := c.exec(ctx, `INSERT INTO organisations (id, kind, name, country, created_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, string(o.Kind), o.Name, o.Country, o.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("creating organisation: %w", err)
	}
	return nil
}

const orgColumns = `id, kind, name, country, created_at`

func scanOrg(s interface{ Scan(...any) error }) (*store.Org, error) {
	var o store.Org
	var kind string
	var created int64
	if err := s.Scan(&o.ID, &kind, &o.Name, &o.Country, &created); err != nil {
		return nil, err
	}
	o.Kind = auth.OrgKind(kind)
	o.CreatedAt = time.UnixMilli(created).UTC()
	return &o, nil
}

func (c *conn) GetOrg(ctx context.Context, id string) (*store.Org, error) {
	o, err := scanOrg(c.queryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = ?`, id))
	if err := c.scanErr(err, "organisation "+id); err != nil {
		return nil, err
	}
	return o, nil
}

func (c *conn) ListOrgs(ctx context.Context) ([]store.Org, error) {
	rows, err := c.query(ctx, `SELECT `+orgColumns+` FROM organisations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing organisations: %w", err)
	}
	return collect(rows, scanOrg)
}

// collect reads every row with scan.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (*T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// --- users

const userColumns = `id, email, name, password_hash, node_admin, created_at, disabled_at`

func scanUser(s interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var admin int
	var created int64
	var disabled sql.NullInt64
	if err := s.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &admin, &created, &disabled); err != nil {
		return nil, err
	}
	u.NodeAdmin = admin != 0
	u.CreatedAt = time.UnixMilli(created).UTC()
	u.DisabledAt = fromMS(disabled)
	return &u, nil
}

func (c *conn) CreateUser(ctx context.Context, u *store.User) error {
	_, err := c.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.PasswordHash, flag(u.NodeAdmin), u.CreatedAt.UnixMilli(), ms(u.DisabledAt))
	if err != nil {
		return fmt.Errorf("creating user: %w", err)
	}
	return nil
}

func (c *conn) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(c.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err := c.scanErr(err, "user "+id); err != nil {
		return nil, err
	}
	return u, nil
}

func (c *conn) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := scanUser(c.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err := c.scanErr(err, "user by e-mail"); err != nil {
		return nil, err
	}
	return u, nil
}

func (c *conn) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return c.execOne(ctx, notFound("user "+userID), `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
}

func (c *conn) CountNodeAdmins(ctx context.Context) (int, error) {
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE node_admin = 1 AND disabled_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting node admins: %w", err)
	}
	return n, nil
}

// --- memberships

func (c *conn) PutMembership(ctx context.Context, m *store.Membership) error {
	_, err := c.exec(ctx, `INSERT INTO memberships (user_id, org_id, roles, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, org_id) DO UPDATE SET roles = excluded.roles`,
		m.UserID, m.OrgID, m.Roles.String(), m.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("saving membership: %w", err)
	}
	return nil
}

func scanMembership(s interface{ Scan(...any) error }) (*store.Membership, error) {
	var m store.Membership
	var roles string
	var created int64
	if err := s.Scan(&m.UserID, &m.OrgID, &roles, &created); err != nil {
		return nil, err
	}
	m.Roles = auth.ParseRoles(roles)
	m.CreatedAt = time.UnixMilli(created).UTC()
	return &m, nil
}

func (c *conn) GetMembership(ctx context.Context, userID, orgID string) (*store.Membership, error) {
	m, err := scanMembership(c.queryRow(ctx, `SELECT user_id, org_id, roles, created_at FROM memberships WHERE user_id = ? AND org_id = ?`, userID, orgID))
	if err := c.scanErr(err, "membership"); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *conn) ListMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	rows, err := c.query(ctx, `SELECT user_id, org_id, roles, created_at FROM memberships WHERE user_id = ? ORDER BY created_at, org_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("listing memberships: %w", err)
	}
	return collect(rows, scanMembership)
}

func (c *conn) ListMembers(ctx context.Context, orgID string) ([]store.Member, error) {
	rows, err := c.query(ctx, `SELECT m.user_id, m.org_id, m.roles, m.created_at,
			u.id, u.email, u.name, u.password_hash, u.node_admin, u.created_at, u.disabled_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? ORDER BY u.name, u.id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.Member, error) {
		var mb store.Member
		var roles string
		var mCreated, uCreated int64
		var admin int
		var disabled sql.NullInt64
		u := &mb.User
		if err := s.Scan(&mb.Membership.UserID, &mb.Membership.OrgID, &roles, &mCreated,
			&u.ID, &u.Email, &u.Name, &u.PasswordHash, &admin, &uCreated, &disabled); err != nil {
			return nil, err
		}
		mb.Membership.Roles = auth.ParseRoles(roles)
		mb.Membership.CreatedAt = time.UnixMilli(mCreated).UTC()
		u.NodeAdmin = admin != 0
		u.CreatedAt = time.UnixMilli(uCreated).UTC()
		u.DisabledAt = fromMS(disabled)
		return &mb, nil
	})
}

func (c *conn) DeleteMembership(ctx context.Context, userID, orgID string) error {
	return c.execOne(ctx, notFound("membership"), `DELETE FROM memberships WHERE user_id = ? AND org_id = ?`, userID, orgID)
}

// --- invitations

const invitationColumns = `id, token_hash, org_id, email, roles, invited_by, created_at, expires_at, accepted_at, accepted_by`

func scanInvitation(s interface{ Scan(...any) error }) (*store.Invitation, error) {
	var inv store.Invitation
	var roles string
	var created, expires int64
	var accepted sql.NullInt64
	var acceptedBy sql.NullString
	if err := s.Scan(&inv.ID, &inv.TokenHash, &inv.OrgID, &inv.Email, &roles, &inv.InvitedBy, &created, &expires, &accepted, &acceptedBy); err != nil {
		return nil, err
	}
	inv.Roles = auth.ParseRoles(roles)
	inv.CreatedAt = time.UnixMilli(created).UTC()
	inv.ExpiresAt = time.UnixMilli(expires).UTC()
	inv.AcceptedAt = fromMS(accepted)
	inv.AcceptedBy = acceptedBy.String
	return &inv, nil
}

func (c *conn) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	_, err := c.exec(ctx, `INSERT INTO invitations (`+invitationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.TokenHash, inv.OrgID, inv.Email, inv.Roles.String(), inv.InvitedBy,
		inv.CreatedAt.UnixMilli(), inv.ExpiresAt.UnixMilli(), ms(inv.AcceptedAt), nullText(inv.AcceptedBy))
	if err != nil {
		return fmt.Errorf("creating invitation: %w", err)
	}
	return nil
}

func (c *conn) GetInvitationByTokenHash(ctx context.Context, hash string) (*store.Invitation, error) {
	inv, err := scanInvitation(c.queryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE token_hash = ?`, hash))
	if err := c.scanErr(err, "invitation"); err != nil {
		return nil, err
	}
	return inv, nil
}

func (c *conn) ListInvitations(ctx context.Context, orgID string) ([]store.Invitation, error) {
	rows, err := c.query(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE org_id = ? ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("listing invitations: %w", err)
	}
	return collect(rows, scanInvitation)
}

func (c *conn) AcceptInvitation(ctx context.Context, id, userID string, at time.Time) error {
	err := c.execOne(ctx, fmt.Errorf("invitation already accepted: %w", store.ErrConflict),
		`UPDATE invitations SET accepted_at = ?, accepted_by = ? WHERE id = ? AND accepted_at IS NULL`, at.UnixMilli(), userID, id)
	return err
}

// --- sessions

const sessionColumns = `id_hash, user_id, org_id, created_at, expires_at, last_seen_at`

func (c *conn) CreateSession(ctx context.Context, s *store.Session) error {
	_, err := c.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, s.OrgID, s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli(), s.LastSeenAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

func (c *conn) GetSession(ctx context.Context, idHash string) (*store.Session, error) {
	var s store.Session
	var created, expires, seen int64
	err := c.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.UserID, &s.OrgID, &created, &expires, &seen)
	if err := c.scanErr(err, "session"); err != nil {
		return nil, err
	}
	s.CreatedAt = time.UnixMilli(created).UTC()
	s.ExpiresAt = time.UnixMilli(expires).UTC()
	s.LastSeenAt = time.UnixMilli(seen).UTC()
	return &s, nil
}

func (c *conn) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return c.execOne(ctx, notFound("session"), `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, at.UnixMilli(), idHash)
}

func (c *conn) SetSessionOrg(ctx context.Context, idHash, orgID string) error {
	return c.execOne(ctx, notFound("session"), `UPDATE sessions SET org_id = ? WHERE id_hash = ?`, orgID, idHash)
}

func (c *conn) DeleteSession(ctx context.Context, idHash string) error {
	_, err := c.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

func (c *conn) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := c.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

func (c *conn) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, table := range []string{"sessions", "traveller_sessions"} {
		res, err := c.exec(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, now.UnixMilli())
		if err != nil {
			return 0, fmt.Errorf("deleting expired sessions: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += int(n)
	}
	return total, nil
}

// --- traveller sessions

func (c *conn) CreateTravellerSession(ctx context.Context, s *store.TravellerSession) error {
	_, err := c.exec(ctx, `INSERT INTO traveller_sessions (id_hash, trip_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		s.IDHash, s.TripID, s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("creating traveller session: %w", err)
	}
	return nil
}

func (c *conn) GetTravellerSession(ctx context.Context, idHash string) (*store.TravellerSession, error) {
	var s store.TravellerSession
	var created, expires int64
	err := c.queryRow(ctx, `SELECT id_hash, trip_id, created_at, expires_at FROM traveller_sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.TripID, &created, &expires)
	if err := c.scanErr(err, "traveller session"); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &s, nil
}

func (c *conn) DeleteTravellerSession(ctx context.Context, idHash string) error {
	_, err := c.exec(ctx, `DELETE FROM traveller_sessions WHERE id_hash = ?`, idHash)
	return err
}

func (c *conn) DeleteTripTravellerSessions(ctx context.Context, tripID string) error {
	_, err := c.exec(ctx, `DELETE FROM traveller_sessions WHERE trip_id = ?`, tripID)
	return err
}

// --- API tokens

const tokenColumns = `id, token_hash, org_id, name, roles, created_by, created_at, expires_at, revoked_at, last_used_at`

func scanToken(s interface{ Scan(...any) error }) (*store.APIToken, error) {
	var t store.APIToken
	var roles string
	var created int64
	var expires, revoked, used sql.NullInt64
	if err := s.Scan(&t.ID, &t.TokenHash, &t.OrgID, &t.Name, &roles, &t.CreatedBy, &created, &expires, &revoked, &used); err != nil {
		return nil, err
	}
	t.Roles = auth.ParseRoles(roles)
	t.CreatedAt = time.UnixMilli(created).UTC()
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMS(expires), fromMS(revoked), fromMS(used)
	return &t, nil
}

func (c *conn) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	_, err := c.exec(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.TokenHash, t.OrgID, t.Name, t.Roles.String(), t.CreatedBy, t.CreatedAt.UnixMilli(),
		ms(t.ExpiresAt), ms(t.RevokedAt), ms(t.LastUsedAt))
	if err != nil {
		return fmt.Errorf("creating API token: %w", err)
	}
	return nil
}

func (c *conn) GetAPITokenByHash(ctx context.Context, hash string) (*store.APIToken, error) {
	t, err := scanToken(c.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
	if err := c.scanErr(err, "API token"); err != nil {
		return nil, err
	}
	return t, nil
}

func (c *conn) GetAPIToken(ctx context.Context, id string) (*store.APIToken, error) {
	t, err := scanToken(c.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`, id))
	if err := c.scanErr(err, "API token "+id); err != nil {
		return nil, err
	}
	return t, nil
}

func (c *conn) ListAPITokens(ctx context.Context, orgID string) ([]store.APIToken, error) {
	rows, err := c.query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE org_id = ? ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("listing API tokens: %w", err)
	}
	return collect(rows, scanToken)
}

func (c *conn) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	return c.execOne(ctx, notFound("active API token "+id),
		`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, at.UnixMilli(), id)
}

func (c *conn) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return c.execOne(ctx, notFound("API token "+id), `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, at.UnixMilli(), id)
}

// --- rate limits

func (c *conn) HitRateLimit(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	// One upsert: a new key or a key whose window has passed starts at 1,
	// otherwise the count goes up. Atomic on every engine.
	var hits int
	err := c.queryRowWrite(ctx, `INSERT INTO rate_limits (limit_key, window_start, hits) VALUES (?, ?, 1)
		ON CONFLICT (limit_key) DO UPDATE SET
			hits = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.hits + 1 END,
			window_start = CASE WHEN rate_limits.window_start <= ? THEN excluded.window_start ELSE rate_limits.window_start END
		RETURNING hits`,
		key, now.UnixMilli(), now.Add(-window).UnixMilli(), now.Add(-window).UnixMilli()).Scan(&hits)
	if err != nil {
		return 0, fmt.Errorf("counting a rate-limited event: %w", c.classify(err))
	}
	return hits, nil
}

func (c *conn) RateLimitCount(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var hits int
	var start int64
	err := c.queryRow(ctx, `SELECT hits, window_start FROM rate_limits WHERE limit_key = ?`, key).Scan(&hits, &start)
	if err := c.scanErr(err, "rate limit"); err != nil {
		if isNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	if start <= now.Add(-window).UnixMilli() {
		return 0, nil
	}
	return hits, nil
}

func (c *conn) ResetRateLimit(ctx context.Context, key string) error {
	_, err := c.exec(ctx, `DELETE FROM rate_limits WHERE limit_key = ?`, key)
	return err
}

func (c *conn) DeleteStaleRateLimits(ctx context.Context, before time.Time) (int, error) {
	res, err := c.exec(ctx, `DELETE FROM rate_limits WHERE window_start < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting stale rate limits: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
