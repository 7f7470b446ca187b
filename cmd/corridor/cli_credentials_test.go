package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// credentialsWorld is one country's keys, its trust list, and helpers to
// run the CLI against them.
type credentialsWorld struct {
	t     *testing.T
	dir   string
	keys  string
	trust string
}

func newCredentialsWorld(t *testing.T) *credentialsWorld {
	t.Helper()
	w := &credentialsWorld{t: t, dir: t.TempDir()}
	w.keys = filepath.Join(w.dir, "keys")
	w.trust = filepath.Join(w.dir, "trust.json")
	w.ok("keys", "init", "--country", "KR", "--dir", w.keys)
	w.ok("keys", "add-signer", "--dir", w.keys, "--name", "lab-seoul")
	w.ok("keys", "trustlist", "--dir", w.keys, "--out", w.trust)
	return w
}

func (w *credentialsWorld) ok(args ...string) string {
	w.t.Helper()
	code, out, errOut := runCorridor(w.t, args...)
	if code != 0 {
		w.t.Fatalf("corridor %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (w *credentialsWorld) issueTest(png string, positive bool) string {
	result := "negative"
	if positive {
		result = "positive"
	}
	return strings.TrimSpace(w.ok("issue", "test", "--keys", w.keys, "--signer", "lab-seoul",
		"--family-name", "Kim", "--given-name", "Minjun", "--dob", "1988-02-03", "--result", result,
		"--sampled", time.Now().Add(-10*time.Hour).UTC().Format(time.RFC3339),
		"--centre", "Seoul Lab", "--issuer", "Seoul Lab", "--png", png))
}

type verdict struct {
	Valid  bool   `json:"valid"`
	Kind   string `json:"kind"`
	Kid    string `json:"kid"`
	Issuer string `json:"issuer"`
	Checks []struct {
		Step, Result, Detail string
	} `json:"checks"`
}

func (v verdict) step(name string) string {
	for _, c := range v.Checks {
		if c.Step == name {
			return c.Result
		}
	}
	return "missing"
}

func (w *credentialsWorld) verify(wantCode int, args ...string) verdict {
	w.t.Helper()
	code, out, errOut := runCorridor(w.t, append([]string{"verify", "--json"}, args...)...)
	if code != wantCode {
		w.t.Fatalf("verify %v: exit %d, want %d\n%s%s", args, code, wantCode, out, errOut)
	}
	var v verdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		w.t.Fatalf("verify --json printed no JSON object: %v\n%s", err, out)
	}
	steps := []string{"image", "prefix", "base45", "zlib", "cose", "cwt", "signature", "keyusage", "validity", "schema", "revocation", "rules"}
	if len(v.Checks) != len(steps) {
		w.t.Fatalf("%d checks, want %d", len(v.Checks), len(steps))
	}
	for i, s := range steps {
		if v.Checks[i].Step != s {
			w.t.Fatalf("check %d is %q, want %q", i, v.Checks[i].Step, s)
		}
	}
	return v
}

func TestIssueAndVerifyEveryInput(t *testing.T) {
	w := newCredentialsWorld(t)
	png := filepath.Join(w.dir, "t.png")
	hc1 := w.issueTest(png, false)
	txt := filepath.Join(w.dir, "t.txt")
	if err := os.WriteFile(txt, []byte(hc1+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join("..", "..", "policies", "cn-kr.json")
	for name, input := range map[string]string{"string": hc1, "file": txt, "png": png} {
		v := w.verify(0, "--trust", w.trust, "--rules", rules, "--country", "KR", input)
		if !v.Valid || v.Kind != "t" || v.Issuer != "KR" || v.step("rules") != "pass" {
			t.Errorf("%s: %+v", name, v)
		}
		wantImage := "skip"
		if name == "png" {
			wantImage = "pass"
		}
		if v.step("image") != wantImage {
			t.Errorf("%s: image %s, want %s", name, v.step("image"), wantImage)
		}
	}
	// Standard input, text and picture.
	for _, in := range []string{txt, png} {
		data, _ := os.ReadFile(in)
		code, out, errOut := runCorridorStdin(t, data, "verify", "--trust", w.trust, "-")
		if code != 0 || !strings.HasPrefix(out, "VALID test result") {
			t.Errorf("stdin %s: exit %d\n%s%s", in, code, out, errOut)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	w := newCredentialsWorld(t)
	hc1 := w.issueTest(filepath.Join(w.dir, "t.png"), false)

	// No trust: the signature cannot be confirmed.
	if v := w.verify(1, hc1); v.Valid || v.step("signature") != "fail" {
		t.Errorf("untrusted: %+v", v)
	}
	// A damaged code.
	if v := w.verify(1, "--trust", w.trust, hc1[:len(hc1)-9]); v.Valid {
		t.Errorf("damaged code accepted")
	}
	// Expired at the given clock.
	later := time.Now().AddDate(0, 0, 30).UTC().Format(time.RFC3339)
	if v := w.verify(1, "--trust", w.trust, "--at", later, hc1); v.step("validity") != "fail" {
		t.Errorf("expired: %+v", v)
	}
	// A positive result fails the lane's rules.
	pos := w.issueTest(filepath.Join(w.dir, "p.png"), true)
	if v := w.verify(1, "--trust", w.trust, "--rules", "../../policies/cn-kr.json", "--country", "KR", pos); v.step("rules") != "fail" {
		t.Errorf("positive: %+v", v)
	}
	// Revoked.
	rev := filepath.Join(w.dir, "rev.json")
	w.ok("revoke", "--keys", w.keys, "--out", rev, hc1)
	if v := w.verify(1, "--trust", w.trust, "--revocation", rev, hc1); v.step("revocation") != "fail" {
		t.Errorf("revoked: %+v", v)
	}
	if v := w.verify(0, "--trust", w.trust, "--revocation", rev, pos); v.step("revocation") != "pass" {
		t.Errorf("not revoked: %+v", v)
	}
}

// A trust or revocation list altered after signing is refused, and verify
// says so instead of trusting it.
func TestVerifyRefusesTamperedLists(t *testing.T) {
	w := newCredentialsWorld(t)
	hc1 := w.issueTest(filepath.Join(w.dir, "t.png"), false)
	rev := filepath.Join(w.dir, "rev.json")
	w.ok("revoke", "--keys", w.keys, "--out", rev, hc1)
	for name, file := range map[string]string{"--trust": w.trust, "--revocation": rev} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// Flip one character inside the base64 payload.
		i := strings.Index(string(data), `"payload":"`) + len(`"payload":"`) + 20
		if data[i] == 'A' {
			data[i] = 'B'
		} else {
			data[i] = 'A'
		}
		bad := filepath.Join(w.dir, "bad-"+filepath.Base(file))
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"verify", "--trust", w.trust, name, bad, hc1}
		if name == "--trust" {
			args = []string{"verify", "--trust", bad, hc1}
		}
		code, out, errOut := runCorridor(t, args...)
		if code != 2 || !strings.Contains(errOut, bad) || !strings.Contains(errOut, "refused") {
			t.Errorf("%s tampered: exit %d\n%s%s", name, code, out, errOut)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	w := newCredentialsWorld(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "exactly one INPUT"},
		{[]string{"verify", "no-such-file"}, `"no-such-file" is neither`},
		{[]string{"verify", "--at", "yesterday", "HC1:X"}, "--at"},
		{[]string{"verify", "--trust", "/nonexistent", "HC1:X"}, "--trust /nonexistent"},
		{[]string{"keys", "init", "--country", "Korea", "--dir", filepath.Join(w.dir, "x")}, "Korea"},
		{[]string{"keys", "init", "--country", "KR", "--dir", w.keys}, "exists"},
		{[]string{"keys", "add-signer", "--dir", w.keys, "--name", "lab seoul"}, "lab seoul"},
		{[]string{"keys", "frobnicate"}, "unknown keys subcommand"},
		{[]string{"issue", "test", "--keys", w.keys, "--signer", "lab-seoul"}, "--family-name"},
		{[]string{"issue", "test", "--keys", w.keys, "--signer", "nobody", "--family-name", "Kim", "--dob", "1988",
			"--result", "negative", "--sampled", "2020-05-01T00:00:00Z", "--centre", "c", "--issuer", "i"}, "nobody"},
		{[]string{"issue", "test", "--keys", w.keys, "--signer", "lab-seoul", "--family-name", "Kim", "--dob", "1988",
			"--result", "maybe", "--sampled", "2020-05-01T00:00:00Z", "--centre", "c", "--issuer", "i"}, "--result"},
		{[]string{"issue", "approval", "--keys", w.keys, "--family-name", "Wang", "--dob", "1980", "--passport-country", "CN",
			"--passport", "!!", "--lane", "CN-KR", "--region", "KR", "--purpose", "p", "--valid-from", "2020-05-01",
			"--valid-until", "2020-06-01", "--itinerary", "i", "--authority", "a"}, "--passport"},
		{[]string{"revoke", "--keys", w.keys, "HC1:NOTMINE"}, "HC1:NOTMINE"},
		{[]string{"nonsense"}, "unknown command"},
	} {
		code, out, errOut := runCorridor(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 2 with %q\n%s%s", c.args, code, c.want, out, errOut)
		}
	}
}

func TestIssueApprovalAndDCC(t *testing.T) {
	w := newCredentialsWorld(t)
	now := time.Now().UTC()
	ap := strings.TrimSpace(w.ok("issue", "approval", "--keys", w.keys, "--family-name", "Wang", "--given-name", "Wei",
		"--dob", "1980-01-02", "--passport-country", "CN", "--passport", "E12345678", "--lane", "CN-KR",
		"--region", "KR", "--purpose", "engineering", "--valid-from", now.Add(-time.Hour).Format(time.RFC3339),
		"--valid-until", now.AddDate(0, 1, 0).Format(time.RFC3339), "--itinerary", "IT-1", "--authority", "MOFA",
		"--png", filepath.Join(w.dir, "a.png")))
	v := w.verify(0, "--trust", w.trust, "--rules", "../../policies/cn-kr.json", "--country", "KR", filepath.Join(w.dir, "a.png"))
	if v.Kind != "approval" || v.step("rules") != "pass" || v.step("keyusage") != "pass" {
		t.Errorf("approval: %+v", v)
	}
	// The approval is for CN-KR: China's arrival rules refuse it.
	if v := w.verify(1, "--trust", w.trust, "--rules", "../../policies/cn-kr.json", "--country", "CN", ap); v.step("rules") != "fail" {
		t.Errorf("approval at the wrong border: %+v", v)
	}
	// A vaccination DCC from its JSON, signed by the authority (whose key
	// usage is approvals only): decodes, verifies, refused at keyusage.
	payload := filepath.Join(w.dir, "v.json")
	os.WriteFile(payload, []byte(`{"ver":"1.3.0","dob":"1980-01-02","nam":{"fn":"Lee","fnt":"LEE"},
	 "v":[{"tg":"840539006","vp":"J07BX03","mp":"EU/1/20/1528","ma":"ORG-100030215","dn":2,"sd":2,
	 "dt":"2021-06-01","co":"KR","is":"KDCA","ci":"URN:UVCI:01:KR:V1/ABC#1"}]}`), 0o644)
	vacc := strings.TrimSpace(w.ok("issue", "dcc", "--keys", w.keys, "--signer", "authority", "--payload", payload))
	if v := w.verify(1, "--trust", w.trust, vacc); v.Kind != "v" || v.step("signature") != "pass" || v.step("keyusage") != "fail" {
		t.Errorf("vaccination by the authority: %+v", v)
	}
	// A payload that breaks the schema is not signed.
	os.WriteFile(payload, []byte(`{"ver":"1.3.0","dob":"1980-01-02","nam":{"fnt":"lee"},"v":[]}`), 0o644)
	if code, _, errOut := runCorridor(t, "issue", "dcc", "--keys", w.keys, "--signer", "authority", "--payload", payload); code == 0 || !strings.Contains(errOut, payload) {
		t.Errorf("invalid payload signed: exit %d %s", code, errOut)
	}
}

func TestVerifyBatch(t *testing.T) {
	w := newCredentialsWorld(t)
	var lines []string
	for i := 0; i < 12; i++ {
		lines = append(lines, w.issueTest(filepath.Join(w.dir, "t.png"), false))
	}
	lines[5] = lines[5][:40]
	manifest := filepath.Join(w.dir, "manifest.txt")
	os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	code, out, _ := runCorridor(t, "verify", "--trust", w.trust, "--batch", manifest)
	if code != 1 || !strings.Contains(out, "11 valid, 1 invalid") || !strings.Contains(out, "6\tINVALID") {
		t.Errorf("batch: exit %d\n%s", code, out)
	}
}

func runCorridorStdin(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := realMain(context.Background(), &env{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}
