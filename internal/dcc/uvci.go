package dcc

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// The unique vaccination certificate identifier (UVCI), as the eHealth
// Network "Guidelines on verifiable vaccination certificates - basic
// interoperability elements" (release 2, Annex 2) define it and the DCC
// uses it for all three kinds:
//
//	URN:UVCI:01:KR:CORRIDOR/7H2M4QX0K9ZT3VB8N1RC5DWE#Y
//
// that is, the prefix "URN:UVCI:", the version 01, the issuing country,
// an opaque unique string (here an issuer name and random characters) and
// a check character after '#'. The prefix and the checksum are optional.
// Only capital letters, digits and the separators '/', ':' and '#' are
// allowed. The check character is Luhn mod N over the whole identifier
// before the '#', prefix included, with the code points of uvciAlphabet,
// as the schema project settled it (ehn-dcc-development/eu-dcc-schema,
// issues 38, 45 and 63, and its examples/Luhn-Mod-N reference code).
const (
	uvciPrefix   = "URN:UVCI:"
	uvciVersion  = "01"
	uvciAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:" // '#' is not in it: it only introduces the checksum

	// uvciRandomChars of A-Z0-9 give 124 bits, ample against collisions.
	uvciRandomChars = 24
	// uvciIssueMaxLength keeps the identifiers Corridor issues within
	// the 50-character limit of schemas 1.0-1.2, so older verifiers take
	// them too; the 1.3 schema allows 80.
	uvciIssueMaxLength = 50
)

// ErrUVCIChecksum reports a UVCI whose check character does not match.
var ErrUVCIChecksum = errors.New("dcc: UVCI checksum does not match")

// NewUVCI issues a UVCI of the form URN:UVCI:01:<country>:<issuerPrefix>/<random>#<checksum>
// (option 1 or 2 of Annex 2; without a prefix, option 3). country is the
// ISO 3166-1 alpha-2 code of the issuing country; issuerPrefix names the
// issuer and may hold '/' between its parts; random supplies the opaque
// part, normally crypto/rand.Reader.
func NewUVCI(country, issuerPrefix string, random io.Reader) (string, error) {
	if !isCountryCode(country) || len(country) != 2 {
		return "", fmt.Errorf("dcc: UVCI country %q is not an ISO 3166-1 alpha-2 code in capitals", country)
	}
	if issuerPrefix != "" && !isOpaqueString(issuerPrefix) {
		return "", fmt.Errorf("dcc: UVCI issuer prefix %q must be capital letters and digits, with single '/' between parts", issuerPrefix)
	}
	if random == nil {
		return "", errors.New("dcc: UVCI needs a source of randomness")
	}
	opaque, err := randomUVCIChars(random, uvciRandomChars)
	if err != nil {
		return "", err
	}
	if issuerPrefix != "" {
		opaque = issuerPrefix + "/" + opaque
	}
	body := uvciPrefix + uvciVersion + ":" + country + ":" + opaque
	if n := len(body) + 2; n > uvciIssueMaxLength {
		return "", fmt.Errorf("dcc: UVCI would be %d characters long; shorten the issuer prefix %q to keep it within %d", n, issuerPrefix, uvciIssueMaxLength)
	}
	return body + "#" + string(luhnModNCheck(body)), nil
}

// randomUVCIChars draws n characters of A-Z0-9 without modulo bias.
func randomUVCIChars(random io.Reader, n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const limit = 256 - 256%len(alphabet) // bytes at or above it would favour some characters
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", fmt.Errorf("dcc: UVCI randomness: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// CheckUVCI checks that s is a well-formed UVCI and, when it carries a
// checksum, that the checksum matches (the error then wraps
// ErrUVCIChecksum). It is strict: lower case is refused, since the
// guidelines allow capitals only and the checksum is defined on them.
func CheckUVCI(s string) error {
	if n := len(s); n > maxTextLength {
		return fmt.Errorf("dcc: UVCI is %d characters long; at most %d are allowed", n, maxTextLength)
	}
	body, check, hasCheck := strings.Cut(s, "#")
	rest := body
	if len(rest) >= len(uvciPrefix) && strings.EqualFold(rest[:len(uvciPrefix)], uvciPrefix) {
		if rest[:len(uvciPrefix)] != uvciPrefix {
			return fmt.Errorf("dcc: UVCI prefix must be written %q in capitals", uvciPrefix)
		}
		rest = rest[len(uvciPrefix):]
	}
	version, rest, ok := strings.Cut(rest, ":")
	if !ok || version != uvciVersion {
		return fmt.Errorf("dcc: UVCI must start with version %q and a ':' (after the optional %q)", uvciVersion, uvciPrefix)
	}
	country, opaque, ok := strings.Cut(rest, ":")
	if !ok || !isCountryCode(country) {
		return errors.New("dcc: UVCI must name the issuing country in capitals (ISO 3166-1 alpha-2, or a longer reserved code) followed by ':'")
	}
	if !isOpaqueString(opaque) {
		return errors.New("dcc: UVCI unique string must be capital letters and digits, with single '/' between parts")
	}
	if !hasCheck {
		return nil
	}
	if len(check) != 1 || strings.IndexByte(uvciAlphabet, check[0]) < 0 {
		return errors.New("dcc: UVCI checksum must be one character of A-Z, 0-9, '/' or ':' after a single '#'")
	}
	if luhnModNCheck(body) != check[0] {
		return ErrUVCIChecksum
	}
	return nil
}

// luhnModNCheck computes the Luhn mod N check character of body, which
// must consist of uvciAlphabet characters only.
func luhnModNCheck(body string) byte {
	n := len(uvciAlphabet)
	factor, sum := 2, 0
	// From the right, weights alternate 2, 1, 2, ...; the check character
	// will sit to the right of body with weight 1.
	for i := len(body) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(uvciAlphabet, body[i])
		sum += addend/n + addend%n
		factor = 3 - factor
	}
	return uvciAlphabet[(n-sum%n)%n]
}

// isCountryCode accepts 2 to 10 capitals: ISO 3166-1 alpha-2, and the
// longer codes (such as UNHCR) that Annex 2 reserves.
func isCountryCode(s string) bool {
	if len(s) < 2 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isOpaqueString accepts parts of capitals and digits separated by single
// slashes.
func isOpaqueString(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, "/") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !(part[i] >= 'A' && part[i] <= 'Z') && !isDigit(part[i]) {
				return false
			}
		}
	}
	return true
}
