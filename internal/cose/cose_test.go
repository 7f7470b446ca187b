package cose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"pgregory.net/rapid"
)

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerifyRoundTrip(t *testing.T) {
	key := newP256(t)
	payload := []byte("\xa1\x01\x62AT")
	kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b, err := SignES256(payload, kid, key)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xd2 {
		t.Errorf("message starts with 0x%02x, want tag 18 (0xd2)", b[0])
	}
	m, err := ParseSign1(b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Tagged() || m.CWTTagged() {
		t.Errorf("Tagged() = %v, CWTTagged() = %v; want true, false", m.Tagged(), m.CWTTagged())
	}
	if !bytes.Equal(m.Kid(), kid) {
		t.Errorf("Kid() = %x, want %x", m.Kid(), kid)
	}
	if alg, ok := m.Alg(); !ok || alg != AlgES256 {
		t.Errorf("Alg() = %d, %v; want %d, true", alg, ok, AlgES256)
	}
	if !bytes.Equal(m.Payload(), payload) {
		t.Errorf("Payload() = %x, want %x", m.Payload(), payload)
	}
	if len(m.Signature()) != 64 {
		t.Errorf("signature is %d bytes, want 64 (r||s)", len(m.Signature()))
	}
	if err := m.Verify(&key.PublicKey); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The protected header is fixed by the profile: {1: -7, 4: kid}.
	want := append([]byte{0xa2, 0x01, 0x26, 0x04, 0x48}, kid...)
	if !bytes.Equal(m.Protected(), want) {
		t.Errorf("protected header = %x, want %x", m.Protected(), want)
	}
}

func TestSignWithoutKid(t *testing.T) {
	key := newP256(t)
	b, err := SignES256([]byte{0xa0}, nil, key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSign1(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kid() != nil {
		t.Errorf("Kid() = %x, want nil", m.Kid())
	}
	if err := m.Verify(&key.PublicKey); err != nil {
		t.Fatal(err)
	}
}

func TestSignRefusesOtherKeys(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SignES256([]byte{0xa0}, nil, p384); err == nil || !strings.Contains(err.Error(), "P-384") {
		t.Errorf("SignES256 with a P-384 key: err = %v, want a refusal naming P-384", err)
	}
	if _, err := SignES256([]byte{0xa0}, nil, nil); err == nil {
		t.Error("SignES256 with no key succeeded")
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	key := newP256(t)
	b, err := SignES256([]byte("\xa1\x01\x62AT"), []byte("kid"), key)
	if err != nil {
		t.Fatal(err)
	}
	// Flip the last payload byte ('T' → 'U') and the last signature byte.
	for _, tc := range []struct {
		name string
		at   int
	}{
		{"payload", bytes.Index(b, []byte("AT")) + 1},
		{"signature", len(b) - 1},
		{"protected header", bytes.Index(b, []byte("kid"))},
	} {
		bad := bytes.Clone(b)
		bad[tc.at] ^= 1
		m, err := ParseSign1(bad)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := m.Verify(&key.PublicKey); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("altered %s: Verify = %v, want ErrSignatureMismatch", tc.name, err)
		}
	}
	m, _ := ParseSign1(b)
	if err := m.Verify(&newP256(t).PublicKey); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("another key: Verify = %v, want ErrSignatureMismatch", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(&rsaKey.PublicKey); err == nil || !strings.Contains(err.Error(), "needs a P-256") {
		t.Errorf("RSA key for ES256: Verify = %v, want a key type error", err)
	}
	for _, pub := range []any{nil, (*ecdsa.PublicKey)(nil), &ecdsa.PublicKey{}, (*rsa.PublicKey)(nil), &rsa.PublicKey{}, "key"} {
		if err := m.Verify(pub); err == nil {
			t.Errorf("Verify(%#v) succeeded", pub)
		}
	}
}

// message assembles a COSE_Sign1 from parts, for cases SignES256 does not
// produce: other headers, other algorithms, other tags.
func message(t testing.TB, tags []uint64, protected []byte, unprotected map[int]any, payload, sig []byte) []byte {
	t.Helper()
	if unprotected == nil {
		unprotected = map[int]any{}
	}
	arr, err := cbor.Marshal([]any{protected, unprotected, payload, sig})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, tag := range tags {
		out = appendHead(out, 6, tag)
	}
	return append(out, arr...)
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyPS256(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	protected := mustMarshal(t, map[int]any{1: AlgPS256, 4: []byte("rsa")})
	payload := []byte{0xa1, 0x01, 0x61, 'X'}
	digest := sigStructureDigest(protected, payload)
	sign := func(salt int) []byte {
		sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}

	m, err := ParseSign1(message(t, []uint64{18}, protected, nil, payload, sign(rsa.PSSSaltLengthEqualsHash)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(&key.PublicKey); err != nil {
		t.Errorf("PS256: %v", err)
	}
	for _, pub := range []any{&newP256(t).PublicKey, (*rsa.PublicKey)(nil), &rsa.PublicKey{}, nil} {
		if err := m.Verify(pub); err == nil || errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("PS256 with key %#v: Verify = %v, want a key type error", pub, err)
		}
	}

	// RFC 8230 fixes the salt at the hash length; a 20-byte salt is not PS256.
	m, err = ParseSign1(message(t, []uint64{18}, protected, nil, payload, sign(20)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(&key.PublicKey); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("PS256 with a 20-byte salt: Verify = %v, want ErrSignatureMismatch", err)
	}
}

func TestVerifyRefusesUnsupportedAlgorithms(t *testing.T) {
	key := newP256(t)
	for _, tc := range []struct {
		protected []byte
		want      string
	}{
		{mustMarshal(t, map[int]any{1: -35}), "algorithm -35 not supported"}, // ES384
		{mustMarshal(t, map[int]any{1: "ES256"}), `algorithm "ES256" not supported`},
		{mustMarshal(t, map[int]any{4: []byte("k")}), "the message names no signature algorithm"},
		{nil, "the message names no signature algorithm"},
	} {
		m, err := ParseSign1(message(t, nil, tc.protected, nil, []byte{0xa0}, make([]byte, 64)))
		if err != nil {
			t.Fatal(err)
		}
		err = m.Verify(&key.PublicKey)
		if !errors.Is(err, ErrUnsupportedAlgorithm) || err.Error() != tc.want {
			t.Errorf("protected %x: Verify = %v, want %q", tc.protected, err, tc.want)
		}
	}
}

func TestHeaderPrecedence(t *testing.T) {
	key := newP256(t)
	payload := []byte{0xa0}
	sign := func(protected []byte) []byte {
		d := sigStructureDigest(protected, payload)
		r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}

	// kid in both headers: the protected one wins.
	p := mustMarshal(t, map[int]any{1: AlgES256, 4: []byte("prot")})
	m, err := ParseSign1(message(t, []uint64{18}, p, map[int]any{4: []byte("unprot")}, payload, sign(p)))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Kid()) != "prot" {
		t.Errorf("Kid() = %q, want the protected %q", m.Kid(), "prot")
	}

	// alg and kid only in the unprotected header (DCC vector common/CO20).
	p = nil
	m, err = ParseSign1(message(t, []uint64{18}, p, map[int]any{1: AlgES256, 4: []byte("unprot")}, payload, sign(p)))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Kid()) != "unprot" {
		t.Errorf("Kid() = %q, want the unprotected %q", m.Kid(), "unprot")
	}
	if alg, ok := m.Alg(); !ok || alg != AlgES256 {
		t.Errorf("Alg() = %d, %v", alg, ok)
	}
	if err := m.Verify(&key.PublicKey); err != nil {
		t.Errorf("Verify with an unprotected alg: %v", err)
	}

	// alg in both: the protected one wins, here an unsupported one.
	p = mustMarshal(t, map[int]any{1: -35})
	m, err = ParseSign1(message(t, nil, p, map[int]any{1: AlgES256}, payload, sign(p)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(&key.PublicKey); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("protected alg -35 with unprotected ES256: Verify = %v, want unsupported", err)
	}
}

func TestParseTags(t *testing.T) {
	p := mustMarshal(t, map[int]any{1: AlgES256})
	for _, tc := range []struct {
		tags          []uint64
		tagged, cwt   bool
		wantErrSubstr string
	}{
		{nil, false, false, ""},
		{[]uint64{18}, true, false, ""},
		{[]uint64{61, 18}, true, true, ""},
		{[]uint64{61}, false, true, ""},
		{[]uint64{18, 61}, false, false, "unexpected CBOR tag 61"},
		{[]uint64{18, 18}, false, false, "unexpected CBOR tag 18"},
		{[]uint64{98}, false, false, "unexpected CBOR tag 98"}, // COSE_Sign
		{[]uint64{1 << 40}, false, false, "unexpected CBOR tag"},
	} {
		m, err := ParseSign1(message(t, tc.tags, p, nil, []byte{0xa0}, make([]byte, 64)))
		if tc.wantErrSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstr) {
				t.Errorf("tags %v: err = %v, want %q", tc.tags, err, tc.wantErrSubstr)
			}
			continue
		}
		if err != nil {
			t.Errorf("tags %v: %v", tc.tags, err)
			continue
		}
		if m.Tagged() != tc.tagged || m.CWTTagged() != tc.cwt {
			t.Errorf("tags %v: Tagged %v CWTTagged %v, want %v %v", tc.tags, m.Tagged(), m.CWTTagged(), tc.tagged, tc.cwt)
		}
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	p := mustMarshal(t, map[int]any{1: AlgES256})
	deep := append(bytes.Repeat([]byte{0x81}, 10000), 0x00)
	valid := message(t, []uint64{18}, p, nil, []byte{0xa0}, make([]byte, 64))
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty"},
		{"truncated tag", "\xd8", "ends inside a CBOR tag"},
		{"reserved tag head", "\xdc", "malformed CBOR tag head"},
		{"not an array", "\xa0", "not a COSE_Sign1 structure"},
		{"three elements", "\x83\x40\xa0\x40", "not a COSE_Sign1 structure"},
		{"trailing data", string(valid) + "\x00", "extraneous data"},
		{"truncated", string(valid[:len(valid)-1]), "not a COSE_Sign1 structure"},
		{"nested 10000 deep", string(deep), "exceeded max nested level"},
		{"deep unprotected header", string(message(t, nil, p, map[int]any{9: nest(20)}, []byte{0xa0}, []byte{})), "exceeded max nested level"},
		{"detached payload", "\x84\x40\xa0\xf6\x40", "no payload"},
		{"null signature", "\x84\x40\xa0\x40\xf6", "no signature"},
		{"text payload", "\x84\x40\xa0\x60\x40", "not a COSE_Sign1 structure"},
		{"protected not a map", string(message(t, nil, []byte{0x01}, nil, []byte{0xa0}, []byte{})), "protected header"},
		{"duplicate header", string(message(t, nil, []byte{0xa2, 0x01, 0x26, 0x01, 0x26}, nil, []byte{0xa0}, []byte{})), "duplicate map key"},
		{"kid not bytes", string(message(t, nil, mustMarshal(t, map[int]any{4: "text"}), nil, []byte{0xa0}, []byte{})), "protected header"},
		{"alg not int or text", string(message(t, nil, mustMarshal(t, map[int]any{1: []byte{7}}), nil, []byte{0xa0}, []byte{})), "neither an integer nor a text"},
		{"alg out of range", string(message(t, nil, []byte{0xa1, 0x01, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, []byte{0xa0}, []byte{})), "out of range"},
		{"critical headers", string(message(t, nil, mustMarshal(t, map[int]any{1: AlgES256, 2: []int{99}, 99: 1}), nil, []byte{0xa0}, []byte{})), "critical"},
		{"invalid UTF-8", string(message(t, nil, []byte{0xa1, 0x01, 0x61, 0xff}, nil, []byte{0xa0}, []byte{})), "invalid UTF-8"},
	} {
		_, err := ParseSign1([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

// nest returns a value n arrays deep.
func nest(n int) any {
	var v any = 0
	for range n {
		v = []any{v}
	}
	return v
}

func TestDERToRaw(t *testing.T) {
	for _, tc := range []struct {
		name string
		der  []byte
	}{
		{"garbage", []byte{0x01}},
		{"trailing", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}},
		{"zero r", []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}},
		{"negative s", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0xff}},
		{"r too long", append([]byte{0x30, 0x26, 0x02, 0x21, 0x01}, append(make([]byte, 32), 0x02, 0x01, 0x01)...)},
		{"padded r", []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01}},
		{"short sequence", []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}},
		{"integer past end", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x01}},
		{"empty integer", []byte{0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01}},
		{"not integers", []byte{0x30, 0x06, 0x04, 0x01, 0x01, 0x04, 0x01, 0x01}},
		{"empty", nil},
	} {
		if err := derToRaw(make([]byte, 64), tc.der); err == nil {
			t.Errorf("%s: derToRaw accepted %x", tc.name, tc.der)
		}
	}
	var raw [64]byte
	if err := derToRaw(raw[:], []byte{0x30, 0x07, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x03}); err != nil {
		t.Fatal(err)
	}
	if raw[30] != 1 || raw[31] != 2 || raw[63] != 3 || raw[0] != 0 {
		t.Errorf("derToRaw = %x, want r=0x0102, s=3 left-padded", raw)
	}
}

// TestES256DER checks the hand-written DER form of r||s against
// encoding/asn1, including values with leading zeros and high bits set.
func TestES256DER(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := make([]byte, 64)
		for i := range raw {
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 0:
				raw[i] = 0
			case 1:
				raw[i] = 0xff
			default:
				raw[i] = rapid.Byte().Draw(t, "b")
			}
		}
		want, err := asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:]),
		})
		if err != nil {
			t.Fatal(err)
		}
		der := appendES256DER(nil, raw)
		if !bytes.Equal(der, want) {
			t.Fatalf("appendES256DER(%x) = %x, want %x", raw, der, want)
		}
		// And back, unless r or s is zero, which no signature has.
		back := make([]byte, 64)
		err = derToRaw(back, der)
		zero := func(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }
		switch {
		case zero(raw[:32]) || zero(raw[32:]):
			if err == nil {
				t.Fatalf("derToRaw accepted a zero r or s: %x", der)
			}
		case err != nil:
			t.Fatalf("derToRaw(%x): %v", der, err)
		case !bytes.Equal(back, raw):
			t.Fatalf("derToRaw(appendES256DER(%x)) = %x", raw, back)
		}
	})
}

func FuzzParseSign1(f *testing.F) {
	key := newP256(f)
	for _, kid := range [][]byte{nil, []byte("12345678")} {
		b, err := SignES256([]byte{0xa1, 0x01, 0x62, 'A', 'T'}, kid, key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[1:])                            // untagged
		f.Add(append([]byte{0xd8, 0x3d}, b...)) // CWT tag
	}
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseSign1(b)
		if err != nil {
			return
		}
		// A parsed message answers every question without panicking,
		// and an arbitrary one does not verify under a fresh key.
		m.Kid()
		m.Alg()
		if m.Verify(&key.PublicKey) == nil && !bytes.Contains(b, m.Signature()) {
			t.Fatal("verified a signature that is not in the input")
		}
	})
}

func BenchmarkParseSign1(b *testing.B) {
	msg, err := SignES256(bytes.Repeat([]byte{0x61}, 300), []byte("12345678"), newP256(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ParseSign1(msg); err != nil {
			b.Fatal(err)
		}
	}
}
