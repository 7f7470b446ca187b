package federation

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corridorlane/corridor/internal/federation/envelope"
)

// Metrics are read from the store when Prometheus scrapes, so they are the
// very counts `corridor peer list` prints and survive restarts; the
// senders' own counts (pushes, failures) are the process's.
type collector struct {
	s                                              *Service
	inbox, refused, unacked, oldest                *prometheus.Desc
	deliveries, sent, failures, pulls, pulledTotal *prometheus.Desc
}

// Collector returns the federation's Prometheus metrics.
func (s *Service) Collector() prometheus.Collector {
	peer := []string{"peer"}
	return &collector{
		s:           s,
		inbox:       prometheus.NewDesc("corridor_federation_messages_total", "Messages from a peer, by what became of them.", []string{"peer", "outcome"}, nil),
		refused:     prometheus.NewDesc("corridor_federation_refused_total", "Requests and messages from a peer refused, by reason.", []string{"peer", "reason"}, nil),
		unacked:     prometheus.NewDesc("corridor_federation_outbox_unacknowledged", "Messages for a peer not yet acknowledged.", peer, nil),
		oldest:      prometheus.NewDesc("corridor_federation_outbox_oldest_seconds", "Age of the oldest message for a peer not yet acknowledged.", peer, nil),
		deliveries:  prometheus.NewDesc("corridor_federation_pushes_total", "Pushes a peer acknowledged.", peer, nil),
		sent:        prometheus.NewDesc("corridor_federation_pushed_messages_total", "Messages in pushes a peer acknowledged.", peer, nil),
		failures:    prometheus.NewDesc("corridor_federation_push_failures_total", "Pushes that failed.", peer, nil),
		pulls:       prometheus.NewDesc("corridor_federation_pulls_total", "Pulls a peer answered.", peer, nil),
		pulledTotal: prometheus.NewDesc("corridor_federation_pulled_messages_total", "Messages pulls moved on.", peer, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.inbox, c.refused, c.unacked, c.oldest, c.deliveries, c.sent, c.failures, c.pulls, c.pulledTotal} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.s.Status(ctx)
	if err != nil {
		c.s.log.Error("federation: metrics", "err", err)
		return
	}
	outcomes := []string{CountReceived, CountApplied, CountDuplicate, CountHeld, CountDead}
	for _, st := range list {
		for _, o := range outcomes {
			ch <- prometheus.MustNewConstMetric(c.inbox, prometheus.CounterValue, float64(st.Counts[o]), st.Country, o)
		}
		for _, r := range envelope.Reasons {
			ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.Counts[string(r)]), st.Country, string(r))
		}
		ch <- prometheus.MustNewConstMetric(c.unacked, prometheus.GaugeValue, float64(st.Outbox.Unacked), st.Country)
		age := 0.0
		if !st.Outbox.OldestUnacked.IsZero() {
			age = c.s.now().Sub(st.Outbox.OldestUnacked).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, st.Country)
	}
	// The senders' counts are the process's, over all peers.
	all := "all"
	ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.CounterValue, float64(c.s.stats.deliveries.Load()), all)
	ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(c.s.stats.sent.Load()), all)
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(c.s.stats.failures.Load()), all)
	ch <- prometheus.MustNewConstMetric(c.pulls, prometheus.CounterValue, float64(c.s.stats.pulls.Load()), all)
	ch <- prometheus.MustNewConstMetric(c.pulledTotal, prometheus.CounterValue, float64(c.s.stats.pulled.Load()), all)
}
