package envelope

import (
	"crypto/ecdsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/trust"
)

func TestCreateAndLoadIdentity(t *testing.T) {
	n := newNode(t, "CN")
	for _, f := range []string{CertFile, KeyFile} {
		st, err := os.Stat(filepath.Join(n.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	c := n.id.Cert
	if c.Subject.Country[0] != "CN" || !strings.Contains(c.Subject.CommonName, "federation") {
		t.Errorf("subject %v", c.Subject)
	}
	if len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(OIDFederation) || len(c.ExtKeyUsage) != 0 {
		t.Errorf("extended key usage %v %v, want only the federation OID", c.UnknownExtKeyUsage, c.ExtKeyUsage)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature || c.IsCA {
		t.Errorf("key usage %v, CA %v", c.KeyUsage, c.IsCA)
	}
	if err := c.CheckSignatureFrom(n.set.CSCA); err != nil {
		t.Errorf("not issued by the CSCA: %v", err)
	}
	if !c.NotAfter.After(t0.AddDate(1, 11, 0)) || c.NotAfter.After(n.set.CSCA.NotAfter) {
		t.Errorf("valid until %s", c.NotAfter)
	}
	// The federation key speaks for no credential kind, and no DSC carries
	// the federation usage.
	if k := trust.DeclaredKinds(c); k != nil {
		t.Errorf("the federation certificate declares credential kinds %v", k)
	}
	for _, s := range n.set.Signers() {
		if hasFederationUsage(s.Cert) {
			t.Errorf("DSC %s carries the federation usage", s.Name)
		}
	}

	got, err := Load(n.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(n.id.Cert) || !got.Key.Public().(*ecdsa.PublicKey).Equal(n.id.Key.Public()) || got.Country != "CN" {
		t.Error("Load did not read back what Create wrote")
	}
	// The key folder still loads: the new files are outside signers/.
	set, err := keys.Load(n.dir)
	if err != nil {
		t.Fatalf("keys.Load after Create: %v", err)
	}
	if !slices.Equal(set.Names(), n.set.Names()) {
		t.Errorf("signers %v, want %v", set.Names(), n.set.Names())
	}
	if _, err := Create(n.dir, keys.Options{Now: t0}); err == nil {
		t.Error("Create replaced an existing federation identity")
	}
	again, err := Load(n.dir)
	if err != nil || !again.Cert.Equal(n.id.Cert) {
		t.Errorf("a refused Create changed the identity: %v", err)
	}
}

func TestLoadRefusesForeignOrMismatchedMaterial(t *testing.T) {
	cn, kr := newNode(t, "CN"), newNode(t, "KR")
	copyFile := func(t *testing.T, from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("certificate of another CSCA", func(t *testing.T) {
		copyFile(t, filepath.Join(kr.dir, CertFile), filepath.Join(cn.dir, CertFile))
		copyFile(t, filepath.Join(kr.dir, KeyFile), filepath.Join(cn.dir, KeyFile))
		if _, err := Load(cn.dir); err == nil || !strings.Contains(err.Error(), "not issued by the pinned CSCA") {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("key of another certificate", func(t *testing.T) {
		other := newNode(t, "CN")
		copyFile(t, filepath.Join(kr.dir, KeyFile), filepath.Join(other.dir, KeyFile))
		if _, err := Load(other.dir); err == nil || !strings.Contains(err.Error(), "is not the key of") {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("a DSC in the federation's place", func(t *testing.T) {
		n := newNode(t, "CN")
		copyFile(t, filepath.Join(n.dir, "signers", "authority.crt"), filepath.Join(n.dir, CertFile))
		copyFile(t, filepath.Join(n.dir, "signers", "authority.key"), filepath.Join(n.dir, KeyFile))
		if _, err := Load(n.dir); err == nil || !strings.Contains(err.Error(), "not marked for federation") {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "k")
		if _, err := keys.Init(dir, "CN", keys.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil {
			t.Error("Load without federation files succeeded")
		}
	})
}

func TestIssueNeverOutlivesTheCSCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "k")
	set, err := keys.Init(dir, "KR", keys.Options{Now: t0, CSCAValidity: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id, err := Issue(set, keys.Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if !id.Cert.NotAfter.Equal(set.CSCA.NotAfter) {
		t.Errorf("federation certificate ends %s, CSCA %s", id.Cert.NotAfter, set.CSCA.NotAfter)
	}
	if _, err := Issue(set, keys.Options{Now: t0.AddDate(1, 0, 0)}); err == nil {
		t.Error("issued from an expired CSCA")
	}
}
