package store

import (
	"context"
	"time"

	"github.com/corridorlane/corridor/internal/trip"
)

// The joint response mechanism's records: the peers this node exchanges
// messages with, the outbox of messages sealed for them, the inbox
// bookkeeping that makes applying a message happen exactly once, dead
// letters and counters, the peers' trust and revocation lists, the link
// between a trip and its twin on the peer node, and the tracing index.
// docs/federation-delivery.md explains how they work together.

// Peer is another country's node. Its CSCA is pinned: everything it sends
// is checked against that certificate and nothing else.
type Peer struct {
	Country   string // ISO 3166-1 alpha-2
	URL       string // base URL of its node, e.g. https://corridor.example.cn
	CSCAPEM   string // the pinned country signing CA, PEM
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Peers keeps the peer list.
type Peers interface {
	// PutPeer adds a peer or replaces its URL and pinned CSCA.
	PutPeer(ctx context.Context, p *Peer) error
	GetPeer(ctx context.Context, country string) (*Peer, error)
	ListPeers(ctx context.Context) ([]Peer, error)
}

// OutboxMessage is one message sealed for a peer, kept after the peer
// acknowledged it so that the peer can pull it again to catch up.
type OutboxMessage struct {
	Peer   string
	Stream string
	Seq    uint64 // per peer and stream, from 1 without gaps
	// Pos orders the peer's messages across streams, in the order their
	// transactions wrote them; a sender sends in this order, so a message
	// never overtakes one it depends on (a case notice its trip's
	// approval).
	Pos       uint64
	ID        string // the message id, the receiver's idempotency key
	Type      string
	Envelope  []byte // the signed message, exactly as it travels
	CreatedAt time.Time
	// Attempts counts sends that were not acknowledged; NextAttemptAt is
	// when the sender may try again; LastError says why the last failed.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	AckedAt       time.Time // zero until the peer acknowledged it
}

// OutboxStatus sums up the outbox to one peer.
type OutboxStatus struct {
	Unacked       int
	OldestUnacked time.Time // zero when everything is acknowledged
	// LastSeq is the last sequence number given out per stream.
	LastSeq map[string]uint64
	// LastAcked is when the peer last acknowledged a message (among the
	// newest acknowledged); zero when it never did, or not since the
	// acknowledged messages were pruned.
	LastAcked time.Time
	// LastError and Attempts are the oldest unacknowledged message's: why
	// its last send failed ("" when none failed) and how many sends did.
	// That message holds up the ones behind it, so its error is the one
	// an officer needs.
	LastError string
	Attempts  int
}

// Outbox keeps the messages sealed for peers.
type Outbox interface {
	// NextOutbox reserves the next sequence number of a stream to peer and
	// the next position among all its streams. Call it in the transaction
	// that writes the message: a rollback gives the numbers back, so
	// sequences have no gaps.
	NextOutbox(ctx context.Context, peer, stream string) (seq, pos uint64, err error)
	// AddOutbox stores a sealed message; ErrConflict if its id or its
	// sequence number is taken.
	AddOutbox(ctx context.Context, m *OutboxMessage) error
	// DueOutbox lists the peer's unacknowledged messages whose next
	// attempt is due at now, in position order.
	DueOutbox(ctx context.Context, peer string, now time.Time, limit int) ([]OutboxMessage, error)
	// OutboxAfter lists the messages of one stream to peer with a sequence
	// number above after, acknowledged or not, in sequence order: what a
	// pull returns.
	OutboxAfter(ctx context.Context, peer, stream string, after uint64, limit int) ([]OutboxMessage, error)
	// AckOutbox marks as acknowledged the messages with the given ids and,
	// per stream, every message up to the given sequence number; it
	// returns how many were newly acknowledged.
	AckOutbox(ctx context.Context, peer string, upTo map[string]uint64, ids []string, at time.Time) (int, error)
	// RetryOutboxLater counts a failed attempt on each message and sets
	// its next attempt.
	RetryOutboxLater(ctx context.Context, peer string, ids []string, next time.Time, lastErr string) error
	OutboxStatus(ctx context.Context, peer string) (OutboxStatus, error)
	// PruneOutbox deletes messages acknowledged before the given time:
	// a peer down longer than that cannot pull them again.
	PruneOutbox(ctx context.Context, ackedBefore time.Time) (int, error)
}

// What became of a message the inbox took.
const (
	InboxHeld    = "held"    // waits for an earlier sequence number
	InboxApplied = "applied" // applied
	InboxDead    = "dead"    // could not be applied; a dead letter
)

// SeenMessage is a message id the inbox has taken, with the digest of its
// content: the same id with other content is a replay, not a duplicate.
type SeenMessage struct {
	ID         string
	Peer       string
	Stream     string
	Seq        uint64
	Type       string
	Digest     string // hex SHA-256 of the signed message
	Outcome    string // InboxHeld, InboxApplied or InboxDead
	ReceivedAt time.Time
	DoneAt     time.Time // when applied or dead-lettered
}

// HeldMessage is a message that arrived before its predecessor on its
// stream and waits for it.
type HeldMessage struct {
	Peer       string
	Stream     string
	Seq        uint64
	ID         string
	Envelope   []byte
	ReceivedAt time.Time
}

// DeadLetter is a message that could not be applied. An officer sees the
// reason and, once the cause is fixed, retries it.
type DeadLetter struct {
	ID         string // the message id
	Peer       string
	Stream     string
	Seq        uint64
	Type       string
	Envelope   []byte
	Reason     string // why it could not be applied, free of personal data
	FailedAt   time.Time
	Attempts   int // 1, plus one per failed retry
	ResolvedAt time.Time
	ResolvedBy string // actor id
}

// DeadLetterFilter selects dead letters.
type DeadLetterFilter struct {
	Peer     string
	OpenOnly bool // only those not yet resolved
	Limit    int
}

// InboxGap is a stream that waits: its next expected sequence number and
// the lowest one held after it.
type InboxGap struct {
	Peer      string
	Stream    string
	Next      uint64
	FirstHeld uint64
	Held      int
}

// Inbox keeps what makes applying a peer's messages exactly once and in
// order: the cursor per stream, the ids seen, the messages held for an
// earlier one, the dead letters and the counters.
type Inbox interface {
	// LockInbox returns the next sequence number expected on a stream
	// from peer (1 for a new stream) and, in a transaction, holds the
	// stream's cursor row locked until the transaction ends, so that two
	// transactions never apply the same stream at once.
	LockInbox(ctx context.Context, peer, stream string) (uint64, error)
	// InboxCursors returns the next expected sequence number of every
	// stream from peer that has one.
	InboxCursors(ctx context.Context, peer string) (map[string]uint64, error)
	SetInboxCursor(ctx context.Context, peer, stream string, next uint64) error

	// AddSeen records a message id; ErrConflict if it was seen already.
	AddSeen(ctx context.Context, m *SeenMessage) error
	// AddSeenBatch records many new message ids at once.
	AddSeenBatch(ctx context.Context, ms []SeenMessage) error
	GetSeen(ctx context.Context, id string) (*SeenMessage, error)
	// SeenAmong returns those of ids that were seen, by id.
	SeenAmong(ctx context.Context, ids []string) (map[string]SeenMessage, error)
	// SetSeenOutcome records what became of a seen message.
	SetSeenOutcome(ctx context.Context, id, outcome string, at time.Time) error

	// HoldMessage keeps a message for later; ErrConflict if another waits
	// at the same sequence number.
	HoldMessage(ctx context.Context, h *HeldMessage) error
	// TakeHeld removes and returns the message held at seq; ErrNotFound
	// when none is.
	TakeHeld(ctx context.Context, peer, stream string, seq uint64) (*HeldMessage, error)
	// InboxGaps lists the streams with held messages.
	InboxGaps(ctx context.Context) ([]InboxGap, error)

	AddDeadLetter(ctx context.Context, d *DeadLetter) error
	GetDeadLetter(ctx context.Context, id string) (*DeadLetter, error)
	ListDeadLetters(ctx context.Context, f DeadLetterFilter) ([]DeadLetter, error)
	// RetriedDeadLetter counts one more failed retry, with its reason.
	RetriedDeadLetter(ctx context.Context, id, reason string, at time.Time) error
	// ResolveDeadLetter closes a dead letter; ErrConflict if it was closed
	// already.
	ResolveDeadLetter(ctx context.Context, id, by string, at time.Time) error

	// AddCounts adds to the named counters of peer.
	AddCounts(ctx context.Context, peer string, counts map[string]int64) error
	// Counts returns every counter, per peer and name.
	Counts(ctx context.Context) (map[string]map[string]int64, error)
}

// Kinds of list a peer sends.
const (
	ListTrust      = "trust"
	ListRevocation = "revocation"
)

// PeerList is the latest signed trust or revocation list a peer sent,
// exactly as signed; it is verified again against the pinned CSCA
// whenever it is used.
type PeerList struct {
	Peer       string
	Kind       string // ListTrust or ListRevocation
	Sequence   uint64
	Data       []byte
	ReceivedAt time.Time
}

// Revoked is a credential this node revoked: one hash in the DCC
// revocation scheme.
type Revoked struct {
	HashType  string // revocation.HashType's name
	Hash      string // hex
	Kid       string // hex; "" for any signer
	RevokedAt time.Time
	RevokedBy string
}

// TrustLists keeps the peers' lists and this node's revocations.
type TrustLists interface {
	// PutPeerList keeps l if it is newer (a higher sequence) than the one
	// kept, and reports whether it was.
	PutPeerList(ctx context.Context, l *PeerList) (bool, error)
	GetPeerList(ctx context.Context, peer, kind string) (*PeerList, error)
	// AddRevoked records a revocation; adding the same hash twice changes
	// nothing.
	AddRevoked(ctx context.Context, r *Revoked) error
	ListRevoked(ctx context.Context) ([]Revoked, error)
}

// Which side of a shared trip this node is on.
const (
	// SideDestination: the trip was filed and approved here; the peer,
	// the lane's origin, holds its twin.
	SideDestination = "destination"
	// SideOrigin: the trip is the twin of one the peer approved; this
	// node runs its pre-departure part.
	SideOrigin = "origin"
)

// TripLink ties a trip to its twin on a peer node. The twin shares the
// trip's reference. The origin side holds the passport number only as the
// approval's salted hash, which is enough to check a number a lab types.
type TripLink struct {
	TripID          string
	Peer            string
	Side            string // SideDestination or SideOrigin
	PassportCountry string
	PassportSalt    string
	PassportHash    string
	CreatedAt       time.Time
}

// TripLinks keeps the links of shared trips.
type TripLinks interface {
	AddTripLink(ctx context.Context, l *TripLink) error // ErrConflict when the trip has one
	GetTripLink(ctx context.Context, tripID string) (*TripLink, error)
}

// PeerCase is a case a peer notified: a positive among lane travellers on
// its side, with the exposure context contact tracing needs.
type PeerCase struct {
	Ref        string // the peer's case reference
	Peer       string
	Lane       string
	Stage      string // ledger stage
	DetectedOn string // YYYY-MM-DD
	TripRef    string
	TripID     string // the trip here with that reference; "" when none
	Exposure   []byte // the exposure as the peer sent it, JSON
	ReceivedAt time.Time
}

// TracedContact is a trip found to be a contact of a case, here or by a
// peer.
type TracedContact struct {
	CaseRef string
	TripID  string
	Rules   []string // tracing rule names
	Source  string   // "" when traced here, else the peer's country
	FoundAt time.Time
}

// ContactOnTrip is a traced contact with what a listing shows of its
// trip: the reference and the state, no personal data.
type ContactOnTrip struct {
	TracedContact
	TripRef   string
	TripState trip.State
}

// TraceRequest is a tracing request sent to a peer, until answered.
type TraceRequest struct {
	Ref        string
	CaseRef    string
	Peer       string
	SentAt     time.Time
	AnsweredAt time.Time
	Contacts   int // contacts the answer named
}

// Exposure is where a trip's traveller may have met others, kept beside
// the trip for tracing: the trip's flight, the hold and the itinerary,
// which tracing.Keys turns into the keys of the index.
type Exposure struct {
	TripID     string
	TripRef    string
	Flight     string
	FlightDate string // YYYY-MM-DD
	Seat       string
	HoldSite   string
	HoldFrom   time.Time
	HoldUntil  time.Time
	Sites      []ExposureSite
}

// ExposureSite is one itinerary site with the days spent there.
type ExposureSite struct {
	Site     string
	From, To string // YYYY-MM-DD, inclusive
}

// PeerStats is one day's aggregate figures of one lane as a peer counts
// them, the message body as JSON.
type PeerStats struct {
	Peer       string
	Date       string
	Lane       string
	Body       []byte
	ReceivedAt time.Time
}

// Tracing keeps cases notified by peers, contacts found, tracing requests
// and the exposure index.
type Tracing interface {
	// AddPeerCase records a notified case; ErrConflict if it is known.
	AddPeerCase(ctx context.Context, c *PeerCase) error
	GetPeerCase(ctx context.Context, peer, ref string) (*PeerCase, error)
	ListPeerCases(ctx context.Context, limit int) ([]PeerCase, error)
	// AddContact flags a trip as a contact of a case; it returns false,
	// and changes nothing, when the trip is already flagged for that case.
	AddContact(ctx context.Context, c *TracedContact) (bool, error)
	ListContacts(ctx context.Context, caseRef string) ([]TracedContact, error)
	ContactsOfTrip(ctx context.Context, tripID string) ([]TracedContact, error)
	// RecentContacts lists the contacts flagged for any case, newest
	// first, with their trips' references and states.
	RecentContacts(ctx context.Context, limit int) ([]ContactOnTrip, error)
	AddTraceRequest(ctx context.Context, r *TraceRequest) error
	GetTraceRequest(ctx context.Context, ref string) (*TraceRequest, error)
	// ListTraceRequests lists the tracing requests sent, newest first.
	ListTraceRequests(ctx context.Context, limit int) ([]TraceRequest, error)
	AnswerTraceRequest(ctx context.Context, ref string, at time.Time, contacts int) error

	// PutExposure stores a trip's exposure and replaces its index keys.
	PutExposure(ctx context.Context, e *Exposure, keys []string) error
	GetExposure(ctx context.Context, tripID string) (*Exposure, error)
	// ExposuresByKeys returns the exposures of the trips filed under any
	// of keys: the candidates of a trace.
	ExposuresByKeys(ctx context.Context, keys []string) ([]Exposure, error)

	PutPeerStats(ctx context.Context, s *PeerStats) error
	ListPeerStats(ctx context.Context, peer string, limit int) ([]PeerStats, error)
	// DayFigures counts, for one lane, the trip steps taken and the cases
	// opened in [from, to), and under StageSecondary the secondary cases
	// detected on the UTC days from from's up to to's.
	DayFigures(ctx context.Context, lane string, from, to time.Time) (DayFigures, error)
}

// DayFigures are one lane's counts over a stretch of time: transitions
// per action, and cases opened per stage.
type DayFigures struct {
	Steps map[string]int // trip.Action -> count
	Cases map[string]int // Stage -> count
}

// Federation is everything the joint response mechanism keeps.
type Federation interface {
	Peers
	Outbox
	Inbox
	TrustLists
	TripLinks
	Tracing
}

// AlertContact: the trip's traveller was found to be a contact of a case;
// an officer follows up.
const AlertContact = "contact"
