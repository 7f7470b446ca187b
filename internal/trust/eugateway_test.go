package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func gatewayItem(country, typ string, c *x509.Certificate) gatewayEntry {
	sum := sha256.Sum256(c.Raw)
	return gatewayEntry{
		Kid:             KidString(Kid(c.Raw)),
		Timestamp:       "2026-02-01T10:00:00+01:00",
		Country:         country,
		CertificateType: typ,
		Thumbprint:      hex.EncodeToString(sum[:]),
		Signature:       "not checked",
		RawData:         KidString(c.Raw),
	}
}

func TestLoadEUGateway(t *testing.T) {
	de, at := newCSCA(t, "DE"), newCSCA(t, "AT")
	stranger := newCSCA(t, "FR") // not in the file
	good, _ := de.issue(t, dscOpts{name: "good"})
	pemForm, _ := at.issue(t, dscOpts{name: "pem"})
	wrongKid, _ := de.issue(t, dscOpts{name: "wrong-kid"})
	wrongThumb, _ := de.issue(t, dscOpts{name: "wrong-thumb"})
	orphan, _ := stranger.issue(t, dscOpts{name: "orphan"})
	expired, _ := de.issue(t, dscOpts{name: "expired", notBefore: t0.AddDate(-2, 0, 0), notAfter: t0.AddDate(0, 0, -1)})

	items := []gatewayEntry{
		gatewayItem("DE", "DSC", good), // before its CSCA: order must not matter
		gatewayItem("DE", "CSCA", de.cert),
		gatewayItem("AT", "CSCA", at.cert),
		gatewayItem("AT", "DSC", pemForm),
		gatewayItem("DE", "DSC", wrongKid),
		gatewayItem("DE", "DSC", wrongThumb),
		gatewayItem("FR", "DSC", orphan),
		gatewayItem("DE", "DSC", expired),
		gatewayItem("DE", "UPLOAD", good),
		gatewayItem("DE", "AUTHENTICATION", good),
	}
	items[3].RawData = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pemForm.Raw}))
	items[4].Kid = KidString(Kid(good.Raw))
	items[5].Thumbprint = strings.Repeat("00", 32)
	data, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}

	st := &Store{}
	rep, err := st.Load(data, LoadOptions{At: t0, Source: "eu.json"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatEUGateway {
		t.Errorf("format = %v", rep.Format)
	}
	if len(rep.Anchors) != 2 || len(st.Anchors()) != 2 {
		t.Errorf("anchors: report %d, store %d; want 2", len(rep.Anchors), len(st.Anchors()))
	}
	if rep.Ignored != 2 {
		t.Errorf("Ignored = %d, want 2", rep.Ignored)
	}
	if len(rep.Signers) != 2 || st.Len() != 2 {
		t.Fatalf("signers: report %d, store %d; want 2", len(rep.Signers), st.Len())
	}
	for _, c := range []*x509.Certificate{good, pemForm} {
		got := st.Lookup(Kid(c.Raw))
		if len(got) != 1 || got[0].Source != "eu.json" {
			t.Errorf("%s: Lookup = %v", c.Subject.CommonName, got)
		}
	}
	if got := st.Lookup(Kid(pemForm.Raw)); len(got) == 1 && got[0].Country != "AT" {
		t.Errorf("country = %q, want AT from the entry", got[0].Country)
	}

	want := []struct {
		entry string
		is    error
		text  string
	}{
		{"entry 5 (DE DSC", ErrKidCert, "its certificate has kid " + KidString(Kid(wrongKid.Raw))},
		{"entry 6 (DE DSC", nil, "thumbprint"},
		{"entry 7 (FR DSC", ErrNoChain, ""},
		{"entry 8 (DE DSC", ErrExpired, ""},
	}
	if len(rep.Skipped) != len(want) {
		t.Fatalf("skipped %d entries, want %d: %v", len(rep.Skipped), len(want), rep.Skipped)
	}
	for i, w := range want {
		err := rep.Skipped[i]
		if !errors.Is(err, ErrGatewayEntry) || !strings.Contains(err.Error(), w.entry) || !strings.Contains(err.Error(), w.text) {
			t.Errorf("skip %d = %v, want it to name %q and say %q", i, err, w.entry, w.text)
		}
		if w.is != nil && !errors.Is(err, w.is) {
			t.Errorf("skip %d = %v, want %v", i, err, w.is)
		}
	}
}

func TestLoadEUGatewayRefusesMalformedJSON(t *testing.T) {
	st := &Store{}
	if _, err := st.Load([]byte(`[{"kid": 5}]`), LoadOptions{}); err == nil {
		t.Fatal("accepted a kid that is a number")
	}
	if st.Len() != 0 {
		t.Fatal("store changed")
	}
}
