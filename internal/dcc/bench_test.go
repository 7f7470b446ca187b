package dcc

import "testing"

// BenchmarkParseAndValidate measures the payload steps of the verify
// path on a real vector (Austria's vaccination certificate).
func BenchmarkParseAndValidate(b *testing.B) {
	var payload []byte
	for _, v := range loadVectors(b) {
		if v.ID == "AT/1" {
			var err error
			if payload, err = v.dccCBOR(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if payload == nil {
		b.Fatal("vector AT/1 is missing")
	}
	b.ReportAllocs()
	for b.Loop() {
		doc, err := Parse(payload)
		if err != nil {
			b.Fatal(err)
		}
		if err := ValidateSchema(doc.JSON); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateSchema(b *testing.B) {
	doc := validPayloads(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateSchema(doc); err != nil {
			b.Fatal(err)
		}
	}
}
