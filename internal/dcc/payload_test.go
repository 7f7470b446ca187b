package dcc

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func samplePayload() *Payload {
	return &Payload{
		Ver: "1.3.0",
		Nam: Name{Fn: "Kim", Fnt: "KIM", Gn: "Min-jun", Gnt: "MIN<JUN"},
		Dob: "1990-04-01",
		T: []Test{{
			Tg: DiseaseCOVID19, Tt: TestTypeNAAT, Nm: "Roche LightCycler qPCR",
			Sc: "2021-05-20T08:30:00Z", Tr: ResultNotDetected, Tc: "Seoul Station Lab",
			Co: "KR", Is: "Korea Disease Control and Prevention Agency", Ci: "URN:UVCI:01:KR:LAB1/ABCDEF#X",
		}},
	}
}

// TestEncodeCBORIsCoreDeterministic checks that the bytes are the unique
// core deterministic encoding (RFC 8949 section 4.2.1): re-encoding what
// they decode to gives them back, and they use definite lengths only.
func TestEncodeCBORIsCoreDeterministic(t *testing.T) {
	b, err := EncodeCBOR(samplePayload())
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := cbor.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := em.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Errorf("not canonical:\n got %x\nwant %x", b, again)
	}
	dm, err := cbor.DecOptions{IndefLength: cbor.IndefLengthForbidden, DupMapKey: cbor.DupMapKeyEnforcedAPF}.DecMode()
	if err != nil {
		t.Fatal(err)
	}
	if err := dm.Unmarshal(b, &generic); err != nil {
		t.Errorf("not definite-length or has duplicate keys: %v", err)
	}
	// Core deterministic order sorts keys by their encoding, which puts
	// shorter keys first: this map of four pairs (a4) starts with "t".
	if !bytes.HasPrefix(b, []byte{0xa4, 0x61, 't'}) {
		t.Errorf("map does not start with the shortest key: %x", b[:4])
	}
}

// TestEncodeCBORRoundTripsEveryValidPayload fills the typed model from
// every valid payload of the shared test data, encodes it and parses it
// back. What comes back must be the payload less only what the model
// leaves out by design: fields of no 1.3 schema (such as the test result
// date "dr" of 1.0) and optional fields left empty. So the model knows
// every field of the schema and its omitempty rules match it.
func TestEncodeCBORRoundTripsEveryValidPayload(t *testing.T) {
	bases := validPayloads(t)
	for _, doc := range bases {
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var p Payload
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		b, err := EncodeCBOR(&p)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		back, err := Parse(b)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if want := modelView(doc); !sameJSON(back.JSON, want) {
			t.Errorf("round trip changed the payload:\n  in  %s\n  out %s", mustJSON(want), mustJSON(back.JSON))
		}
		typed, err := back.Payload()
		if err != nil || !reflect.DeepEqual(typed, &p) {
			t.Errorf("Document.Payload: %+v, %v; want %+v", typed, err, p)
		}
	}
	t.Logf("%d valid payloads round-tripped through the typed model", len(bases))
}

// modelView is doc less the fields the typed model does not carry: those
// the 1.3 schema does not name, and optional ones holding "".
func modelView(doc map[string]any) map[string]any {
	entry := map[string]bool{"tg": true, "vp": true, "mp": true, "ma": true, "dn": true, "sd": true, "dt": true,
		"co": true, "is": true, "ci": true, "tt": true, "nm": true, "sc": true, "tr": true, "tc": true,
		"fr": true, "df": true, "du": true}
	optional := map[string]bool{"nm": true, "ma": true, "tc": true, "fn": true, "fnt": true, "gn": true, "gnt": true}
	keep := func(m map[string]any, known func(string) bool) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			if known(k) && !(optional[k] && v == "") {
				out[k] = v
			}
		}
		return out
	}
	out := keep(doc, func(k string) bool { return k == "ver" || k == "nam" || k == "dob" || k == "v" || k == "t" || k == "r" })
	out["nam"] = keep(doc["nam"].(map[string]any), func(k string) bool { return optional[k] })
	for _, g := range []string{"v", "t", "r"} {
		if entries, ok := doc[g].([]any); ok {
			kept := make([]any, len(entries))
			for i, e := range entries {
				kept[i] = keep(e.(map[string]any), func(k string) bool { return entry[k] })
			}
			out[g] = kept
		}
	}
	return out
}

func TestEncodeCBORRefusesWhatTheSchemaRefuses(t *testing.T) {
	cases := map[string]func(p *Payload){
		"no standardised name": func(p *Payload) { p.Nam.Fnt, p.Nam.Gnt = "", "" },
		"two kinds":            func(p *Payload) { p.R = []Recovery{{Tg: DiseaseCOVID19}} },
		"no kind":              func(p *Payload) { p.T = nil },
		"two tests":            func(p *Payload) { p.T = append(p.T, p.T[0]) },
		"local sample time":    func(p *Payload) { p.T[0].Sc = "2021-05-20T08:30:00" },
		"lower-case fnt":       func(p *Payload) { p.Nam.Fnt = "Kim" },
		"dose 0":               func(p *Payload) { p.T = nil; p.V = []Vaccination{{Dn: 0, Sd: 2, Dt: "2021-05-01", Co: "KR"}} },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			p := samplePayload()
			spoil(p)
			b, err := EncodeCBOR(p)
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Errorf("got %x, %v; want a schema error", b, err)
			}
		})
	}
	if _, err := EncodeCBOR(nil); err == nil {
		t.Error("encoded a nil payload")
	}
}

func TestDocumentPayloadRefusesMistypedFields(t *testing.T) {
	d := &Document{JSON: map[string]any{"ver": "1.3.0", "nam": map[string]any{"fnt": 7}}}
	if p, err := d.Payload(); err == nil {
		t.Errorf("accepted a numeric fnt: %+v", p)
	}
}
