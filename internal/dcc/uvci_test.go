package dcc

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"pgregory.net/rapid"
)

// TestLuhnModNReferenceExample checks the worked example of the thread
// that settled the code points (ehn-dcc-development/eu-dcc-schema issue
// 63): with '#' left out of the alphabet, "01LUX/18737512422923" takes
// the check character E. (The docstring of the project's reference code
// gives S for URN:UVCI:01:NL:MY/INPUT/STRING, but that comes from an
// earlier, digits-first order; the code itself gives H, as here.)
func TestLuhnModNReferenceExample(t *testing.T) {
	if got := luhnModNCheck("01LUX/18737512422923"); got != 'E' {
		t.Errorf("check character %q, want 'E'", got)
	}
	if got := luhnModNCheck("URN:UVCI:01:NL:MY/INPUT/STRING"); got != 'H' {
		t.Errorf("check character %q, want 'H'", got)
	}
	if err := CheckUVCI("URN:UVCI:01:KR:CORRIDOR/7H2M4QX0K9ZT3VB8N1RC5DWE#Y"); err != nil {
		t.Errorf("the example of the package documentation: %v", err)
	}
	if err := CheckUVCI("URN:UVCI:01:NL:MY/INPUT/STRING#H"); err != nil {
		t.Error(err)
	}
	if err := CheckUVCI("URN:UVCI:01:NL:MY/INPUT/STRING#S"); !errors.Is(err, ErrUVCIChecksum) {
		t.Errorf("wrong check character: got %v", err)
	}
}

// validChecksumUVCIs are the identifiers of the shared vectors that carry
// a valid checksum: those of Austria, Denmark, Greece (the capitalised
// ones), Lithuania and Slovenia. The others with a '#' fail for these
// reasons: Finland's checksums do not match (two even use '#' and '/' as
// the check character); Belgium, Spain and Luxembourg omit the
// "01:<country>:" structure; Germany writes "01DE/" without separators;
// Bulgaria and Ireland write lower case, which the checksum is not
// defined on.
var validChecksumUVCIs = []string{
	"URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
	"URN:UVCI:01:AT:71EE2559DE38C6BF7304FB65A1A451EC#3",
	"URN:UVCI:01:AT:858CC18CFCF5965EF82F60E493349AA5#K",
	"URN:UVCI:01:AT:B5921A35D6A0D696421B3E2462178297#I",
	"URN:UVCI:01:DK:0EF88044F7935DF2B4A938A38C14C97C#C",
	"URN:UVCI:01:DK:1B9B48CA1F4351F4A4C023D3815A74A9#I",
	"URN:UVCI:01:DK:1D6DAB71F99A5C87A657D6D904558001#R",
	"URN:UVCI:01:DK:AAF8DC68A9B655528BA581CA0D04353F#Y",
	"URN:UVCI:01:DK:B19D10B4E18551559EBDEE46248DA883#S",
	"URN:UVCI:01:DK:B986830007345F99AE898FB82C6C61F2#A",
	"URN:UVCI:01:DK:F573106A0A315AB8A7F7016329C30550#2",
	"URN:UVCI:01:GR:7UXL2ZTSS6KUZAF2XAAA3A4C4I#E",
	"URN:UVCI:01:GR:KOTFPYPGVQOUE3QQ3XFOECLAS4#0",
	"URN:UVCI:01:GR:ZHYTK36RLRF5IN4GEH2DLVBTAQ#G",
	"URN:UVCI:01:LT:1227GNXXUEM92NY8J44JW#0",
	"URN:UVCI:01:LT:127BK2R6GHFDT97YW7WGH#7",
	"URN:UVCI:01:LT:199Q1MHH8XKRQSDXIFBM0#B",
	"URN:UVCI:01:LT:52XS0XYHKD042D66RJJRT#I",
	"URN:UVCI:01:SI:C5A831C1889D43AEE053#I",
	"URN:UVCI:01:SI:C5A831C188A043AEE053#8",
	"URN:UVCI:01:SI:C5E8734F3DF8B66CE053#F",
	"URN:UVCI:01:SI:C5E8734F3DF9B66CE053#D",
}

// TestCheckUVCIOnVectors runs CheckUVCI over every certificate identifier
// of the shared vectors (from their JSON and their decoded CBOR).
func TestCheckUVCIOnVectors(t *testing.T) {
	ids := map[string]bool{}
	collect := func(doc map[string]any) {
		for _, g := range kinds {
			entries, _ := doc[string(g)].([]any)
			for _, e := range entries {
				if m, ok := e.(map[string]any); ok {
					if ci, ok := m["ci"].(string); ok {
						ids[ci] = true
					}
				}
			}
		}
	}
	for _, v := range loadVectors(t) {
		if doc, ok := v.JSON.(map[string]any); ok {
			collect(doc)
		}
		if payload, err := v.dccCBOR(); err == nil {
			if doc, err := Parse(payload); err == nil {
				collect(doc.JSON)
			}
		}
	}
	var checksummed, passed []string
	for ci := range ids {
		err := CheckUVCI(ci)
		if strings.Contains(ci, "#") {
			checksummed = append(checksummed, ci)
			if err == nil {
				passed = append(passed, ci)
			}
		}
		// The Finnish identifiers are well formed but their checksums
		// do not match.
		if strings.HasPrefix(ci, "URN:UVCI:01:FI:") && !strings.HasSuffix(ci, "##") && !errors.Is(err, ErrUVCIChecksum) {
			t.Errorf("%s: got %v, want ErrUVCIChecksum", ci, err)
		}
	}
	sort.Strings(passed)
	if !slices.Equal(passed, validChecksumUVCIs) {
		t.Errorf("identifiers with a valid checksum:\n got %q\nwant %q", passed, validChecksumUVCIs)
	}
	t.Logf("%d distinct identifiers, %d with a checksum, %d of them valid", len(ids), len(checksummed), len(passed))
}

func TestCheckUVCISyntax(t *testing.T) {
	good := []string{
		"URN:UVCI:01:SE:EHM/100000024GI5HMGZKSMS", // no checksum: it is optional
		"01:NL:187/37512422923",                   // no prefix: it is optional
		"URN:UVCI:01:UNHCR:ABC",                   // a reserved longer code
	}
	for _, s := range good {
		if err := CheckUVCI(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := map[string]string{
		"urn:uvci:01:SK:1EB90EA80FD94EF78E7F1922BAFE6668": "prefix must be written",
		"URN:UVCI:02:KR:ABC":                              "version",
		"URN:UVCI:01KR:ABC":                               "version",
		"URN:UVCI:01:K:ABC":                               "country",
		"URN:UVCI:01:KR:":                                 "unique string",
		"URN:UVCI:01:KR:AB//C":                            "unique string",
		"URN:UVCI:01:KR:abc":                              "unique string",
		"URN:UVCI:01:KR:AB:C":                             "unique string",
		"URN:UVCI:01:KR:ABC#":                             "checksum must be one character",
		"URN:UVCI:01:KR:ABC#AB":                           "checksum must be one character",
		"URN:UVCI:01:KR:ABC##":                            "checksum must be one character",
		"URN:UVCI:01:KR:" + strings.Repeat("A", 66):       "at most 80",
	}
	for s, want := range bad {
		if err := CheckUVCI(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error saying %q", s, err, want)
		}
	}
}

func TestNewUVCI(t *testing.T) {
	// A fixed stream makes the identifier reproducible; bytes from 252 up
	// are skipped so that no character is favoured.
	stream := append([]byte{255, 252}, bytes.Repeat([]byte{0, 1, 35, 36, 71}, 10)...)
	id, err := NewUVCI("KR", "CORRIDOR", bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	const want = "URN:UVCI:01:KR:CORRIDOR/AB9A9AB9A9AB9A9AB9A9AB9A"
	if !strings.HasPrefix(id, want+"#") || len(id) != len(want)+2 {
		t.Errorf("got %s, want %s#<check>", id, want)
	}
	if err := CheckUVCI(id); err != nil {
		t.Errorf("%s: %v", id, err)
	}
	if len(id) > 50 {
		t.Errorf("%s is longer than 50 characters", id)
	}

	bad := []struct{ country, prefix string }{
		{"kr", ""}, {"KOR", ""}, {"KR", "lab"}, {"KR", "A/"}, {"KR", "A#B"}, {"KR", "TOOLONGPREFIX"},
	}
	for _, b := range bad {
		if id, err := NewUVCI(b.country, b.prefix, rand.Reader); err == nil {
			t.Errorf("NewUVCI(%q, %q) = %s, want an error", b.country, b.prefix, id)
		}
	}
	if _, err := NewUVCI("KR", "", iotest.ErrReader(io.ErrUnexpectedEOF)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a failing random source: got %v", err)
	}
	if _, err := NewUVCI("KR", "", nil); err == nil {
		t.Error("accepted a nil random source")
	}
}

// TestUVCIChecksumCatchesTypos: every identifier NewUVCI makes passes
// CheckUVCI, and changing any one character after the prefix to another
// allowed one is caught, as Luhn mod N guarantees for single
// substitutions.
func TestUVCIChecksumCatchesTypos(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		country := rapid.StringMatching(`[A-Z]{2}`).Draw(rt, "country")
		prefix := rapid.StringMatching(`([A-Z0-9]{1,4}(/[A-Z0-9]{1,3})?)?`).Draw(rt, "prefix")
		id, err := NewUVCI(country, prefix, rand.Reader)
		if err != nil {
			rt.Fatal(err)
		}
		if err := CheckUVCI(id); err != nil {
			rt.Fatalf("%s: %v", id, err)
		}
		at := rapid.IntRange(len(uvciPrefix)+len("01:"+country+":"), len(id)-1).Draw(rt, "at")
		if id[at] == '/' || id[at] == '#' {
			return // changing a separator breaks the syntax instead
		}
		alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		if at == len(id)-1 {
			alphabet = uvciAlphabet
		}
		c := rapid.SampledFrom([]byte(alphabet)).Draw(rt, "with")
		if c == id[at] {
			return
		}
		typo := id[:at] + string(c) + id[at+1:]
		if err := CheckUVCI(typo); !errors.Is(err, ErrUVCIChecksum) {
			rt.Fatalf("%s (from %s): got %v, want ErrUVCIChecksum", typo, id, err)
		}
	})
}
