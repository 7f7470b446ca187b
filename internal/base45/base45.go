package base45

import (
	"errors"
	"fmt"
)

// alphabet maps a value 0..44 to its character (RFC 9285, section 4.2).
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// invalid marks a byte outside the alphabet in decodeMap.
const invalid = 0xff

// decodeMap maps a character back to its value, or to invalid.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = invalid
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// EncodedLen is the length of the Base45 encoding of n bytes: three
// characters for every two bytes, two for a trailing single byte.
func EncodedLen(n int) int { return n/2*3 + n%2*2 }

// DecodedLen is the most bytes that n Base45 characters can decode to.
func DecodedLen(n int) int { return n/3*2 + n%3/2 }

// Encode returns the Base45 encoding of src.
func Encode(src []byte) string {
	return string(AppendEncode(make([]byte, 0, EncodedLen(len(src))), src))
}

// AppendEncode appends the Base45 encoding of src to dst and returns the
// extended buffer.
func AppendEncode(dst, src []byte) []byte {
	for len(src) >= 2 {
		n := uint(src[0])<<8 | uint(src[1])
		dst = append(dst, alphabet[n%45], alphabet[n/45%45], alphabet[n/(45*45)])
		src = src[2:]
	}
	if len(src) == 1 {
		n := uint(src[0])
		dst = append(dst, alphabet[n%45], alphabet[n/45])
	}
	return dst
}

// Decode returns the bytes that the Base45 string s encodes.
func Decode(s string) ([]byte, error) {
	return AppendDecode(make([]byte, 0, DecodedLen(len(s))), s)
}

// AppendDecode appends the bytes that s encodes to dst and returns the
// extended buffer. On error it returns dst as it was given, unextended.
func AppendDecode(dst []byte, s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return dst, fmt.Errorf("base45: length %d leaves a single character dangling at the end", len(s))
	}
	start := len(dst)
	for i := 0; i < len(s); i += 3 {
		if i+2 == len(s) {
			// A final pair of characters carries one byte.
			c, d := uint(decodeMap[s[i]]), uint(decodeMap[s[i+1]])
			if (c|d)&^63 != 0 {
				return dst[:start], charError(s, i)
			}
			n := c + d*45
			if n > 0xff {
				return dst[:start], fmt.Errorf("base45: final pair %q at position %d is worth %d, more than one byte (255)", s[i:], i, n)
			}
			dst = append(dst, byte(n))
			break
		}
		c, d, e := uint(decodeMap[s[i]]), uint(decodeMap[s[i+1]]), uint(decodeMap[s[i+2]])
		// Valid values are below 64, so one test over the three catches
		// any invalid (0xff) among them.
		if (c|d|e)&^63 != 0 {
			return dst[:start], charError(s, i)
		}
		n := c + d*45 + e*45*45
		if n > 0xffff {
			return dst[:start], fmt.Errorf("base45: group %q at position %d is worth %d, more than two bytes (65535)", s[i:i+3], i, n)
		}
		dst = append(dst, byte(n>>8), byte(n))
	}
	return dst, nil
}

// charError reports the first character outside the alphabet at or after
// position i.
func charError(s string, i int) error {
	for ; i < len(s); i++ {
		if decodeMap[s[i]] == invalid {
			return fmt.Errorf("base45: character %q at position %d is not in the Base45 alphabet", s[i], i)
		}
	}
	return errors.New("base45: character not in the Base45 alphabet") // unreachable when called as above
}
