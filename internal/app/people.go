package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// User is an account as the use cases hand it out: without its password
// hash.
type User struct {
	ID        string
	Email     string
	Name      string
	NodeAdmin bool
	CreatedAt time.Time
}

func userOf(u *store.User) *User {
	return &User{ID: u.ID, Email: u.Email, Name: u.Name, NodeAdmin: u.NodeAdmin, CreatedAt: u.CreatedAt}
}

// Member is one person's membership in an organisation.
type Member struct {
	User  User
	Roles auth.Roles
	Since time.Time
}

// MembershipView is an organisation a user belongs to, for choosing the
// one to act in.
type MembershipView struct {
	Org   Org
	Roles auth.Roles
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateNodeAdmin creates a node administrator: the bootstrap account
// behind `corridor admin create`, with no principal (whoever runs the
// command on the node's machine is trusted). A node admin creates
// organisations and invites their first members; it holds no trip role.
func (a *App) CreateNodeAdmin(ctx context.Context, email, name, password string) (*User, error) {
	email = normalizeEmail(email)
	name = strings.TrimSpace(name)
	v := invalid{}
	v.email("email", email, true)
	v.text("name", name, maxName, true)
	if err := auth.CheckPasswordRules(password); err != nil {
		v.add("password", "%v", err)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(password, a.cfg.PasswordParams)
	if err != nil {
		return nil, err
	}
	now := a.now()
	u := &store.User{ID: auth.NewID(), Email: email, Name: name, PasswordHash: hash, NodeAdmin: true, CreatedAt: now}
	err = a.tx(ctx, "user", func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &Error{Code: CodeConflict, Msg: "an account with this e-mail address exists", Fields: map[string]string{"email": "is taken"}}
			}
			return err
		}
		return tx.AppendAudit(ctx, entry(System(), "", "user.create_admin", "user:"+u.ID, now, nil))
	})
	if err != nil {
		return nil, err
	}
	return userOf(u), nil
}

// OrgInput creates an organisation.
type OrgInput struct {
	Kind    auth.OrgKind
	Name    string
	Country string
}

// CreateOrganisation adds an organisation. Node admins only.
func (a *App) CreateOrganisation(ctx context.Context, p Principal, in OrgInput) (*Org, error) {
	role, err := authorize(p, UCOrgCreate)
	if err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	v := invalid{}
	if !in.Kind.Valid() {
		v.add("kind", "must be one of %s", kindsList())
	}
	v.text("name", in.Name, maxOrgName, true)
	v.country("country", in.Country, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	now := a.now()
	o := &store.Org{ID: auth.NewID(), Kind: in.Kind, Name: in.Name, Country: in.Country, CreatedAt: now}
	err = a.tx(ctx, "organisation", func(tx store.Store) error {
		if err := tx.CreateOrg(ctx, o); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &Error{Code: CodeConflict, Msg: "an organisation with this name exists", Fields: map[string]string{"name": "is taken"}}
			}
			return err
		}
		return tx.AppendAudit(ctx, entry(p, string(role), "org.create", "org:"+o.ID, now, map[string]string{"kind": string(o.Kind)}))
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func kindsList() string {
	parts := make([]string, len(auth.OrgKinds))
	for i, k := range auth.OrgKinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// ListOrganisations lists every organisation for a node admin, and the
// principal's own for an organisation admin.
func (a *App) ListOrganisations(ctx context.Context, p Principal) ([]Org, error) {
	role, err := authorize(p, UCOrgList)
	if err != nil {
		return nil, err
	}
	if role == auth.RoleAdmin && !p.NodeAdmin {
		o, err := a.db.GetOrg(ctx, p.OrgID)
		if err != nil {
			return nil, storeErr(err, "organisation")
		}
		return []Org{*o}, nil
	}
	orgs, err := a.db.ListOrgs(ctx)
	return orgs, storeErr(err, "organisations")
}

// manages checks that p may manage members or tokens of org, granting or
// taking away roles: a node admin may, and so may an admin of that
// organisation who holds every role concerned, so no one grants a
// privilege they lack.
func (a *App) manages(ctx context.Context, s store.Store, p Principal, uc UseCase, orgID string, roles auth.Roles) (*store.Org, trip.Role, error) {
	role, err := authorize(p, uc)
	if err != nil {
		return nil, "", err
	}
	if err := idInput("organisation", orgID); err != nil {
		return nil, "", err
	}
	if !p.NodeAdmin && p.OrgID != orgID {
		return nil, "", forbidden("you may only manage your own organisation")
	}
	o, err := s.GetOrg(ctx, orgID)
	if err != nil {
		return nil, "", storeErr(err, "organisation")
	}
	if !p.NodeAdmin && !p.Roles.Covers(roles) {
		return nil, "", forbidden("you may not grant or take away roles you do not hold yourself (%s)", roles)
	}
	return o, role, nil
}

// InviteInput invites someone into an organisation.
type InviteInput struct {
	OrgID string
	Email string
	Roles auth.Roles
}

// NewInvitation is a created invitation and its secret, shown once: the
// link sent to the invitee carries it.
type NewInvitation struct {
	Invitation Invitation
	Token      string
}

// Invite invites a person by e-mail to join an organisation with roles the
// organisation's kind allows. Node admins, or admins of the organisation
// holding every role granted.
func (a *App) Invite(ctx context.Context, p Principal, in InviteInput) (*NewInvitation, error) {
	in.Email = normalizeEmail(in.Email)
	roles := auth.NewRoles(in.Roles...)
	var out *NewInvitation
	err := a.tx(ctx, "invitation", func(tx store.Store) error {
		o, role, err := a.manages(ctx, tx, p, UCMembersManage, in.OrgID, roles)
		if err != nil {
			return err
		}
		v := invalid{}
		v.email("email", in.Email, true)
		if err := roles.CheckFor(o.Kind); err != nil {
			v.add("roles", "%v", err)
		}
		if err := v.err(); err != nil {
			return err
		}
		secret, hash, err := auth.NewSecret(auth.PrefixInvitation)
		if err != nil {
			return err
		}
		now := a.now()
		inv := store.Invitation{ID: auth.NewID(), TokenHash: hash, OrgID: o.ID, Email: in.Email, Roles: roles,
			InvitedBy: p.ActorID(), CreatedAt: now, ExpiresAt: now.Add(a.cfg.InvitationTTL)}
		if err := tx.CreateInvitation(ctx, &inv); err != nil {
			return err
		}
		out = &NewInvitation{Invitation: inv, Token: secret}
		return tx.AppendAudit(ctx, entry(p, string(role), "member.invite", "org:"+o.ID, now,
			map[string]string{"invitation": inv.ID, "roles": roles.String()}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListInvitations lists an organisation's invitations, newest first.
func (a *App) ListInvitations(ctx context.Context, p Principal, orgID string) ([]Invitation, error) {
	if _, _, err := a.manages(ctx, a.db, p, UCMembersManage, orgID, nil); err != nil {
		return nil, err
	}
	list, err := a.db.ListInvitations(ctx, orgID)
	return list, storeErr(err, "invitations")
}

// AcceptInput accepts an invitation.
type AcceptInput struct {
	Token string
	// Name and Password create the account; for an existing account of
	// the same e-mail, Password must be its password and Name is ignored.
	Name     string
	Password string
	ClientIP string
}

// AcceptInvitation joins the invited organisation, creating the account
// if there is none for the invited e-mail, and signs the person in.
func (a *App) AcceptInvitation(ctx context.Context, in AcceptInput) (*NewSession, error) {
	if auth.CheckSecretShape(in.Token, auth.PrefixInvitation) != nil {
		return nil, notFound("invitation")
	}
	inv, err := a.db.GetInvitationByTokenHash(ctx, auth.HashSecret(in.Token))
	if err != nil {
		return nil, storeErr(err, "invitation")
	}
	now := a.now()
	switch {
	case !inv.AcceptedAt.IsZero():
		return nil, conflict("this invitation has been used")
	case !now.Before(inv.ExpiresAt):
		return nil, conflict("this invitation expired on %s: ask for a new one", inv.ExpiresAt.Format(time.DateOnly))
	}
	limitKey := a.keyer.Key("invitation", inv.ID, in.ClientIP)
	if err := a.checkRate(ctx, limitKey, now); err != nil {
		return nil, err
	}
	existing, err := a.db.GetUserByEmail(ctx, inv.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(err, "user")
	}
	var hash string
	if existing != nil {
		if _, err := auth.CheckPassword(existing.PasswordHash, in.Password, a.cfg.PasswordParams); err != nil {
			a.hitRate(ctx, limitKey, now)
			return nil, &Error{Code: CodeUnauthenticated, Msg: "an account with this e-mail exists: give its password to accept"}
		}
	} else {
		in.Name = strings.TrimSpace(in.Name)
		v := invalid{}
		v.text("name", in.Name, maxName, true)
		if err := auth.CheckPasswordRules(in.Password); err != nil {
			v.add("password", "%v", err)
		}
		if err := v.err(); err != nil {
			return nil, err
		}
		if hash, err = auth.HashPassword(in.Password, a.cfg.PasswordParams); err != nil {
			return nil, err
		}
	}
	var sess *NewSession
	err = a.tx(ctx, "invitation", func(tx store.Store) error {
		u := existing
		if u == nil {
			u = &store.User{ID: auth.NewID(), Email: inv.Email, Name: in.Name, PasswordHash: hash, CreatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := tx.AcceptInvitation(ctx, inv.ID, u.ID, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("this invitation has been used")
			}
			return err
		}
		roles := inv.Roles
		if m, err := tx.GetMembership(ctx, u.ID, inv.OrgID); err == nil {
			roles = auth.NewRoles(append(m.Roles, roles...)...)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutMembership(ctx, &store.Membership{UserID: u.ID, OrgID: inv.OrgID, Roles: roles, CreatedAt: now}); err != nil {
			return err
		}
		p := Principal{Kind: KindUser, ID: u.ID}
		if err := tx.AppendAudit(ctx, entry(p, "", "member.join", "org:"+inv.OrgID, now,
			map[string]string{"invitation": inv.ID, "roles": roles.String()})); err != nil {
			return err
		}
		var err error
		sess, err = a.openSession(ctx, tx, u, inv.OrgID, "", now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// ListMembers lists an organisation's members. Node admins and the
// organisation's admins.
func (a *App) ListMembers(ctx context.Context, p Principal, orgID string) ([]Member, error) {
	if _, _, err := a.manages(ctx, a.db, p, UCMembersManage, orgID, nil); err != nil {
		return nil, err
	}
	list, err := a.db.ListMembers(ctx, orgID)
	if err != nil {
		return nil, storeErr(err, "members")
	}
	out := make([]Member, len(list))
	for i, m := range list {
		out[i] = Member{User: *userOf(&m.User), Roles: m.Membership.Roles, Since: m.Membership.CreatedAt}
	}
	return out, nil
}

// SetMemberRoles replaces a member's roles. The manager must hold both the
// old and the new roles (node admins excepted).
func (a *App) SetMemberRoles(ctx context.Context, p Principal, orgID, userID string, roles auth.Roles) error {
	roles = auth.NewRoles(roles...)
	return a.tx(ctx, "membership", func(tx store.Store) error {
		if err := idInput("member", userID); err != nil {
			return err
		}
		m, err := tx.GetMembership(ctx, userID, orgID)
		if err != nil {
			return storeErr(err, "member")
		}
		o, role, err := a.manages(ctx, tx, p, UCMembersManage, orgID, auth.NewRoles(append(roles, m.Roles...)...))
		if err != nil {
			return err
		}
		if err := roles.CheckFor(o.Kind); err != nil {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"roles": err.Error()}}
		}
		m.Roles = roles
		if err := tx.PutMembership(ctx, m); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, entry(p, string(role), "member.roles", "org:"+orgID, a.now(),
			map[string]string{"member": "user:" + userID, "roles": roles.String()}))
	})
}

// RemoveMember ends a membership and the member's sessions. The manager
// must hold the member's roles (node admins excepted).
func (a *App) RemoveMember(ctx context.Context, p Principal, orgID, userID string) error {
	return a.tx(ctx, "membership", func(tx store.Store) error {
		if err := idInput("member", userID); err != nil {
			return err
		}
		m, err := tx.GetMembership(ctx, userID, orgID)
		if err != nil {
			return storeErr(err, "member")
		}
		_, role, err := a.manages(ctx, tx, p, UCMembersManage, orgID, m.Roles)
		if err != nil {
			return err
		}
		if err := tx.DeleteMembership(ctx, userID, orgID); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, userID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, entry(p, string(role), "member.remove", "org:"+orgID, a.now(),
			map[string]string{"member": "user:" + userID}))
	})
}

// Memberships lists the organisations the principal's user belongs to.
func (a *App) Memberships(ctx context.Context, p Principal) ([]MembershipView, error) {
	if p.Kind != KindUser {
		return nil, forbidden("only people have memberships")
	}
	ms, err := a.db.ListMemberships(ctx, p.ID)
	if err != nil {
		return nil, storeErr(err, "memberships")
	}
	out := make([]MembershipView, 0, len(ms))
	for _, m := range ms {
		o, err := a.db.GetOrg(ctx, m.OrgID)
		if err != nil {
			return nil, storeErr(err, "organisation")
		}
		out = append(out, MembershipView{Org: *o, Roles: m.Roles})
	}
	return out, nil
}
