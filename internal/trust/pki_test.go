package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// Test PKI: real P-256 keys and certificates, made fresh for each test.

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64

func nextSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

func newCSCA(t testing.TB, country string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{Country: []string{country}, CommonName: "Test CSCA " + country},
		NotBefore:             t0.AddDate(-1, 0, 0),
		NotAfter:              t0.AddDate(9, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
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
	return &testCA{cert: cert, key: key}
}

type dscOpts struct {
	name      string
	notBefore time.Time
	notAfter  time.Time
	ekus      []asn1.ObjectIdentifier
	key       crypto.Signer
}

func (ca *testCA) issue(t testing.TB, o dscOpts) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	if o.notBefore.IsZero() {
		o.notBefore = t0.AddDate(0, -1, 0)
	}
	if o.notAfter.IsZero() {
		o.notAfter = t0.AddDate(1, 0, 0)
	}
	if o.name == "" {
		o.name = "dsc"
	}
	key := o.key
	if key == nil {
		key = newKey(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber:       nextSerial(),
		Subject:            pkix.Name{Country: ca.cert.Subject.Country, CommonName: o.name},
		NotBefore:          o.notBefore,
		NotAfter:           o.notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage: o.ekus,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
