package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/trip"
)

func principal(r *http.Request) app.Principal { return stateOf(r).p }

// parseTime reads an RFC 3339 time of a named field.
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, invalidField(field, "must be a time such as 2020-05-10T08:30:00Z")
	}
	return t, nil
}

// apiRoutes is the JSON API.
func (s *Server) apiRoutes() []*route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		v1                  = "/api/v1"
	)
	user, pub, trav := accessUser, accessPublic, accessTraveller
	ok, created := http.StatusOK, http.StatusCreated
	rs := []*route{
		// Sessions.
		apiRoute(s, get, v1+"/session", user, "session", "Who is signed in, and the CSRF token for browser clients", ok, s.apiSession),
		apiRoute(s, post, v1+"/session", pub, "session", "Sign in with e-mail and password; sets the session cookie", ok, s.apiLogin).noCSRF(),
		apiRoute(s, del, v1+"/session", user, "session", "Sign out", 0, s.apiLogout),
		apiRoute(s, put, v1+"/session/organisation", user, "session", "Act in another of one's organisations", ok, s.apiSwitchOrg),
		apiRoute(s, post, v1+"/session/password", user, "session", "Change one's password; ends one's other sessions", 0, s.apiChangePassword),
		apiRoute(s, post, v1+"/invitations/accept", pub, "session", "Accept an invitation; creates the account if needed and signs in", ok, s.apiAcceptInvitation).noCSRF(),

		// Trips.
		apiRoute(s, get, v1+"/trips", user, "trips", "List trips (a sponsor sees its own); filters and paging", ok, s.apiListTrips).withQuery(
			queryParam{"lane", "lane id, e.g. CN-KR"}, queryParam{"region", "destination region"},
			queryParam{"state", "trip state; repeat for several"}, queryParam{"sponsor", "sponsor organisation id"},
			queryParam{"reference", "part of a reference"}, queryParam{"order", "oldest (default) or newest"},
			queryParam{"after", "cursor: next of the previous page"}, queryParam{"limit", "1 to 200; 50 by default"}),
		apiRoute(s, post, v1+"/trips", user, "trips", "File a draft application", created, s.apiCreateTrip),
		apiRoute(s, get, v1+"/trips/{id}", user, "trips", "One trip with its history, tests and declarations", ok, s.apiGetTrip),
		apiRoute(s, put, v1+"/trips/{id}", user, "trips", "Replace a draft's (or an application awaiting information's) fields", ok, s.apiUpdateTrip),
		apiRoute(s, get, v1+"/trips/by-reference/{reference}", user, "trips", "One trip by its reference", ok, s.apiGetTripByReference),
		apiRoute(s, post, v1+"/trips/{id}/traveller-link", user, "trips", "Issue the traveller's personal link (replaces the old one)", created, s.apiTravellerLink),
		apiRoute(s, post, v1+"/trips/{id}/declarations", user, "health", "Record a daily declaration for the traveller (health authority, health monitor)", created, s.apiDeclareFor),
		apiRoute(s, post, v1+"/trips/{id}/departure", user, "travel", "Record boarding with flight and seat (border officer)", ok, s.apiDepart),
	}
	for _, a := range tripActions {
		rs = append(rs, s.actionRoute(a))
	}
	rs = append(rs,
		// Labs.
		apiRoute(s, post, v1+"/tests", user, "health", "Record a test result and issue its DCC (lab; usually with an API token)", created, s.apiRecordTest),
		// Border.
		apiRoute(s, post, v1+"/verify", user, "verify", "Verdict on the credentials a traveller shows (border officer, arrival officer)", ok, s.apiVerify),
		apiRoute(s, get, v1+"/bundle", pub, "verify", "The signed offline bundle: trust list, revocation list, entry rules, value sets", ok, s.apiBundle),
		// Monitoring.
		apiRoute(s, get, v1+"/alerts", user, "health", "Monitoring alerts", ok, s.apiAlerts).withQuery(
			queryParam{"open", "true: only alerts not yet acknowledged"}, queryParam{"trip", "trip id"}, queryParam{"limit", "at most this many"}),
		apiRoute(s, post, v1+"/alerts/{id}/acknowledge", user, "health", "Acknowledge an alert", 0, s.apiAckAlert),
		// Joint mechanism.
		apiRoute(s, put, v1+"/lanes/{lane}/suspension", user, "joint", "Suspend a lane until a time (joint officer)", ok, s.apiSuspendLane),
		apiRoute(s, get, v1+"/policy", user, "joint", "The corridor policy in force: id, version, digest and the document", ok, s.apiGetPolicy),
		apiRoute(s, put, v1+"/policy", user, "joint", "Put in force a newer version of the corridor policy (joint officer); the peers receive it", ok, s.apiChangePolicy).limit(2*maxPolicyBody),
		apiRoute(s, del, v1+"/lanes/{lane}/suspension", user, "joint", "Approve lifting a lane's suspension for this side (joint officer); on a lane run with a peer it lifts once an officer of each side approved", ok, s.apiLiftLane),
		apiRoute(s, get, v1+"/ledger", user, "joint", "The joint dashboard: both nodes' positives per route and ISO week, days since the last cross-border infection, route status (joint officer, health authority)", ok, s.apiLedger).withQuery(
			queryParam{"from", "first day, YYYY-MM-DD (UTC); 26 weeks back by default"}, queryParam{"to", "last day, YYYY-MM-DD; today by default"},
			queryParam{"peer", "the peer node's country; the first peer by default"}),
		apiRoute(s, post, v1+"/ledger/secondary-cases", user, "joint", "Record a secondary case: a person who is not a lane traveller, infected by the traveller of a trip (health authority, joint officer)", created, s.apiRecordSecondary),
		apiRoute(s, get, v1+"/federation/peers", user, "joint", "Each peer node's link: outbox, inbox, refusals, open dead letters (joint officer)", ok, s.apiFederationPeers),
		apiRoute(s, get, v1+"/federation/dead-letters", user, "joint", "Peers' messages that could not be applied, with the reason (joint officer)", ok, s.apiDeadLetters).withQuery(
			queryParam{"peer", "peer country, e.g. CN"}, queryParam{"open", "true (default): only those not yet resolved; false: all"},
			queryParam{"limit", "1 to 1000; 200 by default"}),
		apiRoute(s, post, v1+"/federation/dead-letters/{id}/retry", user, "joint", "Apply a dead letter again once its cause is fixed; 409 with the reason if it still cannot be (joint officer)", 0, s.apiRetryDeadLetter),
		apiRoute(s, post, v1+"/federation/dead-letters/{id}/dismiss", user, "joint", "Close a dead letter without applying it (joint officer)", 0, s.apiDismissDeadLetter),
		apiRoute(s, get, v1+"/federation/contacts", user, "joint", "Contacts traced here or by a peer, cases peers notified, tracing requests sent (joint officer)", ok, s.apiTracing).withQuery(
			queryParam{"limit", "1 to 1000 per list; 200 by default"}),
		// Administration.
		apiRoute(s, get, v1+"/orgs", user, "admin", "Organisations (all for a node admin; one's own for an organisation admin)", ok, s.apiListOrgs),
		apiRoute(s, post, v1+"/orgs", user, "admin", "Create an organisation (node admin)", created, s.apiCreateOrg),
		apiRoute(s, get, v1+"/orgs/{org}/members", user, "admin", "An organisation's members", ok, s.apiListMembers),
		apiRoute(s, put, v1+"/orgs/{org}/members/{user}", user, "admin", "Replace a member's roles", 0, s.apiSetRoles),
		apiRoute(s, del, v1+"/orgs/{org}/members/{user}", user, "admin", "Remove a member", 0, s.apiRemoveMember),
		apiRoute(s, get, v1+"/orgs/{org}/invitations", user, "admin", "An organisation's invitations", ok, s.apiListInvitations),
		apiRoute(s, post, v1+"/orgs/{org}/invitations", user, "admin", "Invite someone by e-mail; the link is shown once", created, s.apiInvite),
		apiRoute(s, get, v1+"/orgs/{org}/tokens", user, "admin", "An organisation's API tokens (without secrets)", ok, s.apiListTokens),
		apiRoute(s, post, v1+"/orgs/{org}/tokens", user, "admin", "Create an API token; its secret is shown once", created, s.apiCreateToken),
		apiRoute(s, del, v1+"/tokens/{id}", user, "admin", "Revoke an API token", 0, s.apiRevokeToken),
		// Travellers.
		apiRoute(s, post, v1+"/traveller/session", pub, "traveller", "Open the personal link with the passport number; sets the traveller cookie", ok, s.apiTravellerLogin).noCSRF(),
		apiRoute(s, del, v1+"/traveller/session", trav, "traveller", "Sign the traveller out", 0, s.apiTravellerLogout),
		apiRoute(s, get, v1+"/traveller/trip", trav, "traveller", "The traveller's own trip: timeline, QR texts, declarations", ok, s.apiTravellerTrip),
		apiRoute(s, post, v1+"/traveller/declarations", trav, "traveller", "The traveller's daily declaration", created, s.apiTravellerDeclare),
	)
	rs = append(rs, &route{method: get, path: v1 + "/openapi.json", api: true, access: pub, tag: "meta",
		summary: "This document", status: ok, produces: "application/json", h: s.serveOpenAPI})
	return rs
}

// tripAction is a state-changing action on one trip taken through
// POST /api/v1/trips/{id}/{name}.
type tripAction struct {
	name   string
	action trip.Action
	body   string // "", "reason", "answer"
	run    func(a *app.App, ctx context.Context, p app.Principal, id, text string) (*app.Trip, error)
	desc   string
}

var tripActions = []tripAction{
	{"submit", trip.Submit, "", func(a *app.App, ctx context.Context, p app.Principal, id, _ string) (*app.Trip, error) {
		return a.SubmitTrip(ctx, p, id)
	}, "Submit a complete draft for review (sponsor)"},
	{"answer", trip.Resubmit, "answer", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.AnswerInfo(ctx, p, id, t)
	}, "Answer a request for information and resubmit (sponsor)"},
	{"withdraw", trip.Withdraw, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.WithdrawTrip(ctx, p, id, t)
	}, "Withdraw an application or an unused approval (sponsor, reviewer)"},
	{"request-info", trip.RequestInfo, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.RequestInfo(ctx, p, id, t)
	}, "Ask the sponsor for more information (reviewer)"},
	{"approve", trip.Approve, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.ApproveTrip(ctx, p, id, t)
	}, "Approve within the weekly quota and issue the signed entry approval (reviewer)"},
	{"reject", trip.Reject, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.RejectTrip(ctx, p, id, t)
	}, "Reject, with the reason (reviewer)"},
	{"start-monitoring", trip.StartMonitoring, "", func(a *app.App, ctx context.Context, p app.Principal, id, _ string) (*app.Trip, error) {
		return a.StartPreDepartureMonitoring(ctx, p, id)
	}, "Start pre-departure monitoring (health authority)"},
	{"arrive", trip.Arrive, "", func(a *app.App, ctx context.Context, p app.Principal, id, _ string) (*app.Trip, error) {
		return a.Arrive(ctx, p, id)
	}, "Record arrival (arrival officer, border officer)"},
	{"hold", trip.Hold, "", func(a *app.App, ctx context.Context, p app.Principal, id, _ string) (*app.Trip, error) {
		return a.HoldForArrivalTest(ctx, p, id)
	}, "Hold the traveller for the arrival test (arrival officer)"},
	{"release", trip.Release, "", func(a *app.App, ctx context.Context, p app.Principal, id, _ string) (*app.Trip, error) {
		return a.Release(ctx, p, id)
	}, "Release from the arrival hold when due (arrival officer)"},
	{"isolate", trip.Isolate, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.Isolate(ctx, p, id, t)
	}, "Isolate the traveller, with the reason"},
	{"complete-isolation", trip.Complete, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.CompleteIsolation(ctx, p, id, t)
	}, "End an isolated traveller's trip (health monitor)"},
	{"suspend", trip.Suspend, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.SuspendTrip(ctx, p, id, t)
	}, "Suspend one trip (joint officer)"},
	{"reinstate", trip.Reinstate, "reason", func(a *app.App, ctx context.Context, p app.Principal, id, t string) (*app.Trip, error) {
		return a.ReinstateTrip(ctx, p, id, t)
	}, "Reinstate a suspended trip (joint officer)"},
}

func (s *Server) actionRoute(a tripAction) *route {
	path := "/api/v1/trips/{id}/" + a.name
	done := func(r *http.Request, t *app.Trip, err error) (TripStateJSON, error) {
		if err != nil {
			return TripStateJSON{}, err
		}
		s.metrics.transition(string(a.action))
		return tripState(t), nil
	}
	switch a.body {
	case "reason":
		return apiRoute(s, http.MethodPost, path, accessUser, "trips", a.desc, http.StatusOK,
			func(r *http.Request, in *ReasonJSON) (TripStateJSON, error) {
				t, err := a.run(s.app, r.Context(), principal(r), r.PathValue("id"), in.Reason)
				return done(r, t, err)
			})
	case "answer":
		return apiRoute(s, http.MethodPost, path, accessUser, "trips", a.desc, http.StatusOK,
			func(r *http.Request, in *AnswerJSON) (TripStateJSON, error) {
				t, err := a.run(s.app, r.Context(), principal(r), r.PathValue("id"), in.Answer)
				return done(r, t, err)
			})
	}
	return apiRoute(s, http.MethodPost, path, accessUser, "trips", a.desc, http.StatusOK,
		func(r *http.Request, _ *noBody) (TripStateJSON, error) {
			t, err := a.run(s.app, r.Context(), principal(r), r.PathValue("id"), "")
			return done(r, t, err)
		})
}

// Sessions.

func (s *Server) sessionJSON(ctx context.Context, st *reqState) SessionJSON {
	p := st.p
	out := SessionJSON{Kind: string(p.Kind), ID: p.ID, OrgID: p.OrgID, OrgKind: string(p.OrgKind), Roles: rolesJSON(p.Roles),
		NodeAdmin: p.NodeAdmin}
	if st.via != "token" {
		out.CSRFToken = s.csrfToken(st)
	}
	if p.Kind == app.KindUser {
		if ms, err := s.app.Memberships(ctx, p); err == nil {
			for _, m := range ms {
				out.Memberships = append(out.Memberships, MembershipJSON{OrgID: m.Org.ID, OrgName: m.Org.Name,
					OrgKind: string(m.Org.Kind), Roles: rolesJSON(m.Roles)})
			}
		}
	}
	return out
}

func (s *Server) apiSession(r *http.Request, _ *noBody) (SessionJSON, error) {
	return s.sessionJSON(r.Context(), stateOf(r)), nil
}

// signIn sets the session cookie of a new session and makes the request
// act in it, so the answer's CSRF token is the new one.
func (s *Server) signIn(ctx context.Context, w http.ResponseWriter, st *reqState, ns *app.NewSession) error {
	s.setCookie(w, s.sessionCookie(), ns.Secret, ns.ExpiresAt)
	p, err := s.app.Authenticate(ctx, ns.Secret)
	if err != nil {
		return err
	}
	st.p, st.via, st.secret, st.binding = p, "session", ns.Secret, "s:"+ns.Secret
	return nil
}

func (s *Server) apiLogin(r *http.Request, in *LoginJSON) (SessionJSON, error) {
	st := stateOf(r)
	ns, err := s.app.Login(r.Context(), app.LoginInput{Email: in.Email, Password: in.Password, ClientIP: s.clientIP(r),
		PreviousSession: s.cookieValue(r, s.sessionCookie())})
	if err != nil {
		return SessionJSON{}, err
	}
	if err := s.signIn(r.Context(), responseWriterOf(r), st, ns); err != nil {
		return SessionJSON{}, err
	}
	return s.sessionJSON(r.Context(), st), nil
}

func (s *Server) apiLogout(r *http.Request, _ *noBody) (noContent, error) {
	st := stateOf(r)
	if st.via == "session" {
		if err := s.app.Logout(r.Context(), st.secret); err != nil {
			return noContent{}, err
		}
		s.clearCookie(responseWriterOf(r), s.sessionCookie())
	}
	return noContent{}, nil
}

func (s *Server) apiSwitchOrg(r *http.Request, in *SwitchOrgJSON) (SessionJSON, error) {
	st := stateOf(r)
	if st.via != "session" {
		return SessionJSON{}, &app.Error{Code: app.CodeForbidden, Msg: "only a browser session can switch organisations"}
	}
	p, err := s.app.SwitchOrganisation(r.Context(), st.secret, in.OrgID)
	if err != nil {
		return SessionJSON{}, err
	}
	st.p = p
	return s.sessionJSON(r.Context(), st), nil
}

func (s *Server) apiChangePassword(r *http.Request, in *PasswordChangeJSON) (noContent, error) {
	if err := s.app.ChangePassword(r.Context(), principal(r), in.CurrentPassword, in.NewPassword); err != nil {
		return noContent{}, err
	}
	s.clearCookie(responseWriterOf(r), s.sessionCookie())
	return noContent{}, nil
}

func (s *Server) apiAcceptInvitation(r *http.Request, in *AcceptJSON) (SessionJSON, error) {
	st := stateOf(r)
	ns, err := s.app.AcceptInvitation(r.Context(), app.AcceptInput{Token: strings.TrimSpace(in.Token), Name: in.Name,
		Password: in.Password, ClientIP: s.clientIP(r)})
	if err != nil {
		return SessionJSON{}, err
	}
	if err := s.signIn(r.Context(), responseWriterOf(r), st, ns); err != nil {
		return SessionJSON{}, err
	}
	return s.sessionJSON(r.Context(), st), nil
}

// Trips.

// tripQuery reads a trip list's filters from a query string.
func tripQuery(r *http.Request) (app.TripQuery, error) {
	q := r.URL.Query()
	out := app.TripQuery{Lane: q.Get("lane"), Region: q.Get("region"), SponsorOrgID: q.Get("sponsor"),
		Reference: q.Get("reference"), After: q.Get("after")}
	for _, st := range q["state"] {
		if st != "" {
			out.States = append(out.States, trip.State(st))
		}
	}
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		out.NewestFirst = true
	default:
		return out, invalidField("order", "must be oldest or newest")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return out, invalidField("limit", "must be 1 to 200")
		}
		out.Limit = n
	}
	return out, nil
}

func (s *Server) apiListTrips(r *http.Request, _ *noBody) (TripListJSON, error) {
	q, err := tripQuery(r)
	if err != nil {
		return TripListJSON{}, err
	}
	l, err := s.app.ListTrips(r.Context(), principal(r), q)
	if err != nil {
		return TripListJSON{}, err
	}
	return tripListJSON(l), nil
}

func (s *Server) apiCreateTrip(r *http.Request, in *TripInputJSON) (TripStateJSON, error) {
	t, err := s.app.CreateTrip(r.Context(), principal(r), in.toApp())
	if err != nil {
		return TripStateJSON{}, err
	}
	responseWriterOf(r).Header().Set("Location", "/api/v1/trips/"+t.ID)
	return tripState(t), nil
}

func (s *Server) apiGetTrip(r *http.Request, _ *noBody) (TripJSON, error) {
	d, err := s.app.GetTrip(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return TripJSON{}, err
	}
	return tripJSON(d), nil
}

func (s *Server) apiGetTripByReference(r *http.Request, _ *noBody) (TripJSON, error) {
	d, err := s.app.GetTripByReference(r.Context(), principal(r), r.PathValue("reference"))
	if err != nil {
		return TripJSON{}, err
	}
	return tripJSON(d), nil
}

func (s *Server) apiUpdateTrip(r *http.Request, in *TripUpdateJSON) (TripStateJSON, error) {
	t, err := s.app.UpdateTrip(r.Context(), principal(r), r.PathValue("id"), in.Version, in.TripInputJSON.toApp())
	if err != nil {
		return TripStateJSON{}, err
	}
	return tripState(t), nil
}

func (s *Server) travellerLink(secret string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/t/" + secret
}

func (s *Server) invitationLink(secret string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/invitations/" + secret
}

func (s *Server) apiTravellerLink(r *http.Request, _ *noBody) (TravellerLinkJSON, error) {
	secret, err := s.app.IssueTravellerLink(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return TravellerLinkJSON{}, err
	}
	return TravellerLinkJSON{Link: s.travellerLink(secret), Token: secret}, nil
}

func (s *Server) declare(r *http.Request, p app.Principal, tripID string, in *DeclarationInputJSON) (DeclarationResultJSON, error) {
	res, err := s.app.RecordDeclaration(r.Context(), p, tripID, in.toApp())
	if err != nil {
		return DeclarationResultJSON{}, err
	}
	return DeclarationResultJSON{Declaration: declarationJSON(res.Declaration), Trip: tripState(res.Trip), AlertRaised: res.Alert != nil}, nil
}

func (s *Server) apiDeclareFor(r *http.Request, in *DeclarationInputJSON) (DeclarationResultJSON, error) {
	return s.declare(r, principal(r), r.PathValue("id"), in)
}

func (s *Server) apiDepart(r *http.Request, in *DepartureJSON) (TripStateJSON, error) {
	dep := app.DepartureInput{Flight: in.Flight, Seat: in.Seat}
	if in.DepartedAt != "" {
		t, err := parseTime("departed_at", in.DepartedAt)
		if err != nil {
			return TripStateJSON{}, err
		}
		dep.DepartedAt = t
	}
	t, err := s.app.Depart(r.Context(), principal(r), r.PathValue("id"), dep)
	if err != nil {
		return TripStateJSON{}, err
	}
	s.metrics.transition(string(trip.Depart))
	return tripState(t), nil
}

// Labs.

func (in *TestInputJSON) toApp() (app.TestInput, error) {
	out := app.TestInput{Reference: in.Reference, PassportNumber: in.PassportNumber, TestType: in.TestType,
		TestName: in.TestName, Result: strings.ToLower(strings.TrimSpace(in.Result)), Facility: in.Facility}
	if strings.TrimSpace(in.SampledAt) == "" {
		return out, invalidField("sampled_at", "is required")
	}
	t, err := parseTime("sampled_at", in.SampledAt)
	if err != nil {
		return out, err
	}
	out.SampledAt = t
	return out, nil
}

func (s *Server) apiRecordTest(r *http.Request, in *TestInputJSON) (TestRecordedJSON, error) {
	ti, err := in.toApp()
	if err != nil {
		return TestRecordedJSON{}, err
	}
	res, err := s.app.RecordTest(r.Context(), principal(r), ti)
	if err != nil {
		return TestRecordedJSON{}, err
	}
	return TestRecordedJSON{Test: testJSON(res.Test), Trip: tripState(res.Trip), CaseOpened: res.CaseOpened}, nil
}

// Monitoring.

func (s *Server) apiAlerts(r *http.Request, _ *noBody) ([]AlertJSON, error) {
	q := r.URL.Query()
	aq := app.AlertQuery{TripID: q.Get("trip")}
	switch q.Get("open") {
	case "", "false":
	case "true":
		aq.OpenOnly = true
	default:
		return nil, invalidField("open", "must be true or false")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return nil, invalidField("limit", "must be 1 to 1000")
		}
		aq.Limit = n
	}
	list, err := s.app.ListAlerts(r.Context(), principal(r), aq)
	if err != nil {
		return nil, err
	}
	out := make([]AlertJSON, 0, len(list))
	for _, a := range list {
		out = append(out, alertJSON(a))
	}
	return out, nil
}

func (s *Server) apiAckAlert(r *http.Request, _ *noBody) (noContent, error) {
	return noContent{}, s.app.AcknowledgeAlert(r.Context(), principal(r), r.PathValue("id"))
}

// Joint mechanism.

func (s *Server) apiSuspendLane(r *http.Request, in *LaneSuspensionInputJSON) (LaneSuspensionJSON, error) {
	until, err := parseTime("until", in.Until)
	if err != nil {
		return LaneSuspensionJSON{}, err
	}
	ls, err := s.app.SuspendLane(r.Context(), principal(r), r.PathValue("lane"), until, in.Reason)
	if err != nil {
		return LaneSuspensionJSON{}, err
	}
	return LaneSuspensionJSON{ID: ls.ID, Lane: ls.Lane, StartsAt: ls.StartsAt.UTC(), EndsAt: ls.EndsAt.UTC()}, nil
}

func (s *Server) apiLiftLane(r *http.Request, _ *noBody) (LaneLiftJSON, error) {
	out, err := s.app.LiftLaneSuspension(r.Context(), principal(r), r.PathValue("lane"))
	if err != nil {
		return LaneLiftJSON{}, err
	}
	ls := out.Suspension
	return LaneLiftJSON{LaneSuspensionJSON: LaneSuspensionJSON{ID: ls.ID, Lane: ls.Lane, StartsAt: ls.StartsAt.UTC(), EndsAt: ls.EndsAt.UTC()},
		Lifted: out.Lifted, WaitingFor: out.WaitingFor}, nil
}

// Administration.

func (s *Server) apiListOrgs(r *http.Request, _ *noBody) ([]OrgJSON, error) {
	list, err := s.app.ListOrganisations(r.Context(), principal(r))
	if err != nil {
		return nil, err
	}
	out := make([]OrgJSON, 0, len(list))
	for _, o := range list {
		out = append(out, orgJSON(o))
	}
	return out, nil
}

func (s *Server) apiCreateOrg(r *http.Request, in *OrgInputJSON) (OrgJSON, error) {
	o, err := s.app.CreateOrganisation(r.Context(), principal(r), app.OrgInput{Kind: auth.OrgKind(strings.TrimSpace(in.Kind)),
		Name: in.Name, Country: in.Country})
	if err != nil {
		return OrgJSON{}, err
	}
	return orgJSON(*o), nil
}

func (s *Server) apiListMembers(r *http.Request, _ *noBody) ([]MemberJSON, error) {
	list, err := s.app.ListMembers(r.Context(), principal(r), r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	out := make([]MemberJSON, 0, len(list))
	for _, m := range list {
		out = append(out, MemberJSON{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Roles: rolesJSON(m.Roles), Since: m.Since.UTC()})
	}
	return out, nil
}

func (s *Server) apiSetRoles(r *http.Request, in *RolesJSON) (noContent, error) {
	return noContent{}, s.app.SetMemberRoles(r.Context(), principal(r), r.PathValue("org"), r.PathValue("user"), parseRoles(in.Roles))
}

func (s *Server) apiRemoveMember(r *http.Request, _ *noBody) (noContent, error) {
	return noContent{}, s.app.RemoveMember(r.Context(), principal(r), r.PathValue("org"), r.PathValue("user"))
}

func (s *Server) apiListInvitations(r *http.Request, _ *noBody) ([]InvitationJSON, error) {
	list, err := s.app.ListInvitations(r.Context(), principal(r), r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	out := make([]InvitationJSON, 0, len(list))
	for _, i := range list {
		out = append(out, invitationJSON(i))
	}
	return out, nil
}

func (s *Server) apiInvite(r *http.Request, in *InviteJSON) (NewInvitationJSON, error) {
	ni, err := s.app.Invite(r.Context(), principal(r), app.InviteInput{OrgID: r.PathValue("org"), Email: in.Email, Roles: parseRoles(in.Roles)})
	if err != nil {
		return NewInvitationJSON{}, err
	}
	return NewInvitationJSON{Invitation: invitationJSON(ni.Invitation), Link: s.invitationLink(ni.Token)}, nil
}

func (s *Server) apiListTokens(r *http.Request, _ *noBody) ([]TokenJSON, error) {
	list, err := s.app.ListAPITokens(r.Context(), principal(r), r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	out := make([]TokenJSON, 0, len(list))
	for _, t := range list {
		out = append(out, tokenJSON(t))
	}
	return out, nil
}

func (in *TokenInputJSON) toApp(orgID string) (app.TokenInput, error) {
	out := app.TokenInput{OrgID: orgID, Name: in.Name, Roles: parseRoles(in.Roles)}
	if in.ExpiresAt != "" {
		t, err := parseTime("expires_at", in.ExpiresAt)
		if err != nil {
			return out, err
		}
		out.ExpiresAt = t
	}
	return out, nil
}

func (s *Server) apiCreateToken(r *http.Request, in *TokenInputJSON) (NewTokenJSON, error) {
	ti, err := in.toApp(r.PathValue("org"))
	if err != nil {
		return NewTokenJSON{}, err
	}
	nt, err := s.app.CreateAPIToken(r.Context(), principal(r), ti)
	if err != nil {
		return NewTokenJSON{}, err
	}
	return NewTokenJSON{Token: tokenJSON(nt.Token), Secret: nt.Secret}, nil
}

func (s *Server) apiRevokeToken(r *http.Request, _ *noBody) (noContent, error) {
	return noContent{}, s.app.RevokeAPIToken(r.Context(), principal(r), r.PathValue("id"))
}

// Travellers.

func (s *Server) apiTravellerLogin(r *http.Request, in *TravellerLoginJSON) (TravellerTripJSON, error) {
	ts, err := s.app.OpenTravellerLink(r.Context(), app.TravellerLogin{Token: strings.TrimSpace(in.Token),
		PassportNumber: in.PassportNumber, ClientIP: s.clientIP(r)})
	if err != nil {
		return TravellerTripJSON{}, err
	}
	s.setCookie(responseWriterOf(r), s.travellerCookie(), ts.Secret, ts.ExpiresAt)
	p, err := s.app.AuthenticateTraveller(r.Context(), ts.Secret)
	if err != nil {
		return TravellerTripJSON{}, err
	}
	v, err := s.app.TravellerView(r.Context(), p)
	if err != nil {
		return TravellerTripJSON{}, err
	}
	return travellerTripJSON(v), nil
}

func (s *Server) apiTravellerLogout(r *http.Request, _ *noBody) (noContent, error) {
	st := stateOf(r)
	if err := s.app.EndTravellerSession(r.Context(), st.secret); err != nil {
		return noContent{}, err
	}
	s.clearCookie(responseWriterOf(r), s.travellerCookie())
	return noContent{}, nil
}

func (s *Server) apiTravellerTrip(r *http.Request, _ *noBody) (TravellerTripJSON, error) {
	v, err := s.app.TravellerView(r.Context(), principal(r))
	if err != nil {
		return TravellerTripJSON{}, err
	}
	return travellerTripJSON(v), nil
}

func (s *Server) apiTravellerDeclare(r *http.Request, in *DeclarationInputJSON) (DeclarationResultJSON, error) {
	p := principal(r)
	return s.declare(r, p, p.ID, in)
}

// Bundle and document.

func (s *Server) apiBundle(r *http.Request, _ *noBody) (rawJSON, error) {
	b, err := s.cfg.Bundle(r.Context())
	if err != nil {
		return nil, fmt.Errorf("making the offline bundle: %w", err)
	}
	responseWriterOf(r).Header().Set("Content-Disposition", `attachment; filename="corridor-bundle.json"`)
	return rawJSON(b), nil
}
