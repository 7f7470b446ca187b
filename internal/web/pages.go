package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/verify"
)

// Operations.

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.cfg.Ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) static() http.Handler {
	h := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// Sign-in.

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	switch principal(r).Kind {
	case app.KindUser:
		s.render(w, r, http.StatusOK, "home", s.newView(w, r, "title.home", nil))
	case app.KindTraveller:
		http.Redirect(w, r, "/traveller", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	v := s.newView(w, r, "title.login", nil)
	v.Form.Set("next", localPath(r.URL.Query().Get("next")))
	s.render(w, r, http.StatusOK, "login", v)
}

func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	st := stateOf(r)
	ns, err := s.app.Login(r.Context(), app.LoginInput{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"),
		ClientIP: s.clientIP(r), PreviousSession: s.cookieValue(r, s.sessionCookie())})
	if err != nil {
		r.PostForm.Del("password")
		s.formError(w, r, err, "title.login", "login", nil)
		return
	}
	if err := s.signIn(r.Context(), w, st, ns); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	if st.via == "session" {
		_ = s.app.Logout(r.Context(), st.secret)
	}
	s.clearCookie(w, s.sessionCookie())
	http.Redirect(w, r, "/login?done=signed_out", http.StatusSeeOther)
}

func (s *Server) cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// setLang is the language switch: a link that sets the lang cookie and
// returns to the page.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	l, ok := i18n.Parse(r.PathValue("lang"))
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieLang, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: s.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// Account.

type accountData struct {
	Memberships []app.MembershipView
}

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request) {
	s.accountPage(w, r, http.StatusOK, nil)
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	p := principal(r)
	if p.Kind != app.KindUser {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	ms, err := s.app.Memberships(r.Context(), p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(w, r, "title.account", &accountData{Memberships: ms})
	if problem != nil {
		v.setError(problem)
	}
	s.render(w, r, status, "account", v)
}

func (s *Server) pageSwitchOrg(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	st := stateOf(r)
	if st.via != "session" {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	if _, err := s.app.SwitchOrganisation(r.Context(), st.secret, r.PostForm.Get("org")); err != nil {
		s.accountPage(w, r, statusOf(err), err)
		return
	}
	http.Redirect(w, r, "/?done=switched", http.StatusSeeOther)
}

func (s *Server) pagePassword(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	err := s.app.ChangePassword(r.Context(), principal(r), r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
	if err != nil {
		s.accountPage(w, r, statusOf(err), err)
		return
	}
	s.clearCookie(w, s.sessionCookie())
	http.Redirect(w, r, "/login?done=password_changed", http.StatusSeeOther)
}

// Invitations.

func (s *Server) pageInvitation(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "invitation", s.newView(w, r, "title.invitation", nil))
}

func (s *Server) pageAcceptInvitation(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	ns, err := s.app.AcceptInvitation(r.Context(), app.AcceptInput{Token: r.PathValue("token"), Name: r.PostForm.Get("name"),
		Password: r.PostForm.Get("password"), ClientIP: s.clientIP(r)})
	if err != nil {
		r.PostForm.Del("password")
		s.formError(w, r, err, "title.invitation", "invitation", nil)
		return
	}
	if err := s.signIn(r.Context(), w, stateOf(r), ns); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/?done=joined", http.StatusSeeOther)
}

// Labs.

type testFormData struct {
	Results []string
	Types   []string
	Done    *app.TestRecorded
}

func (s *Server) testForm() *testFormData {
	return &testFormData{Results: []string{"negative", "positive"}, Types: []string{"NAAT", "RAT"}}
}

func (s *Server) pageNewTest(w http.ResponseWriter, r *http.Request) {
	if !app.Can(principal(r), app.UCTestRecord) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	v := s.newView(w, r, "title.record_test", s.testForm())
	v.Form.Set("sampled_at", s.now().UTC().Format("2006-01-02T15:04"))
	s.render(w, r, http.StatusOK, "test_form", v)
}

func (s *Server) pageRecordTest(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := r.PostForm
	in := app.TestInput{Reference: f.Get("reference"), PassportNumber: f.Get("passport_number"), TestType: f.Get("test_type"),
		TestName: f.Get("test_name"), Result: f.Get("result"), Facility: f.Get("facility")}
	data := s.testForm()
	sampled, err := time.Parse("2006-01-02T15:04", strings.TrimSpace(f.Get("sampled_at")))
	if err != nil {
		s.formError(w, r, invalidField("sampled_at", "must be a time such as 2020-05-10T08:30:00Z"), "title.record_test", "test_form", data)
		return
	}
	in.SampledAt = sampled.UTC()
	res, err := s.app.RecordTest(r.Context(), principal(r), in)
	if err != nil {
		s.formError(w, r, err, "title.record_test", "test_form", data)
		return
	}
	data.Done = res
	v := s.newView(w, r, "title.record_test", data)
	v.Flash = "flash.test_recorded"
	v.Form.Set("sampled_at", s.now().UTC().Format("2006-01-02T15:04"))
	s.render(w, r, http.StatusOK, "test_form", v)
}

// The verifier page.

type verifyData struct {
	V         *verdict
	Reasons   []string // translated
	Steps     []verify.Step
	TripID    string
	CanDepart bool
	CanArrive bool
	Rules     func(id string) string
}

func (s *Server) pageVerify(w http.ResponseWriter, r *http.Request) {
	if err := s.mayVerify(principal(r)); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "verify", s.newView(w, r, "title.verify", &verifyData{V: &verdict{}, Steps: verify.Steps}))
}

func (s *Server) pageVerifyPost(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.mayVerify(p); err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := r.ParseMultipartForm(maxPhotoBody); err != nil && err != http.ErrNotMultipart {
		s.formError(w, r, invalidField("photo", "the picture is too large or could not be read"), "title.verify", "verify",
			&verifyData{V: &verdict{}, Steps: verify.Steps})
		return
	}
	if r.PostForm == nil {
		_ = r.ParseForm()
	}
	var texts []string
	for _, k := range []string{"approval", "test"} {
		if t := strings.TrimSpace(r.PostForm.Get(k)); t != "" {
			if len(t) > maxHC1 {
				s.formError(w, r, invalidField(k, "must be at most 4500 characters"), "title.verify", "verify", &verifyData{V: &verdict{}, Steps: verify.Steps})
				return
			}
			texts = append(texts, t)
		}
	}
	var pictures [][]byte
	for _, k := range []string{"approval_photo", "test_photo"} {
		pic, err := readUpload(r, k)
		if err != nil {
			s.formError(w, r, err, "title.verify", "verify", &verifyData{V: &verdict{}, Steps: verify.Steps})
			return
		}
		if pic != nil {
			pictures = append(pictures, pic)
		}
	}
	if len(texts) == 0 && len(pictures) == 0 {
		s.formError(w, r, invalidField("approval", "paste the QR code's text or choose a photo of it"), "title.verify", "verify",
			&verifyData{V: &verdict{}, Steps: verify.Steps})
		return
	}
	vd := s.check(texts, pictures, r.PostForm.Get("passport_country"), r.PostForm.Get("passport_number"))
	data := &verifyData{V: vd, Steps: verify.Steps}
	l := stateOf(r).lang
	for _, rs := range vd.Reasons {
		data.Reasons = append(data.Reasons, s.reasonText(l, rs))
	}
	rules := s.verifier("").Rules
	data.Rules = func(id string) string { return ruleDescription(rules, id, l) }
	if vd.Reference != "" {
		if d, err := s.app.GetTripByReference(r.Context(), p, vd.Reference); err == nil {
			data.TripID = d.ID
			data.CanDepart = d.State == trip.Cleared && app.Can(p, app.UCTripDepart)
			data.CanArrive = d.State == trip.Departed && app.Can(p, app.UCTripArrive)
		}
	}
	v := s.newView(w, r, "title.verify", data)
	v.Form = url.Values{"passport_country": {r.PostForm.Get("passport_country")}}
	s.render(w, r, http.StatusOK, "verify", v)
}

// The arrival desk.

func (s *Server) pageArrivals(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if !app.Can(p, app.UCTripArrive) && !app.Can(p, app.UCTripHold) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	s.arrivalsPage(w, r, http.StatusOK, nil)
}

type arrivalsData struct {
	Held     *app.TripList
	Arrived  *app.TripList
	Departed *app.TripList
}

func (s *Server) arrivalsPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	p := principal(r)
	d := &arrivalsData{}
	var err error
	if d.Departed, err = s.app.ListTrips(r.Context(), p, app.TripQuery{States: []trip.State{trip.Departed}, Limit: 50}); err != nil {
		s.pageError(w, r, err)
		return
	}
	if d.Arrived, err = s.app.ListTrips(r.Context(), p, app.TripQuery{States: []trip.State{trip.Arrived}, Limit: 50}); err != nil {
		s.pageError(w, r, err)
		return
	}
	if d.Held, err = s.app.ListTrips(r.Context(), p, app.TripQuery{States: []trip.State{trip.ArrivalHold}, Limit: 50}); err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(w, r, "title.arrivals", d)
	if problem != nil {
		v.Form = r.PostForm
		v.setError(problem)
	}
	s.render(w, r, status, "arrivals", v)
}

// pageArrivalsFind finds a trip by reference, or by the entry approval's
// QR text: the approval is verified first, so a forged QR finds nothing.
func (s *Server) pageArrivalsFind(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if !app.Can(p, app.UCTripArrive) && !app.Can(p, app.UCTripHold) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	ref := strings.TrimSpace(r.PostForm.Get("reference"))
	if text := strings.TrimSpace(r.PostForm.Get("qr")); text != "" {
		if len(text) > maxHC1 {
			s.arrivalsPage(w, r, http.StatusUnprocessableEntity, invalidField("qr", "must be at most 4500 characters"))
			return
		}
		res := s.verifier("").Text(text, s.now())
		if res.Approval == nil || res.Check(verify.StepSignature).Result != verify.Pass {
			s.arrivalsPage(w, r, http.StatusUnprocessableEntity, invalidField("qr", "is not an entry approval signed by a trusted authority"))
			return
		}
		ref = res.Approval.Itinerary
	}
	if ref == "" {
		s.arrivalsPage(w, r, http.StatusUnprocessableEntity, invalidField("reference", "give the trip's reference or paste its entry approval"))
		return
	}
	d, err := s.app.GetTripByReference(r.Context(), p, ref)
	if err != nil {
		if statusOf(err) < 500 {
			s.arrivalsPage(w, r, statusOf(err), err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/trips/"+d.ID, http.StatusSeeOther)
}

// Monitoring.

func (s *Server) pageAlerts(w http.ResponseWriter, r *http.Request) {
	list, err := s.app.ListAlerts(r.Context(), principal(r), app.AlertQuery{OpenOnly: r.URL.Query().Get("all") == "", Limit: 200})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "alerts", s.newView(w, r, "title.alerts", list))
}

func (s *Server) pageAckAlert(w http.ResponseWriter, r *http.Request) {
	if err := s.app.AcknowledgeAlert(r.Context(), principal(r), r.PathValue("id")); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/alerts?done=acknowledged", http.StatusSeeOther)
}

// The joint mechanism.

type jointData struct {
	Lanes []policy.Lane
}

func (s *Server) pageJoint(w http.ResponseWriter, r *http.Request) {
	if !app.Can(principal(r), app.UCLaneSuspend) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	s.jointPage(w, r, http.StatusOK, nil)
}

func (s *Server) jointPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	v := s.newView(w, r, "title.joint", &jointData{Lanes: s.app.Policy().Lanes})
	if problem != nil {
		v.Form = r.PostForm
		v.setError(problem)
	}
	s.render(w, r, status, "joint", v)
}

func (s *Server) pageSuspendLane(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	until, err := time.Parse(time.DateOnly, strings.TrimSpace(r.PostForm.Get("until")))
	if err != nil {
		err = invalidField("until", "must be a date YYYY-MM-DD")
	} else {
		_, err = s.app.SuspendLane(r.Context(), principal(r), r.PathValue("lane"), until, r.PostForm.Get("reason"))
	}
	if err != nil {
		if statusOf(err) == http.StatusUnprocessableEntity || statusOf(err) == http.StatusConflict {
			s.jointPage(w, r, statusOf(err), err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/joint?done=suspended", http.StatusSeeOther)
}

func (s *Server) pageLiftLane(w http.ResponseWriter, r *http.Request) {
	out, err := s.app.LiftLaneSuspension(r.Context(), principal(r), r.PathValue("lane"))
	if err != nil {
		if st := statusOf(err); (st == http.StatusNotFound || st == http.StatusConflict) && app.Can(principal(r), app.UCLaneSuspend) {
			s.jointPage(w, r, st, err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	done := "lifted"
	if !out.Lifted {
		done = "lift_approved"
	}
	http.Redirect(w, r, "/joint?done="+done, http.StatusSeeOther)
}

// Administration.

type adminData struct {
	Orgs  []app.Org
	Kinds []auth.OrgKind
}

func (s *Server) pageAdmin(w http.ResponseWriter, r *http.Request) {
	s.adminPage(w, r, http.StatusOK, nil)
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	orgs, err := s.app.ListOrganisations(r.Context(), principal(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(w, r, "title.admin", &adminData{Orgs: orgs, Kinds: auth.OrgKinds})
	if problem != nil {
		v.Form = r.PostForm
		v.setError(problem)
	}
	s.render(w, r, status, "admin", v)
}

func (s *Server) pageCreateOrg(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	o, err := s.app.CreateOrganisation(r.Context(), principal(r), app.OrgInput{Kind: auth.OrgKind(r.PostForm.Get("kind")),
		Name: r.PostForm.Get("name"), Country: r.PostForm.Get("country")})
	if err != nil {
		if st := statusOf(err); st == http.StatusUnprocessableEntity || st == http.StatusConflict {
			s.adminPage(w, r, st, err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+o.ID+"?done=org_created", http.StatusSeeOther)
}

type orgPageData struct {
	Org         app.Org
	Roles       []trip.Role
	Members     []app.Member
	Invitations []app.Invitation
	Tokens      []app.APIToken
	NewLink     string // an invitation link, shown once
	NewToken    string // an API token's secret, shown once
}

func (s *Server) orgPage(w http.ResponseWriter, r *http.Request, status int, problem error, extra func(*orgPageData)) {
	p, orgID := principal(r), r.PathValue("org")
	members, err := s.app.ListMembers(r.Context(), p, orgID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := &orgPageData{Members: members}
	orgs, err := s.app.ListOrganisations(r.Context(), p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, o := range orgs {
		if o.ID == orgID {
			d.Org = o
		}
	}
	d.Roles = d.Org.Kind.Roles()
	if d.Invitations, err = s.app.ListInvitations(r.Context(), p, orgID); err != nil {
		s.pageError(w, r, err)
		return
	}
	if d.Tokens, err = s.app.ListAPITokens(r.Context(), p, orgID); err != nil {
		s.pageError(w, r, err)
		return
	}
	if extra != nil {
		extra(d)
	}
	v := s.newView(w, r, "title.org", d)
	if problem != nil {
		v.Form = r.PostForm
		v.setError(problem)
	}
	s.render(w, r, status, "org", v)
}

func (s *Server) pageOrg(w http.ResponseWriter, r *http.Request) {
	s.orgPage(w, r, http.StatusOK, nil, nil)
}

// orgFormError re-renders the organisation page with an input problem.
func (s *Server) orgFormError(w http.ResponseWriter, r *http.Request, err error) {
	if st := statusOf(err); st == http.StatusUnprocessableEntity || st == http.StatusConflict {
		s.orgPage(w, r, st, err, nil)
		return
	}
	s.pageError(w, r, err)
}

func formRoles(f url.Values) auth.Roles { return parseRoles(f["roles"]) }

func (s *Server) pageInvite(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	ni, err := s.app.Invite(r.Context(), principal(r), app.InviteInput{OrgID: r.PathValue("org"), Email: r.PostForm.Get("email"),
		Roles: formRoles(r.PostForm)})
	if err != nil {
		s.orgFormError(w, r, err)
		return
	}
	s.orgPage(w, r, http.StatusOK, nil, func(d *orgPageData) { d.NewLink = s.invitationLink(ni.Token) })
}

func (s *Server) pageSetRoles(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	org := r.PathValue("org")
	if err := s.app.SetMemberRoles(r.Context(), principal(r), org, r.PathValue("user"), formRoles(r.PostForm)); err != nil {
		s.orgFormError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+org+"?done=roles_saved", http.StatusSeeOther)
}

func (s *Server) pageRemoveMember(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	if err := s.app.RemoveMember(r.Context(), principal(r), org, r.PathValue("user")); err != nil {
		s.orgFormError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+org+"?done=member_removed", http.StatusSeeOther)
}

func (s *Server) pageCreateToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	in := app.TokenInput{OrgID: r.PathValue("org"), Name: r.PostForm.Get("name"), Roles: formRoles(r.PostForm)}
	if e := strings.TrimSpace(r.PostForm.Get("expires")); e != "" {
		d, err := time.Parse(time.DateOnly, e)
		if err != nil {
			s.orgFormError(w, r, invalidField("expires_at", "must be a date YYYY-MM-DD"))
			return
		}
		in.ExpiresAt = d
	}
	nt, err := s.app.CreateAPIToken(r.Context(), principal(r), in)
	if err != nil {
		s.orgFormError(w, r, err)
		return
	}
	s.orgPage(w, r, http.StatusOK, nil, func(d *orgPageData) { d.NewToken = nt.Secret })
}

func (s *Server) pageRevokeToken(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	if err := s.app.RevokeAPIToken(r.Context(), principal(r), r.PathValue("id")); err != nil {
		s.orgFormError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orgs/"+org+"?done=token_revoked", http.StatusSeeOther)
}

// The traveller.

func (s *Server) pageTravellerOpen(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "traveller_login", s.newView(w, r, "title.traveller_login", nil))
}

func (s *Server) pageTravellerLogin(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	ts, err := s.app.OpenTravellerLink(r.Context(), app.TravellerLogin{Token: r.PathValue("token"),
		PassportNumber: r.PostForm.Get("passport_number"), ClientIP: s.clientIP(r)})
	if err != nil {
		r.PostForm.Del("passport_number")
		s.formError(w, r, err, "title.traveller_login", "traveller_login", nil)
		return
	}
	s.setCookie(w, s.travellerCookie(), ts.Secret, ts.ExpiresAt)
	http.Redirect(w, r, "/traveller", http.StatusSeeOther)
}

type travellerData struct {
	T        *app.TravellerTrip
	Symptoms []string
}

func (s *Server) pageTraveller(w http.ResponseWriter, r *http.Request) {
	s.travellerPage(w, r, http.StatusOK, nil)
}

func (s *Server) travellerPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	t, err := s.app.TravellerView(r.Context(), principal(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(w, r, "title.traveller", &travellerData{T: t, Symptoms: app.SymptomCodes})
	if problem != nil {
		v.Form = r.PostForm
		v.setError(problem)
	}
	s.render(w, r, status, "traveller", v)
}

func (s *Server) pageTravellerDeclare(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	p := principal(r)
	in, err := declarationForm(r.PostForm)
	if err == nil {
		_, err = s.app.RecordDeclaration(r.Context(), p, p.ID, in)
	}
	if err != nil {
		if st := statusOf(err); st < 500 {
			s.travellerPage(w, r, st, err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/traveller?done=declared", http.StatusSeeOther)
}

func (s *Server) pageTravellerLogout(w http.ResponseWriter, r *http.Request) {
	_ = s.app.EndTravellerSession(r.Context(), stateOf(r).secret)
	s.clearCookie(w, s.travellerCookie())
	http.Redirect(w, r, "/traveller/signed-out", http.StatusSeeOther)
}

func (s *Server) pageTravellerSignedOut(w http.ResponseWriter, r *http.Request) {
	s.renderStatus(w, r, http.StatusOK, "traveller_gone", nil)
}
