package approval

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func sample(t *testing.T) *Approval {
	t.Helper()
	a := &Approval{
		Ver: Version, ID: "URN:UVCI:01:KR:CORRIDOR/A1B2C3D4#7",
		Nam: Name{Fn: "Wang", Fnt: "WANG", Gn: "Xiaoming", Gnt: "XIAOMING"},
		Dob: "1985-03-14", Lane: "CN-KR", Region: "KR", Purpose: "engineering",
		ValidFrom: "2020-05-10T00:00:00Z", ValidUntil: "2020-06-10T00:00:00Z",
		Itinerary: "IT-2020-0001", Authority: "Ministry of Foreign Affairs, Republic of Korea",
	}
	if err := a.SetPassport("CN", "E1234 5678", bytes.NewReader(bytes.Repeat([]byte{7}, 16))); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRoundTrip(t *testing.T) {
	a := sample(t)
	b, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *a {
		t.Fatalf("round trip changed the approval:\n%+v\n%+v", got, a)
	}
	again, _ := Marshal(got)
	if !bytes.Equal(b, again) {
		t.Fatal("encoding is not deterministic")
	}
}

func TestPassportMatch(t *testing.T) {
	a := sample(t)
	for _, ok := range []string{"E12345678", "e1234-5678", " E1234 5678 "} {
		if !a.MatchesPassport("CN", ok) {
			t.Errorf("%q does not match", ok)
		}
	}
	for _, no := range []string{"E12345679", "", "E1234567"} {
		if a.MatchesPassport("CN", no) {
			t.Errorf("%q matches", no)
		}
	}
	if a.MatchesPassport("KR", "E12345678") {
		t.Error("a passport of another country matches")
	}
	// Two approvals for one passport must not share a hash (fresh salts).
	b := sample(t)
	if err := b.SetPassport("CN", "E12345678", nil); err != nil {
		t.Fatal(err)
	}
	if b.PassportHash == a.PassportHash {
		t.Error("same hash with different salts")
	}
}

func TestValidateNamesField(t *testing.T) {
	cases := map[string]func(a *Approval){
		"ver":     func(a *Approval) { a.Ver = "2.0.0" },
		"nam.fnt": func(a *Approval) { a.Nam.Fnt = "Wang" },
		"dob":     func(a *Approval) { a.Dob = "14/03/1985" },
		"ln":      func(a *Approval) { a.Lane = "KR-KR" },
		"vu":      func(a *Approval) { a.ValidUntil = a.ValidFrom },
		"pph":     func(a *Approval) { a.PassportHash = "zz" },
		"rg":      func(a *Approval) { a.Region = strings.Repeat("x", 61) },
		"au":      func(a *Approval) { a.Authority = "" },
	}
	for field, mutate := range cases {
		a := sample(t)
		mutate(a)
		err := a.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
		if _, err := Marshal(a); err == nil {
			t.Errorf("%s: invalid approval marshalled", field)
		}
	}
}

func TestUnmarshalRefusesJunk(t *testing.T) {
	for _, in := range [][]byte{nil, {0xa0}, {0x01}, bytes.Repeat([]byte{0x81}, 100), []byte("not cbor")} {
		if _, err := Unmarshal(in); err == nil {
			t.Errorf("%x accepted", in)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	a := &Approval{Ver: Version, ID: "X", Nam: Name{Fnt: "A"}, Dob: "1990", PassportCountry: "CN",
		Lane: "CN-KR", Region: "KR", Purpose: "p", ValidFrom: "2020-01-01T00:00:00Z", ValidUntil: "2020-02-01T00:00:00Z",
		Itinerary: "i", Authority: "a"}
	_ = a.SetPassport("CN", "E12345678", nil)
	b, err := Marshal(a)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		if a, err := Unmarshal(data); err == nil {
			if err := a.Validate(); err != nil {
				t.Fatalf("Unmarshal accepted an invalid approval: %v", err)
			}
		}
	})
}
