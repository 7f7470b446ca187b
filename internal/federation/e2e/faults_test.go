package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/trust"
)

// TestFaultsAcrossTwoNodes breaks the link between two `corridor serve`
// processes in every way the federation must survive, one fault at a
// time, and after each checks that the nodes converged with exact counts:
// every message Korea wrote applied by China exactly once, duplicates
// exactly those the fault caused, and each attack refused and counted
// under its reason.
func TestFaultsAcrossTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two node processes")
	}
	engines(t, func(t *testing.T, postgres bool) {
		p := startPair(t, postgres)
		p.converged(time.Minute)
		time.Sleep(500 * time.Millisecond) // both pulled and pushed on start: the lists may have come twice
		cn := p.n["CN"]
		px := p.proxy["CN"] // the way from Korea to China
		dups := cn.status("KR").Counts[federation.CountDuplicate]
		refused := map[string]int64{}
		n := 0
		approve := func(k int) {
			for range k {
				n++
				p.approve("Wei", "Test"+letters(n), fmt.Sprintf("E%08d", n))
			}
		}
		check := func(name string) {
			t.Helper()
			p.converged(time.Minute)
			deadline := time.Now().Add(15 * time.Second)
			for {
				c := cn.status("KR").Counts
				sent := p.n["KR"].sent("CN")
				// Every copy received was applied, or a duplicate, or (a
				// verified message reusing an id) refused as replayed.
				bad := c[federation.CountApplied] != sent || c[federation.CountDuplicate] != dups || c[federation.CountDead] != 0 ||
					c[federation.CountReceived] != c[federation.CountApplied]+c[federation.CountDuplicate]+c["replayed"]
				for _, r := range envelope.Reasons {
					bad = bad || c[string(r)] != refused[string(r)]
				}
				if !bad && px.Stats().Holding == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after %s: China counts %v; Korea sent %d; want %d duplicates and refusals %v", name, c, sent, dups, refused)
				}
				time.Sleep(150 * time.Millisecond)
			}
			for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
				st := p.n[c].status(other)
				if st.Counts[federation.CountDead] != 0 || len(st.Gaps) != 0 {
					t.Fatalf("after %s: %s has dead letters or gaps: %+v", name, c, st)
				}
			}
		}

		px.Down()
		approve(3)
		time.Sleep(500 * time.Millisecond)
		if err := px.Up(); err != nil {
			t.Fatal(err)
		}
		check("China down")

		px.Partition()
		approve(3)
		time.Sleep(time.Second)
		px.Heal()
		check("a partition that healed")

		px.SetLatency(200*time.Millisecond, 100*time.Millisecond)
		approve(3)
		check("latency")
		px.Reset()

		px.DropNextRequest(200)
		approve(2)
		check("a request cut off")

		// The only traffic from Korea to China now is the push of each
		// new approval (pulls are an hour apart), so the armed fault hits
		// that push, and every message of it comes twice.
		px.DropNextResponse(10)
		approve(1)
		dups++
		check("an answer cut off")

		px.DuplicateNext()
		approve(1)
		dups++
		check("a delivery sent twice")

		px.ReorderNext() // held until the retry overtakes it, then let through
		approve(1)
		dups++
		check("a delivery overtaken by its retry")

		px.CorruptNextRequest()
		approve(1)
		// A flipped bit inside base64 breaks the signature (altered) or the
		// encoding (malformed), depending on the character it lands on.
		p.waitAnyRefusal(cn, "KR", refused, "altered", "malformed")
		check("a corrupted body")

		// Attacks straight at China's endpoint.
		kr, forger := krIdentity(t, p), forgerIdentity(t)
		post := func(body []byte) int {
			req, _ := http.NewRequest(http.MethodPost, cn.url()+federation.PathDeliveries, bytes.NewReader(body))
			req.Header.Set(federation.HeaderPeer, "KR")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		old := p.someMessage(t)
		fm, err := envelope.Seal(forger, "CN", old.Seq, &envelope.StatsDaily{Date: "2020-05-01", Lane: "CN-KR"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if st := post(delivery(t, forger, time.Now(), fm.Raw)); st != http.StatusForbidden {
			t.Fatalf("a forged delivery answered %d", st)
		}
		refused["forged"]++
		if st := post(delivery(t, kr, time.Now().Add(-time.Hour), old.Raw)); st != http.StatusConflict {
			t.Fatalf("a replay an hour late answered %d", st)
		}
		refused["stale"]++
		var acks federation.Acks
		other := &envelope.TripCancelled{TripRef: "KR-REPLAYED", State: "withdrawn", At: time.Now()} // same stream, other content
		body := delivery(t, kr, time.Now(), reuseID(t, kr, old, other))
		req, _ := http.NewRequest(http.MethodPost, cn.url()+federation.PathDeliveries, bytes.NewReader(body))
		req.Header.Set(federation.HeaderPeer, "KR")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&acks)
		resp.Body.Close()
		if len(acks.Refused) != 1 || acks.Refused[0].Reason != "replayed" {
			t.Fatalf("a known id with other content: %+v", acks)
		}
		refused["replayed"]++
		check("forged, stale and replayed deliveries")

		// kill -9 of China while Korea pushes, slowed down so that a
		// delivery is in flight: the restarted inbox applies what it had
		// not, and recognises what it had.
		px.SetLatency(300*time.Millisecond, 0)
		approve(2)
		cn.kill()
		approve(2)
		cn.start()
		px.Reset()
		p.waitDuplicatesSettle(cn, &dups)
		check("China killed mid-delivery")

		// kill -9 of Korea right after writing: its outbox is on disk and
		// is sent after the restart.
		px.SetLatency(300*time.Millisecond, 0)
		approve(2)
		p.n["KR"].kill()
		p.n["KR"].start()
		px.Reset()
		p.waitDuplicatesSettle(cn, &dups)
		check("Korea killed mid-delivery")
	})
}

// letters spells n in a-z, for names that pass a passport's rules.
func letters(n int) string {
	s := ""
	for n > 0 {
		n--
		s = string(rune('a'+n%26)) + s
		n /= 26
	}
	return s
}

// waitAnyRefusal waits until one more refusal is counted under one of
// reasons, and records it.
func (p *pair) waitAnyRefusal(n *proc, peer string, refused map[string]int64, reasons ...string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := n.status(peer).Counts
		for _, r := range reasons {
			if c[r] > refused[r] {
				refused[r] = c[r]
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no refusal counted as %v: %v", reasons, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDuplicatesSettle: after a crash, how many copies came twice depends
// on where the crash fell; the exactness left is that every copy is
// either applied once or counted as a duplicate. It waits for the link to
// be quiet and takes the duplicate count as the new baseline.
func (p *pair) waitDuplicatesSettle(n *proc, dups *int64) {
	p.t.Helper()
	p.converged(time.Minute)
	time.Sleep(time.Second)
	*dups = n.status("KR").Counts[federation.CountDuplicate]
}

// krIdentity is Korea's federation identity, read from its data folder,
// to sign what an attacker with a recorded message could not.
func krIdentity(t *testing.T, p *pair) *envelope.Identity {
	t.Helper()
	id, err := envelope.Load(filepath.Join(p.n["KR"].data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// forgerIdentity claims to be Korea with a CSCA nobody pinned.
func forgerIdentity(t *testing.T) *envelope.Identity {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "forger")
	if _, err := keys.Init(dir, "KR", keys.Options{}); err != nil {
		t.Fatal(err)
	}
	id, err := envelope.Create(dir, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func delivery(t *testing.T, id *envelope.Identity, at time.Time, msgs ...[]byte) []byte {
	t.Helper()
	d, err := envelope.SealDelivery(id, "CN", "", msgs, at)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// someMessage is a message Korea sent China, read from Korea's outbox.
func (p *pair) someMessage(t *testing.T) *envelope.Message {
	t.Helper()
	db := openStore(t, p.n["KR"])
	ms, err := db.OutboxAfter(ctx, "CN", string(envelope.StreamTrips), 0, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Korea's first trips message: %v %v", ms, err)
	}
	id := krIdentity(t, p)
	m, err := envelope.Verify(ms[0].Envelope, "CN", id.CSCA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reuseID signs, with the peer's own key, a message that carries the id
// (and stream and number) of an earlier one but another body.
func reuseID(t *testing.T, id *envelope.Identity, earlier *envelope.Message, body envelope.Body) []byte {
	t.Helper()
	rawBody, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"v": envelope.Version, "id": earlier.ID, "sender": earlier.Sender,
		"receiver": earlier.Receiver, "stream": earlier.Stream, "seq": earlier.Seq, "time": time.Now().UTC(),
		"type": body.Type(), "body": json.RawMessage(rawBody)})
	if err != nil {
		t.Fatal(err)
	}
	env, err := trust.SealEnvelope(envelope.PayloadMessage, payload, id.Cert, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(struct {
		Cert []byte          `json:"cert"`
		DSSE json.RawMessage `json:"dsse"`
	}{id.Cert.Raw, env})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
