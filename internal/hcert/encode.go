package hcert

import (
	"bytes"
	"crypto"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zlib"

	"github.com/corridorlane/corridor/internal/base45"
	"github.com/corridorlane/corridor/internal/cose"
)

// compressionLevel trades QR size against issuing speed.
//
// The writer is klauspost/compress rather than the standard library's:
// on a DCC-sized message (about 400 bytes) the standard BestSpeed spends
// some 13 µs building Huffman tables and levels 2 to 9 clear 640 KiB of
// hash tables on every reset, either of which alone breaks the issuing
// budget of 1.3 times a bare P-256 signature, while klauspost's BestSpeed
// takes about 3 µs. It also falls back to a stored block when compression
// would not help, which is the usual case for a DCC: its signature and
// identifiers barely compress, so every level lands within a few bytes of
// the stored size (see BenchmarkCompressionLevels). Larger, wordier
// payloads such as an entry approval with an itinerary do compress.
const compressionLevel = zlib.BestSpeed

// deflater is a pooled zlib writer with its output buffer.
type deflater struct {
	out bytes.Buffer
	zw  *zlib.Writer
}

var deflaters = sync.Pool{New: func() any {
	d := new(deflater)
	// NewWriterLevel fails only on an invalid level, a constant here.
	d.zw, _ = zlib.NewWriterLevel(&d.out, compressionLevel)
	return d
}}

// Encode signs the claims with key (ES256, a P-256 ECDSA signer) under key
// identifier kid and returns the "HC1:" string to put in a QR code.
func Encode(c Claims, kid []byte, key crypto.Signer) (string, error) {
	payload, err := encodeClaims(c)
	if err != nil {
		return "", fmt.Errorf("hcert: %w", err)
	}
	msg, err := cose.SignES256(payload, kid, key)
	if err != nil {
		return "", fmt.Errorf("hcert: %w", err)
	}

	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	d.out.Reset()
	d.zw.Reset(&d.out)
	if _, err := d.zw.Write(msg); err != nil {
		return "", fmt.Errorf("hcert: compressing: %w", err)
	}
	if err := d.zw.Close(); err != nil {
		return "", fmt.Errorf("hcert: compressing: %w", err)
	}

	compressed := d.out.Bytes()
	buf := make([]byte, 0, len(Prefix)+base45.EncodedLen(len(compressed)))
	buf = append(buf, Prefix...)
	return string(base45.AppendEncode(buf, compressed)), nil
}
