package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corridorlane/corridor/internal/bundle"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
	"github.com/corridorlane/corridor/internal/web"
)

// Handler builds the node's HTTP handler: pages, API, health, metrics.
func (n *Node) Handler(reg *prometheus.Registry) (http.Handler, error) {
	csrf, err := n.secret("csrf.key")
	if err != nil {
		return nil, err
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	srv, err := web.New(web.Config{
		App:        n.App,
		Ready:      n.ready,
		Verifier:   n.verifier,
		Bundle:     n.bundle,
		Country:    n.Keys.Country,
		BaseURL:    n.Config.PublicURL,
		CSRFKey:    csrf,
		Logger:     n.log,
		Registerer: reg,
		Gatherer:   reg,
		Now:        n.Config.Now,
		CSCA:       n.Keys.CSCA,
		Federation: n.Federation,
	})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := reg.Register(n.Federation.Collector()); err != nil {
		return nil, fmt.Errorf("node: federation metrics: %w", err)
	}
	return n.withFederation(srv), nil
}

func (n *Node) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return n.Store.Ping(ctx)
}

// trustStore is this node's signers, checked against its own CSCA. Peers'
// signers join it through the federation.
func (n *Node) trustStore(now time.Time) (*trust.Store, error) {
	data, err := n.TrustList(now)
	if err != nil {
		return nil, err
	}
	var s trust.Store
	if _, err := s.Load(data, trust.LoadOptions{Pinned: n.KeySet().CSCA, At: now, Source: "node " + n.Keys.Country}); err != nil {
		return nil, err
	}
	return &s, nil
}

// verifierTrust is this node's signers and its peers'.
func (n *Node) verifierTrust(now time.Time) (*trust.Store, error) {
	s, err := n.trustStore(now)
	if err != nil {
		return nil, err
	}
	n.loadPeerTrust(s)
	return s, nil
}

// verifierTTL bounds how stale the border page's trust material may be when
// nothing invalidated it: building it signs and checks trust lists and
// reads the revocations, far too much to do per scan.
const verifierTTL = 10 * time.Second

type cachedVerifier struct {
	v     *verify.Verifier
	built time.Time
}

// verifier is what the border page checks with, built at most every
// verifierTTL or after InvalidateVerifier. Callers copy it before changing
// a field; it is shared.
func (n *Node) verifier() *verify.Verifier {
	if c := n.verifierCache.Load(); c != nil && time.Since(c.built) < verifierTTL {
		return c.v
	}
	v := n.buildVerifier()
	n.verifierCache.Store(&cachedVerifier{v: v, built: time.Now()})
	return v
}

// InvalidateVerifier makes the next verification rebuild the trust
// material: a signer was added, a credential revoked, a peer's lists came.
func (n *Node) InvalidateVerifier() { n.verifierCache.Store(nil) }

// buildVerifier assembles this node's trust (with its peers'), its
// revocation list, and the entry rules the policy sets for arrivals here.
func (n *Node) buildVerifier() *verify.Verifier {
	now := n.Config.Now()
	v := &verify.Verifier{Country: n.Keys.Country, ClockSkew: 5 * time.Minute}
	s, err := n.verifierTrust(now)
	if err != nil {
		n.log.Error("building the trust store", "err", err)
		s = &trust.Store{}
	}
	v.Trust = s
	v.Revocation = n.revocations()
	if rules, err := n.App.Policy().Rules(); err == nil {
		v.Rules = rules
	}
	return v
}

// bundle is the signed offline bundle: this node's trust list and
// revocations, and its peers' as they sent them, so that a carrier offline
// accepts what both countries' labs and authorities sign and refuses what
// either revoked.
func (n *Node) bundle(ctx context.Context) ([]byte, error) {
	now := n.Config.Now().UTC()
	tl, err := n.TrustList(now)
	if err != nil {
		return nil, err
	}
	set := n.KeySet()
	own, err := n.revocationList(ctx, now)
	if err != nil {
		return nil, err
	}
	rl, err := revocation.Sign(own, set.CSCA, set.CSCAKey())
	if err != nil {
		return nil, err
	}
	peers, err := n.peerLists(ctx)
	if err != nil {
		return nil, err
	}
	p := n.App.Policy()
	return bundle.Seal(bundle.Contents{
		Country: set.Country, IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1),
		Policy:         bundle.Policy{ID: p.ID, Version: p.Version, Digest: p.Digest()},
		TrustList:      tl,
		RevocationList: rl,
		EntryRules:     p.EntryRules,
		Peers:          peers,
	}, set.CSCA, set.CSCAKey())
}

// peerLists is what the bundle carries of each peer: the CSCA pinned for
// it and the latest lists it sent. A peer that sent no trust list yet has
// nothing to vouch for; one whose lists no longer verify against its pin
// is left out and logged, as the border page's verifier leaves it out.
func (n *Node) peerLists(ctx context.Context) ([]bundle.PeerLists, error) {
	peers, err := n.Store.ListPeers(ctx)
	if err != nil {
		return nil, err
	}
	var out []bundle.PeerLists
	for _, p := range peers {
		tl, err := n.Store.GetPeerList(ctx, p.Country, store.ListTrust)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		csca, err := federation.ParseCSCA(p.CSCAPEM, p.Country)
		if err != nil {
			n.log.Warn("the offline bundle leaves a peer out", "peer", p.Country, "err", err)
			continue
		}
		pl := bundle.PeerLists{Country: p.Country, CSCA: csca, TrustList: tl.Data}
		switch rl, err := n.Store.GetPeerList(ctx, p.Country, store.ListRevocation); {
		case err == nil:
			pl.RevocationList = rl.Data
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		if err := pl.Check(n.Keys.Country); err != nil {
			n.log.Warn("the offline bundle leaves a peer out", "peer", p.Country, "err", err)
			continue
		}
		out = append(out, pl)
	}
	return out, nil
}

// Serve listens and serves until ctx ends, running the periodic jobs
// beside the server; ready, when not nil, receives the bound address.
func (n *Node) Serve(ctx context.Context, ready func(addr string)) error {
	h, err := n.Handler(nil)
	if err != nil {
		return err
	}
	ln, err := n.listen()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		if n.Config.JobsEvery >= 0 {
			n.runJobs(jobsCtx, cmp.Or(n.Config.JobsEvery, time.Minute))
		}
	}()
	fedDone := make(chan struct{})
	go func() {
		defer close(fedDone)
		n.Federation.Run(jobsCtx)
	}()
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shut)
		cancel()
	}
	stopJobs()
	<-jobsDone
	<-fedDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// runJobs runs the periodic use cases: holds whose time is up and whose
// result is negative are released, monitoring that is done completes,
// stale approvals expire, missed declarations raise alerts, and once a day
// personal data past retention is purged.
func (n *Node) runJobs(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastPurge time.Time
	for {
		n.RunJobsOnce(ctx, &lastPurge)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunJobsOnce runs every periodic job once; lastPurge limits the purge to
// once a day.
func (n *Node) RunJobsOnce(ctx context.Context, lastPurge *time.Time) {
	now := n.Config.Now()
	jobs := []struct {
		name string
		run  func(context.Context, time.Time) error
	}{
		{"release_due_holds", func(c context.Context, t time.Time) error { _, err := n.App.ReleaseDueHolds(c, t); return err }},
		{"complete_due_monitoring", func(c context.Context, t time.Time) error { _, err := n.App.CompleteDueMonitoring(c, t); return err }},
		{"expire_stale_approvals", func(c context.Context, t time.Time) error { _, err := n.App.ExpireStaleApprovals(c, t); return err }},
		{"raise_alerts", func(c context.Context, t time.Time) error { _, err := n.App.RaiseAlerts(c, t); return err }},
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		if err := j.run(ctx, now); err != nil && ctx.Err() == nil {
			n.log.Error("periodic job failed", "job", j.name, "err", err)
		}
	}
	if lastPurge != nil && now.Sub(*lastPurge) >= 24*time.Hour {
		if _, err := n.App.PurgePersonalData(ctx, now, n.App.Policy().RetentionDays); err != nil && ctx.Err() == nil {
			n.log.Error("periodic job failed", "job", "purge_personal_data", "err", err)
		} else {
			*lastPurge = now
		}
	}
}
