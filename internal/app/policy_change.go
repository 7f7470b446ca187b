package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
)

// The corridor policy is one versioned document both nodes run. A change
// (a quota, a measure, a breaker step) is made on either node by a joint
// officer, kept there so a restart keeps it, and sent to every peer in
// the same transaction (policy.changed); the peer puts a higher version
// of the same policy in force once the message is applied. The document
// crosses byte for byte, so both nodes hold the same digest.

// maxPolicyBytes bounds an uploaded policy; the shipped one is a few KiB.
const maxPolicyBytes = 256 << 10

// ChangePolicy puts in force doc, a newer version of the policy in force,
// and sends it to the peers. Role: joint_officer.
func (a *App) ChangePolicy(ctx context.Context, p Principal, doc []byte) (*policy.Policy, error) {
	role, err := authorize(p, UCPolicyChange)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalid, Msg: "the policy document needs correcting", Fields: map[string]string{"document": fmt.Sprintf(format, args...)}}
	}
	if len(doc) == 0 || len(doc) > maxPolicyBytes {
		return nil, bad("must be a policy document of 1 byte to %d KiB", maxPolicyBytes>>10)
	}
	np, err := policy.Parse(doc)
	if err != nil {
		return nil, bad("%v", err)
	}
	cur := a.Policy()
	switch {
	case np.ID != cur.ID:
		return nil, bad("is policy %q; the corridor runs %q", np.ID, cur.ID)
	case np.Version <= cur.Version:
		return nil, bad("is version %d; a change needs a version above %d, the one in force", np.Version, cur.Version)
	case np.RetentionDays < policy.MinRetentionDays:
		return nil, bad("keeps personal data %d days; at least %d are required", np.RetentionDays, policy.MinRetentionDays)
	}
	now := a.now()
	err = a.tx(ctx, "policy change", func(tx store.Store) error {
		newer, err := tx.PutPeerList(ctx, &store.PeerList{Peer: a.cfg.Country, Kind: ListPolicy, Sequence: uint64(np.Version), Data: doc, ReceivedAt: now})
		if err != nil {
			return err
		}
		if !newer {
			return conflict("version %d of policy %s was put in force already", np.Version, np.ID)
		}
		if err := tx.AppendAudit(ctx, entry(p, string(role), "policy.change", "policy:"+np.ID, now,
			map[string]string{"version": strconv.Itoa(np.Version), "digest": np.Digest()})); err != nil {
			return err
		}
		return a.sendPolicy(ctx, tx, np)
	})
	if err != nil {
		return nil, err
	}
	// Committed: the document is kept and on its way to the peers; a
	// newer version put in force meanwhile (by a peer) stays.
	if cur := a.Policy(); np.Version > cur.Version {
		if err := a.SetPolicy(np); err != nil {
			return nil, err
		}
	}
	return np, nil
}

// sendPolicy sends p to every peer, in tx.
func (a *App) sendPolicy(ctx context.Context, tx store.Store, p *policy.Policy) error {
	f := a.federation()
	if f == nil {
		return nil
	}
	peers, err := tx.ListPeers(ctx)
	if err != nil {
		return err
	}
	body := &envelope.PolicyChanged{PolicyID: p.ID, Version: p.Version, Digest: p.Digest(), Document: p.Document()}
	for _, pr := range peers {
		if err := f.Send(ctx, tx, pr.Country, body, a.now()); err != nil {
			return fmt.Errorf("sending policy %s version %d to %s: %w", p.ID, p.Version, pr.Country, err)
		}
	}
	return nil
}

// PublishPolicy sends the policy in force to every peer: on start, so a
// version an operator deployed with the node's policy file reaches the
// peer too. A peer ignores a version it has.
func (a *App) PublishPolicy(ctx context.Context) error {
	if a.federation() == nil {
		return errors.New("app: no federation to publish the policy through")
	}
	p := a.Policy()
	return a.db.InTx(ctx, func(tx store.Store) error { return a.sendPolicy(ctx, tx, p) })
}
