package store

import (
	"context"
	"time"

	"github.com/corridorlane/corridor/internal/trip"
)

// Trip is one traveller's application and everything that follows it. The
// personal data sits in Traveller, Host and the itinerary, which the
// retention purge blanks; the rest (states, lane, dates, counts) stays.
type Trip struct {
	ID        string
	Reference string // shown to people, e.g. KR-7H2M4QX0
	State     trip.State
	// SuspendedFrom is the state before a suspension; "" otherwise.
	SuspendedFrom trip.State
	// Version increases with every write; UpdateTrip checks it.
	Version int64

	Lane         string
	Region       string
	Purpose      string
	SponsorOrgID string
	CreatedBy    string // user id

	Traveller Traveller
	Host      Contact
	// DepartureDate and ReturnDate are the planned dates, YYYY-MM-DD.
	DepartureDate string
	ReturnDate    string

	// TravellerTokenHash is the hash of the traveller's personal link.
	TravellerTokenHash string

	ApprovalID         string // UVCI-shaped approval identifier
	ApprovalHC1        string
	ApprovedAt         time.Time
	ApprovalValidUntil time.Time

	MonitoringStartedAt time.Time // pre-departure monitoring
	ClearedAt           time.Time
	Flight              string
	Seat                string
	DepartedAt          time.Time
	ArrivedAt           time.Time
	HoldStartedAt       time.Time
	HoldUntil           time.Time
	ReleasedAt          time.Time
	FollowUpUntil       time.Time // end of post-arrival monitoring

	CreatedAt   time.Time
	UpdatedAt   time.Time
	SubmittedAt time.Time
	FinishedAt  time.Time // when it reached a final state
	PurgedAt    time.Time // when its personal data was removed
}

// Traveller is the person travelling, as on the passport.
type Traveller struct {
	GivenName       string
	FamilyName      string
	GivenNameICAO   string // ICAO 9303 transliteration, A-Z and '<'
	FamilyNameICAO  string
	DateOfBirth     string // YYYY-MM-DD
	Sex             string // "F", "M", "X" as in the passport
	Nationality     string // ISO 3166-1 alpha-2
	PassportCountry string
	PassportNumber  string // normalised: upper case, no spaces
	Email           string
	Phone           string
}

// Contact is a person to reach, such as the host at the destination.
type Contact struct {
	Name  string
	Email string
	Phone string
}

// ItineraryItem is one stop of the closed-loop itinerary.
type ItineraryItem struct {
	Kind     string // "lodging", "work_site", "transport"
	Site     string
	Address  string
	FromDate string // YYYY-MM-DD
	ToDate   string
}

// Transition is a recorded state change of a trip.
type Transition struct {
	ID     string
	TripID string
	Seq    int // 1, 2, ... per trip
	trip.Transition
}

// Order sorts a trip list by creation time.
type Order int

const (
	OldestFirst Order = iota
	NewestFirst
)

// TripFilter selects trips. Empty fields do not filter.
type TripFilter struct {
	SponsorOrgID string
	Lane         string
	Region       string
	States       []trip.State
	// Reference matches trips whose reference contains it (upper case).
	Reference string
	Order     Order
	// After is the cursor of the previous page ("" for the first).
	After string
	Limit int
}

// TripPage is one page of a trip list.
type TripPage struct {
	Trips []Trip
	Total int    // trips matching the filter, across pages
	Next  string // cursor for the next page; "" on the last
}

// DueField names a trip deadline that a periodic job looks for.
type DueField string

const (
	DueHold           DueField = "hold_until"
	DueFollowUp       DueField = "follow_up_until"
	DueApproval       DueField = "approval_valid_until"
	DueFinishedBefore DueField = "finished_at" // with only not yet purged trips
)

// Trips keeps trips, their itineraries and their transitions.
type Trips interface {
	CreateTrip(ctx context.Context, t *Trip) error // ErrConflict on a taken reference
	GetTrip(ctx context.Context, id string) (*Trip, error)
	GetTripByReference(ctx context.Context, ref string) (*Trip, error)
	GetTripByTravellerToken(ctx context.Context, hash string) (*Trip, error)
	// UpdateTrip writes every field if t.Version still matches the
	// stored one, then increments t.Version; ErrConflict otherwise.
	UpdateTrip(ctx context.Context, t *Trip) error
	ListTrips(ctx context.Context, f TripFilter) (TripPage, error)
	// ListDue returns ids of trips in one of states whose field is set
	// and not after before, oldest first.
	ListDue(ctx context.Context, states []trip.State, field DueField, before time.Time, limit int) ([]string, error)
	// CountTrips counts trips per state, for dashboards and to show that
	// a purge keeps the counts.
	CountTrips(ctx context.Context) (map[trip.State]int, error)

	ReplaceItinerary(ctx context.Context, tripID string, items []ItineraryItem) error
	ListItinerary(ctx context.Context, tripID string) ([]ItineraryItem, error)

	// AddTransition stores tr with the next Seq of its trip.
	AddTransition(ctx context.Context, tr *Transition) error
	ListTransitions(ctx context.Context, tripID string) ([]Transition, error)

	// PurgeTrip removes the trip's personal data everywhere it is kept
	// (traveller, host, itinerary sites, declaration notes, transition
	// reasons, issued credentials), keeping states, dates and counts.
	PurgeTrip(ctx context.Context, tripID string, at time.Time) error
}
