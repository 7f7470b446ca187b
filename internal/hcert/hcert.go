package hcert

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/corridorlane/corridor/internal/base45"
	"github.com/corridorlane/corridor/internal/cose"
)

// Prefix is the context identifier of an EU DCC, version 1.
const Prefix = "HC1:"

// MaxDecompressed caps the size of the COSE message after inflating.
//
// The largest QR code (version 40, alphanumeric mode, lowest error
// correction) holds 4,296 characters, which Base45-decode to 2,864 bytes.
// Real DCCs inflate by 1.5 to 3 times, to well under 10 KiB; 64 KiB leaves
// more than 20 times the largest QR code's raw capacity as headroom, while
// a zlib bomb (DEFLATE reaches ratios near 1000:1) is cut off after 64 KiB
// of work instead of running a verifier out of memory.
const MaxDecompressed = 64 << 10

// MaxEncodedLen caps the length of the Base45 text after the prefix: the
// Base45 length of MaxDecompressed bytes (three characters per two bytes),
// since compressed data larger than the cap on its decompressed form has no
// honest use. It keeps a pasted or uploaded string from costing more than a
// QR code could.
const MaxEncodedLen = MaxDecompressed / 2 * 3

// Unverified is a decoded credential whose signature has not been checked.
// Nothing in it may be trusted before VerifySignature succeeds with a key
// the caller trusts for Kid.
type Unverified struct {
	Message *cose.Sign1 // the signed envelope
	Claims  Claims      // the CWT claims from the envelope's payload
	COSE    []byte      // the COSE_Sign1 bytes, as inflated
}

// Kid returns the key identifier of the signer, which names the document
// signer certificate to verify with (its first 8 SHA-256 bytes, in the DCC).
func (u *Unverified) Kid() []byte { return u.Message.Kid() }

// VerifySignature checks the envelope's signature with pub, the signer's
// public key (ECDSA P-256 for ES256 or RSA for PS256).
func (u *Unverified) VerifySignature(pub crypto.PublicKey) error {
	return u.Message.Verify(pub)
}

// Decode unpacks an "HC1:" string down to its claims. It checks structure,
// not trust: the returned credential is unverified. Any failure is a
// *DecodeError naming the step.
func Decode(hc1 string) (*Unverified, error) {
	rest, ok := strings.CutPrefix(hc1, Prefix)
	if !ok {
		return nil, fail(StepPrefix, prefixError(hc1))
	}
	if len(rest) > MaxEncodedLen {
		return nil, fail(StepBase45, fmt.Errorf("the code is %d characters long, more than a health certificate can be (%d)", len(rest), MaxEncodedLen))
	}

	in := inflaters.Get().(*inflater)
	defer inflaters.Put(in)
	var err error
	if in.compressed, err = base45.AppendDecode(in.compressed[:0], rest); err != nil {
		return nil, fail(StepBase45, err)
	}
	raw, err := in.inflate(in.compressed)
	if err != nil {
		return nil, fail(StepZlib, err)
	}

	msg, err := cose.ParseSign1(raw)
	if err != nil {
		return nil, fail(StepCOSE, err)
	}
	claims, err := decodeClaims(msg.Payload())
	if err != nil {
		return nil, fail(StepCWT, err)
	}
	return &Unverified{Message: msg, Claims: claims, COSE: raw}, nil
}

// prefixError explains a missing "HC1:", telling a different context
// identifier (a future "HC2:", another scheme's "HL0:") from no prefix.
func prefixError(s string) error {
	if i := strings.IndexByte(s, ':'); i >= 2 && i <= 3 {
		return fmt.Errorf("context identifier %q is not supported, only %q", s[:i+1], Prefix)
	}
	return fmt.Errorf("the text does not start with %q", Prefix)
}

// inflater is a pooled zlib reader with its buffers; a zlib reader holds a
// 32 KiB window and its Huffman tables, too much to allocate per scan.
type inflater struct {
	compressed []byte
	src        bytes.Reader
	zr         io.ReadCloser
	limited    io.LimitedReader
	out        bytes.Buffer
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// inflate decompresses zlib data with a pooled reader.
func inflate(b []byte) ([]byte, error) {
	in := inflaters.Get().(*inflater)
	defer inflaters.Put(in)
	return in.inflate(b)
}

// inflate decompresses b and returns a fresh copy of the result, which the
// caller keeps.
func (in *inflater) inflate(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("the code holds no data")
	}
	// A COSE message opens with 0xd2 (tag 18), 0xd8 (tag 61) or 0x84 (an
	// array), none of them a valid zlib header. The DCC specification
	// requires compression, and its test vector common/Z2 expects a bare
	// message to be refused here, so say plainly what was found.
	if b[0] == 0xd2 || b[0] == 0xd8 || b[0] == 0x84 {
		return nil, errors.New("the content is not compressed (it is a bare COSE message, and zlib compression is required)")
	}
	in.src.Reset(b)
	var err error
	if in.zr == nil {
		in.zr, err = zlib.NewReader(&in.src)
	} else {
		err = in.zr.(zlib.Resetter).Reset(&in.src, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("not zlib data: %w", err)
	}
	in.out.Reset()
	in.limited = io.LimitedReader{R: in.zr, N: MaxDecompressed + 1}
	n, err := in.out.ReadFrom(&in.limited)
	if err != nil {
		return nil, fmt.Errorf("compressed data is corrupt: %w", err)
	}
	if n > MaxDecompressed {
		return nil, fmt.Errorf("content inflates to more than %d bytes, far more than any health certificate: refused as a possible decompression bomb", MaxDecompressed)
	}
	if extra := in.src.Len(); extra > 0 {
		return nil, fmt.Errorf("%d unexpected bytes follow the compressed data", extra)
	}
	return bytes.Clone(in.out.Bytes()), nil
}
