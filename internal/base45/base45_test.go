package base45

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The examples of RFC 9285, sections 4.3 and 4.4.
var rfcExamples = []struct{ plain, encoded string }{
	{"AB", "BB8"},
	{"Hello!!", "%69 VD92EX0"},
	{"base-45", "UJCLQE7W581"},
	{"ietf!", "QED8WEX0"},
}

func TestRFCExamples(t *testing.T) {
	for _, ex := range rfcExamples {
		if got := Encode([]byte(ex.plain)); got != ex.encoded {
			t.Errorf("Encode(%q) = %q, want %q", ex.plain, got, ex.encoded)
		}
		got, err := Decode(ex.encoded)
		if err != nil {
			t.Errorf("Decode(%q): %v", ex.encoded, err)
			continue
		}
		if string(got) != ex.plain {
			t.Errorf("Decode(%q) = %q, want %q", ex.encoded, got, ex.plain)
		}
	}
}

func TestDecodeRefusesInvalid(t *testing.T) {
	for _, tc := range []struct {
		in, why string
	}{
		{"GGW", "more than two bytes"},        // RFC 9285 section 6: 65536
		{":::", "more than two bytes"},        // RFC 9285 section 6: 92024
		{"ZZ", "more than one byte"},          // a final pair worth 1610
		{"A", "dangling"},                     // one character cannot carry a byte
		{"BB8A", "dangling"},                  // nor can one left after a group
		{"bb8", "not in the Base45 alphabet"}, // lower case is not Base45
		{"BB8=", "dangling"},                  // length is checked first
		{"BB8==", "not in the Base45 alphabet"},
		{"B\x00", "not in the Base45 alphabet"},
	} {
		got, err := Decode(tc.in)
		if err == nil {
			t.Errorf("Decode(%q) = %x, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Decode(%q) error %q does not say %q", tc.in, err, tc.why)
		}
	}
}

func TestLengths(t *testing.T) {
	for n := 0; n < 10; n++ {
		enc := Encode(make([]byte, n))
		if len(enc) != EncodedLen(n) {
			t.Errorf("len(Encode(%d bytes)) = %d, EncodedLen says %d", n, len(enc), EncodedLen(n))
		}
		if DecodedLen(len(enc)) != n {
			t.Errorf("DecodedLen(%d) = %d, want %d", len(enc), DecodedLen(len(enc)), n)
		}
	}
}

func TestAppendDecodeKeepsPrefixOnError(t *testing.T) {
	dst := []byte("keep")
	got, err := AppendDecode(dst, "BB8GGW")
	if err == nil {
		t.Fatal("AppendDecode accepted GGW")
	}
	if string(got) != "keep" {
		t.Errorf("AppendDecode returned %q on error, want the original %q", got, "keep")
	}
}

func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		src := rapid.SliceOf(rapid.Byte()).Draw(t, "src")
		enc := Encode(src)
		for i := 0; i < len(enc); i++ {
			if strings.IndexByte(alphabet, enc[i]) < 0 {
				t.Fatalf("Encode produced %q, outside the alphabet", enc[i])
			}
		}
		got, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%x)): %v", src, err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("Decode(Encode(%x)) = %x", src, got)
		}
	})
}

// Any string either decodes to bytes that encode back to it, or is refused;
// it never panics. Drawing from the alphabet plus a few outsiders makes valid
// strings common enough to exercise both branches.
func TestDecodeArbitraryProperty(t *testing.T) {
	chars := []byte(alphabet + "=a\x00\xff")
	rapid.Check(t, func(t *rapid.T) {
		s := string(rapid.SliceOf(rapid.SampledFrom(chars)).Draw(t, "s"))
		got, err := Decode(s)
		if err != nil {
			return
		}
		if back := Encode(got); back != s {
			t.Fatalf("Decode(%q) = %x, which encodes back to %q", s, got, back)
		}
	})
}

func FuzzBase45(f *testing.F) {
	for _, ex := range rfcExamples {
		f.Add(ex.encoded)
	}
	f.Add("GGW")
	f.Add(":::")
	f.Add("A")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Decode(s)
		if err != nil {
			return
		}
		if back := Encode(got); back != s {
			t.Fatalf("Decode(%q) = %x, which encodes back to %q", s, got, back)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	s := Encode(bytes.Repeat([]byte{0x78, 0xda, 0x01, 0xff}, 100))
	buf := make([]byte, 0, DecodedLen(len(s)))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		var err error
		if buf, err = AppendDecode(buf[:0], s); err != nil {
			b.Fatal(err)
		}
	}
}
