package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// DepartureInput records the traveller boarding.
type DepartureInput struct {
	Flight     string    // e.g. OZ361
	Seat       string    // e.g. 32A
	DepartedAt time.Time // now when zero
}

// Depart records a cleared traveller's departure with flight and seat
// (the exposure context contact tracing needs). It checks, at the actual
// departure time, that a negative test of the lane's type was sampled
// inside the window, and refuses departure on a lane suspended with
// on_suspension "hold". Roles: border_officer, health_authority.
func (a *App) Depart(ctx context.Context, p Principal, tripID string, in DepartureInput) (*Trip, error) {
	in.Flight = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(in.Flight), " ", ""))
	in.Seat = strings.ToUpper(strings.TrimSpace(in.Seat))
	v := invalid{}
	if !reFlight.MatchString(in.Flight) {
		v.add("flight", "must be a flight number such as OZ361")
	}
	if !reSeat.MatchString(in.Seat) {
		v.add("seat", "must be a seat such as 32A")
	}
	if !in.DepartedAt.IsZero() && in.DepartedAt.After(a.now().Add(5*time.Minute)) {
		v.add("departed_at", "must not be in the future")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripDepart, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		t := c.t
		at := in.DepartedAt
		if at.IsZero() {
			at = now
		}
		if err := c.move(p, role, trip.Depart, fmt.Sprintf("flight %s", in.Flight), now); err != nil {
			return err
		}
		lane, ok := a.Policy().Lane(t.Lane)
		if !ok {
			return conflict("lane %s is not in the corridor policy in force", t.Lane)
		}
		if lane.OnSuspension == "hold" {
			if s, err := tx.ActiveLaneSuspension(ctx, lane.ID, now); err == nil {
				return conflict("lane %s is suspended until %s and holds travellers who have not departed", lane.ID, s.EndsAt.Format(time.RFC3339))
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := a.checkTestAt(ctx, tx, t, lane, at); err != nil {
			return err
		}
		t.Flight, t.Seat, t.DepartedAt = in.Flight, in.Seat, at.UTC().Truncate(time.Millisecond)
		return nil
	})
}

// checkTestAt requires a negative test of the lane's type sampled within
// the window before at, and no positive since.
func (a *App) checkTestAt(ctx context.Context, tx store.Store, t *store.Trip, lane *policy.Lane, at time.Time) error {
	tests, err := tx.ListTests(ctx, t.ID)
	if err != nil {
		return err
	}
	m := lane.Measures
	opens := at.Add(-time.Duration(m.TestWindowHours) * time.Hour)
	var neg time.Time
	for _, r := range tests {
		if r.TestType == m.TestTypeCode() && r.Result == store.ResultNegative && !r.SampledAt.Before(opens) && !r.SampledAt.After(at) {
			neg = r.SampledAt
		}
	}
	if neg.IsZero() {
		return conflict("no negative %s test was sampled in the %d hours before departure: the traveller needs a new test", m.TestType, m.TestWindowHours)
	}
	for _, r := range tests {
		if r.Result == store.ResultPositive && !r.SampledAt.Before(neg) {
			return conflict("a positive test was sampled after the last negative one")
		}
	}
	return nil
}

// Arrive records the traveller's arrival. Roles: arrival_officer,
// border_officer.
func (a *App) Arrive(ctx context.Context, p Principal, tripID string) (*Trip, error) {
	return a.act(ctx, p, UCTripArrive, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		if err := c.move(p, role, trip.Arrive, "", now); err != nil {
			return err
		}
		c.t.ArrivedAt = now
		return nil
	})
}

// HoldForArrivalTest puts an arrived traveller in the arrival hold after
// the arrival test is sampled; the hold lasts the lane's hold hours and
// ends only with a negative result. Role: arrival_officer.
func (a *App) HoldForArrivalTest(ctx context.Context, p Principal, tripID string) (*Trip, error) {
	return a.act(ctx, p, UCTripHold, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		lane, ok := a.Policy().Lane(c.t.Lane)
		if !ok {
			return conflict("lane %s is not in the corridor policy in force", c.t.Lane)
		}
		reason := fmt.Sprintf("held %d h for the arrival test", lane.Measures.ArrivalHoldHours)
		if err := c.move(p, role, trip.Hold, reason, now); err != nil {
			return err
		}
		c.t.HoldStartedAt = now
		c.t.HoldUntil = now.Add(time.Duration(lane.Measures.ArrivalHoldHours) * time.Hour)
		return nil
	})
}

// Release ends the arrival hold when it is due: the hold hours have passed
// and (when the lane tests on arrival) a negative arrival test is in; the
// traveller moves on to post-arrival monitoring. Role: arrival_officer.
func (a *App) Release(ctx context.Context, p Principal, tripID string) (*Trip, error) {
	return a.act(ctx, p, UCTripRelease, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		released, err := a.releaseIfDue(ctx, tx, c, p, role, now)
		if err != nil {
			return err
		}
		if !released {
			return a.whyNotReleased(ctx, tx, c.t, now)
		}
		return nil
	})
}

// releaseReady tells whether a held trip may be released now.
func (a *App) releaseReady(ctx context.Context, tx store.Store, t *store.Trip, now time.Time) (bool, error) {
	if t.State != trip.ArrivalHold || now.Before(t.HoldUntil) {
		return false, nil
	}
	lane, ok := a.Policy().Lane(t.Lane)
	if !ok {
		return false, nil
	}
	if !lane.Measures.ArrivalTest {
		return true, nil
	}
	tests, err := tx.ListTests(ctx, t.ID)
	if err != nil {
		return false, err
	}
	negative := false
	for _, r := range tests {
		if r.SampledAt.Before(t.DepartedAt) {
			continue // an arrival test is one sampled after leaving
		}
		if r.Result == store.ResultPositive {
			return false, nil
		}
		negative = true
	}
	return negative, nil
}

func (a *App) whyNotReleased(ctx context.Context, tx store.Store, t *store.Trip, now time.Time) error {
	if t.State != trip.ArrivalHold {
		_, err := trip.Apply(t.State, t.SuspendedFrom, trip.Release, trip.Actor{ID: "x", Role: trip.RoleArrival}, "", now)
		return refused(err, t.State, trip.Release, trip.RoleArrival)
	}
	if now.Before(t.HoldUntil) {
		return conflict("the arrival hold lasts until %s", t.HoldUntil.Format(time.RFC3339))
	}
	return conflict("no negative arrival test result is in yet")
}

// releaseIfDue releases a held trip whose hold is due and starts its
// post-arrival monitoring, in the change c.
func (a *App) releaseIfDue(ctx context.Context, tx store.Store, c *change, p Principal, role trip.Role, now time.Time) (bool, error) {
	ok, err := a.releaseReady(ctx, tx, c.t, now)
	if err != nil || !ok {
		return false, err
	}
	if err := c.move(p, role, trip.Release, "hold hours passed with a negative arrival test", now); err != nil {
		return false, err
	}
	c.t.ReleasedAt = now
	lane, _ := a.Policy().Lane(c.t.Lane)
	if err := c.move(System(), trip.RoleSystem, trip.StartFollowUp, "", now); err != nil {
		return false, err
	}
	// Monitoring covers the release day and the following days.
	start, _ := a.dayStart(a.day(now))
	c.t.FollowUpUntil = start.AddDate(0, 0, lane.Measures.PostArrivalMonitoringDays).UTC()
	return true, nil
}

// Isolate isolates a traveller, with the reason. Roles: arrival_officer,
// health_monitor, health_authority.
func (a *App) Isolate(ctx context.Context, p Principal, tripID, reason string) (*Trip, error) {
	reason, err := reasonText("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripIsolate, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		return c.move(p, role, trip.Isolate, reason, now)
	})
}

// CompleteIsolation ends a trip whose traveller leaves isolation, with the
// reason. Roles: health_monitor, health_authority.
func (a *App) CompleteIsolation(ctx context.Context, p Principal, tripID, reason string) (*Trip, error) {
	reason, err := reasonText("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripCompleteIsolate, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		from := c.t.State
		if err := c.move(p, role, trip.Complete, reason, now); err != nil {
			return err
		}
		if from != trip.Isolated {
			return conflict("only an isolated traveller's trip is completed this way; this one is %s", from)
		}
		return nil
	})
}

// SuspendTrip suspends one trip, with the reason. Role: joint_officer.
func (a *App) SuspendTrip(ctx context.Context, p Principal, tripID, reason string) (*Trip, error) {
	reason, err := reasonText("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripSuspend, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		return c.move(p, role, trip.Suspend, reason, now)
	})
}

// ReinstateTrip returns a suspended trip to the state it had. Role:
// joint_officer.
func (a *App) ReinstateTrip(ctx context.Context, p Principal, tripID, reason string) (*Trip, error) {
	reason, err := reasonText("reason", reason, false)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripReinstate, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		return c.move(p, role, trip.Reinstate, reason, now)
	})
}
