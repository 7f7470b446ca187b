package federation

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corridorlane/corridor/internal/store"
)

// peerLink is the running connection to one peer: its sender, which
// pushes the outbox, and its puller, which catches up.
type peerLink struct {
	country string
	mu      sync.Mutex
	base    string
	push    chan struct{} // wakes the sender
	pull    chan struct{} // wakes the puller
}

func (l *peerLink) url() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.base
}

func (l *peerLink) wake() {
	select {
	case l.push <- struct{}{}:
	default:
	}
}

func (l *peerLink) wakePull() {
	select {
	case l.pull <- struct{}{}:
	default:
	}
}

// senderStats counts what the senders did, for metrics and the status
// page; the inbox's counters are in the store.
type senderStats struct {
	deliveries atomic.Int64 // pushes answered
	sent       atomic.Int64 // messages in answered pushes
	failures   atomic.Int64 // pushes that failed
	pulls      atomic.Int64 // pulls answered
	pulled     atomic.Int64 // messages in answered pulls
}

// Run sends and catches up with every peer until ctx ends: one sender and
// one puller per peer, started as peers are added. It also publishes this
// node's lists to the peers on start and once a day, and the policy in
// force on start (a version deployed with the policy file reaches the
// peer), sends yesterday's figures once a day, and prunes the outbox.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	scan := time.NewTicker(s.cfg.PeerScan)
	defer scan.Stop()
	daily := time.NewTicker(24 * time.Hour)
	defer daily.Stop()
	if err := s.PublishLists(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("federation: publishing this node's lists", "err", err)
	}
	if err := s.app.PublishPolicy(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("federation: publishing the policy in force", "err", err)
	}
	for {
		peers, err := s.db.ListPeers(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("federation: reading the peers", "err", err)
		}
		for _, p := range peers {
			s.ensureLink(ctx, &wg, p)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-scan.C:
		case <-daily.C:
			if err := s.PublishLists(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("federation: publishing this node's lists", "err", err)
			}
			if err := s.SendDailyStats(ctx, s.now().AddDate(0, 0, -1)); err != nil && ctx.Err() == nil {
				s.log.Error("federation: sending yesterday's figures", "err", err)
			}
			if n, err := s.db.PruneOutbox(ctx, s.now().Add(-s.cfg.Retention)); err != nil && ctx.Err() == nil {
				s.log.Error("federation: pruning the outbox", "err", err)
			} else if n > 0 {
				s.log.Info("federation: pruned acknowledged messages", "count", n)
			}
		}
	}
}

// ensureLink starts the loops of a new peer, or takes a changed address.
func (s *Service) ensureLink(ctx context.Context, wg *sync.WaitGroup, p store.Peer) {
	s.linksMu.Lock()
	defer s.linksMu.Unlock()
	if l, ok := s.links[p.Country]; ok {
		l.mu.Lock()
		l.base = p.URL
		l.mu.Unlock()
		return
	}
	l := &peerLink{country: p.Country, base: p.URL, push: make(chan struct{}, 1), pull: make(chan struct{}, 1)}
	s.links[p.Country] = l
	wg.Add(2)
	go func() { defer wg.Done(); s.sendLoop(ctx, l) }()
	go func() { defer wg.Done(); s.pullLoop(ctx, l) }()
	s.log.Info("federation: connected to a peer", "peer", p.Country, "url", p.URL)
}

// wantPull wakes a peer's puller: a stream waits for a message.
func (s *Service) wantPull(peer string) {
	s.linksMu.Lock()
	l := s.links[peer]
	s.linksMu.Unlock()
	if l != nil {
		l.wakePull()
	}
}

// backoff is an exponential wait with full jitter: each failure doubles
// the ceiling, and the wait is drawn below it, so two nodes that failed
// together do not retry together.
type backoff struct {
	min, max, ceiling time.Duration
}

func (b *backoff) next() time.Duration {
	if b.ceiling == 0 {
		b.ceiling = b.min
	} else {
		b.ceiling = min(b.ceiling*2, b.max)
	}
	return b.ceiling/2 + rand.N(b.ceiling/2+1)
}

func (b *backoff) reset() { b.ceiling = 0 }

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pushed is the outcome of one push.
type pushed struct {
	msgs []store.OutboxMessage
	acks *Acks
	err  error
}

// sendLoop pushes the outbox to one peer, oldest first, in batches,
// until ctx ends. It keeps up to Inflight pushes going at once, with
// distinct messages, so that the peer verifies one delivery while it
// applies the other; the peer applies them in the order they came. A
// failed push pauses the loop for an exponential backoff; the messages
// stay in the outbox until the peer acknowledges them.
func (s *Service) sendLoop(ctx context.Context, l *peerLink) {
	b := backoff{min: s.cfg.MinBackoff, max: s.cfg.MaxBackoff}
	poll := time.NewTicker(s.cfg.PollEvery)
	defer poll.Stop()
	results := make(chan pushed, s.cfg.Inflight) // room for every push, so none blocks after the loop ends
	inflight := map[string]bool{}
	running := 0
	var paused time.Time // no new push before this
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		for running < s.cfg.Inflight && !time.Now().Before(paused) && ctx.Err() == nil {
			msgs, err := s.nextBatch(ctx, l, inflight)
			if err != nil {
				s.log.Error("federation: reading the outbox", "peer", l.country, "err", err)
				paused = time.Now().Add(b.next())
				break
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				inflight[m.ID] = true
			}
			running++
			wg.Add(1)
			go func() {
				defer wg.Done()
				acks, err := s.push(ctx, l, msgs)
				results <- pushed{msgs, acks, err}
			}()
		}
		var resume <-chan time.Time
		if d := time.Until(paused); d > 0 {
			resume = time.After(d)
		}
		select {
		case <-ctx.Done():
			return
		case r := <-results:
			running--
			for _, m := range r.msgs {
				delete(inflight, m.ID)
			}
			if err := s.record(ctx, l, r); err != nil {
				if ctx.Err() != nil {
					return
				}
				wait := b.next()
				paused = time.Now().Add(wait)
				s.log.Warn("federation: push failed; waiting", "peer", l.country, "wait", wait.String(), "err", err)
			} else {
				b.reset()
			}
		case <-l.push:
		case <-poll.C:
		case <-resume:
		}
	}
}

// nextBatch takes the oldest due messages that no push carries yet.
func (s *Service) nextBatch(ctx context.Context, l *peerLink, inflight map[string]bool) ([]store.OutboxMessage, error) {
	due, err := s.db.DueOutbox(ctx, l.country, s.now(), s.cfg.BatchSize*s.cfg.Inflight)
	if err != nil {
		return nil, err
	}
	out := due[:0]
	for _, m := range due {
		if !inflight[m.ID] && len(out) < s.cfg.BatchSize {
			out = append(out, m)
		}
	}
	return out, nil
}

// record takes a push's outcome: the acknowledged messages are done, the
// refused ones tried again later; a failed push is counted on each of its
// messages (for the status page) and returned.
func (s *Service) record(ctx context.Context, l *peerLink, r pushed) error {
	if r.err != nil {
		s.stats.failures.Add(1)
		ids := make([]string, len(r.msgs))
		for i := range r.msgs {
			ids[i] = r.msgs[i].ID
		}
		if err := s.db.RetryOutboxLater(context.WithoutCancel(ctx), l.country, ids, s.now(), r.err.Error()); err != nil {
			return errors.Join(r.err, err)
		}
		return r.err
	}
	s.stats.deliveries.Add(1)
	s.stats.sent.Add(int64(len(r.msgs)))
	// Messages up to a stream's Through are acknowledged by number, in one
	// statement; only those beyond it (held by the peer) need their ids.
	byID := map[string]store.OutboxMessage{}
	for _, m := range r.msgs {
		byID[m.ID] = m
	}
	var ids []string
	for _, id := range r.acks.Settled() {
		if m, ok := byID[id]; !ok || m.Seq > r.acks.Through[m.Stream] {
			ids = append(ids, id)
		}
	}
	if _, err := s.db.AckOutbox(ctx, l.country, r.acks.Through, ids, s.now()); err != nil {
		return err
	}
	var again []string
	for _, f := range r.acks.Refused {
		if f.Index >= 0 && f.Index < len(r.msgs) {
			again = append(again, r.msgs[f.Index].ID)
		}
	}
	if len(again) > 0 {
		// Refused one by one (the delivery as a whole was taken): sent
		// again later, not in a tight loop.
		return s.db.RetryOutboxLater(ctx, l.country, again, s.now().Add(s.cfg.MaxBackoff), "refused by the peer")
	}
	return nil
}

// pullLoop catches up with one peer: on start, when a stream waits for a
// missing message, and every PullEvery as a safety net.
func (s *Service) pullLoop(ctx context.Context, l *peerLink) {
	b := backoff{min: s.cfg.MinBackoff, max: s.cfg.MaxBackoff}
	every := time.NewTicker(s.cfg.PullEvery)
	defer every.Stop()
	for ctx.Err() == nil {
		if err := s.catchUp(ctx, l); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := b.next()
			s.log.Warn("federation: pull failed; waiting", "peer", l.country, "wait", wait.String(), "err", err)
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		b.reset()
		if !s.idle(ctx, l, every.C) {
			return
		}
	}
}

// idle waits until the next pull is due, and reports false when ctx ends.
// A pull is due on the safety-net tick, or when a stream waits for a
// message. Most often that message is in a delivery already on its way
// (two pushes overtook each other), so the gap gets a moment to close
// and is pulled only if it stays.
func (s *Service) idle(ctx context.Context, l *peerLink, tick <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick:
			return true
		case <-l.pull:
			if !sleep(ctx, gapGrace) {
				return false
			}
			if waiting, err := s.waiting(ctx, l.country); err != nil || waiting {
				return true
			}
		}
	}
}

// gapGrace is how long a gap may last before the puller fetches it.
const gapGrace = time.Second

// waiting tells whether a stream from peer waits for a missing message.
func (s *Service) waiting(ctx context.Context, peer string) (bool, error) {
	gaps, err := s.db.InboxGaps(ctx)
	if err != nil {
		return false, err
	}
	for _, g := range gaps {
		if g.Peer == peer {
			return true, nil
		}
	}
	return false, nil
}

// catchUp pulls until a pull brings nothing new. That last pull tells the
// peer where this node stands, which acknowledges everything the earlier
// pulls brought.
func (s *Service) catchUp(ctx context.Context, l *peerLink) error {
	for {
		n, err := s.pullOnce(ctx, l)
		if err != nil {
			return err
		}
		s.stats.pulls.Add(1)
		s.stats.pulled.Add(int64(n))
		if n == 0 {
			return nil
		}
	}
}
