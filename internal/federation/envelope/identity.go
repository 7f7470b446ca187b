package envelope

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/trust"
)

// OIDFederation marks a certificate allowed to sign federation messages
// between nodes. It is the next number on the placeholder arc of
// trust.OIDEntryApproval (…924209790.1), for the same reasons (docs/trust.md).
// A node's federation signer carries this usage and no other, and its DSCs
// never carry it, so a lab or authority key cannot speak for the node and
// the federation key cannot sign a credential.
var OIDFederation = asn1.ObjectIdentifier{2, 999, 827520164, 924209790, 2}

// The federation key pair sits at the top of a node's key folder, beside
// csca.crt, and not under signers/: keys.Load reads every certificate there
// as a DSC and would refuse one with this usage.
const (
	CertFile = "federation.crt"
	KeyFile  = "federation.key"
)

// DefaultValidity is a federation certificate's lifetime when
// keys.Options.SignerValidity is zero; like a DSC's, never past the CSCA.
const DefaultValidity = 2 * 365 * 24 * time.Hour

// backdate covers a peer whose clock runs slow, as for keys' certificates.
const backdate = time.Hour

// Identity is what a node signs federation messages with.
type Identity struct {
	Country string
	Cert    *x509.Certificate
	Key     crypto.Signer
	CSCA    *x509.Certificate
}

// Issue makes a new federation identity from a key set's CSCA, in memory.
// opts.Now is the creation time and opts.SignerValidity the lifetime.
func Issue(set *keys.Set, opts keys.Options) (*Identity, error) {
	if set == nil || set.CSCA == nil || set.CSCAKey() == nil {
		return nil, errors.New("federation identity: a key set with its CSCA key is needed")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	csca := set.CSCA
	if now.After(csca.NotAfter) {
		return nil, fmt.Errorf("federation identity: the CSCA expired on %s", csca.NotAfter.Format(time.DateOnly))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("federation identity: generating a P-256 key: %w", err)
	}
	// 127 random bits: unique without a counter, positive as RFC 5280 wants.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("federation identity: serial number: %w", err)
	}
	serial.Add(serial, big.NewInt(1))
	validity := opts.SignerValidity
	if validity <= 0 {
		validity = DefaultValidity
	}
	notBefore, notAfter := now.Add(-backdate), now.Add(validity)
	if notBefore.Before(csca.NotBefore) {
		notBefore = csca.NotBefore
	}
	if notAfter.After(csca.NotAfter) {
		notAfter = csca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{Country: []string{set.Country}, CommonName: "Corridor federation " + set.Country},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{OIDFederation},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, csca, key.Public(), set.CSCAKey())
	if err != nil {
		return nil, fmt.Errorf("federation identity: creating the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	return &Identity{Country: set.Country, Cert: cert, Key: key, CSCA: csca}, nil
}

// Create issues a federation identity from the CSCA in the key folder dir
// and writes it there as federation.crt and federation.key (mode 0600).
// It never replaces existing files: rotating the key is a new folder, as
// for the CSCA, or removing the two files by hand.
func Create(dir string, opts keys.Options) (*Identity, error) {
	set, err := keys.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	id, err := Issue(set, opts)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, fmt.Errorf("federation identity: encoding the key: %w", err)
	}
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	// The key goes first: Load goes by the certificate, so a crash between
	// the two writes leaves a key without a certificate, never the reverse.
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	if err := writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw})); err != nil {
		os.Remove(keyPath)
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	return id, nil
}

// Load reads the federation identity from the key folder dir and checks
// that its certificate was issued by the folder's CSCA for federation use
// and that the key is the certificate's.
func Load(dir string) (*Identity, error) {
	set, err := keys.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certDER, err := readPEM(certPath, "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("federation identity: %s: %w", certPath, err)
	}
	keyDER, err := readPEM(keyPath, "PRIVATE KEY")
	if err != nil {
		return nil, fmt.Errorf("federation identity: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("federation identity: %s: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("federation identity: %s holds a %T, want an ECDSA P-256 key", keyPath, k)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("federation identity: %s is not the key of %s", keyPath, certPath)
	}
	if err := checkSigner(cert, set.CSCA); err != nil {
		return nil, fmt.Errorf("federation identity: %s: %w", certPath, err)
	}
	return &Identity{Country: set.Country, Cert: cert, Key: key, CSCA: set.CSCA}, nil
}

// checkSigner tells whether cert may sign federation messages for the
// country of csca, regardless of time: issued by csca, federation usage,
// same country, an ECDSA P-256 key.
func checkSigner(cert, csca *x509.Certificate) error {
	if !bytes.Equal(cert.RawIssuer, csca.RawSubject) {
		return fmt.Errorf("the signer %q was not issued by the pinned CSCA %q", cert.Subject, csca.Subject)
	}
	if err := cert.CheckSignatureFrom(csca); err != nil {
		return fmt.Errorf("the signer %q does not carry a valid signature of the pinned CSCA: %w", cert.Subject, err)
	}
	if !hasFederationUsage(cert) {
		return fmt.Errorf("the signer %q is not marked for federation messages (extended key usage %s)", cert.Subject, OIDFederation)
	}
	if len(cert.Subject.Country) != 1 || len(csca.Subject.Country) != 1 || cert.Subject.Country[0] != csca.Subject.Country[0] {
		return fmt.Errorf("the signer's country %v is not the pinned CSCA's %v", cert.Subject.Country, csca.Subject.Country)
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return fmt.Errorf("the signer's key is %T, want ECDSA P-256", cert.PublicKey)
	}
	return nil
}

func hasFederationUsage(cert *x509.Certificate) bool {
	for _, oid := range cert.UnknownExtKeyUsage {
		if oid.Equal(OIDFederation) {
			return true
		}
	}
	return false
}

// checkValidAt tells whether both the signer and its CSCA were valid at t.
func checkValidAt(cert, csca *x509.Certificate, t time.Time) error {
	for _, c := range []*x509.Certificate{cert, csca} {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return fmt.Errorf("%q is valid from %s to %s, not at %s", c.Subject,
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// pinnedCountry checks a pinned CSCA once per call, so a caller's mistake
// is an argument error rather than a refusal of the peer.
func pinnedCountry(csca *x509.Certificate) (string, error) {
	if csca == nil {
		return "", errors.New("no pinned peer CSCA given")
	}
	if !csca.BasicConstraintsValid || !csca.IsCA || len(csca.Subject.Country) != 1 || !trust.ValidCountry(csca.Subject.Country[0]) {
		return "", fmt.Errorf("the pinned peer certificate %q is not a country signing CA", csca.Subject)
	}
	return csca.Subject.Country[0], nil
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, rest := pem.Decode(data)
	if b == nil || b.Type != typ || len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%s must hold exactly one PEM %q block", path, typ)
	}
	return b.Bytes, nil
}

// writeNew creates path with data, complete or not at all, and never
// replaces an existing file: a synced temporary file is hard-linked to
// path, which fails if path exists.
func writeNew(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to replace key material", path)
		}
		return err
	}
	return nil
}
