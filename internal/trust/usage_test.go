package trust

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestCheckKeyUsageRules(t *testing.T) {
	ca := newCSCA(t, "CN")
	cert := func(ekus ...asn1.ObjectIdentifier) *x509.Certificate {
		c, _ := ca.issue(t, dscOpts{ekus: ekus})
		return c
	}
	none := cert()
	test := cert(OIDDCCTest)
	testLegacy := cert(OIDDCCTestLegacy)
	vacRec := cert(OIDDCCVaccination, OIDDCCRecoveryLegacy)
	approval := cert(OIDEntryApproval)
	labAndApproval := cert(OIDDCCTest, OIDEntryApproval)

	cases := []struct {
		name string
		cert *x509.Certificate
		kind string
		want string // "" = allowed
	}{
		{"no usage, vaccination", none, KindVaccination, ""},
		{"no usage, test", none, KindTest, ""},
		{"no usage, recovery", none, KindRecovery, ""},
		{"no usage, approval", none, KindApproval, "this signer declares no key usage, so it may sign vaccination certificates, test results and recovery certificates, but not entry approvals"},
		{"bare key, test", nil, KindTest, ""},
		{"bare key, approval", nil, KindApproval, "this signer declares no key usage, so it may sign vaccination certificates, test results and recovery certificates, but not entry approvals"},
		{"test OID, test", test, KindTest, ""},
		{"test OID, vaccination", test, KindVaccination, "this signer may only sign test results, not vaccination certificates"},
		{"test OID, approval", test, KindApproval, "this signer may only sign test results, not entry approvals"},
		{"legacy test OID, test", testLegacy, KindTest, ""},
		{"legacy test OID, recovery", testLegacy, KindRecovery, "this signer may only sign test results, not recovery certificates"},
		{"vaccination+legacy recovery, recovery", vacRec, KindRecovery, ""},
		{"vaccination+legacy recovery, test", vacRec, KindTest, "this signer may only sign vaccination certificates and recovery certificates, not test results"},
		{"approval OID, approval", approval, KindApproval, ""},
		{"approval OID, test", approval, KindTest, "this signer may only sign entry approvals, not test results"},
		{"test+approval, approval", labAndApproval, KindApproval, ""},
		{"test+approval, vaccination", labAndApproval, KindVaccination, "this signer may only sign test results and entry approvals, not vaccination certificates"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckKeyUsage(c.cert, c.kind)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed, want %q", c.want)
			}
			if !errors.Is(err, ErrKeyUsage) {
				t.Errorf("error does not match ErrKeyUsage: %v", err)
			}
			if err.Error() != c.want {
				t.Errorf("message\n got %q\nwant %q", err.Error(), c.want)
			}
		})
	}
}

func TestCheckKeyUsageUnknownKind(t *testing.T) {
	err := CheckKeyUsage(nil, "test")
	if err == nil || errors.Is(err, ErrKeyUsage) {
		t.Fatalf("kind %q: got %v, want an argument error", "test", err)
	}
}

func TestCheckKeyUsageIgnoresNonDCCUsages(t *testing.T) {
	ca := newCSCA(t, "ES")
	c, _ := ca.issue(t, dscOpts{})
	// Re-issue with standard EKUs (client auth, email protection), as the
	// ES vectors' DSCs carry.
	tmpl := *c
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.cert, c.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	withStd, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{KindVaccination, KindTest, KindRecovery} {
		if err := CheckKeyUsage(withStd, k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := CheckKeyUsage(withStd, KindApproval); !errors.Is(err, ErrKeyUsage) {
		t.Errorf("approval: got %v, want a key-usage refusal", err)
	}
}

// The approval OID must survive a round trip through crypto/x509: an arc
// of 2^31 or more (as a 2.25 UUID arc would be) makes the whole
// certificate unparseable.
func TestApprovalOIDParses(t *testing.T) {
	ca := newCSCA(t, "KR")
	c, _ := ca.issue(t, dscOpts{ekus: []asn1.ObjectIdentifier{OIDEntryApproval}})
	if got := DeclaredKinds(c); !slices.Equal(got, []string{KindApproval}) {
		t.Fatalf("DeclaredKinds = %v, want [approval]", got)
	}
	if !c.UnknownExtKeyUsage[0].Equal(OIDEntryApproval) {
		t.Fatalf("EKU parsed as %v, want %v", c.UnknownExtKeyUsage[0], OIDEntryApproval)
	}
}

// payloadKind names the DCC entry (v, t or r) a vector's payload carries,
// from its JSON or, for the common vectors that have none, its CBOR.
func payloadKind(t *testing.T, v *dccVector) string {
	t.Helper()
	var keys []string
	if v.JSON != nil {
		for k := range v.JSON {
			keys = append(keys, k)
		}
	} else {
		raw, err := hex.DecodeString(v.CBOR)
		if err != nil {
			t.Fatalf("%s: CBOR hex: %v", v.path, err)
		}
		var m map[any]any
		if err := cbor.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: CBOR: %v", v.path, err)
		}
		// The CBOR field holds either the DCC payload or the whole CWT.
		if hc, ok := m[int64(-260)].(map[any]any); ok {
			if inner, ok := hc[uint64(1)].(map[any]any); ok {
				m = inner
			}
		}
		for k := range m {
			if s, ok := k.(string); ok {
				keys = append(keys, s)
			}
		}
	}
	var found []string
	for _, k := range keys {
		if k == KindVaccination || k == KindTest || k == KindRecovery {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: payload has entries %v, want exactly one of v, t, r", v.path, found)
	}
	return found[0]
}

func TestCheckKeyUsageVectors(t *testing.T) {
	issues := loadKnownIssues(t)
	checked, refused := 0, 0
	for _, v := range loadVectors(t) {
		want, ok := v.flag("EXPECTEDKEYUSAGE")
		if !ok {
			continue
		}
		t.Run(v.path, func(t *testing.T) {
			if reason := knownIssueFor(issues, "test_expected_key_usage", v); reason != "" {
				// Upstream's harness fails here because python-cryptography
				// refuses the FI DSC: its BasicConstraints encodes cA FALSE
				// explicitly, which DER forbids. crypto/x509 accepts it and
				// the flags are sound, so the vector is checked in full.
				t.Logf("listed upstream as a known issue (%s); checked in full", reason)
			}
			st := &Store{}
			rep, err := st.Load([]byte(v.TestCtx.Certificate), LoadOptions{Source: v.path})
			if err != nil {
				t.Fatalf("loading TESTCTX.CERTIFICATE: %v", err)
			}
			if len(rep.Signers) != 1 {
				t.Fatalf("got %d signers, want 1", len(rep.Signers))
			}
			kind := payloadKind(t, v)
			err = CheckKeyUsage(rep.Signers[0].Cert, kind)
			if want && err != nil {
				t.Errorf("payload %q refused, flag says allowed (%s): %v", kind, v.TestCtx.Description, err)
			}
			if !want {
				if err == nil {
					t.Errorf("payload %q allowed, flag says refused (%s)", kind, v.TestCtx.Description)
				} else if !errors.Is(err, ErrKeyUsage) || !strings.HasPrefix(err.Error(), "this signer may only sign") {
					t.Errorf("refusal %q is not a plain key-usage message", err)
				}
				refused++
			}
		})
		checked++
	}
	if checked == 0 || refused == 0 {
		t.Fatalf("checked %d vectors, %d refusals: the suite did not run", checked, refused)
	}
	t.Logf("key usage checked on %d vectors (%d refusals)", checked, refused)
}
