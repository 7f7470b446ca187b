package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/hcert"
	"github.com/corridorlane/corridor/internal/issuer"
	"github.com/corridorlane/corridor/internal/trust"
)

// The four benchmarks come in pairs measured in one run, so the ratio holds
// on a noisy shared machine:
//
//	go test -run '^$' -bench 'HC1|RawP256' -benchtime 3s ./internal/verify
//
// BenchmarkVerifyHC1 / BenchmarkVerifyRawP256 should stay at or below 1.15,
// BenchmarkIssueHC1 / BenchmarkSignRawP256 at or below 1.3.

// BenchmarkVerifyHC1: full decode (prefix, Base45, zlib, COSE, CWT), the
// signer looked up by kid in a trust list of 200 signers, ES256 verified —
// what a scanner does before it can say anything.
func BenchmarkVerifyHC1(b *testing.B) {
	kr := newNode(b, "KR")
	hc1, _, err := issuer.IssueTest(kr.signer(b, "lab"), sampleTest(false), clock, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	padTrust(b, kr, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u, err := hcert.Decode(hc1)
		if err != nil {
			b.Fatal(err)
		}
		signers := kr.v.Trust.Lookup(u.Kid())
		if len(signers) == 0 || u.VerifySignature(signers[0].PublicKey) != nil {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifyRawP256 is the baseline: one bare ECDSA P-256 check.
func BenchmarkVerifyRawP256(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("corridor"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkIssueHC1: a test result's payload encoded, wrapped in CWT and
// COSE, signed with ES256, compressed and Base45-encoded (no PNG).
func BenchmarkIssueHC1(b *testing.B) {
	kr := newNode(b, "KR")
	s := kr.signer(b, "lab")
	p, err := sampleTest(false).Payload(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	body, err := dcc.EncodeCBOR(p)
	if err != nil {
		b.Fatal(err)
	}
	claims := hcert.Claims{Issuer: "KR", IssuedAt: clock, ExpiresAt: clock.AddDate(0, 0, 7), HCert: body}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := hcert.Encode(claims, s.Kid, s.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRawP256 is the baseline: one bare ECDSA P-256 signature.
func BenchmarkSignRawP256(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("corridor"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyManifest: a flight of 400 through the whole pipeline on
// every core.
func BenchmarkVerifyManifest(b *testing.B) {
	kr := newNode(b, "KR")
	texts := make([]string, 400)
	for i := range texts {
		hc1, _, err := issuer.IssueTest(kr.signer(b, "lab"), sampleTest(false), clock, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		texts[i] = hc1
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range kr.v.Batch(texts, clock) {
			if !r.Valid {
				b.Fatal(r.Reasons())
			}
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "credentials/s")
}

// padTrust adds count other signers (bare P-256 keys under random kids),
// so the lookup runs against a list the size of a real national one.
func padTrust(b *testing.B, n *node, count int) {
	b.Helper()
	for i := 0; i < count; i++ {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		kid := make([]byte, 8)
		if _, err := rand.Read(kid); err != nil {
			b.Fatal(err)
		}
		if err := n.v.Trust.AddDirect(&trust.Signer{Kid: kid, PublicKey: &key.PublicKey, Source: "padding"}); err != nil {
			b.Fatal(err)
		}
	}
}
