package trust

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

func TestKid(t *testing.T) {
	// SHA-256("abc") = ba7816bf8f01cfea 414140de5dae2223...
	got := Kid([]byte("abc"))
	want := []byte{0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea}
	if !slices.Equal(got, want) {
		t.Fatalf("Kid = %x, want %x", got, want)
	}
	if KidString(want) != "ungWv48Bz+o=" {
		t.Fatalf("KidString = %s", KidString(want))
	}
}

// The country table matches the DCC value set of country codes exactly.
func TestValidCountryMatchesValueSet(t *testing.T) {
	data, err := os.ReadFile(testdata.Path(t, "dcc-valuesets", "country-2-codes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Values map[string]json.RawMessage `json:"valueSetValues"`
	}
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Values) < 200 {
		t.Fatalf("value set has only %d codes", len(vs.Values))
	}
	for code := range vs.Values {
		if !ValidCountry(code) {
			t.Errorf("%s is in the value set but refused", code)
		}
	}
	for _, code := range strings.Fields(isoCountries) {
		if _, ok := vs.Values[code]; !ok {
			t.Errorf("%s is accepted but not in the value set", code)
		}
	}
	for _, bad := range []string{"", "cn", "C", "CHN", "UK", "SU", "EU", "ZZ"} {
		if ValidCountry(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidSignerName(t *testing.T) {
	for _, ok := range []string{"authority", "lab-1", "a", "0", strings.Repeat("x", 32)} {
		if !ValidSignerName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "-lab", "lab-", "Lab", "lab_1", "lab 1", "../x", strings.Repeat("x", 33), "läb"} {
		if ValidSignerName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
