package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// The periodic jobs the node runs (every few minutes is plenty). Each one
// takes the time to act at, finds the trips due, and handles each in its
// own transaction, so one trip's failure neither stops the others nor
// holds locks for long. Each acts as the system principal.

// JobReport says what a job did.
type JobReport struct {
	Done   int   // trips changed (or alerts raised, or trips purged)
	Failed int   // trips whose transaction failed
	Err    error // the failures, joined; nil when none
}

func (r *JobReport) fail(tripID string, err error) {
	r.Failed++
	r.Err = errors.Join(r.Err, fmt.Errorf("trip %s: %w", tripID, err))
}

// jobBatch bounds one pass; the next run picks up the rest.
const jobBatch = 500

// eachDue runs fn on each trip due, in its own transaction.
func (a *App) eachDue(ctx context.Context, states []trip.State, field store.DueField, before time.Time,
	fn func(tx store.Store, c *change) (bool, error)) (JobReport, error) {
	var rep JobReport
	ids, err := a.db.ListDue(ctx, states, field, before, jobBatch)
	if err != nil {
		return rep, fmt.Errorf("finding due trips: %w", err)
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		done := false
		err := a.db.InTx(ctx, func(tx store.Store) error {
			done = false
			t, err := tx.GetTrip(ctx, id)
			if err != nil {
				return err
			}
			c := a.newChange(t)
			if done, err = fn(tx, c); err != nil || !done {
				return err
			}
			return c.commit(ctx, tx, true)
		})
		switch {
		case err != nil:
			rep.fail(id, err)
		case done:
			rep.Done++
		}
	}
	return rep, nil
}

// ReleaseDueHolds releases travellers whose arrival hold has passed its
// hours with a negative arrival test, and starts their post-arrival
// monitoring.
func (a *App) ReleaseDueHolds(ctx context.Context, now time.Time) (JobReport, error) {
	return a.eachDue(ctx, []trip.State{trip.ArrivalHold}, store.DueHold, now, func(tx store.Store, c *change) (bool, error) {
		return a.releaseIfDue(ctx, tx, c, System(), trip.RoleSystem, now)
	})
}

// CompleteDueMonitoring completes trips whose post-arrival monitoring has
// run its days.
func (a *App) CompleteDueMonitoring(ctx context.Context, now time.Time) (JobReport, error) {
	return a.eachDue(ctx, []trip.State{trip.Monitoring}, store.DueFollowUp, now, func(tx store.Store, c *change) (bool, error) {
		if c.t.State != trip.Monitoring || now.Before(c.t.FollowUpUntil) {
			return false, nil
		}
		return true, c.move(System(), trip.RoleSystem, trip.Complete, "post-arrival monitoring completed", now)
	})
}

// ExpireStaleApprovals expires approvals whose validity ended before the
// traveller departed.
func (a *App) ExpireStaleApprovals(ctx context.Context, now time.Time) (JobReport, error) {
	states := []trip.State{trip.Approved, trip.PreDeparture, trip.Cleared, trip.Suspended}
	return a.eachDue(ctx, states, store.DueApproval, now, func(tx store.Store, c *change) (bool, error) {
		if now.Before(c.t.ApprovalValidUntil) {
			return false, nil
		}
		if c.t.State == trip.Suspended && (c.t.SuspendedFrom == trip.Submitted || c.t.SuspendedFrom == trip.NeedsInfo) {
			return false, nil // suspended before approval: its approval date is not its own
		}
		if ours, err := a.ownsStep(ctx, tx, c, trip.Expire, trip.RoleSystem); err != nil || !ours {
			return false, err // a shared trip expires on its origin's word
		}
		return true, c.move(System(), trip.RoleSystem, trip.Expire, "the entry approval expired before departure", now)
	})
}

// RaiseAlerts raises an alert for every day a traveller in monitoring
// (before departure or after arrival) has not declared, up to yesterday.
// An alert is raised once per trip and day, however often the job runs.
func (a *App) RaiseAlerts(ctx context.Context, now time.Time) (JobReport, error) {
	var rep JobReport
	f := store.TripFilter{States: []trip.State{trip.PreDeparture, trip.Monitoring}, Limit: 200}
	for {
		page, err := a.db.ListTrips(ctx, f)
		if err != nil {
			return rep, fmt.Errorf("finding trips in monitoring: %w", err)
		}
		for i := range page.Trips {
			t := &page.Trips[i]
			n, err := a.raiseMissedDays(ctx, t, now)
			if err != nil {
				rep.fail(t.ID, err)
			}
			rep.Done += n
		}
		if page.Next == "" {
			return rep, nil
		}
		f.After = page.Next
	}
}

// maxAlertDays bounds how far back missed days are looked for.
const maxAlertDays = 60

func (a *App) raiseMissedDays(ctx context.Context, t *store.Trip, now time.Time) (int, error) {
	phase, from := store.PreDeparture, t.MonitoringStartedAt
	last := a.day(now.AddDate(0, 0, -1)) // today's report may still come
	if t.State == trip.Monitoring {
		phase, from = store.PostArrival, t.ReleasedAt
		if end := a.day(t.FollowUpUntil.AddDate(0, 0, -1)); end < last {
			last = end
		}
	}
	if from.IsZero() {
		return 0, nil
	}
	if ours, err := a.runsPhase(ctx, t, phase); err != nil || !ours {
		return 0, err // a shared trip's other phase is followed on the peer's node
	}
	// The start day itself is not owed: monitoring may begin late in it.
	first := from.In(a.cfg.Location).AddDate(0, 0, 1)
	if lim := now.In(a.cfg.Location).AddDate(0, 0, -maxAlertDays); first.Before(lim) {
		first = lim
	}
	raised := 0
	err := a.db.InTx(ctx, func(tx store.Store) error {
		raised = 0
		decls, err := tx.ListDeclarations(ctx, t.ID, phase)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, d := range decls {
			have[d.Day] = true
		}
		for d := first; a.day(d) <= last; d = d.AddDate(0, 0, 1) {
			day := a.day(d)
			if have[day] {
				continue
			}
			al := &store.Alert{ID: auth.NewID(), TripID: t.ID, Phase: phase, Kind: store.AlertMissedDay, Day: day, CreatedAt: now}
			created, err := tx.AddAlert(ctx, al)
			if err != nil {
				return err
			}
			if created {
				raised++
				if err := tx.AppendAudit(ctx, entry(System(), string(trip.RoleSystem), "alert.raise", "trip:"+t.ID, now,
					map[string]string{"kind": al.Kind, "day": day})); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return raised, err
}

// EndExpiredSessions deletes expired sessions (people's and travellers')
// and rate-limit counters whose window has long passed.
func (a *App) EndExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := a.db.DeleteExpiredSessions(ctx, now)
	if err != nil {
		return n, err
	}
	m, err := a.db.DeleteStaleRateLimits(ctx, now.Add(-rateLimitWindow))
	return n + m, err
}

// PurgeReport says what a retention purge did.
type PurgeReport struct {
	RetentionDays int
	Cutoff        time.Time // trips finished before this lost their personal data
	JobReport
}

// finalStates are those a trip ends in.
var finalStates = []trip.State{trip.Rejected, trip.Completed, trip.Withdrawn, trip.Expired}

// PurgePersonalData removes the personal data of trips that reached a
// final state more than retentionDays ago (the policy's retention when 0):
// names, passport, contacts, itinerary sites, declaration notes,
// transition reasons and issued credentials. States, dates and counts
// stay, and so does the audit chain, which never held personal data. A
// retention below policy.MinRetentionDays is refused: personal data is
// needed for at least one incubation period to trace a late case.
func (a *App) PurgePersonalData(ctx context.Context, now time.Time, retentionDays int) (PurgeReport, error) {
	if retentionDays == 0 {
		retentionDays = a.Policy().RetentionDays
	}
	rep := PurgeReport{RetentionDays: retentionDays}
	if retentionDays < policy.MinRetentionDays {
		return rep, &Error{Code: CodeInvalid, Msg: fmt.Sprintf("a retention of %d days is shorter than the minimum of %d days: personal data is kept at least one incubation period to trace contacts of a late case", retentionDays, policy.MinRetentionDays),
			Fields: map[string]string{"retention_days": "must be at least " + strconv.Itoa(policy.MinRetentionDays)}}
	}
	rep.Cutoff = now.AddDate(0, 0, -retentionDays)
	for {
		ids, err := a.db.ListDue(ctx, finalStates, store.DueFinishedBefore, rep.Cutoff, jobBatch)
		if err != nil {
			return rep, fmt.Errorf("finding trips to purge: %w", err)
		}
		progressed := false
		for _, id := range ids {
			err := a.db.InTx(ctx, func(tx store.Store) error {
				if err := tx.PurgeTrip(ctx, id, now); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, entry(System(), string(trip.RoleSystem), "trip.purge", "trip:"+id, now,
					map[string]string{"retention_days": strconv.Itoa(retentionDays)}))
			})
			if err != nil {
				rep.fail(id, err)
				continue
			}
			rep.Done++
			progressed = true
		}
		if len(ids) < jobBatch || !progressed {
			return rep, nil
		}
	}
}
