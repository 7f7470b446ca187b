package federation

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trust"
)

// Counter names, per peer, kept in the store. Outcomes count messages
// whose signature checked out; refusals count what was turned away, by
// envelope.Reason.
const (
	CountReceived  = "received"  // verified messages taken in (every copy)
	CountApplied   = "applied"   // applied, once per message
	CountDuplicate = "duplicate" // copies of a message already taken
	CountHeld      = "held"      // arrived before a predecessor and waited
	CountDead      = "dead"      // could not be applied: dead letters
)

// Acks answers a push: what became of each message. A sender may forget
// every message named in Applied, Duplicate, Held or Dead, and every
// message up to Through on its stream; Refused ones it sends again.
type Acks struct {
	Applied   []string  `json:"applied,omitempty"`
	Duplicate []string  `json:"duplicate,omitempty"`
	Held      []string  `json:"held,omitempty"`
	Dead      []string  `json:"dead,omitempty"`
	Refused   []Refusal `json:"refused,omitempty"`
	// Through holds, per stream of the delivery, the sequence number up to
	// which every message is settled here (applied or a dead letter).
	Through map[string]uint64 `json:"through"`
}

// Refusal is a message of a delivery that was turned away.
type Refusal struct {
	Index  int    `json:"index"` // its place in the delivery
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// Settled lists the ids the sender may stop sending.
func (a *Acks) Settled() []string {
	return slices.Concat(a.Applied, a.Duplicate, a.Held, a.Dead)
}

func (s *Service) inboxLock(peer string) *sync.Mutex {
	m, _ := s.inboxMu.LoadOrStore(peer, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// turnstile lets the pushes of one peer be verified at once, each on its
// own core, and then applied one at a time in the order they came: the
// order the peer sent them in, so that a later delivery does not find its
// messages early and make them wait.
type turnstile struct {
	mu      sync.Mutex
	cond    *sync.Cond
	next    uint64 // the next ticket to hand out
	serving uint64 // the ticket whose turn it is
}

func (s *Service) turnstileOf(peer string) *turnstile {
	v, ok := s.turns.Load(peer)
	if !ok {
		t := &turnstile{}
		t.cond = sync.NewCond(&t.mu)
		v, _ = s.turns.LoadOrStore(peer, t)
	}
	return v.(*turnstile)
}

// ticket takes a place in line.
func (t *turnstile) ticket() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.next
	t.next++
	return n
}

// wait blocks until it is ticket n's turn.
func (t *turnstile) wait(n uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.serving != n {
		t.cond.Wait()
	}
}

// done ends ticket n's turn; every ticket ends its turn once, after
// waiting for it.
func (t *turnstile) done() {
	t.mu.Lock()
	t.serving++
	t.mu.Unlock()
	t.cond.Broadcast()
}

// maxCached bounds the verified messages kept in memory while they are
// held, so that applying them later needs no second verification.
const maxCached = 20000

func (s *Service) cacheHeld(m *envelope.Message) {
	if s.cached.Add(1) > maxCached {
		s.cached.Add(-1)
		return
	}
	s.heldMsgs.Store(m.ID, m)
}

func (s *Service) takeCached(id string) (*envelope.Message, bool) {
	v, ok := s.heldMsgs.LoadAndDelete(id)
	if !ok {
		return nil, false
	}
	s.cached.Add(-1)
	return v.(*envelope.Message), true
}

// receive takes the messages of a verified delivery from peer: it applies
// those next on their stream, holds those that came early, recognises
// copies, and answers what became of each. Everything happens in one
// transaction, so a message is applied and recorded as applied together,
// or neither; a failed transaction leaves nothing, and the sender sends
// again. It reports whether a stream now waits for a missing message.
func (s *Service) receive(ctx context.Context, peer string, d *envelope.Delivery) (*Acks, bool, error) {
	csca, err := s.pinned(ctx, peer)
	if err != nil {
		return nil, false, err
	}
	var msgs []*envelope.Message
	refused := map[string]int64{}
	var refusals []Refusal
	for i, it := range d.Items {
		if it.Message != nil {
			msgs = append(msgs, it.Message)
			continue
		}
		r := reasonOf(it.Err)
		refused[r]++
		refusals = append(refusals, Refusal{Index: i, Reason: r})
		s.log.Warn("refused a message of a delivery", "peer", peer, "delivery", d.ID, "index", i, "reason", r, "err", it.Err)
	}
	mu := s.inboxLock(peer)
	mu.Lock()
	defer mu.Unlock()
	var acks *Acks
	var gap, lists, policy bool
	err = s.db.InTx(ctx, func(tx store.Store) error {
		// The transaction may run again: start afresh each time.
		acks, gap, lists, policy = &Acks{Through: map[string]uint64{}, Refused: slices.Clone(refusals)}, false, false, false
		counts := map[string]int64{}
		for r, n := range refused {
			counts[r] = n
		}
		r := &run{s: s, tx: tx, peer: peer, csca: csca, acks: acks, counts: counts, next: map[envelope.Stream]uint64{}}
		if err := r.take(ctx, msgs); err != nil {
			return err
		}
		gap, lists, policy = r.gap, r.lists, r.policy
		return tx.AddCounts(ctx, peer, counts)
	})
	if err != nil {
		return nil, false, err
	}
	if lists && s.cfg.ListsChanged != nil {
		s.cfg.ListsChanged()
	}
	if policy {
		// A newer policy the peer sent was kept; in force from now.
		if applied, err := s.app.ApplyStoredPolicy(ctx); err != nil {
			s.log.Error("federation: putting the peer's policy in force", "peer", peer, "err", err)
		} else if applied {
			s.log.Info("federation: put in force the policy the peer sent", "peer", peer, "version", s.app.Policy().Version)
		}
	}
	return acks, gap, nil
}

// run is one inbox transaction.
type run struct {
	s      *Service
	tx     store.Store
	peer   string
	csca   *x509.Certificate
	acks   *Acks
	counts map[string]int64
	next   map[envelope.Stream]uint64 // cursor per stream, locked
	moved  map[envelope.Stream]bool
	gap    bool
	lists  bool // a peer's trust or revocation list was taken
	policy bool // a peer's policy change was taken
	// waiting marks the streams with messages held for a predecessor:
	// only those need looking at after each message applied.
	waiting map[envelope.Stream]bool
	// seen holds the ids known before this run; fresh, those this run
	// took, written together at its end.
	seen  map[string]store.SeenMessage
	fresh []store.SeenMessage
	index map[string]int // id -> place in fresh
}

func digest(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func (r *run) take(ctx context.Context, msgs []*envelope.Message) error {
	// Lock the delivery's streams in one order, so that two transactions
	// never wait on each other's streams.
	var streams []envelope.Stream
	for _, m := range msgs {
		if !slices.Contains(streams, m.Stream) {
			streams = append(streams, m.Stream)
		}
	}
	slices.Sort(streams)
	r.moved = map[envelope.Stream]bool{}
	r.waiting = map[envelope.Stream]bool{}
	for _, st := range streams {
		n, err := r.tx.LockInbox(ctx, r.peer, string(st))
		if err != nil {
			return err
		}
		r.next[st] = n
	}
	gaps, err := r.tx.InboxGaps(ctx)
	if err != nil {
		return err
	}
	for _, g := range gaps {
		if g.Peer == r.peer {
			r.waiting[envelope.Stream(g.Stream)] = true
		}
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if r.seen, err = r.tx.SeenAmong(ctx, ids); err != nil {
		return err
	}
	r.index = map[string]int{}
	for i, m := range msgs {
		if err := r.one(ctx, i, m); err != nil {
			return err
		}
	}
	if err := r.tx.AddSeenBatch(ctx, r.fresh); err != nil {
		return err
	}
	for st, n := range r.next {
		if r.moved[st] {
			if err := r.tx.SetInboxCursor(ctx, r.peer, string(st), n); err != nil {
				return err
			}
		}
		r.acks.Through[string(st)] = n - 1
	}
	return nil
}

// one takes one message.
func (r *run) one(ctx context.Context, i int, m *envelope.Message) error {
	r.counts[CountReceived]++
	sum := digest(m.Raw)
	if seen, ok := r.lookup(m.ID); ok {
		if seen.Digest == sum {
			r.counts[CountDuplicate]++
			r.acks.Duplicate = append(r.acks.Duplicate, m.ID)
			return nil
		}
		// The same id with other content: the signature is the peer's, so
		// the peer reused an id; refused, counted, and looked into.
		r.refuse(i, m.ID, string(envelope.Replayed))
		r.s.log.Warn("refused a message: its id was received before with other content", "peer", r.peer, "id", m.ID)
		return nil
	}
	next := r.next[m.Stream]
	switch {
	case m.Seq < next:
		// Settled long ago (its id since forgotten): a late copy.
		r.counts[CountDuplicate]++
		r.acks.Duplicate = append(r.acks.Duplicate, m.ID)
		return nil
	case m.Seq > next:
		return r.hold(ctx, i, m, sum)
	}
	outcome, err := r.apply(ctx, m)
	if err != nil {
		return err
	}
	r.took(store.SeenMessage{ID: m.ID, Peer: r.peer, Stream: string(m.Stream), Seq: m.Seq, Type: string(m.Type),
		Digest: sum, Outcome: outcome, ReceivedAt: r.s.now(), DoneAt: r.s.now()})
	if outcome == store.InboxApplied {
		r.acks.Applied = append(r.acks.Applied, m.ID)
	} else {
		r.acks.Dead = append(r.acks.Dead, m.ID)
	}
	r.advance(m.Stream)
	return r.drain(ctx, m.Stream)
}

// lookup finds an id taken before or earlier in this run.
func (r *run) lookup(id string) (store.SeenMessage, bool) {
	if i, ok := r.index[id]; ok {
		return r.fresh[i], true
	}
	m, ok := r.seen[id]
	return m, ok
}

// took records an id this run took.
func (r *run) took(m store.SeenMessage) {
	r.index[m.ID] = len(r.fresh)
	r.fresh = append(r.fresh, m)
}

// settle records what became of a held message: in the row an earlier
// run wrote, or in this run's own.
func (r *run) settle(ctx context.Context, id, outcome string) error {
	if i, ok := r.index[id]; ok {
		r.fresh[i].Outcome, r.fresh[i].DoneAt = outcome, r.s.now()
		return nil
	}
	return r.tx.SetSeenOutcome(ctx, id, outcome, r.s.now())
}

func (r *run) refuse(i int, id, reason string) {
	r.counts[reason]++
	r.acks.Refused = append(r.acks.Refused, Refusal{Index: i, ID: id, Reason: reason})
}

func (r *run) advance(st envelope.Stream) {
	r.next[st]++
	r.moved[st] = true
}

// hold keeps a message that came before its predecessor.
func (r *run) hold(ctx context.Context, i int, m *envelope.Message, sum string) error {
	err := r.tx.HoldMessage(ctx, &store.HeldMessage{Peer: r.peer, Stream: string(m.Stream), Seq: m.Seq, ID: m.ID,
		Envelope: m.Raw, ReceivedAt: r.s.now()})
	if errors.Is(err, store.ErrConflict) {
		// Another message with another id waits at that number: the peer
		// gave one number to two messages.
		r.refuse(i, m.ID, string(envelope.Replayed))
		r.s.log.Warn("refused a message: another one holds its sequence number", "peer", r.peer, "id", m.ID, "stream", m.Stream, "seq", m.Seq)
		return nil
	}
	if err != nil {
		return err
	}
	r.took(store.SeenMessage{ID: m.ID, Peer: r.peer, Stream: string(m.Stream), Seq: m.Seq, Type: string(m.Type),
		Digest: sum, Outcome: store.InboxHeld, ReceivedAt: r.s.now()})
	r.counts[CountHeld]++
	r.acks.Held = append(r.acks.Held, m.ID)
	r.gap = true
	r.waiting[m.Stream] = true
	r.s.cacheHeld(m)
	return nil
}

// drain applies the held messages that the stream's cursor has reached.
func (r *run) drain(ctx context.Context, st envelope.Stream) error {
	for r.waiting[st] {
		h, err := r.tx.TakeHeld(ctx, r.peer, string(st), r.next[st])
		if errors.Is(err, store.ErrNotFound) {
			return nil // still waiting, further on
		}
		if err != nil {
			return err
		}
		outcome := store.InboxDead
		m, cached := r.s.takeCached(h.ID)
		var verr error
		if !cached || string(m.Raw) != string(h.Envelope) {
			// Held before this process started: verified again.
			m, verr = envelope.Verify(h.Envelope, r.s.country, r.csca, r.s.now())
		}
		if verr != nil {
			// It checked out when it came; the pin has changed since.
			if err := r.dead(ctx, h.ID, st, h.Seq, "", h.Envelope, fmt.Sprintf("no longer verifies: %v", verr)); err != nil {
				return err
			}
		} else if outcome, err = r.apply(ctx, m); err != nil {
			return err
		}
		if err := r.settle(ctx, h.ID, outcome); err != nil {
			return err
		}
		r.advance(st)
	}
	return nil
}

// apply applies one message that is next on its stream and says what
// became of it: applied, or a dead letter when it cannot be applied as it
// stands. Other errors abort the transaction.
func (r *run) apply(ctx context.Context, m *envelope.Message) (string, error) {
	err := r.s.applyBody(ctx, r.tx, r.peer, m)
	if err == nil && m.Type.Stream() == envelope.StreamTrust {
		r.lists = true
	}
	if err == nil && m.Type == envelope.TypePolicyChanged {
		r.policy = true
	}
	var refusal *app.PeerRefusal
	if errors.As(err, &refusal) {
		r.s.log.Warn("a message could not be applied; kept as a dead letter", "peer", r.peer, "id", m.ID, "type", m.Type, "why", refusal.Msg)
		return store.InboxDead, r.dead(ctx, m.ID, m.Stream, m.Seq, string(m.Type), m.Raw, refusal.Msg)
	}
	if err != nil {
		return "", fmt.Errorf("applying %s %s from %s: %w", m.Type, m.ID, r.peer, err)
	}
	r.counts[CountApplied]++
	return store.InboxApplied, nil
}

func (r *run) dead(ctx context.Context, id string, st envelope.Stream, seq uint64, typ string, raw []byte, reason string) error {
	r.counts[CountDead]++
	return r.tx.AddDeadLetter(ctx, &store.DeadLetter{ID: id, Peer: r.peer, Stream: string(st), Seq: seq, Type: typ, Envelope: raw,
		Reason: reason, FailedAt: r.s.now(), Attempts: 1})
}

// applyBody applies one message in tx: the trust material itself, every
// other kind through the application. A *app.PeerRefusal means it cannot
// be applied as it stands.
func (s *Service) applyBody(ctx context.Context, tx store.Store, peer string, m *envelope.Message) error {
	switch b := m.Body.(type) {
	case *envelope.TrustUpdate:
		return s.takeList(ctx, tx, peer, store.ListTrust, b.Sequence, b.List)
	case *envelope.RevocationUpdate:
		return s.takeList(ctx, tx, peer, store.ListRevocation, b.Sequence, b.List)
	}
	return s.app.ApplyPeerMessage(ctx, tx, app.PeerMessage{From: peer, ID: m.ID, Time: m.Time, Body: m.Body})
}

// takeList keeps a peer's trust or revocation list once it verifies
// against the pinned CSCA. An older list than the one kept changes
// nothing: lists carry their whole content, so the newest wins.
func (s *Service) takeList(ctx context.Context, tx store.Store, peer, kind string, seq uint64, data []byte) error {
	csca, err := s.pinned(ctx, peer)
	if err != nil {
		return err
	}
	switch kind {
	case store.ListTrust:
		l, err := trust.VerifyList(data, csca)
		if err != nil {
			return &app.PeerRefusal{Msg: fmt.Sprintf("%s's trust list: %v", peer, err)}
		}
		if l.Sequence != seq {
			return &app.PeerRefusal{Msg: fmt.Sprintf("%s's trust list is number %d, the message says %d", peer, l.Sequence, seq)}
		}
	case store.ListRevocation:
		l, err := revocation.Verify(data, csca)
		if err != nil {
			return &app.PeerRefusal{Msg: fmt.Sprintf("%s's revocation list: %v", peer, err)}
		}
		if l.Sequence != seq {
			return &app.PeerRefusal{Msg: fmt.Sprintf("%s's revocation list is number %d, the message says %d", peer, l.Sequence, seq)}
		}
	}
	_, err = tx.PutPeerList(ctx, &store.PeerList{Peer: peer, Kind: kind, Sequence: seq, Data: data, ReceivedAt: s.now()})
	return err
}

func reasonOf(err error) string {
	if r := envelope.ReasonOf(err); r != "" {
		return string(r)
	}
	return string(envelope.Malformed)
}
