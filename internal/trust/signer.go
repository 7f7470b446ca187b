package trust

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Signer is one key a verifier may try for a kid.
type Signer struct {
	Kid  []byte
	Cert *x509.Certificate // nil if only a bare key is known
	// PublicKey verifies signatures; Cert.PublicKey when Cert is set.
	PublicKey crypto.PublicKey
	// Country is the signer's ISO 3166-1 alpha-2 country, as its trust
	// source or certificate states it; empty when unknown.
	Country string
	// Source says where the signer came from, for messages and audit
	// (a file name, "corridor-list CN #7", ...).
	Source string
}

// NewSigner describes a certificate as a Signer: its kid, key and the
// country of its subject.
func NewSigner(cert *x509.Certificate, source string) *Signer {
	s := &Signer{
		Kid:       Kid(cert.Raw),
		Cert:      cert,
		PublicKey: cert.PublicKey,
		Source:    source,
	}
	if len(cert.Subject.Country) > 0 {
		s.Country = cert.Subject.Country[0]
	}
	return s
}

// Errors matched by CheckValidity's refusals.
var (
	ErrExpired     = errors.New("signer certificate has expired")
	ErrNotYetValid = errors.New("signer certificate is not yet valid")
)

// CheckValidity reports whether the signer's certificate is within its
// validity period at the given time. A bare key has no validity period and
// passes.
func CheckValidity(s *Signer, at time.Time) error {
	if s == nil || s.Cert == nil {
		return nil
	}
	return checkCertValidity(s.Cert, at)
}

func checkCertValidity(c *x509.Certificate, at time.Time) error {
	const layout = "2006-01-02 15:04:05 MST"
	if at.Before(c.NotBefore) {
		return fmt.Errorf("%w: the certificate of signer %s is valid only from %s (checked at %s)",
			ErrNotYetValid, KidString(Kid(c.Raw)), c.NotBefore.UTC().Format(layout), at.UTC().Format(layout))
	}
	if at.After(c.NotAfter) {
		return fmt.Errorf("%w: the certificate of signer %s expired on %s (checked at %s)",
			ErrExpired, KidString(Kid(c.Raw)), c.NotAfter.UTC().Format(layout), at.UTC().Format(layout))
	}
	return nil
}
