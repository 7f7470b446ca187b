package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// What comes in from a peer node: its steps on shared trips, mirrored
// here as the peer; the cases it notifies, the tracing it asks for and
// answers; its figures and route decisions. The inbox (package
// federation) verifies each message, calls ApplyPeerMessage inside the
// transaction that also records the message as applied, and so applies it
// exactly once.

// PeerMessage is a verified message from a peer node.
type PeerMessage struct {
	From string // the peer's country
	ID   string // the message id
	Time time.Time
	Body envelope.Body
}

// PeerRefusal says why a peer's message cannot be applied here as it
// stands: no such trip, a step the trip's state does not allow. The inbox
// keeps the message as a dead letter for an officer to look at and retry;
// any other error is taken as passing (the database) and the message is
// tried again.
//
// Every handler below checks all it can before it writes anything, so a
// refusal leaves the transaction as it found it.
type PeerRefusal struct{ Msg string }

func (e *PeerRefusal) Error() string { return e.Msg }

func peerRefusal(format string, a ...any) *PeerRefusal {
	return &PeerRefusal{Msg: fmt.Sprintf(format, a...)}
}

// ApplyPeerMessage applies one message in tx. The caller has verified it
// against the pinned CSCA of m.From, a peer. Trust and revocation lists
// are the federation's own business and are refused here.
func (a *App) ApplyPeerMessage(ctx context.Context, tx store.Store, m PeerMessage) error {
	switch b := m.Body.(type) {
	case *envelope.ApprovalIssued:
		return a.mirrorApproval(ctx, tx, m, b)
	case *envelope.TripCleared:
		return a.peerSteps(ctx, tx, m, b.TripRef, store.SideDestination, func(c *change) error {
			reason := fmt.Sprintf("cleared on %s's side: %d monitoring days, negative %s test sampled %s",
				m.From, b.MonitoringDays, b.TestType, b.TestSampledAt.UTC().Format(time.RFC3339))
			if err := c.advance(m.From, trip.Cleared, b.ClearedAt, reason, trip.StartMonitoring, trip.Clear); err != nil {
				return err
			}
			c.t.ClearedAt = b.ClearedAt.UTC()
			return nil
		})
	case *envelope.TripDeparted:
		return a.peerSteps(ctx, tx, m, b.TripRef, store.SideDestination, func(c *change) error {
			if err := c.advance(m.From, trip.Departed, b.DepartedAt, "flight "+b.Flight, trip.StartMonitoring, trip.Clear, trip.Depart); err != nil {
				return err
			}
			c.t.Flight, c.t.Seat, c.t.DepartedAt = b.Flight, b.Seat, b.DepartedAt.UTC()
			c.flightDate = b.FlightDate
			return nil
		})
	case *envelope.ArrivalResult:
		return a.peerSteps(ctx, tx, m, b.TripRef, store.SideOrigin, func(c *change) error {
			target := trip.ArrivalHold
			steps := []trip.Action{trip.Arrive, trip.Hold}
			reason := "held at " + b.HoldSite + " for the arrival test"
			if b.Result == envelope.ResultPositive {
				target, steps = trip.Isolated, append(steps, trip.Isolate)
				reason = fmt.Sprintf("positive arrival test on %s's side, result of %s", m.From, b.ResultAt.UTC().Format(time.RFC3339))
			}
			if err := c.advance(m.From, target, b.ResultAt, reason, steps...); err != nil {
				return err
			}
			c.t.ArrivedAt, c.t.HoldStartedAt, c.holdSite = b.ArrivedAt.UTC(), b.HoldFrom.UTC(), b.HoldSite
			return nil
		})
	case *envelope.TripArrived:
		return a.peerSteps(ctx, tx, m, b.TripRef, store.SideOrigin, func(c *change) error {
			target, steps, reason := trip.Arrived, []trip.Action{trip.Arrive}, "arrived on "+m.From+"'s side"
			at := b.ArrivedAt
			if b.HoldSite != "" {
				target, steps, reason, at = trip.ArrivalHold, append(steps, trip.Hold), "held at "+b.HoldSite+" for the arrival test", b.HoldFrom
			}
			if err := c.advance(m.From, target, at, reason, steps...); err != nil {
				return err
			}
			if len(c.transitions) > 0 {
				c.t.ArrivedAt = b.ArrivedAt.UTC()
				if b.HoldSite != "" {
					c.t.HoldStartedAt, c.holdSite = b.HoldFrom.UTC(), b.HoldSite
				}
			}
			return nil
		})
	case *envelope.TripIsolated:
		return a.peerSteps(ctx, tx, m, b.TripRef, "", func(c *change) error {
			// Isolated already (a case crossed first), or ended since: the
			// message tells this node nothing new.
			if c.t.State == trip.Isolated || c.t.State.Final() {
				return nil
			}
			return c.move(Peer(m.From), trip.RolePeer, trip.Isolate, "isolated on "+m.From+"'s side", c.peerTime(b.At))
		})
	case *envelope.TripCompleted:
		return a.peerSteps(ctx, tx, m, b.TripRef, "", func(c *change) error {
			reason := "completed on " + m.From + "'s side"
			switch {
			case c.t.State == trip.Completed:
				return nil
			case c.t.State == trip.Isolated:
				return c.move(Peer(m.From), trip.RolePeer, trip.Complete, reason, c.peerTime(b.At))
			case b.From == string(trip.Isolated):
				return conflict("the trip is %s here; %s ended its isolation", c.t.State, m.From)
			}
			return c.advance(m.From, trip.Completed, b.At, reason, trip.Arrive, trip.Hold, trip.Release, trip.StartFollowUp, trip.Complete)
		})
	case *envelope.TripReinstated:
		return a.peerSteps(ctx, tx, m, b.TripRef, "", func(c *change) error {
			// Each side returns the trip to the state it had here, which
			// may be further along than the sender's (China monitors a trip
			// Korea still calls approved); the message's state is for the
			// record. A trip not suspended here was reinstated already.
			if c.t.State != trip.Suspended {
				return nil
			}
			return c.move(Peer(m.From), trip.RolePeer, trip.Reinstate,
				fmt.Sprintf("reinstated on %s's side (to %s there)", m.From, b.State), c.peerTime(b.At))
		})
	case *envelope.TripReleased:
		return a.peerSteps(ctx, tx, m, b.TripRef, store.SideOrigin, func(c *change) error {
			return a.mirrorRelease(c, m.From, b.ReleasedAt)
		})
	case *envelope.TripCancelled:
		return a.peerSteps(ctx, tx, m, b.TripRef, "", func(c *change) error {
			action := map[string]trip.Action{string(trip.Withdrawn): trip.Withdraw, string(trip.Expired): trip.Expire,
				string(trip.Suspended): trip.Suspend}[b.State]
			return c.advance(m.From, trip.State(b.State), b.At, fmt.Sprintf("%s on %s's side", b.State, m.From), action)
		})
	case *envelope.CaseNotified:
		return a.peerCase(ctx, tx, m, b)
	case *envelope.TraceRequest:
		return a.answerTrace(ctx, tx, m, b)
	case *envelope.TraceAnswer:
		return a.takeTraceAnswer(ctx, tx, m, b)
	case *envelope.StatsDaily:
		body, err := json.Marshal(b)
		if err != nil {
			return err
		}
		return tx.PutPeerStats(ctx, &store.PeerStats{Peer: m.From, Date: b.Date, Lane: b.Lane, Body: body, ReceivedAt: a.now()})
	case *envelope.RouteSuspended:
		return a.peerSuspension(ctx, tx, m, b)
	case *envelope.RouteReinstated:
		return a.peerReinstatement(ctx, tx, m, b)
	case *envelope.RouteLiftApproved:
		return a.peerLiftApproval(ctx, tx, m, b)
	case *envelope.PolicyChanged:
		return a.peerPolicy(ctx, tx, m, b)
	}
	return peerRefusal("messages of type %s are not applied by the application", m.Body.Type())
}

// peerOrgID is the organisation that stands, on this node, for a peer's
// sponsors: the twin of a trip needs a sponsor, and the real one is an
// enterprise on the peer's side.
func peerOrgID(country string) string { return "peer-" + strings.ToLower(country) }

// mirrorApproval creates the twin of a trip the peer approved on a lane
// whose origin is this node, in state approved, with only what the origin
// needs: names, date of birth, the passport number's salted hash, lane,
// region, purpose, validity and the itinerary's reference.
func (a *App) mirrorApproval(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.ApprovalIssued) error {
	ap := b.Approval
	lane, ok := a.Policy().Lane(ap.Lane)
	switch {
	case !ok:
		return peerRefusal("lane %s of approval %s is not in the corridor policy in force", ap.Lane, ap.ID)
	case lane.Origin != a.cfg.Country || lane.Destination != m.From:
		return peerRefusal("lane %s does not lead from this node (%s) to %s", ap.Lane, a.cfg.Country, m.From)
	}
	from, until, err := ap.Window()
	if err != nil {
		return peerRefusal("approval %s: %v", ap.ID, err)
	}
	if _, err := tx.GetTripByReference(ctx, b.TripRef); err == nil {
		return peerRefusal("a trip with reference %s is on this node already", b.TripRef)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := a.now()
	if err := a.ensurePeerOrg(ctx, tx, m.From, now); err != nil {
		return err
	}
	// The approval does not carry the planned dates; the departure date is
	// the one its validity was computed from (issueApproval: the end of
	// the departure day plus the grace days), which both nodes share.
	dep := until.UTC().AddDate(0, 0, -(1 + a.cfg.ApprovalGraceDays)).Format(time.DateOnly)
	t := &store.Trip{ID: auth.NewID(), Reference: b.TripRef, State: trip.Approved, Lane: ap.Lane, Region: ap.Region, Purpose: ap.Purpose,
		SponsorOrgID: peerOrgID(m.From), CreatedBy: Peer(m.From).ActorID(),
		Traveller: store.Traveller{GivenName: ap.Nam.Gn, FamilyName: ap.Nam.Fn, GivenNameICAO: ap.Nam.Gnt, FamilyNameICAO: ap.Nam.Fnt,
			DateOfBirth: ap.Dob, PassportCountry: ap.PassportCountry},
		DepartureDate: dep, ApprovalID: ap.ID, ApprovalHC1: b.Credential, ApprovedAt: from.UTC(), ApprovalValidUntil: until.UTC(),
		CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateTrip(ctx, t); err != nil {
		return err
	}
	if err := tx.AddTripLink(ctx, &store.TripLink{TripID: t.ID, Peer: m.From, Side: store.SideOrigin, PassportCountry: ap.PassportCountry,
		PassportSalt: ap.PassportSalt, PassportHash: ap.PassportHash, CreatedAt: now}); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, entry(Peer(m.From), string(trip.RolePeer), "trip.mirror", "trip:"+t.ID, now,
		map[string]string{"peer": m.From, "message": m.ID, "approval": ap.ID}))
}

func (a *App) ensurePeerOrg(ctx context.Context, tx store.Store, country string, now time.Time) error {
	_, err := tx.GetOrg(ctx, peerOrgID(country))
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return tx.CreateOrg(ctx, &store.Org{ID: peerOrgID(country), Kind: auth.KindAuthority,
		Name: "Corridor node " + country + " (peer)", Country: country, CreatedAt: now})
}

// peerSteps mirrors steps the peer took on a trip shared with it: the trip
// must be linked to that peer, and on side when side is not empty.
func (a *App) peerSteps(ctx context.Context, tx store.Store, m PeerMessage, ref, side string, fn func(c *change) error) error {
	t, err := tx.GetTripByReference(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return peerRefusal("no trip %s on this node", ref)
	}
	if err != nil {
		return err
	}
	c := a.newChange(t)
	link, err := c.linkOf(ctx, tx)
	if err != nil {
		return err
	}
	if link == nil || link.Peer != m.From {
		return peerRefusal("trip %s is not shared with %s", ref, m.From)
	}
	if side != "" && link.Side != side {
		return peerRefusal("%s reports a step of trip %s that this node takes itself", m.From, ref)
	}
	if err := fn(c); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code != CodeInternal {
			return peerRefusal("trip %s: %s", ref, e.Msg)
		}
		return err
	}
	if len(c.transitions) == 0 {
		return nil // the trip is there already
	}
	return c.commit(ctx, tx, true)
}

// mirrorPath is the order of a trip's states along its way; a step the
// peer reports is mirrored by walking the path to it.
var mirrorPath = []trip.State{trip.Approved, trip.PreDeparture, trip.Cleared, trip.Departed, trip.Arrived, trip.ArrivalHold,
	trip.Released, trip.Monitoring, trip.Completed}

// advance takes, as the peer, each of steps that the trip's state allows,
// in order, so that a trip that missed an earlier report catches up; the
// trip must end in target. A trip already at target, or further along
// the path, is left as it is: the peer reports what this node knows.
func (c *change) advance(peer string, target trip.State, at time.Time, reason string, steps ...trip.Action) error {
	if c.t.State == target {
		return nil
	}
	if i, j := slices.Index(mirrorPath, c.t.State), slices.Index(mirrorPath, target); i >= 0 && j >= 0 && i > j {
		return nil
	}
	p := Peer(peer)
	when := c.peerTime(at)
	for i, s := range steps {
		if !allows(c.t.State, trip.RolePeer, s) {
			continue
		}
		why := ""
		if i == len(steps)-1 {
			why = reason // the step the peer reported; the others are implied
		}
		if err := c.move(p, trip.RolePeer, s, why, when); err != nil {
			return err
		}
	}
	if c.t.State != target {
		return conflict("the trip is %s here; %s reports it %s", c.t.State, peer, target)
	}
	return nil
}

// peerTime is the time to record for a step the peer reports at at: its
// own time, unless it is missing or ahead of this node's clock, since a
// transition dated in the future would sort before steps taken here later.
func (c *change) peerTime(at time.Time) time.Time {
	when := at.UTC().Truncate(time.Millisecond)
	if when.IsZero() || when.After(c.now) {
		when = c.now
	}
	return when
}

// mirrorRelease mirrors the end of the arrival hold. Post-arrival
// monitoring then runs on the destination; its end is set by the policy's
// days from the release, so both nodes complete the trip by the same
// clock.
func (a *App) mirrorRelease(c *change, peer string, at time.Time) error {
	if err := c.advance(peer, trip.Monitoring, at, "released on "+peer+"'s side", trip.Arrive, trip.Hold, trip.Release, trip.StartFollowUp); err != nil {
		return err
	}
	if len(c.transitions) == 0 {
		return nil
	}
	lane, ok := a.Policy().Lane(c.t.Lane)
	if !ok {
		return conflict("lane %s is not in the corridor policy in force", c.t.Lane)
	}
	c.t.ReleasedAt = at.UTC().Truncate(time.Millisecond)
	start, err := a.dayStart(a.day(c.t.ReleasedAt))
	if err != nil {
		return err
	}
	c.t.FollowUpUntil = start.AddDate(0, 0, lane.Measures.PostArrivalMonitoringDays).UTC()
	return nil
}

// peerCase records a case the peer notified and, when it is a trip shared
// with that peer, isolates the twin here.
func (a *App) peerCase(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.CaseNotified) error {
	if _, err := tx.GetPeerCase(ctx, m.From, b.CaseRef); err == nil {
		return peerRefusal("%s notified case %s before", m.From, b.CaseRef)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var exposure []byte
	if b.Exposure != nil {
		var err error
		if exposure, err = json.Marshal(b.Exposure); err != nil {
			return err
		}
	}
	k := &store.PeerCase{Ref: b.CaseRef, Peer: m.From, Lane: b.Lane, Stage: string(b.Stage), DetectedOn: b.DetectedAt.UTC().Format(time.DateOnly), TripRef: b.TripRef,
		Exposure: exposure, ReceivedAt: a.now()}
	t, err := tx.GetTripByReference(ctx, b.TripRef)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		k.TripID = t.ID
		c := a.newChange(t)
		link, err := c.linkOf(ctx, tx)
		if err != nil {
			return err
		}
		// A secondary case is someone else's infection: it says nothing
		// new of the traveller's own state, which crosses by itself.
		if link != nil && link.Peer == m.From && b.Stage != ledger.Secondary && allows(t.State, trip.RolePeer, trip.Isolate) {
			reason := fmt.Sprintf("case %s notified by %s (%s)", b.CaseRef, m.From, b.Stage)
			if err := c.move(Peer(m.From), trip.RolePeer, trip.Isolate, reason, c.now); err != nil {
				return err
			}
			if err := tx.AddPeerCase(ctx, k); err != nil {
				return err
			}
			return c.commit(ctx, tx, true)
		}
	}
	if err := tx.AddPeerCase(ctx, k); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, entry(Peer(m.From), string(trip.RolePeer), "case.notified", "case:"+b.CaseRef, a.now(),
		map[string]string{"peer": m.From, "stage": string(b.Stage), "lane": b.Lane}))
}

// answerTrace traces, among this node's trips, the contacts of a case the
// peer asks about, flags them here, and answers with their references.
func (a *App) answerTrace(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.TraceRequest) error {
	f := a.federation()
	if f == nil {
		return errors.New("no federation to answer a tracing request through")
	}
	// The case's own trip is not its contact: the notice, which comes
	// first on the same stream, names it.
	ref := ""
	if k, err := tx.GetPeerCase(ctx, m.From, b.CaseRef); err == nil {
		ref = k.TripRef
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := a.now()
	e := tracingOf(exposureFromWire(&b.Exposure, ref))
	var audits []*audit.Entry
	found, err := a.traceHere(ctx, tx, b.CaseRef, e, "", now, func(x *audit.Entry) { audits = append(audits, x) })
	if err != nil {
		return err
	}
	ans := &envelope.TraceAnswer{RequestRef: b.RequestRef, CaseRef: b.CaseRef, AnsweredAt: now, Contacts: []envelope.TracedContact{}}
	for _, k := range found {
		if len(ans.Contacts) == 10000 { // a message's limit; a full flight is a few hundred
			break
		}
		rules := make([]string, 0, len(k.Reasons))
		for _, r := range k.Reasons {
			if !slices.Contains(rules, string(r.Rule)) && len(rules) < 8 {
				rules = append(rules, string(r.Rule))
			}
		}
		ans.Contacts = append(ans.Contacts, envelope.TracedContact{TripRef: k.TripRef, Rules: rules})
	}
	if err := f.Send(ctx, tx, m.From, ans, now); err != nil {
		return fmt.Errorf("answering %s's tracing request %s: %w", m.From, b.RequestRef, err)
	}
	audits = append(audits, entry(Peer(m.From), string(trip.RolePeer), "trace.answer", "case:"+b.CaseRef, now,
		map[string]string{"request": b.RequestRef, "contacts": strconv.Itoa(len(ans.Contacts))}))
	for _, x := range audits {
		if err := tx.AppendAudit(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// takeTraceAnswer records the peer's answer to a tracing request this node
// sent and flags, here, the contacts it names.
func (a *App) takeTraceAnswer(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.TraceAnswer) error {
	req, err := tx.GetTraceRequest(ctx, b.RequestRef)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (req.Peer != m.From || req.CaseRef != b.CaseRef)) {
		return peerRefusal("%s answers tracing request %s, which this node did not send it", m.From, b.RequestRef)
	}
	if err != nil {
		return err
	}
	if !req.AnsweredAt.IsZero() {
		return peerRefusal("tracing request %s was answered before", b.RequestRef)
	}
	now := a.now()
	var audits []*audit.Entry
	for _, k := range b.Contacts {
		t, err := tx.GetTripByReference(ctx, k.TripRef)
		if errors.Is(err, store.ErrNotFound) {
			continue // a trip only the peer holds
		}
		if err != nil {
			return err
		}
		if err := a.flagContact(ctx, tx, b.CaseRef, t.ID, k.Rules, m.From, now, func(x *audit.Entry) { audits = append(audits, x) }); err != nil {
			return err
		}
	}
	if err := tx.AnswerTraceRequest(ctx, b.RequestRef, b.AnsweredAt.UTC(), len(b.Contacts)); err != nil {
		return err
	}
	for _, x := range audits {
		if err := tx.AppendAudit(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// peerSuspension mirrors a route suspension the peer decided, by its
// circuit breaker or by its officer, under the peer's decision id: a
// suspension known already (sent again) adds nothing.
func (a *App) peerSuspension(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.RouteSuspended) error {
	lane, ok := a.Policy().Lane(b.Lane)
	if !ok {
		return peerRefusal("lane %s is not in the corridor policy in force", b.Lane)
	}
	if lane.Origin != m.From && lane.Destination != m.From {
		return peerRefusal("%s is not a party to lane %s", m.From, b.Lane)
	}
	reason := fmt.Sprintf("circuit breaker on %s's side: %d arrival positives within %d days suspend the route for %d days",
		m.From, b.Positives, b.WindowDays, b.SuspendDays)
	if b.Manual() {
		reason = fmt.Sprintf("suspended by %s's joint officer: %s", m.From, b.Reason)
	}
	s := &store.LaneSuspension{ID: b.DecisionID, Lane: b.Lane, StartsAt: b.From.UTC().Truncate(time.Millisecond),
		EndsAt: b.Until.UTC().Truncate(time.Millisecond), Reason: reason, CreatedBy: Peer(m.From).ActorID()}
	if err := tx.AddLaneSuspension(ctx, s); errors.Is(err, store.ErrConflict) {
		return nil
	} else if err != nil {
		return err
	}
	return tx.AppendAudit(ctx, entry(Peer(m.From), string(trip.RolePeer), "lane.suspend", "lane:"+b.Lane, a.now(),
		map[string]string{"until": s.EndsAt.Format(time.RFC3339), "suspension": s.ID}))
}

// peerLiftApproval records that an officer of the peer's side approved
// lifting a suspension, and lifts it when this side approved too.
func (a *App) peerLiftApproval(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.RouteLiftApproved) error {
	lane, ok := a.Policy().Lane(b.Lane)
	switch {
	case !ok:
		return peerRefusal("lane %s is not in the corridor policy in force", b.Lane)
	case b.Country != m.From:
		return peerRefusal("%s approves a lift for %s's side; each side approves for itself", m.From, b.Country)
	case lane.Origin != m.From && lane.Destination != m.From:
		return peerRefusal("%s is not a party to lane %s", m.From, b.Lane)
	}
	s, err := tx.GetLaneSuspension(ctx, b.DecisionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.Lane != b.Lane) {
		return peerRefusal("%s approves lifting suspension %s of lane %s, which this node does not hold", m.From, b.DecisionID, b.Lane)
	}
	if err != nil {
		return err
	}
	ap := &store.LiftApproval{SuspensionID: s.ID, Lane: b.Lane, Country: b.Country, OfficerRef: b.OfficerRef, At: b.At.UTC().Truncate(time.Millisecond)}
	if err := tx.AddLiftApproval(ctx, ap); errors.Is(err, store.ErrConflict) {
		return nil
	} else if err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, entry(Peer(m.From), string(trip.RolePeer), "lane.lift_approve", "lane:"+b.Lane, a.now(),
		map[string]string{"suspension": s.ID, "officer": b.OfficerRef})); err != nil {
		return err
	}
	_, _, err = a.liftIfAgreed(ctx, tx, lane, s)
	return err
}

// peerReinstatement closes a suspension the peer reports ended: lifted by
// both sides (known here already, from the approvals) or run out (which
// this node sees by the same clock).
func (a *App) peerReinstatement(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.RouteReinstated) error {
	s, err := tx.GetLaneSuspension(ctx, b.DecisionID)
	if errors.Is(err, store.ErrNotFound) {
		return peerRefusal("%s reinstates lane %s after suspension %s, which this node does not hold", m.From, b.Lane, b.DecisionID)
	}
	if err != nil {
		return err
	}
	if !s.LiftedAt.IsZero() || !s.EndsAt.After(b.At) {
		return nil
	}
	if b.How == envelope.ReinstatedExpired {
		return peerRefusal("%s reports suspension %s ran out at %s, but it runs until %s", m.From, s.ID, b.At.UTC().Format(time.RFC3339), s.EndsAt.Format(time.RFC3339))
	}
	lane, ok := a.Policy().Lane(b.Lane)
	if !ok {
		return peerRefusal("lane %s is not in the corridor policy in force", b.Lane)
	}
	// A lift needs both sides' approvals; this node must hold its own.
	if _, both, err := a.liftIfAgreed(ctx, tx, lane, s); err != nil || both {
		return err
	}
	return peerRefusal("%s reports suspension %s lifted, but this side has not approved lifting it", m.From, s.ID)
}

// peerPolicy takes a newer version of the corridor policy the peer sent:
// the same policy (id), a higher version, and a document whose digest is
// the one announced. It is kept with the peer's lists, and put in force
// by the node once the transaction commits (ApplyStoredPolicy).
func (a *App) peerPolicy(ctx context.Context, tx store.Store, m PeerMessage, b *envelope.PolicyChanged) error {
	sum := sha256.Sum256(b.Document)
	if hex.EncodeToString(sum[:]) != b.Digest {
		return peerRefusal("policy %s version %d: the document does not match its digest", b.PolicyID, b.Version)
	}
	p, err := policy.Parse(b.Document)
	if err != nil {
		return peerRefusal("policy %s version %d: %v", b.PolicyID, b.Version, err)
	}
	cur := a.Policy()
	switch {
	case p.ID != cur.ID || p.ID != b.PolicyID:
		return peerRefusal("policy %s is not the corridor policy in force (%s)", b.PolicyID, cur.ID)
	case p.Version != b.Version:
		return peerRefusal("policy %s: the document is version %d, the message says %d", b.PolicyID, p.Version, b.Version)
	case p.Version == cur.Version && b.Digest != cur.Digest():
		// Two documents under one version: the nodes would run different
		// rules believing them the same. The officers must settle it.
		return peerRefusal("policy %s version %d from %s differs from the one in force here (digest %.12s…, here %.12s…)",
			b.PolicyID, b.Version, m.From, b.Digest, cur.Digest())
	case p.Version <= cur.Version:
		return nil // known already
	}
	if _, err := tx.PutPeerList(ctx, &store.PeerList{Peer: m.From, Kind: ListPolicy, Sequence: uint64(p.Version), Data: b.Document,
		ReceivedAt: a.now()}); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, entry(Peer(m.From), string(trip.RolePeer), "policy.change", "policy:"+p.ID, a.now(),
		map[string]string{"version": strconv.Itoa(p.Version), "digest": b.Digest}))
}

// ListPolicy is the kind of peer list that holds a policy document a peer
// sent.
const ListPolicy = "policy"

// ApplyStoredPolicy puts in force the newest policy a peer sent or an
// officer here changed to (kept under this node's own country), when it
// is newer than the one in force, and reports whether it did.
func (a *App) ApplyStoredPolicy(ctx context.Context) (bool, error) {
	peers, err := a.db.ListPeers(ctx)
	if err != nil {
		return false, err
	}
	var newest *policy.Policy
	for _, pr := range append(peers, store.Peer{Country: a.cfg.Country}) {
		l, err := a.db.GetPeerList(ctx, pr.Country, ListPolicy)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		p, err := policy.Parse(l.Data)
		if err != nil {
			return false, fmt.Errorf("the policy %s sent: %w", pr.Country, err)
		}
		if newest == nil || p.Version > newest.Version {
			newest = p
		}
	}
	cur := a.Policy()
	if newest == nil || newest.ID != cur.ID || newest.Version <= cur.Version {
		return false, nil
	}
	return true, a.SetPolicy(newest)
}
