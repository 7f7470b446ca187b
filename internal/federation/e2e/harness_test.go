// Package e2e runs the federation between two real `corridor serve`
// processes, each with its own data folder and database, talking over
// loopback sockets through fault-injecting proxies. The tests build the
// binary once, start the nodes, peer them with the command line, drive
// trips through the JSON API with API tokens, and read both nodes'
// records with `corridor peer list --json` and their stores.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/faultproxy"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// corridorBinary builds cmd/corridor once per test run.
func corridorBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "corridor-e2e-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(binDir, "corridor")
		cmd := exec.Command("go", "build", "-o", binary, "github.com/corridorlane/corridor/cmd/corridor")
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("building corridor: %v", buildErr)
	}
	return binary
}

// fastPolicy is the sample policy with no pre-departure monitoring days
// and no arrival hold, so that a whole trip passes in seconds of real
// time, and quotas no test exhausts.
func fastPolicy(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile("../../../policies/cn-kr.json")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range [][2]string{
		{`"pre_departure_monitoring_days": 14`, `"pre_departure_monitoring_days": 0`},
		{`"arrival_hold_hours": 48`, `"arrival_hold_hours": 0`},
		{`"weekly_per_sponsor": 20`, `"weekly_per_sponsor": 100000`},
		{`"KR": 500`, `"KR": 100000`},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("policy edit %q does not apply", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	path := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// proc is one `corridor serve` process.
type proc struct {
	t       testing.TB
	country string
	data    string
	dbURL   string
	policy  string
	addr    string // host:port it listens on; kept across restarts

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer // stderr

	adminEmail, adminPassword string
}

var (
	reServing = regexp.MustCompile(`serving on https?://(\S+)`)
	reAdmin   = regexp.MustCompile(`node administrator (\S+) / (\S+)`)
)

func newProc(t testing.TB, dir, country, dbURL, policy string) *proc {
	return &proc{t: t, country: country, data: filepath.Join(dir, strings.ToLower(country)), dbURL: dbURL, policy: policy, addr: "127.0.0.1:0"}
}

// start runs the node and waits until it listens.
func (p *proc) start() {
	p.t.Helper()
	args := []string{"serve", "--listen", p.addr, "--data", p.data, "--country", p.country, "--policy", p.policy,
		"--peer-timeout", "3s", "--peer-pull-every", "1h", "--peer-max-backoff", "300ms"}
	if p.dbURL != "" {
		args = append(args, "--database-url", p.dbURL)
	}
	cmd := exec.Command(corridorBinary(p.t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.log.Reset()
	p.mu.Unlock()
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { p.mu.Lock(); defer p.mu.Unlock(); return p.log.Write(b) })
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := reAdmin.FindStringSubmatch(line); m != nil {
				p.mu.Lock()
				p.adminEmail, p.adminPassword = m[1], m[2]
				p.mu.Unlock()
			}
			if m := reServing.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(exited) }()
	select {
	case addr := <-ready:
		p.mu.Lock()
		p.cmd, p.exited, p.addr = cmd, exited, addr
		p.mu.Unlock()
	case <-exited:
		p.t.Fatalf("node %s exited on start:\n%s", p.country, p.stderr())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		p.t.Fatalf("node %s did not start:\n%s", p.country, p.stderr())
	}
	p.t.Cleanup(func() { p.stop() })
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill ends the process with SIGKILL: no chance to finish anything.
func (p *proc) kill() {
	p.t.Helper()
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop ends the process as an operator would.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

func (p *proc) url() string { return "http://" + p.addr }

// cli runs a corridor command on this node's data folder.
func (p *proc) cli(args ...string) string {
	p.t.Helper()
	args = append(args, "--data", p.data)
	if p.dbURL != "" {
		args = append(args, "--database-url", p.dbURL)
	}
	cmd := exec.Command(corridorBinary(p.t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("corridor %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// status reads the node's federation status through the command line.
func (p *proc) status(peer string) federation.PeerStatus {
	p.t.Helper()
	var st struct {
		Peers        []federation.PeerStatus `json:"peers"`
		Unattributed map[string]int64        `json:"unattributed"`
	}
	if err := json.Unmarshal([]byte(p.cli("peer", "list", "--json")), &st); err != nil {
		p.t.Fatal(err)
	}
	for _, s := range st.Peers {
		if s.Country == peer {
			if s.Counts == nil {
				s.Counts = map[string]int64{}
			}
			return s
		}
	}
	p.t.Fatalf("%s has no peer %s", p.country, peer)
	return federation.PeerStatus{}
}

// sent is how many messages this node wrote for peer.
func (p *proc) sent(peer string) int64 {
	var n int64
	for _, s := range p.status(peer).Outbox.LastSeq {
		n += int64(s)
	}
	return n
}

// client is an API client: a session with its CSRF token, or a bearer
// token.
type client struct {
	t     testing.TB
	base  string
	http  *http.Client
	csrf  string
	token string
}

// do sends a JSON request and decodes a JSON answer into out; it returns
// the status.
func (c *client) do(method, path string, in, out any) int {
	st, _ := c.send(method, path, in, out)
	return st
}

// send is do returning the answer's body too.
func (c *client) send(method, path string, in, out any) (int, []byte) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode, data
}

// must is do with a status that must be 2xx.
func (c *client) must(method, path string, in, out any) {
	c.t.Helper()
	if st, body := c.send(method, path, in, out); st >= 300 {
		c.t.Fatalf("%s %s answered %d: %s", method, path, st, body)
	}
}

// admin signs the node administrator in.
func (p *proc) admin() *client {
	p.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: p.t, base: p.url(), http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	p.mu.Lock()
	email, pw := p.adminEmail, p.adminPassword
	p.mu.Unlock()
	c.must(http.MethodPost, "/api/v1/session", map[string]string{"email": email, "password": pw}, &s)
	c.csrf = s.CSRF
	return c
}

// tokens creates an organisation per role and an API token for each, and
// returns a client per role.
func (p *proc) tokens(roles map[string]string) map[string]*client {
	p.t.Helper()
	adm := p.admin()
	out := map[string]*client{}
	for role, kind := range roles {
		var org struct {
			ID string `json:"id"`
		}
		adm.must(http.MethodPost, "/api/v1/orgs", map[string]string{"kind": kind, "name": p.country + " " + role + " org", "country": p.country}, &org)
		var tok struct {
			Secret string `json:"secret"`
		}
		adm.must(http.MethodPost, "/api/v1/orgs/"+org.ID+"/tokens", map[string]any{"name": role + " client", "roles": []string{role}}, &tok)
		out[role] = &client{t: p.t, base: p.url(), http: &http.Client{Timeout: 30 * time.Second}, token: tok.Secret}
	}
	return out
}

// roleKinds: every role a test uses, with the kind of organisation that
// holds it.
var roleKinds = map[string]string{
	"sponsor": "sponsor", "reviewer": "authority", "lab": "lab", "border_officer": "border_agency",
	"arrival_officer": "quarantine_site", "health_monitor": "quarantine_site", "health_authority": "health_authority",
	"joint_officer": "joint_mechanism",
}

// pair is China's and Korea's processes, each reaching the other through
// a proxy (proxy[c] leads to country c).
type pair struct {
	t     *testing.T
	n     map[string]*proc
	proxy map[string]*faultproxy.Proxy
	as    map[string]map[string]*client // country -> role -> client
}

// startPair starts both nodes, peers them through proxies with the
// command line, and makes an API client per role on each.
func startPair(t *testing.T, postgres bool) *pair {
	t.Helper()
	dir := t.TempDir()
	policy := fastPolicy(t, dir)
	p := &pair{t: t, n: map[string]*proc{}, proxy: map[string]*faultproxy.Proxy{}, as: map[string]map[string]*client{}}
	for _, c := range []string{"CN", "KR"} {
		url := ""
		if postgres {
			url = sqltest.PostgresURL(t)
		}
		p.n[c] = newProc(t, dir, c, url, policy)
		p.n[c].start()
		px, err := faultproxy.Start(p.n[c].addr, faultproxy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		p.proxy[c] = px
	}
	for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
		pemFile := filepath.Join(dir, other+"-csca.pem")
		p.n[other].cli("peer", "export-csca", "--out", pemFile)
		out := p.n[c].cli("peer", "add", "--country", other, "--url", p.proxy[other].URL(), "--csca", pemFile)
		if !strings.Contains(out, "pinned") {
			t.Fatalf("peer add said: %s", out)
		}
	}
	for _, c := range []string{"CN", "KR"} {
		p.as[c] = p.n[c].tokens(roleKinds)
	}
	return p
}

// converged waits until each node has applied every message the other
// wrote for it, nothing is unacknowledged, and no stream waits.
func (p *pair) converged(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := ""
		for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
			st := p.n[c].status(other)
			sent := p.n[other].sent(c)
			switch {
			case st.Counts[federation.CountApplied] != sent:
				why = fmt.Sprintf("%s applied %d of %d from %s", c, st.Counts[federation.CountApplied], sent, other)
			case st.Outbox.Unacked > 0:
				why = fmt.Sprintf("%s has %d messages for %s unacknowledged", c, st.Outbox.Unacked, other)
			case len(st.Gaps) > 0:
				why = fmt.Sprintf("%s waits for a message from %s", c, other)
			}
			if why != "" {
				break
			}
		}
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no convergence after %s: %s\nCN log tail:\n%s\nKR log tail:\n%s", timeout, why,
				tail(p.n["CN"].stderr()), tail(p.n["KR"].stderr()))
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

var ctx = context.Background()
