package federation

import (
	"context"
	"time"

	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// SendDailyStats sends every peer this node's figures of one day (UTC),
// per lane between the two: the trip steps taken here and the positives
// found here, by stage. The joint dashboard sets both sides' figures side
// by side; sending a day again replaces it on the peer.
func (s *Service) SendDailyStats(ctx context.Context, day time.Time) error {
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	peers, err := s.db.ListPeers(ctx)
	if err != nil {
		return err
	}
	pol := s.app.Policy()
	return s.db.InTx(ctx, func(tx store.Store) error {
		for _, p := range peers {
			for _, lane := range pol.Lanes {
				between := (lane.Origin == s.country && lane.Destination == p.Country) ||
					(lane.Origin == p.Country && lane.Destination == s.country)
				if !between {
					continue
				}
				f, err := tx.DayFigures(ctx, lane.ID, from, from.AddDate(0, 0, 1))
				if err != nil {
					return err
				}
				body := &envelope.StatsDaily{Date: from.Format(time.DateOnly), Lane: lane.ID,
					Approved: f.Steps[string(trip.Approve)], Departed: f.Steps[string(trip.Depart)],
					Arrived: f.Steps[string(trip.Arrive)], Released: f.Steps[string(trip.Release)],
					Positives: ledger.Counts{PreDeparture: f.Cases[string(store.StagePreDeparture)],
						Arrival: f.Cases[string(store.StageArrival)], Monitoring: f.Cases[string(store.StageFollowUp)],
						Secondary: f.Cases[string(store.StageSecondary)]}}
				if err := s.Send(ctx, tx, p.Country, body, s.now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
