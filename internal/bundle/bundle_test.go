package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/testdata"
	"github.com/corridorlane/corridor/internal/trust"
)

var now = time.Date(2020, 5, 1, 9, 0, 0, 0, time.UTC)

type node struct {
	set       *keys.Set
	trustList []byte
	revList   []byte
	pol       *policy.Policy
}

func newNode(t *testing.T, country string) *node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := keys.Init(dir, country, keys.Options{Now: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddSigner(dir, "lab-one", keys.Lab, keys.Options{Now: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	set, err := keys.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := trust.SignList(set.TrustList(7, now, now.AddDate(0, 0, 7)), set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	rev := &revocation.List{Country: country, Sequence: 3, IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1)}
	var h [revocation.HashLen]byte
	copy(h[:], "0123456789abcdef")
	if err := rev.Add(revocation.Entry{Type: revocation.UCI, Hash: h}); err != nil {
		t.Fatal(err)
	}
	rl, err := revocation.Sign(rev, set.CSCA, set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../policies/cn-kr.json")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &node{set: set, trustList: tl, revList: rl, pol: pol}
}

func (n *node) contents(t *testing.T) Contents {
	vs, err := dcc.LoadValueSets(testdata.Path(t, "dcc-valuesets"))
	if err != nil {
		t.Fatal(err)
	}
	return Contents{Country: n.set.Country, IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1),
		Policy:    Policy{ID: n.pol.ID, Version: n.pol.Version, Digest: n.pol.Digest()},
		TrustList: n.trustList, RevocationList: n.revList, EntryRules: n.pol.EntryRules, ValueSets: vs}
}

func TestSealAndLoad(t *testing.T) {
	n := newNode(t, "KR")
	c := n.contents(t)
	data, err := Seal(c, n.set.CSCA, n.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(data, n.set.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	if !b.AnchorPinned || b.Country != "KR" || b.Policy != c.Policy || !b.IssuedAt.Equal(now) {
		t.Errorf("bundle header: %+v", b)
	}
	if len(b.TrustList.Entries) != 2 || b.TrustList.Sequence != 7 {
		t.Errorf("trust list: %d entries, sequence %d", len(b.TrustList.Entries), b.TrustList.Sequence)
	}
	if b.Revocation.Len() != 1 || b.Revocation.Sequence != 3 {
		t.Errorf("revocation list: %d entries, sequence %d", b.Revocation.Len(), b.Revocation.Sequence)
	}
	wantRules, _ := n.pol.Rules()
	if len(b.Rules) != len(wantRules) || len(b.Rules) == 0 {
		t.Errorf("rules: %d, want %d", len(b.Rules), len(wantRules))
	}
	if len(b.ValueSets) != len(c.ValueSets) || len(b.ValueSets["covid-19-lab-test-type"]) == 0 {
		t.Errorf("value sets: %d, want %d", len(b.ValueSets), len(c.ValueSets))
	}
	if b.Stale(now) || !b.Stale(now.AddDate(0, 0, 2)) {
		t.Error("staleness is wrong")
	}
	v, err := b.Verifier("KR", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if v.Trust.Len() != 2 || v.Country != "KR" || len(v.Rules) != len(b.Rules) {
		t.Errorf("verifier: %d signers, country %s, %d rules", v.Trust.Len(), v.Country, len(v.Rules))
	}

	// Without a pin, the bundle's own CSCA is the anchor, and it says so.
	b2, err := LoadBundle(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b2.AnchorPinned || !b2.CSCA.Equal(n.set.CSCA) {
		t.Error("an unpinned load claims a pinned anchor")
	}
}

func TestLoadRefuses(t *testing.T) {
	n := newNode(t, "KR")
	other := newNode(t, "CN")
	data, err := Seal(n.contents(t), n.set.CSCA, n.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}

	if _, err := LoadBundle(data, other.set.CSCA); !errors.Is(err, ErrWrongSigner) {
		t.Errorf("pinned to another CSCA: %v", err)
	}

	// Altering one byte of the payload breaks the signature.
	payload := env["payload"].(string)
	tampered := strings.Replace(string(data), payload, payload[:40]+flip(payload[40])+payload[41:], 1)
	if _, err := LoadBundle([]byte(tampered), n.set.CSCA); !errors.Is(err, trust.ErrBadSignature) {
		t.Errorf("tampered payload: %v", err)
	}

	// A bundle of one node cannot carry another node's lists, even when
	// its own CSCA signs the wrapper.
	mixed := n.contents(t)
	mixed.TrustList = other.trustList
	if _, err := Seal(mixed, n.set.CSCA, n.set.CSCAKey()); err == nil {
		t.Error("sealing another node's trust list was accepted")
	}

	// Another payload type in a valid envelope is not a bundle.
	if _, err := LoadBundle(n.trustList, n.set.CSCA); !errors.Is(err, ErrBadBundle) {
		t.Errorf("a trust list loaded as a bundle: %v", err)
	}

	// Unknown fields are refused: two readers must see one document.
	raw, _ := json.Marshal(map[string]any{"format": Format, "country": "KR", "extra": 1})
	sealed, err := trust.SealEnvelope(PayloadType, raw, n.set.CSCA, n.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(sealed, n.set.CSCA); !errors.Is(err, ErrBadBundle) {
		t.Errorf("unknown field: %v", err)
	}

	if _, err := LoadBundle(make([]byte, MaxSize+1), n.set.CSCA); !errors.Is(err, ErrBadBundle) {
		t.Errorf("oversized input: %v", err)
	}
	if _, err := LoadBundle([]byte("not json"), n.set.CSCA); err == nil {
		t.Error("junk accepted")
	}
}

func TestSealChecksItsInput(t *testing.T) {
	n := newNode(t, "KR")
	for name, edit := range map[string]func(*Contents){
		"country":    func(c *Contents) { c.Country = "Korea" },
		"dates":      func(c *Contents) { c.NextUpdate = c.IssuedAt },
		"revocation": func(c *Contents) { c.RevocationList = []byte(`{}`) },
		"rules":      func(c *Contents) { c.EntryRules = json.RawMessage(`[{"Identifier": "nope"}]`) },
	} {
		c := n.contents(t)
		edit(&c)
		if _, err := Seal(c, n.set.CSCA, n.set.CSCAKey()); err == nil {
			t.Errorf("%s: a broken bundle was sealed", name)
		}
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestPeers: a bundle carries its peers' lists, each checked against the
// CSCA the node pinned for that peer; its verifier trusts both nodes'
// signers and refuses what either revoked. A bundle without peers keeps
// the first format, which older readers read.
func TestPeers(t *testing.T) {
	kr, cn, jp := newNode(t, "KR"), newNode(t, "CN"), newNode(t, "JP")
	plain, err := Seal(kr.contents(t), kr.set.CSCA, kr.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := payloadFormat(t, plain); got != Format {
		t.Errorf("a bundle without peers has format %q, want %q", got, Format)
	}
	c := kr.contents(t)
	c.Peers = []PeerLists{{Country: "CN", CSCA: cn.set.CSCA, TrustList: cn.trustList, RevocationList: cn.revList},
		{Country: "JP", CSCA: jp.set.CSCA, TrustList: jp.trustList}}
	data, err := Seal(c, kr.set.CSCA, kr.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := payloadFormat(t, data); got != FormatPeers {
		t.Errorf("a bundle with peers has format %q, want %q", got, FormatPeers)
	}
	b, err := LoadBundle(data, kr.set.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Peers) != 2 || b.Peers[0].Country != "CN" || !b.Peers[0].CSCA.Equal(cn.set.CSCA) || b.Peers[0].Revocation.Len() != 1 ||
		b.Peers[1].Revocation != nil || len(b.Peers[1].TrustList.Entries) != 2 {
		t.Fatalf("peers %+v", b.Peers)
	}
	v, err := b.Verifier("KR", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if v.Trust.Len() != 6 {
		t.Errorf("the verifier trusts %d signers, want the 2 of each node", v.Trust.Len())
	}
	// KR and CN revoked the same UCI hash, globally: one entry; the
	// node's own list is left as it was.
	if v.Revocation.Len() != 1 || b.Revocation.Len() != 1 {
		t.Errorf("revocations: verifier %d, bundle %d", v.Revocation.Len(), b.Revocation.Len())
	}
	var h [revocation.HashLen]byte
	copy(h[:], "fedcba9876543210")
	cnRev := &revocation.List{Country: "CN", Sequence: 4, IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1)}
	if err := cnRev.Add(revocation.Entry{Type: revocation.Signature, Hash: h}); err != nil {
		t.Fatal(err)
	}
	c.Peers[0].RevocationList, err = revocation.Sign(cnRev, cn.set.CSCA, cn.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	data, err = Seal(c, kr.set.CSCA, kr.set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err = LoadBundle(data, kr.set.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	v, err = b.Verifier("KR", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Revocation.Contains(nil, revocation.Signature, h) || v.Revocation.Len() != 2 {
		t.Errorf("China's revocation is not in the verifier's list (%d entries)", v.Revocation.Len())
	}

	// Seal refuses what a reader would.
	for name, edit := range map[string]func(*PeerLists){
		"list of another CSCA":   func(p *PeerLists) { p.TrustList = jp.trustList },
		"revocation of another":  func(p *PeerLists) { p.RevocationList = jp.revList },
		"own country":            func(p *PeerLists) { p.Country = "KR" },
		"no CSCA":                func(p *PeerLists) { p.CSCA = nil },
		"CSCA of another nation": func(p *PeerLists) { p.CSCA = jp.set.CSCA },
		"not a CA":               func(p *PeerLists) { _, p.CSCA, _, _ = cn.set.Signer("lab-one") },
	} {
		c := kr.contents(t)
		p := PeerLists{Country: "CN", CSCA: cn.set.CSCA, TrustList: cn.trustList, RevocationList: cn.revList}
		edit(&p)
		if err := p.Check("KR"); err == nil {
			t.Errorf("%s: Check passed", name)
		}
		c.Peers = []PeerLists{p}
		if _, err := Seal(c, kr.set.CSCA, kr.set.CSCAKey()); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}
	c = kr.contents(t)
	c.Peers = []PeerLists{{Country: "CN", CSCA: cn.set.CSCA, TrustList: cn.trustList}, {Country: "CN", CSCA: cn.set.CSCA, TrustList: cn.trustList}}
	if _, err := Seal(c, kr.set.CSCA, kr.set.CSCAKey()); err == nil {
		t.Error("a peer twice was sealed")
	}

	// A reader refuses a peer whose list does not verify against the CSCA
	// beside it, a first-format bundle with peers, and a format it does
	// not know, by name.
	reseal := func(edit func(m map[string]any)) []byte {
		env, err := trust.ParseEnvelope(data)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		raw, _ := json.Marshal(m)
		out, err := trust.SealEnvelope(PayloadType, raw, kr.set.CSCA, kr.set.CSCAKey())
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	swapped := reseal(func(m map[string]any) {
		m["peers"].([]any)[0].(map[string]any)["csca"] = jp.set.CSCA.Raw
	})
	if _, err := LoadBundle(swapped, kr.set.CSCA); err == nil {
		t.Error("a peer's list under another CSCA was loaded")
	}
	if _, err := LoadBundle(reseal(func(m map[string]any) { m["format"] = Format }), kr.set.CSCA); !errors.Is(err, ErrBadBundle) {
		t.Errorf("first format with peers: %v", err)
	}
	_, err = LoadBundle(reseal(func(m map[string]any) { m["format"] = "corridor-bundle/9"; m["later"] = true }), kr.set.CSCA)
	if !errors.Is(err, ErrBadBundle) || !strings.Contains(err.Error(), "corridor-bundle/9") {
		t.Errorf("an unknown format: %v", err)
	}
}

func payloadFormat(t *testing.T, data []byte) string {
	t.Helper()
	env, err := trust.ParseEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(env.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p.Format
}
