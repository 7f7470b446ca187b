package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Signed lists (trust lists here, revocation lists in package revocation)
// travel in a DSSE envelope (github.com/secure-systems-lab/dsse): the
// payload is carried as base64 of its exact bytes and the signature covers
// PAE(payloadType, payload), so nothing is canonicalised and a signature
// made for one payload type cannot be replayed as another. PAE is ten
// lines, so it is written here rather than pulled in with a dependency.

// Envelope is a parsed DSSE envelope with exactly one signature.
type Envelope struct {
	PayloadType string
	Payload     []byte
	// KeyID is the kid of the signing certificate. It is a hint for
	// messages and is not covered by the signature.
	KeyID     []byte
	Signature []byte // ASN.1 DER ECDSA signature over SHA-256(PAE)
}

// Errors matched by envelope refusals.
var (
	ErrEnvelope     = errors.New("not a valid signed envelope")
	ErrBadSignature = errors.New("signature does not verify")
)

type envelopeJSON struct {
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Signatures  []signatureJSON `json:"signatures"`
}

type signatureJSON struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// pae is DSSE's pre-authentication encoding.
func pae(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// checkP256 refuses any key but ECDSA P-256, the one algorithm Corridor
// signs lists with, so a downgrade to a weaker key cannot sneak in.
func checkP256(pub crypto.PublicKey) (*ecdsa.PublicKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("the signing key is %T, but signed lists use ECDSA P-256", pub)
	}
	return k, nil
}

// SealEnvelope signs payload as payloadType with key, whose certificate is
// cert, and returns the envelope as JSON.
func SealEnvelope(payloadType string, payload []byte, cert *x509.Certificate, key crypto.Signer) ([]byte, error) {
	if cert == nil || key == nil {
		return nil, errors.New("seal envelope: a certificate and its key are needed")
	}
	pub, err := checkP256(cert.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("seal envelope: the key does not belong to certificate %s", cert.Subject)
	}
	digest := sha256.Sum256(pae(payloadType, payload))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("seal envelope: signing: %w", err)
	}
	out, err := json.MarshalIndent(envelopeJSON{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures: []signatureJSON{{
			KeyID: KidString(Kid(cert.Raw)),
			Sig:   base64.StdEncoding.EncodeToString(sig),
		}},
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	return append(out, '\n'), nil
}

// ParseEnvelope reads a DSSE envelope without checking its signature.
func ParseEnvelope(data []byte) (*Envelope, error) {
	var raw envelopeJSON
	if err := decodeStrict(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvelope, err)
	}
	if raw.PayloadType == "" {
		return nil, fmt.Errorf("%w: payloadType is missing", ErrEnvelope)
	}
	if len(raw.Signatures) != 1 {
		return nil, fmt.Errorf("%w: it carries %d signatures, want exactly 1", ErrEnvelope, len(raw.Signatures))
	}
	payload, err := decodeBase64(raw.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrEnvelope, err)
	}
	sig, err := decodeBase64(raw.Signatures[0].Sig)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: the signature is missing or not base64", ErrEnvelope)
	}
	e := &Envelope{PayloadType: raw.PayloadType, Payload: payload, Signature: sig}
	if raw.Signatures[0].KeyID != "" {
		if e.KeyID, err = decodeBase64(raw.Signatures[0].KeyID); err != nil {
			return nil, fmt.Errorf("%w: keyid: %w", ErrEnvelope, err)
		}
	}
	return e, nil
}

// VerifyWith checks the envelope's signature against cert's public key. A
// key id, when present, must be cert's kid: it is not signed, so it is held
// to the one value that cannot mislead.
func (e *Envelope) VerifyWith(cert *x509.Certificate) error {
	pub, err := checkP256(cert.PublicKey)
	if err != nil {
		return err
	}
	if want := Kid(cert.Raw); len(e.KeyID) > 0 && !bytes.Equal(e.KeyID, want) {
		return fmt.Errorf("%w: the envelope names signer kid %s, but %s has kid %s",
			ErrBadSignature, KidString(e.KeyID), cert.Subject, KidString(want))
	}
	digest := sha256.Sum256(pae(e.PayloadType, e.Payload))
	if !ecdsa.VerifyASN1(pub, digest[:], e.Signature) {
		return fmt.Errorf("%w against %s (kid %s)", ErrBadSignature, cert.Subject, KidString(Kid(cert.Raw)))
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

// base64Encodings are tried in turn: standard base64 with or without
// padding, and (DSSE allows either alphabet) the URL-safe one. All are
// strict, so no two strings decode to the same bytes.
var base64Encodings = []*base64.Encoding{
	base64.StdEncoding.Strict(), base64.RawStdEncoding.Strict(),
	base64.URLEncoding.Strict(), base64.RawURLEncoding.Strict(),
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range base64Encodings {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
