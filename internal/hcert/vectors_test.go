package hcert

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/corridorlane/corridor/internal/base45"
	"github.com/corridorlane/corridor/internal/testdata"
)

// vector is one file of the EU DCC test data (dgc-testdata). Only the
// fields of the steps this package owns are read; the picture, schema,
// expiry and key-usage flags (and the misspelt EXPTECTEDEXPIRED, and the
// _2DCODE / 2DCODE picture keys) belong to other layers.
type vector struct {
	Prefix     string `json:"PREFIX"`
	Base45     string `json:"BASE45"`
	Compressed string `json:"COMPRESSED"` // hex
	COSE       string `json:"COSE"`       // hex
	CBOR       string `json:"CBOR"`       // hex: the DCC payload
	Context    struct {
		Certificate string `json:"CERTIFICATE"` // base64 DER of the signer
		Description string `json:"DESCRIPTION"`
	} `json:"TESTCTX"`
	Expected map[string]bool `json:"EXPECTEDRESULTS"`
}

// knownBadVerify lists vectors whose EXPECTEDVERIFY is true although their
// signature cannot verify; upstream's own harness fails them too, and each
// is a row of dcc/known_issues.csv (checked below). These vectors are
// asserted to FAIL verification, for the reason given.
var knownBadVerify = map[string]string{
	// dgc-testdata issue 228: the header says ES256 (alg -7) but the
	// signer's key is P-384 and the signature 96 bytes, i.e. ES384.
	"ES/401": "ES256 header with a P-384 key",
	"ES/402": "ES256 header with a P-384 key",
	"ES/403": "ES256 header with a P-384 key",
}

// stepOrder ranks the decoding steps; a step that succeeded passed all
// before it. Verification comes after them all.
var stepOrder = []Step{StepPrefix, StepBase45, StepZlib, StepCOSE, StepCWT}

// failedStep returns the step at which Decode failed, or "" on success.
func failedStep(t *testing.T, err error) Step {
	t.Helper()
	if err == nil {
		return ""
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Decode error is %T, not *DecodeError: %v", err, err)
	}
	if !slices.Contains(stepOrder, de.Step) {
		t.Fatalf("Decode error names unknown step %q", de.Step)
	}
	return de.Step
}

// passed reports whether decoding got past step.
func passed(failed, step Step) bool {
	return failed == "" || slices.Index(stepOrder, failed) > slices.Index(stepOrder, step)
}

func TestDCCVectors(t *testing.T) {
	root := testdata.Path(t, "dcc")
	files, err := filepath.Glob(filepath.Join(root, "*", "2DCode", "raw", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 150 {
		t.Fatalf("found %d vector files under %s, expected the full set (152)", len(files), root)
	}
	checkKnownIssues(t, root)

	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		name := strings.TrimSuffix(strings.Replace(rel, "/2DCode/raw/", "/", 1), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var v vector
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			checkVector(t, name, v)
		})
	}
}

func checkVector(t *testing.T, name string, v vector) {
	u, err := Decode(v.Prefix)
	failed := failedStep(t, err)
	t.Logf("%s: %s; decode: %v", name, v.Context.Description, err)

	// wantStep checks a flag whose step is one of steps: true means decoding
	// got past them all, false that it failed at one of them, not earlier
	// and not later.
	wantStep := func(flag string, steps ...Step) (want, tested bool) {
		want, tested = v.Expected[flag]
		if !tested {
			return false, false
		}
		last := steps[len(steps)-1]
		switch {
		case want && !passed(failed, last):
			t.Errorf("%s true, but decoding failed at step %s: %v", flag, failed, err)
		case !want && !slices.Contains(steps, failed):
			t.Errorf("%s false, want a failure at step %v, got step %q (err %v)", flag, steps, failed, err)
		}
		return want, true
	}

	if want, _ := wantStep("EXPECTEDUNPREFIX", StepPrefix); want && v.Base45 != "" {
		if got := strings.TrimPrefix(v.Prefix, Prefix); got != v.Base45 {
			t.Errorf("PREFIX without %q differs from BASE45", Prefix)
		}
	}

	if want, _ := wantStep("EXPECTEDB45DECODE", StepBase45); want && v.Compressed != "" {
		compressed := mustHex(t, v.Compressed)
		for _, text := range []string{strings.TrimPrefix(v.Prefix, Prefix), v.Base45} {
			if text == "" {
				continue
			}
			got, err := base45.Decode(text)
			if err != nil {
				t.Errorf("base45.Decode: %v", err)
			} else if !bytes.Equal(got, compressed) {
				t.Errorf("base45.Decode differs from COMPRESSED")
			}
		}
	}

	if want, _ := wantStep("EXPECTEDCOMPRESSION", StepZlib); want && v.COSE != "" {
		cose := mustHex(t, v.COSE)
		if u != nil && !bytes.Equal(u.COSE, cose) {
			t.Errorf("inflated message differs from COSE")
		}
		if v.Compressed != "" {
			got, err := inflate(mustHex(t, v.Compressed))
			if err != nil {
				t.Errorf("inflating COMPRESSED: %v", err)
			} else if !bytes.Equal(got, cose) {
				t.Errorf("inflated COMPRESSED differs from COSE")
			}
		}
	}

	if want, _ := wantStep("EXPECTEDDECODE", StepCOSE, StepCWT); want && v.CBOR != "" && u != nil {
		// The CBOR field holds either the whole CWT claims or only the DCC
		// payload, often encoded differently (indefinite-length maps,
		// another key order), so compare decoded values.
		var expected any
		if err := cbor.Unmarshal(mustHex(t, v.CBOR), &expected); err != nil {
			t.Fatalf("decoding the CBOR field: %v", err)
		}
		actual := []byte(u.Claims.HCert)
		if m, ok := expected.(map[any]any); ok && m[int64(ClaimHCert)] != nil {
			actual = u.Message.Payload()
		}
		var got any
		if err := cbor.Unmarshal(actual, &got); err != nil {
			t.Fatalf("decoding the decoded payload: %v", err)
		}
		if !reflect.DeepEqual(got, expected) {
			t.Errorf("decoded payload differs from CBOR:\n got %v\nwant %v", got, expected)
		}
	}

	if want, tested := v.Expected["EXPECTEDVERIFY"]; tested {
		checkVerify(t, name, v, u, failed, want)
	}
}

// checkVerify models the verifier's key lookup: the key is the one whose
// kid (first 8 bytes of SHA-256 over the certificate) the message names,
// so a message naming another kid (common/CO22, CO23) fails to verify even
// though its signature is good.
func checkVerify(t *testing.T, name string, v vector, u *Unverified, failed Step, want bool) {
	if reason, bad := knownBadVerify[name]; bad {
		if !want {
			t.Fatalf("%s is listed as a known bad EXPECTEDVERIFY=true vector, but its flag is false", name)
		}
		want = false
		t.Logf("known upstream defect (%s): expecting verification to fail", reason)
	}
	if u == nil {
		if want {
			t.Errorf("EXPECTEDVERIFY true, but decoding failed at step %s", failed)
		} else if !passed(failed, StepZlib) {
			t.Errorf("EXPECTEDVERIFY false should fail at the envelope or later, failed at step %s", failed)
		}
		return
	}
	der, err := base64.StdEncoding.DecodeString(v.Context.Certificate)
	if err != nil {
		t.Fatalf("TESTCTX.CERTIFICATE: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("TESTCTX.CERTIFICATE: %v", err)
	}
	kid := sha256.Sum256(der)
	kidMatches := bytes.Equal(u.Kid(), kid[:8])
	verr := u.VerifySignature(cert.PublicKey)
	switch {
	case want && !kidMatches:
		t.Errorf("EXPECTEDVERIFY true, but the message names kid %x, the certificate's is %x", u.Kid(), kid[:8])
	case want && verr != nil:
		t.Errorf("EXPECTEDVERIFY true, but: %v", verr)
	case !want && kidMatches && verr == nil:
		t.Errorf("EXPECTEDVERIFY false, but the kid matches and the signature verifies")
	}
}

// checkKnownIssues makes sure every vector special-cased above is one that
// upstream lists as defective for the verification check, so no vector is
// excused silently.
func checkKnownIssues(t *testing.T, root string) {
	f, err := os.Open(filepath.Join(root, "known_issues.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range rows[1:] { // test_name,country,test_set,reason
		if r[0] == "test_verification_check" {
			listed[r[1]+"/"+r[2]] = true
		}
	}
	for name := range knownBadVerify {
		if !listed[name] {
			t.Errorf("%s is excused from EXPECTEDVERIFY but is not a test_verification_check row of known_issues.csv", name)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}
