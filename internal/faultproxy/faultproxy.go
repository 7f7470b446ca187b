// Package faultproxy is a proxy that breaks things on purpose, for the
// federation's fault tests: it sits on loopback between two nodes and,
// as a test tells it, refuses connections, black-holes them, delays,
// cuts a request or a response off midway, sends a request twice, swaps
// two requests, or flips a byte of a body, and counts what it did.
//
// It works at two layers. Connections are real TCP sockets: a node that
// is down refuses them, a partition swallows them, a cut closes them.
// Requests are read as HTTP/1.1, so that duplicating, reordering and
// corrupting act on whole requests and bodies, as a flaky network or a
// retrying client would. It carries plain HTTP only: the federation's
// messages are signed end to end, so its fault tests need no TLS.
//
// Written here rather than using toxiproxy: toxiproxy is not among the
// modules this project can fetch, and its toxics work on byte streams,
// not on HTTP requests, so duplicate, reorder and body corruption would
// have to be written anyway.
package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a proxy. The zero value is the defaults.
type Options struct {
	// HoldTimeout is how long ReorderNext holds a request waiting for the
	// one to overtake it; then it goes on alone. Default 5 s.
	HoldTimeout time.Duration
	// MaxBody bounds a request or response body the proxy buffers.
	// Default 64 MiB.
	MaxBody int64
	// Seed makes the latency jitter repeatable; 0 draws one.
	Seed uint64
}

// Stats counts what the proxy did.
type Stats struct {
	Accepted           int64 // connections accepted
	Forwarded          int64 // requests sent upstream (a duplicate counts twice)
	Downs              int64 // times the proxy was taken down
	Blackholed         int64 // requests or connections swallowed by a partition
	Delayed            int64 // requests delayed by latency
	DroppedRequests    int64 // requests cut off before reaching upstream
	DroppedResponses   int64 // responses cut off after upstream handled the request
	Duplicated         int64 // requests sent upstream twice
	Reordered          int64 // requests overtaken by the next one
	CorruptedRequests  int64
	CorruptedResponses int64
	UpstreamErrors     int64 // requests upstream did not answer (502 to the client)
	Holding            int64 // requests held for reordering right now
}

type counters struct {
	accepted, forwarded, downs, blackholed, delayed, droppedReq, droppedResp,
	duplicated, reordered, corruptedReq, corruptedResp, upstreamErrors, holding atomic.Int64
}

// Proxy is one fault-injecting proxy in front of one upstream address.
type Proxy struct {
	target string
	addr   string
	opts   Options
	client *http.Transport
	stats  counters
	closed chan struct{}
	wg     sync.WaitGroup

	mu          sync.Mutex
	ln          net.Listener // nil while down
	conns       map[net.Conn]struct{}
	healed      chan struct{} // nil when not partitioned; closed on Heal
	latency     time.Duration
	jitter      time.Duration
	rng         *rand.Rand
	dropReq     []int64 // armed: cut the next requests after this many body bytes
	dropResp    []int64 // armed: cut the next responses after this many bytes
	duplicate   int
	reorder     int
	corruptReq  int
	corruptResp int
	held        chan struct{} // closed to release the request being held
}

// Start listens on a free port of 127.0.0.1 and forwards to target
// ("host:port").
func Start(target string, opts Options) (*Proxy, error) {
	if opts.HoldTimeout <= 0 {
		opts.HoldTimeout = 5 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 20
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		target: target,
		addr:   ln.Addr().String(),
		opts:   opts,
		client: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 16,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		closed: make(chan struct{}),
		ln:     ln,
		conns:  map[net.Conn]struct{}{},
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

// Addr is the proxy's address; it stays the same across Down and Up.
func (p *Proxy) Addr() string { return p.addr }

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	s := &p.stats
	return Stats{
		Accepted: s.accepted.Load(), Forwarded: s.forwarded.Load(), Downs: s.downs.Load(),
		Blackholed: s.blackholed.Load(), Delayed: s.delayed.Load(),
		DroppedRequests: s.droppedReq.Load(), DroppedResponses: s.droppedResp.Load(),
		Duplicated: s.duplicated.Load(), Reordered: s.reordered.Load(),
		CorruptedRequests: s.corruptedReq.Load(), CorruptedResponses: s.corruptedResp.Load(),
		UpstreamErrors: s.upstreamErrors.Load(), Holding: s.holding.Load(),
	}
}

// Down stops listening, so connections are refused as by a stopped node,
// and closes every open connection.
func (p *Proxy) Down() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return nil
	}
	err := p.ln.Close()
	p.ln = nil
	for c := range p.conns {
		c.Close()
	}
	p.stats.downs.Add(1)
	return err
}

// Up listens again on the same address.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return nil
	}
	select {
	case <-p.closed:
		return errors.New("faultproxy: closed")
	default:
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faultproxy: listening again on %s: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

// Partition accepts connections but lets nothing through either way:
// requests read during the partition are never forwarded and never
// answered. On Heal their connections are closed, as a peer's would be
// once it noticed.
func (p *Proxy) Partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.healed == nil {
		p.healed = make(chan struct{})
	}
}

// Heal ends a partition.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.healed != nil {
		close(p.healed)
		p.healed = nil
	}
}

// SetLatency delays every request by fixed plus a uniform draw in
// [0, jitter) before forwarding it.
func (p *Proxy) SetLatency(fixed, jitter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency, p.jitter = max(fixed, 0), max(jitter, 0)
}

// DropNextRequest cuts the next request off: the proxy reads at most
// afterBodyBytes of its body, then closes the connection; upstream never
// sees it.
func (p *Proxy) DropNextRequest(afterBodyBytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropReq = append(p.dropReq, max(afterBodyBytes, 0))
}

// DropNextResponse lets the next request reach upstream, then sends the
// client only the first afterBytes of the response and closes the
// connection: the request was applied, but the client cannot know.
func (p *Proxy) DropNextResponse(afterBytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropResp = append(p.dropResp, max(afterBytes, 0))
}

// DuplicateNext sends the next request upstream twice; the client gets
// the second answer.
func (p *Proxy) DuplicateNext() { p.arm(&p.duplicate) }

// ReorderNext holds the next request until the one after it has been
// answered by upstream (or Options.HoldTimeout passes), then forwards it.
func (p *Proxy) ReorderNext() { p.arm(&p.reorder) }

// CorruptNextRequest flips one bit in the middle of the next request body
// that is not empty.
func (p *Proxy) CorruptNextRequest() { p.arm(&p.corruptReq) }

// CorruptNextResponse flips one bit in the middle of the next response
// body that is not empty.
func (p *Proxy) CorruptNextResponse() { p.arm(&p.corruptResp) }

func (p *Proxy) arm(n *int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*n++
}

// Reset clears every fault: heals a partition, removes latency, disarms
// what is armed. It does not bring a proxy that is down back up.
func (p *Proxy) Reset() {
	p.Heal()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency, p.jitter = 0, 0
	p.dropReq, p.dropResp = nil, nil
	p.duplicate, p.reorder, p.corruptReq, p.corruptResp = 0, 0, 0, 0
}

// Close stops the proxy, closes every connection and waits for its
// goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return nil
	default:
	}
	close(p.closed)
	var err error
	if p.ln != nil {
		err = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.client.CloseIdleConnections()
	return err
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by Down or Close
		}
		p.mu.Lock()
		if p.ln != ln { // went down between Accept and here
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		p.stats.accepted.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// partitioned returns the channel a partition's heal closes, or nil.
func (p *Proxy) partitioned() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.healed
}

// blackhole swallows a connection until the partition heals or the proxy
// closes.
func (p *Proxy) blackhole(healed <-chan struct{}) {
	p.stats.blackholed.Add(1)
	select {
	case <-healed:
	case <-p.closed:
	}
}

// plan is the faults one request draws, once its body is read.
type plan struct {
	delay       time.Duration
	dropResp    int64 // -1: none
	duplicate   bool
	reorder     bool
	corruptReq  bool
	corruptResp bool
	release     chan struct{} // a held request to release after this one
}

func (p *Proxy) draw(bodyLen int) plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl := plan{dropResp: -1}
	pl.delay = p.latency
	if p.jitter > 0 {
		pl.delay += time.Duration(p.rng.Int64N(int64(p.jitter)))
	}
	if len(p.dropResp) > 0 {
		pl.dropResp, p.dropResp = p.dropResp[0], p.dropResp[1:]
	}
	if p.duplicate > 0 {
		p.duplicate--
		pl.duplicate = true
	}
	if bodyLen > 0 && p.corruptReq > 0 {
		p.corruptReq--
		pl.corruptReq = true
	}
	if p.corruptResp > 0 {
		pl.corruptResp = true // disarmed once a non-empty body is flipped
	}
	switch {
	case p.held != nil:
		// Another request is held: this one overtakes it.
		pl.release, p.held = p.held, nil
	case p.reorder > 0:
		p.reorder--
		pl.reorder = true
	}
	return pl
}

func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	defer p.forget(c)
	br := bufio.NewReader(c)
	for {
		if healed := p.partitioned(); healed != nil {
			p.blackhole(healed)
			return
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if !p.handle(c, req) {
			return
		}
	}
}

// handle serves one request; it reports whether the connection may carry
// another.
func (p *Proxy) handle(c net.Conn, req *http.Request) bool {
	// Whether to cut the request off must be known before its body is read.
	p.mu.Lock()
	var cut int64 = -1
	if len(p.dropReq) > 0 {
		cut, p.dropReq = p.dropReq[0], p.dropReq[1:]
	}
	p.mu.Unlock()
	if cut >= 0 {
		io.CopyN(io.Discard, req.Body, cut)
		p.stats.droppedReq.Add(1)
		return false
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, p.opts.MaxBody+1))
	if err != nil {
		return false
	}
	if int64(len(body)) > p.opts.MaxBody {
		writeStatus(c, http.StatusRequestEntityTooLarge, "faultproxy: request body too large")
		return false
	}
	if healed := p.partitioned(); healed != nil {
		p.blackhole(healed)
		return false
	}
	pl := p.draw(len(body))

	if pl.reorder {
		p.hold()
	}
	if pl.delay > 0 {
		p.stats.delayed.Add(1)
		select {
		case <-time.After(pl.delay):
		case <-p.closed:
			return false
		}
	}
	if pl.corruptReq {
		flip(body)
		p.stats.corruptedReq.Add(1)
	}
	resp, respBody, err := p.forward(req, body)
	if err == nil && pl.duplicate {
		p.stats.duplicated.Add(1)
		resp, respBody, err = p.forward(req, body)
	}
	if pl.release != nil {
		p.stats.reordered.Add(1)
		close(pl.release)
	}
	if err != nil {
		p.stats.upstreamErrors.Add(1)
		writeStatus(c, http.StatusBadGateway, "faultproxy: upstream: "+err.Error())
		return false
	}
	if healed := p.partitioned(); healed != nil {
		p.blackhole(healed)
		return false
	}
	if pl.corruptResp && len(respBody) > 0 {
		p.mu.Lock()
		armed := p.corruptResp > 0
		if armed {
			p.corruptResp--
		}
		p.mu.Unlock()
		if armed {
			flip(respBody)
			p.stats.corruptedResp.Add(1)
		}
	}
	out := &http.Response{
		Status: resp.Status, StatusCode: resp.StatusCode, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: resp.Header.Clone(), Body: io.NopCloser(bytes.NewReader(respBody)),
		ContentLength: int64(len(respBody)), Close: req.Close, Request: req,
	}
	removeHopHeaders(out.Header)
	var buf bytes.Buffer
	if err := out.Write(&buf); err != nil {
		return false
	}
	if pl.dropResp >= 0 {
		n := min(pl.dropResp, int64(buf.Len()))
		c.Write(buf.Bytes()[:n])
		p.stats.droppedResp.Add(1)
		return false
	}
	if _, err := c.Write(buf.Bytes()); err != nil {
		return false
	}
	return !req.Close
}

// hold parks the calling request until the next one has been answered,
// the hold times out, or the proxy closes.
func (p *Proxy) hold() {
	release := make(chan struct{})
	p.mu.Lock()
	p.held = release
	p.mu.Unlock()
	p.stats.holding.Add(1)
	defer p.stats.holding.Add(-1)
	select {
	case <-release:
	case <-time.After(p.opts.HoldTimeout):
		p.mu.Lock()
		if p.held == release {
			p.held = nil
		}
		p.mu.Unlock()
	case <-p.closed:
	}
}

// forward sends one request upstream and reads the whole answer.
func (p *Proxy) forward(in *http.Request, body []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	out, err := http.NewRequestWithContext(ctx, in.Method, "http://"+p.target+in.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	out.Header = in.Header.Clone()
	removeHopHeaders(out.Header)
	out.Host = in.Host
	out.ContentLength = int64(len(body))
	p.stats.forwarded.Add(1)
	resp, err := p.client.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, p.opts.MaxBody+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(respBody)) > p.opts.MaxBody {
		return nil, nil, errors.New("response body too large")
	}
	return resp, respBody, nil
}

// hopHeaders belong to one connection and are not forwarded (RFC 9110,
// section 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// flip changes one bit in the middle of b.
func flip(b []byte) {
	if len(b) > 0 {
		b[len(b)/2] ^= 0x01
	}
}

func writeStatus(c net.Conn, code int, msg string) {
	resp := &http.Response{StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Close: true,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:   io.NopCloser(strings.NewReader(msg)), ContentLength: int64(len(msg))}
	resp.Write(c)
}
