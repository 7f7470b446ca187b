package federation

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trust"
)

// HeaderPeer names the sending node's country on every federation
// request.
const HeaderPeer = "Corridor-Peer"

// Paths of the endpoints.
const (
	PathDeliveries = "/federation/v1/deliveries"
	PathPull       = "/federation/v1/pull"
)

const contentDelivery = "application/vnd.corridor.federation.delivery+json"

// Handler serves the federation endpoints. RequireClientCert, when set,
// refuses requests that did not come over TLS with a client certificate
// (the server's TLS configuration checks the certificate itself).
func (s *Service) Handler(requireClientCert bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathDeliveries, s.serveDelivery)
	mux.HandleFunc("POST "+PathPull, s.servePull)
	if !requireClientCert {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			writeError(w, http.StatusUnauthorized, "", "peer nodes connect with a TLS client certificate")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// errorBody is what a refused request gets.
type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
}

func writeError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Error: msg, Reason: reason})
}

// statusOf maps a refusal to an HTTP status: the sender's problem (4xx)
// that sending again will not fix, except a stale one, whose sender
// should check its clock.
func statusOf(reason string) int {
	switch envelope.Reason(reason) {
	case envelope.Forged, envelope.Misdirected:
		return http.StatusForbidden
	case envelope.Stale, envelope.Replayed:
		return http.StatusConflict
	case envelope.Unsupported:
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadRequest
}

// readSigned reads a request's peer and body; it answers the refusal
// itself and returns ok false when the request cannot go on.
func (s *Service) readSigned(w http.ResponseWriter, r *http.Request, limit int64) (peer string, body []byte, ok bool) {
	peer = r.Header.Get(HeaderPeer)
	if !trust.ValidCountry(peer) || peer == s.country {
		s.count(r.Context(), "", string(envelope.Forged))
		writeError(w, http.StatusForbidden, string(envelope.Forged), "the "+HeaderPeer+" header must name a peer node's country")
		return "", nil, false
	}
	if _, err := s.pinned(r.Context(), peer); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.count(r.Context(), "", string(envelope.Forged))
			writeError(w, http.StatusForbidden, string(envelope.Forged), peer+" is not a peer of this node")
			return "", nil, false
		}
		s.log.Error("federation: reading a peer's pin", "peer", peer, "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "try again later")
		return "", nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		s.count(r.Context(), peer, string(envelope.Malformed))
		writeError(w, http.StatusRequestEntityTooLarge, string(envelope.Malformed), "the request is too large or was cut off")
		return "", nil, false
	}
	return peer, body, true
}

// count adds one refusal outside any inbox transaction.
func (s *Service) count(ctx context.Context, peer, name string) {
	if err := s.db.AddCounts(context.WithoutCancel(ctx), peer, map[string]int64{name: 1}); err != nil {
		s.log.Error("federation: counting a refusal", "peer", peer, "counter", name, "err", err)
	}
}

func (s *Service) refused(w http.ResponseWriter, r *http.Request, peer, what string, err error) {
	reason := reasonOf(err)
	s.count(r.Context(), peer, reason)
	s.log.Warn("federation: refused a "+what, "peer", peer, "reason", reason, "err", err)
	writeError(w, statusOf(reason), reason, err.Error())
}

func (s *Service) serveDelivery(w http.ResponseWriter, r *http.Request) {
	peer, body, ok := s.readSigned(w, r, envelope.MaxDeliveryBytes+1)
	if !ok {
		return
	}
	// Verify at once, apply in turn; the turn ends however the request
	// does.
	line := s.turnstileOf(peer)
	n := line.ticket()
	turn := func() { line.wait(n) }
	defer func() { turn(); line.done() }()
	csca, err := s.pinned(r.Context(), peer)
	if err != nil {
		turn()
		writeError(w, http.StatusServiceUnavailable, "", "try again later")
		return
	}
	d, err := envelope.VerifyDeliveryWithin(body, s.country, csca, s.now(), s.cfg.MaxSkew)
	turn()
	if err != nil {
		s.refused(w, r, peer, "delivery", err)
		return
	}
	if d.ReplyTo != "" {
		// An answer to a pull, sent where pushes go: a replay of one.
		s.refused(w, r, peer, "delivery", &envelope.Error{Reason: envelope.Replayed, Err: errors.New("a pull answer was pushed")})
		return
	}
	acks, gap, err := s.receive(r.Context(), peer, d)
	if err != nil {
		s.log.Error("federation: taking a delivery", "peer", peer, "delivery", d.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "the delivery could not be taken now; send it again")
		return
	}
	if gap {
		s.wantPull(peer)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(acks)
}

func (s *Service) servePull(w http.ResponseWriter, r *http.Request) {
	peer, body, ok := s.readSigned(w, r, envelope.MaxMessageBytes)
	if !ok {
		return
	}
	csca, err := s.pinned(r.Context(), peer)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "", "try again later")
		return
	}
	pr, err := envelope.VerifyPullWithin(body, s.country, csca, s.now(), s.cfg.MaxSkew)
	if err != nil {
		s.refused(w, r, peer, "pull request", err)
		return
	}
	// The peer asks for what follows the messages it has settled: those
	// it has, and the sender need not push them again.
	upTo := map[string]uint64{}
	for st, n := range pr.After {
		upTo[string(st)] = n
	}
	if _, err := s.db.AckOutbox(r.Context(), peer, upTo, nil, s.now()); err != nil {
		s.log.Error("federation: taking a pull's cursors as acknowledgement", "peer", peer, "err", err)
	}
	raw, err := s.answerPull(r.Context(), peer, pr)
	if err != nil {
		s.log.Error("federation: answering a pull", "peer", peer, "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "the pull could not be answered now")
		return
	}
	w.Header().Set("Content-Type", contentDelivery)
	w.Write(raw)
}

// answerPull gathers, in the order they were written, the messages for
// peer that follow its cursors, and seals them as the answer.
func (s *Service) answerPull(ctx context.Context, peer string, pr *envelope.PullRequest) ([]byte, error) {
	var all []store.OutboxMessage
	for _, st := range envelope.Streams {
		ms, err := s.db.OutboxAfter(ctx, peer, string(st), pr.After[st], pr.Limit)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	slices.SortFunc(all, func(a, b store.OutboxMessage) int { return cmp.Compare(a.Pos, b.Pos) })
	if len(all) > pr.Limit {
		all = all[:pr.Limit]
	}
	for {
		raws := make([][]byte, len(all))
		for i := range all {
			raws[i] = all[i].Envelope
		}
		raw, err := envelope.SealDelivery(s.id, peer, pr.ID, raws, s.now())
		if err == nil || len(all) <= 1 {
			return raw, err
		}
		all = all[:len(all)/2] // too large: fewer messages, the rest on the next pull
	}
}

// push sends a delivery of msgs to the peer and returns its answer.
func (s *Service) push(ctx context.Context, l *peerLink, msgs []store.OutboxMessage) (*Acks, error) {
	raws := make([][]byte, len(msgs))
	for i := range msgs {
		raws[i] = msgs[i].Envelope
	}
	raw, err := envelope.SealDelivery(s.id, l.country, "", raws, s.now())
	if err != nil {
		return nil, err
	}
	resp, err := s.post(ctx, l, PathDeliveries, raw)
	if err != nil {
		return nil, err
	}
	var acks Acks
	if err := json.Unmarshal(resp, &acks); err != nil {
		return nil, fmt.Errorf("%s answered a delivery with something that is not an acknowledgement: %w", l.country, err)
	}
	return &acks, nil
}

// pullOnce asks the peer for what follows this node's cursors and takes
// it; it returns how many messages it moved on (applied, dead-lettered or
// held): nothing new, however many came, means the catch-up is done.
func (s *Service) pullOnce(ctx context.Context, l *peerLink) (int, error) {
	cursors, err := s.db.InboxCursors(ctx, l.country)
	if err != nil {
		return 0, err
	}
	after := map[envelope.Stream]uint64{}
	for _, st := range envelope.Streams {
		if n := cursors[string(st)]; n > 1 {
			after[st] = n - 1
		}
	}
	req, pr, err := envelope.SealPull(s.id, l.country, after, s.cfg.PullLimit, s.now())
	if err != nil {
		return 0, err
	}
	resp, err := s.post(ctx, l, PathPull, req)
	if err != nil {
		return 0, err
	}
	csca, err := s.pinned(ctx, l.country)
	if err != nil {
		return 0, err
	}
	d, err := envelope.VerifyDeliveryWithin(resp, s.country, csca, s.now(), s.cfg.MaxSkew)
	if err == nil {
		err = d.Answers(pr.ID)
	}
	if err != nil {
		s.count(ctx, l.country, reasonOf(err))
		return 0, fmt.Errorf("%s's answer to a pull: %w", l.country, err)
	}
	acks, _, err := s.receive(ctx, l.country, d)
	if err != nil {
		return 0, err
	}
	return len(acks.Applied) + len(acks.Dead) + len(acks.Held), nil
}

// post sends one signed request and returns the body of a 200 answer.
func (s *Service) post(ctx context.Context, l *peerLink, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(l.url(), "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentDelivery)
	req.Header.Set(HeaderPeer, s.country)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, envelope.MaxDeliveryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", l.country, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return nil, &PeerError{Status: resp.StatusCode, Reason: e.Reason, Msg: e.Error}
		}
		return nil, &PeerError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(out[:min(len(out), 200)]))}
	}
	return out, nil
}

// PeerError is a peer's refusal of a request.
type PeerError struct {
	Status int
	Reason string
	Msg    string
}

func (e *PeerError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("peer answered %d (%s): %s", e.Status, e.Reason, e.Msg)
	}
	return fmt.Sprintf("peer answered %d: %s", e.Status, e.Msg)
}

// checkURL accepts http and https base URLs of a peer node.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("address %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("address %q must be an http:// or https:// base URL such as https://corridor.example.cn", raw)
	}
	return nil
}
