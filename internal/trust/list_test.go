package trust

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// testNode is a node's CSCA with an authority and a lab DSC.
type testNode struct {
	ca      *testCA
	entries []ListEntry
}

func newTestNode(t testing.TB, country string) *testNode {
	t.Helper()
	ca := newCSCA(t, country)
	auth, _ := ca.issue(t, dscOpts{name: "authority", ekus: []asn1.ObjectIdentifier{OIDEntryApproval}})
	lab, _ := ca.issue(t, dscOpts{name: "lab-1", ekus: []asn1.ObjectIdentifier{OIDDCCTest}})
	return &testNode{ca: ca, entries: []ListEntry{
		{Kid: Kid(auth.Raw), Name: "authority", Kind: SignerAuthority, Cert: auth},
		{Kid: Kid(lab.Raw), Name: "lab-1", Kind: SignerLab, Cert: lab},
	}}
}

func (n *testNode) list() *List {
	return &List{
		Country:    n.ca.cert.Subject.Country[0],
		Sequence:   7,
		IssuedAt:   t0,
		NextUpdate: t0.Add(24 * time.Hour),
		CSCA:       n.ca.cert,
		Entries:    n.entries,
	}
}

func (n *testNode) sign(t testing.TB, l *List, key crypto.Signer) []byte {
	t.Helper()
	data, err := SignList(l, key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestListRoundTripPinned(t *testing.T) {
	n := newTestNode(t, "CN")
	data := n.sign(t, n.list(), n.ca.key)
	l, err := VerifyList(data, n.ca.cert)
	if err != nil {
		t.Fatal(err)
	}
	if !l.AnchorPinned {
		t.Error("AnchorPinned = false for a pinned verification")
	}
	if l.Country != "CN" || l.Sequence != 7 || !l.IssuedAt.Equal(t0) || !l.NextUpdate.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("header = %s #%d %s..%s", l.Country, l.Sequence, l.IssuedAt, l.NextUpdate)
	}
	if !l.CSCA.Equal(n.ca.cert) || len(l.Entries) != 2 {
		t.Fatalf("got CSCA %s and %d entries", l.CSCA.Subject, len(l.Entries))
	}
	for i, e := range l.Entries {
		w := n.entries[i]
		if !bytes.Equal(e.Kid, w.Kid) || e.Name != w.Name || e.Kind != w.Kind || !e.Cert.Equal(w.Cert) {
			t.Errorf("entry %d = %s/%s, want %s/%s", i, e.Name, e.Kind, w.Name, w.Kind)
		}
	}
	if l.Stale(t0.Add(time.Hour)) || !l.Stale(t0.Add(25*time.Hour)) {
		t.Error("Stale does not follow nextUpdate")
	}
}

func TestListUnpinnedUsesEmbeddedCSCA(t *testing.T) {
	n := newTestNode(t, "KR")
	l, err := VerifyList(n.sign(t, n.list(), n.ca.key), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.AnchorPinned {
		t.Error("AnchorPinned = true with nothing pinned")
	}
}

// Every single-byte change anywhere in the signed file is refused.
func TestListRefusesEveryOneByteChange(t *testing.T) {
	n := newTestNode(t, "CN")
	data := n.sign(t, n.list(), n.ca.key)
	for _, pinned := range []bool{true, false} {
		for i := range data {
			bad := bytes.Clone(data)
			bad[i] ^= 0x01
			var err error
			if pinned {
				_, err = VerifyList(bad, n.ca.cert)
			} else {
				_, err = VerifyList(bad, nil)
			}
			if err == nil {
				t.Fatalf("pinned=%v: byte %d changed (%q -> %q) and the list was accepted", pinned, i, data[i], bad[i])
			}
		}
	}
}

// A changed payload with a well-formed envelope is refused as altered.
func TestListRefusesAlteredPayload(t *testing.T) {
	n := newTestNode(t, "CN")
	data := n.sign(t, n.list(), n.ca.key)
	env, err := ParseEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	// Raise the sequence number, as a replay-minded attacker would.
	altered := bytes.Replace(env.Payload, []byte(`"sequence": 7`), []byte(`"sequence": 8`), 1)
	if bytes.Equal(altered, env.Payload) {
		t.Fatal("test setup: sequence not found in payload")
	}
	forged := reseal(t, env, altered)
	_, err = VerifyList(forged, n.ca.cert)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "altered after signing") {
		t.Fatalf("pinned: got %v, want a refusal saying the list was altered", err)
	}
	_, err = VerifyList(forged, nil)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "altered after signing") {
		t.Fatalf("unpinned: got %v, want a refusal saying the list was altered", err)
	}
}

// reseal writes env back with a different payload and the old signature.
func reseal(t *testing.T, env *Envelope, payload []byte) []byte {
	t.Helper()
	out, err := json.Marshal(envelopeJSON{
		PayloadType: env.PayloadType,
		Payload:     KidString(payload), // KidString is plain standard base64
		Signatures:  []signatureJSON{{KeyID: KidString(env.KeyID), Sig: KidString(env.Signature)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestListRefusesOtherCSCA(t *testing.T) {
	ours, theirs := newTestNode(t, "CN"), newTestNode(t, "CN")
	data := theirs.sign(t, theirs.list(), theirs.ca.key)
	_, err := VerifyList(data, ours.ca.cert)
	if !errors.Is(err, ErrWrongSigner) {
		t.Fatalf("got %v, want ErrWrongSigner", err)
	}
	if !strings.Contains(err.Error(), KidString(Kid(theirs.ca.cert.Raw))) || !strings.Contains(err.Error(), KidString(Kid(ours.ca.cert.Raw))) {
		t.Errorf("message does not name both CSCAs: %v", err)
	}
}

// A list signed with the pinned key that names another CSCA is refused.
func TestListRefusesForeignAnchorSignedByPinnedKey(t *testing.T) {
	ours, theirs := newTestNode(t, "CN"), newTestNode(t, "CN")
	l := theirs.list()
	l.Entries = nil
	payloadEnv, err := ParseEnvelope(theirs.sign(t, l, theirs.ca.key))
	if err != nil {
		t.Fatal(err)
	}
	data, err := SealEnvelope(TrustListType, payloadEnv.Payload, ours.ca.cert, ours.ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyList(data, ours.ca.cert); !errors.Is(err, ErrWrongSigner) {
		t.Fatalf("got %v, want ErrWrongSigner", err)
	}
}

func TestListRefusesEntryNotIssuedByCSCA(t *testing.T) {
	n, other := newTestNode(t, "CN"), newTestNode(t, "CN")
	l := n.list()
	l.Entries = append(l.Entries, other.entries[1])
	l.Entries[2].Name = "lab-2"
	if _, err := SignList(l, n.ca.key); !errors.Is(err, ErrNoChain) {
		t.Fatalf("SignList: got %v, want ErrNoChain", err)
	}
	// A list built by hand around the check is refused on the way in.
	data := signUnchecked(t, l, n.ca)
	_, err := VerifyList(data, n.ca.cert)
	if !errors.Is(err, ErrNoChain) || !strings.Contains(err.Error(), `entry 3 ("lab-2"`) {
		t.Fatalf("got %v, want ErrNoChain naming entry 3", err)
	}
}

func TestListRefusesKidMismatch(t *testing.T) {
	n := newTestNode(t, "CN")
	l := n.list()
	l.Entries[1].Kid = []byte("12345678")
	if _, err := SignList(l, n.ca.key); !errors.Is(err, ErrKidCert) {
		t.Fatalf("SignList: got %v, want ErrKidCert", err)
	}
	_, err := VerifyList(signUnchecked(t, l, n.ca), n.ca.cert)
	if !errors.Is(err, ErrKidCert) || !strings.Contains(err.Error(), "entry 2") {
		t.Fatalf("got %v, want ErrKidCert naming entry 2", err)
	}
}

func TestListRefusesMalformedHeader(t *testing.T) {
	n := newTestNode(t, "CN")
	cases := map[string]func(*List){
		"bad country":       func(l *List) { l.Country = "XX" },
		"country mismatch":  func(l *List) { l.Country = "KR" },
		"next before issue": func(l *List) { l.NextUpdate = l.IssuedAt.Add(-time.Second) },
		"bad name":          func(l *List) { l.Entries[0].Name = "Lab One" },
		"bad kind":          func(l *List) { l.Entries[0].Kind = "printer" },
		"duplicate":         func(l *List) { l.Entries = append(l.Entries, l.Entries[0]) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			l := n.list()
			l.Entries = append([]ListEntry(nil), l.Entries...)
			mutate(l)
			if _, err := SignList(l, n.ca.key); !errors.Is(err, ErrBadList) {
				t.Errorf("SignList: got %v, want ErrBadList", err)
			}
			if _, err := VerifyList(signUnchecked(t, l, n.ca), n.ca.cert); !errors.Is(err, ErrBadList) {
				t.Errorf("VerifyList: got %v, want ErrBadList", err)
			}
		})
	}
}

func TestSignListRefusesWrongKey(t *testing.T) {
	n := newTestNode(t, "CN")
	if _, err := SignList(n.list(), newKey(t)); err == nil {
		t.Fatal("signed with a key that is not the CSCA's")
	}
}

func TestListRefusesOtherPayloadType(t *testing.T) {
	n := newTestNode(t, "CN")
	data, err := SealEnvelope("application/vnd.corridor.revocation-list.v1+json", []byte("{}"), n.ca.cert, n.ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyList(data, n.ca.cert); !errors.Is(err, ErrBadList) {
		t.Fatalf("got %v, want ErrBadList", err)
	}
}

// signUnchecked signs l as SignList would, minus its checks, to build the
// malformed lists a careless or hostile signer might publish.
func signUnchecked(t *testing.T, l *List, ca *testCA) []byte {
	t.Helper()
	doc := listJSON{Country: l.Country, Sequence: l.Sequence, IssuedAt: l.IssuedAt, NextUpdate: l.NextUpdate, CSCA: l.CSCA.Raw}
	for _, e := range l.Entries {
		doc.Signers = append(doc.Signers, listEntryJSON{Kid: e.Kid, Name: e.Name, Kind: e.Kind, Certificate: e.Cert.Raw})
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	data, err := SealEnvelope(TrustListType, payload, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
