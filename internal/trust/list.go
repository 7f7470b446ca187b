package trust

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TrustListType is the DSSE payload type of a Corridor trust list.
const TrustListType = "application/vnd.corridor.trust-list.v1+json"

// SignerKind says what a Corridor document signer is for.
type SignerKind string

// The kinds of Corridor signer. An authority signs entry approvals, a lab
// signs test results.
const (
	SignerAuthority SignerKind = "authority"
	SignerLab       SignerKind = "lab"
)

// Valid reports whether k is a known signer kind.
func (k SignerKind) Valid() bool { return k == SignerAuthority || k == SignerLab }

// ValidSignerName reports whether name can name a signer: 1 to 32 of
// [a-z0-9-], not starting or ending with '-', so it is safe as a file name
// and in a URL.
func ValidSignerName(name string) bool {
	if len(name) == 0 || len(name) > 32 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// List is a Corridor node's trust list: its CSCA and the DSCs it issued.
type List struct {
	Country    string
	Sequence   uint64 // grows with every list the node publishes
	IssuedAt   time.Time
	NextUpdate time.Time
	CSCA       *x509.Certificate
	Entries    []ListEntry

	// AnchorPinned is set by VerifyList: true when the list was checked
	// against a CSCA the caller pinned, false when the list's own CSCA was
	// taken as the anchor because none was pinned.
	AnchorPinned bool
}

// ListEntry is one document signer in a List.
type ListEntry struct {
	Kid  []byte
	Name string
	Kind SignerKind
	Cert *x509.Certificate
}

// Stale reports whether the list is past its next-update time.
func (l *List) Stale(at time.Time) bool { return at.After(l.NextUpdate) }

// Errors matched by VerifyList's refusals, beside ErrEnvelope,
// ErrBadSignature, ErrNoChain and ErrKidCert.
var (
	ErrWrongSigner = errors.New("trust list is not signed by the pinned CSCA")
	ErrBadList     = errors.New("trust list is malformed")
)

type listJSON struct {
	Country    string          `json:"country"`
	Sequence   uint64          `json:"sequence"`
	IssuedAt   time.Time       `json:"issuedAt"`
	NextUpdate time.Time       `json:"nextUpdate"`
	CSCA       []byte          `json:"csca"`
	Signers    []listEntryJSON `json:"signers"`
}

type listEntryJSON struct {
	Kid         []byte     `json:"kid"`
	Name        string     `json:"name"`
	Kind        SignerKind `json:"kind"`
	Certificate []byte     `json:"certificate"`
}

// SignList checks l and signs it with the CSCA's key, returning the signed
// envelope. l.CSCA must be the certificate of key.
func SignList(l *List, key crypto.Signer) ([]byte, error) {
	if l == nil || l.CSCA == nil {
		return nil, errors.New("sign trust list: the list needs its CSCA certificate")
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("sign trust list: %w", err)
	}
	doc := listJSON{
		Country:    l.Country,
		Sequence:   l.Sequence,
		IssuedAt:   l.IssuedAt.UTC().Truncate(time.Second),
		NextUpdate: l.NextUpdate.UTC().Truncate(time.Second),
		CSCA:       l.CSCA.Raw,
		Signers:    make([]listEntryJSON, 0, len(l.Entries)),
	}
	for _, e := range l.Entries {
		doc.Signers = append(doc.Signers, listEntryJSON{Kid: e.Kid, Name: e.Name, Kind: e.Kind, Certificate: e.Cert.Raw})
	}
	payload, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sign trust list: %w", err)
	}
	out, err := SealEnvelope(TrustListType, payload, l.CSCA, key)
	if err != nil {
		return nil, fmt.Errorf("sign trust list: %w", err)
	}
	return out, nil
}

// VerifyList reads a signed Corridor trust list and refuses it unless its
// signature verifies, its signer is the pinned CSCA, and every entry was
// issued by that CSCA under the kid it is listed with.
//
// With no CSCA pinned (nil), the list's own CSCA is used as the anchor,
// but only after the signature checks out against it; the result then has
// AnchorPinned false, and the caller should say so.
func VerifyList(data []byte, pinned *x509.Certificate) (*List, error) {
	env, err := ParseEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("trust list: %w", err)
	}
	if env.PayloadType != TrustListType {
		return nil, fmt.Errorf("trust list: %w: the envelope holds %q, not %q", ErrBadList, env.PayloadType, TrustListType)
	}
	var l *List
	if pinned != nil {
		if err := env.VerifyWith(pinned); err != nil {
			return nil, fmt.Errorf("trust list: %w", explainSignatureFailure(env, pinned, err))
		}
		if l, err = parseListPayload(env.Payload); err != nil {
			return nil, fmt.Errorf("trust list: %w", err)
		}
		if !l.CSCA.Equal(pinned) {
			return nil, fmt.Errorf("trust list: %w: it is signed with the pinned CSCA's key but names another CSCA (%s, kid %s) as its anchor",
				ErrWrongSigner, l.CSCA.Subject, KidString(Kid(l.CSCA.Raw)))
		}
	} else {
		if l, err = parseListPayload(env.Payload); err != nil {
			return nil, fmt.Errorf("trust list: %w", err)
		}
		if err := env.VerifyWith(l.CSCA); err != nil {
			return nil, fmt.Errorf("trust list: %w: the list was altered after signing, or signed with a key other than its CSCA's", err)
		}
		if err := l.CSCA.CheckSignatureFrom(l.CSCA); err != nil {
			return nil, fmt.Errorf("trust list: %w: its CSCA %s is not self-signed: %w", ErrBadList, l.CSCA.Subject, err)
		}
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("trust list: %w", err)
	}
	l.AnchorPinned = pinned != nil
	return l, nil
}

// explainSignatureFailure tells a list signed by another CSCA apart from
// one altered after signing. It reads the unauthenticated payload and key
// id only to word the refusal; the list is refused either way. "Signed by
// another CSCA" needs a consistent story: the payload names a CSCA other
// than the pinned one, and the envelope's key id (if any) is that CSCA's.
func explainSignatureFailure(env *Envelope, pinned *x509.Certificate, err error) error {
	if !errors.Is(err, ErrBadSignature) {
		return err // the pinned key itself is unusable; nothing to explain
	}
	l, perr := parseListPayload(env.Payload)
	if perr == nil && !l.CSCA.Equal(pinned) {
		named := Kid(l.CSCA.Raw)
		if len(env.KeyID) == 0 || bytes.Equal(env.KeyID, named) {
			return fmt.Errorf("%w: it is signed by CSCA %s (kid %s), but the pinned CSCA is %s (kid %s)",
				ErrWrongSigner, l.CSCA.Subject, KidString(named), pinned.Subject, KidString(Kid(pinned.Raw)))
		}
	}
	return fmt.Errorf("%w: the list was altered after signing, or signed with another key", err)
}

func parseListPayload(payload []byte) (*List, error) {
	var doc listJSON
	if err := decodeStrict(payload, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadList, err)
	}
	if len(doc.CSCA) == 0 {
		return nil, fmt.Errorf("%w: the CSCA certificate is missing", ErrBadList)
	}
	csca, err := x509.ParseCertificate(doc.CSCA)
	if err != nil {
		return nil, fmt.Errorf("%w: the CSCA certificate: %w", ErrBadList, err)
	}
	l := &List{
		Country:    doc.Country,
		Sequence:   doc.Sequence,
		IssuedAt:   doc.IssuedAt,
		NextUpdate: doc.NextUpdate,
		CSCA:       csca,
		Entries:    make([]ListEntry, 0, len(doc.Signers)),
	}
	for i, e := range doc.Signers {
		cert, err := x509.ParseCertificate(e.Certificate)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (%q): certificate: %w", ErrBadList, i+1, e.Name, err)
		}
		l.Entries = append(l.Entries, ListEntry{Kid: e.Kid, Name: e.Name, Kind: e.Kind, Cert: cert})
	}
	return l, nil
}

// check enforces what both signing and verifying require of a list.
func (l *List) check() error {
	if !ValidCountry(l.Country) {
		return fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code", ErrBadList, l.Country)
	}
	if l.IssuedAt.IsZero() || !l.NextUpdate.After(l.IssuedAt) {
		return fmt.Errorf("%w: next update (%s) must come after issue (%s)", ErrBadList,
			l.NextUpdate.Format(time.RFC3339), l.IssuedAt.Format(time.RFC3339))
	}
	if !l.CSCA.BasicConstraintsValid || !l.CSCA.IsCA {
		return fmt.Errorf("%w: %w: %s", ErrBadList, ErrNotCA, l.CSCA.Subject)
	}
	if c := l.CSCA.Subject.Country; len(c) > 0 && c[0] != l.Country {
		return fmt.Errorf("%w: the list is for %s, but its CSCA is for %s", ErrBadList, l.Country, c[0])
	}
	names := make(map[string]bool, len(l.Entries))
	kids := make(map[string]bool, len(l.Entries))
	for i, e := range l.Entries {
		where := fmt.Sprintf("entry %d (%q, kid %s)", i+1, e.Name, KidString(e.Kid))
		if e.Cert == nil {
			return fmt.Errorf("%w: %s has no certificate", ErrBadList, where)
		}
		if !ValidSignerName(e.Name) {
			return fmt.Errorf("%w: %s: the name must be 1 to 32 of a-z, 0-9 and '-'", ErrBadList, where)
		}
		if !e.Kind.Valid() {
			return fmt.Errorf("%w: %s: unknown kind %q, want %q or %q", ErrBadList, where, e.Kind, SignerAuthority, SignerLab)
		}
		if want := Kid(e.Cert.Raw); !bytes.Equal(e.Kid, want) {
			return fmt.Errorf("%w: %s: its certificate has kid %s", ErrKidCert, where, KidString(want))
		}
		if names[e.Name] || kids[string(e.Kid)] {
			return fmt.Errorf("%w: %s is listed twice", ErrBadList, where)
		}
		names[e.Name], kids[string(e.Kid)] = true, true
		if err := issuedBy(e.Cert, l.CSCA); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNoChain, where, err)
		}
	}
	return nil
}

// issuedBy checks that cert was issued by ca: names chain and ca's key
// signed it. Validity in time is the Store's concern, at the time it adds.
func issuedBy(cert, ca *x509.Certificate) error {
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return fmt.Errorf("it was issued by %s, not by the list's CSCA %s", cert.Issuer, ca.Subject)
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("the CSCA %s did not sign it: %w", ca.Subject, err)
	}
	return nil
}
