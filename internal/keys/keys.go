// Package keys creates and stores a node's signing keys: its country
// signing CA (CSCA) and the document signers (DSCs) it issues, one for the
// approving authority and one per lab. It is the only package that
// touches private keys on disk; docs/keys.md describes the folder.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/corridorlane/corridor/internal/trust"
)

// SignerKind says what a document signer is for.
type SignerKind = trust.SignerKind

// Signer kinds: an authority signs entry approvals, a lab signs test
// results.
const (
	Authority = trust.SignerAuthority
	Lab       = trust.SignerLab
)

// AuthorityName names the authority signer Init creates.
const AuthorityName = "authority"

// Default lifetimes. A CSCA outlives the DSCs it issues many times over,
// so a DSC can be replaced without every peer re-pinning the CSCA.
const (
	DefaultCSCAYears   = 10
	DefaultSignerYears = 2
)

// Options tune Init and AddSigner. The zero value is the defaults.
type Options struct {
	Now            time.Time     // creation time; zero means time.Now()
	CSCAValidity   time.Duration // zero means DefaultCSCAYears
	SignerValidity time.Duration // zero means DefaultSignerYears
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// backdate covers clock skew between the signing node and its verifiers,
// so a freshly made certificate is not "not yet valid" on a slow clock.
const backdate = time.Hour

// Signer is one document signer with its private key.
type Signer struct {
	Name string
	Kind SignerKind
	Key  crypto.Signer
	Cert *x509.Certificate
	Kid  []byte
}

// Set is a node's key material as read from its folder.
type Set struct {
	Dir     string
	Country string
	CSCA    *x509.Certificate
	cscaKey crypto.Signer
	signers map[string]*Signer
}

// Errors matched by this package's refusals.
var (
	ErrExists   = errors.New("key material already exists")
	ErrNoSigner = errors.New("no such signer")
	ErrInvalid  = errors.New("invalid key material")
)

// CSCAKey returns the CSCA's private key, which signs DSCs, trust lists
// and revocation lists.
func (s *Set) CSCAKey() crypto.Signer { return s.cscaKey }

// Signer returns a document signer's key, certificate and kid.
func (s *Set) Signer(name string) (crypto.Signer, *x509.Certificate, []byte, error) {
	sg, ok := s.signers[name]
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: %q in %s (have %v)", ErrNoSigner, name, s.Dir, s.Names())
	}
	return sg.Key, sg.Cert, slices.Clone(sg.Kid), nil
}

// Names lists the signers, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.signers))
	for n := range s.signers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Signers returns the signers, sorted by name.
func (s *Set) Signers() []*Signer {
	out := make([]*Signer, 0, len(s.signers))
	for _, n := range s.Names() {
		out = append(out, s.signers[n])
	}
	return out
}

// TrustList describes the set as a trust list, ready for trust.SignList
// with CSCAKey.
func (s *Set) TrustList(sequence uint64, issuedAt, nextUpdate time.Time) *trust.List {
	l := &trust.List{Country: s.Country, Sequence: sequence, IssuedAt: issuedAt, NextUpdate: nextUpdate, CSCA: s.CSCA}
	for _, sg := range s.Signers() {
		l.Entries = append(l.Entries, trust.ListEntry{Kid: slices.Clone(sg.Kid), Name: sg.Name, Kind: sg.Kind, Cert: sg.Cert})
	}
	return l
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a P-256 key: %w", err)
	}
	return k, nil
}

// serialNumber is 127 random bits: unique without a counter to keep, and
// positive as RFC 5280 requires.
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func createCSCA(country string, key *ecdsa.PrivateKey, opts Options) (*x509.Certificate, error) {
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := opts.now()
	notAfter := now.AddDate(DefaultCSCAYears, 0, 0)
	if opts.CSCAValidity > 0 {
		notAfter = now.Add(opts.CSCAValidity)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Country: []string{country}, CommonName: "Corridor CSCA " + country},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	return sign(tmpl, tmpl, key.Public(), key)
}

// signerUsages are the extended key usages per kind. A lab DSC names the
// DCC test OID in both spellings in use, so verifiers that know only one
// of them still restrict it to test results.
var signerUsages = map[SignerKind][]asn1.ObjectIdentifier{
	Authority: {trust.OIDEntryApproval},
	Lab:       {trust.OIDDCCTest, trust.OIDDCCTestLegacy},
}

func createDSC(name string, kind SignerKind, csca *x509.Certificate, cscaKey crypto.Signer, key *ecdsa.PrivateKey, opts Options) (*x509.Certificate, error) {
	now := opts.now()
	if now.After(csca.NotAfter) {
		return nil, fmt.Errorf("the CSCA expired on %s: make a new key set", csca.NotAfter.Format(time.DateOnly))
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	notAfter := now.AddDate(DefaultSignerYears, 0, 0)
	if opts.SignerValidity > 0 {
		notAfter = now.Add(opts.SignerValidity)
	}
	// A DSC cannot outlive the CSCA that vouches for it.
	if notAfter.After(csca.NotAfter) {
		notAfter = csca.NotAfter
	}
	notBefore := now.Add(-backdate)
	if notBefore.Before(csca.NotBefore) {
		notBefore = csca.NotBefore
	}
	country := csca.Subject.Country[0]
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{Country: []string{country}, CommonName: fmt.Sprintf("Corridor DSC %s %s", name, country)},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage: signerUsages[kind],
	}
	return sign(tmpl, csca, key.Public(), cscaKey)
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// kindOf reads a DSC's kind back from its extended key usage.
func kindOf(cert *x509.Certificate) (SignerKind, error) {
	switch kinds := trust.DeclaredKinds(cert); {
	case slices.Equal(kinds, []string{trust.KindApproval}):
		return Authority, nil
	case slices.Equal(kinds, []string{trust.KindTest}):
		return Lab, nil
	default:
		return "", fmt.Errorf("its key usage names %v, not what an authority or a lab signer carries", kinds)
	}
}
