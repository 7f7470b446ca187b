package app

import (
	"time"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// The records the use cases hand out are the store's, named here so that
// the web layer needs only this package.
type (
	Trip          = store.Trip
	Traveller     = store.Traveller
	Contact       = store.Contact
	ItineraryItem = store.ItineraryItem
	Transition    = store.Transition
	Declaration   = store.Declaration
	TestResult    = store.TestResult
	Case          = store.Case
	Alert         = store.Alert
	Org           = store.Org
	APIToken      = store.APIToken
	Invitation    = store.Invitation
)

// TripInput is what a sponsor fills in for an application. On a draft
// every field may still be empty; submitting needs them all.
type TripInput struct {
	Lane    string
	Region  string
	Purpose string
	// Traveller: names as on the passport. The ICAO names may be left
	// empty when the names are in Latin or Cyrillic letters; they are
	// then derived. Names in other scripts need them given, as printed in
	// the passport's machine-readable zone.
	Traveller     Traveller
	Host          Contact
	DepartureDate string // YYYY-MM-DD, planned
	ReturnDate    string
	// Itinerary is the closed loop: where the traveller sleeps, works and
	// how they move, each with dates. Lodging must cover every night.
	Itinerary []ItineraryItem
}

// TripSummary is a line of a trip list. It holds no personal data, so
// listing trips is not a view of personal data.
type TripSummary struct {
	ID            string
	Reference     string
	State         trip.State
	Lane          string
	Region        string
	Purpose       string
	SponsorOrgID  string
	SponsorName   string
	DepartureDate string
	ReturnDate    string
	CreatedAt     time.Time
	SubmittedAt   time.Time
	UpdatedAt     time.Time
}

// TripQuery filters and pages a trip list; empty fields do not filter.
type TripQuery struct {
	Lane         string
	Region       string
	States       []trip.State
	SponsorOrgID string // ignored for sponsors, who see only their own
	Reference    string // part of a reference
	NewestFirst  bool
	After        string // Next of the previous page
	Limit        int    // 1 to 200; 50 when 0
}

// TripList is one page of trips.
type TripList struct {
	Trips []TripSummary
	Total int
	Next  string // "" on the last page
}

// TripDetail is everything about one trip that its viewer may see.
type TripDetail struct {
	Trip
	SponsorName  string
	Itinerary    []ItineraryItem
	Transitions  []Transition
	Declarations []Declaration // both phases, by day
	Tests        []TestResult
	Cases        []Case
	Alerts       []Alert
	Clearance    *Clearance // while pre-departure monitoring runs
	// Actions are the trip actions the viewer's roles allow now.
	Actions []trip.Action
}

// Clearance says how far a trip is from being cleared to depart.
type Clearance struct {
	DaysNeeded int
	DaysDone   int // consecutive days declared, without symptoms when screened
	// TestNeeded is the DCC code of the required test type; TestOK tells
	// whether a negative one was sampled inside the window.
	TestNeeded string
	TestOK     bool
	// WindowOpens is the earliest sampling time that counts.
	WindowOpens time.Time
	OpenCase    bool
	Ready       bool
}
