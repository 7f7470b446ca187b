package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"testing"
	"time"
)

func TestDeliveryCarriesMessagesAndChecksEachOne(t *testing.T) {
	kr := newNode(t, "KR")
	bodies := sampleBodies(t)
	var raws [][]byte
	for i, b := range bodies[:4] {
		raws = append(raws, mustSeal(t, kr, "CN", uint64(i+1), b, now.Add(-time.Hour)).Raw)
	}
	// One message in the batch was altered in the sender's store; the
	// delivery around it is genuine.
	altered := bytes.Replace(raws[2], []byte(`"sig":"`), []byte(`"sig":"A`), 1)
	batch := [][]byte{raws[0], raws[1], altered, raws[3]}
	raw, err := SealDelivery(kr.id, "CN", "", batch, now)
	if err != nil {
		t.Fatal(err)
	}
	d, err := VerifyDelivery(raw, "CN", kr.set.CSCA, now.Add(MaxSkew-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if d.Sender != "KR" || d.Receiver != "CN" || !d.SentAt.Equal(now) || d.ReplyTo != "" || !reID.MatchString(d.ID) || len(d.Items) != 4 {
		t.Fatalf("delivery %+v", d)
	}
	for i, it := range d.Items {
		if !bytes.Equal(it.Raw, batch[i]) {
			t.Errorf("item %d: raw bytes changed in transit", i)
		}
		if i == 2 {
			if it.Message != nil || ReasonOf(it.Err) == "" {
				t.Errorf("item 2 (altered): %+v", it)
			}
			continue
		}
		if it.Err != nil || it.Message == nil || it.Message.Seq != uint64(i+1) {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	if got := d.Messages(); len(got) != 3 {
		t.Errorf("Messages() = %d, want 3", len(got))
	}
}

func TestDeliveryRefusals(t *testing.T) {
	kr := newNode(t, "KR")
	msg := mustSeal(t, kr, "CN", 1, sampleBodies(t)[2], now).Raw
	seal := func(t *testing.T, n *node, to string, at time.Time) []byte {
		raw, err := SealDelivery(n.id, to, "", [][]byte{msg}, at)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := seal(t, kr, "CN", now)
	cases := []struct {
		name string
		raw  func(t *testing.T) []byte
		at   time.Time
		want Reason
	}{
		{"sent too long ago", func(t *testing.T) []byte { return good }, now.Add(MaxSkew + time.Second), Stale},
		{"sent from the future", func(t *testing.T) []byte { return good }, now.Add(-MaxSkew - time.Second), Stale},
		{"to another node", func(t *testing.T) []byte { return seal(t, kr, "JP", now) }, now, Misdirected},
		{"by an impostor", func(t *testing.T) []byte { return seal(t, newNode(t, "KR"), "CN", now) }, now, Forged},
		{"a message passed off as a delivery", func(t *testing.T) []byte { return msg }, now, Malformed},
		{"altered", func(t *testing.T) []byte {
			var s signed
			json.Unmarshal(good, &s)
			sig, _ := base64.StdEncoding.DecodeString(s.DSSE.Signatures[0].Sig)
			sig[10] ^= 0x40
			s.DSSE.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
			b, _ := json.Marshal(s)
			return b
		}, now, Altered},
		{"unknown field", func(t *testing.T) []byte {
			raw, err := kr.id.seal(PayloadDelivery, map[string]any{"v": 1, "id": "00112233445566778899aabbccddeeff",
				"sender": "KR", "receiver": "CN", "sent_at": now, "messages": []any{}, "priority": "high"})
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}, now, Malformed},
		{"too many messages", func(t *testing.T) []byte {
			msgs := make([]json.RawMessage, MaxDeliveryMessages+1)
			for i := range msgs {
				msgs[i] = msg
			}
			raw, err := kr.id.seal(PayloadDelivery, deliveryJSON{V: 1, ID: "00112233445566778899aabbccddeeff",
				Sender: "KR", Receiver: "CN", SentAt: now, Messages: msgs})
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}, now, Malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := VerifyDelivery(c.raw(t), "CN", kr.set.CSCA, c.at)
			wantReason(t, err, c.want)
		})
	}
	if _, err := VerifyDelivery(good, "CN", kr.set.CSCA, now.Add(MaxSkew)); err != nil {
		t.Errorf("at the edge of the window: %v", err)
	}
}

func TestDeliveryAnswersOnlyItsPull(t *testing.T) {
	cn, kr := newNode(t, "CN"), newNode(t, "KR")
	after := map[Stream]uint64{StreamTrips: 41, StreamCases: 0}
	rawPull, sent, err := SealPull(cn.id, "KR", after, 500, now)
	if err != nil {
		t.Fatal(err)
	}
	after[StreamTrips] = 99 // the request keeps its own copy
	got, err := VerifyPull(rawPull, "KR", cn.set.CSCA, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sent.ID || got.Sender != "CN" || got.Receiver != "KR" || got.Limit != 500 ||
		!maps.Equal(got.After, map[Stream]uint64{StreamTrips: 41, StreamCases: 0}) {
		t.Fatalf("pull %+v, sent %+v", got, sent)
	}
	msg := mustSeal(t, kr, "CN", 42, sampleBodies(t)[2], now.AddDate(0, 0, -3))
	answer, err := SealDelivery(kr.id, "CN", got.ID, [][]byte{msg.Raw}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	d, err := VerifyDelivery(answer, "CN", kr.set.CSCA, now.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Answers(sent.ID); err != nil {
		t.Errorf("the answer to our pull: %v", err)
	}
	_, other, err := SealPull(cn.id, "KR", nil, 10, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, d.Answers(other.ID), Replayed)
	push, err := SealDelivery(kr.id, "CN", "", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := VerifyDelivery(push, "CN", kr.set.CSCA, now)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, p.Answers(""), Replayed)
	wantReason(t, p.Answers(sent.ID), Replayed)
}

func TestPullRefusals(t *testing.T) {
	cn := newNode(t, "CN")
	good, _, err := SealPull(cn.id, "KR", map[Stream]uint64{StreamTrips: 1}, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = VerifyPull(good, "KR", cn.set.CSCA, now.Add(MaxSkew+time.Second))
	wantReason(t, err, Stale)
	// A wider window (a simulated clock) takes it; it still has an edge.
	if _, err = VerifyPullWithin(good, "KR", cn.set.CSCA, now.Add(48*time.Hour), 72*time.Hour); err != nil {
		t.Fatalf("a pull inside a widened window: %v", err)
	}
	_, err = VerifyPullWithin(good, "KR", cn.set.CSCA, now.Add(73*time.Hour), 72*time.Hour)
	wantReason(t, err, Stale)
	_, err = VerifyPull(good, "JP", cn.set.CSCA, now)
	wantReason(t, err, Misdirected)
	_, err = VerifyPull(good, "KR", newNode(t, "CN").set.CSCA, now)
	wantReason(t, err, Forged)
	newer, err := cn.id.seal(PayloadPull, pullJSON{V: 1, ID: "00112233445566778899aabbccddeeff", Sender: "CN", Receiver: "KR",
		SentAt: now, After: map[Stream]uint64{"vaccines": 3}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = VerifyPull(newer, "KR", cn.set.CSCA, now)
	wantReason(t, err, Unsupported)
	zero, err := cn.id.seal(PayloadPull, pullJSON{V: 1, ID: "00112233445566778899aabbccddeeff", Sender: "CN", Receiver: "KR", SentAt: now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = VerifyPull(zero, "KR", cn.set.CSCA, now)
	wantReason(t, err, Malformed)

	for _, bad := range []func() error{
		func() error { _, _, err := SealPull(cn.id, "KR", nil, 0, now); return err },
		func() error { _, _, err := SealPull(cn.id, "KR", nil, MaxDeliveryMessages+1, now); return err },
		func() error { _, _, err := SealPull(cn.id, "CN", nil, 10, now); return err },
		func() error { _, _, err := SealPull(cn.id, "KR", map[Stream]uint64{"x": 1}, 10, now); return err },
		func() error { _, err := SealDelivery(cn.id, "KR", "not-an-id", nil, now); return err },
		func() error { _, err := SealDelivery(cn.id, "KR", "", [][]byte{[]byte(`{}`)}, now); return err },
	} {
		if bad() == nil {
			t.Error("a bad request was sealed")
		}
	}
}

func TestSeenTellsDuplicatesFromReuse(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 1, sampleBodies(t)[2], now)
	got, err := Verify(m.Raw, "CN", kr.set.CSCA, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := Seen(bytes.Clone(m.Raw), got); err != nil {
		t.Errorf("the same message again: %v", err)
	}
	other := mustSeal(t, kr, "CN", 1, sampleBodies(t)[4], now)
	wantReason(t, Seen(other.Raw, got), Replayed)
}
