package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// gatewayEntry is one item of the EU DCC gateway's trust list
// (GET /trustList): every certificate the gateway knows, of four types.
type gatewayEntry struct {
	Kid             string `json:"kid"`
	Timestamp       string `json:"timestamp"`
	Country         string `json:"country"`
	CertificateType string `json:"certificateType"`
	Thumbprint      string `json:"thumbprint"` // hex SHA-256 of the DER
	Signature       string `json:"signature"`  // the gateway trust anchor's CMS signature; see below
	RawData         string `json:"rawData"`    // base64 DER (PEM in some dumps)
}

// ErrGatewayEntry is matched by the reasons an EU gateway entry was skipped.
var ErrGatewayEntry = errors.New("EU gateway trust-list entry not used")

func parseGateway(data []byte) ([]gatewayEntry, error) {
	var entries []gatewayEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("EU gateway trust list: %w", err)
	}
	return entries, nil
}

// applyGateway applies an EU gateway trust list to sn: CSCAs become anchors,
// and DSCs are trusted if they chain to one (from this file or already
// trusted) and are valid at `at`. Entries of other types (UPLOAD,
// AUTHENTICATION) are counted and ignored. An entry whose kid or thumbprint
// disagrees with its certificate is skipped and reported: either the file
// is corrupt or someone edited it, and a signer under a wrong kid would
// never be found anyway.
//
// The entries' "signature" field (the gateway trust anchor's signature over
// the thumbprint) is not checked: it needs the gateway's trust anchor
// certificate, which this package has no channel to obtain. Whoever hands
// this file over vouches for it, as with a single certificate.
func applyGateway(sn *snapshot, entries []gatewayEntry, at time.Time, source string, rep *Report) error {
	type parsed struct {
		n    int
		e    *gatewayEntry
		cert *x509.Certificate
	}
	var cscas, dscs []parsed
	for i := range entries {
		e := &entries[i]
		n := i + 1
		switch e.CertificateType {
		case "CSCA", "DSC":
		default:
			rep.Ignored++
			continue
		}
		cert, err := checkGatewayEntry(e)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Errorf("%w: entry %d (%s %s, kid %s): %w", ErrGatewayEntry, n, e.Country, e.CertificateType, e.Kid, err))
			continue
		}
		if e.CertificateType == "CSCA" {
			cscas = append(cscas, parsed{n, e, cert})
		} else {
			dscs = append(dscs, parsed{n, e, cert})
		}
	}
	for _, p := range cscas {
		if err := sn.addAnchor(p.cert); err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Errorf("%w: entry %d (%s CSCA): %w", ErrGatewayEntry, p.n, p.e.Country, err))
			continue
		}
		rep.Anchors = append(rep.Anchors, p.cert)
	}
	for _, p := range dscs {
		sg := NewSigner(p.cert, source)
		sg.Country = p.e.Country
		added, err := sn.addDSC(sg, at)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Errorf("%w: entry %d (%s DSC, kid %s): %w", ErrGatewayEntry, p.n, p.e.Country, p.e.Kid, err))
			continue
		}
		rep.Signers = append(rep.Signers, added)
	}
	return nil
}

func checkGatewayEntry(e *gatewayEntry) (*x509.Certificate, error) {
	if !ValidCountry(e.Country) {
		return nil, fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code", e.Country)
	}
	der, err := gatewayDER(e.RawData)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	want := Kid(der)
	got, err := decodeBase64(e.Kid)
	if err != nil {
		return nil, fmt.Errorf("%w: the kid is not base64 (the certificate's kid is %s)", ErrKidCert, KidString(want))
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("%w: the entry says kid %s, its certificate has kid %s", ErrKidCert, e.Kid, KidString(want))
	}
	if e.Thumbprint != "" {
		sum := sha256.Sum256(der)
		if tp, err := hex.DecodeString(e.Thumbprint); err != nil || !bytes.Equal(tp, sum[:]) {
			return nil, fmt.Errorf("the thumbprint %s does not match its certificate (%x)", e.Thumbprint, sum)
		}
	}
	return cert, nil
}

func gatewayDER(raw string) ([]byte, error) {
	if raw == "" {
		return nil, errors.New("rawData is empty")
	}
	if certs, ok, err := parsePEMCerts([]byte(raw)); ok {
		if err != nil {
			return nil, err
		}
		if len(certs) != 1 {
			return nil, fmt.Errorf("rawData holds %d certificates, want 1", len(certs))
		}
		return certs[0].Raw, nil
	}
	der, err := decodeBase64(raw)
	if err != nil {
		return nil, errors.New("rawData is neither base64 DER nor PEM")
	}
	return der, nil
}
