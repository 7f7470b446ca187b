package hcert

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"pgregory.net/rapid"

	"github.com/corridorlane/corridor/internal/base45"
	"github.com/corridorlane/corridor/internal/cose"
	"github.com/corridorlane/corridor/internal/testdata"
)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleDCC is a test-result entry shaped as the DCC schema wants it, the
// kind of payload Corridor's labs issue.
func sampleDCC(t testing.TB) cbor.RawMessage {
	t.Helper()
	b, err := cbor.Marshal(map[string]any{
		"ver": "1.3.0",
		"nam": map[string]any{"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
		"dob": "1964-08-12",
		"t": []any{map[string]any{
			"tg": "840539006", "tt": "LP6464-4", "nm": "Roche LightCycler qPCR",
			"sc": "2021-05-30T10:12:22Z", "tr": "260415000", "tc": "Testing centre Vienna 1",
			"co": "AT", "is": "Ministry of Health, Austria",
			"ci": "URN:UVCI:01:AT:B5921A35D6A0D696421B3E2462178297#I",
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleClaims(t testing.TB) Claims {
	return Claims{
		Issuer:    "AT",
		IssuedAt:  time.Date(2021, 5, 30, 12, 0, 0, 0, time.UTC),
		ExpiresAt: time.Date(2021, 6, 30, 12, 0, 0, 0, time.UTC),
		HCert:     sampleDCC(t),
	}
}

var kid = []byte{0xd9, 0x19, 0x37, 0x5f, 0xc1, 0xe7, 0xb6, 0xb2}

func TestRoundTrip(t *testing.T) {
	key := newKey(t)
	in := sampleClaims(t)
	in.Approval = cbor.RawMessage{0xa1, 0x01, 0x63, 'A', 'B', 'C'}
	hc1, err := Encode(in, kid, key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hc1, Prefix) {
		t.Fatalf("Encode = %.20q…, want the %q prefix", hc1, Prefix)
	}
	u, err := Decode(hc1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(u.Kid(), kid) {
		t.Errorf("Kid() = %x, want %x", u.Kid(), kid)
	}
	if err := u.VerifySignature(&key.PublicKey); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	if err := u.VerifySignature(&newKey(t).PublicKey); !errors.Is(err, cose.ErrSignatureMismatch) {
		t.Errorf("VerifySignature with another key = %v, want ErrSignatureMismatch", err)
	}
	got := u.Claims
	if got.Issuer != in.Issuer || !got.IssuedAt.Equal(in.IssuedAt) || !got.ExpiresAt.Equal(in.ExpiresAt) ||
		!bytes.Equal(got.HCert, in.HCert) || !bytes.Equal(got.Approval, in.Approval) {
		t.Errorf("claims = %+v\nwant %+v", got, in)
	}
}

// TestEncodeCompresses: a payload with repetition, like an itinerary's
// addresses, comes out smaller than its stored (uncompressed) zlib form.
func TestEncodeCompresses(t *testing.T) {
	key := newKey(t)
	c := Claims{Approval: mustMarshal(t, strings.Repeat("Room 12, Harbour Hotel, Incheon; ", 40))}
	hc1, err := Encode(c, kid, key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := Decode(hc1)
	if err != nil {
		t.Fatal(err)
	}
	compressed, err := base45.Decode(strings.TrimPrefix(hc1, Prefix))
	if err != nil {
		t.Fatal(err)
	}
	if len(compressed)*2 > len(u.COSE) {
		t.Errorf("a %d-byte repetitive message compressed to %d bytes, want under half", len(u.COSE), len(compressed))
	}
}

func TestAbsentClaimsStayEmpty(t *testing.T) {
	key := newKey(t)
	hc1, err := Encode(Claims{}, nil, key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := Decode(hc1)
	if err != nil {
		t.Fatal(err)
	}
	c := u.Claims
	if c.Issuer != "" || !c.IssuedAt.IsZero() || !c.ExpiresAt.IsZero() || c.HCert != nil || c.Approval != nil || u.Kid() != nil {
		t.Errorf("empty claims decoded as %+v, kid %x", c, u.Kid())
	}
}

func TestEncodeRefuses(t *testing.T) {
	key := newKey(t)
	for _, tc := range []struct {
		name string
		c    Claims
		want string
	}{
		{"malformed hcert", Claims{HCert: cbor.RawMessage{0xa1}}, "not well-formed"},
		{"malformed approval", Claims{Approval: cbor.RawMessage{0x5f}}, "not well-formed"},
		{"expiry before 1970", Claims{ExpiresAt: time.Unix(-1, 0)}, "outside 1970..9999"},
		{"issue after 9999", Claims{IssuedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "outside 1970..9999"},
	} {
		if _, err := Encode(tc.c, nil, key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := Encode(sampleClaims(t), nil, p384); err == nil {
		t.Error("Encode signed with a P-384 key")
	}
}

// build assembles an HC1 string around a claims payload, signing it, so
// tests can reach the inner layers with content Encode would refuse.
func build(t testing.TB, claims []byte, key *ecdsa.PrivateKey) string {
	t.Helper()
	msg, err := cose.SignES256(claims, kid, key)
	if err != nil {
		t.Fatal(err)
	}
	return Prefix + base45.Encode(deflate(t, msg))
}

func deflate(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClaimDates(t *testing.T) {
	key := newKey(t)
	// Integers and floats (as some national issuers write them).
	hc1 := build(t, mustMarshal(t, map[int]any{4: 1620237600.5, 6: float32(1620064768)}), key)
	u, err := Decode(hc1)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1620237600, 5e8); !u.Claims.ExpiresAt.Equal(want) {
		t.Errorf("float exp = %v, want %v", u.Claims.ExpiresAt, want)
	}
	if want := time.Unix(1620064768, 0); !u.Claims.IssuedAt.Equal(want) {
		t.Errorf("float32 iat = %v, want %v", u.Claims.IssuedAt, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	key := newKey(t)
	good, err := Encode(sampleClaims(t), kid, key)
	if err != nil {
		t.Fatal(err)
	}
	compressed, _ := base45.Decode(strings.TrimPrefix(good, Prefix))
	raw, err := inflate(compressed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		step Step
		want string
	}{
		{"empty", "", StepPrefix, "does not start with"},
		{"lower-case prefix", "hc1:" + good[4:], StepPrefix, `context identifier "hc1:"`},
		{"future version", "HC2:" + good[4:], StepPrefix, `context identifier "HC2:"`},
		{"bad character", good[:10] + "a" + good[11:], StepBase45, "not in the Base45 alphabet"},
		{"dangling character", Prefix + "0000", StepBase45, "dangling"},
		{"too long", Prefix + strings.Repeat("0", MaxEncodedLen+1), StepBase45, "more than a health certificate can be"},
		{"nothing after prefix", Prefix, StepZlib, "holds no data"},
		{"not compressed", Prefix + base45.Encode(raw), StepZlib, "not compressed"},
		{"not zlib", Prefix + base45.Encode([]byte("hello")), StepZlib, "invalid header"},
		{"truncated zlib", Prefix + base45.Encode(compressed[:len(compressed)-6]), StepZlib, "corrupt"},
		{"bad checksum", Prefix + base45.Encode(append(bytes.Clone(compressed[:len(compressed)-1]), compressed[len(compressed)-1]^1)), StepZlib, "checksum"},
		{"trailing bytes", Prefix + base45.Encode(append(bytes.Clone(compressed), 0)), StepZlib, "1 unexpected bytes"},
		{"not COSE", Prefix + base45.Encode(deflate(t, []byte{0xa0})), StepCOSE, "not a COSE_Sign1"},
		{"claims not a map", build(t, []byte{0x80}, key), StepCWT, "not a valid CWT claims map"},
		{"claims malformed", build(t, []byte{0xa1, 0x01}, key), StepCWT, "not a valid CWT claims map"},
		{"duplicate claim", build(t, []byte{0xa2, 0x01, 0x61, 'A', 0x01, 0x61, 'B'}, key), StepCWT, "duplicate map key"},
		{"issuer not text", build(t, mustMarshal(t, map[int]any{1: 7}), key), StepCWT, "cannot unmarshal"},
		{"exp negative", build(t, mustMarshal(t, map[int]any{4: -5}), key), StepCWT, "before 1970"},
		{"exp too large", build(t, mustMarshal(t, map[int]any{4: uint64(1) << 40}), key), StepCWT, "after the year 9999"},
		{"exp NaN", build(t, []byte{0xa1, 0x04, 0xf9, 0x7e, 0x00}, key), StepCWT, "not between 1970 and 9999"},
		{"exp null", build(t, []byte{0xa1, 0x04, 0xf6}, key), StepCWT, "not a number"},
		{"exp text", build(t, mustMarshal(t, map[int]any{4: "2021"}), key), StepCWT, "not a number"},
		{"exp tagged", build(t, []byte{0xa1, 0x04, 0xc1, 0x01}, key), StepCWT, "not a number"},
		{"hcert without entry 1", build(t, mustMarshal(t, map[int]any{ClaimHCert: map[int]any{2: 1}}), key), StepCWT, "has no entry 1"},
		{"hcert not a map", build(t, mustMarshal(t, map[int]any{ClaimHCert: map[int]any{1: []byte{0xa0}}}), key), StepCWT, "byte string, not a map"},
		{"approval without entry 1", build(t, mustMarshal(t, map[int]any{ClaimApproval: map[int]any{}}), key), StepCWT, "has no entry 1"},
	} {
		_, err := Decode(tc.in)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: err = %v (%T), want a *DecodeError", tc.name, err, err)
			continue
		}
		if de.Step != tc.step || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: step %s, err %q; want step %s saying %q", tc.name, de.Step, err, tc.step, tc.want)
		}
		if errors.Unwrap(err) != de.Err || de.Err == nil {
			t.Errorf("%s: Unwrap does not return the cause", tc.name)
		}
	}
}

func TestMaxEncodedLen(t *testing.T) {
	if want := base45.EncodedLen(MaxDecompressed); MaxEncodedLen != want {
		t.Errorf("MaxEncodedLen = %d, want base45.EncodedLen(MaxDecompressed) = %d", MaxEncodedLen, want)
	}
}

func TestZlibBombRefused(t *testing.T) {
	// 100 MB of zeros compresses to about 100 KB: past the length cap as
	// a code, so feed it to the inflater directly, and a 1 MB bomb (about
	// 1 KB compressed) through Decode.
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	chunk := make([]byte, 1<<20)
	for range 100 {
		zw.Write(chunk)
	}
	zw.Close()

	start := time.Now()
	_, err := inflate(buf.Bytes())
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Fatalf("inflating 100 MB of zeros: err = %v, want a bomb refusal", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing the bomb took %v; it should stop after %d bytes", d, MaxDecompressed)
	}
	if _, err := Decode(Prefix + base45.Encode(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "more than a health certificate can be") {
		t.Errorf("Decode of the 100 MB bomb: err = %v, want a length refusal", err)
	}

	small := deflate(t, make([]byte, 1<<20))
	_, err = Decode(Prefix + base45.Encode(small))
	var de *DecodeError
	if !errors.As(err, &de) || de.Step != StepZlib || !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("Decode of a 1 MB bomb: err = %v, want a zlib-step bomb refusal", err)
	}

	// Exactly at the cap is still accepted by the inflater.
	if got, err := inflate(deflate(t, make([]byte, MaxDecompressed))); err != nil || len(got) != MaxDecompressed {
		t.Errorf("inflating exactly %d bytes: %d bytes, err %v", MaxDecompressed, len(got), err)
	}
}

func TestDeepCBORRefused(t *testing.T) {
	key := newKey(t)
	deep := append(bytes.Repeat([]byte{0x81}, 10000), 0x00)
	// In the claims, inside the hcert claim...
	claims := append([]byte{0xa1, 0x39, 0x01, 0x03, 0xa1, 0x01}, deep...)
	_, err := Decode(build(t, claims, key))
	var de *DecodeError
	if !errors.As(err, &de) || de.Step != StepCWT || !strings.Contains(err.Error(), "exceeded max nested level") {
		t.Errorf("claims nested 10000 deep: err = %v, want a cwt-step nesting refusal", err)
	}
	// ...and as the COSE message itself.
	_, err = Decode(Prefix + base45.Encode(deflate(t, deep)))
	if !errors.As(err, &de) || de.Step != StepCOSE || !strings.Contains(err.Error(), "exceeded max nested level") {
		t.Errorf("message nested 10000 deep: err = %v, want a cose-step nesting refusal", err)
	}
	// Encode refuses to sign such a payload rather than issue an unreadable code.
	if _, err := Encode(Claims{HCert: deep}, nil, key); err == nil {
		t.Error("Encode accepted a payload nested 10000 deep")
	}
}

// TestCodecProperty: any claims Encode accepts come back unchanged, with a
// signature that verifies under the signer's key and no other.
func TestCodecProperty(t *testing.T) {
	key, other := newKey(t), newKey(t)
	rapid.Check(t, func(t *rapid.T) {
		date := func(label string) time.Time {
			if rapid.Bool().Draw(t, label+" absent") {
				return time.Time{}
			}
			return time.Unix(rapid.Int64Range(1, maxNumericDate).Draw(t, label), 0).UTC()
		}
		payload := func(label string) cbor.RawMessage {
			if rapid.Bool().Draw(t, label+" absent") {
				return nil
			}
			b, err := cbor.Marshal(map[string]any{
				"s": rapid.String().Draw(t, label+" text"),
				"b": rapid.SliceOf(rapid.Byte()).Draw(t, label+" bytes"),
				"n": rapid.Int64().Draw(t, label+" number"),
			})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		in := Claims{
			Issuer:    rapid.String().Draw(t, "issuer"),
			IssuedAt:  date("iat"),
			ExpiresAt: date("exp"),
			HCert:     payload("hcert"),
			Approval:  payload("approval"),
		}
		k := rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(t, "kid")
		hc1, err := Encode(in, k, key)
		if err != nil {
			t.Fatal(err)
		}
		u, err := Decode(hc1)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.VerifySignature(&key.PublicKey); err != nil {
			t.Fatal(err)
		}
		if err := u.VerifySignature(&other.PublicKey); err == nil {
			t.Fatal("verified under another key")
		}
		got := u.Claims
		if got.Issuer != in.Issuer || !got.IssuedAt.Equal(in.IssuedAt) || !got.ExpiresAt.Equal(in.ExpiresAt) ||
			!bytes.Equal(got.HCert, in.HCert) || !bytes.Equal(got.Approval, in.Approval) {
			t.Fatalf("claims = %+v\nwant %+v", got, in)
		}
		if len(k) == 0 {
			k = nil
		}
		if !bytes.Equal(u.Kid(), k) {
			t.Fatalf("kid = %x, want %x", u.Kid(), k)
		}
	})
}

// TestDecodeArbitraryProperty: any string, and any bytes behind a valid
// prefix and Base45, either decodes or fails with a *DecodeError that
// names a step at or after the first layer the input got wrong.
func TestDecodeArbitraryProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var in string
		if rapid.Bool().Draw(t, "raw string") {
			in = rapid.String().Draw(t, "s")
		} else {
			in = Prefix + base45.Encode(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes"))
		}
		checkDecodeOutcome(t, in)
	})
}

func checkDecodeOutcome(t interface{ Fatalf(string, ...any) }, in string) {
	u, err := Decode(in)
	if err == nil {
		if u == nil || u.Message == nil {
			t.Fatalf("Decode(%q) returned no credential and no error", in)
		}
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Decode(%q) error is %T, not *DecodeError: %v", in, err, err)
	}
	switch de.Step {
	case StepPrefix, StepBase45, StepZlib, StepCOSE, StepCWT:
	default:
		t.Fatalf("Decode(%q) names unknown step %q", in, de.Step)
	}
	if strings.HasPrefix(in, Prefix) && de.Step == StepPrefix {
		t.Fatalf("Decode(%q) blamed the prefix", in)
	}
	if de.Err == nil {
		t.Fatalf("Decode(%q) gave no cause", in)
	}
}

// vectorFields returns the PREFIX strings and the COSE messages (hex
// decoded, where present) of the shared DCC vectors.
func vectorFields(t testing.TB) (prefixes []string, messages [][]byte) {
	files, err := filepath.Glob(testdata.Path(t, "dcc", "*", "2DCode", "raw", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ PREFIX, COSE string }
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		prefixes = append(prefixes, v.PREFIX)
		if msg, err := hex.DecodeString(v.COSE); err == nil && len(msg) > 0 {
			messages = append(messages, msg)
		}
	}
	return prefixes, messages
}

func FuzzDecode(f *testing.F) {
	key := newKey(f)
	c := sampleClaims(f)
	c.Approval = cbor.RawMessage{0xa0}
	hc1, err := Encode(c, kid, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(hc1)
	prefixes, _ := vectorFields(f)
	for _, p := range prefixes {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkDecodeOutcome(t, in)
	})
}

// FuzzDecodeMessage reaches the COSE and CWT layers, which random text
// almost never does (it must first be Base45 with a valid zlib checksum):
// it wraps the fuzzed bytes as a well-formed HC1 string, so every failure
// must be the envelope's or the claims'.
func FuzzDecodeMessage(f *testing.F) {
	key := newKey(f)
	payload, err := encodeClaims(sampleClaims(f))
	if err != nil {
		f.Fatal(err)
	}
	msg, err := cose.SignES256(payload, kid, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	_, messages := vectorFields(f)
	for _, m := range messages {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > MaxDecompressed {
			return
		}
		u, err := Decode(Prefix + base45.Encode(deflate(t, msg)))
		if err == nil {
			u.Kid()
			u.VerifySignature(&key.PublicKey)
			return
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error is %T, not *DecodeError: %v", err, err)
		}
		if de.Step != StepCOSE && de.Step != StepCWT {
			t.Fatalf("a well-formed HC1 string failed at step %s: %v", de.Step, err)
		}
	})
}

// TestConcurrentUse exercises the pooled zlib readers and writers from
// several goroutines; run with -race it catches a buffer shared between
// calls, and without it a credential decoded from another's bytes.
func TestConcurrentUse(t *testing.T) {
	key := newKey(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				c := sampleClaims(t)
				c.Issuer = fmt.Sprintf("G%dI%d", g, i)
				hc1, err := Encode(c, kid, key)
				if err != nil {
					t.Error(err)
					return
				}
				u, err := Decode(hc1)
				if err != nil {
					t.Error(err)
					return
				}
				if u.Claims.Issuer != c.Issuer {
					t.Errorf("decoded issuer %q, want %q", u.Claims.Issuer, c.Issuer)
				}
				if err := u.VerifySignature(&key.PublicKey); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
