package trust

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Store is an in-memory set of trusted CSCAs (anchors) and signers.
//
// Reads never lock: writers build a new snapshot and publish it with one
// atomic store, so Lookup on the verify path costs a pointer load and a map
// probe, and concurrent verifiers never contend. Writes are rare (a trust
// list update) and serialised; each costs a copy of the index, which is why
// the loaders apply a whole file as one write. The zero Store is empty and
// ready to use.
type Store struct {
	mu   sync.Mutex // serialises writers; readers never take it
	snap atomic.Pointer[snapshot]
}

// snapshot is never changed once published; writers change a clone.
type snapshot struct {
	byKid   map[string][]*Signer // each slice clipped: appends by callers reallocate
	signers []*Signer            // in the order added
	anchors []*x509.Certificate
	pool    *x509.CertPool
}

var emptySnapshot = &snapshot{byKid: map[string][]*Signer{}, pool: x509.NewCertPool()}

// Errors matched by the Store's refusals.
var (
	ErrNotCA    = errors.New("certificate is not a CA certificate")
	ErrNoChain  = errors.New("signer does not chain to a trusted CSCA")
	ErrKidCert  = errors.New("kid does not match the certificate")
	ErrNoKey    = errors.New("signer has no public key")
	ErrNoAnchor = errors.New("no CSCA is trusted")
)

func (s *Store) current() *snapshot {
	if p := s.snap.Load(); p != nil {
		return p
	}
	return emptySnapshot
}

func (sn *snapshot) clone() *snapshot {
	c := &snapshot{
		byKid:   make(map[string][]*Signer, len(sn.byKid)+1),
		signers: slices.Clip(sn.signers),
		anchors: slices.Clip(sn.anchors),
		pool:    sn.pool.Clone(),
	}
	maps.Copy(c.byKid, sn.byKid)
	return c
}

// edit applies fn to a private copy of the current snapshot and publishes
// the copy only if fn succeeds, so a write is all or nothing.
func (s *Store) edit(fn func(*snapshot) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.current().clone()
	if err := fn(next); err != nil {
		return err
	}
	s.snap.Store(next)
	return nil
}

// Lookup returns the signers known under kid, or nil. It does not allocate.
// The result is shared and must be treated as read-only; a kid may name
// several signers (kids are short), and the verifier tries each.
func (s *Store) Lookup(kid []byte) []*Signer {
	return s.current().byKid[string(kid)]
}

// Signers returns every trusted signer, in the order added.
func (s *Store) Signers() []*Signer {
	return slices.Clone(s.current().signers)
}

// Anchors returns the trusted CSCAs, in the order added.
func (s *Store) Anchors() []*x509.Certificate {
	return slices.Clone(s.current().anchors)
}

// Len is the number of trusted signers.
func (s *Store) Len() int {
	return len(s.current().signers)
}

// AddAnchor trusts a CSCA: DSCs it issued can then be added with AddDSC.
// Adding an anchor that is already trusted does nothing.
func (s *Store) AddAnchor(csca *x509.Certificate) error {
	return s.edit(func(sn *snapshot) error { return sn.addAnchor(csca) })
}

// AddDSC trusts a document signer because its certificate chains to a
// trusted CSCA and is within its validity period at the given time. Any
// extended key usage is accepted here; CheckKeyUsage decides per payload.
// Adding a signer that is already trusted does nothing.
func (s *Store) AddDSC(sg *Signer, at time.Time) error {
	return s.edit(func(sn *snapshot) error {
		_, err := sn.addDSC(sg, at)
		return err
	})
}

// AddDirect trusts a signer as given, without a CSCA: a certificate the
// operator pinned, or a bare key. Its validity is left to the verifier
// (CheckValidity at verification time). Adding a signer that is already
// trusted does nothing.
func (s *Store) AddDirect(sg *Signer) error {
	return s.edit(func(sn *snapshot) error {
		_, err := sn.addDirect(sg)
		return err
	})
}

func (sn *snapshot) addAnchor(csca *x509.Certificate) error {
	if csca == nil {
		return fmt.Errorf("%w: no certificate given", ErrNotCA)
	}
	if !csca.BasicConstraintsValid || !csca.IsCA {
		return fmt.Errorf("%w: %s cannot be a trust anchor", ErrNotCA, csca.Subject)
	}
	for _, a := range sn.anchors {
		if a.Equal(csca) {
			return nil
		}
	}
	sn.anchors = append(sn.anchors, csca)
	sn.pool.AddCert(csca)
	return nil
}

func (sn *snapshot) addDSC(sg *Signer, at time.Time) (*Signer, error) {
	if sg == nil || sg.Cert == nil {
		return nil, fmt.Errorf("%w: a signer added through a CSCA needs its certificate", ErrNoChain)
	}
	if err := checkSignerKid(sg); err != nil {
		return nil, err
	}
	if err := checkCertValidity(sg.Cert, at); err != nil {
		return nil, err
	}
	if len(sn.anchors) == 0 {
		return nil, fmt.Errorf("%w: %w, so signer %s cannot be checked", ErrNoChain, ErrNoAnchor, KidString(sg.Kid))
	}
	_, err := sg.Cert.Verify(x509.VerifyOptions{
		Roots:       sn.pool,
		CurrentTime: at,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: signer %s (%s): %w", ErrNoChain, KidString(sg.Kid), sg.Cert.Subject, err)
	}
	return sn.insert(sg), nil
}

func (sn *snapshot) addDirect(sg *Signer) (*Signer, error) {
	if sg == nil {
		return nil, fmt.Errorf("%w: no signer given", ErrNoKey)
	}
	if sg.Cert == nil && sg.PublicKey == nil {
		return nil, fmt.Errorf("%w: signer %s has neither a certificate nor a key", ErrNoKey, KidString(sg.Kid))
	}
	if len(sg.Kid) == 0 {
		return nil, fmt.Errorf("%w: the signer has no kid", ErrKidCert)
	}
	if sg.Cert != nil {
		if err := checkSignerKid(sg); err != nil {
			return nil, err
		}
	}
	return sn.insert(sg), nil
}

func checkSignerKid(sg *Signer) error {
	if want := Kid(sg.Cert.Raw); !bytes.Equal(sg.Kid, want) {
		return fmt.Errorf("%w: signer says kid %s, its certificate (%s) has kid %s",
			ErrKidCert, KidString(sg.Kid), sg.Cert.Subject, KidString(want))
	}
	return nil
}

// insert stores a copy of sg, so a caller changing its value afterwards
// cannot change what the store trusts, and returns the stored signer (an
// earlier one if sg was already trusted).
func (sn *snapshot) insert(sg *Signer) *Signer {
	cp := *sg
	cp.Kid = bytes.Clone(sg.Kid)
	if cp.Cert != nil {
		cp.PublicKey = cp.Cert.PublicKey
	}
	key := string(cp.Kid)
	existing := sn.byKid[key]
	for _, e := range existing {
		if sameSigner(e, &cp) {
			return e
		}
	}
	sn.byKid[key] = slices.Clip(append(existing, &cp))
	sn.signers = append(sn.signers, &cp)
	return &cp
}

func sameSigner(a, b *Signer) bool {
	if a.Cert != nil || b.Cert != nil {
		return a.Cert != nil && b.Cert != nil && a.Cert.Equal(b.Cert)
	}
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}
