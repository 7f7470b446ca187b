package envelope

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/keys"
)

func TestEveryTypeRoundTrips(t *testing.T) {
	kr := newNode(t, "KR")
	seen := map[Type]bool{}
	for i, body := range sampleBodies(t) {
		m := mustSeal(t, kr, "CN", uint64(i+1), body, now)
		got, err := Verify(m.Raw, "CN", kr.set.CSCA, now)
		if err != nil {
			t.Fatalf("%s: %v", body.Type(), err)
		}
		if got.ID != m.ID || got.Sender != "KR" || got.Receiver != "CN" || got.Seq != uint64(i+1) ||
			got.Type != body.Type() || got.Stream != body.Type().Stream() || !got.Time.Equal(now) {
			t.Errorf("%s: header %+v, sealed %+v", body.Type(), got, m)
		}
		if !reflect.DeepEqual(got.Body, body) {
			t.Errorf("%s: body %+v, sealed %+v", body.Type(), got.Body, body)
		}
		if !bytes.Equal(got.RawBody, m.RawBody) || !bytes.Equal(got.Raw, m.Raw) {
			t.Errorf("%s: raw bytes changed", body.Type())
		}
		seen[body.Type()] = true
	}
	for _, ty := range Types() {
		if !seen[ty] {
			t.Errorf("no sample body of type %s", ty)
		}
		if !ty.Stream().Valid() {
			t.Errorf("type %s on unknown stream %q", ty, ty.Stream())
		}
	}
}

func TestMessageIDsAreRandom(t *testing.T) {
	kr := newNode(t, "KR")
	body := sampleBodies(t)[4]
	ids := map[string]bool{}
	for i := 0; i < 200; i++ {
		m := mustSeal(t, kr, "CN", 1, body, now)
		if !reID.MatchString(m.ID) || ids[m.ID] {
			t.Fatalf("id %q malformed or repeated", m.ID)
		}
		ids[m.ID] = true
	}
}

func TestSealRefusesBadArguments(t *testing.T) {
	kr := newNode(t, "KR")
	good := sampleBodies(t)[4]
	cases := map[string]func() error{
		"to itself":      func() error { _, err := Seal(kr.id, "KR", 1, good, now); return err },
		"bad receiver":   func() error { _, err := Seal(kr.id, "ZZ", 1, good, now); return err },
		"sequence 0":     func() error { _, err := Seal(kr.id, "CN", 0, good, now); return err },
		"nil body":       func() error { _, err := Seal(kr.id, "CN", 1, nil, now); return err },
		"invalid body":   func() error { _, err := Seal(kr.id, "CN", 1, &TripReleased{TripRef: "T-1"}, now); return err },
		"signer expired": func() error { _, err := Seal(kr.id, "CN", 1, good, t0.AddDate(5, 0, 0)); return err },
		"no identity":    func() error { _, err := Seal(nil, "CN", 1, good, now); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}
}

// resign signs an arbitrary message payload with a node's real federation
// key: what a peer with a bug, or with its key stolen, could send.
func resign(t *testing.T, n *node, h messageJSON) []byte {
	t.Helper()
	raw, err := n.id.seal(PayloadMessage, h)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func header(t *testing.T, m *Message) messageJSON {
	return messageJSON{V: Version, ID: m.ID, Sender: m.Sender, Receiver: m.Receiver, Stream: m.Stream,
		Seq: m.Seq, Time: m.Time, Type: m.Type, Body: m.RawBody}
}

func TestMalformedIsRefused(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 7, sampleBodies(t)[2], now)
	var s signed
	if err := json.Unmarshal(m.Raw, &s); err != nil {
		t.Fatal(err)
	}
	variants := map[string][]byte{
		"empty":          nil,
		"not JSON":       []byte("HC1:NCFOXN%TS3DH"),
		"empty object":   []byte(`{}`),
		"truncated":      m.Raw[:len(m.Raw)/2],
		"trailing data":  append(bytes.Clone(m.Raw), []byte(` {}`)...),
		"unknown field":  append(append([]byte{}, m.Raw[:len(m.Raw)-1]...), []byte(`,"x":1}`)...),
		"indented":       indent(t, m.Raw),
		"upper-case key": bytes.Replace(m.Raw, []byte(`"cert"`), []byte(`"Cert"`), 1),
		"too large":      bytes.Repeat([]byte(" "), MaxMessageBytes+1),
		"two signatures": func() []byte {
			s2 := s
			s2.DSSE.Signatures = append(s2.DSSE.Signatures, s2.DSSE.Signatures[0])
			b, _ := json.Marshal(s2)
			return b
		}(),
		"bad certificate": func() []byte {
			s2 := s
			s2.Cert = []byte("not DER")
			b, _ := json.Marshal(s2)
			return b
		}(),
	}
	// Correctly signed by the peer, but not a valid message: a peer's bug.
	bad := func(edit func(h *messageJSON)) []byte {
		h := header(t, m)
		edit(&h)
		return resign(t, kr, h)
	}
	variants["short id"] = bad(func(h *messageJSON) { h.ID = "abc" })
	variants["sequence 0"] = bad(func(h *messageJSON) { h.Seq = 0 })
	variants["no time"] = bad(func(h *messageJSON) { h.Time = time.Time{} })
	variants["wrong stream"] = bad(func(h *messageJSON) { h.Stream = StreamStats })
	variants["body not an object"] = bad(func(h *messageJSON) { h.Body = json.RawMessage(`[1]`) })
	variants["body invalid"] = bad(func(h *messageJSON) { h.Body = json.RawMessage(`{"trip_ref":"T-1"}`) })
	variants["body with a passport number"] = bad(func(h *messageJSON) {
		h.Body = json.RawMessage(strings.Replace(string(h.Body), `{`, `{"passport_number":"M12345678",`, 1))
	})
	variants["receiver not a country"] = bad(func(h *messageJSON) { h.Receiver = "ZZ" })
	variants["delivery payload type"] = func() []byte {
		raw, err := kr.id.seal(PayloadDelivery, header(t, m))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}()
	for name, raw := range variants {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(raw, "CN", kr.set.CSCA, now)
			wantReason(t, err, Malformed)
		})
	}
}

func indent(t *testing.T, raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", " "); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestForgedIsRefused(t *testing.T) {
	kr := newNode(t, "KR")
	body := sampleBodies(t)[2]
	t.Run("another CSCA for the same country", func(t *testing.T) {
		impostor := newNode(t, "KR")
		m := mustSeal(t, impostor, "CN", 1, body, now)
		_, err := Verify(m.Raw, "CN", kr.set.CSCA, now)
		wantReason(t, err, Forged)
	})
	t.Run("a DSC of the pinned CSCA, without the federation usage", func(t *testing.T) {
		key, cert, _, err := kr.set.Signer(keys.AuthorityName)
		if err != nil {
			t.Fatal(err)
		}
		dsc := &Identity{Country: "KR", Cert: cert, Key: key, CSCA: kr.set.CSCA}
		m := mustSeal(t, &node{id: dsc}, "CN", 1, body, now)
		_, err = Verify(m.Raw, "CN", kr.set.CSCA, now)
		wantReason(t, err, Forged)
	})
	t.Run("claims another sender", func(t *testing.T) {
		m := mustSeal(t, kr, "CN", 1, body, now)
		h := header(t, m)
		h.Sender, h.Receiver = "JP", "CN"
		_, err := Verify(resign(t, kr, h), "CN", kr.set.CSCA, now)
		wantReason(t, err, Forged)
	})
	t.Run("dated before its signer existed", func(t *testing.T) {
		m := mustSeal(t, kr, "CN", 1, body, now)
		h := header(t, m)
		h.Time = t0.AddDate(-1, 0, 0)
		_, err := Verify(resign(t, kr, h), "CN", kr.set.CSCA, now)
		wantReason(t, err, Forged)
	})
	t.Run("certificate swapped for another node's", func(t *testing.T) {
		m := mustSeal(t, kr, "CN", 1, body, now)
		other := newNode(t, "KR")
		var s signed
		if err := json.Unmarshal(m.Raw, &s); err != nil {
			t.Fatal(err)
		}
		s.Cert = other.id.Cert.Raw
		raw, _ := json.Marshal(s)
		_, err := Verify(raw, "CN", kr.set.CSCA, now)
		wantReason(t, err, Forged)
	})
}

func TestAlteredIsRefused(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 7, sampleBodies(t)[2], now)
	var s signed
	if err := json.Unmarshal(m.Raw, &s); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(s.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func() signed{
		"sequence number": func() signed {
			c := s
			c.DSSE.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(payload, []byte(`"seq":7`), []byte(`"seq":8`), 1))
			return c
		},
		"seat": func() signed {
			c := s
			c.DSSE.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(payload, []byte(`23C`), []byte(`29C`), 1))
			return c
		},
		"payload type": func() signed {
			c := s
			c.DSSE.PayloadType = PayloadPull
			return c
		},
		"signature": func() signed {
			c := s
			sig, _ := base64.StdEncoding.DecodeString(s.DSSE.Signatures[0].Sig)
			sig[len(sig)-1] ^= 1
			c.DSSE.Signatures = []dsseSignature{{KeyID: s.DSSE.Signatures[0].KeyID, Sig: base64.StdEncoding.EncodeToString(sig)}}
			return c
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(edit())
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(raw, m.Raw) {
				t.Fatal("the edit changed nothing")
			}
			_, err = Verify(raw, "CN", kr.set.CSCA, now)
			wantReason(t, err, Altered)
		})
	}
}

// TestEveryByteMatters flips each byte of a sealed message in turn: no
// change may be accepted. Which reason applies depends on where the byte
// is (the certificate, the JSON, the payload, the signature).
func TestEveryByteMatters(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 7, sampleBodies(t)[2], now)
	if _, err := Verify(m.Raw, "CN", kr.set.CSCA, now); err != nil {
		t.Fatal(err)
	}
	reasons := map[Reason]int{}
	for i := range m.Raw {
		for _, mask := range []byte{0x01, 0x20, 0x80} {
			raw := bytes.Clone(m.Raw)
			raw[i] ^= mask
			_, err := Verify(raw, "CN", kr.set.CSCA, now)
			if err == nil {
				t.Fatalf("flipping byte %d (%q) with %#x was accepted", i, m.Raw[i], mask)
			}
			r := ReasonOf(err)
			if r == "" {
				t.Fatalf("byte %d: refusal without a reason: %v", i, err)
			}
			reasons[r]++
		}
	}
	if reasons[Altered] == 0 || reasons[Malformed] == 0 {
		t.Errorf("reasons seen: %v; want both altered and malformed", reasons)
	}
}

func TestMisdirectedIsRefused(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 1, sampleBodies(t)[2], now)
	_, err := Verify(m.Raw, "JP", kr.set.CSCA, now)
	wantReason(t, err, Misdirected)
}

func TestMessageTimeWindow(t *testing.T) {
	kr := newNode(t, "KR")
	body := sampleBodies(t)[2]
	// Catch-up: a message sent days ago is still good.
	old := mustSeal(t, kr, "CN", 1, body, now.AddDate(0, 0, -8))
	if _, err := Verify(old.Raw, "CN", kr.set.CSCA, now); err != nil {
		t.Errorf("an eight-day-old message was refused: %v", err)
	}
	// A sender clock a little ahead is tolerated; far ahead is not.
	ahead := mustSeal(t, kr, "CN", 1, body, now.Add(MaxSkew-time.Second))
	if _, err := Verify(ahead.Raw, "CN", kr.set.CSCA, now); err != nil {
		t.Errorf("a message %s ahead was refused: %v", MaxSkew-time.Second, err)
	}
	future := mustSeal(t, kr, "CN", 1, body, now.Add(MaxSkew+time.Second))
	_, err := Verify(future.Raw, "CN", kr.set.CSCA, now)
	wantReason(t, err, Stale)
	// Sent while the signer was valid, verified after it expired: still
	// good, so a long outage does not lose messages.
	late := t0.AddDate(3, 0, 0)
	if _, err := Verify(old.Raw, "CN", kr.set.CSCA, late); err != nil {
		t.Errorf("verifying after the signer expired: %v", err)
	}
}

func TestUnsupportedIsRefused(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 1, sampleBodies(t)[2], now)
	h := header(t, m)
	h.Type = "trip.teleported"
	_, err := Verify(resign(t, kr, h), "CN", kr.set.CSCA, now)
	wantReason(t, err, Unsupported)

	v2, err := kr.id.seal(PayloadMessage, map[string]any{"v": 2, "anything": "new"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(v2, "CN", kr.set.CSCA, now)
	wantReason(t, err, Unsupported)
}

func TestVerifyNeedsAPinnedCSCA(t *testing.T) {
	kr := newNode(t, "KR")
	m := mustSeal(t, kr, "CN", 1, sampleBodies(t)[2], now)
	for _, pin := range []*x509.Certificate{nil, kr.id.Cert} {
		_, err := Verify(m.Raw, "CN", pin, now)
		if err == nil || ReasonOf(err) != "" {
			t.Errorf("pin %v: %v; want an argument error, not a refusal", pin, err)
		}
	}
}

func TestErrorsNameTheirReason(t *testing.T) {
	err := refuse(Stale, "sent at %s", "noon")
	if !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "noon") {
		t.Errorf("Error() = %q", err)
	}
	if ReasonOf(nil) != "" || ReasonOf(bytes.ErrTooLarge) != "" {
		t.Error("ReasonOf found a reason in a non-refusal")
	}
	if len(Reasons) != 7 {
		t.Errorf("Reasons = %v", Reasons)
	}
}
