package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// Failed attempts allowed per key (an HMAC of the account or link and the
// client address) in a window. Five tries in fifteen minutes stops
// guessing without locking out a person who mistypes.
const (
	rateLimitMax    = 5
	rateLimitWindow = 15 * time.Minute
	// touchEvery bounds writes from busy sessions: last-seen moves at
	// most this often.
	touchEvery = 5 * time.Minute
)

func (a *App) checkRate(ctx context.Context, key string, now time.Time) error {
	n, err := a.db.RateLimitCount(ctx, key, now, rateLimitWindow)
	if err != nil {
		return storeErr(err, "rate limit")
	}
	if n >= rateLimitMax {
		return &Error{Code: CodeRateLimited, Msg: fmt.Sprintf("too many failed attempts: try again in %d minutes", int(rateLimitWindow.Minutes()))}
	}
	return nil
}

func (a *App) hitRate(ctx context.Context, key string, now time.Time) {
	if _, err := a.db.HitRateLimit(ctx, key, now, rateLimitWindow); err != nil {
		a.log.WarnContext(ctx, "counting a failed attempt", slog.Any("err", err))
	}
}

// NewSession is a fresh sign-in; Secret goes into the session cookie and
// is not kept anywhere else.
type NewSession struct {
	Secret    string
	ExpiresAt time.Time
	UserID    string
	OrgID     string // the membership acted in; "" when the user has none
}

// LoginInput signs a person in.
type LoginInput struct {
	Email    string
	Password string
	ClientIP string
	// PreviousSession is the secret of the session the browser had, if
	// any: it is ended, so a session id planted before login is useless.
	PreviousSession string
}

// Login checks a password and opens a new session. Failures are counted
// per (e-mail, client address) and refused after five in fifteen
// minutes; the answer never tells whether the account exists.
func (a *App) Login(ctx context.Context, in LoginInput) (*NewSession, error) {
	email := normalizeEmail(in.Email)
	now := a.now()
	key := a.keyer.Key("login", email, in.ClientIP)
	if err := a.checkRate(ctx, key, now); err != nil {
		return nil, err
	}
	wrong := &Error{Code: CodeUnauthenticated, Msg: "the e-mail address or the password is wrong"}
	if len(email) > maxEmail || len(in.Password) > auth.MaxPasswordLen {
		a.hitRate(ctx, key, now)
		return nil, wrong
	}
	u, err := a.db.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		auth.BurnPasswordCheck(in.Password, a.cfg.PasswordParams)
		a.hitRate(ctx, key, now)
		return nil, wrong
	}
	if err != nil {
		return nil, storeErr(err, "user")
	}
	rehash, err := auth.CheckPassword(u.PasswordHash, in.Password, a.cfg.PasswordParams)
	if err != nil || !u.DisabledAt.IsZero() {
		a.hitRate(ctx, key, now)
		return nil, wrong
	}
	var newHash string
	if rehash {
		newHash, _ = auth.HashPassword(in.Password, a.cfg.PasswordParams)
	}
	var sess *NewSession
	err = a.tx(ctx, "session", func(tx store.Store) error {
		if err := tx.ResetRateLimit(ctx, key); err != nil {
			return err
		}
		if newHash != "" {
			if err := tx.SetPasswordHash(ctx, u.ID, newHash); err != nil {
				return err
			}
		}
		orgID := ""
		if ms, err := tx.ListMemberships(ctx, u.ID); err != nil {
			return err
		} else if len(ms) > 0 {
			orgID = ms[0].OrgID
		}
		var err error
		sess, err = a.openSession(ctx, tx, u, orgID, in.PreviousSession, now)
		return err
	})
	return sess, err
}

// openSession creates a session (ending previous, if given) and audits
// the sign-in.
func (a *App) openSession(ctx context.Context, tx store.Store, u *store.User, orgID, previous string, now time.Time) (*NewSession, error) {
	if previous != "" && auth.CheckSecretShape(previous, auth.PrefixSession) == nil {
		if err := tx.DeleteSession(ctx, auth.HashSecret(previous)); err != nil {
			return nil, err
		}
	}
	secret, hash, err := auth.NewSecret(auth.PrefixSession)
	if err != nil {
		return nil, err
	}
	s := &store.Session{IDHash: hash, UserID: u.ID, OrgID: orgID, CreatedAt: now, ExpiresAt: now.Add(a.cfg.SessionTTL), LastSeenAt: now}
	if err := tx.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	p := Principal{Kind: KindUser, ID: u.ID}
	if err := tx.AppendAudit(ctx, entry(p, "", "session.login", "user:"+u.ID, now, nil)); err != nil {
		return nil, err
	}
	return &NewSession{Secret: secret, ExpiresAt: s.ExpiresAt, UserID: u.ID, OrgID: orgID}, nil
}

var errNoSession = &Error{Code: CodeUnauthenticated, Msg: "your session has ended: sign in again"}

// Authenticate turns a session secret into the principal acting in the
// session's current membership.
func (a *App) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if auth.CheckSecretShape(secret, auth.PrefixSession) != nil {
		return Principal{}, errNoSession
	}
	hash := auth.HashSecret(secret)
	s, err := a.db.GetSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errNoSession
	}
	if err != nil {
		return Principal{}, storeErr(err, "session")
	}
	now := a.now()
	if !now.Before(s.ExpiresAt) {
		_ = a.db.DeleteSession(ctx, hash)
		return Principal{}, errNoSession
	}
	u, err := a.db.GetUser(ctx, s.UserID)
	if err != nil || !u.DisabledAt.IsZero() {
		return Principal{}, errNoSession
	}
	p := Principal{Kind: KindUser, ID: u.ID, NodeAdmin: u.NodeAdmin}
	if s.OrgID != "" {
		m, err := a.db.GetMembership(ctx, u.ID, s.OrgID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The membership was removed: the session stays, without
			// any role, until the user picks another organisation.
		case err != nil:
			return Principal{}, storeErr(err, "membership")
		default:
			o, err := a.db.GetOrg(ctx, s.OrgID)
			if err != nil {
				return Principal{}, storeErr(err, "organisation")
			}
			p.OrgID, p.OrgKind, p.Roles = o.ID, o.Kind, allowedRoles(o.Kind, m.Roles, true)
		}
	}
	if now.Sub(s.LastSeenAt) > touchEvery {
		_ = a.db.TouchSession(ctx, hash, now)
	}
	return p, nil
}

// SwitchOrganisation makes the session act in another of the user's
// memberships.
func (a *App) SwitchOrganisation(ctx context.Context, secret, orgID string) (Principal, error) {
	p, err := a.Authenticate(ctx, secret)
	if err != nil {
		return Principal{}, err
	}
	if err := idInput("organisation", orgID); err != nil {
		return Principal{}, err
	}
	if _, err := a.db.GetMembership(ctx, p.ID, orgID); err != nil {
		return Principal{}, storeErr(err, "membership")
	}
	if err := a.db.SetSessionOrg(ctx, auth.HashSecret(secret), orgID); err != nil {
		return Principal{}, storeErr(err, "session")
	}
	return a.Authenticate(ctx, secret)
}

// Logout ends a session.
func (a *App) Logout(ctx context.Context, secret string) error {
	if auth.CheckSecretShape(secret, auth.PrefixSession) != nil {
		return nil
	}
	return storeErr(a.db.DeleteSession(ctx, auth.HashSecret(secret)), "session")
}

// ChangePassword sets a new password after checking the current one, and
// ends every other session of the user.
func (a *App) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	if p.Kind != KindUser {
		return forbidden("only people have passwords")
	}
	if err := auth.CheckPasswordRules(next); err != nil {
		return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"new_password": err.Error()}}
	}
	u, err := a.db.GetUser(ctx, p.ID)
	if err != nil {
		return storeErr(err, "user")
	}
	now := a.now()
	key := a.keyer.Key("password", u.ID)
	if err := a.checkRate(ctx, key, now); err != nil {
		return err
	}
	if _, err := auth.CheckPassword(u.PasswordHash, current, a.cfg.PasswordParams); err != nil {
		a.hitRate(ctx, key, now)
		return &Error{Code: CodeInvalid, Msg: "the current password is wrong", Fields: map[string]string{"current_password": "is wrong"}}
	}
	hash, err := auth.HashPassword(next, a.cfg.PasswordParams)
	if err != nil {
		return err
	}
	return a.tx(ctx, "user", func(tx store.Store) error {
		if err := tx.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, entry(p, "", "user.password", "user:"+u.ID, now, nil))
	})
}

// TokenInput creates an API token.
type TokenInput struct {
	OrgID     string
	Name      string // what the client is, e.g. "Seoul lab LIS"
	Roles     auth.Roles
	ExpiresAt time.Time // zero: no expiry
}

// NewAPIToken is a created token and its secret, shown once.
type NewAPIToken struct {
	Token  APIToken
	Secret string
}

// CreateAPIToken creates a token for a machine client of an organisation,
// with trip roles the organisation's kind allows (never admin: machines do
// not manage people). Node admins, or admins of the organisation holding
// every role granted.
func (a *App) CreateAPIToken(ctx context.Context, p Principal, in TokenInput) (*NewAPIToken, error) {
	roles := auth.NewRoles(in.Roles...)
	in.Name = strings.TrimSpace(in.Name)
	var out *NewAPIToken
	err := a.tx(ctx, "API token", func(tx store.Store) error {
		o, role, err := a.manages(ctx, tx, p, UCTokensManage, in.OrgID, roles)
		if err != nil {
			return err
		}
		now := a.now()
		v := invalid{}
		v.text("name", in.Name, maxTokenName, true)
		if err := roles.CheckFor(o.Kind); err != nil {
			v.add("roles", "%v", err)
		} else if roles.Has(auth.RoleAdmin) {
			v.add("roles", "an API token may not hold the admin role")
		}
		if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
			v.add("expires_at", "must be in the future")
		}
		if err := v.err(); err != nil {
			return err
		}
		secret, hash, err := auth.NewSecret(auth.PrefixAPIToken)
		if err != nil {
			return err
		}
		t := store.APIToken{ID: auth.NewID(), TokenHash: hash, OrgID: o.ID, Name: in.Name, Roles: roles,
			CreatedBy: p.ActorID(), CreatedAt: now, ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Millisecond)}
		if err := tx.CreateAPIToken(ctx, &t); err != nil {
			return err
		}
		out = &NewAPIToken{Token: t, Secret: secret}
		return tx.AppendAudit(ctx, entry(p, string(role), "token.create", "org:"+o.ID, now,
			map[string]string{"token": t.ID, "roles": roles.String()}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListAPITokens lists an organisation's tokens (without secrets).
func (a *App) ListAPITokens(ctx context.Context, p Principal, orgID string) ([]APIToken, error) {
	if _, _, err := a.manages(ctx, a.db, p, UCTokensManage, orgID, nil); err != nil {
		return nil, err
	}
	list, err := a.db.ListAPITokens(ctx, orgID)
	for i := range list {
		list[i].TokenHash = ""
	}
	return list, storeErr(err, "API tokens")
}

// RevokeAPIToken revokes a token at once. The manager must hold the
// token's roles (node admins excepted).
func (a *App) RevokeAPIToken(ctx context.Context, p Principal, tokenID string) error {
	if err := idInput("API token", tokenID); err != nil {
		return err
	}
	return a.tx(ctx, "API token", func(tx store.Store) error {
		t, err := tx.GetAPIToken(ctx, tokenID)
		if err != nil {
			return storeErr(err, "API token")
		}
		_, role, err := a.manages(ctx, tx, p, UCTokensManage, t.OrgID, t.Roles)
		if err != nil {
			return err
		}
		now := a.now()
		if err := tx.RevokeAPIToken(ctx, t.ID, now); err != nil {
			return storeErr(err, "active API token")
		}
		return tx.AppendAudit(ctx, entry(p, string(role), "token.revoke", "org:"+t.OrgID, now, map[string]string{"token": t.ID}))
	})
}

var errBadToken = &Error{Code: CodeUnauthenticated, Msg: "the API token is not valid, expired or revoked"}

// AuthenticateToken turns an API token into its principal.
func (a *App) AuthenticateToken(ctx context.Context, secret string) (Principal, error) {
	if auth.CheckSecretShape(secret, auth.PrefixAPIToken) != nil {
		return Principal{}, errBadToken
	}
	t, err := a.db.GetAPITokenByHash(ctx, auth.HashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errBadToken
	}
	if err != nil {
		return Principal{}, storeErr(err, "API token")
	}
	now := a.now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return Principal{}, errBadToken
	}
	o, err := a.db.GetOrg(ctx, t.OrgID)
	if err != nil {
		return Principal{}, storeErr(err, "organisation")
	}
	if now.Sub(t.LastUsedAt) > touchEvery {
		_ = a.db.TouchAPIToken(ctx, t.ID, now)
	}
	return Principal{Kind: KindToken, ID: t.ID, OrgID: o.ID, OrgKind: o.Kind, Roles: allowedRoles(o.Kind, t.Roles, false)}, nil
}

// allowedRoles keeps the roles a member of kind k may hold: a stored role
// never grants more than the kind allows, even if the kinds' rules
// tightened after it was granted.
func allowedRoles(k auth.OrgKind, rs auth.Roles, admin bool) auth.Roles {
	var out []trip.Role
	for _, r := range rs {
		if k.Allows(r) && (admin || r != auth.RoleAdmin) {
			out = append(out, r)
		}
	}
	return auth.NewRoles(out...)
}
