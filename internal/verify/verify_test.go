package verify

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/certlogic"
	"github.com/corridorlane/corridor/internal/hcert"
	"github.com/corridorlane/corridor/internal/issuer"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/qr"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/trust"
)

var clock = time.Date(2020, 5, 10, 9, 0, 0, 0, time.UTC)

// node is one country's key material and a verifier that trusts it through
// its signed trust list, pinned to its CSCA.
type node struct {
	set *keys.Set
	v   *Verifier
}

func newNode(t testing.TB, country string) *node {
	t.Helper()
	dir := t.TempDir()
	set, err := keys.Init(dir, country, keys.Options{Now: clock.AddDate(0, -1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddSigner(dir, "lab", keys.Lab, keys.Options{Now: clock.AddDate(0, -1, 0)}); err != nil {
		t.Fatal(err)
	}
	if set, err = keys.Load(dir); err != nil {
		t.Fatal(err)
	}
	list, err := trust.SignList(set.TrustList(1, clock, clock.AddDate(0, 0, 7)), set.CSCAKey())
	if err != nil {
		t.Fatal(err)
	}
	var store trust.Store
	if _, err := store.Load(list, trust.LoadOptions{Pinned: set.CSCA, At: clock}); err != nil {
		t.Fatal(err)
	}
	return &node{set: set, v: &Verifier{Trust: &store}}
}

func (n *node) signer(t testing.TB, name string) issuer.Signer {
	t.Helper()
	key, _, kid, err := n.set.Signer(name)
	if err != nil {
		t.Fatal(err)
	}
	return issuer.Signer{Key: key, Kid: kid, Country: n.set.Country}
}

func sampleTest(positive bool) issuer.TestResult {
	return issuer.TestResult{FamilyName: "Kim", GivenName: "Minjun", DateOfBirth: "1988-02-03", Type: "NAAT",
		Positive: positive, SampledAt: clock.Add(-20 * time.Hour), Centre: "Seoul Lab", Country: "KR", Issuer: "Seoul Lab"}
}

func sampleApproval(t testing.TB) *approval.Approval {
	a := &approval.Approval{Ver: approval.Version, ID: "URN:UVCI:01:KR:AP/TEST1#3", Nam: approval.Name{Fn: "Wang", Fnt: "WANG"},
		Dob: "1980-01-02", Lane: "CN-KR", Region: "KR", Purpose: "engineering",
		ValidFrom: clock.AddDate(0, 0, -1).Format(time.RFC3339), ValidUntil: clock.AddDate(0, 1, 0).Format(time.RFC3339),
		Itinerary: "IT-1", Authority: "MOFA"}
	if err := a.SetPassport("CN", "E12345678", nil); err != nil {
		t.Fatal(err)
	}
	return a
}

func assertSteps(t *testing.T, r *Result, want map[Step]Outcome) {
	t.Helper()
	for s, o := range want {
		if c := r.Check(s); c.Result != o {
			t.Errorf("%s: %s (%s), want %s", s, c.Result, c.Detail, o)
		}
	}
	if len(r.Checks) != len(Steps) {
		t.Errorf("%d checks reported, want all %d", len(r.Checks), len(Steps))
	}
	for i, c := range r.Checks {
		if c.Step != Steps[i] {
			t.Errorf("check %d is %s, want %s", i, c.Step, Steps[i])
		}
	}
}

func TestRoundTripEveryKind(t *testing.T) {
	kr := newNode(t, "KR")
	testHC1, _, err := issuer.IssueTest(kr.signer(t, "lab"), sampleTest(false), clock, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apHC1, err := issuer.IssueApproval(kr.signer(t, keys.AuthorityName), sampleApproval(t), clock)
	if err != nil {
		t.Fatal(err)
	}
	vacc := map[string]any{"ver": "1.3.0", "dob": "1980-01-02", "nam": map[string]any{"fn": "Lee", "fnt": "LEE"},
		"v": []any{map[string]any{"tg": "840539006", "vp": "J07BX03", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
			"dn": 2.0, "sd": 2.0, "dt": "2021-06-01", "co": "KR", "is": "KDCA", "ci": "URN:UVCI:01:KR:V1/ABC#1"}}}
	rec := map[string]any{"ver": "1.3.0", "dob": "1980-01-02", "nam": map[string]any{"fnt": "LEE"},
		"r": []any{map[string]any{"tg": "840539006", "fr": "2020-04-01", "co": "KR", "is": "KDCA",
			"df": "2020-04-12", "du": "2020-10-01", "ci": "URN:UVCI:01:KR:R1/ABC#1"}}}
	// Vaccination and recovery are signed by the lab's DSC, whose key
	// usage allows test results only: they decode and verify, and the
	// keyusage step refuses them.
	cases := map[string]struct {
		hc1  string
		kind string
		v    *Verifier
	}{
		"test":     {testHC1, "t", kr.v},
		"approval": {apHC1, KindApproval, kr.v},
	}
	lab := kr.signer(t, "lab")
	for name, doc := range map[string]map[string]any{"vaccination": vacc, "recovery": rec} {
		hc1, err := issuer.IssueDCC(lab, doc, clock, clock.AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		cases[name] = struct {
			hc1  string
			kind string
			v    *Verifier
		}{hc1, string(name[0]), kr.v}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := c.v.Text(c.hc1, clock)
			if r.Kind != c.kind {
				t.Fatalf("kind %q, want %q", r.Kind, c.kind)
			}
			if c.kind == "v" || c.kind == "r" {
				// A lab's DSC may sign test results only.
				assertSteps(t, r, map[Step]Outcome{StepSignature: Pass, StepKeyUsage: Fail})
				if r.Valid || !strings.Contains(r.Check(StepKeyUsage).Detail, "test") {
					t.Fatalf("lab-signed %s accepted or unclear: %v", name, r.Reasons())
				}
				return
			}
			if !r.Valid {
				t.Fatalf("not valid: %v", r.Reasons())
			}
			assertSteps(t, r, map[Step]Outcome{StepImage: Skip, StepPrefix: Pass, StepSignature: Pass, StepKeyUsage: Pass,
				StepValidity: Pass, StepSchema: Pass, StepRevocation: Skip, StepRules: Skip})
			// Through the picture too.
			png, err := qr.EncodePNG(c.hc1)
			if err != nil {
				t.Fatal(err)
			}
			pr := c.v.Picture(bytes.NewReader(png), clock)
			if !pr.Valid || pr.Check(StepImage).Result != Pass || pr.Text != c.hc1 {
				t.Fatalf("picture: %v", pr.Checks)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	kr, cn := newNode(t, "KR"), newNode(t, "CN")
	good, _, err := issuer.IssueTest(kr.signer(t, "lab"), sampleTest(false), clock, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("untrusted signer", func(t *testing.T) {
		r := cn.v.Text(good, clock)
		assertSteps(t, r, map[Step]Outcome{StepSignature: Fail, StepKeyUsage: Skip})
		if r.Valid || !strings.Contains(r.Check(StepSignature).Detail, "not in the trust list") {
			t.Fatalf("%v", r.Checks)
		}
	})
	t.Run("forged with the right kid", func(t *testing.T) {
		// CN's lab key signs under KR's lab kid: the kid finds KR's key,
		// whose check must fail.
		u, err := hcert.Decode(good)
		if err != nil {
			t.Fatal(err)
		}
		key, _, _, _ := cn.set.Signer("lab")
		forged, err := hcert.Encode(u.Claims, u.Kid(), key)
		if err != nil {
			t.Fatal(err)
		}
		r := kr.v.Text(forged, clock)
		assertSteps(t, r, map[Step]Outcome{StepSignature: Fail})
		if r.Valid {
			t.Fatal("forgery accepted")
		}
	})
	t.Run("expired", func(t *testing.T) {
		r := kr.v.Text(good, clock.AddDate(0, 0, 8))
		assertSteps(t, r, map[Step]Outcome{StepSignature: Pass, StepValidity: Fail})
		if r.Valid || !strings.Contains(r.Check(StepValidity).Detail, "expired") {
			t.Fatalf("%v", r.Checks)
		}
	})
	t.Run("lab may not approve", func(t *testing.T) {
		hc1, err := issuer.IssueApproval(issuer.Signer{Key: kr.signer(t, "lab").Key, Kid: kr.signer(t, "lab").Kid, Country: "KR"}, sampleApproval(t), clock)
		if err != nil {
			t.Fatal(err)
		}
		r := kr.v.Text(hc1, clock)
		assertSteps(t, r, map[Step]Outcome{StepSignature: Pass, StepKeyUsage: Fail})
		if r.Valid {
			t.Fatal("approval signed by a lab accepted")
		}
	})
	t.Run("approval outside its window", func(t *testing.T) {
		hc1, err := issuer.IssueApproval(kr.signer(t, keys.AuthorityName), sampleApproval(t), clock)
		if err != nil {
			t.Fatal(err)
		}
		r := kr.v.Text(hc1, clock.AddDate(0, 0, -2))
		if r.Valid || !strings.Contains(r.Check(StepValidity).Detail, "valid only from") {
			t.Fatalf("%v", r.Checks)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		u, _ := hcert.Decode(good)
		r0 := kr.v.Text(good, clock)
		uvci := r0.Document.JSON["t"].([]any)[0].(map[string]any)["ci"].(string)
		l := revocation.List{Country: "KR", Sequence: 1, IssuedAt: clock, NextUpdate: clock.AddDate(0, 0, 1)}
		for typ, h := range revocation.Hashes(uvci, "KR", u.Message.Signature(), -7) {
			if typ == revocation.UCI {
				if err := l.Add(revocation.Entry{Type: typ, Hash: h}); err != nil {
					t.Fatal(err)
				}
			}
		}
		data, err := revocation.Sign(&l, kr.set.CSCA, kr.set.CSCAKey())
		if err != nil {
			t.Fatal(err)
		}
		signed, err := revocation.Verify(data, kr.set.CSCA)
		if err != nil {
			t.Fatal(err)
		}
		v := *kr.v
		v.Revocation = signed
		r := v.Text(good, clock)
		assertSteps(t, r, map[Step]Outcome{StepRevocation: Fail})
		if r.Valid {
			t.Fatal("revoked credential accepted")
		}
		other, _, _ := issuer.IssueTest(kr.signer(t, "lab"), sampleTest(false), clock, rand.Reader)
		if r := v.Text(other, clock); !r.Valid || r.Check(StepRevocation).Result != Pass {
			t.Fatalf("unrevoked credential: %v", r.Reasons())
		}
	})
	t.Run("rules", func(t *testing.T) {
		rules, err := certlogic.LoadRules([]byte(`[{"Identifier":"TR-KR-0002","Type":"Acceptance","Country":"KR","Version":"1.0.0",
		"SchemaVersion":"1.3.0","Engine":"CERTLOGIC","EngineVersion":"0.7.5","CertificateType":"Test",
		"Description":[{"lang":"en","desc":"The test result must be negative (not detected)."}],
		"ValidFrom":"2020-01-01T00:00:00Z","ValidTo":"2030-01-01T00:00:00Z","AffectedFields":["t.0.tr"],
		"Logic":{"===":[{"var":"payload.t.0.tr"},"260415000"]}}]`))
		if err != nil {
			t.Fatal(err)
		}
		v := *kr.v
		v.Rules, v.Country = rules, "KR"
		pos, _, _ := issuer.IssueTest(kr.signer(t, "lab"), sampleTest(true), clock, rand.Reader)
		r := v.Text(pos, clock)
		if r.Valid || !strings.Contains(r.Check(StepRules).Detail, "must be negative") {
			t.Fatalf("positive test passed the rules: %v", r.Checks)
		}
		if r := v.Text(good, clock); !r.Valid {
			t.Fatalf("negative test refused: %v", r.Reasons())
		}
	})
	t.Run("every decode failure names its step", func(t *testing.T) {
		for in, step := range map[string]Step{
			"":                  StepPrefix,
			"HC2:ABC":           StepPrefix,
			"HC1:a":             StepBase45,
			"HC1:" + good[4:40]: StepZlib,
			"HC1:GGW":           StepBase45,
		} {
			r := kr.v.Text(in, clock)
			if r.Valid || r.Check(step).Result != Fail {
				t.Errorf("%q: %v, want %s to fail", in, r.Checks, step)
			}
		}
	})
}

// A flight manifest of 400 is checked on every core, in order.
func TestBatch(t *testing.T) {
	kr := newNode(t, "KR")
	var texts []string
	for i := 0; i < 400; i++ {
		tr := sampleTest(i%50 == 7)
		hc1, _, err := issuer.IssueTest(kr.signer(t, "lab"), tr, clock, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 3 {
			hc1 = hc1[:len(hc1)-5] // damaged in printing
		}
		texts = append(texts, hc1)
	}
	res := kr.v.Batch(texts, clock)
	for i, r := range res {
		if r.Text != strings.TrimSpace(texts[i]) {
			t.Fatalf("result %d is for another credential", i)
		}
		if want := i%100 != 3; r.Valid != want {
			t.Errorf("manifest line %d valid=%v, want %v: %v", i, r.Valid, want, r.Reasons())
		}
	}
}
