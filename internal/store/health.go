package store

import (
	"context"
	"time"
)

// Phase is a stretch of health monitoring.
type Phase string

const (
	PreDeparture Phase = "pre_departure"
	PostArrival  Phase = "post_arrival"
)

// Declaration is one day's health report by or for the traveller.
type Declaration struct {
	ID     string
	TripID string
	Phase  Phase
	Day    string // YYYY-MM-DD
	// TemperatureDeci is the body temperature in tenths of a degree
	// Celsius (365 = 36.5 °C); 0 when not measured.
	TemperatureDeci int
	Symptoms        []string // codes, e.g. "cough"; empty when none
	Note            string   // free text; purged with the trip
	RecordedBy      string   // actor id
	CreatedAt       time.Time
}

// Stage is when in the trip a test was sampled; it classifies a positive
// for the ledger.
type Stage string

const (
	StagePreDeparture Stage = "pre_departure"
	StageArrival      Stage = "arrival"
	StageFollowUp     Stage = "follow_up"
	StageIsolation    Stage = "isolation"
)

// Test results as Corridor records them; the DCC codes are derived.
const (
	ResultNegative = "negative"
	ResultPositive = "positive"
)

// TestResult is a lab's result for a trip's traveller.
type TestResult struct {
	ID         string
	TripID     string
	LabOrgID   string
	Stage      Stage
	TestType   string // DCC code: LP6464-4 (NAAT) or LP217198-3 (RAT)
	TestName   string // NAAT name or RAT device identifier
	SampledAt  time.Time
	Result     string // ResultNegative or ResultPositive
	Facility   string // testing centre
	Country    string
	UVCI       string
	HC1        string // the signed DCC test certificate; purged with the trip
	RecordedBy string
	CreatedAt  time.Time
}

// Case is a positive among lane travellers.
type Case struct {
	ID       string
	TripID   string
	TestID   string
	Stage    Stage
	OpenedAt time.Time
	ClosedAt time.Time
}

// Alert kinds raised during monitoring.
const (
	AlertMissedDay = "missed_day"
	AlertSymptoms  = "symptoms"
)

// Alert asks a health monitor to look at a trip.
type Alert struct {
	ID             string
	TripID         string
	Phase          Phase
	Kind           string
	Day            string
	Detail         string // codes only, e.g. "fever,cough"
	CreatedAt      time.Time
	AcknowledgedAt time.Time
	AcknowledgedBy string
}

// AlertFilter selects alerts.
type AlertFilter struct {
	TripID   string
	OpenOnly bool
	Limit    int
}

// Health keeps declarations, tests, cases and alerts.
type Health interface {
	// AddDeclaration stores d; ErrConflict if the trip already has one
	// for that phase and day.
	AddDeclaration(ctx context.Context, d *Declaration) error
	ListDeclarations(ctx context.Context, tripID string, phase Phase) ([]Declaration, error)

	AddTest(ctx context.Context, r *TestResult) error
	GetTest(ctx context.Context, id string) (*TestResult, error)
	ListTests(ctx context.Context, tripID string) ([]TestResult, error)

	OpenCase(ctx context.Context, c *Case) error
	ListCases(ctx context.Context, tripID string) ([]Case, error)

	// AddAlert stores a; it returns false, and stores nothing, when the
	// trip already has an alert of that kind for that phase and day.
	AddAlert(ctx context.Context, a *Alert) (bool, error)
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	GetAlert(ctx context.Context, id string) (*Alert, error)
	AcknowledgeAlert(ctx context.Context, id, by string, at time.Time) error // ErrConflict if already acknowledged
}
