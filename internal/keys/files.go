package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/corridorlane/corridor/internal/trust"
)

// Folder layout (docs/keys.md):
//
//	<dir>/              0700
//	  csca.crt          CSCA certificate, PEM
//	  csca.key          CSCA private key, PKCS#8 PEM
//	  signers/          0700
//	    <name>.crt      DSC certificate, PEM
//	    <name>.key      DSC private key, PKCS#8 PEM
//
// Every file is 0600: nothing here is meant for other users, and the
// certificates are published through trust lists, not read from here.
const (
	cscaCert   = "csca.crt"
	cscaKey    = "csca.key"
	signersDir = "signers"
	certExt    = ".crt"
	keyExt     = ".key"
	dirMode    = 0o700
	fileMode   = 0o600
)

// Init creates a node's key set in dir: a CSCA for country (an ISO 3166-1
// alpha-2 code) and the authority DSC. dir must not exist or be empty;
// Init never overwrites key material. The set appears whole or not at all:
// it is built in a temporary folder beside dir and renamed into place.
func Init(dir, country string, opts Options) (*Set, error) {
	if !trust.ValidCountry(country) {
		return nil, fmt.Errorf("keys: %q is not an ISO 3166-1 alpha-2 country code (upper case, like CN or KR)", country)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("keys: %w: %s is not empty; refusing to overwrite it", ErrExists, dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, dirMode); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".corridor-keys-*")
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place

	if err := initIn(tmp, country, opts); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	// os.Rename never replaces a directory, so an empty dir is removed
	// first; os.Remove fails on a folder filled in the meantime, and
	// Rename on one created in the meantime, so nothing is clobbered.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: %w: %s: %w", ErrExists, dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("keys: %w: moving the new set into %s: %w", ErrExists, dir, err)
	}
	return Load(dir)
}

func initIn(dir, country string, opts Options) error {
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	csca, err := createCSCA(country, key, opts)
	if err != nil {
		return err
	}
	if err := writeKeyPair(dir, "csca", csca, key); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, signersDir), dirMode); err != nil {
		return err
	}
	_, err = addSigner(dir, csca, key, AuthorityName, Authority, opts)
	return err
}

// AddSigner issues a new DSC from the CSCA in dir: for a lab (it may sign
// test results) or another authority (it may sign entry approvals). name
// is 1 to 32 of a-z, 0-9 and '-', and must be new.
func AddSigner(dir, name string, kind SignerKind, opts Options) (*Signer, error) {
	if !trust.ValidSignerName(name) {
		return nil, fmt.Errorf("keys: signer name %q: use 1 to 32 of a-z, 0-9 and '-', not starting or ending with '-'", name)
	}
	if !kind.Valid() {
		return nil, fmt.Errorf("keys: signer kind %q: want %q or %q", kind, Authority, Lab)
	}
	set, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if _, dup := set.signers[name]; dup {
		return nil, fmt.Errorf("keys: %w: a signer named %q is already in %s", ErrExists, name, dir)
	}
	sg, err := addSigner(dir, set.CSCA, set.cscaKey, name, kind, opts)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return sg, nil
}

func addSigner(dir string, csca *x509.Certificate, cscaKey crypto.Signer, name string, kind SignerKind, opts Options) (*Signer, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	cert, err := createDSC(name, kind, csca, cscaKey, key, opts)
	if err != nil {
		return nil, err
	}
	if err := writeKeyPair(filepath.Join(dir, signersDir), name, cert, key); err != nil {
		return nil, err
	}
	return &Signer{Name: name, Kind: kind, Key: key, Cert: cert, Kid: trust.Kid(cert.Raw)}, nil
}

// writeKeyPair writes the key before the certificate: Load goes by the
// certificates, so it never finds a certificate without its key.
func writeKeyPair(dir, base string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the %s key: %w", base, err)
	}
	keyPath := filepath.Join(dir, base+keyExt)
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, base+certExt), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})); err != nil {
		os.Remove(keyPath)
		return err
	}
	return nil
}

// writeNew creates path with data, complete or not at all, and never
// replaces an existing file: the data goes to a temporary file that is
// synced and then hard-linked to path, which fails if path exists.
func writeNew(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return err
	}
	return nil
}

// Load reads a key set and checks it hangs together: each key matches its
// certificate, the CSCA is a CA for a valid country, and every DSC was
// issued by the CSCA and carries the usage of an authority or a lab.
func Load(dir string) (*Set, error) {
	csca, key, err := readKeyPair(dir, "csca")
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", dir, err)
	}
	if !csca.BasicConstraintsValid || !csca.IsCA {
		return nil, fmt.Errorf("keys: %w: %s is not a CA certificate", ErrInvalid, filepath.Join(dir, cscaCert))
	}
	if len(csca.Subject.Country) != 1 || !trust.ValidCountry(csca.Subject.Country[0]) {
		return nil, fmt.Errorf("keys: %w: the CSCA's subject has no valid country (C=%v)", ErrInvalid, csca.Subject.Country)
	}
	set := &Set{Dir: dir, Country: csca.Subject.Country[0], CSCA: csca, cscaKey: key, signers: map[string]*Signer{}}

	sdir := filepath.Join(dir, signersDir)
	entries, err := os.ReadDir(sdir)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), certExt)
		if !ok || e.IsDir() {
			continue
		}
		if !trust.ValidSignerName(name) {
			return nil, fmt.Errorf("keys: %w: %s is not a valid signer name", ErrInvalid, filepath.Join(sdir, e.Name()))
		}
		cert, skey, err := readKeyPair(sdir, name)
		if err != nil {
			return nil, fmt.Errorf("keys: signer %q: %w", name, err)
		}
		if err := cert.CheckSignatureFrom(csca); err != nil || !bytes.Equal(cert.RawIssuer, csca.RawSubject) {
			return nil, fmt.Errorf("keys: %w: signer %q was not issued by this folder's CSCA", ErrInvalid, name)
		}
		kind, err := kindOf(cert)
		if err != nil {
			return nil, fmt.Errorf("keys: %w: signer %q: %w", ErrInvalid, name, err)
		}
		set.signers[name] = &Signer{Name: name, Kind: kind, Key: skey, Cert: cert, Kid: trust.Kid(cert.Raw)}
	}
	return set, nil
}

func readKeyPair(dir, base string) (*x509.Certificate, crypto.Signer, error) {
	certPath, keyPath := filepath.Join(dir, base+certExt), filepath.Join(dir, base+keyExt)
	cert, err := readCert(certPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%w: %s is not the key of %s", ErrInvalid, keyPath, certPath)
	}
	return cert, key, nil
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, rest := pem.Decode(data)
	if b == nil || b.Type != typ || len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: %s must hold exactly one PEM %q block", ErrInvalid, path, typ)
	}
	return b.Bytes, nil
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	return c, nil
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %s holds a %T, want an ECDSA P-256 key", ErrInvalid, path, k)
	}
	return ec, nil
}
