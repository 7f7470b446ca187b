package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// PeerStatus is what an officer sees of one peer.
type PeerStatus struct {
	Country string
	URL     string
	Outbox  store.OutboxStatus
	// Cursors is, per stream, the next sequence number expected from the
	// peer; Gaps the streams waiting for a missing message.
	Cursors map[string]uint64
	Gaps    []store.InboxGap
	Counts  map[string]int64
}

// Status describes every peer. Anyone running the node may read it: it
// holds counts, no personal data.
func (s *Service) Status(ctx context.Context) ([]PeerStatus, error) { return StatusOf(ctx, s.db) }

// StatusOf describes every peer of the node whose store is db, for
// commands that read a node's database without running it.
func StatusOf(ctx context.Context, db store.Store) ([]PeerStatus, error) {
	peers, err := db.ListPeers(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := db.Counts(ctx)
	if err != nil {
		return nil, err
	}
	gaps, err := db.InboxGaps(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PeerStatus, 0, len(peers))
	for _, p := range peers {
		st := PeerStatus{Country: p.Country, URL: p.URL, Counts: counts[p.Country]}
		if st.Outbox, err = db.OutboxStatus(ctx, p.Country); err != nil {
			return nil, err
		}
		if st.Cursors, err = db.InboxCursors(ctx, p.Country); err != nil {
			return nil, err
		}
		for _, g := range gaps {
			if g.Peer == p.Country {
				st.Gaps = append(st.Gaps, g)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// ErrNotAllowed refuses an officer's request the principal may not make.
var ErrNotAllowed = errors.New("only a joint-mechanism officer may do this")

// RetryDeadLetter applies a dead letter again, once the cause is fixed
// (the trip it names was created, the state it needed was reached).
// Applied, it is resolved; refused again, it stays open with the new
// reason, which is returned as an *app.PeerRefusal. Role: joint_officer.
func (s *Service) RetryDeadLetter(ctx context.Context, p app.Principal, id string) error {
	if !app.Can(p, app.UCFederation) {
		return ErrNotAllowed
	}
	d, err := s.db.GetDeadLetter(ctx, id)
	if err != nil {
		return err
	}
	if !d.ResolvedAt.IsZero() {
		return fmt.Errorf("dead letter %s was resolved on %s: %w", id, d.ResolvedAt.Format(time.RFC3339), store.ErrConflict)
	}
	csca, err := s.pinned(ctx, d.Peer)
	if err != nil {
		return err
	}
	now := s.now()
	m, verr := envelope.Verify(d.Envelope, s.country, csca, now)
	if verr != nil {
		if err := s.db.RetriedDeadLetter(ctx, id, "no longer verifies: "+verr.Error(), now); err != nil {
			return err
		}
		return &app.PeerRefusal{Msg: verr.Error()}
	}
	var refusal *app.PeerRefusal
	mu := s.inboxLock(d.Peer)
	mu.Lock()
	defer mu.Unlock()
	err = s.db.InTx(ctx, func(tx store.Store) error {
		refusal = nil
		err := s.applyBody(ctx, tx, d.Peer, m)
		if errors.As(err, &refusal) {
			return nil // recorded below, outside the rolled-back attempt
		}
		if err != nil {
			return err
		}
		if err := tx.ResolveDeadLetter(ctx, id, p.ActorID(), now); err != nil {
			return err
		}
		if err := tx.SetSeenOutcome(ctx, id, store.InboxApplied, now); err != nil {
			return err
		}
		if err := tx.AddCounts(ctx, d.Peer, map[string]int64{CountApplied: 1}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.officerEntry(p, "federation.dead_letter.retry", d, now))
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		if err := s.db.RetriedDeadLetter(ctx, id, refusal.Msg, now); err != nil {
			return err
		}
		return refusal
	}
	if m.Type.Stream() == envelope.StreamTrust && s.cfg.ListsChanged != nil {
		s.cfg.ListsChanged()
	}
	return nil
}

// DismissDeadLetter closes a dead letter without applying it: the officer
// decided it no longer matters (the trip it names was withdrawn on both
// sides, say). Role: joint_officer.
func (s *Service) DismissDeadLetter(ctx context.Context, p app.Principal, id string) error {
	if !app.Can(p, app.UCFederation) {
		return ErrNotAllowed
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx store.Store) error {
		d, err := tx.GetDeadLetter(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.ResolveDeadLetter(ctx, id, p.ActorID(), now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.officerEntry(p, "federation.dead_letter.dismiss", d, now))
	})
}

func (s *Service) officerEntry(p app.Principal, action string, d *store.DeadLetter, at time.Time) *audit.Entry {
	return &audit.Entry{At: at, Actor: p.ActorID(), Role: string(trip.RoleJoint), Action: action, Object: "message:" + d.ID,
		Details: map[string]string{"peer": d.Peer, "type": d.Type, "stream": d.Stream}}
}
