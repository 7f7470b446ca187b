package auth

import (
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/trip"
)

func TestRoles(t *testing.T) {
	rs := NewRoles(trip.RoleSponsor, RoleAdmin, trip.RoleSponsor)
	if rs.String() != "admin,sponsor" {
		t.Fatalf("roles %q", rs)
	}
	if got := ParseRoles(rs.String()); got.String() != rs.String() {
		t.Fatalf("round trip %q", got)
	}
	if ParseRoles("") != nil {
		t.Fatal("empty roles parse to something")
	}
	if !rs.Covers(NewRoles(RoleAdmin)) || rs.Covers(NewRoles(trip.RoleReviewer, RoleAdmin)) || !rs.Covers(nil) {
		t.Fatal("Covers is wrong")
	}
	if err := NewRoles(trip.RoleReviewer).CheckFor(KindSponsor); err == nil {
		t.Fatal("a sponsor may hold the reviewer role")
	}
	if err := NewRoles().CheckFor(KindSponsor); err == nil {
		t.Fatal("an empty role set was accepted")
	}
	for _, k := range OrgKinds {
		if !k.Valid() || !k.Allows(RoleAdmin) || len(k.Roles()) < 2 {
			t.Fatalf("kind %s", k)
		}
		if err := Roles(k.Roles()).CheckFor(k); err != nil {
			t.Fatalf("kind %s refuses its own roles: %v", k, err)
		}
	}
	if OrgKind("club").Valid() {
		t.Fatal("an unknown kind is valid")
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash format %q", h)
	}
	h2, _ := HashPassword("correct horse battery", TestParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	rehash, err := CheckPassword(h, "correct horse battery", TestParams)
	if err != nil || rehash {
		t.Fatalf("right password: %v, rehash %v", err, rehash)
	}
	if _, err := CheckPassword(h, "correct horse batterY", TestParams); err != ErrPasswordMismatch {
		t.Fatalf("wrong password: %v", err)
	}
	stronger := Params{Time: 2, MemoryKiB: 2048, Threads: 1}
	if rehash, err := CheckPassword(h, "correct horse battery", stronger); err != nil || !rehash {
		t.Fatalf("changed parameters: %v, rehash %v", err, rehash)
	}
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 4 GiB: refused, not computed
		"$argon2id$v=19$m=1024,t=100,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, err := CheckPassword(bad, "x", TestParams); err == nil || err == ErrPasswordMismatch {
			t.Errorf("stored hash %q: got %v, want a format error", bad, err)
		}
	}
	if err := CheckPasswordRules("short"); err == nil {
		t.Fatal("a short password passed")
	}
	if err := CheckPasswordRules(strings.Repeat("x", MaxPasswordLen+1)); err == nil {
		t.Fatal("a huge password passed")
	}
	if err := CheckPasswordRules("ten chars!"); err != nil {
		t.Fatal(err)
	}
}

func TestSecrets(t *testing.T) {
	s, h, err := NewSecret(PrefixAPIToken)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, PrefixAPIToken) || HashSecret(s) != h || len(h) != 64 {
		t.Fatalf("secret %q hash %q", s, h)
	}
	if err := CheckSecretShape(s, PrefixAPIToken); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", s[3:], PrefixSession + s[3:], s + "a", s[:len(s)-1], s[:10] + "!" + s[11:]} {
		if CheckSecretShape(bad, PrefixAPIToken) == nil {
			t.Errorf("shape of %q accepted", bad)
		}
	}
	s2, _, _ := NewSecret(PrefixAPIToken)
	id1, id2 := NewID(), NewID()
	if s == s2 || id1 == id2 || len(id1) != 26 {
		t.Fatal("secrets or ids repeat")
	}
	if !ConstantTimeEqual("abc", "abc") || ConstantTimeEqual("abc", "abd") {
		t.Fatal("ConstantTimeEqual")
	}
}

func TestKeyer(t *testing.T) {
	if _, err := NewKeyer([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
	k, err := NewKeyer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	a := k.Key("login", "ab", "c")
	if a != k.Key("login", "ab", "c") {
		t.Fatal("keys are not stable")
	}
	for _, other := range []string{k.Key("login", "a", "bc"), k.Key("reset", "ab", "c"), k.Key("login", "abc")} {
		if other == a {
			t.Fatal("different parts give the same key")
		}
	}
	k2, _ := NewKeyer([]byte(strings.Repeat("j", 32)))
	if k2.Key("login", "ab", "c") == a {
		t.Fatal("the key does not depend on the secret")
	}
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("key %q is not a SHA-256 HMAC in hex", a)
	}
}
