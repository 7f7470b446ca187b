package app

import (
	"context"
	"errors"
	"time"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// TracingOverview is what the joint officers see of contact tracing across
// the corridor: the contacts flagged on this node's trips (traced here or
// by a peer), the cases the peers notified, and the tracing requests this
// node sent them. Trips appear by reference and state only; the trip
// page, with its own permission check, shows the rest.
type TracingOverview struct {
	Contacts  []store.ContactOnTrip
	PeerCases []PeerCaseView
	Requests  []store.TraceRequest
}

// PeerCaseView is a case a peer notified, without the exposure it sent
// (places and dates of a named traveller).
type PeerCaseView struct {
	Ref        string
	Peer       string
	Lane       string
	Stage      string
	DetectedOn string
	TripRef    string
	TripID     string     // "" when no trip here has the reference
	TripState  trip.State // "" likewise
	ReceivedAt time.Time
	// Contacts counts the trips here flagged as the case's contacts.
	Contacts int
}

// TracingQuery bounds each list of the overview.
type TracingQuery struct {
	Limit int // 1 to 1000; 100 when 0
}

// Tracing lists the contacts, the peers' cases and the tracing requests,
// newest first. Role: joint_officer.
func (a *App) Tracing(ctx context.Context, p Principal, q TracingQuery) (*TracingOverview, error) {
	if _, err := authorize(p, UCFederation); err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Limit > 1000 {
		return nil, &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"limit": "must be 1 to 1000"}}
	}
	out := &TracingOverview{}
	var err error
	if out.Contacts, err = a.db.RecentContacts(ctx, q.Limit); err != nil {
		return nil, storeErr(err, "contacts")
	}
	if out.Requests, err = a.db.ListTraceRequests(ctx, q.Limit); err != nil {
		return nil, storeErr(err, "tracing requests")
	}
	cases, err := a.db.ListPeerCases(ctx, q.Limit)
	if err != nil {
		return nil, storeErr(err, "notified cases")
	}
	for _, k := range cases {
		v := PeerCaseView{Ref: k.Ref, Peer: k.Peer, Lane: k.Lane, Stage: k.Stage, DetectedOn: k.DetectedOn, TripRef: k.TripRef,
			ReceivedAt: k.ReceivedAt}
		if k.TripID != "" {
			t, err := a.db.GetTrip(ctx, k.TripID)
			switch {
			case err == nil:
				v.TripID, v.TripState = t.ID, t.State
			case !errors.Is(err, store.ErrNotFound):
				return nil, storeErr(err, "trip")
			}
		}
		contacts, err := a.db.ListContacts(ctx, k.Ref)
		if err != nil {
			return nil, storeErr(err, "contacts")
		}
		v.Contacts = len(contacts)
		out.PeerCases = append(out.PeerCases, v)
	}
	return out, nil
}

// AuthorizeFederation refuses a principal who may not look after the link
// with the peer nodes, for the edges that reach the federation service
// directly. Role: joint_officer.
func (a *App) AuthorizeFederation(p Principal) error {
	_, err := authorize(p, UCFederation)
	return err
}
