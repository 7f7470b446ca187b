package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/hcert"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/trip"
)

// Trip pages: the sponsor's list and forms, the reviewers' queue, one
// trip's page with the actions the viewer may take, the printable letter.

// maxItineraryRows bounds the itinerary rows a form sends.
const maxItineraryRows = 50

// tripFormData fills the application form.
type tripFormData struct {
	ID       string
	Version  int64
	Editing  bool
	Trip     TripInputJSON
	Rows     []ItineraryJSON
	Lanes    []policy.Lane
	Purposes []string
	Kinds    []string
	Sexes    []string
}

func (s *Server) tripForm(in TripInputJSON) *tripFormData {
	pol := s.app.Policy()
	d := &tripFormData{Trip: in, Purposes: pol.Purposes, Kinds: []string{"lodging", "work_site", "transport"}, Sexes: []string{"F", "M", "X"}}
	for _, l := range pol.Lanes {
		if l.Destination == s.cfg.Country {
			d.Lanes = append(d.Lanes, l)
		}
	}
	d.Rows = slices.Clone(in.Itinerary)
	// Two blank rows to add stops without a script; the page's script
	// adds more on demand.
	for len(d.Rows) < len(in.Itinerary)+2 || len(d.Rows) < 4 {
		d.Rows = append(d.Rows, ItineraryJSON{})
	}
	return d
}

// parseTripForm reads the application form. Field names are the
// application's own ("traveller.passport_number", "itinerary[2].to_date"),
// so its errors land next to the right input. Blank itinerary rows are
// dropped, and the rows that remain are numbered afresh.
func parseTripForm(f url.Values) TripInputJSON {
	g := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	in := TripInputJSON{Lane: g("lane"), Region: g("region"), Purpose: g("purpose"),
		Traveller: TravellerJSON{GivenName: g("traveller.given_name"), FamilyName: g("traveller.family_name"),
			GivenNameICAO: g("traveller.given_name_icao"), FamilyNameICAO: g("traveller.family_name_icao"),
			DateOfBirth: g("traveller.date_of_birth"), Sex: g("traveller.sex"), Nationality: g("traveller.nationality"),
			PassportCountry: g("traveller.passport_country"), PassportNumber: g("traveller.passport_number"),
			Email: g("traveller.email"), Phone: g("traveller.phone")},
		Host:          ContactJSON{Name: g("host.name"), Email: g("host.email"), Phone: g("host.phone")},
		DepartureDate: g("departure_date"), ReturnDate: g("return_date")}
	for i := 0; i < maxItineraryRows; i++ {
		p := fmt.Sprintf("itinerary[%d].", i)
		it := ItineraryJSON{Kind: g(p + "kind"), Site: g(p + "site"), Address: g(p + "address"), FromDate: g(p + "from_date"), ToDate: g(p + "to_date")}
		if it.Site == "" && it.Address == "" && it.FromDate == "" && it.ToDate == "" {
			continue // an untouched row (its kind select always has a value)
		}
		in.Itinerary = append(in.Itinerary, it)
	}
	return in
}

func tripInputOf(d *app.TripDetail) TripInputJSON {
	return TripInputJSON{Lane: d.Lane, Region: d.Region, Purpose: d.Purpose, Traveller: travellerJSON(d.Traveller),
		Host: ContactJSON{Name: d.Host.Name, Email: d.Host.Email, Phone: d.Host.Phone}, DepartureDate: d.DepartureDate,
		ReturnDate: d.ReturnDate, Itinerary: itineraryJSON(d.Itinerary)}
}

// parseForm reads a posted form; a malformed or oversized one is an
// input error, not a server error.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return invalidField("form", "could not be read: it may be too large")
	}
	return nil
}

func (s *Server) pageNewTrip(w http.ResponseWriter, r *http.Request) {
	if !app.Can(principal(r), app.UCTripCreate) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	v := s.newView(w, r, "title.new_trip", s.tripForm(TripInputJSON{}))
	s.render(w, r, http.StatusOK, "trip_form", v)
}

func (s *Server) pageCreateTrip(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	in := parseTripForm(r.PostForm)
	t, err := s.app.CreateTrip(r.Context(), principal(r), in.toApp())
	if err != nil {
		s.formError(w, r, err, "title.new_trip", "trip_form", s.tripForm(in))
		return
	}
	http.Redirect(w, r, "/trips/"+t.ID+"?done=created", http.StatusSeeOther)
}

// formError re-renders a form with the application's complaints, or
// renders the error page when the complaint is not about the input.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error, title, tmpl string, data any) {
	status := statusOf(err)
	if status != http.StatusUnprocessableEntity && status != http.StatusConflict && status != http.StatusTooManyRequests &&
		status != http.StatusUnauthorized {
		s.pageError(w, r, err)
		return
	}
	v := s.newView(w, r, title, data)
	v.Form = r.PostForm
	v.setError(err)
	s.render(w, r, status, tmpl, v)
}

func (s *Server) pageEditTrip(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.GetTrip(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if !app.Can(principal(r), app.UCTripEdit) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	f := s.tripForm(tripInputOf(d))
	f.ID, f.Version, f.Editing = d.ID, d.Version, true
	s.render(w, r, http.StatusOK, "trip_form", s.newView(w, r, "title.edit_trip", f))
}

func (s *Server) pageUpdateTrip(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	in := parseTripForm(r.PostForm)
	id := r.PathValue("id")
	version, err := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	if err != nil {
		s.pageError(w, r, invalidField("version", "is missing: reload the page"))
		return
	}
	f := s.tripForm(in)
	f.ID, f.Version, f.Editing = id, version, true
	if _, err := s.app.UpdateTrip(r.Context(), principal(r), id, version, in.toApp()); err != nil {
		s.formError(w, r, err, "title.edit_trip", "trip_form", f)
		return
	}
	http.Redirect(w, r, "/trips/"+id+"?done=saved", http.StatusSeeOther)
}

// tripListData fills the list and the queue.
type tripListData struct {
	List     *app.TripList
	Query    app.TripQuery
	States   []trip.State
	Lanes    []policy.Lane
	Sponsor  bool // the viewer sees only its own organisation's trips
	Next     string
	Sponsors []app.Org
}

func (s *Server) pageTrips(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q, err := tripQuery(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if q.Limit == 0 {
		q.Limit = 25
	}
	list, err := s.app.ListTrips(r.Context(), p, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := &tripListData{List: list, Query: q, States: trip.States, Lanes: s.app.Policy().Lanes,
		Sponsor: p.Has(trip.RoleSponsor) && !p.Has(trip.RoleReviewer)}
	if list.Next != "" {
		nq := r.URL.Query()
		nq.Set("after", list.Next)
		d.Next = "/trips?" + nq.Encode()
	}
	title := "title.trips"
	if !d.Sponsor {
		title = "title.queue"
	}
	s.render(w, r, http.StatusOK, "trips", s.newView(w, r, title, d))
}

// tripPageData fills one trip's page.
type tripPageData struct {
	T        *app.TripDetail
	Forms    []string // the action forms to show, in order
	NewLink  string   // a traveller link just issued: shown once
	Symptoms []string
	Lane     *policy.Lane
}

// pageActions maps the trip machine's actions the viewer may take to the
// forms on the page; actions with no use case of their own (those the
// node takes by itself) have none.
var pageActions = map[trip.Action]string{
	trip.Submit: "submit", trip.Resubmit: "answer", trip.Withdraw: "withdraw", trip.RequestInfo: "request-info",
	trip.Approve: "approve", trip.Reject: "reject", trip.StartMonitoring: "start-monitoring", trip.Depart: "depart",
	trip.Arrive: "arrive", trip.Hold: "hold", trip.Release: "release", trip.Isolate: "isolate",
	trip.Suspend: "suspend", trip.Reinstate: "reinstate", trip.Complete: "complete-isolation",
}

func (s *Server) tripPage(w http.ResponseWriter, r *http.Request, d *app.TripDetail, status int, problem error, newLink string) {
	p := principal(r)
	data := &tripPageData{T: d, NewLink: newLink, Symptoms: app.SymptomCodes}
	if l, ok := s.app.Policy().Lane(d.Lane); ok {
		data.Lane = l
	}
	for _, a := range d.Actions {
		form, ok := pageActions[a]
		if !ok || (a == trip.Complete && d.State != trip.Isolated) || (a == trip.Submit && d.State != trip.Draft) {
			continue
		}
		if a == trip.Complete && !app.Can(p, app.UCTripCompleteIsolate) {
			continue
		}
		data.Forms = append(data.Forms, form)
	}
	v := s.newView(w, r, "title.trip", data)
	if problem != nil {
		v.Form = r.PostForm
		v.setError(problem)
	}
	s.render(w, r, status, "trip", v)
}

func (s *Server) pageTrip(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.GetTrip(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.tripPage(w, r, d, http.StatusOK, nil, "")
}

// pageTripAction takes one action from the trip page's forms.
func (s *Server) pageTripAction(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	p, id, name := principal(r), r.PathValue("id"), r.PathValue("action")
	var err error
	var done trip.Action
	switch name {
	case "depart":
		_, err = s.app.Depart(r.Context(), p, id, app.DepartureInput{Flight: r.PostForm.Get("flight"), Seat: r.PostForm.Get("seat")})
		done = trip.Depart
	default:
		i := slices.IndexFunc(tripActions, func(a tripAction) bool { return a.name == name })
		if i < 0 {
			s.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		a := tripActions[i]
		text := r.PostForm.Get(a.body)
		_, err = a.run(s.app, r.Context(), p, id, text)
		done = a.action
	}
	if err != nil {
		s.actionError(w, r, id, err)
		return
	}
	s.metrics.transition(string(done))
	http.Redirect(w, r, "/trips/"+id+"?done="+string(done), http.StatusSeeOther)
}

// actionError shows a refused action on the trip's page, next to its
// form, when the viewer may see the trip; otherwise the error page.
func (s *Server) actionError(w http.ResponseWriter, r *http.Request, id string, err error) {
	d, gerr := s.app.GetTrip(r.Context(), principal(r), id)
	if gerr != nil {
		s.pageError(w, r, err)
		return
	}
	status := statusOf(err)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	s.tripPage(w, r, d, status, err, "")
}

func (s *Server) pageIssueTravellerLink(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	secret, err := s.app.IssueTravellerLink(r.Context(), principal(r), id)
	if err != nil {
		s.actionError(w, r, id, err)
		return
	}
	d, err := s.app.GetTrip(r.Context(), principal(r), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// The link is shown on this answer only, never put in a URL.
	s.tripPage(w, r, d, http.StatusOK, nil, s.travellerLink(secret))
}

func (s *Server) pageDeclareFor(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	id := r.PathValue("id")
	in, err := declarationForm(r.PostForm)
	if err == nil {
		_, err = s.app.RecordDeclaration(r.Context(), principal(r), id, in)
	}
	if err != nil {
		s.actionError(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/trips/"+id+"?done=declared", http.StatusSeeOther)
}

// declarationForm reads a declaration form: temperature with a dot or a
// comma, symptoms as checkboxes.
func declarationForm(f url.Values) (app.DeclarationInput, error) {
	raw := strings.ReplaceAll(strings.TrimSpace(f.Get("temperature")), ",", ".")
	t, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return app.DeclarationInput{}, invalidField("temperature", "must be a body temperature between 34.0 and 43.0 °C")
	}
	return app.DeclarationInput{TemperatureC: t, Symptoms: f["symptoms"], Note: f.Get("note")}, nil
}

type letterData struct {
	*app.TripDetail
	Authority string
}

// pageLetter is the printable entry approval.
func (s *Server) pageLetter(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.GetTrip(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if d.ApprovalHC1 == "" {
		s.renderError(w, r, http.StatusNotFound, "error.no_approval")
		return
	}
	ld := &letterData{TripDetail: d}
	// The authority's name is the one signed into the approval.
	if u, err := hcert.Decode(d.ApprovalHC1); err == nil && u.Claims.Approval != nil {
		if a, err := approval.Unmarshal(u.Claims.Approval); err == nil {
			ld.Authority = a.Authority
		}
	}
	s.render(w, r, http.StatusOK, "letter", s.newView(w, r, "title.letter", ld))
}

// pageByReference opens a trip by reference (the arrival desk's search).
func (s *Server) pageByReference(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.GetTripByReference(r.Context(), principal(r), r.URL.Query().Get("reference"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/trips/"+d.ID, http.StatusSeeOther)
}
