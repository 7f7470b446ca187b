package web

import (
	"net/http"

	"github.com/corridorlane/corridor/internal/app"
)

// routeTable lists every route the server answers. The router and the
// OpenAPI document are both built from it.
func (s *Server) routeTable() []*route {
	const get, post = http.MethodGet, http.MethodPost
	pub, user, trav := accessPublic, accessUser, accessTraveller
	rs := []*route{
		// Operations: no session, no CSRF, no page.
		{method: get, path: "/healthz", access: pub, h: s.healthz},
		{method: get, path: "/readyz", access: pub, h: s.readyz},
		{method: get, path: "/metrics", access: pub, h: s.serveMetrics},
		{method: get, path: "/static/", access: pub, h: s.static().ServeHTTP},

		page(get, "/{$}", pub, s.home),
		page(get, "/login", pub, s.pageLogin),
		page(post, "/login", pub, s.pageLoginPost),
		page(post, "/logout", pub, s.pageLogout),
		page(get, "/lang/{lang}", pub, s.setLang),
		page(get, "/account", user, s.pageAccount),
		page(post, "/account/organisation", user, s.pageSwitchOrg),
		page(post, "/account/password", user, s.pagePassword),
		page(get, "/invitations/{token}", pub, s.pageInvitation),
		page(post, "/invitations/{token}", pub, s.pageAcceptInvitation),

		// Trips: sponsors and officials.
		page(get, "/trips", user, s.pageTrips),
		page(get, "/trips/new", user, s.pageNewTrip),
		page(post, "/trips/new", user, s.pageCreateTrip),
		page(get, "/trips/by-reference", user, s.pageByReference),
		page(get, "/trips/{id}", user, s.pageTrip),
		page(get, "/trips/{id}/edit", user, s.pageEditTrip),
		page(post, "/trips/{id}/edit", user, s.pageUpdateTrip),
		page(post, "/trips/{id}/actions/{action}", user, s.pageTripAction),
		page(post, "/trips/{id}/traveller-link", user, s.pageIssueTravellerLink),
		page(post, "/trips/{id}/declarations", user, s.pageDeclareFor),
		page(get, "/trips/{id}/letter", user, s.pageLetter),

		// Labs, border, arrivals, monitoring, the joint mechanism.
		page(get, "/tests/new", user, s.pageNewTest),
		page(post, "/tests/new", user, s.pageRecordTest),
		page(get, "/verify", user, s.pageVerify),
		page(post, "/verify", user, s.pageVerifyPost).limit(2*maxPhotoBody + maxFormBody),
		page(get, "/arrivals", user, s.pageArrivals),
		page(post, "/arrivals", user, s.pageArrivalsFind),
		page(get, "/alerts", user, s.pageAlerts),
		page(post, "/alerts/{id}/acknowledge", user, s.pageAckAlert),
		page(get, "/joint", user, s.pageJoint),
		page(get, "/policy", user, s.pagePolicy),
		page(post, "/policy", user, s.pageChangePolicy).limit(4 * maxPolicyBody),
		page(post, "/joint/lanes/{lane}/suspend", user, s.pageSuspendLane),
		page(post, "/joint/lanes/{lane}/lift", user, s.pageLiftLane),
		page(get, "/joint/ledger", user, s.pageLedger),
		page(post, "/joint/ledger/secondary-cases", user, s.pageRecordSecondary),
		page(get, "/joint/peers", user, s.pagePeers),
		page(get, "/joint/dead-letters", user, s.pageDeadLetters),
		page(post, "/joint/dead-letters/{id}/retry", user, s.pageDeadLetterOp(false, "retried")),
		page(post, "/joint/dead-letters/{id}/dismiss", user, s.pageDeadLetterOp(true, "dismissed")),
		page(get, "/joint/contacts", user, s.pageContacts),

		// Administration.
		page(get, "/admin", user, s.pageAdmin),
		page(post, "/admin/orgs", user, s.pageCreateOrg),
		page(get, "/admin/orgs/{org}", user, s.pageOrg),
		page(post, "/admin/orgs/{org}/invitations", user, s.pageInvite),
		page(post, "/admin/orgs/{org}/members/{user}", user, s.pageSetRoles),
		page(post, "/admin/orgs/{org}/members/{user}/remove", user, s.pageRemoveMember),
		page(post, "/admin/orgs/{org}/tokens", user, s.pageCreateToken),
		page(post, "/admin/orgs/{org}/tokens/{id}/revoke", user, s.pageRevokeToken),

		// The traveller: a personal link, no account.
		page(get, "/t/{token}", pub, s.pageTravellerOpen),
		page(post, "/t/{token}", pub, s.pageTravellerLogin),
		page(get, "/traveller", trav, s.pageTraveller),
		page(post, "/traveller/declarations", trav, s.pageTravellerDeclare),
		page(post, "/traveller/logout", trav, s.pageTravellerLogout),
		page(get, "/traveller/signed-out", pub, s.pageTravellerSignedOut),
	}
	rs = append(rs, s.apiRoutes()...)
	// Any other path answers 404: JSON under /api/, a page elsewhere.
	return append(rs, &route{path: "/api/", api: true, access: pub, h: s.apiNotFound},
		&route{path: "/", access: pub, h: s.notFound})
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.apiError(w, r, &app.Error{Code: app.CodeNotFound, Msg: "no such API route: see /api/v1/openapi.json"})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "error.not_found")
}
