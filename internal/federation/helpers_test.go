package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/faultproxy"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/node"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/trip"
)

var bg = context.Background()

// engines runs f on SQLite and, when a server is configured, PostgreSQL;
// url gives a new database URL for one node ("" for SQLite).
func engines(t *testing.T, f func(t *testing.T, url func() string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, func() string { return "" }) })
	t.Run("postgres", func(t *testing.T) {
		sqltest.RequirePostgres(t)
		f(t, func() string { return sqltest.PostgresURL(t) })
	})
}

// receiver is China's node, served over HTTP but not running its own
// senders, and Korea's federation identity, with which a test writes what
// Korea's node would send: the inbox, seen from the outside.
type receiver struct {
	t   testing.TB
	n   *node.Node
	srv *httptest.Server
	kr  *envelope.Identity
	seq map[envelope.Stream]uint64
}

func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func newReceiver(t testing.TB, dbURL string) *receiver {
	t.Helper()
	dir := t.TempDir()
	n, err := node.Open(bg, node.Config{DataDir: filepath.Join(dir, "cn"), Country: "CN", DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	krDir := filepath.Join(dir, "kr-keys")
	set, err := keys.Init(krDir, "KR", keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := envelope.Create(krDir, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Federation.AddPeer(bg, "KR", "http://127.0.0.1:9", pemOf(set.CSCA.Raw)); err != nil {
		t.Fatal(err)
	}
	h, err := n.Handler(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &receiver{t: t, n: n, srv: srv, kr: kr, seq: map[envelope.Stream]uint64{}}
}

// seal makes Korea's next message of body's stream.
func (r *receiver) seal(body envelope.Body) *envelope.Message {
	r.t.Helper()
	st := body.Type().Stream()
	r.seq[st]++
	m, err := envelope.Seal(r.kr, "CN", r.seq[st], body, time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// stats is a message that always applies: one day's figures.
func stats(day int) envelope.Body {
	return &envelope.StatsDaily{Date: time.Date(2020, 5, day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Lane: "CN-KR",
		Approved: day, Positives: ledger.Counts{}}
}

// post sends a raw body to the delivery endpoint as peer.
func (r *receiver) post(path, peer string, body []byte) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if peer != "" {
		req.Header.Set(federation.HeaderPeer, peer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// deliver pushes msgs in one delivery signed by Korea and returns the
// acknowledgement.
func (r *receiver) deliver(msgs ...*envelope.Message) *federation.Acks {
	r.t.Helper()
	status, out := r.post(federation.PathDeliveries, "KR", r.delivery(time.Now(), msgs...))
	if status != http.StatusOK {
		r.t.Fatalf("delivery answered %d: %s", status, out)
	}
	var a federation.Acks
	if err := json.Unmarshal(out, &a); err != nil {
		r.t.Fatal(err)
	}
	return &a
}

func (r *receiver) delivery(at time.Time, msgs ...*envelope.Message) []byte {
	r.t.Helper()
	raws := make([][]byte, len(msgs))
	for i, m := range msgs {
		raws[i] = m.Raw
	}
	d, err := envelope.SealDelivery(r.kr, "CN", "", raws, at)
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// counts returns China's counters for Korea.
func (r *receiver) counts() map[string]int64 {
	r.t.Helper()
	c, err := r.n.Store.Counts(bg)
	if err != nil {
		r.t.Fatal(err)
	}
	if c["KR"] == nil {
		return map[string]int64{}
	}
	return c["KR"]
}

// wantCounts compares counters, every name listed or zero.
func wantCounts(t testing.TB, got map[string]int64, want map[string]int64) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("counter %s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok && v != 0 {
			t.Errorf("counter %s = %d, want 0 (all: %v)", k, v, got)
		}
	}
}

func ids(ms ...*envelope.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func fmtAcks(a *federation.Acks) string {
	return fmt.Sprintf("applied %v duplicate %v held %v dead %v refused %v through %v", a.Applied, a.Duplicate, a.Held, a.Dead, a.Refused, a.Through)
}

func authKind(k string) auth.OrgKind { return auth.OrgKind(k) }

func rolesOf(r trip.Role) auth.Roles { return auth.NewRoles(r) }

// pair is China's and Korea's nodes, each served over HTTP and running
// its federation. Each reaches the other through a proxy that tests can
// break; the proxies start healthy.
type pair struct {
	t      testing.TB
	nodes  map[string]*node.Node
	srv    map[string]*httptest.Server
	proxy  map[string]*faultproxy.Proxy // by the country it leads to
	cancel context.CancelFunc
	done   chan struct{}
}

// newPair opens both nodes; start runs their federation.
func newPair(t testing.TB, url func() string, peering node.PeeringConfig) *pair {
	t.Helper()
	dir := t.TempDir()
	p := &pair{t: t, nodes: map[string]*node.Node{}, srv: map[string]*httptest.Server{}, proxy: map[string]*faultproxy.Proxy{}}
	for _, c := range []string{"CN", "KR"} {
		n, err := node.Open(bg, node.Config{DataDir: filepath.Join(dir, c), Country: c, DatabaseURL: url(), Peering: peering})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		h, err := n.Handler(nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		px, err := faultproxy.Start(srv.Listener.Addr().String(), faultproxy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		p.nodes[c], p.srv[c], p.proxy[c] = n, srv, px
	}
	for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
		if err := p.nodes[c].Federation.AddPeer(bg, other, p.proxy[other].URL(), string(p.nodes[other].FederationCSCA())); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// start runs both nodes' federation until the test ends.
func (p *pair) start() {
	ctx, cancel := context.WithCancel(bg)
	p.cancel, p.done = cancel, make(chan struct{})
	var running sync.WaitGroup
	for _, n := range p.nodes {
		running.Add(1)
		go func() { defer running.Done(); n.Federation.Run(ctx) }()
	}
	go func() { running.Wait(); close(p.done) }()
	p.t.Cleanup(p.stop)
}

func (p *pair) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
		p.cancel = nil
	}
}

// sendStats writes n day figures from one node to the other, in
// transactions of up to 500 messages.
func (p *pair) sendStats(from string, n int) {
	p.t.Helper()
	to := map[string]string{"CN": "KR", "KR": "CN"}[from]
	day0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		batch := min(500, n-done)
		err := p.nodes[from].Store.InTx(bg, func(tx store.Store) error {
			for i := 0; i < batch; i++ {
				b := &envelope.StatsDaily{Date: day0.AddDate(0, 0, done+i).Format(time.DateOnly), Lane: "CN-KR", Approved: done + i}
				if err := p.nodes[from].Federation.Send(bg, tx, to, b, time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			p.t.Fatal(err)
		}
		done += batch
	}
}

// sent is how many messages a node has written for its peer.
func (p *pair) sent(from string) int64 {
	p.t.Helper()
	to := map[string]string{"CN": "KR", "KR": "CN"}[from]
	st, err := p.nodes[from].Store.OutboxStatus(bg, to)
	if err != nil {
		p.t.Fatal(err)
	}
	var n int64
	for _, s := range st.LastSeq {
		n += int64(s)
	}
	return n
}

// counts is what node at has counted of its peer's messages.
func (p *pair) counts(at string) map[string]int64 {
	p.t.Helper()
	from := map[string]string{"CN": "KR", "KR": "CN"}[at]
	c, err := p.nodes[at].Store.Counts(bg)
	if err != nil {
		p.t.Fatal(err)
	}
	if c[from] == nil {
		return map[string]int64{}
	}
	return c[from]
}

// converged waits until each node has applied everything the other wrote
// for it and holds nothing unacknowledged.
func (p *pair) converged(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		why := ""
		for _, c := range []string{"CN", "KR"} {
			other := map[string]string{"CN": "KR", "KR": "CN"}[c]
			if got, want := p.counts(c)[federation.CountApplied], p.sent(other); got != want {
				ok, why = false, fmt.Sprintf("%s applied %d of %d", c, got, want)
				break
			}
			st, err := p.nodes[c].Store.OutboxStatus(bg, other)
			if err != nil {
				p.t.Fatal(err)
			}
			if st.Unacked > 0 {
				ok, why = false, fmt.Sprintf("%s has %d unacknowledged", c, st.Unacked)
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no convergence after %s: %s", timeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
