package revocation

import (
	"crypto/elliptic"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
	"github.com/fxamacker/cbor/v2"
)

// Expected hashes below were computed outside Go (Python's hashlib, over
// the same inputs) so the test does not check the code against itself.

const coUVCI = "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B" // from common/CO10

func mustHex(t *testing.T, s string) [HashLen]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashLen {
		t.Fatalf("bad expected hash %q", s)
	}
	return [HashLen]byte(b)
}

// vectorSignature reads a DCC vector's COSE_Sign1 signature and algorithm.
func vectorSignature(t *testing.T, elem ...string) ([]byte, int64) {
	t.Helper()
	data, err := os.ReadFile(testdata.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ COSE string }
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(v.COSE)
	if err != nil {
		t.Fatal(err)
	}
	var tag cbor.RawTag
	if cbor.Unmarshal(raw, &tag) == nil {
		raw = tag.Content
	}
	var msg struct {
		_           struct{} `cbor:",toarray"`
		Protected   []byte
		Unprotected cbor.RawMessage
		Payload     []byte
		Signature   []byte
	}
	if err := cbor.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	var hdr map[int64]cbor.RawMessage
	if err := cbor.Unmarshal(msg.Protected, &hdr); err != nil {
		t.Fatal(err)
	}
	var alg int64
	if err := cbor.Unmarshal(hdr[1], &alg); err != nil {
		t.Fatal(err)
	}
	return msg.Signature, alg
}

func TestHashesUVCI(t *testing.T) {
	got := Hashes(coUVCI, "AT", nil, 0)
	if len(got) != 2 {
		t.Fatalf("got %d hashes, want UCI and COUNTRYCODEUCI", len(got))
	}
	if want := mustHex(t, "4c0fe0260eb1a32503a9e1258744265c"); got[UCI] != want {
		t.Errorf("UCI = %x, want %x", got[UCI], want)
	}
	if want := mustHex(t, "c858457924125662298b400d12210760"); got[CountryCodeUCI] != want {
		t.Errorf("COUNTRYCODEUCI = %x, want %x", got[CountryCodeUCI], want)
	}
	if h := Hashes(coUVCI, "", nil, 0); len(h) != 1 {
		t.Errorf("without a country: %d hashes, want UCI only", len(h))
	}
	if h := Hashes("", "AT", nil, AlgES256); len(h) != 0 {
		t.Errorf("nothing to hash: got %v", h)
	}
}

func TestHashesECDSASignature(t *testing.T) {
	sig, alg := vectorSignature(t, "dcc", "FI", "2DCode", "raw", "1.json")
	if alg != AlgES256 || len(sig) != 64 {
		t.Fatalf("FI/1: alg %d, %d-byte signature; want ES256, 64", alg, len(sig))
	}
	got := Hashes("", "", sig, alg)
	want := mustHex(t, "2b34b1e2f073912522383ec2b675c186") // SHA-256(r)[:16]
	if got[Signature] != want {
		t.Fatalf("SIGNATURE = %x, want %x", got[Signature], want)
	}
	// The same signature with s replaced by n-s is still valid ECDSA; the
	// hash covers r only so that this twin is revoked too.
	n := elliptic.P256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	twin := append(append([]byte(nil), sig[:32]...), new(big.Int).Sub(n, s).FillBytes(make([]byte, 32))...)
	if Hashes("", "", twin, alg)[Signature] != want {
		t.Fatal("the (r, n-s) twin hashes differently")
	}
}

func TestHashesRSASignature(t *testing.T) {
	sig, alg := vectorSignature(t, "dcc", "common", "2DCode", "raw", "CO1.json")
	if alg != AlgPS256 || len(sig) != 256 {
		t.Fatalf("CO1: alg %d, %d-byte signature; want PS256, 256", alg, len(sig))
	}
	want := mustHex(t, "efe8da1a99be873b7070f98b48faf8f6") // SHA-256(whole signature)[:16]
	if got := Hashes("", "", sig, alg)[Signature]; got != want {
		t.Fatalf("SIGNATURE = %x, want %x", got, want)
	}
}

func TestHashesUnknownAlgorithm(t *testing.T) {
	if h := Hashes("", "", []byte{1, 2, 3, 4}, -8 /* EdDSA */); len(h) != 0 {
		t.Fatalf("EdDSA signature hashed: %v", h)
	}
}

func TestHashTypeNames(t *testing.T) {
	for _, h := range hashTypes {
		got, err := ParseHashType(h.String())
		if err != nil || got != h {
			t.Errorf("%v: round trip gave %v, %v", h, got, err)
		}
	}
	if _, err := ParseHashType("uci"); err == nil {
		t.Error("lower-case name accepted")
	}
}
