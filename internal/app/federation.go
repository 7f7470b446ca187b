package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// A trip on a lane between two nodes lives on both: the destination files
// and approves it, and the origin receives its twin (the same reference)
// when the approval is issued. Each side takes its own steps and tells the
// other, which mirrors them as the peer. This file holds what leaves the
// node: which steps each side takes, and which message each step sends,
// written to the outbox in the transaction of the step itself. peer.go
// holds what comes in.

// Federation seals messages for peer nodes and writes them to the outbox;
// package federation implements it. Send runs inside the caller's
// transaction, so a message exists exactly when the change it reports was
// committed.
type Federation interface {
	Send(ctx context.Context, tx store.Store, peer string, body envelope.Body, now time.Time) error
}

type federationHolder struct{ f Federation }

// SetFederation connects the application to its peers: from then on the
// steps of shared trips, their cases and tracing requests cross to the
// peer. Without it the node works alone.
func (a *App) SetFederation(f Federation) { a.fed.Store(&federationHolder{f}) }

func (a *App) federation() Federation {
	if h := a.fed.Load(); h != nil {
		return h.f
	}
	return nil
}

// sharedWith tells whether trips with country are shared: the node has
// a federation and country is one of its peers.
func (a *App) sharedWith(ctx context.Context, tx store.Store, country string) (bool, error) {
	if a.federation() == nil {
		return false, nil
	}
	_, err := tx.GetPeer(ctx, country)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// stepOwner says which side of a shared trip takes a step. The origin
// runs what happens before departure (monitoring, clearance, boarding,
// and the approval's expiry, since only it sees whether the traveller
// left); the destination everything from arrival on. Either side may
// withdraw or suspend. A step taken on the wrong side would be a second,
// conflicting truth, so it is refused there.
func stepOwner(t *store.Trip, tr trip.Transition) string {
	switch tr.Action {
	case trip.StartMonitoring, trip.Clear, trip.Depart, trip.Expire:
		return store.SideOrigin
	case trip.Isolate:
		if slices.Contains([]trip.State{trip.Approved, trip.PreDeparture, trip.Cleared}, tr.From) {
			return store.SideOrigin
		}
		return store.SideDestination
	case trip.Complete:
		// Monitoring ends by the policy's clock, which both sides keep
		// (see mirrorRelease). An isolation ends by the word of the side
		// that has the traveller: the origin's for one who never left.
		if tr.From == trip.Monitoring && tr.Actor.Role == trip.RoleSystem {
			return ""
		}
		if tr.From == trip.Isolated && t.DepartedAt.IsZero() {
			return store.SideOrigin
		}
		return store.SideDestination
	case trip.Withdraw, trip.Suspend, trip.Reinstate:
		return ""
	}
	return store.SideDestination
}

// linkOf loads the trip's link once per change; nil when the trip is not
// shared.
func (c *change) linkOf(ctx context.Context, tx store.Store) (*store.TripLink, error) {
	if c.linkLoaded {
		return c.link, nil
	}
	l, err := tx.GetTripLink(ctx, c.t.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		l = nil
	case err != nil:
		return nil, err
	}
	c.link, c.linkLoaded = l, true
	return l, nil
}

// federate runs in commit, after the trip row and its transitions are
// written and before the audit entries: it refuses steps that belong to
// the other side of a shared trip, keeps the trip's exposure in the
// tracing index, traces the contacts of a case opened here, and writes the
// messages the change sends.
func (a *App) federate(ctx context.Context, tx store.Store, c *change) error {
	link, err := c.linkOf(ctx, tx)
	if err != nil {
		return err
	}
	if link != nil {
		for _, tr := range c.transitions {
			if tr.Actor.Role == trip.RolePeer {
				continue
			}
			if owner := stepOwner(c.t, tr.Transition); owner != "" && owner != link.Side {
				return conflict("trip %s is shared with %s, whose node takes this step (%s); it reaches this node from there",
					c.t.Reference, link.Peer, humanAction(tr.Action))
			}
		}
	}
	if err := a.indexExposure(ctx, tx, c); err != nil {
		return err
	}
	if c.opened != nil {
		if err := a.traceOpenedCase(ctx, tx, c); err != nil {
			return err
		}
		if c.opened.Stage == store.StageArrival {
			if err := a.runBreaker(ctx, tx, c.t.Lane, c.opened.OpenedAt); err != nil {
				return err
			}
		}
	}
	f := a.federation()
	if f == nil {
		return nil
	}
	if c.approval != nil && link == nil {
		if link, err = a.shareApproval(ctx, tx, c); err != nil {
			return err
		}
	}
	if link == nil {
		return nil
	}
	bodies, err := a.outbound(ctx, tx, c, link)
	if err != nil {
		return err
	}
	for _, body := range bodies {
		if err := f.Send(ctx, tx, link.Peer, body, c.t.UpdatedAt); err != nil {
			return fmt.Errorf("sending %s to %s: %w", body.Type(), link.Peer, err)
		}
	}
	if c.opened != nil {
		return a.notifyCase(ctx, tx, f, c, link)
	}
	return nil
}

func humanAction(a trip.Action) string { return strings.ReplaceAll(string(a), "_", " ") }

// shareApproval links a trip approved here to its twin on the lane's
// origin when the origin is a peer, and sends the approval there.
func (a *App) shareApproval(ctx context.Context, tx store.Store, c *change) (*store.TripLink, error) {
	lane, ok := a.Policy().Lane(c.t.Lane)
	if !ok || lane.Destination != a.cfg.Country {
		return nil, nil
	}
	shared, err := a.sharedWith(ctx, tx, lane.Origin)
	if err != nil || !shared {
		return nil, err
	}
	ap := c.approval
	l := &store.TripLink{TripID: c.t.ID, Peer: lane.Origin, Side: store.SideDestination,
		PassportCountry: ap.PassportCountry, CreatedAt: c.t.UpdatedAt}
	if err := tx.AddTripLink(ctx, l); err != nil {
		return nil, err
	}
	c.link, c.linkLoaded = l, true
	body := &envelope.ApprovalIssued{TripRef: c.t.Reference, Approval: *ap, Credential: c.t.ApprovalHC1}
	if err := a.federation().Send(ctx, tx, l.Peer, body, c.t.UpdatedAt); err != nil {
		return nil, fmt.Errorf("sending the approval to %s: %w", l.Peer, err)
	}
	c.audit(entry(System(), string(trip.RoleSystem), "trip.share", "trip:"+c.t.ID, c.t.UpdatedAt, map[string]string{"peer": l.Peer}))
	return l, nil
}

// outbound turns the steps this side took into messages for the peer.
// Steps mirrored from the peer are not echoed back.
func (a *App) outbound(ctx context.Context, tx store.Store, c *change, link *store.TripLink) ([]envelope.Body, error) {
	t := c.t
	var out []envelope.Body
	// An arrival test's outcome goes first, before the release it may
	// cause, and only once the traveller is in the hold and its site is
	// known; before that the release or the case says enough.
	if r := c.test; r != nil && link.Side == store.SideDestination && r.Stage == store.StageArrival &&
		!t.ArrivedAt.IsZero() && !t.HoldStartedAt.IsZero() {
		e, err := a.exposureOf(ctx, tx, c)
		if err != nil {
			return nil, err
		}
		if e.HoldSite != "" {
			out = append(out, &envelope.ArrivalResult{TripRef: t.Reference, ArrivedAt: t.ArrivedAt, HoldSite: e.HoldSite,
				HoldFrom: t.HoldStartedAt, Result: r.Result, ResultAt: r.CreatedAt})
		}
	}
	arrived := false // one trip.arrived for an arrival and hold taken together
	for _, tr := range c.transitions {
		if tr.Actor.Role == trip.RolePeer {
			continue
		}
		switch tr.Action {
		case trip.Arrive, trip.Hold:
			// An arrival result sent above says all of it already.
			if arrived || (len(out) > 0 && out[0].Type() == envelope.TypeArrivalResult) {
				continue
			}
			arrived = true
			b := &envelope.TripArrived{TripRef: t.Reference, ArrivedAt: t.ArrivedAt}
			if !t.HoldStartedAt.IsZero() {
				e, err := a.exposureOf(ctx, tx, c)
				if err != nil {
					return nil, err
				}
				if e.HoldSite != "" {
					b.HoldSite, b.HoldFrom = e.HoldSite, t.HoldStartedAt
				}
			}
			out = append(out, b)
		case trip.Isolate:
			// A positive crosses as its case, which isolates the twin.
			if c.opened == nil {
				out = append(out, &envelope.TripIsolated{TripRef: t.Reference, At: tr.At})
			}
		case trip.Complete:
			// Both sides end monitoring by the same clock; anything else
			// ends by one side's word, which the other must hear.
			if tr.From != trip.Monitoring || tr.Actor.Role != trip.RoleSystem {
				out = append(out, &envelope.TripCompleted{TripRef: t.Reference, From: string(tr.From), At: tr.At})
			}
		case trip.Reinstate:
			out = append(out, &envelope.TripReinstated{TripRef: t.Reference, State: string(tr.To), At: tr.At})
		case trip.Clear:
			b, err := a.clearedBody(ctx, tx, t)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		case trip.Depart:
			out = append(out, &envelope.TripDeparted{TripRef: t.Reference, DepartedAt: t.DepartedAt, Flight: t.Flight,
				FlightDate: a.day(t.DepartedAt), Seat: t.Seat})
		case trip.Release:
			out = append(out, &envelope.TripReleased{TripRef: t.Reference, ReleasedAt: t.ReleasedAt})
		case trip.Withdraw, trip.Expire, trip.Suspend:
			out = append(out, &envelope.TripCancelled{TripRef: t.Reference, State: string(tr.To), At: tr.At})
		}
	}
	return out, nil
}

// clearedBody reports a clearance with the test that allowed it: the
// latest negative test of the lane's type sampled before clearance.
func (a *App) clearedBody(ctx context.Context, tx store.Store, t *store.Trip) (*envelope.TripCleared, error) {
	lane, ok := a.Policy().Lane(t.Lane)
	if !ok {
		return nil, conflict("lane %s is not in the corridor policy in force", t.Lane)
	}
	tests, err := tx.ListTests(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	var test *store.TestResult
	for i := range tests {
		r := &tests[i]
		if r.TestType == lane.Measures.TestTypeCode() && r.Result == store.ResultNegative && !r.SampledAt.After(t.ClearedAt) &&
			(test == nil || r.SampledAt.After(test.SampledAt)) {
			test = r
		}
	}
	if test == nil {
		return nil, conflict("trip %s was cleared without a negative test on record", t.Reference)
	}
	return &envelope.TripCleared{TripRef: t.Reference, ClearedAt: t.ClearedAt,
		MonitoringDays: lane.Measures.PreDepartureMonitoringDays, TestType: test.TestType, TestSampledAt: test.SampledAt}, nil
}

// caseStage classifies a case for the ledger and the peer.
func caseStage(s store.Stage) (ledger.Stage, bool) {
	switch s {
	case store.StagePreDeparture:
		return ledger.PreDeparture, true
	case store.StageArrival:
		return ledger.Arrival, true
	case store.StageFollowUp:
		return ledger.Monitoring, true
	}
	return "", false
}

// notifyCase tells the peer of a case opened here on a shared trip, with
// the exposure context, and asks it to trace the contacts among the
// trips it holds.
func (a *App) notifyCase(ctx context.Context, tx store.Store, f Federation, c *change, link *store.TripLink) error {
	stage, ok := caseStage(c.opened.Stage)
	if !ok {
		return nil
	}
	now := c.opened.OpenedAt
	var exp *envelope.Exposure
	if c.exposure != nil {
		exp = wireExposure(c.exposure)
	}
	notice := &envelope.CaseNotified{CaseRef: c.opened.ID, Lane: c.t.Lane, Stage: stage, DetectedAt: now,
		TripRef: c.t.Reference, Exposure: exp}
	if err := f.Send(ctx, tx, link.Peer, notice, now); err != nil {
		return fmt.Errorf("notifying %s of case %s: %w", link.Peer, c.opened.ID, err)
	}
	if exp == nil || len(traceKeys(tracingOf(exposureFromWire(exp, "")))) == 0 {
		return nil // nothing to trace by
	}
	req := &store.TraceRequest{Ref: auth.NewID(), CaseRef: c.opened.ID, Peer: link.Peer, SentAt: now}
	if err := tx.AddTraceRequest(ctx, req); err != nil {
		return err
	}
	if err := f.Send(ctx, tx, link.Peer, &envelope.TraceRequest{RequestRef: req.Ref, CaseRef: req.CaseRef, Exposure: *exp}, now); err != nil {
		return fmt.Errorf("asking %s to trace case %s: %w", link.Peer, c.opened.ID, err)
	}
	return nil
}

// notifySecondary tells the peer of a secondary case recorded here on a
// shared trip, as a case notice of stage secondary. It carries no
// exposure and asks for no tracing: the person infected is not a lane
// traveller, and their contacts are the local health system's to trace.
// The local reference and the note stay here.
func (a *App) notifySecondary(ctx context.Context, tx store.Store, t *store.Trip, k *store.SecondaryCase, now time.Time) error {
	f := a.federation()
	if f == nil {
		return nil
	}
	link, err := tx.GetTripLink(ctx, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	detected, err := time.ParseInLocation(time.DateOnly, k.DetectedOn, time.UTC)
	if err != nil {
		return fmt.Errorf("secondary case %s: detection date: %w", k.ID, err)
	}
	notice := &envelope.CaseNotified{CaseRef: k.ID, Lane: k.Lane, Stage: ledger.Secondary, DetectedAt: detected, TripRef: t.Reference}
	if err := f.Send(ctx, tx, link.Peer, notice, now); err != nil {
		return fmt.Errorf("notifying %s of secondary case %s: %w", link.Peer, k.ID, err)
	}
	return nil
}

// ownsStep tells whether this node takes action on trip t: false when t
// is shared and the peer takes it. The periodic jobs ask before acting.
func (a *App) ownsStep(ctx context.Context, tx store.Store, c *change, action trip.Action, role trip.Role) (bool, error) {
	link, err := c.linkOf(ctx, tx)
	if err != nil || link == nil {
		return err == nil, err
	}
	owner := stepOwner(c.t, trip.Transition{Action: action, From: c.t.State, Actor: trip.Actor{Role: role}})
	return owner == "" || owner == link.Side, nil
}

// runsPhase tells whether this node follows a trip's monitoring phase:
// for a shared trip, the origin the pre-departure one and the destination
// the post-arrival one.
func (a *App) runsPhase(ctx context.Context, t *store.Trip, phase store.Phase) (bool, error) {
	l, err := a.db.GetTripLink(ctx, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if phase == store.PreDeparture {
		return l.Side == store.SideOrigin, nil
	}
	return l.Side == store.SideDestination, nil
}

// passportMatches checks the passport number a lab typed against the
// trip's traveller: the number itself where the trip was filed, or the
// approval's salted hash on the twin of a shared trip, which never holds
// the number.
func (a *App) passportMatches(ctx context.Context, tx store.Store, t *store.Trip, number string) (bool, error) {
	if t.Traveller.PassportNumber != "" {
		return auth.ConstantTimeEqual(t.Traveller.PassportNumber, number), nil
	}
	l, err := tx.GetTripLink(ctx, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || l.PassportHash == "" {
		return false, err
	}
	ap := approval.Approval{PassportSalt: l.PassportSalt, PassportHash: l.PassportHash}
	return ap.MatchesPassport(l.PassportCountry, number), nil
}

// DeadLetter is a peer's message that could not be applied.
type DeadLetter = store.DeadLetter

// DeadLetterQuery selects dead letters.
type DeadLetterQuery struct {
	Peer     string
	OpenOnly bool
	Limit    int // 1 to 1000; 100 when 0
}

// DeadLetters lists the peers' messages that could not be applied, with
// the reason of each; package federation retries them. Role:
// joint_officer.
func (a *App) DeadLetters(ctx context.Context, p Principal, q DeadLetterQuery) ([]DeadLetter, error) {
	if _, err := authorize(p, UCFederation); err != nil {
		return nil, err
	}
	if q.Peer != "" && !reCountry.MatchString(q.Peer) {
		return nil, &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"peer": "must be a country code such as CN"}}
	}
	list, err := a.db.ListDeadLetters(ctx, store.DeadLetterFilter{Peer: q.Peer, OpenOnly: q.OpenOnly, Limit: q.Limit})
	return list, storeErr(err, "dead letters")
}
