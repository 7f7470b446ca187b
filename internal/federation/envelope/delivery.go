package envelope

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/corridorlane/corridor/internal/trust"
)

// Delivery is a signed wrapper around messages in transit: a push, or the
// answer to a pull. The wrapper is live: its sending time must be within
// MaxSkew of the receiver's clock, so a recorded delivery cannot be played
// back later. The messages inside are checked one by one and keep their
// own signatures, so an inbox stores each and can verify it again.
type Delivery struct {
	ID       string
	Sender   string
	Receiver string
	SentAt   time.Time
	// ReplyTo is the id of the pull request this delivery answers; empty
	// for a push.
	ReplyTo string
	Items   []Item
}

// Item is one message of a delivery: verified, or refused with the reason.
// One bad message does not refuse its neighbours; the inbox counts it and
// the stream waits at its sequence number until a good copy arrives.
type Item struct {
	Raw     []byte
	Message *Message // nil when refused
	Err     error    // an *Error when refused
}

type deliveryJSON struct {
	V        int               `json:"v"`
	ID       string            `json:"id"`
	Sender   string            `json:"sender"`
	Receiver string            `json:"receiver"`
	SentAt   time.Time         `json:"sent_at"`
	ReplyTo  string            `json:"reply_to,omitempty"`
	Messages []json.RawMessage `json:"messages"`
}

// SealDelivery wraps messages (each a Message.Raw) for receiver, sent now.
// replyTo is the pull request's id when answering one, else empty.
func SealDelivery(id *Identity, receiver, replyTo string, messages [][]byte, now time.Time) ([]byte, error) {
	if err := id.usable(now); err != nil {
		return nil, fmt.Errorf("seal delivery: %w", err)
	}
	if !trust.ValidCountry(receiver) || receiver == id.Country {
		return nil, fmt.Errorf("seal delivery: receiver %q must be another node's ISO 3166-1 alpha-2 code", receiver)
	}
	if replyTo != "" && !reID.MatchString(replyTo) {
		return nil, fmt.Errorf("seal delivery: reply-to %q is not a request id", replyTo)
	}
	if len(messages) > MaxDeliveryMessages {
		return nil, fmt.Errorf("seal delivery: %d messages, at most %d in one delivery", len(messages), MaxDeliveryMessages)
	}
	d := deliveryJSON{V: Version, Sender: id.Country, Receiver: receiver, SentAt: now.UTC(), ReplyTo: replyTo,
		Messages: make([]json.RawMessage, len(messages))}
	for i, m := range messages {
		if _, err := parseSigned(m); err != nil {
			return nil, fmt.Errorf("seal delivery: message %d is not a sealed message: %w", i, err)
		}
		d.Messages[i] = m
	}
	var err error
	if d.ID, err = NewID(); err != nil {
		return nil, fmt.Errorf("seal delivery: %w", err)
	}
	out, err := id.seal(PayloadDelivery, d)
	if err != nil {
		return nil, fmt.Errorf("seal delivery: %w", err)
	}
	if len(out) > MaxDeliveryBytes {
		return nil, fmt.Errorf("seal delivery: %d bytes, more than the %d a receiver accepts; send fewer messages", len(out), MaxDeliveryBytes)
	}
	return out, nil
}

// VerifyDelivery checks a delivery from the peer whose CSCA is pinned,
// addressed to receiver, and every message in it. An error refuses the
// whole delivery (an *Error with a Reason); a refused message is reported
// in its Item.
func VerifyDelivery(raw []byte, receiver string, peerCSCA *x509.Certificate, now time.Time) (*Delivery, error) {
	return VerifyDeliveryWithin(raw, receiver, peerCSCA, now, MaxSkew)
}

// VerifyDeliveryWithin is VerifyDelivery with another freshness window
// than MaxSkew: for a node whose clock is simulated and jumps.
func VerifyDeliveryWithin(raw []byte, receiver string, peerCSCA *x509.Certificate, now time.Time, skew time.Duration) (*Delivery, error) {
	peer, err := pinnedCountry(peerCSCA)
	if err != nil {
		return nil, fmt.Errorf("verify delivery: %w", err)
	}
	payload, cert, err := open(raw, PayloadDelivery, peerCSCA, MaxDeliveryBytes)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(payload); err != nil {
		return nil, err
	}
	var d deliveryJSON
	if err := decodeStrict(payload, &d); err != nil {
		return nil, refuse(Malformed, "delivery: %w", err)
	}
	if d.ReplyTo != "" && !reID.MatchString(d.ReplyTo) {
		return nil, refuse(Malformed, "delivery %s: reply-to %q is not a request id", d.ID, truncate(d.ReplyTo))
	}
	if len(d.Messages) > MaxDeliveryMessages {
		return nil, refuse(Malformed, "delivery %s: %d messages, at most %d", d.ID, len(d.Messages), MaxDeliveryMessages)
	}
	if err := checkTransport("delivery", d.ID, d.Sender, d.Receiver, d.SentAt, cert, peerCSCA, peer, receiver, now, skew); err != nil {
		return nil, err
	}
	out := &Delivery{ID: d.ID, Sender: d.Sender, Receiver: d.Receiver, SentAt: d.SentAt, ReplyTo: d.ReplyTo,
		Items: make([]Item, len(d.Messages))}
	for i, m := range d.Messages {
		msg, err := verifyMessage(m, receiver, peerCSCA, peer, now)
		out.Items[i] = Item{Raw: m, Message: msg, Err: err}
	}
	return out, nil
}

// Answers refuses a delivery that is not the answer to the pull request
// this node sent with id pullID: a recorded answer to an earlier pull,
// played back within the freshness window, would hide newer messages.
func (d *Delivery) Answers(pullID string) error {
	if d.ReplyTo != pullID || pullID == "" {
		return refuse(Replayed, "delivery %s answers request %q, not this node's request %q", d.ID, d.ReplyTo, pullID)
	}
	return nil
}

// Messages returns the verified messages, in delivery order.
func (d *Delivery) Messages() []*Message {
	var out []*Message
	for _, it := range d.Items {
		if it.Message != nil {
			out = append(out, it.Message)
		}
	}
	return out
}

// PullRequest asks a peer for the messages it has for the sender after
// the given sequence numbers: what a node sends after downtime to catch
// up, and periodically as a safety net beside pushes. It is signed and
// live like a delivery, so only the peer can pull what is meant for it.
type PullRequest struct {
	ID       string
	Sender   string // the node asking
	Receiver string // the node asked
	SentAt   time.Time
	// After holds, per stream, the highest sequence number the asking
	// node has applied; 0 or absent means from the start.
	After map[Stream]uint64
	Limit int // at most this many messages, 1 to MaxDeliveryMessages
}

type pullJSON struct {
	V        int               `json:"v"`
	ID       string            `json:"id"`
	Sender   string            `json:"sender"`
	Receiver string            `json:"receiver"`
	SentAt   time.Time         `json:"sent_at"`
	After    map[Stream]uint64 `json:"after"`
	Limit    int               `json:"limit"`
}

// SealPull signs a pull request to receiver. The returned request's ID is
// what the answer's ReplyTo must hold (Delivery.Answers).
func SealPull(id *Identity, receiver string, after map[Stream]uint64, limit int, now time.Time) ([]byte, *PullRequest, error) {
	if err := id.usable(now); err != nil {
		return nil, nil, fmt.Errorf("seal pull: %w", err)
	}
	if !trust.ValidCountry(receiver) || receiver == id.Country {
		return nil, nil, fmt.Errorf("seal pull: receiver %q must be another node's ISO 3166-1 alpha-2 code", receiver)
	}
	if limit < 1 || limit > MaxDeliveryMessages {
		return nil, nil, fmt.Errorf("seal pull: limit %d must be 1 to %d", limit, MaxDeliveryMessages)
	}
	for s := range after {
		if !s.Valid() {
			return nil, nil, fmt.Errorf("seal pull: unknown stream %q", s)
		}
	}
	reqID, err := NewID()
	if err != nil {
		return nil, nil, fmt.Errorf("seal pull: %w", err)
	}
	p := &PullRequest{ID: reqID, Sender: id.Country, Receiver: receiver, SentAt: now.UTC(), After: cloneAfter(after), Limit: limit}
	raw, err := id.seal(PayloadPull, pullJSON{V: Version, ID: p.ID, Sender: p.Sender, Receiver: p.Receiver, SentAt: p.SentAt, After: p.After, Limit: p.Limit})
	if err != nil {
		return nil, nil, fmt.Errorf("seal pull: %w", err)
	}
	return raw, p, nil
}

// VerifyPull checks a pull request from the peer whose CSCA is pinned,
// addressed to receiver.
func VerifyPull(raw []byte, receiver string, peerCSCA *x509.Certificate, now time.Time) (*PullRequest, error) {
	return VerifyPullWithin(raw, receiver, peerCSCA, now, MaxSkew)
}

// VerifyPullWithin is VerifyPull with another freshness window than
// MaxSkew.
func VerifyPullWithin(raw []byte, receiver string, peerCSCA *x509.Certificate, now time.Time, skew time.Duration) (*PullRequest, error) {
	peer, err := pinnedCountry(peerCSCA)
	if err != nil {
		return nil, fmt.Errorf("verify pull: %w", err)
	}
	payload, cert, err := open(raw, PayloadPull, peerCSCA, MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(payload); err != nil {
		return nil, err
	}
	var p pullJSON
	if err := decodeStrict(payload, &p); err != nil {
		return nil, refuse(Malformed, "pull request: %w", err)
	}
	if p.Limit < 1 || p.Limit > MaxDeliveryMessages {
		return nil, refuse(Malformed, "pull request %s: limit %d must be 1 to %d", p.ID, p.Limit, MaxDeliveryMessages)
	}
	if err := checkTransport("pull request", p.ID, p.Sender, p.Receiver, p.SentAt, cert, peerCSCA, peer, receiver, now, skew); err != nil {
		return nil, err
	}
	for s := range p.After {
		if !s.Valid() {
			return nil, refuse(Unsupported, "pull request %s: stream %q is unknown to this node", p.ID, truncate(string(s)))
		}
	}
	return &PullRequest{ID: p.ID, Sender: p.Sender, Receiver: p.Receiver, SentAt: p.SentAt, After: cloneAfter(p.After), Limit: p.Limit}, nil
}

// checkTransport holds the checks a delivery and a pull request share:
// well-formed header, sent by the pinned peer to this node, by a signer
// valid at the sending time, within skew of now.
func checkTransport(what, id, sender, receiver string, sentAt time.Time, cert, csca *x509.Certificate, peer, us string, now time.Time, skew time.Duration) error {
	switch {
	case !reID.MatchString(id):
		return refuse(Malformed, "%s id %q is not 32 lower-case hex digits", what, truncate(id))
	case !trust.ValidCountry(sender) || !trust.ValidCountry(receiver) || sender == receiver:
		return refuse(Malformed, "%s %s: sender %q and receiver %q must be two different ISO 3166-1 alpha-2 codes", what, id, truncate(sender), truncate(receiver))
	case sentAt.IsZero():
		return refuse(Malformed, "%s %s: no sending time", what, id)
	}
	if sender != peer {
		return refuse(Forged, "%s %s claims to come from %s but is signed by %s's federation signer", what, id, sender, peer)
	}
	if err := checkValidAt(cert, csca, sentAt); err != nil {
		return refuse(Forged, "%s %s: its signer was not valid when it was sent: %w", what, id, err)
	}
	if receiver != us {
		return refuse(Misdirected, "%s %s is addressed to %s, not to %s", what, id, receiver, us)
	}
	if d := sentAt.Sub(now); d > skew || d < -skew {
		return refuse(Stale, "%s %s was sent at %s, more than %s from this node's clock (%s)",
			what, id, sentAt.UTC().Format(time.RFC3339), skew, now.UTC().Format(time.RFC3339))
	}
	return nil
}

func cloneAfter(m map[Stream]uint64) map[Stream]uint64 {
	out := make(map[Stream]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
