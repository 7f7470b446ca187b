package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upstream is a node stand-in on a real loopback socket: it records every
// request body in arrival order and echoes it back.
type upstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, string(b))
		n := len(u.bodies)
		u.mu.Unlock()
		w.Header().Set("X-Seen", fmt.Sprint(n))
		fmt.Fprintf(w, "echo:%s", b)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string{}, u.bodies...)
}

func start(t *testing.T, u *upstream, opts Options) *Proxy {
	p, err := Start(strings.TrimPrefix(u.srv.URL, "http://"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
		t.Fatalf("listening on %s, want loopback", p.Addr())
	}
	return p
}

// client makes a fresh client per test step, without keep-alive, so each
// request opens its own connection and a fault hits exactly one request.
func client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func post(c *http.Client, p *Proxy, body string) (string, error) {
	resp, err := c.Post(p.URL()+"/federation/inbox", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func mustPost(t *testing.T, p *Proxy, body string) string {
	t.Helper()
	got, err := post(client(5*time.Second), p, body)
	if err != nil {
		t.Fatal(err)
	}
	if got != "echo:"+body {
		t.Fatalf("answer %q, want %q", got, "echo:"+body)
	}
	return got
}

func TestForwardsUntouched(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	mustPost(t, p, `{"seq":1}`)
	// Keep-alive: several requests over one connection.
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 3 {
		if _, err := post(c, p, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if s := p.Stats(); s.Forwarded != 4 || s.Accepted != 2 {
		t.Errorf("stats %+v, want 4 forwarded over 2 connections", s)
	}
	if got := u.seen(); len(got) != 4 || got[0] != `{"seq":1}` {
		t.Errorf("upstream saw %q", got)
	}
}

func TestDownRefusesThenUpServes(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	mustPost(t, p, "before")
	if err := p.Down(); err != nil {
		t.Fatal(err)
	}
	_, err := post(client(2*time.Second), p, "while down")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while down: %v, want connection refused", err)
	}
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	mustPost(t, p, "after")
	if got := u.seen(); len(got) != 2 || got[1] != "after" {
		t.Errorf("upstream saw %q", got)
	}
	if s := p.Stats(); s.Downs != 1 {
		t.Errorf("Downs = %d", s.Downs)
	}
}

func TestPartitionSwallowsThenHeals(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.Partition()
	_, err := post(client(300*time.Millisecond), p, "lost")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("through a partition: %v, want a timeout", err)
	}
	if s := p.Stats(); s.Blackholed != 1 || s.Forwarded != 0 {
		t.Errorf("stats %+v", s)
	}
	p.Heal()
	mustPost(t, p, "after")
	if got := u.seen(); len(got) != 1 || got[0] != "after" {
		t.Errorf("upstream saw %q: nothing sent during the partition may arrive", got)
	}
}

func TestLatency(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{Seed: 7})
	p.SetLatency(150*time.Millisecond, 50*time.Millisecond)
	begin := time.Now()
	mustPost(t, p, "slow")
	if d := time.Since(begin); d < 150*time.Millisecond {
		t.Errorf("took %s, want at least 150ms", d)
	}
	p.SetLatency(0, 0)
	mustPost(t, p, "fast")
	if s := p.Stats(); s.Delayed != 1 {
		t.Errorf("Delayed = %d, want 1", s.Delayed)
	}
}

func TestDropRequestMidway(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.DropNextRequest(5)
	if _, err := post(client(2*time.Second), p, strings.Repeat("x", 100)); err == nil {
		t.Fatal("a cut request got an answer")
	}
	if got := u.seen(); len(got) != 0 {
		t.Errorf("upstream saw the cut request: %q", got)
	}
	mustPost(t, p, "next")
	if s := p.Stats(); s.DroppedRequests != 1 || s.Forwarded != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDropResponseAfterUpstreamApplied(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.DropNextResponse(20)
	_, err := post(client(2*time.Second), p, "applied")
	if err == nil {
		t.Fatal("the cut response arrived whole")
	}
	if got := u.seen(); len(got) != 1 || got[0] != "applied" {
		t.Errorf("upstream saw %q; the request must have been applied", got)
	}
	mustPost(t, p, "next")
	if s := p.Stats(); s.DroppedResponses != 1 {
		t.Errorf("DroppedResponses = %d", s.DroppedResponses)
	}
}

func TestDuplicate(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.DuplicateNext()
	mustPost(t, p, "twice")
	mustPost(t, p, "once")
	if got := u.seen(); strings.Join(got, ",") != "twice,twice,once" {
		t.Errorf("upstream saw %q", got)
	}
	if s := p.Stats(); s.Duplicated != 1 || s.Forwarded != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestReorder(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{HoldTimeout: 5 * time.Second})
	p.ReorderNext()
	first := make(chan error, 1)
	go func() { _, err := post(client(10*time.Second), p, "first"); first <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Holding != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first request was never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mustPost(t, p, "second")
	if err := <-first; err != nil {
		t.Fatalf("the held request: %v", err)
	}
	if got := u.seen(); strings.Join(got, ",") != "second,first" {
		t.Errorf("upstream saw %q, want second before first", got)
	}
	if s := p.Stats(); s.Reordered != 1 || s.Holding != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestReorderGivesUpWhenNothingOvertakes(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{HoldTimeout: 100 * time.Millisecond})
	p.ReorderNext()
	mustPost(t, p, "alone")
	if s := p.Stats(); s.Reordered != 0 || s.Forwarded != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestCorruptRequestBody(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.CorruptNextRequest()
	sent := `{"type":"trip.departed","seq":7}`
	got, err := post(client(5*time.Second), p, sent)
	if err != nil {
		t.Fatal(err)
	}
	seen := u.seen()[0]
	if oneBitApart(seen, sent) != 1 || got != "echo:"+seen {
		t.Errorf("upstream saw %q for %q", seen, sent)
	}
	mustPost(t, p, sent)
	if s := p.Stats(); s.CorruptedRequests != 1 {
		t.Errorf("CorruptedRequests = %d", s.CorruptedRequests)
	}
}

func TestCorruptResponseBody(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.CorruptNextResponse()
	got, err := post(client(5*time.Second), p, "payload")
	if err != nil {
		t.Fatal(err)
	}
	if oneBitApart(got, "echo:payload") != 1 || u.seen()[0] != "payload" {
		t.Errorf("client got %q", got)
	}
	mustPost(t, p, "clean")
	if s := p.Stats(); s.CorruptedResponses != 1 {
		t.Errorf("CorruptedResponses = %d", s.CorruptedResponses)
	}
}

func TestUpstreamDownIsABadGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := Start(addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, err := client(5 * time.Second).Get(p.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || p.Stats().UpstreamErrors != 1 {
		t.Errorf("status %d, stats %+v", resp.StatusCode, p.Stats())
	}
}

func TestResetClearsFaults(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{})
	p.Partition()
	p.SetLatency(time.Hour, 0)
	p.DuplicateNext()
	p.DropNextRequest(0)
	p.CorruptNextRequest()
	p.Reset()
	mustPost(t, p, "clean")
	if got := u.seen(); len(got) != 1 {
		t.Errorf("upstream saw %q", got)
	}
}

func TestCloseEndsHeldAndBlackholedRequests(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Options{HoldTimeout: time.Hour})
	p.ReorderNext()
	done := make(chan struct{})
	go func() { post(client(time.Hour), p, "held"); close(done) }()
	for p.Stats().Holding != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a held request")
	}
	<-done
}

func oneBitApart(a, b string) int {
	if len(a) != len(b) {
		return -1
	}
	bits := 0
	for i := range len(a) {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			bits++
		}
	}
	return bits
}
