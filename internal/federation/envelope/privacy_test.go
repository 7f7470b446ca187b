package envelope

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stayHome names what never crosses the border: the full passport number,
// health declarations and their contents, contact details. A field whose
// JSON name matches is a bug in the wire format.
var stayHome = regexp.MustCompile(`(?i)passport_?(no|num)|^ppn$|symptom|declar|temperat|diagnos|phone|e_?mail|address|^ct$|^ct_value|history`)

// jsonNames lists the JSON field names of a type, recursively, as
// dotted paths.
func jsonNames(t reflect.Type, prefix string, seen map[reflect.Type]bool, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) || seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		*out = append(*out, prefix+name)
		jsonNames(f.Type, prefix+name+".", seen, out)
	}
}

func TestNoFieldCarriesWhatStaysHome(t *testing.T) {
	for _, b := range sampleBodies(t) {
		var names []string
		jsonNames(reflect.TypeOf(b), "", map[reflect.Type]bool{}, &names)
		if len(names) == 0 {
			t.Errorf("%s: no fields found", b.Type())
		}
		for _, n := range names {
			last := n[strings.LastIndex(n, ".")+1:]
			if stayHome.MatchString(last) {
				t.Errorf("%s carries field %q, which must stay home", b.Type(), n)
			}
		}
	}
	// The pattern itself must catch what it is for.
	for _, n := range []string{"passport_number", "passportNo", "symptoms", "declarations", "temperature", "email", "ct_value"} {
		if !stayHome.MatchString(n) {
			t.Errorf("stayHome misses %q", n)
		}
	}
}

func TestApprovalCrossesWithoutThePassportNumber(t *testing.T) {
	cn := newNode(t, "CN")
	body := sampleBodies(t)[0].(*ApprovalIssued)
	m := mustSeal(t, cn, "KR", 1, body, now)
	if strings.Contains(string(m.RawBody), "M12345678") {
		t.Fatal("the passport number crossed the border")
	}
	got, err := Verify(m.Raw, "KR", cn.set.CSCA, now)
	if err != nil {
		t.Fatal(err)
	}
	a := got.Body.(*ApprovalIssued).Approval
	if !a.MatchesPassport("KR", "M12345678") || a.MatchesPassport("KR", "M12345679") {
		t.Error("the origin cannot match the traveller's passport against the hash")
	}
}
