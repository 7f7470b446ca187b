package envelope

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary bytes to the message verifier: it must never
// panic, must classify every refusal, and must accept only messages whose
// every field is valid.
func FuzzVerify(f *testing.F) {
	kr := newNode(f, "KR")
	for i, b := range sampleBodies(f) {
		f.Add(mustSeal(f, kr, "CN", uint64(i+1), b, now).Raw)
	}
	f.Add([]byte(`{"cert":"","dsse":{"payloadType":"","payload":"","signatures":[]}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Verify(raw, "CN", kr.set.CSCA, now)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("unclassified refusal: %v", err)
			}
			return
		}
		if m.Sender != "KR" || m.Receiver != "CN" || m.Seq == 0 || !reID.MatchString(m.ID) ||
			m.Body == nil || m.Body.Validate() != nil || m.Stream != m.Type.Stream() || m.Time.After(now.Add(MaxSkew)) {
			t.Fatalf("accepted an invalid message: %+v", m)
		}
	})
}

// FuzzVerifyDelivery does the same for deliveries and pull requests.
func FuzzVerifyDelivery(f *testing.F) {
	kr := newNode(f, "KR")
	var msgs [][]byte
	for i, b := range sampleBodies(f)[:3] {
		msgs = append(msgs, mustSeal(f, kr, "CN", uint64(i+1), b, now).Raw)
	}
	d, err := SealDelivery(kr.id, "CN", "", msgs, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(d)
	p, _, err := SealPull(kr.id, "CN", map[Stream]uint64{StreamTrips: 3}, 100, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if d, err := VerifyDelivery(raw, "CN", kr.set.CSCA, now); err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("unclassified delivery refusal: %v", err)
			}
		} else {
			if d.Sender != "KR" || d.Receiver != "CN" || d.SentAt.Sub(now).Abs() > MaxSkew {
				t.Fatalf("accepted an invalid delivery: %+v", d)
			}
			for _, it := range d.Items {
				if (it.Message == nil) == (it.Err == nil) || (it.Err != nil && ReasonOf(it.Err) == "") {
					t.Fatalf("item neither verified nor classified: %+v", it)
				}
			}
		}
		if p, err := VerifyPull(raw, "CN", kr.set.CSCA, now.Add(time.Second)); err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("unclassified pull refusal: %v", err)
			}
		} else if p.Limit < 1 || p.Limit > MaxDeliveryMessages || p.Sender != "KR" {
			t.Fatalf("accepted an invalid pull: %+v", p)
		}
	})
}

// FuzzDecodeBody feeds arbitrary JSON to every body type's strict decoder,
// which a signed message from a peer with a bug reaches: it must never
// panic, and what it accepts must validate and survive a round trip.
func FuzzDecodeBody(f *testing.F) {
	types := Types()
	for _, b := range sampleBodies(f) {
		raw, err := json.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(slices.Index(types, b.Type())), raw)
	}
	f.Add(uint8(0), []byte(`{"trip_ref":"T-1","extra":1}`))
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		ty := types[int(which)%len(types)]
		b, err := decodeBody(ty, raw)
		if err != nil {
			return
		}
		if b.Type() != ty || b.Validate() != nil {
			t.Fatalf("%s: accepted an invalid body %s", ty, raw)
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s: %v", ty, err)
		}
		if _, err := decodeBody(ty, again); err != nil {
			t.Fatalf("%s: its own encoding %s is refused: %v", ty, again, err)
		}
	})
}
