package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// The joint officers' view of the link with the peer nodes: each peer's
// delivery status, the dead letters with their retry and dismissal, and
// contact tracing across the corridor.

// FederationOps is what these pages need of the node's federation service
// (package federation's *Service implements it). Retry and dismissal check
// the principal and write the audit entries themselves.
type FederationOps interface {
	Status(ctx context.Context) ([]federation.PeerStatus, error)
	RetryDeadLetter(ctx context.Context, p app.Principal, id string) error
	DismissDeadLetter(ctx context.Context, p app.Principal, id string) error
}

// FederationStatusJSON is the link with every peer.
type FederationStatusJSON struct {
	// Running is false when this node runs without a federation: it has
	// no peers to show.
	Running bool             `json:"running"`
	Peers   []PeerStatusJSON `json:"peers"`
}

// PeerStatusJSON is one peer: counts and sequence numbers, no personal
// data.
type PeerStatusJSON struct {
	Country string         `json:"country"`
	URL     string         `json:"url"`
	Outbox  PeerOutboxJSON `json:"outbox"`
	Inbox   PeerInboxJSON  `json:"inbox"`
	// Messages counts what became of the peer's messages: received,
	// applied, duplicate, held, dead.
	Messages map[string]int64 `json:"messages"`
	// Refused counts the peer's requests and messages refused, by reason.
	Refused map[string]int64 `json:"refused"`
	// DeadLettersOpen counts its messages that could not be applied and
	// wait for an officer (at most 1000 are counted).
	DeadLettersOpen int `json:"dead_letters_open"`
}

// PeerOutboxJSON is what this node sends the peer.
type PeerOutboxJSON struct {
	Unacknowledged         int        `json:"unacknowledged"`
	OldestUnacknowledgedAt *time.Time `json:"oldest_unacknowledged_at,omitempty"`
	LastAcknowledgedAt     *time.Time `json:"last_acknowledged_at,omitempty"`
	// LastError and Attempts are the oldest waiting message's: why its
	// last send failed, and how many sends did.
	LastError string `json:"last_error,omitempty"`
	Attempts  int    `json:"attempts"`
	// LastSeq is, per stream, the last sequence number sent.
	LastSeq map[string]uint64 `json:"last_seq"`
}

// PeerInboxJSON is what this node takes from the peer.
type PeerInboxJSON struct {
	// NextSeq is, per stream, the next sequence number expected.
	NextSeq map[string]uint64 `json:"next_seq"`
	// Waiting lists the streams held up by a missing message.
	Waiting []InboxGapJSON `json:"waiting"`
}

type InboxGapJSON struct {
	Stream    string `json:"stream"`
	Next      uint64 `json:"next"`
	FirstHeld uint64 `json:"first_held"`
	Held      int    `json:"held"`
}

// DeadLetterJSON is a peer's message that could not be applied, without
// its content.
type DeadLetterJSON struct {
	ID         string     `json:"id"`
	Peer       string     `json:"peer"`
	Stream     string     `json:"stream"`
	Seq        uint64     `json:"seq"`
	Type       string     `json:"type"`
	Reason     string     `json:"reason"`
	FailedAt   time.Time  `json:"failed_at"`
	Attempts   int        `json:"attempts"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
}

// TracingJSON is contact tracing across the corridor. Trips appear by
// reference and state; GET /api/v1/trips/{id} shows more to whoever may
// see it.
type TracingJSON struct {
	Contacts  []TracedContactJSON `json:"contacts"`
	PeerCases []PeerCaseJSON      `json:"peer_cases"`
	Requests  []TraceRequestJSON  `json:"requests"`
}

// TracedContactJSON is a trip found to be a contact of a case.
type TracedContactJSON struct {
	Case          string     `json:"case"`
	TripID        string     `json:"trip_id"`
	TripReference string     `json:"trip_reference"`
	TripState     trip.State `json:"trip_state"`
	Rules         []string   `json:"rules"`
	FoundBy       string     `json:"found_by"` // "here", or the peer's country
	FoundAt       time.Time  `json:"found_at"`
}

// PeerCaseJSON is a case a peer notified.
type PeerCaseJSON struct {
	Ref           string     `json:"ref"`
	Peer          string     `json:"peer"`
	Lane          string     `json:"lane"`
	Stage         string     `json:"stage"`
	DetectedOn    string     `json:"detected_on"`
	TripReference string     `json:"trip_reference"`
	TripID        string     `json:"trip_id,omitempty"`    // when the trip is on this node
	TripState     trip.State `json:"trip_state,omitempty"` // likewise
	ReceivedAt    time.Time  `json:"received_at"`
	// ContactsHere counts the trips of this node flagged as its contacts.
	ContactsHere int `json:"contacts_here"`
}

// TraceRequestJSON is a tracing request this node sent a peer.
type TraceRequestJSON struct {
	Ref        string     `json:"ref"`
	Case       string     `json:"case"`
	Peer       string     `json:"peer"`
	SentAt     time.Time  `json:"sent_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	Contacts   int        `json:"contacts"` // contacts the answer named
}

// outcomeCounters are the inbox's counters of what became of messages;
// every other counter is a refusal reason (envelope.Reasons).
var outcomeCounters = []string{federation.CountReceived, federation.CountApplied, federation.CountDuplicate,
	federation.CountHeld, federation.CountDead}

func peerStatusJSON(st federation.PeerStatus, open int) PeerStatusJSON {
	out := PeerStatusJSON{Country: st.Country, URL: st.URL, DeadLettersOpen: open,
		Messages: map[string]int64{}, Refused: map[string]int64{},
		Outbox: PeerOutboxJSON{Unacknowledged: st.Outbox.Unacked, OldestUnacknowledgedAt: tp(st.Outbox.OldestUnacked),
			LastAcknowledgedAt: tp(st.Outbox.LastAcked), LastError: st.Outbox.LastError, Attempts: st.Outbox.Attempts,
			LastSeq: map[string]uint64{}},
		Inbox: PeerInboxJSON{NextSeq: map[string]uint64{}, Waiting: []InboxGapJSON{}}}
	for _, c := range outcomeCounters {
		out.Messages[c] = st.Counts[c]
	}
	for _, r := range envelope.Reasons {
		out.Refused[string(r)] = st.Counts[string(r)]
	}
	for k, v := range st.Outbox.LastSeq {
		out.Outbox.LastSeq[k] = v
	}
	for k, v := range st.Cursors {
		out.Inbox.NextSeq[k] = v
	}
	for _, g := range st.Gaps {
		out.Inbox.Waiting = append(out.Inbox.Waiting, InboxGapJSON{Stream: g.Stream, Next: g.Next, FirstHeld: g.FirstHeld, Held: g.Held})
	}
	return out
}

func deadLetterJSON(d app.DeadLetter) DeadLetterJSON {
	return DeadLetterJSON{ID: d.ID, Peer: d.Peer, Stream: d.Stream, Seq: d.Seq, Type: d.Type, Reason: d.Reason,
		FailedAt: d.FailedAt.UTC(), Attempts: d.Attempts, ResolvedAt: tp(d.ResolvedAt), ResolvedBy: d.ResolvedBy}
}

func tracingJSON(o *app.TracingOverview) TracingJSON {
	out := TracingJSON{Contacts: []TracedContactJSON{}, PeerCases: []PeerCaseJSON{}, Requests: []TraceRequestJSON{}}
	for _, k := range o.Contacts {
		by := k.Source
		if by == "" {
			by = "here"
		}
		rules := k.Rules
		if rules == nil {
			rules = []string{}
		}
		out.Contacts = append(out.Contacts, TracedContactJSON{Case: k.CaseRef, TripID: k.TripID, TripReference: k.TripRef,
			TripState: k.TripState, Rules: rules, FoundBy: by, FoundAt: k.FoundAt.UTC()})
	}
	for _, k := range o.PeerCases {
		out.PeerCases = append(out.PeerCases, PeerCaseJSON{Ref: k.Ref, Peer: k.Peer, Lane: k.Lane, Stage: k.Stage, DetectedOn: k.DetectedOn,
			TripReference: k.TripRef, TripID: k.TripID, TripState: k.TripState, ReceivedAt: k.ReceivedAt.UTC(), ContactsHere: k.Contacts})
	}
	for _, r := range o.Requests {
		out.Requests = append(out.Requests, TraceRequestJSON{Ref: r.Ref, Case: r.CaseRef, Peer: r.Peer, SentAt: r.SentAt.UTC(),
			AnsweredAt: tp(r.AnsweredAt), Contacts: r.Contacts})
	}
	return out
}

// errNoFederation answers a change asked of a node that runs alone.
var errNoFederation = &app.Error{Code: app.CodeConflict, Msg: "this node runs without a link to peer nodes"}

// federationStatus describes every peer, with its open dead letters
// counted; the caller has authorized the principal.
func (s *Server) federationStatus(ctx context.Context, p app.Principal) (FederationStatusJSON, error) {
	out := FederationStatusJSON{Peers: []PeerStatusJSON{}}
	if s.cfg.Federation == nil {
		return out, nil
	}
	out.Running = true
	list, err := s.cfg.Federation.Status(ctx)
	if err != nil {
		return out, err
	}
	open, err := s.app.DeadLetters(ctx, p, app.DeadLetterQuery{OpenOnly: true, Limit: 1000})
	if err != nil {
		return out, err
	}
	for _, st := range list {
		n := 0
		for _, d := range open {
			if d.Peer == st.Country {
				n++
			}
		}
		out.Peers = append(out.Peers, peerStatusJSON(st, n))
	}
	return out, nil
}

// messageIDRE is the shape of a message id (envelope.NewID); anything else
// names no dead letter, and goes no further.
var messageIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// deadLetterOp runs a retry or a dismissal, giving the service's refusals
// their codes.
func (s *Server) deadLetterOp(r *http.Request, dismiss bool) error {
	p := principal(r)
	if err := s.app.AuthorizeFederation(p); err != nil {
		return err
	}
	if s.cfg.Federation == nil {
		return errNoFederation
	}
	id := r.PathValue("id")
	if !messageIDRE.MatchString(id) {
		return &app.Error{Code: app.CodeNotFound, Msg: "dead letter not found"}
	}
	op := s.cfg.Federation.RetryDeadLetter
	if dismiss {
		op = s.cfg.Federation.DismissDeadLetter
	}
	err := op(r.Context(), p, id)
	var refusal *app.PeerRefusal
	switch {
	case err == nil:
		return nil
	case errors.Is(err, federation.ErrNotAllowed):
		// The roles changed since the check above.
		return &app.Error{Code: app.CodeForbidden, Msg: "you may not look after the link with the peer nodes", Err: err}
	case errors.As(err, &refusal):
		return &app.Error{Code: app.CodeConflict, Msg: "the message still cannot be applied: " + refusal.Msg, Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &app.Error{Code: app.CodeNotFound, Msg: "dead letter not found", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &app.Error{Code: app.CodeConflict, Msg: "the dead letter was closed already", Err: err}
	}
	return err
}

// deadLetterQuery reads the list's filters: peer, open (true by default
// on the API), limit.
func deadLetterQuery(r *http.Request, openByDefault bool) (app.DeadLetterQuery, error) {
	q := r.URL.Query()
	out := app.DeadLetterQuery{Peer: strings.ToUpper(strings.TrimSpace(q.Get("peer"))), OpenOnly: openByDefault, Limit: 200}
	switch q.Get("open") {
	case "":
	case "true":
		out.OpenOnly = true
	case "false":
		out.OpenOnly = false
	default:
		return out, invalidField("open", "must be true or false")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return out, invalidField("limit", "must be 1 to 1000")
		}
		out.Limit = n
	}
	return out, nil
}

func tracingQuery(r *http.Request) (app.TracingQuery, error) {
	q := app.TracingQuery{Limit: 200}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return q, invalidField("limit", "must be 1 to 1000")
		}
		q.Limit = n
	}
	return q, nil
}

// The API.

func (s *Server) apiFederationPeers(r *http.Request, _ *noBody) (FederationStatusJSON, error) {
	p := principal(r)
	if err := s.app.AuthorizeFederation(p); err != nil {
		return FederationStatusJSON{}, err
	}
	return s.federationStatus(r.Context(), p)
}

func (s *Server) apiDeadLetters(r *http.Request, _ *noBody) ([]DeadLetterJSON, error) {
	if err := s.app.AuthorizeFederation(principal(r)); err != nil {
		return nil, err
	}
	q, err := deadLetterQuery(r, true)
	if err != nil {
		return nil, err
	}
	list, err := s.app.DeadLetters(r.Context(), principal(r), q)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetterJSON, 0, len(list))
	for _, d := range list {
		out = append(out, deadLetterJSON(d))
	}
	return out, nil
}

func (s *Server) apiRetryDeadLetter(r *http.Request, _ *noBody) (noContent, error) {
	return noContent{}, s.deadLetterOp(r, false)
}

func (s *Server) apiDismissDeadLetter(r *http.Request, _ *noBody) (noContent, error) {
	return noContent{}, s.deadLetterOp(r, true)
}

func (s *Server) apiTracing(r *http.Request, _ *noBody) (TracingJSON, error) {
	if err := s.app.AuthorizeFederation(principal(r)); err != nil {
		return TracingJSON{}, err
	}
	q, err := tracingQuery(r)
	if err != nil {
		return TracingJSON{}, err
	}
	o, err := s.app.Tracing(r.Context(), principal(r), q)
	if err != nil {
		return TracingJSON{}, err
	}
	return tracingJSON(o), nil
}

// The pages.

// federationPageData is what the three pages share: whether the node has
// a federation, and which of them is shown, for their tabs.
type federationPageData struct {
	Running bool
	Tab     string
	// The peers page.
	Peers []peerView
	// The dead letters page.
	Letters   []DeadLetterJSON
	Peer      string // the peer filter; "" for all
	All       bool   // resolved ones too
	Countries []string
	// The contacts page.
	Tracing TracingJSON
}

func (s *Server) federationPage(w http.ResponseWriter, r *http.Request, status int, tab string, d *federationPageData, problem error) {
	d.Running, d.Tab = s.cfg.Federation != nil, tab
	v := s.newView(w, r, "title.federation_"+tab, d)
	if problem != nil {
		v.setError(problem)
	}
	s.render(w, r, status, "joint_federation", v)
}

// pageAllowed renders the forbidden page unless the principal may look
// after the federation.
func (s *Server) pageAllowed(w http.ResponseWriter, r *http.Request) bool {
	if err := s.app.AuthorizeFederation(principal(r)); err != nil {
		s.pageError(w, r, err)
		return false
	}
	return true
}

func (s *Server) pagePeers(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	st, err := s.federationStatus(r.Context(), principal(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := &federationPageData{}
	for _, p := range st.Peers {
		d.Peers = append(d.Peers, peerViewOf(p))
	}
	s.federationPage(w, r, http.StatusOK, "peers", d, nil)
}

// peerView is a peer on its page, with its streams side by side.
type peerView struct {
	PeerStatusJSON
	Streams []streamRow
}

// streamRow is one stream between the two nodes: the last number this
// node sent on it, and the next it expects from the peer (0: none yet).
type streamRow struct {
	Name       string
	Sent, Next uint64
}

func peerViewOf(p PeerStatusJSON) peerView {
	var names []string
	for n := range p.Outbox.LastSeq {
		names = append(names, n)
	}
	for n := range p.Inbox.NextSeq {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	v := peerView{PeerStatusJSON: p}
	for _, n := range names {
		v.Streams = append(v.Streams, streamRow{Name: n, Sent: p.Outbox.LastSeq[n], Next: p.Inbox.NextSeq[n]})
	}
	return v
}

// Label names a code of one of the catalogs' domains (prefix "stream.",
// "tracing_rule.", ...) in the reader's language, and shows a code the
// catalogs do not know (a peer's newer stream, say) as written.
func (v *view) Label(prefix, code string) string {
	if v.s.cat.Has(prefix + code) {
		return v.T(prefix + code)
	}
	return code
}

func (s *Server) pageDeadLetters(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	s.deadLettersPage(w, r, http.StatusOK, nil)
}

// deadLettersPage lists the dead letters the query asks for; problem,
// when set, is what the last retry or dismissal ran into.
func (s *Server) deadLettersPage(w http.ResponseWriter, r *http.Request, status int, problem error) {
	q, err := deadLetterQuery(r, r.URL.Query().Get("all") == "")
	d := &federationPageData{Peer: q.Peer, All: !q.OpenOnly}
	var list []app.DeadLetter
	if err == nil {
		list, err = s.app.DeadLetters(r.Context(), principal(r), q)
	}
	if err != nil {
		if statusOf(err) != http.StatusUnprocessableEntity {
			s.pageError(w, r, err)
			return
		}
		status, problem = statusOf(err), err
	}
	for _, l := range list {
		d.Letters = append(d.Letters, deadLetterJSON(l))
	}
	if s.cfg.Federation != nil {
		if st, err := s.cfg.Federation.Status(r.Context()); err == nil {
			for _, p := range st {
				d.Countries = append(d.Countries, p.Country)
			}
		}
	}
	if q.Peer != "" && !slices.Contains(d.Countries, q.Peer) && problem == nil {
		d.Countries = append(d.Countries, q.Peer)
	}
	s.federationPage(w, r, status, "dead_letters", d, problem)
}

func (s *Server) pageDeadLetterOp(dismiss bool, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(r); err != nil {
			s.pageError(w, r, err)
			return
		}
		if err := s.deadLetterOp(r, dismiss); err != nil {
			if statusOf(err) == http.StatusConflict {
				// The refusal shows above the open dead letters.
				s.deadLettersPage(w, r, http.StatusConflict, err)
				return
			}
			s.pageError(w, r, err)
			return
		}
		http.Redirect(w, r, "/joint/dead-letters?done="+done, http.StatusSeeOther)
	}
}

func (s *Server) pageContacts(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	o, err := s.app.Tracing(r.Context(), principal(r), app.TracingQuery{Limit: 200})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.federationPage(w, r, http.StatusOK, "contacts", &federationPageData{Tracing: tracingJSON(o)}, nil)
}
