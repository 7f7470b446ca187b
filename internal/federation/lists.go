package federation

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trust"
)

// Trust crosses the border as the nodes' own signed lists: a node's trust
// list names its document signers (the authority, each lab) under its
// CSCA, its revocation list the credentials it withdrew. A peer keeps the
// newest of each and checks them against the CSCA it pinned whenever it
// builds its verifier, so a lab's test result signed on one side verifies
// offline on the other, and a revoked one fails there too.

// PublishLists sends this node's current trust and revocation lists to
// every peer: on start, once a day (a trust list is good for a week), and
// whenever a signer is added or a credential revoked.
func (s *Service) PublishLists(ctx context.Context) error {
	now := s.now()
	tl, rl, err := s.cfg.Lists(ctx, now)
	if err != nil {
		return fmt.Errorf("federation: this node's lists: %w", err)
	}
	t, err := trust.VerifyList(tl, s.id.CSCA)
	if err != nil {
		return fmt.Errorf("federation: this node's trust list: %w", err)
	}
	r, err := revocation.Verify(rl, s.id.CSCA)
	if err != nil {
		return fmt.Errorf("federation: this node's revocation list: %w", err)
	}
	peers, err := s.db.ListPeers(ctx)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx store.Store) error {
		for _, p := range peers {
			if err := s.Send(ctx, tx, p.Country, &envelope.TrustUpdate{Sequence: t.Sequence, List: tl}, now); err != nil {
				return err
			}
			if err := s.Send(ctx, tx, p.Country, &envelope.RevocationUpdate{Sequence: r.Sequence, List: rl}, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadPeerTrust adds to ts every peer's trust list that verifies against
// the CSCA pinned for that peer; a list that no longer verifies (a pin
// changed, a list past its next update) is left out and reported.
func (s *Service) LoadPeerTrust(ctx context.Context, ts *trust.Store) error {
	return s.eachPeerList(ctx, store.ListTrust, func(country string, data []byte, csca *x509.Certificate) error {
		if _, err := ts.Load(data, trust.LoadOptions{Pinned: csca, At: s.now(), Source: "peer " + country}); err != nil {
			return fmt.Errorf("%s's trust list: %w", country, err)
		}
		return nil
	})
}

// AddPeerRevocations adds to list the entries of every peer's revocation
// list that verifies against its pinned CSCA.
func (s *Service) AddPeerRevocations(ctx context.Context, list *revocation.List) error {
	return s.eachPeerList(ctx, store.ListRevocation, func(country string, data []byte, csca *x509.Certificate) error {
		rl, err := revocation.Verify(data, csca)
		if err != nil {
			return fmt.Errorf("%s's revocation list: %w", country, err)
		}
		var errs []error
		for _, e := range rl.Entries() {
			errs = append(errs, list.Add(e))
		}
		return errors.Join(errs...)
	})
}

// eachPeerList hands take every peer's stored list of one kind with the
// CSCA pinned for that peer. A peer without such a list is passed over; a
// missing pin or a list take refuses is reported and the others still
// taken; a store failure stops the walk.
func (s *Service) eachPeerList(ctx context.Context, kind string, take func(country string, data []byte, csca *x509.Certificate) error) error {
	peers, err := s.db.ListPeers(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range peers {
		l, err := s.db.GetPeerList(ctx, p.Country, kind)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		csca, err := s.pinned(ctx, p.Country)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, take(p.Country, l.Data, csca))
	}
	return errors.Join(errs...)
}
