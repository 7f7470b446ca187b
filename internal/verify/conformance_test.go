package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/testdata"
	"github.com/corridorlane/corridor/internal/trust"
)

// vector is one file of the EU DCC test data (dgc-testdata). Upstream's
// README defines each EXPECTED* flag; a missing flag means "do not test".
type vector struct {
	name     string
	JSON     json.RawMessage `json:"JSON"`
	CBOR     string          `json:"CBOR"`
	Prefix   string          `json:"PREFIX"`
	Image    string          `json:"2DCODE"`
	ImageAlt string          `json:"_2DCODE"` // a typo'd key in some files
	Ctx      struct {
		Certificate string `json:"CERTIFICATE"`
		Clock       string `json:"VALIDATIONCLOCK"`
		Schema      string `json:"SCHEMA"`
		Description string `json:"DESCRIPTION"`
	} `json:"TESTCTX"`
	Expected map[string]bool `json:"EXPECTEDRESULTS"`
}

func loadVectors(t *testing.T) []*vector {
	t.Helper()
	files, err := filepath.Glob(testdata.Path(t, "dcc", "*", "2DCode", "raw", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 150 {
		t.Fatalf("found %d vectors, the shared test data holds 156", len(files))
	}
	sort.Strings(files)
	var out []*vector
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := &vector{}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(testdata.Path(t, "dcc"), f)
		v.name = strings.Replace(rel, "/2DCode/raw/", "/", 1)
		if v.Image == "" {
			v.Image = v.ImageAlt
		}
		// "EXPTECTEDEXPIRED" is a misspelt EXPECTEDEXPIRATIONCHECK (the
		// shared README lists the typo). Its meaning follows from the
		// data: all seven vectors that carry it (ES/201-203, BG/1-4) set
		// it true and hold an exp after their validation clock, so true
		// means "the expiration check passes", like the flag it misspells.
		if exp, ok := v.Expected["EXPTECTEDEXPIRED"]; ok {
			if _, set := v.Expected["EXPECTEDEXPIRATIONCHECK"]; !set {
				v.Expected["EXPECTEDEXPIRATIONCHECK"] = exp
			}
			delete(v.Expected, "EXPTECTEDEXPIRED")
		}
		// ES/1001-1003 nest a key "EXPECTEDRESULTS": true inside their
		// EXPECTEDRESULTS; it names no step.
		delete(v.Expected, "EXPECTEDRESULTS")
		out = append(out, v)
	}
	return out
}

// parseClock reads VALIDATIONCLOCK, which issuers wrote in several ISO
// 8601 shapes.
func parseClock(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("validation clock %q is not ISO 8601", s)
}

func (v *vector) verifier(t *testing.T) *Verifier {
	var store trust.Store
	if v.Ctx.Certificate != "" {
		if _, err := store.Load([]byte(v.Ctx.Certificate), trust.LoadOptions{Source: v.name}); err != nil {
			t.Fatalf("%s: TESTCTX.CERTIFICATE: %v", v.name, err)
		}
	}
	return &Verifier{Trust: &store}
}

// stepFor maps the flags that test one verification step to it. DECODE
// covers both COSE structure and CWT claims (upstream's "decode the CBOR").
var stepFor = map[string][]Step{
	"EXPECTEDUNPREFIX":         {StepPrefix},
	"EXPECTEDB45DECODE":        {StepBase45},
	"EXPECTEDCOMPRESSION":      {StepZlib},
	"EXPECTEDDECODE":           {StepCOSE, StepCWT},
	"EXPECTEDVERIFY":           {StepSignature},
	"EXPECTEDKEYUSAGE":         {StepKeyUsage},
	"EXPECTEDEXPIRATIONCHECK":  {StepValidity},
	"EXPECTEDSCHEMAVALIDATION": {StepSchema},
}

// TestConformance runs every vector through the whole pipeline, as a border
// officer's scan would, with the vector's signer certificate as trust and
// its validation clock, and checks every flag the vector sets.
func TestConformance(t *testing.T) {
	vectors := loadVectors(t)
	known := loadKnownIssues(t)
	checked := map[string]int{}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			if len(v.Expected) == 0 {
				t.Fatalf("vector sets no EXPECTED flag")
			}
			at, err := parseClock(v.Ctx.Clock)
			if v.Ctx.Clock != "" && err != nil {
				t.Fatal(err)
			}
			if v.Ctx.Clock == "" {
				at = time.Now()
			}
			ver := v.verifier(t)
			res := ver.Text(v.Prefix, at)
			for flag, want := range v.Expected {
				checked[flag]++
				if why, bad := vectorDefects[v.name+" "+flag]; bad {
					checkDefect(t, v, flag, why)
					continue
				}
				if row, known := known.lookup(v.name, flag); known && vectorWrong[row.key()] {
					// Upstream's harness misses this flag and
					// the vector itself is at fault: the step
					// must give the standard's answer, the
					// opposite of the flag.
					checked[flag+" (vector wrong)"]++
					t.Logf("%s=%v contradicts the standard (%s, %s): expecting %v", flag, want, row.test, row.reason, !want)
					want = !want
				}
				switch flag {
				case "EXPECTEDPICTUREDECODE":
					checkPicture(t, v, ver, at, want)
				case "EXPECTEDVALIDJSON":
					checkJSON(t, v, res, want)
				case "EXPECTEDVALIDOBJECT":
					checkObject(t, v, want)
				case "EXPECTEDENCODE":
					checkEncode(t, v, want)
				default:
					steps, ok := stepFor[flag]
					if !ok {
						t.Errorf("unknown flag %s", flag)
						continue
					}
					checkSteps(t, v, res, flag, steps, want)
				}
			}
		})
	}
	t.Logf("flags checked: %v", checked)
}

// checkSteps: a true flag needs every step to pass; a false flag needs one
// of them to fail, or, where an earlier step already refused the
// credential, the step to be unreachable: the officer's answer is "no"
// either way, and upstream tests each step on its own field.
func checkSteps(t *testing.T, v *vector, res *Result, flag string, steps []Step, want bool) {
	t.Helper()
	if want {
		for _, s := range steps {
			if c := res.Check(s); c.Result != Pass {
				t.Errorf("%s=true but %s is %s: %s\n%s", flag, s, c.Result, c.Detail, v.Ctx.Description)
			}
		}
		return
	}
	for _, s := range steps {
		if res.Check(s).Result == Fail {
			return
		}
	}
	if res.Valid {
		t.Errorf("%s=false but the credential was accepted (%v)\n%s", flag, res.Checks, v.Ctx.Description)
		return
	}
	for _, s := range steps {
		if c := res.Check(s); c.Result == Pass {
			t.Errorf("%s=false but %s passed; the credential was refused only for: %v\n%s", flag, s, res.Reasons(), v.Ctx.Description)
		}
	}
}

func checkPicture(t *testing.T, v *vector, ver *Verifier, at time.Time, want bool) {
	t.Helper()
	png, err := base64.StdEncoding.DecodeString(v.Image)
	if err != nil || len(png) == 0 {
		if want {
			t.Errorf("EXPECTEDPICTUREDECODE=true but 2DCODE is not a base64 picture")
		}
		return
	}
	res := ver.Picture(bytes.NewReader(png), at)
	got := res.Check(StepImage).Result == Pass && res.Text == v.Prefix
	if got != want {
		t.Errorf("EXPECTEDPICTUREDECODE=%v, picture read %v (%s)", want, got, res.Check(StepImage).Detail)
	}
}

// checkJSON: the payload decoded through the whole chain equals the JSON
// field (compared as JSON values: key order and number spelling aside).
func checkJSON(t *testing.T, v *vector, res *Result, want bool) {
	t.Helper()
	got := false
	if res.Payload != nil && len(v.JSON) > 0 {
		got = jsonEqual(t, res.Payload, v.JSON)
	}
	if got != want {
		t.Errorf("EXPECTEDVALIDJSON=%v, decoded payload matches JSON: %v\n%s", want, got, v.Ctx.Description)
	}
}

func jsonEqual(t *testing.T, payload any, raw json.RawMessage) bool {
	t.Helper()
	a, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(raw, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// checkObject: the vector's JSON validates against the DCC schema.
func checkObject(t *testing.T, v *vector, want bool) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(v.JSON, &doc); err != nil {
		if want {
			t.Errorf("EXPECTEDVALIDOBJECT=true but JSON does not parse: %v", err)
		}
		return
	}
	err := dcc.ValidateSchema(doc)
	if (err == nil) != want {
		t.Errorf("EXPECTEDVALIDOBJECT=%v, schema says %v\n%s", want, err, v.Ctx.Description)
	}
}

// checkEncode: the JSON encoded as CBOR by our encoder holds the same
// payload as the vector's CBOR (upstream's note 2: compare decoded values,
// not bytes, since map order is free). The CBOR field is either the DCC
// payload or, in most vectors, the whole CWT claims map.
func checkEncode(t *testing.T, v *vector, want bool) {
	t.Helper()
	got := false
	raw, err := hex.DecodeString(v.CBOR)
	if err == nil && len(v.JSON) > 0 {
		var doc map[string]any
		if json.Unmarshal(v.JSON, &doc) == nil {
			if enc, err := dcc.EncodeJSON(doc); err == nil {
				mine, err1 := dcc.Parse(enc)
				theirs, err2 := parseCBORField(raw)
				got = err1 == nil && err2 == nil && reflect.DeepEqual(mine.JSON, theirs.JSON)
			}
		}
	}
	if got != want {
		t.Errorf("EXPECTEDENCODE=%v, JSON encodes to the CBOR payload: %v\n%s", want, got, v.Ctx.Description)
	}
}

// parseCBORField reads the vector's CBOR field: the DCC payload itself, or
// a CWT claims map holding it at -260 → 1.
func parseCBORField(raw []byte) (*dcc.Document, error) {
	var claims map[int64]cbor.RawMessage
	if err := cbor.Unmarshal(raw, &claims); err == nil {
		if hc, ok := claims[-260]; ok {
			var slot map[int64]cbor.RawMessage
			if err := cbor.Unmarshal(hc, &slot); err != nil {
				return nil, err
			}
			return dcc.Parse(slot[1])
		}
	}
	return dcc.Parse(raw)
}

// vectorDefects are flags whose vector cannot be right, and which
// known_issues.csv does not list. Each is checked to still be defective, so
// a corrected upstream file is noticed.
var vectorDefects = map[string]string{
	// common/B1 sets EXPECTEDPICTUREDECODE=true but carries no 2DCODE
	// picture at all (its own flag says "decode the picture"); upstream's
	// rule is that a step whose input is absent is not tested.
	"common/B1.json EXPECTEDPICTUREDECODE": "no 2DCODE picture in the file",
}

func checkDefect(t *testing.T, v *vector, flag, why string) {
	t.Helper()
	switch flag {
	case "EXPECTEDPICTUREDECODE":
		if v.Image != "" {
			t.Errorf("%s was listed as defective (%s) but now carries a picture: drop it from vectorDefects", flag, why)
		}
	default:
		t.Fatalf("no defect check for %s", flag)
	}
}

// knownIssues is dcc/known_issues.csv: upstream's vectors whose flag its
// reference harness does not meet, with the thread explaining why.
type knownIssues struct {
	rows []knownRow
}

type knownRow struct{ test, country, set, reason string }

// flagsOfTest maps upstream's harness test names to the flags they check.
var flagsOfTest = map[string][]string{
	"test_cose_schema":        {"EXPECTEDSCHEMAVALIDATION", "EXPECTEDVALIDOBJECT"},
	"test_verification_check": {"EXPECTEDVERIFY"},
	"test_expiration_check":   {"EXPECTEDEXPIRATIONCHECK"},
	"test_expected_key_usage": {"EXPECTEDKEYUSAGE"},
	"test_cose_json":          {"EXPECTEDVALIDJSON"},
	"test_cbor_json":          {"EXPECTEDDECODE"},
}

func loadKnownIssues(t *testing.T) *knownIssues {
	t.Helper()
	f, err := os.Open(testdata.Path(t, "dcc", "known_issues.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || strings.Join(recs[0], ",") != "test_name,country,test_set,reason" {
		t.Fatalf("known_issues.csv: unexpected layout %v", recs[:1])
	}
	k := &knownIssues{}
	for _, r := range recs[1:] {
		if _, ok := flagsOfTest[r[0]]; !ok {
			t.Fatalf("known_issues.csv names test %q, which this harness does not map to a flag", r[0])
		}
		row := knownRow{test: r[0], country: r[1], set: r[2], reason: r[3]}
		if _, judged := vectorWrong[row.key()]; !judged {
			t.Errorf("known_issues.csv row %q has no verdict in vectorWrong: judge it", row.key())
		}
		k.rows = append(k.rows, row)
	}
	return k
}

// lookup finds the row covering a vector ("ES/401.json") and flag.
func (k *knownIssues) lookup(name, flag string) (knownRow, bool) {
	country, file, _ := strings.Cut(name, "/")
	set := strings.TrimSuffix(file, ".json")
	for _, r := range k.rows {
		if r.country != country || (r.set != "" && r.set != set) {
			continue
		}
		for _, f := range flagsOfTest[r.test] {
			if f == flag {
				return r, true
			}
		}
	}
	return knownRow{}, false
}

func (r knownRow) key() string { return r.test + "," + r.country + "," + r.set }

// vectorWrong judges every row of known_issues.csv: true where the vector's
// flag contradicts the DCC specification (the test then expects the
// opposite), false where upstream's harness was at fault and the flag is
// right (the test expects the flag). A row without a verdict fails the test.
var vectorWrong = map[string]bool{
	// ES/401-403 sign with alg ES256 (-7) but their certificate holds a
	// P-384 key; ES256 is ECDSA on P-256 with SHA-256 (RFC 9053, 2.1), so
	// the signature must not verify.
	"test_verification_check,ES,401": true,
	"test_verification_check,ES,402": true,
	"test_verification_check,ES,403": true,
	// BG/1-2 ("old version") write dates as date-times and carry "v",
	// "t" and "r" at once, two of them null: the DCC schema refuses both.
	"test_cose_schema,BG,1": true,
	"test_cose_schema,BG,2": true,
	// SK/3 holds two vaccination entries; the schema allows exactly one.
	"test_cose_schema,SK,3": true,
	// The FI rows: Python's cryptography refused the FI signer
	// certificate (its BasicConstraints encodes a DEFAULT value, which DER
	// forbids); Go reads it, and the FI flags are right.
	"test_verification_check,FI,": false,
	"test_expiration_check,FI,":   false,
	"test_expected_key_usage,FI,": false,
	// Countries not in the shared subset (NL, FR, LI, HU, RO): their
	// vectors are absent, so these rows never match; listed so every row
	// has a verdict.
	"test_cose_schema,NL,":          false,
	"test_cose_json,FR,test_pcr_ok": false,
	"test_cbor_json,FR,test_pcr_ok": false,
	"test_cose_schema,LI,4":         false,
	"test_cose_schema,HU,3":         false,
	"test_cose_schema,RO,2":         false,
}
