package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the web layer's Prometheus series. Labels are route
// patterns, codes and outcomes only: nothing that grows with users or
// carries personal data.
type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	verifications *prometheus.CounterVec
	credentials   *prometheus.CounterVec
	transitions   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "corridor", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "corridor", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "corridor", Name: "verifications_total",
			Help: "Border verdicts by outcome (allowed, refused).",
		}, []string{"outcome"}),
		credentials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "corridor", Name: "credentials_verified_total",
			Help: "Credentials checked at the border, by kind (approval, t, v, r, unknown) and result (valid, invalid).",
		}, []string{"kind", "result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "corridor", Name: "trip_transitions_total",
			Help: "Trip actions taken through the web and API, by action.",
		}, []string{"action"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.verifications, m.credentials, m.transitions} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("metrics: a web server's metrics are already registered with this registerer")
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) request(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

func (m *metrics) verification(outcome string) { m.verifications.WithLabelValues(outcome).Inc() }

func (m *metrics) credential(kind, result string) { m.credentials.WithLabelValues(kind, result).Inc() }

func (m *metrics) transition(action string) { m.transitions.WithLabelValues(action).Inc() }

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// CountTransition counts a trip transition the node made outside the web
// layer (its periodic jobs, the federation), so that
// corridor_trip_transitions_total covers them too.
func (s *Server) CountTransition(action string) { s.metrics.transition(action) }
