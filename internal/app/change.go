package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// change gathers what one use case does to one trip: the trip's new
// fields, the transitions taken, and the audit entries. commit writes them
// in the caller's transaction, in one order: trip row (under its version
// check), transitions, then what federate derives from them (the tracing
// index, contacts of a case, the messages for the peer node, written to
// the outbox in this same transaction), then the audit entries, since
// appending to the audit chain locks its head until the transaction ends,
// and the quotas taken after them: on PostgreSQL a quota row taken first
// stayed locked while its transaction queued for the audit head, so every
// other approval of the week queued behind that one.
//
// This is the one place a trip's state is written.
type change struct {
	app         *App
	t           *store.Trip
	transitions []*store.Transition
	audits      []*audit.Entry
	quotas      []quotaTake
	now         time.Time

	// What the use case did besides moving the trip, for federate.
	approval   *approval.Approval // issued
	test       *store.TestResult  // recorded
	opened     *store.Case        // opened
	holdOrg    string             // the organisation that holds the traveller (Hold)
	holdSite   string             // the hold's site, as a peer named it
	flightDate string             // the flight's date, as a peer gave it

	link       *store.TripLink // loaded by linkOf
	linkLoaded bool
	exposure   *store.Exposure // loaded by exposureOf
}

func (a *App) newChange(t *store.Trip) *change { return &change{app: a, t: t, now: a.now()} }

// move asks the trip machine whether actor may take action now, and if so
// moves the trip and records the transition. A refusal comes back as a
// coded *Error wrapping the *trip.Refusal, and changes nothing.
func (c *change) move(p Principal, role trip.Role, action trip.Action, reason string, now time.Time) error {
	t := c.t
	tr, err := trip.Apply(t.State, t.SuspendedFrom, action, trip.Actor{ID: p.ActorID(), Role: role}, reason, now)
	if err != nil {
		return refused(err, t.State, action, role)
	}
	switch {
	case tr.To == trip.Suspended:
		t.SuspendedFrom = tr.From
	case tr.From == trip.Suspended:
		t.SuspendedFrom = ""
	}
	t.State = tr.To
	t.UpdatedAt = tr.At
	if action == trip.Hold {
		c.holdOrg = p.OrgID
	}
	if tr.To.Final() {
		t.FinishedAt = tr.At
	}
	c.transitions = append(c.transitions, &store.Transition{ID: auth.NewID(), TripID: t.ID, Transition: tr})
	details := map[string]string{"from": string(tr.From), "to": string(tr.To)}
	if tr.Reason != "" {
		// The reason may name the traveller; the audit keeps its digest,
		// which proves the stored reason unchanged without holding it.
		sum := sha256.Sum256([]byte(tr.Reason))
		details["reason_sha256"] = hex.EncodeToString(sum[:])
	}
	c.audit(entry(p, string(role), "trip."+string(action), "trip:"+t.ID, tr.At, details))
	return nil
}

// audit adds an entry written with the change.
func (c *change) audit(e *audit.Entry) { c.audits = append(c.audits, e) }

// quotaTake is a quota the change uses up, and the refusal if it is used
// up already.
type quotaTake struct {
	key     store.QuotaKey
	limit   int
	refusal *Error
}

// takeQuota adds a quota the change takes one of when it commits; the
// commit fails with refusal, and writes nothing, if none is left.
func (c *change) takeQuota(k store.QuotaKey, limit int, refusal *Error) {
	c.quotas = append(c.quotas, quotaTake{key: k, limit: limit, refusal: refusal})
}

// commit writes the change in tx.
func (c *change) commit(ctx context.Context, tx store.Store, fields bool) error {
	if fields || len(c.transitions) > 0 {
		if err := tx.UpdateTrip(ctx, c.t); err != nil {
			return err
		}
	}
	for _, tr := range c.transitions {
		if err := tx.AddTransition(ctx, tr); err != nil {
			return err
		}
	}
	if err := c.app.federate(ctx, tx, c); err != nil {
		return err
	}
	for _, e := range c.audits {
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
	}
	for _, q := range c.quotas {
		ok, err := tx.TakeQuota(ctx, q.key, q.limit)
		if err != nil {
			return err
		}
		if !ok {
			return q.refusal
		}
	}
	return nil
}
