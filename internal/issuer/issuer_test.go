package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/hcert"
)

var now = time.Date(2020, 5, 10, 9, 0, 0, 0, time.UTC)

func signer(t *testing.T, country string) Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Signer{Key: key, Kid: []byte("12345678"), Country: country}
}

func test() TestResult {
	return TestResult{FamilyName: "Müller", GivenName: "Jörg", DateOfBirth: "1970-01-01", Type: "NAAT",
		SampledAt: now.Add(-time.Hour), Centre: "Lab", Country: "KR", Issuer: "Lab"}
}

func TestIssueTest(t *testing.T) {
	s := signer(t, "KR")
	hc1, p, err := IssueTest(s, test(), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Nam.Fnt != "MUELLER" || p.Nam.Gnt != "JOERG" {
		t.Errorf("transliteration: %+v", p.Nam)
	}
	if err := dcc.CheckUVCI(p.T[0].Ci); err != nil {
		t.Errorf("generated UVCI %q: %v", p.T[0].Ci, err)
	}
	if p.T[0].Tr != dcc.ResultNotDetected || p.T[0].Tt != dcc.TestTypeNAAT {
		t.Errorf("test entry: %+v", p.T[0])
	}
	u, err := hcert.Decode(hc1)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.VerifySignature(s.Key.Public()); err != nil {
		t.Fatal(err)
	}
	if !u.Claims.ExpiresAt.Equal(test().SampledAt.Add(DefaultTestValidity)) || u.Claims.Issuer != "KR" {
		t.Errorf("claims: %+v", u.Claims)
	}
}

func TestIssueRefusals(t *testing.T) {
	s := signer(t, "KR")
	for name, c := range map[string]struct {
		mutate func(*TestResult)
		want   string
	}{
		"rat without device": {func(tr *TestResult) { tr.Type = "RAT" }, "device identifier"},
		"unknown type":       {func(tr *TestResult) { tr.Type = "SMELL" }, "NAAT or RAT"},
		"future sample":      {func(tr *TestResult) { tr.SampledAt = now.Add(time.Hour) }, "future"},
		"no sample":          {func(tr *TestResult) { tr.SampledAt = time.Time{} }, "sample time"},
		"han name":           {func(tr *TestResult) { tr.FamilyName = "王" }, "family name"},
	} {
		tr := test()
		c.mutate(&tr)
		if _, _, err := IssueTest(s, tr, now, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	// A Han name is accepted with its passport transliteration given.
	tr := test()
	tr.FamilyName, tr.FamilyNameT = "王", "WANG"
	if _, _, err := IssueTest(s, tr, now, nil); err != nil {
		t.Errorf("Han name with transliteration: %v", err)
	}
	if _, _, err := IssueTest(Signer{Key: s.Key, Kid: []byte("short"), Country: "KR"}, test(), now, nil); err == nil {
		t.Error("a 5-byte kid was accepted")
	}
	a := &approval.Approval{Ver: approval.Version, ID: "X", Nam: approval.Name{Fnt: "WANG"}, Dob: "1980", Lane: "CN-KR",
		Region: "KR", Purpose: "p", ValidFrom: "2020-05-01T00:00:00Z", ValidUntil: "2020-06-01T00:00:00Z", Itinerary: "i", Authority: "a"}
	if err := a.SetPassport("CN", "E12345678", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := IssueApproval(signer(t, "CN"), a, now); err == nil || !strings.Contains(err.Error(), "issued by KR") {
		t.Errorf("China issuing a Korean entry approval: %v", err)
	}
	if _, err := IssueApproval(s, a, now); err != nil {
		t.Errorf("Korea issuing its approval: %v", err)
	}
}
