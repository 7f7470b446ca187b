// Package federation carries a node's messages to its peers and applies
// theirs: the transactional outbox (messages sealed and stored in the
// transaction of the change that causes them), at-least-once delivery
// (push with retries and exponential backoff, pull to catch up), and the
// inbox that applies each message exactly once and in order per stream.
// The wire format is package envelope; what a message does to a trip is
// package app (ApplyPeerMessage). docs/federation-delivery.md explains the
// design, the exactly-once argument and what happens on each fault.
//
// Endpoints, mounted by the node under /federation/v1/ beside its web
// pages:
//
//	POST /federation/v1/deliveries  a signed delivery; answers with Acks
//	POST /federation/v1/pull        a signed pull request; answers with a
//	                                signed delivery of what follows the
//	                                asking node's cursors
//
// Each request names its sender in the Corridor-Peer header, so the
// receiver knows which pinned CSCA to check it against; the signature
// decides, not the header.
package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
)

// Config is what a federation service needs.
type Config struct {
	Store    store.DB
	App      *app.App
	Identity *envelope.Identity
	// Lists returns this node's current trust list and revocation list,
	// signed by its CSCA; they are sent to every peer on start, daily,
	// and whenever PublishLists is called.
	Lists func(ctx context.Context, now time.Time) (trustList, revocationList []byte, err error)
	// ListsChanged, when set, is called after a peer's trust or
	// revocation list was taken, so that verifiers rebuild.
	ListsChanged func()
	// Client sends to peers; nil makes one with timeouts (and the TLS
	// settings in TLS).
	Client *http.Client
	// TLS, when set, is the client side of mutual TLS between nodes: this
	// node's certificate and the CAs its peers' servers are checked with.
	TLS    *tls.Config
	Logger *slog.Logger
	Now    func() time.Time

	// Tuning; zero values take the defaults.
	RequestTimeout time.Duration // one push or pull, when Client is nil: 2 min
	BatchSize      int           // messages per push: 500
	Inflight       int           // pushes to one peer at once: 2
	PullLimit      int           // messages per pull: 1000 (envelope.MaxDeliveryMessages)
	PollEvery      time.Duration // how often a sender looks at its outbox when not woken: 200 ms
	PeerScan       time.Duration // how often the peer list is read for new peers: 1 s
	PullEvery      time.Duration // the safety-net pull: 30 s
	MinBackoff     time.Duration // first wait after a failed push: 100 ms
	MaxBackoff     time.Duration // longest wait between pushes: 30 s
	Retention      time.Duration // acknowledged messages are kept for pulls: 30 days
	// MaxSkew is the freshness window of deliveries and pulls
	// (envelope.MaxSkew, 15 min). Only a node on a simulated clock that
	// jumps days (the scripted demo) widens it; seen ids still refuse
	// replays.
	MaxSkew time.Duration
}

// Service is one node's end of the federation.
type Service struct {
	cfg     Config
	db      store.DB
	app     *app.App
	id      *envelope.Identity
	country string
	log     *slog.Logger
	client  *http.Client

	pinsMu sync.Mutex
	pins   map[string]pin // country -> pinned CSCA, parsed

	linksMu sync.Mutex
	links   map[string]*peerLink // running senders and pullers

	inboxMu  sync.Map     // country -> *sync.Mutex: one inbox transaction per peer at a time
	turns    sync.Map     // country -> *turnstile: pushes applied in the order they came
	heldMsgs sync.Map     // message id -> *envelope.Message, verified, held for a predecessor
	cached   atomic.Int64 // entries in heldMsgs

	stats senderStats
}

type pin struct {
	pem     string
	cert    *x509.Certificate
	checked time.Time // when the peer row was last read
}

// pinFresh is how long a pin is used without reading the peer's row again:
// a re-pinned CSCA takes effect within it.
const pinFresh = time.Second

// New checks the configuration and returns a service; Run starts its
// senders and pullers.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if cfg.App == nil {
		errs = append(errs, errors.New("the application is required"))
	}
	if cfg.Identity == nil || cfg.Identity.Cert == nil || cfg.Identity.Key == nil {
		errs = append(errs, errors.New("a federation identity is required"))
	}
	if cfg.Lists == nil {
		errs = append(errs, errors.New("a source of this node's trust and revocation lists is required"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("federation: %w", errors.Join(errs...))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > envelope.MaxDeliveryMessages {
		cfg.BatchSize = 500
	}
	if cfg.Inflight <= 0 {
		cfg.Inflight = 2
	}
	if cfg.PullLimit <= 0 || cfg.PullLimit > envelope.MaxDeliveryMessages {
		cfg.PullLimit = envelope.MaxDeliveryMessages
	}
	def(&cfg.PollEvery, 200*time.Millisecond)
	def(&cfg.PeerScan, time.Second)
	def(&cfg.PullEvery, 30*time.Second)
	def(&cfg.MaxSkew, envelope.MaxSkew)
	def(&cfg.MinBackoff, 100*time.Millisecond)
	def(&cfg.MaxBackoff, 30*time.Second)
	def(&cfg.Retention, 30*24*time.Hour)
	def(&cfg.RequestTimeout, 2*time.Minute)
	if cfg.Client == nil {
		tr := &http.Transport{
			Proxy:                 nil, // nodes talk directly; a proxy is set up in front, not from here
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       cfg.TLS,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		}
		cfg.Client = &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	}
	return &Service{cfg: cfg, db: cfg.Store, app: cfg.App, id: cfg.Identity, country: cfg.Identity.Country, log: cfg.Logger,
		client: cfg.Client, pins: map[string]pin{}, links: map[string]*peerLink{}}, nil
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// pinned returns the CSCA pinned for a peer; store.ErrNotFound when the
// country is not a peer.
func (s *Service) pinned(ctx context.Context, country string) (*x509.Certificate, error) {
	s.pinsMu.Lock()
	c, ok := s.pins[country]
	s.pinsMu.Unlock()
	if ok && time.Since(c.checked) < pinFresh {
		return c.cert, nil
	}
	p, err := s.db.GetPeer(ctx, country)
	if err != nil {
		return nil, err
	}
	if !ok || c.pem != p.CSCAPEM {
		cert, err := ParseCSCA(p.CSCAPEM, country)
		if err != nil {
			return nil, fmt.Errorf("the CSCA pinned for %s: %w", country, err)
		}
		c = pin{pem: p.CSCAPEM, cert: cert}
	}
	c.checked = time.Now()
	s.pinsMu.Lock()
	s.pins[country] = c
	s.pinsMu.Unlock()
	return c.cert, nil
}

// ParseCSCA reads one PEM certificate and checks that it is a country
// signing CA of country.
func ParseCSCA(pemText, country string) (*x509.Certificate, error) {
	b, rest := pem.Decode([]byte(pemText))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	if len(rest) > 0 {
		if more, _ := pem.Decode(rest); more != nil {
			return nil, errors.New("more than one certificate: pin exactly one CSCA")
		}
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, err
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("%q is not a certificate authority", cert.Subject)
	}
	if len(cert.Subject.Country) != 1 || cert.Subject.Country[0] != country {
		return nil, fmt.Errorf("%q is a CSCA of %v, not of %s", cert.Subject, cert.Subject.Country, country)
	}
	return cert, nil
}

// Send seals body as the next message to peer on its stream and writes it
// to the outbox in tx (app.Federation). The message's sequence number is
// taken in tx too, so a rollback leaves no gap and no message.
func (s *Service) Send(ctx context.Context, tx store.Store, peer string, body envelope.Body, now time.Time) error {
	stream := body.Type().Stream()
	seq, pos, err := tx.NextOutbox(ctx, peer, string(stream))
	if err != nil {
		return err
	}
	m, err := envelope.Seal(s.id, peer, seq, body, now)
	if err != nil {
		return err
	}
	if err := tx.AddOutbox(ctx, &store.OutboxMessage{Peer: peer, Stream: string(stream), Seq: seq, Pos: pos, ID: m.ID,
		Type: string(m.Type), Envelope: m.Raw, CreatedAt: now, NextAttemptAt: now}); err != nil {
		return err
	}
	s.kick(peer)
	return nil
}

// kick wakes the peer's sender. It may run before the transaction
// commits; the sender then finds nothing and looks again on its next
// poll.
func (s *Service) kick(peer string) {
	s.linksMu.Lock()
	l := s.links[peer]
	s.linksMu.Unlock()
	if l != nil {
		l.wake()
	}
}

// AddPeer pins a peer's CSCA and records where its node answers.
func (s *Service) AddPeer(ctx context.Context, country, url, cscaPEM string) error {
	return AddPeer(ctx, s.db, s.country, country, url, cscaPEM, s.now())
}

// AddPeer pins a peer's CSCA in db, for a node whose own country is self;
// the command line uses it on a node's database without running the node.
func AddPeer(ctx context.Context, db store.Store, self, country, url, cscaPEM string, now time.Time) error {
	if country == self {
		return fmt.Errorf("%s is this node's own country", country)
	}
	if _, err := ParseCSCA(cscaPEM, country); err != nil {
		return fmt.Errorf("peer %s: %w", country, err)
	}
	if err := checkURL(url); err != nil {
		return fmt.Errorf("peer %s: %w", country, err)
	}
	now = now.UTC().Truncate(time.Millisecond)
	return db.PutPeer(ctx, &store.Peer{Country: country, URL: url, CSCAPEM: cscaPEM, CreatedAt: now, UpdatedAt: now})
}
