// Package bundle makes and reads the offline bundle: everything a carrier
// or border officer needs to verify Corridor credentials without a network
// (the node's trust list, its revocation list, the corridor's entry rules
// and the DCC value sets, and its peer nodes' trust and revocation lists),
// in one document signed by the node's CSCA. docs/bundle.md describes the
// format.
//
// The trust list and the revocation list stay inside the bundle as the
// signed envelopes the node publishes anyway, so a verifier checks each
// with the code that checks it on its own; the bundle's own signature binds
// them to the rules and value sets of the same moment, so that no one can
// pair an old rule set with a new trust list. A peer's lists likewise stay
// as the peer signed them, beside the CSCA the node pinned for that peer:
// the bundle's signature vouches for the pin, and the peer's own signature
// for the lists.
package bundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/corridorlane/corridor/internal/certlogic"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
)

// PayloadType is the DSSE payload type of a bundle.
const PayloadType = "application/vnd.corridor.bundle.v1+json"

// Format names the layout of the payload, so that a later layout can be
// told apart before its fields are read. A bundle without peers keeps the
// first layout, which readers older than peers still read; one with peers
// is FormatPeers, which such readers refuse.
const Format = "corridor-bundle/1"

// FormatPeers is the layout with the peers' lists.
const FormatPeers = "corridor-bundle/2"

// MaxSize bounds a bundle read from a file or the network. A real one is
// tens of kilobytes; the EU value sets are the largest part.
const MaxSize = 8 << 20

// Policy identifies the corridor policy the rules come from.
type Policy struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Digest  string `json:"digest"` // SHA-256 of the policy document, hex
}

// Contents is what Seal puts in a bundle.
type Contents struct {
	Country    string // the node's ISO 3166-1 alpha-2 code
	IssuedAt   time.Time
	NextUpdate time.Time
	Policy     Policy
	// TrustList and RevocationList are the signed envelopes, as
	// trust.SignList and revocation.Sign make them.
	TrustList      []byte
	RevocationList []byte
	// EntryRules is the policy's entry_rules array, as written.
	EntryRules json.RawMessage
	// ValueSets may be nil when the node has none configured.
	ValueSets dcc.ValueSets
	// Peers are the peer nodes' lists, so that a verifier offline also
	// accepts the credentials their labs and authorities sign.
	Peers []PeerLists
}

// PeerLists is one peer node's lists as this node keeps them: the CSCA
// this node pinned for the peer, and the peer's own signed lists, each
// verifiable against that CSCA.
type PeerLists struct {
	Country        string
	CSCA           *x509.Certificate
	TrustList      []byte // trust.SignList's envelope, as the peer sent it
	RevocationList []byte // revocation.Sign's envelope; nil when none came
}

// Peer is a peer's verified lists in a bundle.
type Peer struct {
	Country    string
	CSCA       *x509.Certificate
	TrustList  *trust.List
	Revocation *revocation.List // nil when the bundle carries none

	trustListRaw []byte
}

// Bundle is a verified bundle.
type Bundle struct {
	Country    string
	IssuedAt   time.Time
	NextUpdate time.Time
	Policy     Policy
	CSCA       *x509.Certificate
	TrustList  *trust.List
	Revocation *revocation.List
	Rules      []certlogic.Rule
	ValueSets  dcc.ValueSets
	// AnchorPinned is false when no CSCA was pinned and the bundle's own
	// (self-signed) CSCA was taken as the anchor: the caller should say
	// so, because anyone can make such a bundle.
	AnchorPinned bool
	// Peers are the peer nodes' lists the bundle carries.
	Peers []Peer

	trustListRaw []byte // the signed trust list, for trust.Store.Load
}

type payloadJSON struct {
	Format         string          `json:"format"`
	Country        string          `json:"country"`
	IssuedAt       time.Time       `json:"issuedAt"`
	NextUpdate     time.Time       `json:"nextUpdate"`
	Policy         Policy          `json:"policy"`
	TrustList      json.RawMessage `json:"trustList"`
	RevocationList json.RawMessage `json:"revocationList"`
	EntryRules     json.RawMessage `json:"entryRules"`
	ValueSets      dcc.ValueSets   `json:"valueSets"`
	Peers          []peerJSON      `json:"peers,omitempty"` // FormatPeers only
}

type peerJSON struct {
	Country        string          `json:"country"`
	CSCA           []byte          `json:"csca"` // DER, base64 in JSON
	TrustList      json.RawMessage `json:"trustList"`
	RevocationList json.RawMessage `json:"revocationList,omitempty"`
}

// Errors matched by LoadBundle's refusals, beside those of trust and
// revocation.
var (
	ErrBadBundle   = errors.New("bundle is malformed")
	ErrWrongSigner = errors.New("bundle is not signed by the pinned CSCA, or was altered after signing")
)

// Seal checks c and signs it with the node's CSCA, returning the bundle.
func Seal(c Contents, csca *x509.Certificate, key crypto.Signer) ([]byte, error) {
	if csca == nil || key == nil {
		return nil, errors.New("seal bundle: the CSCA certificate and its key are needed")
	}
	if !trust.ValidCountry(c.Country) {
		return nil, fmt.Errorf("seal bundle: country %q is not an ISO 3166-1 alpha-2 code", c.Country)
	}
	if c.IssuedAt.IsZero() || !c.NextUpdate.After(c.IssuedAt) {
		return nil, errors.New("seal bundle: the next update must come after the issue time")
	}
	if !json.Valid(c.TrustList) || !json.Valid(c.RevocationList) {
		return nil, errors.New("seal bundle: the trust list and the revocation list must be signed JSON envelopes")
	}
	// What goes in must load back: a node never publishes a bundle that
	// its own verifiers would refuse.
	if _, err := trust.VerifyList(c.TrustList, csca); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	if _, err := revocation.Verify(c.RevocationList, csca); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	rules := c.EntryRules
	if len(rules) == 0 {
		rules = json.RawMessage("[]")
	}
	if _, err := certlogic.LoadRules(rules); err != nil {
		return nil, fmt.Errorf("seal bundle: entry rules: %w", err)
	}
	vs := c.ValueSets
	if vs == nil {
		vs = dcc.ValueSets{}
	}
	format := Format
	var peers []peerJSON
	for _, pl := range c.Peers {
		if pl.CSCA == nil {
			return nil, fmt.Errorf("seal bundle: peer %s: the CSCA pinned for it is needed", pl.Country)
		}
		pj := peerJSON{Country: pl.Country, CSCA: pl.CSCA.Raw, TrustList: pl.TrustList, RevocationList: pl.RevocationList}
		// What goes in must load back, here too.
		if _, err := loadPeer(pj, c.Country, peerCountries(peers)); err != nil {
			return nil, fmt.Errorf("seal bundle: %w", err)
		}
		peers = append(peers, pj)
		format = FormatPeers
	}
	payload, err := json.MarshalIndent(payloadJSON{
		Format: format, Country: c.Country,
		IssuedAt: c.IssuedAt.UTC().Truncate(time.Second), NextUpdate: c.NextUpdate.UTC().Truncate(time.Second),
		Policy: c.Policy, TrustList: c.TrustList, RevocationList: c.RevocationList, EntryRules: rules, ValueSets: vs,
		Peers: peers,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	out, err := trust.SealEnvelope(PayloadType, payload, csca, key)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	return out, nil
}

// LoadBundle reads a bundle and refuses it unless its signature verifies
// against the pinned CSCA and the trust list and revocation list inside
// are signed by that same CSCA. With no CSCA pinned (nil), the CSCA named
// by the trust list inside is the anchor, but only if it is self-signed
// and signed the bundle; the result then has AnchorPinned false.
func LoadBundle(data []byte, pinned *x509.Certificate) (*Bundle, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("bundle: %w: %d bytes, more than the %d a bundle may have", ErrBadBundle, len(data), MaxSize)
	}
	env, err := trust.ParseEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("bundle: %w: the envelope holds %q, not %q", ErrBadBundle, env.PayloadType, PayloadType)
	}
	// With a pin, the signature is checked before the payload is read at
	// all; without one, the anchor comes from inside what it is to vouch
	// for, so the payload is read first and every signature below must
	// hold against that anchor.
	anchor := pinned
	if pinned != nil {
		if err := env.VerifyWith(pinned); err != nil {
			if errors.Is(err, trust.ErrBadSignature) {
				return nil, fmt.Errorf("bundle: %w: %w", ErrWrongSigner, err)
			}
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}
	// The format is read first, so that a layout this reader does not
	// know is refused by name rather than by its first unknown field.
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(env.Payload, &head); err != nil {
		return nil, fmt.Errorf("bundle: %w: %w", ErrBadBundle, err)
	}
	if head.Format != Format && head.Format != FormatPeers {
		return nil, fmt.Errorf("bundle: %w: format %q, this verifier reads %q and %q", ErrBadBundle, head.Format, Format, FormatPeers)
	}
	var p payloadJSON
	if err := decodeStrict(env.Payload, &p); err != nil {
		return nil, fmt.Errorf("bundle: %w: %w", ErrBadBundle, err)
	}
	if p.Format == Format && p.Peers != nil {
		return nil, fmt.Errorf("bundle: %w: format %q carries no peers", ErrBadBundle, Format)
	}
	if pinned == nil {
		l, err := trust.VerifyList(p.TrustList, nil)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		anchor = l.CSCA
		if err := env.VerifyWith(anchor); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}
	b := &Bundle{Country: p.Country, IssuedAt: p.IssuedAt, NextUpdate: p.NextUpdate, Policy: p.Policy, CSCA: anchor,
		AnchorPinned: pinned != nil, ValueSets: p.ValueSets, trustListRaw: p.TrustList}
	if !trust.ValidCountry(b.Country) {
		return nil, fmt.Errorf("bundle: %w: country %q is not an ISO 3166-1 alpha-2 code", ErrBadBundle, b.Country)
	}
	if b.IssuedAt.IsZero() || !b.NextUpdate.After(b.IssuedAt) {
		return nil, fmt.Errorf("bundle: %w: the next update must come after the issue time", ErrBadBundle)
	}
	if b.TrustList, err = trust.VerifyList(p.TrustList, anchor); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if b.TrustList.Country != b.Country {
		return nil, fmt.Errorf("bundle: %w: the bundle is for %s but its trust list for %s", ErrBadBundle, b.Country, b.TrustList.Country)
	}
	if b.Revocation, err = revocation.Verify(p.RevocationList, anchor); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if b.Rules, err = certlogic.LoadRules(p.EntryRules); err != nil {
		return nil, fmt.Errorf("bundle: entry rules: %w", err)
	}
	for i, pj := range p.Peers {
		peer, err := loadPeer(pj, b.Country, peerCountries(p.Peers[:i]))
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		b.Peers = append(b.Peers, *peer)
	}
	// Rules look codes up in the value sets; keep them sorted, as
	// dcc.LoadValueSets does, whatever order the file had.
	for _, codes := range b.ValueSets {
		slices.Sort(codes)
	}
	return b, nil
}

// Stale tells whether the bundle is past its next update at t; a verifier
// should say so, and may still use it when no newer one can be had.
func (b *Bundle) Stale(t time.Time) bool { return t.After(b.NextUpdate) }

// Verifier returns a verifier over the bundle's contents, judging entry
// into country (and region, when rules are scoped to one): the node's
// signers and its peers', each anchored at its own CSCA, and every
// revocation the node and its peers published.
func (b *Bundle) Verifier(country, region string, at time.Time) (*verify.Verifier, error) {
	var st trust.Store
	if _, err := st.Load(b.trustListRaw, trust.LoadOptions{Pinned: b.CSCA, At: at}); err != nil {
		return nil, fmt.Errorf("bundle: loading its trust list: %w", err)
	}
	rev := b.Revocation
	if len(b.Peers) > 0 {
		rev = &revocation.List{Country: b.Revocation.Country, Sequence: b.Revocation.Sequence, IssuedAt: b.Revocation.IssuedAt,
			NextUpdate: b.Revocation.NextUpdate}
		lists := []*revocation.List{b.Revocation}
		for _, p := range b.Peers {
			if _, err := st.Load(p.trustListRaw, trust.LoadOptions{Pinned: p.CSCA, At: at, Source: "peer " + p.Country}); err != nil {
				return nil, fmt.Errorf("bundle: loading %s's trust list: %w", p.Country, err)
			}
			if p.Revocation != nil {
				lists = append(lists, p.Revocation)
			}
		}
		for _, l := range lists {
			for _, e := range l.Entries() {
				if err := rev.Add(e); err != nil {
					return nil, fmt.Errorf("bundle: %s's revocation list: %w", l.Country, err)
				}
			}
		}
	}
	return &verify.Verifier{Trust: &st, Revocation: rev, Rules: b.Rules, ValueSets: b.ValueSets,
		Country: country, Region: region}, nil
}

// loadPeer checks one peer's entry: a country other than the bundle's and
// the peers' before it, a CSCA of that country, and lists that verify
// against that CSCA.
func loadPeer(pj peerJSON, self string, seen []string) (*Peer, error) {
	switch {
	case !trust.ValidCountry(pj.Country):
		return nil, fmt.Errorf("%w: peer country %q is not an ISO 3166-1 alpha-2 code", ErrBadBundle, pj.Country)
	case pj.Country == self:
		return nil, fmt.Errorf("%w: peer %s is the bundle's own country", ErrBadBundle, pj.Country)
	case slices.Contains(seen, pj.Country):
		return nil, fmt.Errorf("%w: peer %s appears twice", ErrBadBundle, pj.Country)
	}
	csca, err := x509.ParseCertificate(pj.CSCA)
	if err != nil {
		return nil, fmt.Errorf("%w: peer %s: its CSCA: %w", ErrBadBundle, pj.Country, err)
	}
	if !csca.BasicConstraintsValid || !csca.IsCA || len(csca.Subject.Country) != 1 || csca.Subject.Country[0] != pj.Country {
		return nil, fmt.Errorf("%w: peer %s: %q is not a CSCA of %s", ErrBadBundle, pj.Country, csca.Subject, pj.Country)
	}
	p := &Peer{Country: pj.Country, CSCA: csca, trustListRaw: pj.TrustList}
	if p.TrustList, err = trust.VerifyList(pj.TrustList, csca); err != nil {
		return nil, fmt.Errorf("peer %s: %w", pj.Country, err)
	}
	if p.TrustList.Country != pj.Country {
		return nil, fmt.Errorf("%w: peer %s's trust list is for %s", ErrBadBundle, pj.Country, p.TrustList.Country)
	}
	if len(pj.RevocationList) > 0 {
		if p.Revocation, err = revocation.Verify(pj.RevocationList, csca); err != nil {
			return nil, fmt.Errorf("peer %s: %w", pj.Country, err)
		}
	}
	return p, nil
}

// Check tells whether Seal would take pl in a bundle of country: a CSCA of
// the peer's country, and lists that verify against it. A node leaves out
// a peer that fails rather than make no bundle at all.
func (pl PeerLists) Check(country string) error {
	if pl.CSCA == nil {
		return fmt.Errorf("peer %s: the CSCA pinned for it is needed", pl.Country)
	}
	_, err := loadPeer(peerJSON{Country: pl.Country, CSCA: pl.CSCA.Raw, TrustList: pl.TrustList, RevocationList: pl.RevocationList}, country, nil)
	return err
}

func peerCountries(ps []peerJSON) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Country
	}
	return out
}

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
