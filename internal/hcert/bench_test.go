package hcert

import (
	"bytes"
	stdzlib "compress/zlib"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zlib"

	"github.com/corridorlane/corridor/internal/cose"
)

// The budgets: full verification (Decode + VerifySignature) within 1.15×
// a bare ecdsa.VerifyASN1, and Encode within 1.3× a bare ecdsa.SignASN1,
// both on P-256 over a typical DCC test-result payload.

func BenchmarkDecodeVerify(b *testing.B) {
	key := newKey(b)
	hc1, err := Encode(sampleClaims(b), kid, key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		u, err := Decode(hc1)
		if err != nil {
			b.Fatal(err)
		}
		if err := u.VerifySignature(&key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawP256Verify(b *testing.B) {
	key := newKey(b)
	digest := sha256.Sum256(sampleDCC(b))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	key := newKey(b)
	c := sampleClaims(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(c, kid, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawP256Sign(b *testing.B) {
	key := newKey(b)
	digest := sha256.Sum256(sampleDCC(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRatio and BenchmarkEncodeRatio time the full operation and
// the bare P-256 one alternately, iteration by iteration, and report the
// ratio of their median times: on a shared machine whose load drifts and
// spikes, this is steadier than comparing two benchmarks run a minute
// apart, and a preempted iteration does not move a median.
func BenchmarkVerifyRatio(b *testing.B) {
	key := newKey(b)
	hc1, err := Encode(sampleClaims(b), kid, key)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(sampleDCC(b))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	var full, bare []time.Duration
	for b.Loop() {
		t0 := time.Now()
		u, err := Decode(hc1)
		if err != nil {
			b.Fatal(err)
		}
		if err := u.VerifySignature(&key.PublicKey); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			b.Fatal("verify failed")
		}
		t2 := time.Now()
		full = append(full, t1.Sub(t0))
		bare = append(bare, t2.Sub(t1))
	}
	b.ReportMetric(float64(median(full))/float64(median(bare)), "ratio")
}

func BenchmarkEncodeRatio(b *testing.B) {
	key := newKey(b)
	c := sampleClaims(b)
	digest := sha256.Sum256(sampleDCC(b))
	var full, bare []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := Encode(c, kid, key); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		full = append(full, t1.Sub(t0))
		bare = append(bare, t2.Sub(t1))
	}
	b.ReportMetric(float64(median(full))/float64(median(bare)), "ratio")
}

// BenchmarkCompressionLevels reports, per zlib level and implementation
// (the standard library's and klauspost/compress), the time to compress a
// signed DCC with a reset (pooled) writer and the resulting size, which is
// what the QR code must carry. It backs the choice of compressionLevel.
func BenchmarkCompressionLevels(b *testing.B) {
	payload, err := encodeClaims(sampleClaims(b))
	if err != nil {
		b.Fatal(err)
	}
	msg, err := cose.SignES256(payload, kid, newKey(b))
	if err != nil {
		b.Fatal(err)
	}
	type writer interface {
		Reset(io.Writer)
		Write([]byte) (int, error)
		Close() error
	}
	for _, level := range []int{zlib.NoCompression, zlib.HuffmanOnly, zlib.BestSpeed, 2, zlib.DefaultCompression, zlib.BestCompression} {
		for _, impl := range []struct {
			name string
			new  func(io.Writer, int) (writer, error)
		}{
			{"std", func(w io.Writer, l int) (writer, error) { return stdzlib.NewWriterLevel(w, l) }},
			{"klauspost", func(w io.Writer, l int) (writer, error) { return zlib.NewWriterLevel(w, l) }},
		} {
			b.Run(fmt.Sprintf("%s/level=%d", impl.name, level), func(b *testing.B) {
				var out bytes.Buffer
				zw, err := impl.new(&out, level)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					out.Reset()
					zw.Reset(&out)
					zw.Write(msg)
					if err := zw.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(msg)), "raw-bytes")
				b.ReportMetric(float64(out.Len()), "zlib-bytes")
			})
		}
	}
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
