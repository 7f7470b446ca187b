package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
)

// Format is a kind of trust input LoadFile understands.
type Format int

// Trust input formats.
const (
	FormatUnknown      Format = iota
	FormatCorridorList        // a signed Corridor trust list
	FormatEUGateway           // the EU DCC gateway's trust-list JSON
	FormatCertificate         // certificates as PEM, DER or base64 DER text
)

func (f Format) String() string {
	switch f {
	case FormatCorridorList:
		return "Corridor trust list"
	case FormatEUGateway:
		return "EU gateway trust list"
	case FormatCertificate:
		return "certificate"
	}
	return "unknown format"
}

// MaxInput bounds what Load reads: the EU gateway's full list is a few MB.
const MaxInput = 64 << 20

// LoadOptions tune Load and LoadFile.
type LoadOptions struct {
	// Pinned is the CSCA a Corridor trust list must be signed by. Without
	// one, the list's own CSCA is the anchor once its signature checks
	// out, and Report.List.AnchorPinned says so.
	Pinned *x509.Certificate
	// At is the time at which DSCs added through a CSCA must be valid;
	// the zero value means now.
	At time.Time
	// Source labels the signers added (Signer.Source); LoadFile defaults
	// it to the path.
	Source string
}

// Report says what one Load added and what it left out.
type Report struct {
	Format  Format
	Anchors []*x509.Certificate // CSCAs the input made trusted
	Signers []*Signer           // signers the input made trusted
	// Skipped holds one error per entry left out, naming the entry and
	// why; the rest of the input was applied.
	Skipped []error
	// Ignored counts EU gateway entries of types a verifier does not use
	// (UPLOAD, AUTHENTICATION).
	Ignored int
	// List is the verified Corridor trust list, for FormatCorridorList.
	List *List
}

// LoadFile reads path with Load.
func (s *Store) LoadFile(path string, opts LoadOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust input: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("trust input %s: %w", path, err)
	}
	if opts.Source == "" {
		opts.Source = path
	}
	rep, err := s.Load(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// Load detects the format of data and adds what it holds to the store, in
// one write: a Corridor trust list (verified with VerifyList; its CSCA
// becomes an anchor and its DSCs valid at opts.At are trusted), an EU
// gateway trust list (CSCAs become anchors, DSCs are trusted if they chain
// to one), or one or more certificates as PEM, DER or base64 DER text,
// trusted directly (a CA certificate also becomes an anchor, and is a
// signer only if its key usage allows signing documents).
//
// An input that cannot be read, or a Corridor list that fails
// verification, changes nothing and returns an error. Entries that are
// merely unusable (expired, not chaining, a kid mismatch) are left out and
// listed in Report.Skipped.
func (s *Store) Load(data []byte, opts LoadOptions) (*Report, error) {
	if len(data) > MaxInput {
		return nil, fmt.Errorf("trust input is larger than %d bytes", MaxInput)
	}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	format, err := detectFormat(data)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: format}
	switch format {
	case FormatCorridorList:
		if rep.List, err = VerifyList(data, opts.Pinned); err != nil {
			return nil, err
		}
		err = s.edit(func(sn *snapshot) error { return applyList(sn, rep.List, at, opts.Source, rep) })
	case FormatEUGateway:
		var entries []gatewayEntry
		if entries, err = parseGateway(data); err != nil {
			return nil, err
		}
		err = s.edit(func(sn *snapshot) error { return applyGateway(sn, entries, at, opts.Source, rep) })
	default:
		var certs []*x509.Certificate
		if certs, err = parseCertificates(data); err != nil {
			return nil, err
		}
		err = s.edit(func(sn *snapshot) error { return applyCertificates(sn, certs, opts.Source, rep) })
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func applyList(sn *snapshot, l *List, at time.Time, source string, rep *Report) error {
	if err := sn.addAnchor(l.CSCA); err != nil {
		return err
	}
	rep.Anchors = append(rep.Anchors, l.CSCA)
	for i, e := range l.Entries {
		sg := NewSigner(e.Cert, source)
		sg.Country = l.Country
		added, err := sn.addDSC(sg, at)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Errorf("entry %d (%q, kid %s): %w", i+1, e.Name, KidString(e.Kid), err))
			continue
		}
		rep.Signers = append(rep.Signers, added)
	}
	return nil
}

// applyCertificates trusts certificates given on their own. A CA
// certificate also becomes an anchor, so DSCs it issued can follow; it is
// trusted as a signer too unless its key usage rules out signing documents
// (some issuers, ES among the vectors, sign DCCs with the CSCA itself).
func applyCertificates(sn *snapshot, certs []*x509.Certificate, source string, rep *Report) error {
	for _, c := range certs {
		if c.BasicConstraintsValid && c.IsCA {
			if err := sn.addAnchor(c); err != nil {
				return err
			}
			rep.Anchors = append(rep.Anchors, c)
			if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
				continue
			}
		}
		added, err := sn.addDirect(NewSigner(c, source))
		if err != nil {
			return err
		}
		rep.Signers = append(rep.Signers, added)
	}
	return nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func detectFormat(data []byte) (Format, error) {
	if len(data) > 0 && data[0] == 0x30 {
		return FormatCertificate, nil // DER: a SEQUENCE
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	switch {
	case len(t) == 0:
		return FormatUnknown, errors.New("trust input is empty")
	case t[0] == '{':
		return FormatCorridorList, nil
	case t[0] == '[':
		return FormatEUGateway, nil
	}
	return FormatCertificate, nil
}

// parseCertificates reads PEM (every CERTIFICATE block), DER, or base64
// DER text such as the dgc-testdata vectors' TESTCTX.CERTIFICATE.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > 0 && data[0] == 0x30 {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("DER certificate: %w", err)
		}
		return []*x509.Certificate{c}, nil
	}
	if certs, ok, err := parsePEMCerts(data); ok {
		return certs, err
	}
	der, err := decodeBase64(strings.Map(dropSpace, string(bytes.TrimPrefix(data, utf8BOM))))
	if err != nil {
		return nil, errors.New("trust input is not a trust list, PEM, DER or base64 DER certificate")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("base64 certificate: %w", err)
	}
	return []*x509.Certificate{c}, nil
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

// parsePEMCerts reads every CERTIFICATE block; ok is false when data holds
// no PEM at all. Blocks of other types are refused rather than skipped, so
// a private key pasted by mistake is noticed.
func parsePEMCerts(data []byte) (certs []*x509.Certificate, ok bool, err error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		ok = true
		if b.Type != "CERTIFICATE" {
			return nil, true, fmt.Errorf("PEM block %q is not a certificate", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, true, fmt.Errorf("PEM certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	return certs, ok, nil
}
