package envelope

import (
	"bytes"
	"errors"
	"fmt"
)

// Reason classifies why a node refused something a peer sent, so that
// refusals can be counted (one metric label per reason) and an officer can
// tell an attack from a bug.
type Reason string

const (
	// Malformed: not a well-formed envelope, delivery, pull request or body
	// (bad JSON, unknown or missing fields, a size limit exceeded). Also a
	// correctly signed payload that breaks the format: a peer's bug.
	Malformed Reason = "malformed"
	// Forged: the signer is not the pinned peer's federation signer. Its
	// certificate was not issued by the pinned CSCA, lacks the federation
	// key usage, names another country, or was not valid at the time the
	// content claims.
	Forged Reason = "forged"
	// Altered: the signer is trusted, but the signature does not match the
	// content: bytes were changed after signing.
	Altered Reason = "altered"
	// Misdirected: authentic, but addressed to another node.
	Misdirected Reason = "misdirected"
	// Stale: authentic, but outside the freshness window: a transport
	// wrapper sent too long ago (or dated in the future), or a message dated
	// in the future.
	Stale Reason = "stale"
	// Replayed: authentic and fresh, but already seen: a message id the
	// inbox has applied with other content, or a pull answer to a request
	// this node did not make. The inbox's seen-id set decides the former.
	Replayed Reason = "replayed"
	// Unsupported: authentic and well-formed, but of a format version or
	// message type this node does not know: the peers run different
	// releases.
	Unsupported Reason = "unsupported"
)

// Reasons lists every reason, for metrics that pre-register their labels.
var Reasons = []Reason{Malformed, Forged, Altered, Misdirected, Stale, Replayed, Unsupported}

// Error is a refusal. Every error that Verify, VerifyDelivery and
// VerifyPull return for bad input is an *Error; errors for bad arguments
// (no pinned CSCA) are not, so ReasonOf tells them apart.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("refused as %s: %v", e.Reason, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of a refusal anywhere in err's chain, or ""
// when err is not a refusal.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func refuse(r Reason, format string, a ...any) error {
	return &Error{Reason: r, Err: fmt.Errorf(format, a...)}
}

// Seen classifies a verified message whose id the inbox already holds,
// given the bytes it stored. The same bytes are a duplicate, which
// at-least-once delivery makes normal: Seen returns nil and the caller
// answers OK and applies nothing. Other bytes under the same id are
// refused as Replayed: a signed message cannot be changed, so this is a
// peer reusing an id, and it must be looked into.
func Seen(stored []byte, m *Message) error {
	if bytes.Equal(stored, m.Raw) {
		return nil
	}
	return refuse(Replayed, "message %s (%s #%d) was already received with other content", m.ID, m.Stream, m.Seq)
}
