package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// The example of the DSSE protocol document.
func TestPAE(t *testing.T) {
	got := string(pae("http://example.com/HelloWorld", []byte("hello world")))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if got != want {
		t.Fatalf("PAE = %q, want %q", got, want)
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	ca := newCSCA(t, "CN")
	data, err := SealEnvelope("application/x-test", []byte("payload bytes"), ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	if env.PayloadType != "application/x-test" || string(env.Payload) != "payload bytes" || KidString(env.KeyID) != KidString(Kid(ca.cert.Raw)) {
		t.Fatalf("envelope = %+v", env)
	}
	if err := env.VerifyWith(ca.cert); err != nil {
		t.Fatal(err)
	}
	// The payload type is signed: the same bytes under another type fail.
	env.PayloadType = "application/x-other"
	if err := env.VerifyWith(ca.cert); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("retyped payload: got %v", err)
	}
}

func TestEnvelopeRefusesMalformed(t *testing.T) {
	cases := map[string]string{
		"two signatures": `{"payloadType":"t","payload":"YQ==","signatures":[{"sig":"AA=="},{"sig":"AA=="}]}`,
		"no signature":   `{"payloadType":"t","payload":"YQ==","signatures":[]}`,
		"no type":        `{"payload":"YQ==","signatures":[{"sig":"AA=="}]}`,
		"bad payload":    `{"payloadType":"t","payload":"%%%","signatures":[{"sig":"AA=="}]}`,
		"loose padding":  `{"payloadType":"t","payload":"YR==","signatures":[{"sig":"AA=="}]}`,
		"bad keyid":      `{"payloadType":"t","payload":"YQ==","signatures":[{"keyid":"%","sig":"AA=="}]}`,
		"unknown field":  `{"payloadType":"t","payload":"YQ==","signatures":[{"sig":"AA=="}],"extra":1}`,
		"trailing data":  `{"payloadType":"t","payload":"YQ==","signatures":[{"sig":"AA=="}]} {}`,
	}
	for name, doc := range cases {
		if _, err := ParseEnvelope([]byte(doc)); !errors.Is(err, ErrEnvelope) {
			t.Errorf("%s: got %v, want ErrEnvelope", name, err)
		}
	}
}

func TestEnvelopeKeyIDMustNameSigner(t *testing.T) {
	ca, other := newCSCA(t, "CN"), newCSCA(t, "CN")
	data, err := SealEnvelope("t", []byte("x"), ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	env.KeyID = Kid(other.cert.Raw)
	if err := env.VerifyWith(ca.cert); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "names signer kid") {
		t.Fatalf("got %v", err)
	}
	env.KeyID = nil // absent is allowed: DSSE makes it optional
	if err := env.VerifyWith(ca.cert); err != nil {
		t.Fatal(err)
	}
}

func TestSealRefusesForeignKey(t *testing.T) {
	ca := newCSCA(t, "CN")
	if _, err := SealEnvelope("t", nil, ca.cert, newKey(t)); err == nil {
		t.Fatal("sealed with a key that is not the certificate's")
	}
}

// Lists are signed with P-256 only; a P-384 CSCA is refused both ways.
func TestEnvelopeRefusesOtherCurves(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SealEnvelope("t", []byte("x"), cert, key); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("seal with P-384: got %v", err)
	}
	env := &Envelope{PayloadType: "t", Payload: []byte("x"), Signature: []byte{0x30, 0}}
	if err := env.VerifyWith(cert); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("verify with P-384: got %v", err)
	}
}
