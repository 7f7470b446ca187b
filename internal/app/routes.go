package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/breaker"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// A route (a lane) is suspended by its circuit breaker or by an officer,
// and the suspension holds on both nodes: the side that decides it tells
// the other in the same transaction (route.suspended). It ends when its
// time is up, which both sides see by the same clock, or earlier when an
// officer of each side approves lifting it (route.lift_approved from each,
// then route.reinstated); one side alone cannot reopen a route the other
// closed. This file owns those decisions; peer.go applies the peer's.

// LaneSuspension is a lane closed to new approvals for a time.
type LaneSuspension = store.LaneSuspension

// lanePeer returns the peer this node runs lane with, or "" when the
// other party is not a peer (or the node has no federation).
func (a *App) lanePeer(ctx context.Context, tx store.Store, lane *policy.Lane) (string, error) {
	other := lane.Origin
	if other == a.cfg.Country {
		other = lane.Destination
	}
	shared, err := a.sharedWith(ctx, tx, other)
	if err != nil || !shared {
		return "", err
	}
	return other, nil
}

// runBreaker evaluates the circuit breaker of a lane after an arrival
// positive was recorded here, in that positive's transaction: the route
// suspends itself at once, and the peer hears of it with the case. Only
// the lane's destination runs it, since arrival positives are found
// there; the decision's id is the breaker's, so evaluating again (a
// retried transaction, a later positive inside the same suspension)
// adds nothing.
func (a *App) runBreaker(ctx context.Context, tx store.Store, laneID string, now time.Time) error {
	pol := a.Policy()
	lane, ok := pol.Lane(laneID)
	if !ok || lane.Destination != a.cfg.Country || len(pol.CircuitBreaker) == 0 {
		return nil
	}
	// A suspension still in force was tripped at most its length ago, by
	// positives at most a window before that.
	back := 0
	for _, s := range pol.CircuitBreaker {
		back = max(back, s.WindowDays+s.SuspendDays)
	}
	cases, err := tx.LaneCases(ctx, laneID, store.StageArrival, now.AddDate(0, 0, -back))
	if err != nil {
		return err
	}
	positives := make([]breaker.Positive, 0, len(cases))
	for _, k := range cases {
		positives = append(positives, breaker.Positive{CaseRef: k.ID, At: k.OpenedAt})
	}
	lifts, err := a.lifts(ctx, tx, laneID)
	if err != nil {
		return err
	}
	d, err := breaker.Evaluate(breaker.RouteOf(lane), pol.CircuitBreaker, positives, lifts, now)
	if err != nil {
		return fmt.Errorf("circuit breaker of lane %s: %w", laneID, err)
	}
	if !d.Suspended {
		return nil
	}
	s := &store.LaneSuspension{ID: d.ID, Lane: laneID, StartsAt: d.From.UTC().Truncate(time.Millisecond),
		EndsAt: d.Until.UTC().Truncate(time.Millisecond), CreatedBy: System().ActorID(),
		Reason: fmt.Sprintf("circuit breaker: %d arrival positives within %d days suspend the route for %d days", d.Count, d.Step.WindowDays, d.Step.SuspendDays)}
	if err := tx.AddLaneSuspension(ctx, s); errors.Is(err, store.ErrConflict) {
		return nil // decided before
	} else if err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, entry(System(), string(trip.RoleSystem), "lane.suspend", "lane:"+laneID, now,
		map[string]string{"until": s.EndsAt.Format(time.RFC3339), "suspension": s.ID, "trigger": d.TriggerRef, "positives": fmt.Sprint(d.Count)})); err != nil {
		return err
	}
	peer, err := a.lanePeer(ctx, tx, lane)
	if err != nil || peer == "" {
		return err
	}
	body := &envelope.RouteSuspended{Lane: laneID, DecisionID: d.ID, Positives: d.Step.Positives, WindowDays: d.Step.WindowDays,
		SuspendDays: d.Step.SuspendDays, TriggerRef: d.TriggerRef, From: s.StartsAt, Until: s.EndsAt}
	if err := a.federation().Send(ctx, tx, peer, body, now); err != nil {
		return fmt.Errorf("telling %s of the suspension of lane %s: %w", peer, laneID, err)
	}
	return nil
}

// lifts gathers the lane's lift approvals per suspension, as the breaker
// reads them.
func (a *App) lifts(ctx context.Context, tx store.Store, laneID string) ([]breaker.Lift, error) {
	approvals, err := tx.ListLiftApprovals(ctx, laneID)
	if err != nil {
		return nil, err
	}
	var out []breaker.Lift
	idx := map[string]int{}
	for _, x := range approvals {
		i, ok := idx[x.SuspensionID]
		if !ok {
			i = len(out)
			idx[x.SuspensionID] = i
			out = append(out, breaker.Lift{DecisionID: x.SuspensionID})
		}
		out[i].Approvals = append(out[i].Approvals, breaker.Approval{Country: x.Country, Officer: x.OfficerRef, At: x.At})
	}
	return out, nil
}

// SuspendLane closes a lane to new approvals until until, with the
// reason; on a lane whose policy says "hold", travellers not yet departed
// are held too. The peer that runs the lane suspends it as well. Role:
// joint_officer.
func (a *App) SuspendLane(ctx context.Context, p Principal, laneID string, until time.Time, reason string) (*LaneSuspension, error) {
	role, err := authorize(p, UCLaneSuspend)
	if err != nil {
		return nil, err
	}
	reason, err = reasonText("reason", reason, true)
	if err != nil {
		return nil, err
	}
	now := a.now()
	v := invalid{}
	lane, ok := a.Policy().Lane(laneID)
	if !ok {
		v.add("lane", "%q is not a lane of the corridor policy", laneID)
	}
	if !until.After(now) || until.After(now.AddDate(1, 0, 0)) {
		v.add("until", "must be in the coming year")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	s := &store.LaneSuspension{ID: auth.NewID(), Lane: laneID, StartsAt: now, EndsAt: until.UTC().Truncate(time.Millisecond),
		Reason: reason, CreatedBy: p.ActorID()}
	err = a.tx(ctx, "lane suspension", func(tx store.Store) error {
		if err := tx.AddLaneSuspension(ctx, s); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, entry(p, string(role), "lane.suspend", "lane:"+laneID, now,
			map[string]string{"until": s.EndsAt.Format(time.RFC3339), "suspension": s.ID})); err != nil {
			return err
		}
		peer, err := a.lanePeer(ctx, tx, lane)
		if err != nil || peer == "" {
			return err
		}
		body := &envelope.RouteSuspended{Lane: laneID, DecisionID: s.ID, SuspendDays: int(s.EndsAt.Sub(now).Hours()/24 + 0.5),
			Reason: reason, From: s.StartsAt, Until: s.EndsAt}
		if err := a.federation().Send(ctx, tx, peer, body, now); err != nil {
			return fmt.Errorf("telling %s of the suspension of lane %s: %w", peer, laneID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// LiftOutcome says what an officer's lift did.
type LiftOutcome struct {
	Suspension *LaneSuspension
	// Lifted: the lane is open again. Otherwise this side's approval is
	// recorded and WaitingFor names the side whose officer must approve.
	Lifted     bool
	WaitingFor string
}

// LiftLaneSuspension approves, for this node's side, lifting the
// suspension in force on a lane before its time. On a lane run with a
// peer it lifts only once an officer of the peer approved too; the
// approval crosses either way. Role: joint_officer.
func (a *App) LiftLaneSuspension(ctx context.Context, p Principal, laneID string) (*LiftOutcome, error) {
	role, err := authorize(p, UCLaneSuspend)
	if err != nil {
		return nil, err
	}
	lane, ok := a.Policy().Lane(laneID)
	if !ok {
		return nil, notFound("lane")
	}
	var out *LiftOutcome
	err = a.tx(ctx, "lane suspension", func(tx store.Store) error {
		now := a.now()
		s, err := tx.ActiveLaneSuspension(ctx, laneID, now)
		if err != nil {
			return storeErr(err, "active suspension of lane "+laneID)
		}
		out = &LiftOutcome{Suspension: s}
		peer, err := a.lanePeer(ctx, tx, lane)
		if err != nil {
			return err
		}
		if peer == "" { // the node runs the lane alone
			out.Lifted = true
			if err := tx.LiftLaneSuspension(ctx, s.ID, now); err != nil {
				return err
			}
			s.LiftedAt = now
			return tx.AppendAudit(ctx, entry(p, string(role), "lane.lift_suspension", "lane:"+laneID, now, map[string]string{"suspension": s.ID}))
		}
		ap := &store.LiftApproval{SuspensionID: s.ID, Lane: laneID, Country: a.cfg.Country, OfficerRef: p.ActorID(), At: now}
		if err := tx.AddLiftApproval(ctx, ap); errors.Is(err, store.ErrConflict) {
			return conflict("an officer of %s approved lifting this suspension already; it lifts when an officer of %s approves too", a.cfg.Country, peer)
		} else if err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, entry(p, string(role), "lane.lift_approve", "lane:"+laneID, now, map[string]string{"suspension": s.ID})); err != nil {
			return err
		}
		f := a.federation()
		if err := f.Send(ctx, tx, peer, &envelope.RouteLiftApproved{Lane: laneID, DecisionID: s.ID, Country: a.cfg.Country,
			OfficerRef: p.ActorID(), At: now}, now); err != nil {
			return fmt.Errorf("sending the lift approval to %s: %w", peer, err)
		}
		at, both, err := a.liftIfAgreed(ctx, tx, lane, s)
		if err != nil || !both {
			out.WaitingFor = peer
			return err
		}
		out.Lifted, s.LiftedAt = true, at
		return f.Send(ctx, tx, peer, &envelope.RouteReinstated{Lane: laneID, DecisionID: s.ID, How: envelope.ReinstatedLifted, At: at}, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// liftIfAgreed lifts suspension s once officers of both parties to the
// lane approved it, at the later approval's time (the breaker's rule),
// which both nodes hold, so both record the same lift. It reports whether
// it lifted it now.
func (a *App) liftIfAgreed(ctx context.Context, tx store.Store, lane *policy.Lane, s *store.LaneSuspension) (time.Time, bool, error) {
	lifts, err := a.lifts(ctx, tx, lane.ID)
	if err != nil {
		return time.Time{}, false, err
	}
	i := slices.IndexFunc(lifts, func(l breaker.Lift) bool { return l.DecisionID == s.ID })
	if i < 0 || !s.LiftedAt.IsZero() {
		return time.Time{}, false, nil
	}
	at, agreed := lifts[i].EffectiveAt(breaker.RouteOf(lane))
	if !agreed {
		return at, false, nil
	}
	if err := tx.LiftLaneSuspension(ctx, s.ID, at); err != nil {
		return at, false, err
	}
	return at, true, tx.AppendAudit(ctx, entry(System(), string(trip.RoleSystem), "lane.lift_suspension", "lane:"+lane.ID, a.now(),
		map[string]string{"suspension": s.ID, "how": envelope.ReinstatedLifted, "at": at.Format(time.RFC3339)}))
}
