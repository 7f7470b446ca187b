// Package web is the web face of a Corridor node: the pages every actor
// uses, the JSON API under /api/v1 (described by an OpenAPI document built
// from the same route table that feeds the router), health and readiness
// probes, and Prometheus metrics, all on one handler.
//
// Pages are rendered on the server with html/template into a buffer before
// anything is written, so a failing template answers a clean 500 page. Every
// sentence comes from internal/i18n, in English, Chinese or Korean. The
// package holds no globals: New builds everything from its Config, so tests
// run many servers side by side.
package web

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/verify"
)

// Config is what the web layer needs from the node.
type Config struct {
	App *app.App
	// Ready reports whether the node can serve: the store answers and its
	// migrations are done. /readyz calls it.
	Ready func(ctx context.Context) error
	// Verifier returns the verifier the border page uses: the trust
	// store (this node's signers and its peers'), the revocation list,
	// the entry rules for this node's country. It is called per
	// verification, so the node can swap trust material while running.
	Verifier func() *verify.Verifier
	// Bundle returns the signed offline bundle (internal/bundle), or an
	// error when the node cannot make one.
	Bundle func(ctx context.Context) ([]byte, error)
	// Country is this node's ISO 3166-1 alpha-2 code.
	Country string
	// BaseURL is the node's public address (https://corridor.example.kr),
	// used to print the traveller's link and invitation links in full.
	BaseURL string
	// SecureCookies marks cookies Secure and gives the session cookie the
	// __Host- prefix; set it whenever the node is reached over TLS,
	// directly or through a proxy.
	SecureCookies bool
	// CSRFKey keys the HMAC that binds form tokens to a session; at least
	// 32 random bytes, kept with the node's secrets.
	CSRFKey []byte
	// ClientIPHeader, when set (e.g. "X-Forwarded-For"), names the header
	// a trusted reverse proxy puts the client's address in; its last
	// entry is used. Leave it empty when clients connect directly, or
	// anyone could choose the address their failed logins count against.
	ClientIPHeader string
	Logger         *slog.Logger
	// Registerer receives the metrics; /metrics serves Gatherer. Both
	// default to a fresh registry of the server's own.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Now is the clock for verification and dates on pages; time.Now by
	// default. Tests move it forward.
	Now func() time.Time
	// CSCA, when set, is printed on the bundle page so officers can pin it.
	CSCA *x509.Certificate
	// Federation is the node's link with its peers, for the joint
	// officers' pages; nil when the node runs alone, which they say.
	Federation FederationOps
}

// Server is the node's HTTP handler.
type Server struct {
	cfg      Config
	app      *app.App
	cat      *i18n.Catalog
	pages    map[string]*template.Template
	mux      *http.ServeMux
	routes   []*route
	metrics  *metrics
	log      *slog.Logger
	handler  http.Handler
	cop      *http.CrossOriginProtection
	gatherer prometheus.Gatherer
	openapi  []byte
	// untranslated, when set (by tests), hears of application messages
	// shown on a page that no catalog pattern translates.
	untranslated func(l i18n.Lang, english string)
}

// New checks the configuration and builds the handler.
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.App == nil {
		errs = append(errs, errors.New("the application is required"))
	}
	if cfg.Ready == nil {
		errs = append(errs, errors.New("a readiness check is required"))
	}
	if cfg.Verifier == nil {
		errs = append(errs, errors.New("a verifier is required"))
	}
	if cfg.Bundle == nil {
		errs = append(errs, errors.New("a bundle source is required"))
	}
	if len(cfg.Country) != 2 {
		errs = append(errs, fmt.Errorf("country %q must be an ISO 3166-1 alpha-2 code", cfg.Country))
	}
	if len(cfg.CSRFKey) < 32 {
		errs = append(errs, errors.New("the CSRF key must be at least 32 bytes"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("web: %w", errors.Join(errs...))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registerer == nil || cfg.Gatherer == nil {
		reg := prometheus.NewRegistry()
		cfg.Registerer, cfg.Gatherer = reg, reg
	}
	cat, err := i18n.Load()
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{cfg: cfg, app: cfg.App, cat: cat, mux: http.NewServeMux(), metrics: m, log: cfg.Logger,
		gatherer: cfg.Gatherer, cop: http.NewCrossOriginProtection()}
	if s.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	for _, rt := range s.routeTable() {
		if err := s.handle(rt); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
	}
	if s.openapi, err = s.openAPIDocument(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s.cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	s.handler = s.outer(s.mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) now() time.Time { return s.cfg.Now() }
