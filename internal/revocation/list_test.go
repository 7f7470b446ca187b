package revocation

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/trust"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCSCA(t testing.TB, country string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{country}, CommonName: "Test CSCA " + country},
		NotBefore:             t0.AddDate(-1, 0, 0),
		NotAfter:              t0.AddDate(9, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert, key}
}

func hashOf(s string) [HashLen]byte {
	sum := sha256.Sum256([]byte(s))
	return [HashLen]byte(sum[:HashLen])
}

var (
	kidA = []byte("kid-AAAA")
	kidB = []byte("kid-BBBB")
)

func sampleList(t testing.TB) *List {
	t.Helper()
	l := &List{Country: "CN", Sequence: 3, IssuedAt: t0, NextUpdate: t0.Add(6 * time.Hour)}
	for _, e := range []Entry{
		{Type: UCI, Hash: hashOf("uvci-1")},
		{Type: UCI, Hash: hashOf("uvci-2")},
		{Kid: kidA, Type: Signature, Hash: hashOf("sig-1")},
		{Kid: kidA, Type: CountryCodeUCI, Hash: hashOf("CNuvci-3")},
		{Kid: kidB, Type: Signature, Hash: hashOf("sig-2")},
	} {
		if err := l.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestListLookup(t *testing.T) {
	l := sampleList(t)
	cases := []struct {
		name   string
		kid    []byte
		hashes map[HashType][HashLen]byte
		want   bool
		typ    HashType
	}{
		{"global UCI, any signer", kidB, map[HashType][HashLen]byte{UCI: hashOf("uvci-1")}, true, UCI},
		{"global UCI, no kid", nil, map[HashType][HashLen]byte{UCI: hashOf("uvci-2")}, true, UCI},
		{"scoped signature, its signer", kidA, map[HashType][HashLen]byte{Signature: hashOf("sig-1")}, true, Signature},
		{"scoped signature, other signer", kidB, map[HashType][HashLen]byte{Signature: hashOf("sig-1")}, false, 0},
		{"hash under the wrong type", kidA, map[HashType][HashLen]byte{UCI: hashOf("sig-1")}, false, 0},
		{"signature checked first", kidA, map[HashType][HashLen]byte{UCI: hashOf("uvci-1"), Signature: hashOf("sig-1")}, true, Signature},
		{"scoped country+UCI", kidA, map[HashType][HashLen]byte{CountryCodeUCI: hashOf("CNuvci-3")}, true, CountryCodeUCI},
		{"clean credential", kidA, Hashes("uvci-9", "CN", []byte("signature bytes"), AlgES256), false, 0},
	}
	for _, c := range cases {
		got, typ := l.IsRevoked(c.kid, c.hashes)
		if got != c.want || typ != c.typ {
			t.Errorf("%s: IsRevoked = %v, %v; want %v, %v", c.name, got, typ, c.want, c.typ)
		}
	}
	var empty List
	if got, _ := empty.IsRevoked(kidA, map[HashType][HashLen]byte{UCI: hashOf("uvci-1")}); got {
		t.Error("the empty list revoked something")
	}
}

func TestListAdd(t *testing.T) {
	l := sampleList(t)
	if l.Len() != 5 {
		t.Fatalf("Len = %d, want 5", l.Len())
	}
	if err := l.Add(Entry{Type: UCI, Hash: hashOf("uvci-1")}); err != nil || l.Len() != 5 {
		t.Fatalf("duplicate: err %v, Len %d", err, l.Len())
	}
	if err := l.Add(Entry{Type: 9}); !errors.Is(err, ErrBadEntry) {
		t.Errorf("unknown type: got %v", err)
	}
	if err := l.Add(Entry{Kid: []byte("short"), Type: UCI}); !errors.Is(err, ErrBadEntry) {
		t.Errorf("5-byte kid: got %v", err)
	}
	entries := l.Entries()
	if len(entries) != 5 || entries[0].Kid != nil || !bytes.Equal(entries[4].Kid, kidB) {
		t.Fatalf("Entries order: %v", entries)
	}
}

func TestIsRevokedDoesNotAllocate(t *testing.T) {
	l := sampleList(t)
	hashes := Hashes("uvci-9", "CN", []byte("0123456789abcdef0123456789abcdef"), AlgES256)
	allocs := testing.AllocsPerRun(1000, func() {
		if revoked, _ := l.IsRevoked(kidA, hashes); revoked {
			panic("revoked")
		}
	})
	if allocs != 0 {
		t.Fatalf("IsRevoked allocates %.1f times per call", allocs)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	ca := newCSCA(t, "CN")
	l := sampleList(t)
	data, err := Sign(l, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(data, ca.cert)
	if err != nil {
		t.Fatal(err)
	}
	if got.Country != "CN" || got.Sequence != 3 || !got.IssuedAt.Equal(t0) || !got.NextUpdate.Equal(l.NextUpdate) {
		t.Errorf("header = %s #%d %s..%s", got.Country, got.Sequence, got.IssuedAt, got.NextUpdate)
	}
	if !slices.EqualFunc(got.Entries(), l.Entries(), func(a, b Entry) bool {
		return bytes.Equal(a.Kid, b.Kid) && a.Type == b.Type && a.Hash == b.Hash
	}) {
		t.Fatalf("entries differ after the round trip")
	}
	// An empty list is a valid statement: nothing is revoked.
	empty := &List{Country: "CN", IssuedAt: t0, NextUpdate: t0.Add(time.Hour)}
	data, err = Sign(empty, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Verify(data, ca.cert); err != nil || got.Len() != 0 {
		t.Fatalf("empty list: %v, %v", got, err)
	}
}

func TestVerifyRefusesEveryOneByteChange(t *testing.T) {
	ca := newCSCA(t, "CN")
	data, err := Sign(sampleList(t), ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if _, err := Verify(bad, ca.cert); err == nil {
			t.Fatalf("byte %d changed (%q -> %q) and the list was accepted", i, data[i], bad[i])
		}
	}
}

func TestVerifyRefusesAlteredPayload(t *testing.T) {
	ca := newCSCA(t, "CN")
	data, err := Sign(sampleList(t), ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	// Drop the batches: an attacker un-revoking credentials.
	i := bytes.Index(payload, []byte(`"batches"`))
	if i < 0 {
		t.Fatal("test setup: no batches in payload")
	}
	altered := append(bytes.Clone(payload[:i]), []byte(`"batches": []}`)...)
	env["payload"] = base64.StdEncoding.EncodeToString(altered)
	forged, _ := json.Marshal(env)
	_, err = Verify(forged, ca.cert)
	if !errors.Is(err, trust.ErrBadSignature) || !strings.Contains(err.Error(), "altered after signing") {
		t.Fatalf("got %v, want a refusal saying the list was altered", err)
	}
}

func TestVerifyRefusesOtherCSCA(t *testing.T) {
	ours, theirs := newCSCA(t, "CN"), newCSCA(t, "CN")
	data, err := Sign(sampleList(t), theirs.cert, theirs.key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(data, ours.cert)
	if !errors.Is(err, ErrWrongSigner) || !strings.Contains(err.Error(), trust.KidString(trust.Kid(theirs.cert.Raw))) {
		t.Fatalf("got %v, want ErrWrongSigner naming their CSCA", err)
	}
	if _, err := Verify(data, nil); !errors.Is(err, ErrNoPin) {
		t.Fatalf("no pin: got %v, want ErrNoPin", err)
	}
}

func TestSignRefusesCountryOfOtherCSCA(t *testing.T) {
	kr := newCSCA(t, "KR")
	if _, err := Sign(sampleList(t), kr.cert, kr.key); !errors.Is(err, ErrBadList) {
		t.Fatalf("got %v, want ErrBadList", err)
	}
}

func TestVerifyRefusesMalformedPayload(t *testing.T) {
	ca := newCSCA(t, "CN")
	hdr := `"country":"CN","sequence":1,"issuedAt":"2026-03-01T12:00:00Z","nextUpdate":"2026-03-02T12:00:00Z"`
	h16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	cases := map[string]string{
		"short hash":     fmt.Sprintf(`{%s,"batches":[{"hashType":"UCI","hashes":["%s"]}]}`, hdr, base64.StdEncoding.EncodeToString(make([]byte, 15))),
		"unknown type":   fmt.Sprintf(`{%s,"batches":[{"hashType":"NAME","hashes":["%s"]}]}`, hdr, h16),
		"short kid":      fmt.Sprintf(`{%s,"batches":[{"kid":"AQID","hashType":"UCI","hashes":["%s"]}]}`, hdr, h16),
		"unknown field":  fmt.Sprintf(`{%s,"batches":[],"comment":"x"}`, hdr),
		"other country":  `{"country":"KR","sequence":1,"issuedAt":"2026-03-01T12:00:00Z","nextUpdate":"2026-03-02T12:00:00Z","batches":[]}`,
		"no next update": `{"country":"CN","sequence":1,"issuedAt":"2026-03-01T12:00:00Z","batches":[]}`,
		"trailing data":  fmt.Sprintf(`{%s,"batches":[]} []`, hdr),
	}
	for name, payload := range cases {
		data, err := trust.SealEnvelope(ListType, []byte(payload), ca.cert, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(data, ca.cert); !errors.Is(err, ErrBadList) {
			t.Errorf("%s: got %v, want ErrBadList", name, err)
		}
	}
	// A trust list is not a revocation list, however well signed.
	data, err := trust.SealEnvelope(trust.TrustListType, []byte(`{}`), ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(data, ca.cert); !errors.Is(err, ErrBadList) {
		t.Errorf("trust list: got %v, want ErrBadList", err)
	}
}

func BenchmarkIsRevoked(b *testing.B) {
	l := &List{}
	for i := 0; i < 100_000; i++ {
		if err := l.Add(Entry{Type: UCI, Hash: hashOf(fmt.Sprint("uvci-", i))}); err != nil {
			b.Fatal(err)
		}
	}
	hashes := Hashes("uvci-not-revoked", "CN", make([]byte, 64), AlgES256)
	b.ReportAllocs()
	for b.Loop() {
		if revoked, _ := l.IsRevoked(kidA, hashes); revoked {
			b.Fatal("revoked")
		}
	}
}

func FuzzVerify(f *testing.F) {
	ca := newCSCA(f, "CN")
	data, err := Sign(sampleList(f), ca.cert, ca.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"payloadType":"` + ListType + `","payload":"e30=","signatures":[{"sig":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Verify(data, ca.cert)
		if err != nil {
			return
		}
		// Anything accepted was signed by our CSCA: it is a list we made.
		if l.Country != "CN" || l.Len() != 5 {
			t.Fatalf("accepted a list we did not sign: %s, %d entries", l.Country, l.Len())
		}
	})
}
