package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
//
// Hand-written over golang.org/x/crypto/argon2 rather than a wrapper
// library: the wrapper's twenty lines would not bound the parameters read
// back from a stored hash, and a tampered row asking for 4 GiB of memory
// must not take the node down.
type Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// DefaultParams follow RFC 9106 section 4's second recommended option scaled
// to a small server: 3 passes over 64 MiB with 2 lanes, about 100 ms on one
// core of this project's 2-core reference machine. A login costs that much
// CPU, which is also why logins are rate limited.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// TestParams are cheap, for tests only: the hash format is the same.
var TestParams = Params{Time: 1, MemoryKiB: 1024, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read back from storage.
	maxTime      = 16
	maxMemoryKiB = 1 << 20 // 1 GiB
	// Password length bounds: argon2 hashes any length, but a megabyte
	// password is an attack, not a password.
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// ErrPasswordMismatch is returned when a password does not match its hash.
var ErrPasswordMismatch = errors.New("auth: password does not match")

// CheckPasswordRules says what is wrong with a new password, in words for
// the person choosing it.
func CheckPasswordRules(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errors.New("must be valid text")
	case n < MinPasswordLen:
		return fmt.Errorf("must be at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("must be at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// HashPassword returns the PHC-style encoding
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key> (unpadded
// standard Base64), so the parameters can change later without breaking
// stored hashes.
func HashPassword(pw string, p Params) (string, error) {
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("auth: password longer than %d bytes", MaxPasswordLen)
	}
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: drawing a salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword compares pw with an encoded hash in constant time. It
// returns ErrPasswordMismatch for a wrong password and another error for a
// hash it cannot read. needsRehash tells that the hash was made with
// parameters other than want, so the caller can store a fresh one.
func CheckPassword(encoded, pw string, want Params) (needsRehash bool, err error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPasswordLen {
		return false, ErrPasswordMismatch
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, ErrPasswordMismatch
	}
	return p != want, nil
}

// dummyHashes hold, per parameter set, a hash compared against when an
// account does not exist, so that a login for an unknown e-mail costs as
// long as one for a known one. Made lazily: a hash costs what a login does.
var dummyHashes sync.Map // Params -> string

// BurnPasswordCheck spends the time of one password check under parameters
// p and reports nothing.
func BurnPasswordCheck(pw string, p Params) {
	h, ok := dummyHashes.Load(p)
	if !ok {
		fresh, err := HashPassword("corridor-no-such-account", p)
		if err != nil {
			return
		}
		h, _ = dummyHashes.LoadOrStore(p, fresh)
	}
	_, _ = CheckPassword(h.(string), pw, p)
}

func (p Params) check() error {
	if p.Time < 1 || p.Time > maxTime || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB || p.Threads < 1 {
		return fmt.Errorf("auth: argon2id parameters out of range: %+v", p)
	}
	return nil
}

func decodeHash(encoded string) (Params, []byte, []byte, error) {
	bad := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("auth: stored password hash is not argon2id: %s", what)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("wrong layout")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return bad("unknown version")
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return bad("unreadable parameters")
	}
	if err := p.check(); err != nil {
		return bad("parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return bad("bad salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return bad("bad key")
	}
	return p, salt, key, nil
}
