package trust

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileCorridorList(t *testing.T) {
	n := newTestNode(t, "CN")
	path := writeFile(t, "cn.json", n.sign(t, n.list(), n.ca.key))
	for _, pinned := range []bool{true, false} {
		opts := LoadOptions{At: t0}
		if pinned {
			opts.Pinned = n.ca.cert
		}
		st := &Store{}
		rep, err := st.LoadFile(path, opts)
		if err != nil {
			t.Fatalf("pinned=%v: %v", pinned, err)
		}
		if rep.Format != FormatCorridorList || rep.List == nil || rep.List.AnchorPinned != pinned {
			t.Fatalf("pinned=%v: report %+v", pinned, rep)
		}
		if st.Len() != 2 || len(st.Anchors()) != 1 || len(rep.Skipped) != 0 {
			t.Fatalf("pinned=%v: %d signers, %d anchors, skipped %v", pinned, st.Len(), len(st.Anchors()), rep.Skipped)
		}
		for _, e := range n.entries {
			got := st.Lookup(e.Kid)
			if len(got) != 1 || got[0].Source != path || got[0].Country != "CN" {
				t.Errorf("pinned=%v: %s: Lookup = %+v", pinned, e.Name, got)
			}
		}
	}
}

// A list is fine while one of its DSCs has lapsed: that DSC is left out.
func TestLoadCorridorListSkipsExpiredDSC(t *testing.T) {
	n := newTestNode(t, "KR")
	old, _ := n.ca.issue(t, dscOpts{name: "lab-old", notBefore: t0.AddDate(-3, 0, 0), notAfter: t0.AddDate(0, -1, 0)})
	l := n.list()
	l.Entries = append(l.Entries, ListEntry{Kid: Kid(old.Raw), Name: "lab-old", Kind: SignerLab, Cert: old})
	st := &Store{}
	rep, err := st.Load(n.sign(t, l, n.ca.key), LoadOptions{Pinned: n.ca.cert, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != 2 || len(rep.Skipped) != 1 || !errors.Is(rep.Skipped[0], ErrExpired) || !strings.Contains(rep.Skipped[0].Error(), `"lab-old"`) {
		t.Fatalf("signers %d, skipped %v; want 2 and the expired lab-old", st.Len(), rep.Skipped)
	}
}

func TestLoadRefusedListChangesNothing(t *testing.T) {
	n, other := newTestNode(t, "CN"), newTestNode(t, "CN")
	st := &Store{}
	if err := st.AddAnchor(n.ca.cert); err != nil {
		t.Fatal(err)
	}
	data := other.sign(t, other.list(), other.ca.key)
	if _, err := st.Load(data, LoadOptions{Pinned: n.ca.cert, At: t0}); !errors.Is(err, ErrWrongSigner) {
		t.Fatalf("got %v, want ErrWrongSigner", err)
	}
	if st.Len() != 0 || len(st.Anchors()) != 1 {
		t.Fatal("a refused list changed the store")
	}
}

func TestLoadCertificateForms(t *testing.T) {
	ca := newCSCA(t, "CN")
	dsc, _ := ca.issue(t, dscOpts{})
	b64 := base64.StdEncoding.EncodeToString(dsc.Raw)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 64 {
		wrapped.WriteString(b64[i:min(i+64, len(b64))] + "\r\n")
	}
	forms := map[string][]byte{
		"PEM":            pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dsc.Raw}),
		"DER":            dsc.Raw,
		"base64":         []byte(b64),
		"base64 wrapped": []byte(wrapped.String()),
	}
	for name, data := range forms {
		t.Run(name, func(t *testing.T) {
			st := &Store{}
			rep, err := st.Load(data, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Format != FormatCertificate || len(rep.Signers) != 1 || !rep.Signers[0].Cert.Equal(dsc) {
				t.Fatalf("report %+v", rep)
			}
			if len(st.Lookup(Kid(dsc.Raw))) != 1 {
				t.Fatal("not found by kid")
			}
		})
	}
}

// A CSCA given alone (key usage: certificate and CRL signing only) becomes
// an anchor, not a signer.
func TestLoadCertificateCAIsAnchor(t *testing.T) {
	ca := newCSCA(t, "CN")
	dsc, _ := ca.issue(t, dscOpts{})
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dsc.Raw})...)
	st := &Store{}
	rep, err := st.Load(bundle, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Anchors) != 1 || len(rep.Signers) != 1 || st.Len() != 1 {
		t.Fatalf("anchors %d, signers %d", len(rep.Anchors), len(rep.Signers))
	}
	if st.Lookup(Kid(ca.cert.Raw)) != nil {
		t.Fatal("the CSCA became a signer")
	}
}

func TestLoadRefusesJunk(t *testing.T) {
	cases := map[string][]byte{
		"empty":       nil,
		"spaces":      []byte("  \n"),
		"text":        []byte("hello, world"),
		"private key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"bad DER":     {0x30, 0x03, 0x01, 0x01},
		"JSON object": []byte(`{"hello": "world"}`),
		"JSON array":  []byte(`[1, 2]`),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			st := &Store{}
			if _, err := st.Load(data, LoadOptions{}); err == nil {
				t.Fatal("accepted")
			}
			if st.Len() != 0 {
				t.Fatal("store changed")
			}
		})
	}
}

// coseKid reads the kid (label 4) from a COSE_Sign1 message, protected
// header first.
func coseKid(t *testing.T, raw []byte) []byte {
	t.Helper()
	var tag cbor.RawTag
	if err := cbor.Unmarshal(raw, &tag); err == nil {
		raw = tag.Content
	}
	var msg []cbor.RawMessage
	if err := cbor.Unmarshal(raw, &msg); err != nil || len(msg) != 4 {
		return nil
	}
	var protected []byte
	if err := cbor.Unmarshal(msg[0], &protected); err != nil {
		return nil
	}
	for _, h := range [][]byte{protected, msg[1]} {
		var m map[int64]cbor.RawMessage
		if len(h) == 0 || cbor.Unmarshal(h, &m) != nil {
			continue
		}
		var kid []byte
		if v, ok := m[4]; ok && cbor.Unmarshal(v, &kid) == nil {
			return kid
		}
	}
	return nil
}

// Every signer certificate in the DCC vectors loads as base64 text, and a
// verifier finds it by the kid in the credential whenever the vector
// expects the signature to verify.
func TestLoadVectorCertificates(t *testing.T) {
	vectors := loadVectors(t)
	st := &Store{}
	var ec, rsaKeys, looked int
	for _, v := range vectors {
		if v.TestCtx.Certificate == "" {
			t.Errorf("%s: no TESTCTX.CERTIFICATE", v.path)
			continue
		}
		rep, err := st.Load([]byte(v.TestCtx.Certificate), LoadOptions{Source: v.path})
		if err != nil {
			t.Errorf("%s: %v", v.path, err)
			continue
		}
		if len(rep.Signers) != 1 {
			t.Errorf("%s: %d signers", v.path, len(rep.Signers))
			continue
		}
		switch rep.Signers[0].PublicKey.(type) {
		case *ecdsa.PublicKey:
			ec++
		case *rsa.PublicKey:
			rsaKeys++
		default:
			t.Errorf("%s: key type %T", v.path, rep.Signers[0].PublicKey)
		}
	}
	for _, v := range vectors {
		verify, ok := v.flag("EXPECTEDVERIFY")
		if !ok || !verify || v.COSE == "" {
			continue
		}
		raw, err := hex.DecodeString(v.COSE)
		if err != nil {
			t.Errorf("%s: COSE hex: %v", v.path, err)
			continue
		}
		kid := coseKid(t, raw)
		if kid == nil {
			t.Errorf("%s: the credential carries no kid", v.path)
			continue
		}
		der, _ := base64.StdEncoding.DecodeString(v.TestCtx.Certificate)
		found := false
		for _, s := range st.Lookup(kid) {
			found = found || bytes.Equal(s.Cert.Raw, der)
		}
		if !found {
			t.Errorf("%s: kid %s does not find the vector's certificate", v.path, KidString(kid))
		}
		looked++
	}
	if ec == 0 || rsaKeys == 0 || looked == 0 {
		t.Fatalf("EC %d, RSA %d, kid lookups %d: want all non-zero", ec, rsaKeys, looked)
	}
	t.Logf("%d vectors: %d EC and %d RSA signers; %d found by their credential's kid", len(vectors), ec, rsaKeys, looked)
}

func FuzzLoad(f *testing.F) {
	n := newTestNode(f, "CN")
	list, err := SignList(n.list(), n.ca.key)
	if err != nil {
		f.Fatal(err)
	}
	gw, err := json.Marshal([]gatewayEntry{
		gatewayItem("CN", "CSCA", n.ca.cert),
		gatewayItem("CN", "DSC", n.entries[1].Cert),
	})
	if err != nil {
		f.Fatal(err)
	}
	dsc := n.entries[0].Cert
	f.Add(list)
	f.Add(gw)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dsc.Raw}))
	f.Add(dsc.Raw)
	f.Add([]byte(base64.StdEncoding.EncodeToString(dsc.Raw)))
	f.Add([]byte(`{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AA=="}]}`))
	f.Add([]byte(`[{"certificateType":"DSC","country":"CN","kid":"AAAAAAAAAAA=","rawData":"MAA="}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pinned := range []bool{true, false} {
			opts := LoadOptions{At: t0.Add(time.Hour)}
			if pinned {
				opts.Pinned = n.ca.cert
			}
			st := &Store{}
			rep, err := st.Load(data, opts)
			if err != nil {
				if st.Len() != 0 || len(st.Anchors()) != 0 {
					t.Fatalf("failed load changed the store: %v", err)
				}
				continue
			}
			if rep.Format == FormatCorridorList {
				// Only a list our CSCA signed gets through when pinned.
				if pinned && !rep.List.CSCA.Equal(n.ca.cert) {
					t.Fatalf("pinned load accepted a list of %s", rep.List.CSCA.Subject)
				}
			}
			for _, s := range rep.Signers {
				if len(st.Lookup(s.Kid)) == 0 {
					t.Fatalf("reported signer %s not in the store", KidString(s.Kid))
				}
			}
		}
	})
}

// A CA certificate that may sign documents (digitalSignature), as the ES
// vectors 501-503 use, is an anchor and a signer.
func TestLoadCertificateSigningCA(t *testing.T) {
	ca := newCSCA(t, "ES")
	tmpl := *ca.cert
	tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, ca.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	st := &Store{}
	rep, err := st.Load(der, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Anchors) != 1 || len(rep.Signers) != 1 || len(st.Lookup(Kid(der))) != 1 {
		t.Fatalf("anchors %d, signers %d; want the CA as both", len(rep.Anchors), len(rep.Signers))
	}
}
