package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/trust"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func initSet(t *testing.T, country string) (string, *Set) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	set, err := Init(dir, country, Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return dir, set
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestInitCreatesCSCAAndAuthority(t *testing.T) {
	dir, set := initSet(t, "CN")

	if m := mode(t, dir); m != 0o700 {
		t.Errorf("folder mode %o, want 700", m)
	}
	if m := mode(t, filepath.Join(dir, "signers")); m != 0o700 {
		t.Errorf("signers folder mode %o, want 700", m)
	}
	for _, f := range []string{"csca.crt", "csca.key", "signers/authority.crt", "signers/authority.key"} {
		if m := mode(t, filepath.Join(dir, f)); m != 0o600 {
			t.Errorf("%s mode %o, want 600", f, m)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".corridor-keys-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary folders left behind: %v", leftovers)
	}

	csca := set.CSCA
	if set.Country != "CN" || csca.Subject.Country[0] != "CN" || csca.Subject.CommonName != "Corridor CSCA CN" {
		t.Errorf("CSCA subject %s", csca.Subject)
	}
	if !csca.IsCA || !csca.BasicConstraintsValid || csca.MaxPathLen != 0 || !csca.MaxPathLenZero {
		t.Errorf("CSCA basic constraints: CA %v, pathlen %d (zero %v)", csca.IsCA, csca.MaxPathLen, csca.MaxPathLenZero)
	}
	if csca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CSCA key usage %b", csca.KeyUsage)
	}
	if err := csca.CheckSignatureFrom(csca); err != nil {
		t.Errorf("CSCA not self-signed: %v", err)
	}
	if y := csca.NotAfter.Sub(t0).Hours() / 24 / 365; y < 9.9 || y > 10.1 {
		t.Errorf("CSCA lifetime %.1f years, want about 10", y)
	}

	key, cert, kid, err := set.Signer(AuthorityName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kid, trust.Kid(cert.Raw)) {
		t.Errorf("kid %x is not that of the certificate", kid)
	}
	if !key.Public().(*ecdsa.PublicKey).Equal(cert.PublicKey) {
		t.Error("key does not match certificate")
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature || cert.IsCA {
		t.Errorf("authority DSC: key usage %b, CA %v", cert.KeyUsage, cert.IsCA)
	}
	if got := trust.DeclaredKinds(cert); !slices.Equal(got, []string{trust.KindApproval}) {
		t.Errorf("authority usage %v, want approval only", got)
	}
	if y := cert.NotAfter.Sub(t0).Hours() / 24 / 365; y < 1.9 || y > 2.1 {
		t.Errorf("DSC lifetime %.1f years, want about 2", y)
	}
	roots := x509.NewCertPool()
	roots.AddCert(csca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("authority DSC does not chain to the CSCA: %v", err)
	}
	if err := trust.CheckKeyUsage(cert, trust.KindApproval); err != nil {
		t.Errorf("authority may not sign approvals: %v", err)
	}
	if err := trust.CheckKeyUsage(cert, trust.KindTest); err == nil {
		t.Error("authority may sign test results")
	}

	// The key file is PKCS#8 PEM.
	data, err := os.ReadFile(filepath.Join(dir, "csca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(data); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatal("csca.key is not a PKCS#8 PEM block")
	} else if _, err := x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
		t.Fatal(err)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir, _ := initSet(t, "CN")
	before, err := os.ReadFile(filepath.Join(dir, "csca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, "CN", Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: got %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "csca.crt"))
	if !bytes.Equal(before, after) {
		t.Fatal("the existing CSCA was replaced")
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(other, "CN", Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("non-empty folder: got %v, want ErrExists", err)
	}
}

func TestInitIntoEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, "KR", Options{Now: t0}); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("folder mode %o, want 700", m)
	}
}

func TestInitRefusesBadCountry(t *testing.T) {
	for _, c := range []string{"", "cn", "CHN", "XX", "UK"} {
		dir := filepath.Join(t.TempDir(), "keys")
		if _, err := Init(dir, c, Options{}); err == nil {
			t.Errorf("country %q accepted", c)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("country %q: folder created anyway", c)
		}
	}
}

func TestAddLabSigner(t *testing.T) {
	dir, _ := initSet(t, "SG")
	sg, err := AddSigner(dir, "lab-1", Lab, Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if sg.Name != "lab-1" || sg.Kind != Lab || !bytes.Equal(sg.Kid, trust.Kid(sg.Cert.Raw)) {
		t.Fatalf("signer %+v", sg)
	}
	if !slices.ContainsFunc(sg.Cert.UnknownExtKeyUsage, trust.OIDDCCTest.Equal) ||
		!slices.ContainsFunc(sg.Cert.UnknownExtKeyUsage, trust.OIDDCCTestLegacy.Equal) {
		t.Errorf("lab usages %v, want both test OIDs", sg.Cert.UnknownExtKeyUsage)
	}
	if err := trust.CheckKeyUsage(sg.Cert, trust.KindTest); err != nil {
		t.Errorf("lab may not sign test results: %v", err)
	}
	for _, k := range []string{trust.KindVaccination, trust.KindRecovery, trust.KindApproval} {
		if err := trust.CheckKeyUsage(sg.Cert, k); !errors.Is(err, trust.ErrKeyUsage) {
			t.Errorf("lab signing %s: got %v, want a refusal", k, err)
		}
	}

	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Names(); !slices.Equal(got, []string{"authority", "lab-1"}) {
		t.Fatalf("Names = %v", got)
	}
	_, cert, _, err := set.Signer("lab-1")
	if err != nil || !cert.Equal(sg.Cert) {
		t.Fatalf("Signer(lab-1) = %v, %v", cert, err)
	}
	if _, _, _, err := set.Signer("lab-2"); !errors.Is(err, ErrNoSigner) {
		t.Errorf("unknown signer: got %v", err)
	}
}

func TestAddSignerRefusals(t *testing.T) {
	dir, _ := initSet(t, "CN")
	if _, err := AddSigner(dir, "lab-1", Lab, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := AddSigner(dir, "lab-1", Lab, Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate name: got %v, want ErrExists", err)
	}
	if _, err := AddSigner(dir, "authority", Authority, Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("second authority under the same name: got %v, want ErrExists", err)
	}
	for _, name := range []string{"", "Lab", "lab_1", "-lab", "../csca", strings.Repeat("a", 33)} {
		if _, err := AddSigner(dir, name, Lab, Options{}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := AddSigner(dir, "printer", SignerKind("printer"), Options{}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := AddSigner(filepath.Join(t.TempDir(), "none"), "lab-2", Lab, Options{}); err == nil {
		t.Error("added a signer to a folder with no key set")
	}
	if sg, err := AddSigner(dir, "border-office", Authority, Options{}); err != nil || sg.Kind != Authority {
		t.Errorf("second authority: %v", err)
	}
}

func TestSignerLifetimeBoundedByCSCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	set, err := Init(dir, "CN", Options{Now: t0, CSCAValidity: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, auth, _, _ := set.Signer(AuthorityName)
	if !auth.NotAfter.Equal(set.CSCA.NotAfter) {
		t.Errorf("DSC ends %s, CSCA %s: want the same", auth.NotAfter, set.CSCA.NotAfter)
	}
	if _, err := AddSigner(dir, "late", Lab, Options{Now: t0.AddDate(2, 0, 0)}); err == nil || !strings.Contains(err.Error(), "CSCA expired") {
		t.Errorf("signer after the CSCA expired: got %v", err)
	}
}

func TestLoadRefusesMismatchedKeys(t *testing.T) {
	dir, _ := initSet(t, "CN")
	if _, err := AddSigner(dir, "lab-1", Lab, Options{}); err != nil {
		t.Fatal(err)
	}
	// Put the authority's key where the lab's belongs.
	authKey, err := os.ReadFile(filepath.Join(dir, "signers", "authority.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "signers", "lab-1.key"), authKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "lab-1") {
		t.Fatalf("got %v, want ErrInvalid naming lab-1", err)
	}
}

func TestLoadRefusesForeignSigner(t *testing.T) {
	dir, _ := initSet(t, "CN")
	otherDir, _ := initSet(t, "CN")
	for _, ext := range []string{".crt", ".key"} {
		data, err := os.ReadFile(filepath.Join(otherDir, "signers", "authority"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "signers", "intruder"+ext), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(dir); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "intruder") {
		t.Fatalf("got %v, want ErrInvalid naming the intruder", err)
	}
}

// The set's trust list signs, verifies against the pinned CSCA and loads
// into a store: the path a node's list takes to its peer.
func TestTrustListFromSet(t *testing.T) {
	dir, _ := initSet(t, "KR")
	if _, err := AddSigner(dir, "lab-1", Lab, Options{Now: t0}); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := trust.SignList(set.TrustList(1, t0, t0.Add(24*time.Hour)), set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	st := &trust.Store{}
	rep, err := st.Load(data, trust.LoadOptions{Pinned: set.CSCA, At: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.List.AnchorPinned || st.Len() != 2 || len(rep.Skipped) != 0 {
		t.Fatalf("pinned %v, %d signers, skipped %v", rep.List.AnchorPinned, st.Len(), rep.Skipped)
	}
	_, labCert, labKid, _ := set.Signer("lab-1")
	got := st.Lookup(labKid)
	if len(got) != 1 || !got[0].Cert.Equal(labCert) || got[0].Country != "KR" {
		t.Fatalf("lab signer in store: %+v", got)
	}
}
