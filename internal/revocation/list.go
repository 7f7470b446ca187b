package revocation

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/corridorlane/corridor/internal/trust"
)

// ListType is the DSSE payload type of a Corridor revocation list.
const ListType = "application/vnd.corridor.revocation-list.v1+json"

// Entry is one revoked hash. As in the EU specification, an entry may be
// scoped to the DSC (by kid) whose credentials it revokes; an entry with
// no kid revokes a matching credential whoever signed it, which is what a
// node needs to revoke its own credentials by UVCI.
type Entry struct {
	Kid  []byte // nil: any signer
	Type HashType
	Hash [HashLen]byte
}

type hashKey struct {
	t HashType
	h [HashLen]byte
}

// List is a node's revocation list: a set of hashes, looked up in constant
// time. Build it with Add (not safe for concurrent use); once built, or as
// returned by Verify, it is safe for concurrent reads. The zero List is
// empty and ready to use.
type List struct {
	Country    string
	Sequence   uint64 // grows with every list the node publishes
	IssuedAt   time.Time
	NextUpdate time.Time

	global map[hashKey]struct{}
	byKid  map[string]map[hashKey]struct{}
	n      int
}

// ErrBadEntry is matched by refusals of malformed entries.
var ErrBadEntry = errors.New("invalid revocation entry")

// Add puts an entry on the list; adding it twice changes nothing.
func (l *List) Add(e Entry) error {
	if !e.Type.valid() {
		return fmt.Errorf("%w: %v", ErrBadEntry, e.Type)
	}
	if e.Kid != nil && len(e.Kid) != trust.KidLen {
		return fmt.Errorf("%w: kid %x is %d bytes, want %d", ErrBadEntry, e.Kid, len(e.Kid), trust.KidLen)
	}
	set := l.global
	if e.Kid != nil {
		if l.byKid == nil {
			l.byKid = make(map[string]map[hashKey]struct{})
		}
		if set = l.byKid[string(e.Kid)]; set == nil {
			set = make(map[hashKey]struct{})
			l.byKid[string(e.Kid)] = set
		}
	} else if set == nil {
		l.global = make(map[hashKey]struct{})
		set = l.global
	}
	k := hashKey{e.Type, e.Hash}
	if _, dup := set[k]; !dup {
		set[k] = struct{}{}
		l.n++
	}
	return nil
}

// Len is the number of entries.
func (l *List) Len() int { return l.n }

// Contains reports whether hash h of type t is revoked for credentials
// signed by the DSC with the given kid (or for any signer).
func (l *List) Contains(kid []byte, t HashType, h [HashLen]byte) bool {
	k := hashKey{t, h}
	if _, ok := l.global[k]; ok {
		return true
	}
	_, ok := l.byKid[string(kid)][k]
	return ok
}

// IsRevoked checks a credential's hashes (from Hashes) and the kid of the
// DSC that signed it, and names the first hash type that matched.
func (l *List) IsRevoked(kid []byte, hashes map[HashType][HashLen]byte) (bool, HashType) {
	for _, t := range hashTypes {
		if h, ok := hashes[t]; ok && l.Contains(kid, t, h) {
			return true, t
		}
	}
	return false, 0
}

// Entries returns the entries in a fixed order: unscoped first, then by
// kid, type and hash.
func (l *List) Entries() []Entry {
	out := make([]Entry, 0, l.n)
	for k := range l.global {
		out = append(out, Entry{Type: k.t, Hash: k.h})
	}
	for kid, set := range l.byKid {
		for k := range set {
			out = append(out, Entry{Kid: []byte(kid), Type: k.t, Hash: k.h})
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := bytes.Compare(a.Kid, b.Kid); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return bytes.Compare(a.Hash[:], b.Hash[:])
	})
	return out
}

// The payload groups entries in batches of one kid and hash type, as the
// EU revocation API does, which keeps the file small.
type listJSON struct {
	Country    string      `json:"country"`
	Sequence   uint64      `json:"sequence"`
	IssuedAt   time.Time   `json:"issuedAt"`
	NextUpdate time.Time   `json:"nextUpdate"`
	Batches    []batchJSON `json:"batches"`
}

type batchJSON struct {
	Kid      []byte   `json:"kid,omitempty"`
	HashType string   `json:"hashType"`
	Hashes   [][]byte `json:"hashes"`
}

// Errors matched by Verify's refusals, beside trust.ErrEnvelope and
// trust.ErrBadSignature.
var (
	ErrBadList     = errors.New("revocation list is malformed")
	ErrWrongSigner = errors.New("revocation list is not signed by the pinned CSCA")
	ErrNoPin       = errors.New("no CSCA pinned to check the revocation list against")
)

func (l *List) checkHeader() error {
	if !trust.ValidCountry(l.Country) {
		return fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code", ErrBadList, l.Country)
	}
	if l.IssuedAt.IsZero() || !l.NextUpdate.After(l.IssuedAt) {
		return fmt.Errorf("%w: next update (%s) must come after issue (%s)", ErrBadList,
			l.NextUpdate.Format(time.RFC3339), l.IssuedAt.Format(time.RFC3339))
	}
	return nil
}

func checkCountry(l *List, csca *x509.Certificate) error {
	if c := csca.Subject.Country; len(c) > 0 && c[0] != l.Country {
		return fmt.Errorf("%w: the list is for %s, but its CSCA is for %s", ErrBadList, l.Country, c[0])
	}
	return nil
}

// Sign signs l with the CSCA's key and returns the signed envelope.
func Sign(l *List, csca *x509.Certificate, key crypto.Signer) ([]byte, error) {
	if l == nil || csca == nil {
		return nil, errors.New("sign revocation list: a list and the CSCA certificate are needed")
	}
	if err := l.checkHeader(); err != nil {
		return nil, fmt.Errorf("sign revocation list: %w", err)
	}
	if err := checkCountry(l, csca); err != nil {
		return nil, fmt.Errorf("sign revocation list: %w", err)
	}
	doc := listJSON{
		Country:    l.Country,
		Sequence:   l.Sequence,
		IssuedAt:   l.IssuedAt.UTC().Truncate(time.Second),
		NextUpdate: l.NextUpdate.UTC().Truncate(time.Second),
		Batches:    []batchJSON{},
	}
	for _, e := range l.Entries() {
		n := len(doc.Batches)
		if n == 0 || !bytes.Equal(doc.Batches[n-1].Kid, e.Kid) || doc.Batches[n-1].HashType != e.Type.String() {
			doc.Batches = append(doc.Batches, batchJSON{Kid: e.Kid, HashType: e.Type.String()})
			n++
		}
		doc.Batches[n-1].Hashes = append(doc.Batches[n-1].Hashes, bytes.Clone(e.Hash[:]))
	}
	payload, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sign revocation list: %w", err)
	}
	out, err := trust.SealEnvelope(ListType, payload, csca, key)
	if err != nil {
		return nil, fmt.Errorf("sign revocation list: %w", err)
	}
	return out, nil
}

// Verify reads a signed revocation list and refuses it unless its
// signature verifies against the pinned CSCA. A revocation list can only
// take trust away, but an unchecked one would let anyone revoke anyone, so
// a pin is required: the CSCA of the node that published it.
func Verify(data []byte, pinned *x509.Certificate) (*List, error) {
	if pinned == nil {
		return nil, fmt.Errorf("revocation list: %w", ErrNoPin)
	}
	env, err := trust.ParseEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	if env.PayloadType != ListType {
		return nil, fmt.Errorf("revocation list: %w: the envelope holds %q, not %q", ErrBadList, env.PayloadType, ListType)
	}
	if err := env.VerifyWith(pinned); err != nil {
		if !errors.Is(err, trust.ErrBadSignature) {
			return nil, fmt.Errorf("revocation list: %w", err)
		}
		pinnedKid := trust.Kid(pinned.Raw)
		if len(env.KeyID) > 0 && !bytes.Equal(env.KeyID, pinnedKid) {
			return nil, fmt.Errorf("revocation list: %w: it was signed by the CSCA with kid %s, but the pinned CSCA is %s (kid %s)",
				ErrWrongSigner, trust.KidString(env.KeyID), pinned.Subject, trust.KidString(pinnedKid))
		}
		return nil, fmt.Errorf("revocation list: %w: the list was altered after signing, or signed with another key", err)
	}
	l, err := parsePayload(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	if err := checkCountry(l, pinned); err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	return l, nil
}

func parsePayload(payload []byte) (*List, error) {
	var doc listJSON
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadList, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON document", ErrBadList)
	}
	l := &List{Country: doc.Country, Sequence: doc.Sequence, IssuedAt: doc.IssuedAt, NextUpdate: doc.NextUpdate}
	if err := l.checkHeader(); err != nil {
		return nil, err
	}
	for i, b := range doc.Batches {
		t, err := ParseHashType(b.HashType)
		if err != nil {
			return nil, fmt.Errorf("%w: batch %d: %w", ErrBadList, i+1, err)
		}
		for j, h := range b.Hashes {
			if len(h) != HashLen {
				return nil, fmt.Errorf("%w: batch %d, hash %d is %d bytes, want %d", ErrBadList, i+1, j+1, len(h), HashLen)
			}
			if err := l.Add(Entry{Kid: b.Kid, Type: t, Hash: [HashLen]byte(h)}); err != nil {
				return nil, fmt.Errorf("%w: batch %d: %w", ErrBadList, i+1, err)
			}
		}
	}
	return l, nil
}
