package trust

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// Payload kinds a signer can be authorised for. The DCC kinds are the keys
// of the DCC payload's entry arrays ("v", "t", "r"), so a verifier passes
// what it decoded; KindApproval is Corridor's entry approval.
const (
	KindVaccination = "v"
	KindTest        = "t"
	KindRecovery    = "r"
	KindApproval    = "approval"
)

// Extended key usage identifiers that restrict what a DSC may sign.
//
// The DCC OIDs are those of the eHealth Network's hcert specification,
// annex A.4, under the JRC's enterprise number 1847. The first edition of
// that text, and the certificate-governance guide that copied it, wrote them
// as 1.3.6.1.4.1.0.1847.2021.1.x; most issuers' DSCs (and every DSC in the
// dgc-testdata vectors) carry that form, and the German and EU reference
// verifiers accept both, so this package does too.
var (
	OIDDCCTest        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1}
	OIDDCCVaccination = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2}
	OIDDCCRecovery    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3}

	OIDDCCTestLegacy        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1}
	OIDDCCVaccinationLegacy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2}
	OIDDCCRecoveryLegacy    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 3}

	// OIDEntryApproval marks a DSC allowed to sign Corridor entry
	// approvals. It sits on a private arc under joint-iso-itu-t example(999)
	// as a placeholder: the UUID arc 2.25 cannot be used, because Go's
	// crypto/x509 (and pyca/cryptography) refuse to parse a certificate
	// whose OID has an arc of 2^31 or more, and Corridor has no IANA
	// enterprise number yet. docs/trust.md says more.
	OIDEntryApproval = asn1.ObjectIdentifier{2, 999, 827520164, 924209790, 1}
)

// kindSet is a bit set of payload kinds, so the verify path checks usage
// without allocating.
type kindSet uint8

const (
	setVaccination kindSet = 1 << iota
	setTest
	setRecovery
	setApproval

	setDCC = setVaccination | setTest | setRecovery
)

var usageOIDs = []struct {
	oid  asn1.ObjectIdentifier
	kind kindSet
}{
	{OIDDCCTest, setTest},
	{OIDDCCVaccination, setVaccination},
	{OIDDCCRecovery, setRecovery},
	{OIDDCCTestLegacy, setTest},
	{OIDDCCVaccinationLegacy, setVaccination},
	{OIDDCCRecoveryLegacy, setRecovery},
	{OIDEntryApproval, setApproval},
}

// kindOrder fixes the order in which kinds are named in messages.
var kindOrder = []struct {
	bit  kindSet
	kind string
	noun string
}{
	{setVaccination, KindVaccination, "vaccination certificates"},
	{setTest, KindTest, "test results"},
	{setRecovery, KindRecovery, "recovery certificates"},
	{setApproval, KindApproval, "entry approvals"},
}

func kindBit(kind string) (kindSet, bool) {
	for _, k := range kindOrder {
		if k.kind == kind {
			return k.bit, true
		}
	}
	return 0, false
}

func declaredKinds(cert *x509.Certificate) kindSet {
	if cert == nil {
		return 0
	}
	var set kindSet
	for _, oid := range cert.UnknownExtKeyUsage {
		for _, u := range usageOIDs {
			if oid.Equal(u.oid) {
				set |= u.kind
			}
		}
	}
	return set
}

// DeclaredKinds lists the payload kinds a certificate's extended key usage
// names, in a fixed order; nil when it names none of them.
func DeclaredKinds(cert *x509.Certificate) []string {
	return kinds(declaredKinds(cert))
}

func kinds(set kindSet) []string {
	var out []string
	for _, k := range kindOrder {
		if set&k.bit != 0 {
			out = append(out, k.kind)
		}
	}
	return out
}

func nouns(set kindSet) string {
	var words []string
	for _, k := range kindOrder {
		if set&k.bit != 0 {
			words = append(words, k.noun)
		}
	}
	switch len(words) {
	case 0:
		return "nothing"
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// ErrKeyUsage is matched (errors.Is) by every refusal of CheckKeyUsage
// that is due to the signer's key usage rather than a bad argument.
var ErrKeyUsage = errors.New("signer's key usage does not cover this payload")

// usageError carries a plain sentence for the person at the scanner while
// still matching ErrKeyUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrKeyUsage }

// CheckKeyUsage reports whether a signer's certificate may sign a payload
// of the given kind (KindVaccination, KindTest, KindRecovery or
// KindApproval).
//
// The DCC rule (hcert specification, annex A.4): a DSC that names none of
// the usage OIDs may sign every DCC kind; one that names any of them may
// sign only the kinds it names. Corridor adds the entry-approval OID to the
// same set, with one difference: an entry approval needs that OID, so a DSC
// naming no usage at all may not sign one. Such DSCs are common in foreign
// trust lists, and an approval is Corridor's own statement, which only a
// signer its node marked for it may make. A nil cert (a bare key) is
// treated as naming no usage.
func CheckKeyUsage(cert *x509.Certificate, kind string) error {
	bit, ok := kindBit(kind)
	if !ok {
		return fmt.Errorf("unknown payload kind %q: want %q, %q, %q or %q",
			kind, KindVaccination, KindTest, KindRecovery, KindApproval)
	}
	declared := declaredKinds(cert)
	if declared&bit != 0 {
		return nil
	}
	if declared == 0 {
		if bit == setApproval {
			return &usageError{"this signer declares no key usage, so it may sign vaccination certificates, test results and recovery certificates, but not entry approvals"}
		}
		return nil
	}
	return &usageError{fmt.Sprintf("this signer may only sign %s, not %s", nouns(declared), nouns(bit))}
}
