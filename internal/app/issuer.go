package app

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/hcert"
)

// Issuer signs the credentials Corridor issues. The application only says
// what to sign; which key signs it (the authority's DSC, each lab's DSC)
// is the issuer's business, so key storage can change without touching a
// use case.
type Issuer interface {
	// IssueApproval signs an entry approval; it expires at the
	// approval's ValidUntil.
	IssueApproval(ctx context.Context, a *approval.Approval, issuedAt time.Time) (hc1 string, err error)
	// IssueTestResult signs a DCC test certificate on behalf of the lab
	// organisation labOrgID.
	IssueTestResult(ctx context.Context, labOrgID string, p *dcc.Payload, issuedAt, expiresAt time.Time) (hc1 string, err error)
}

// Signer is one document signer: its key identifier (the first 8 bytes of
// the SHA-256 of its certificate) and its private key.
type Signer struct {
	Kid []byte
	Key crypto.Signer
}

// SigningIssuer signs with keys it is given: the authority's for
// approvals, and one per lab, looked up by the lab's organisation id.
type SigningIssuer struct {
	Country   string // CWT issuer of approvals: this node's country
	Authority Signer
	Lab       func(labOrgID string) (Signer, error)
}

// IssueApproval implements Issuer.
func (s *SigningIssuer) IssueApproval(_ context.Context, a *approval.Approval, issuedAt time.Time) (string, error) {
	_, until, err := a.Window()
	if err != nil {
		return "", err
	}
	claim, err := approval.Marshal(a)
	if err != nil {
		return "", err
	}
	return hcert.Encode(hcert.Claims{Issuer: s.Country, IssuedAt: issuedAt, ExpiresAt: until, Approval: claim}, s.Authority.Kid, s.Authority.Key)
}

// IssueTestResult implements Issuer.
func (s *SigningIssuer) IssueTestResult(_ context.Context, labOrgID string, p *dcc.Payload, issuedAt, expiresAt time.Time) (string, error) {
	if s.Lab == nil {
		return "", errors.New("issuer: no lab signers configured")
	}
	signer, err := s.Lab(labOrgID)
	if err != nil {
		return "", fmt.Errorf("issuer: lab %s: %w", labOrgID, err)
	}
	if len(p.T) != 1 {
		return "", errors.New("issuer: a test certificate holds exactly one test")
	}
	payload, err := dcc.EncodeCBOR(p)
	if err != nil {
		return "", err
	}
	return hcert.Encode(hcert.Claims{Issuer: p.T[0].Co, IssuedAt: issuedAt, ExpiresAt: expiresAt, HCert: payload}, signer.Kid, signer.Key)
}
