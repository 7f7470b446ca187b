package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Secrets handed to a person or a machine (session cookies, invitation and
// traveller links, API tokens) carry 256 random bits and are kept only as
// their SHA-256: with that much entropy a fast hash is enough, and a leaked
// database row does not let anyone in.

// Prefixes tell secrets apart when one is pasted in the wrong place, and let
// secret scanners recognise Corridor tokens.
const (
	PrefixSession          = "cs_"
	PrefixInvitation       = "ci_"
	PrefixAPIToken         = "ct_"
	PrefixTraveller        = "tl_"
	PrefixTravellerSession = "ts_"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// maxSecretLen bounds what is hashed from outside input.
const maxSecretLen = 128

// NewSecret returns a fresh secret with its prefix and the hash to store.
func NewSecret(prefix string) (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("auth: drawing a secret: %w", err)
	}
	secret = prefix + strings.ToLower(b32.EncodeToString(b))
	return secret, HashSecret(secret), nil
}

// HashSecret is the stored form of a secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ErrMalformedSecret reports input that cannot be a secret of the asked kind.
var ErrMalformedSecret = errors.New("auth: not a valid token")

// CheckSecretShape refuses, before any lookup, what cannot be a secret of
// the given prefix: the wrong prefix, the wrong length, foreign characters.
func CheckSecretShape(secret, prefix string) error {
	body, ok := strings.CutPrefix(secret, prefix)
	if !ok || len(secret) > maxSecretLen || len(body) != b32.EncodedLen(32) {
		return ErrMalformedSecret
	}
	if _, err := b32.DecodeString(strings.ToUpper(body)); err != nil {
		return ErrMalformedSecret
	}
	return nil
}

// NewID returns a random identifier for a database row: 128 bits in
// lower-case base32, 26 characters. Random rather than sequential ids keep
// distributed SQL engines from writing every new row to one range.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ it
		// crashes the program itself); keep the signature simple.
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return strings.ToLower(b32.EncodeToString(b))
}

// Keyer derives rate-limit keys: an HMAC of the parts under a node secret,
// so the limit table holds no e-mail address or IP address, and a stolen
// table cannot be reversed by trying every IPv4 address.
type Keyer struct{ key []byte }

// NewKeyer makes a Keyer; the key must be at least 32 bytes.
func NewKeyer(key []byte) (*Keyer, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: the rate-limit key must be at least 32 bytes")
	}
	return &Keyer{key: append([]byte(nil), key...)}, nil
}

// Key returns the hex HMAC-SHA256 of the parts, each length-prefixed so that
// ("ab","c") and ("a","bc") differ.
func (k *Keyer) Key(purpose string, parts ...string) string {
	m := hmac.New(sha256.New, k.key)
	fmt.Fprintf(m, "%d:%s", len(purpose), purpose)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// ConstantTimeEqual compares two secrets or their hashes without leaking,
// through timing, how much of them matched.
func ConstantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
