package envelope

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/trust"
)

// Stream is an ordered sequence of messages from one node to another.
// Sequence numbers count per sender, receiver and stream, so a stall in
// one (a case notification waiting for its predecessor) does not hold up
// another (statistics).
type Stream string

const (
	StreamTrips  Stream = "trips"  // a trip's progress across the border
	StreamCases  Stream = "cases"  // cases and contact tracing
	StreamTrust  Stream = "trust"  // trust and revocation lists
	StreamPolicy Stream = "policy" // policy changes and route suspensions
	StreamStats  Stream = "stats"  // daily aggregate figures
)

// Streams lists every stream, in a fixed order.
var Streams = []Stream{StreamTrips, StreamCases, StreamTrust, StreamPolicy, StreamStats}

// Valid tells whether s is a known stream.
func (s Stream) Valid() bool { return slices.Contains(Streams, s) }

// Type says what a message is about; each type belongs to one stream and
// has one body shape. docs/federation.md lists what each carries and why.
type Type string

const (
	TypeApprovalIssued    Type = "approval.issued"
	TypeTripCleared       Type = "trip.cleared"
	TypeTripDeparted      Type = "trip.departed"
	TypeArrivalResult     Type = "arrival.result"
	TypeTripReleased      Type = "trip.released"
	TypeTripCancelled     Type = "trip.cancelled"
	TypeTripArrived       Type = "trip.arrived"
	TypeTripIsolated      Type = "trip.isolated"
	TypeTripCompleted     Type = "trip.completed"
	TypeTripReinstated    Type = "trip.reinstated"
	TypeCaseNotified      Type = "case.notified"
	TypeTraceRequest      Type = "trace.request"
	TypeTraceAnswer       Type = "trace.answer"
	TypeTrustUpdate       Type = "trust.update"
	TypeRevocationUpdate  Type = "revocation.update"
	TypePolicyChanged     Type = "policy.changed"
	TypeRouteSuspended    Type = "route.suspended"
	TypeRouteLiftApproved Type = "route.lift_approved"
	TypeRouteReinstated   Type = "route.reinstated"
	TypeStatsDaily        Type = "stats.daily"
)

// Body is the content of one message type. Its JSON shape is the wire
// format: decoding refuses fields it does not name, so a field that must
// stay home cannot cross by accident on either side.
type Body interface {
	Type() Type
	Validate() error
}

type typeInfo struct {
	stream Stream
	make   func() Body
}

var types = map[Type]typeInfo{
	TypeApprovalIssued:    {StreamTrips, func() Body { return new(ApprovalIssued) }},
	TypeTripCleared:       {StreamTrips, func() Body { return new(TripCleared) }},
	TypeTripDeparted:      {StreamTrips, func() Body { return new(TripDeparted) }},
	TypeArrivalResult:     {StreamTrips, func() Body { return new(ArrivalResult) }},
	TypeTripReleased:      {StreamTrips, func() Body { return new(TripReleased) }},
	TypeTripCancelled:     {StreamTrips, func() Body { return new(TripCancelled) }},
	TypeTripArrived:       {StreamTrips, func() Body { return new(TripArrived) }},
	TypeTripIsolated:      {StreamTrips, func() Body { return new(TripIsolated) }},
	TypeTripCompleted:     {StreamTrips, func() Body { return new(TripCompleted) }},
	TypeTripReinstated:    {StreamTrips, func() Body { return new(TripReinstated) }},
	TypeCaseNotified:      {StreamCases, func() Body { return new(CaseNotified) }},
	TypeTraceRequest:      {StreamCases, func() Body { return new(TraceRequest) }},
	TypeTraceAnswer:       {StreamCases, func() Body { return new(TraceAnswer) }},
	TypeTrustUpdate:       {StreamTrust, func() Body { return new(TrustUpdate) }},
	TypeRevocationUpdate:  {StreamTrust, func() Body { return new(RevocationUpdate) }},
	TypePolicyChanged:     {StreamPolicy, func() Body { return new(PolicyChanged) }},
	TypeRouteSuspended:    {StreamPolicy, func() Body { return new(RouteSuspended) }},
	TypeRouteLiftApproved: {StreamPolicy, func() Body { return new(RouteLiftApproved) }},
	TypeRouteReinstated:   {StreamPolicy, func() Body { return new(RouteReinstated) }},
	TypeStatsDaily:        {StreamStats, func() Body { return new(StatsDaily) }},
}

// Types lists every message type, sorted.
func Types() []Type {
	out := make([]Type, 0, len(types))
	for t := range types {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Stream returns the stream a type travels on; "" for an unknown type.
func (t Type) Stream() Stream { return types[t].stream }

// Known tells whether t is a message type this node understands.
func (t Type) Known() bool { _, ok := types[t]; return ok }

// decodeBody reads a body of type t strictly and validates it.
func decodeBody(t Type, raw []byte) (Body, error) {
	info, ok := types[t]
	if !ok {
		return nil, fmt.Errorf("unknown message type %q", t)
	}
	b := info.make()
	if err := decodeStrict(raw, b); err != nil {
		return nil, fmt.Errorf("%s body: %w", t, err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%s body: %w", t, err)
	}
	return b, nil
}

// ---- trips stream ----

// ApprovalIssued (destination → origin): an entry approval was issued. The
// origin needs it to start pre-departure monitoring and to let the
// traveller board. The approval claim is the one inside the signed
// credential: name, date of birth, a salted hash of the passport number
// (never the number), lane, region, purpose, validity window, itinerary
// reference.
type ApprovalIssued struct {
	TripRef  string            `json:"trip_ref"`
	Approval approval.Approval `json:"approval"`
	// Credential is the signed approval as its QR code carries it
	// ("HC1:…"), so the origin can verify it against the trust list
	// rather than take the node's word for it. Optional.
	Credential string `json:"credential,omitempty"`
}

func (ApprovalIssued) Type() Type { return TypeApprovalIssued }

func (b ApprovalIssued) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	if err := b.Approval.Validate(); err != nil {
		v.add("approval", "%v", err)
	}
	if b.Credential != "" {
		v.text("credential", b.Credential, 8192)
	}
	return v.err()
}

// TripCleared (origin → destination): pre-departure monitoring is done and
// a negative test of the required type was sampled in the window. Only the
// facts the destination checks cross; the declarations and the test
// credential stay at the origin (the traveller shows the credential).
type TripCleared struct {
	TripRef        string    `json:"trip_ref"`
	ClearedAt      time.Time `json:"cleared_at"`
	MonitoringDays int       `json:"monitoring_days"`
	TestType       string    `json:"test_type"` // DCC value-set code, e.g. LP6464-4
	TestSampledAt  time.Time `json:"test_sampled_at"`
}

func (TripCleared) Type() Type { return TypeTripCleared }

func (b TripCleared) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.time("cleared_at", b.ClearedAt)
	v.time("test_sampled_at", b.TestSampledAt)
	if b.MonitoringDays < 0 || b.MonitoringDays > 60 {
		v.add("monitoring_days", "must be 0 to 60")
	}
	v.ref("test_type", b.TestType)
	return v.err()
}

// TripDeparted (origin → destination): the traveller boarded. Flight and
// seat are what contact tracing of fellow passengers needs.
type TripDeparted struct {
	TripRef    string    `json:"trip_ref"`
	DepartedAt time.Time `json:"departed_at"`
	Flight     string    `json:"flight"`
	FlightDate string    `json:"flight_date"` // YYYY-MM-DD, the scheduled departure date
	Seat       string    `json:"seat,omitempty"`
}

func (TripDeparted) Type() Type { return TypeTripDeparted }

func (b TripDeparted) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.time("departed_at", b.DepartedAt)
	v.ref("flight", b.Flight)
	v.date("flight_date", b.FlightDate)
	v.text("seat", b.Seat, 8)
	return v.err()
}

// Test results on arrival, as a word: the measured values stay home.
const (
	ResultNegative = "negative"
	ResultPositive = "positive"
)

// ArrivalResult (destination → origin): the arrival test's outcome and
// where the traveller was held. A positive also opens a case, notified on
// the cases stream.
type ArrivalResult struct {
	TripRef   string    `json:"trip_ref"`
	ArrivedAt time.Time `json:"arrived_at"`
	HoldSite  string    `json:"hold_site"`
	HoldFrom  time.Time `json:"hold_from"`
	Result    string    `json:"result"`
	ResultAt  time.Time `json:"result_at"`
}

func (ArrivalResult) Type() Type { return TypeArrivalResult }

func (b ArrivalResult) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.time("arrived_at", b.ArrivedAt)
	v.name("hold_site", b.HoldSite)
	v.time("hold_from", b.HoldFrom)
	v.time("result_at", b.ResultAt)
	v.oneOf("result", b.Result, ResultNegative, ResultPositive)
	return v.err()
}

// TripReleased (destination → origin): the hold ended and the traveller
// went on to the approved itinerary.
type TripReleased struct {
	TripRef    string    `json:"trip_ref"`
	ReleasedAt time.Time `json:"released_at"`
}

func (TripReleased) Type() Type { return TypeTripReleased }

func (b TripReleased) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.time("released_at", b.ReleasedAt)
	return v.err()
}

// TripCancelled (either way): a trip left the lane before it ended: the
// approval was withdrawn, expired or suspended, or the traveller withdrew.
// The reason in words stays home; the state says enough.
type TripCancelled struct {
	TripRef string    `json:"trip_ref"`
	State   string    `json:"state"` // trip.Withdrawn, trip.Expired or trip.Suspended
	At      time.Time `json:"at"`
}

func (TripCancelled) Type() Type { return TypeTripCancelled }

func (b TripCancelled) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.oneOf("state", b.State, "withdrawn", "expired", "suspended")
	v.time("at", b.At)
	return v.err()
}

// TripArrived (destination → origin): the traveller landed and, once
// HoldSite is set, was put in the arrival hold there to wait for the
// arrival test. The origin follows where its traveller is before any
// result is in; the hold site and start are what tracing on its side
// needs should a fellow traveller of the hold turn positive.
type TripArrived struct {
	TripRef   string    `json:"trip_ref"`
	ArrivedAt time.Time `json:"arrived_at"`
	HoldSite  string    `json:"hold_site,omitempty"`
	HoldFrom  time.Time `json:"hold_from,omitzero"`
}

func (TripArrived) Type() Type { return TypeTripArrived }

func (b TripArrived) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.time("arrived_at", b.ArrivedAt)
	if b.HoldSite != "" || !b.HoldFrom.IsZero() {
		v.name("hold_site", b.HoldSite)
		v.time("hold_from", b.HoldFrom)
	}
	return v.err()
}

// TripIsolated (either way): the side that has the traveller isolated
// them for a reason other than a positive test (symptoms, an officer's
// decision); a positive crosses as a case, which isolates the twin
// itself. The reason stays home: it is health data.
type TripIsolated struct {
	TripRef string    `json:"trip_ref"`
	At      time.Time `json:"at"`
}

func (TripIsolated) Type() Type { return TypeTripIsolated }

func (b TripIsolated) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.time("at", b.At)
	return v.err()
}

// TripCompleted (either way): the trip ended: an isolation was closed, or
// monitoring was ended by an official before the policy's clock did it.
// Without it the twin of an isolated traveller would stay isolated for
// good. The reason stays home.
type TripCompleted struct {
	TripRef string    `json:"trip_ref"`
	From    string    `json:"from"` // the state it ended from: monitoring or isolated
	At      time.Time `json:"at"`
}

func (TripCompleted) Type() Type { return TypeTripCompleted }

func (b TripCompleted) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.oneOf("from", b.From, "monitoring", "isolated")
	v.time("at", b.At)
	return v.err()
}

// TripReinstated (either way): a suspended trip went back to the state it
// had. Each side restores its own earlier state (the origin may have
// been monitoring a trip the destination still calls approved); the
// sender's is named for the record.
type TripReinstated struct {
	TripRef string    `json:"trip_ref"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
}

func (TripReinstated) Type() Type { return TypeTripReinstated }

func (b TripReinstated) Validate() error {
	var v validator
	v.ref("trip_ref", b.TripRef)
	v.oneOf("state", b.State, "submitted", "needs_info", "approved", "pre_departure", "cleared")
	v.time("at", b.At)
	return v.err()
}

// ---- cases stream ----

// Exposure is where a traveller may have met others: what contact tracing
// needs, and nothing about the person's health.
type Exposure struct {
	Flight     string      `json:"flight,omitempty"`
	FlightDate string      `json:"flight_date,omitempty"` // YYYY-MM-DD
	Seat       string      `json:"seat,omitempty"`
	HoldSite   string      `json:"hold_site,omitempty"`
	HoldFrom   *time.Time  `json:"hold_from,omitempty"`
	HoldUntil  *time.Time  `json:"hold_until,omitempty"`
	Sites      []SiteVisit `json:"sites,omitempty"`
}

// SiteVisit is one itinerary site and the days spent there, inclusive.
type SiteVisit struct {
	Site string `json:"site"`
	From string `json:"from"` // YYYY-MM-DD
	To   string `json:"to"`   // YYYY-MM-DD
}

// maxSites bounds an itinerary; a closed-loop itinerary names a handful.
const maxSites = 64

func (e *Exposure) validate(v *validator, field string) {
	if e.Flight != "" {
		v.ref(field+".flight", e.Flight)
		v.date(field+".flight_date", e.FlightDate)
	}
	v.text(field+".seat", e.Seat, 8)
	if e.HoldSite != "" {
		v.name(field+".hold_site", e.HoldSite)
		if e.HoldFrom == nil {
			v.add(field+".hold_from", "is required with a hold site")
		}
	}
	if e.HoldFrom != nil && e.HoldUntil != nil && e.HoldUntil.Before(*e.HoldFrom) {
		v.add(field+".hold_until", "is before hold_from")
	}
	if len(e.Sites) > maxSites {
		v.add(field+".sites", "lists %d sites, at most %d", len(e.Sites), maxSites)
		return
	}
	for i, s := range e.Sites {
		f := fmt.Sprintf("%s.sites[%d]", field, i)
		v.name(f+".site", s.Site)
		from, to := v.date(f+".from", s.From), v.date(f+".to", s.To)
		if !from.IsZero() && !to.IsZero() && to.Before(from) {
			v.add(f+".to", "is before from")
		}
	}
}

// CaseNotified (either way): a positive among lane travellers, or a
// secondary case linked to one. It carries where the case was caught and
// the exposure context for tracing; symptoms, declarations and test values
// stay home.
type CaseNotified struct {
	CaseRef string       `json:"case_ref"`
	Lane    string       `json:"lane"`
	Stage   ledger.Stage `json:"stage"`
	// DetectedAt is when the positive was found: the time both nodes'
	// ledgers and circuit breakers count it at, so they agree.
	DetectedAt time.Time `json:"detected_at"`
	// TripRef is the lane traveller's trip: the case's own for stages
	// before a secondary one, the linked traveller's for a secondary case
	// (whose person is not a lane traveller and is not named).
	TripRef  string    `json:"trip_ref"`
	Exposure *Exposure `json:"exposure,omitempty"`
}

func (CaseNotified) Type() Type { return TypeCaseNotified }

func (b CaseNotified) Validate() error {
	var v validator
	v.ref("case_ref", b.CaseRef)
	v.lane("lane", b.Lane)
	if !b.Stage.Valid() {
		v.add("stage", "unknown stage %q", b.Stage)
	}
	v.time("detected_at", b.DetectedAt)
	v.ref("trip_ref", b.TripRef)
	if b.Exposure != nil {
		b.Exposure.validate(&v, "exposure")
	}
	return v.err()
}

// TraceRequest (either way): asks the peer to find, among the trips it
// holds, the contacts of a case with this exposure.
type TraceRequest struct {
	RequestRef string   `json:"request_ref"`
	CaseRef    string   `json:"case_ref"`
	Exposure   Exposure `json:"exposure"`
}

func (TraceRequest) Type() Type { return TypeTraceRequest }

func (b TraceRequest) Validate() error {
	var v validator
	v.ref("request_ref", b.RequestRef)
	v.ref("case_ref", b.CaseRef)
	b.Exposure.validate(&v, "exposure")
	return v.err()
}

// TraceAnswer answers a TraceRequest with the contacts found: trip
// references (which both nodes know) and the rules that matched, not who
// the people are.
type TraceAnswer struct {
	RequestRef string          `json:"request_ref"`
	CaseRef    string          `json:"case_ref"`
	AnsweredAt time.Time       `json:"answered_at"`
	Contacts   []TracedContact `json:"contacts"`
}

// TracedContact is one contact found by the answering node.
type TracedContact struct {
	TripRef string   `json:"trip_ref"`
	Rules   []string `json:"rules"` // tracing.Rule names
}

// maxContacts bounds one answer; a full flight is a few hundred.
const maxContacts = 10000

func (TraceAnswer) Type() Type { return TypeTraceAnswer }

func (b TraceAnswer) Validate() error {
	var v validator
	v.ref("request_ref", b.RequestRef)
	v.ref("case_ref", b.CaseRef)
	v.time("answered_at", b.AnsweredAt)
	if len(b.Contacts) > maxContacts {
		v.add("contacts", "lists %d contacts, at most %d", len(b.Contacts), maxContacts)
		return v.err()
	}
	for i, c := range b.Contacts {
		f := fmt.Sprintf("contacts[%d]", i)
		v.ref(f+".trip_ref", c.TripRef)
		if len(c.Rules) == 0 || len(c.Rules) > 8 {
			v.add(f+".rules", "must name 1 to 8 rules")
		}
		for j, r := range c.Rules {
			v.ref(fmt.Sprintf("%s.rules[%d]", f, j), r)
		}
	}
	return v.err()
}

// ---- trust stream ----

// maxListBytes bounds a signed list carried in a message.
const maxListBytes = 512 << 10

// TrustUpdate carries the sender's signed trust list (trust.SignList's
// output) as its exact bytes; the receiver verifies it against the pinned
// CSCA with package trust, as it would a list fetched any other way.
type TrustUpdate struct {
	Sequence uint64 `json:"sequence"`
	List     []byte `json:"list"` // base64 in JSON
}

func (TrustUpdate) Type() Type { return TypeTrustUpdate }

func (b TrustUpdate) Validate() error { return validateList(b.Sequence, b.List) }

// RevocationUpdate carries the sender's signed revocation list, exact
// bytes, for package revocation to verify.
type RevocationUpdate struct {
	Sequence uint64 `json:"sequence"`
	List     []byte `json:"list"`
}

func (RevocationUpdate) Type() Type { return TypeRevocationUpdate }

func (b RevocationUpdate) Validate() error { return validateList(b.Sequence, b.List) }

func validateList(seq uint64, list []byte) error {
	var v validator
	if seq == 0 {
		v.add("sequence", "must be 1 or more")
	}
	if len(list) == 0 || len(list) > maxListBytes {
		v.add("list", "must be 1 byte to %d KiB", maxListBytes>>10)
	}
	return v.err()
}

// ---- policy stream ----

// PolicyChanged: a new version of the corridor policy (a quota change, a
// new region). Document is the file's exact bytes, so its SHA-256 is the
// digest both nodes compare.
type PolicyChanged struct {
	PolicyID string `json:"policy_id"`
	Version  int    `json:"version"`
	Digest   string `json:"digest"` // hex SHA-256 of Document
	Document []byte `json:"document"`
}

func (PolicyChanged) Type() Type { return TypePolicyChanged }

var reDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (b PolicyChanged) Validate() error {
	var v validator
	v.ref("policy_id", b.PolicyID)
	if b.Version < 1 {
		v.add("version", "must be 1 or more")
	}
	if !reDigest.MatchString(b.Digest) {
		v.add("digest", "must be a SHA-256 in lower-case hex")
	}
	if len(b.Document) == 0 || len(b.Document) > maxListBytes {
		v.add("document", "must be 1 byte to %d KiB", maxListBytes>>10)
	}
	return v.err()
}

// RouteSuspended: a lane was suspended, by the circuit breaker or by an
// officer. For the breaker, DecisionID is breaker.Decision.ID, the same
// on both nodes for the same positives, with the step that tripped and
// the triggering case. An officer's suspension has no step or trigger
// but a reason, which is a statement about the route (an outbreak, a
// joint decision), not about a person; its DecisionID is the suspension's
// id on the sender.
type RouteSuspended struct {
	Lane        string    `json:"lane"`
	DecisionID  string    `json:"decision_id"`
	Positives   int       `json:"positives,omitempty"`
	WindowDays  int       `json:"window_days,omitempty"`
	SuspendDays int       `json:"suspend_days,omitempty"`
	TriggerRef  string    `json:"trigger_ref,omitempty"` // the case whose positive tripped it
	Reason      string    `json:"reason,omitempty"`      // an officer's suspension only
	From        time.Time `json:"from"`
	Until       time.Time `json:"until"`
}

// Manual tells whether an officer, not the breaker, suspended the route.
func (b RouteSuspended) Manual() bool { return b.Reason != "" }

func (RouteSuspended) Type() Type { return TypeRouteSuspended }

func (b RouteSuspended) Validate() error {
	var v validator
	v.lane("lane", b.Lane)
	v.ref("decision_id", b.DecisionID)
	if b.Manual() {
		v.text("reason", b.Reason, 2000) // app.maxReason: any reason an officer may give crosses
		if b.Positives != 0 || b.WindowDays != 0 || b.TriggerRef != "" {
			v.add("reason", "an officer's suspension has no breaker step or trigger")
		}
	} else {
		v.ref("trigger_ref", b.TriggerRef)
		if b.Positives < 1 || b.WindowDays < 1 || b.SuspendDays < 1 {
			v.add("positives", "positives, window_days and suspend_days must be 1 or more")
		}
	}
	v.time("from", b.From)
	v.time("until", b.Until)
	if !b.Until.After(b.From) {
		v.add("until", "must be after from")
	}
	return v.err()
}

// RouteLiftApproved: an officer of the sender's side approved lifting a
// suspension early. A lift takes effect when both sides approved the same
// decision. The officer is named by a reference, not by name.
type RouteLiftApproved struct {
	Lane       string    `json:"lane"`
	DecisionID string    `json:"decision_id"`
	Country    string    `json:"country"`
	OfficerRef string    `json:"officer_ref"`
	At         time.Time `json:"at"`
}

func (RouteLiftApproved) Type() Type { return TypeRouteLiftApproved }

func (b RouteLiftApproved) Validate() error {
	var v validator
	v.lane("lane", b.Lane)
	v.ref("decision_id", b.DecisionID)
	v.country("country", b.Country)
	v.ref("officer_ref", b.OfficerRef)
	v.time("at", b.At)
	return v.err()
}

// How a suspension ended.
const (
	ReinstatedExpired = "expired" // the suspension's time ran out
	ReinstatedLifted  = "lifted"  // officers of both sides lifted it
)

// RouteReinstated: a suspended lane is open again.
type RouteReinstated struct {
	Lane       string    `json:"lane"`
	DecisionID string    `json:"decision_id"`
	How        string    `json:"how"`
	At         time.Time `json:"at"`
}

func (RouteReinstated) Type() Type { return TypeRouteReinstated }

func (b RouteReinstated) Validate() error {
	var v validator
	v.lane("lane", b.Lane)
	v.ref("decision_id", b.DecisionID)
	v.oneOf("how", b.How, ReinstatedExpired, ReinstatedLifted)
	v.time("at", b.At)
	return v.err()
}

// ---- stats stream ----

// StatsDaily: one day's aggregate figures of one lane as the sender counts
// them. Counts only: nothing in it names a traveller.
type StatsDaily struct {
	Date      string        `json:"date"` // YYYY-MM-DD
	Lane      string        `json:"lane"`
	Approved  int           `json:"approved"`
	Departed  int           `json:"departed"`
	Arrived   int           `json:"arrived"`
	Released  int           `json:"released"`
	Positives ledger.Counts `json:"positives"`
}

func (StatsDaily) Type() Type { return TypeStatsDaily }

func (b StatsDaily) Validate() error {
	var v validator
	v.date("date", b.Date)
	v.lane("lane", b.Lane)
	for _, n := range []int{b.Approved, b.Departed, b.Arrived, b.Released,
		b.Positives.PreDeparture, b.Positives.Arrival, b.Positives.Monitoring, b.Positives.Secondary} {
		if n < 0 {
			v.add("counts", "must not be negative")
			break
		}
	}
	return v.err()
}

// ---- field checks ----

var (
	reRef  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$`)
	reLane = regexp.MustCompile(`^[A-Z]{2}-[A-Z]{2}$`)
)

// validator gathers every fault of a body, each naming its field.
type validator struct{ errs []error }

func (v *validator) add(field, format string, a ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
}

func (v *validator) err() error { return errors.Join(v.errs...) }

func (v *validator) ref(field, s string) {
	if !reRef.MatchString(s) {
		v.add(field, "must be 1 to 80 of A-Z, a-z, 0-9 and . _ : / - (got %q)", truncate(s))
	}
}

func (v *validator) text(field, s string, max int) {
	if utf8.RuneCountInString(s) > max || !utf8.ValidString(s) {
		v.add(field, "must be valid UTF-8 of at most %d characters", max)
	}
}

// name is a place name: free text, required, one line.
func (v *validator) name(field, s string) {
	if s == "" || strings.ContainsAny(s, "\r\n\x00") {
		v.add(field, "is required, on one line")
		return
	}
	v.text(field, s, 120)
}

func (v *validator) time(field string, t time.Time) {
	if t.IsZero() {
		v.add(field, "is required")
	}
}

func (v *validator) date(field, s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.add(field, "must be a date YYYY-MM-DD (got %q)", truncate(s))
	}
	return d
}

func (v *validator) lane(field, s string) {
	if !reLane.MatchString(s) || !trust.ValidCountry(s[:2]) || !trust.ValidCountry(s[3:]) || s[:2] == s[3:] {
		v.add(field, "must be ORIGIN-DESTINATION, two different ISO 3166-1 alpha-2 codes (got %q)", truncate(s))
	}
}

func (v *validator) country(field, s string) {
	if !trust.ValidCountry(s) {
		v.add(field, "must be an ISO 3166-1 alpha-2 code (got %q)", truncate(s))
	}
}

func (v *validator) oneOf(field, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.add(field, "must be one of %q (got %q)", allowed, truncate(s))
	}
}

// truncate keeps error messages short whatever a peer sends.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
