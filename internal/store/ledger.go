package store

import (
	"context"
	"time"
)

// SecondaryCase is a cross-border infection: someone who is not a lane
// traveller, infected by one, linked to that traveller's trip. The
// infected person is not named here: the ledger needs the link and the
// date, and the person's record stays in the local health system, which
// LocalRef points to.
type SecondaryCase struct {
	ID         string
	TripID     string
	TripRef    string // the trip's reference, read with the case; not stored twice
	Lane       string // the trip's lane, the route the ledger counts it on
	DetectedOn string // YYYY-MM-DD
	// LocalRef is the local health system's case reference. It never
	// leaves the node, and two records with one reference are refused, so
	// a case entered twice cannot count twice.
	LocalRef   string
	Note       string // free text; stays on this node, purged with the trip
	RecordedBy string // actor id
	CreatedAt  time.Time
}

// StageSecondary is the key DayFigures counts secondary cases under, by
// their detection date, beside the cases' stages.
const StageSecondary Stage = "secondary"

// LedgerCase is a case opened on this node with its trip's lane and
// reference, for the ledger.
type LedgerCase struct {
	Case
	Lane    string
	TripRef string
}

// DayRange is the days from From up to, not including, To, both
// YYYY-MM-DD; an empty bound leaves that side open.
type DayRange struct {
	From, To string
}

// PeerCaseFilter selects the cases a peer notified.
type PeerCaseFilter struct {
	Peer  string // required
	Stage string // a ledger stage; "" for any
	Days  DayRange
}

// Ledger keeps what the zero-cross-border-infection ledger counts beyond
// the cases of trips: secondary cases, and the date-range reads of the
// joint dashboard. The reads are bounded by the range the dashboard asks
// for rather than paged: a range is at most two years of positives.
type Ledger interface {
	// AddSecondaryCase stores k; ErrConflict when a case with its
	// LocalRef is recorded already.
	AddSecondaryCase(ctx context.Context, k *SecondaryCase) error
	// ListSecondaryCases lists the secondary cases detected in r, oldest
	// first.
	ListSecondaryCases(ctx context.Context, r DayRange) ([]SecondaryCase, error)
	// LedgerCases lists the cases opened in [from, to), oldest first.
	LedgerCases(ctx context.Context, from, to time.Time) ([]LedgerCase, error)
	// PeerCasesIn lists the notified cases f selects, by detection date.
	PeerCasesIn(ctx context.Context, f PeerCaseFilter) ([]PeerCase, error)
	// PeerStatsIn lists a peer's daily figures of the days in r, oldest
	// first.
	PeerStatsIn(ctx context.Context, peer string, r DayRange) ([]PeerStats, error)
}
