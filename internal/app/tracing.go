package app

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/tracing"
	"github.com/corridorlane/corridor/internal/trip"
)

// Contact tracing. Each trip's exposure (flight and seat, arrival hold,
// itinerary sites) is kept beside it with its tracing keys (package
// tracing), updated by the steps that change it. A case traces its
// contacts among the trips filed under its keys: on this node when it is
// opened here, and on the peer through a tracing request. Contacts are
// flagged on their trips and raise an alert for the health officers.

// exposureSteps change where a traveller has been. The itinerary counts
// from the release on: before it, the traveller was in the hold, and a
// plan that was never followed (a withdrawn trip) exposes no one.
var exposureSteps = []trip.Action{trip.Depart, trip.Arrive, trip.Hold, trip.Release}

// indexExposure refreshes the trip's exposure and tracing keys when a
// step of the change moved the traveller, or a peer told of a hold.
func (a *App) indexExposure(ctx context.Context, tx store.Store, c *change) error {
	changed := c.holdSite != "" || c.holdOrg != "" || c.flightDate != ""
	for _, tr := range c.transitions {
		for _, s := range exposureSteps {
			changed = changed || tr.Action == s
		}
	}
	if !changed {
		return nil
	}
	e, err := a.exposureOf(ctx, tx, c)
	if err != nil {
		return err
	}
	t := c.t
	if t.Flight != "" {
		e.Flight, e.Seat = t.Flight, t.Seat
		switch {
		case c.flightDate != "":
			e.FlightDate = c.flightDate
		case e.FlightDate == "" && !t.DepartedAt.IsZero():
			e.FlightDate = a.day(t.DepartedAt)
		}
	}
	if c.holdOrg != "" {
		org, err := tx.GetOrg(ctx, c.holdOrg)
		if err != nil {
			return err
		}
		c.holdSite = org.Name
	}
	if c.holdSite != "" {
		e.HoldSite = c.holdSite
	}
	if !t.HoldStartedAt.IsZero() {
		e.HoldFrom, e.HoldUntil = t.HoldStartedAt, t.HoldUntil
		if lane, ok := a.Policy().Lane(t.Lane); ok && e.HoldUntil.IsZero() {
			// A hold still open counts to its planned end.
			e.HoldUntil = e.HoldFrom.Add(time.Duration(max(lane.Measures.ArrivalHoldHours, 1)) * time.Hour)
		}
		if !t.ReleasedAt.IsZero() && t.ReleasedAt.After(e.HoldFrom) {
			e.HoldUntil = t.ReleasedAt
		}
	}
	items, err := tx.ListItinerary(ctx, t.ID)
	if err != nil {
		return err
	}
	if len(items) > 0 && !t.ReleasedAt.IsZero() {
		e.Sites = e.Sites[:0]
		for _, it := range items {
			if it.Site != "" && it.FromDate != "" && it.ToDate != "" {
				e.Sites = append(e.Sites, store.ExposureSite{Site: it.Site, From: it.FromDate, To: it.ToDate})
			}
		}
	}
	return tx.PutExposure(ctx, e, traceKeys(tracingOf(e)))
}

// exposureOf returns the trip's exposure as kept, or a new one; the
// change remembers it.
func (a *App) exposureOf(ctx context.Context, tx store.Store, c *change) (*store.Exposure, error) {
	if c.exposure != nil {
		return c.exposure, nil
	}
	e, err := tx.GetExposure(ctx, c.t.ID)
	if errors.Is(err, store.ErrNotFound) {
		e, err = &store.Exposure{TripID: c.t.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	e.TripRef = c.t.Reference
	c.exposure = e
	return e, nil
}

func traceKeys(e tracing.Exposure) []string {
	keys := tracing.Keys(e)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out
}

// tracingOf is a kept exposure in the tracing package's terms; dates that
// do not parse are left out, as tracing ignores implausible ones.
func tracingOf(e *store.Exposure) tracing.Exposure {
	te := tracing.Exposure{TripRef: e.TripRef, Flight: e.Flight, Seat: e.Seat, HoldSite: e.HoldSite, HoldFrom: e.HoldFrom, HoldUntil: e.HoldUntil}
	if d, err := tracing.ParseDay(e.FlightDate); err == nil {
		te.FlightDate = d
	}
	for _, s := range e.Sites {
		from, err1 := tracing.ParseDay(s.From)
		to, err2 := tracing.ParseDay(s.To)
		if err1 == nil && err2 == nil {
			te.Sites = append(te.Sites, tracing.SiteVisit{Site: s.Site, From: from, To: to})
		}
	}
	return te
}

// wireExposure is a kept exposure as a message carries it, cut to the
// message's limits (place names of one line and at most 120 characters,
// at most 64 sites).
func wireExposure(e *store.Exposure) *envelope.Exposure {
	w := &envelope.Exposure{Seat: e.Seat}
	if e.Flight != "" && e.FlightDate != "" {
		w.Flight, w.FlightDate = e.Flight, e.FlightDate
	}
	if site := placeName(e.HoldSite); site != "" && !e.HoldFrom.IsZero() {
		from := e.HoldFrom
		w.HoldSite, w.HoldFrom = site, &from
		if e.HoldUntil.After(from) {
			until := e.HoldUntil
			w.HoldUntil = &until
		}
	}
	for _, s := range e.Sites {
		if len(w.Sites) == 64 {
			break
		}
		if name := placeName(s.Site); name != "" {
			w.Sites = append(w.Sites, envelope.SiteVisit{Site: name, From: s.From, To: s.To})
		}
	}
	return w
}

// placeName puts a place on one line of at most 120 characters.
func placeName(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for utf8.RuneCountInString(s) > 120 {
		r := []rune(s)
		s = string(r[:120])
	}
	return s
}

// exposureFromWire is a peer's exposure in this node's terms.
func exposureFromWire(w *envelope.Exposure, ref string) *store.Exposure {
	e := &store.Exposure{TripRef: ref, Flight: w.Flight, FlightDate: w.FlightDate, Seat: w.Seat, HoldSite: w.HoldSite}
	if w.HoldFrom != nil {
		e.HoldFrom = *w.HoldFrom
	}
	if w.HoldUntil != nil {
		e.HoldUntil = *w.HoldUntil
	}
	for _, s := range w.Sites {
		e.Sites = append(e.Sites, store.ExposureSite{Site: s.Site, From: s.From, To: s.To})
	}
	return e
}

// traceOpenedCase traces, on this node, the contacts of a case opened in
// the change.
func (a *App) traceOpenedCase(ctx context.Context, tx store.Store, c *change) error {
	e, err := a.exposureOf(ctx, tx, c)
	if err != nil {
		return err
	}
	_, err = a.traceHere(ctx, tx, c.opened.ID, tracingOf(e), "", c.opened.OpenedAt, c.audit)
	return err
}

// traceHere finds the contacts of a case among this node's trips, flags
// each on its trip and raises an alert. source names who found them: ""
// for this node. record takes the audit entries.
func (a *App) traceHere(ctx context.Context, tx store.Store, caseRef string, e tracing.Exposure, source string, now time.Time,
	record func(*audit.Entry)) ([]tracing.Contact, error) {
	found, tripOf, err := findContacts(ctx, tx, e)
	if err != nil {
		return nil, err
	}
	for _, k := range found {
		rules := make([]string, len(k.Reasons))
		for i, r := range k.Reasons {
			rules[i] = string(r.Rule)
		}
		if err := a.flagContact(ctx, tx, caseRef, tripOf[k.TripRef], rules, source, now, record); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// flagContact marks a trip as a contact of a case and raises an alert for
// the officers following the trip; once per case and trip.
func (a *App) flagContact(ctx context.Context, tx store.Store, caseRef, tripID string, rules []string, source string, now time.Time,
	record func(*audit.Entry)) error {
	added, err := tx.AddContact(ctx, &store.TracedContact{CaseRef: caseRef, TripID: tripID, Rules: rules, Source: source, FoundAt: now})
	if err != nil || !added {
		return err
	}
	t, err := tx.GetTrip(ctx, tripID)
	if err != nil {
		return err
	}
	phase := store.PostArrival
	if _, ok := declarationPhase(t.State); ok && t.DepartedAt.IsZero() {
		phase = store.PreDeparture
	}
	detail := strings.Join(rules, ",")
	al := &store.Alert{ID: auth.NewID(), TripID: tripID, Phase: phase, Kind: store.AlertContact, Day: a.day(now), Detail: detail, CreatedAt: now}
	if _, err := tx.AddAlert(ctx, al); err != nil {
		return err
	}
	details := map[string]string{"case": caseRef, "rules": detail}
	if source != "" {
		details["found_by"] = source
	}
	record(entry(System(), string(trip.RoleSystem), "contact.flag", "trip:"+tripID, now, details))
	return nil
}

// ContactsOfTrip lists the cases a trip's traveller is a contact of.
// Roles: health_monitor, health_authority.
func (a *App) ContactsOfTrip(ctx context.Context, p Principal, tripID string) ([]store.TracedContact, error) {
	if _, err := authorize(p, UCAlerts); err != nil {
		return nil, err
	}
	if err := idInput("trip", tripID); err != nil {
		return nil, err
	}
	list, err := a.db.ContactsOfTrip(ctx, tripID)
	return list, storeErr(err, "contacts")
}

// findContacts is the trace itself: the trips filed under the case's
// keys in the index, checked with the exact rules. It returns the
// contacts and, by trip reference, their trip ids.
func findContacts(ctx context.Context, s store.Store, e tracing.Exposure) ([]tracing.Contact, map[string]string, error) {
	keys := traceKeys(e)
	if len(keys) == 0 {
		return nil, nil, nil
	}
	cands, err := s.ExposuresByKeys(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	list := make([]tracing.Exposure, len(cands))
	tripOf := make(map[string]string, len(cands))
	for i := range cands {
		list[i] = tracingOf(&cands[i])
		tripOf[cands[i].TripRef] = cands[i].TripID
	}
	return tracing.Contacts(e, list), tripOf, nil
}
