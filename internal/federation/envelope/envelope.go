// Package envelope is the wire format of the joint response mechanism: the
// signed messages two Corridor nodes exchange, the signed deliveries that
// carry them (pushed, or answering a pull), and the signed pull requests.
//
// A message is a DSSE envelope (the same signing as package trust's lists:
// ECDSA P-256 over PAE(payloadType, payload), the payload's exact bytes
// carried in base64, so nothing is canonicalised) plus the signer's
// certificate. The signer is the node's federation key, certified by its
// CSCA for federation use only; a receiver pins each peer's CSCA and
// accepts nothing else. Messages stay verifiable forever, so an inbox can
// take old ones on a catch-up pull; freshness is checked on the delivery
// and pull wrappers, which are live, and replay of a message is caught by
// the inbox's set of seen message ids. docs/federation.md describes the
// format and what each message type carries across the border.
package envelope

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/corridorlane/corridor/internal/trust"
)

// Version is the format version of messages, deliveries and pull requests.
const Version = 1

// DSSE payload types. The signature covers the type, so a message cannot
// be passed off as a delivery or a pull request, nor the other way round.
const (
	PayloadMessage  = "application/vnd.corridor.federation.message+json"
	PayloadDelivery = "application/vnd.corridor.federation.delivery+json"
	PayloadPull     = "application/vnd.corridor.federation.pull+json"
)

// Limits.
const (
	// MaxSkew is how far a delivery's or pull request's sending time may be
	// from the receiver's clock, either way; and how far into the future a
	// message may be dated.
	MaxSkew = 15 * time.Minute
	// MaxMessageBytes bounds one message as it travels.
	MaxMessageBytes = 1 << 20
	// MaxDeliveryBytes bounds one delivery.
	MaxDeliveryBytes = 32 << 20
	// MaxDeliveryMessages bounds the messages in one delivery, and so the
	// limit a pull request may ask for.
	MaxDeliveryMessages = 1000
)

// signed is the outer shape of everything a node sends: the certificate of
// its federation signer and the DSSE envelope. The certificate is not
// covered by the DSSE signature; it needs no cover, since it is checked
// against the pinned CSCA and the signature against its key.
//
// The bytes must be exactly what json.Marshal makes of this struct: Go's
// JSON reader is lenient (keys in any case, duplicate keys, escapes, line
// breaks inside base64), and a format with one byte form per message lets
// no one change a byte unnoticed, nor an inbox hold two spellings of one
// message.
type signed struct {
	Cert []byte `json:"cert"` // DER, base64 in JSON
	DSSE dsse   `json:"dsse"`
}

// dsse mirrors the DSSE envelope's JSON (github.com/secure-systems-lab/dsse)
// as package trust writes and reads it, with one signature.
type dsse struct {
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Signatures  []dsseSignature `json:"signatures"`
}

type dsseSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Message is one verified (or just sealed) message.
type Message struct {
	ID       string // 128 random bits in lower-case hex: the idempotency key
	Sender   string // ISO 3166-1 alpha-2
	Receiver string
	Stream   Stream
	Seq      uint64 // per sender, receiver and stream, from 1 without gaps
	Time     time.Time
	Type     Type
	Body     Body            // the typed body, validated
	RawBody  json.RawMessage // the body's bytes as signed
	// Raw is the message as it travels: what an outbox sends and an inbox
	// keeps, since it can be verified again at any time.
	Raw    []byte
	Signer *x509.Certificate
}

type messageJSON struct {
	V        int             `json:"v"`
	ID       string          `json:"id"`
	Sender   string          `json:"sender"`
	Receiver string          `json:"receiver"`
	Stream   Stream          `json:"stream"`
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	Type     Type            `json:"type"`
	Body     json.RawMessage `json:"body"`
}

var (
	reID   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reType = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){1,3}$`)
)

// NewID returns 128 random bits in lower-case hex.
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("drawing a message id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Seal signs body as the next message from id to receiver on the body
// type's stream. seq is the stream's next sequence number, which the
// caller's outbox assigns in the same transaction as the change the
// message reports.
func Seal(id *Identity, receiver string, seq uint64, body Body, at time.Time) (*Message, error) {
	if err := id.usable(at); err != nil {
		return nil, fmt.Errorf("seal message: %w", err)
	}
	if !trust.ValidCountry(receiver) || receiver == id.Country {
		return nil, fmt.Errorf("seal message: receiver %q must be another node's ISO 3166-1 alpha-2 code", receiver)
	}
	if seq == 0 {
		return nil, errors.New("seal message: sequence numbers start at 1")
	}
	if body == nil || !body.Type().Known() {
		return nil, fmt.Errorf("seal message: a body of a known type is needed (got %T)", body)
	}
	if err := body.Validate(); err != nil {
		return nil, fmt.Errorf("seal message: %s body: %w", body.Type(), err)
	}
	rawBody, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("seal message: %w", err)
	}
	msgID, err := NewID()
	if err != nil {
		return nil, fmt.Errorf("seal message: %w", err)
	}
	m := &Message{
		ID: msgID, Sender: id.Country, Receiver: receiver, Stream: body.Type().Stream(), Seq: seq,
		Time: at.UTC(), Type: body.Type(), Body: body, RawBody: rawBody, Signer: id.Cert,
	}
	m.Raw, err = id.seal(PayloadMessage, messageJSON{
		V: Version, ID: m.ID, Sender: m.Sender, Receiver: m.Receiver, Stream: m.Stream,
		Seq: m.Seq, Time: m.Time, Type: m.Type, Body: rawBody,
	})
	if err != nil {
		return nil, fmt.Errorf("seal message: %w", err)
	}
	return m, nil
}

// Verify checks one message from the peer whose CSCA is pinned, addressed
// to receiver (this node's country), and returns it with its typed body.
// It does not check the message's age: a message stays valid for catch-up
// as long as its signer's certificate was valid when it was sent, and a
// replay is caught by the inbox's seen ids. It refuses a message dated
// more than MaxSkew after now. Every refusal is an *Error with a Reason.
func Verify(raw []byte, receiver string, peerCSCA *x509.Certificate, now time.Time) (*Message, error) {
	peer, err := pinnedCountry(peerCSCA)
	if err != nil {
		return nil, fmt.Errorf("verify message: %w", err)
	}
	return verifyMessage(raw, receiver, peerCSCA, peer, now)
}

func verifyMessage(raw []byte, receiver string, csca *x509.Certificate, peer string, now time.Time) (*Message, error) {
	payload, cert, err := open(raw, PayloadMessage, csca, MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(payload); err != nil {
		return nil, err
	}
	var h messageJSON
	if err := decodeStrict(payload, &h); err != nil {
		return nil, refuse(Malformed, "message: %w", err)
	}
	switch {
	case !reID.MatchString(h.ID):
		return nil, refuse(Malformed, "message id %q is not 32 lower-case hex digits", truncate(h.ID))
	case !trust.ValidCountry(h.Sender) || !trust.ValidCountry(h.Receiver) || h.Sender == h.Receiver:
		return nil, refuse(Malformed, "message %s: sender %q and receiver %q must be two different ISO 3166-1 alpha-2 codes", h.ID, truncate(h.Sender), truncate(h.Receiver))
	case h.Seq == 0:
		return nil, refuse(Malformed, "message %s: sequence number 0; they start at 1", h.ID)
	case h.Time.IsZero():
		return nil, refuse(Malformed, "message %s: no time", h.ID)
	case !reType.MatchString(string(h.Type)):
		return nil, refuse(Malformed, "message %s: %q is not a message type name", h.ID, truncate(string(h.Type)))
	case len(h.Body) == 0 || h.Body[0] != '{':
		return nil, refuse(Malformed, "message %s: the body must be a JSON object", h.ID)
	}
	if h.Sender != peer {
		return nil, refuse(Forged, "message %s claims to come from %s but is signed by %s's federation signer", h.ID, h.Sender, peer)
	}
	if err := checkValidAt(cert, csca, h.Time); err != nil {
		return nil, refuse(Forged, "message %s: its signer was not valid when it was sent: %w", h.ID, err)
	}
	if h.Receiver != receiver {
		return nil, refuse(Misdirected, "message %s is addressed to %s, not to %s", h.ID, h.Receiver, receiver)
	}
	if h.Time.After(now.Add(MaxSkew)) {
		return nil, refuse(Stale, "message %s is dated %s, more than %s ahead of this node's clock (%s)",
			h.ID, h.Time.UTC().Format(time.RFC3339), MaxSkew, now.UTC().Format(time.RFC3339))
	}
	if !h.Type.Known() {
		return nil, refuse(Unsupported, "message %s: type %q is unknown to this node", h.ID, h.Type)
	}
	if h.Stream != h.Type.Stream() {
		return nil, refuse(Malformed, "message %s: type %s travels on stream %q, not %q", h.ID, h.Type, h.Type.Stream(), truncate(string(h.Stream)))
	}
	body, err := decodeBody(h.Type, h.Body)
	if err != nil {
		return nil, refuse(Malformed, "message %s: %w", h.ID, err)
	}
	return &Message{
		ID: h.ID, Sender: h.Sender, Receiver: h.Receiver, Stream: h.Stream, Seq: h.Seq,
		Time: h.Time, Type: h.Type, Body: body, RawBody: h.Body, Raw: raw, Signer: cert,
	}, nil
}

// usable tells whether the identity can sign at t.
func (id *Identity) usable(t time.Time) error {
	if id == nil || id.Cert == nil || id.Key == nil || id.CSCA == nil {
		return errors.New("no federation identity")
	}
	if err := checkValidAt(id.Cert, id.CSCA, t); err != nil {
		return fmt.Errorf("the federation signer cannot sign now: %w", err)
	}
	return nil
}

// seal marshals v as the payload of a DSSE envelope of payloadType, signs
// it, and wraps it with the signer's certificate.
func (id *Identity) seal(payloadType string, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	env, err := trust.SealEnvelope(payloadType, payload, id.Cert, id.Key)
	if err != nil {
		return nil, err
	}
	s := signed{Cert: id.Cert.Raw}
	if err := decodeStrict(env, &s.DSSE); err != nil {
		return nil, fmt.Errorf("reading back the DSSE envelope: %w", err)
	}
	return json.Marshal(s)
}

// open checks the outer layers of anything a peer sends and returns the
// signed payload: size, shape, a signer the pinned CSCA made for federation
// use, a signature that matches, and the expected payload type (checked
// after the signature, so a changed type counts as an alteration).
func open(raw []byte, payloadType string, csca *x509.Certificate, limit int) ([]byte, *x509.Certificate, error) {
	if len(raw) > limit {
		return nil, nil, refuse(Malformed, "%d bytes, more than the %d allowed", len(raw), limit)
	}
	s, err := parseSigned(raw)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(s.Cert)
	if err != nil {
		return nil, nil, refuse(Malformed, "the signer's certificate: %w", err)
	}
	dsseJSON, err := json.Marshal(s.DSSE)
	if err != nil {
		return nil, nil, refuse(Malformed, "%w", err)
	}
	env, err := trust.ParseEnvelope(dsseJSON)
	if err != nil {
		return nil, nil, refuse(Malformed, "%w", err)
	}
	if err := checkSigner(cert, csca); err != nil {
		return nil, nil, refuse(Forged, "%w", err)
	}
	if err := env.VerifyWith(cert); err != nil {
		return nil, nil, refuse(Altered, "the content does not match its signature: %w", err)
	}
	if env.PayloadType != payloadType {
		return nil, nil, refuse(Malformed, "payload type %q where %q was expected", truncate(env.PayloadType), payloadType)
	}
	return env.Payload, cert, nil
}

// parseSigned reads the outer shape and insists on its one byte form.
func parseSigned(raw []byte) (*signed, error) {
	var s signed
	if err := decodeStrict(raw, &s); err != nil {
		return nil, refuse(Malformed, "not a signed federation envelope: %w", err)
	}
	if len(s.Cert) == 0 || len(s.DSSE.Signatures) != 1 {
		return nil, refuse(Malformed, "a signed federation envelope needs the signer's certificate and exactly one signature")
	}
	canonical, err := json.Marshal(&s)
	if err != nil {
		return nil, refuse(Malformed, "%w", err)
	}
	if !bytes.Equal(canonical, raw) {
		return nil, refuse(Malformed, "not in the canonical byte form (compact JSON, keys as written, standard base64)")
	}
	return &s, nil
}

// checkVersion reads only "v", leniently, so that a newer format is told
// apart (Unsupported) from a broken one (Malformed).
func checkVersion(payload []byte) error {
	var v struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return refuse(Malformed, "payload: %w", err)
	}
	if v.V != Version {
		return refuse(Unsupported, "format version %d; this node reads version %d", v.V, Version)
	}
	return nil
}

// decodeStrict unmarshals one JSON value, refusing unknown fields and
// trailing data so that two readers cannot see two different documents.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}
