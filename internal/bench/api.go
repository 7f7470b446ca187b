// Package bench measures a running node the way its users load it: real
// HTTP over loopback sockets into `corridor serve`'s handler, with many
// clients at once, on SQLite or PostgreSQL. `corridor bench api` prints
// what it finds.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/node"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/web"
	"github.com/corridorlane/corridor/policies"
)

// Options of an API benchmark.
type Options struct {
	DatabaseURL string        // empty: SQLite in a temporary folder
	Clients     int           // concurrent clients; 32 by default
	Duration    time.Duration // per phase; 10 s by default
	Dir         string        // data folder; a temporary one when empty
}

// Phase is the outcome of one kind of work.
type Phase struct {
	Name string `json:"name"`
	// Operations, PerSecond, P50 and P99 count whole operations (a trip
	// filed and approved is three requests); Requests, RequestP50 and
	// RequestP99 count single HTTP requests.
	Operations int           `json:"operations"`
	Errors     int           `json:"errors"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerSecond  float64       `json:"per_second"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	FirstError string        `json:"first_error,omitempty"`
	Requests   int           `json:"requests"`
	RequestP50 time.Duration `json:"request_p50_ns"`
	RequestP99 time.Duration `json:"request_p99_ns"`
}

func (p *Phase) addRequests(lat []time.Duration) {
	slices.Sort(lat)
	p.Requests = len(lat)
	if len(lat) > 0 {
		p.RequestP50 = lat[len(lat)/2]
		p.RequestP99 = lat[(len(lat)*99)/100]
	}
}

// Report is the whole run.
type Report struct {
	Database string  `json:"database"`
	Clients  int     `json:"clients"`
	Phases   []Phase `json:"phases"`
}

// API starts a node, files and approves trips through the JSON API (one
// operation = create, submit and approve: three requests, two of them
// transitions with an audit entry, the approval signing an entry approval
// and taking quota), then verifies credentials through the verifier API.
func API(ctx context.Context, opt Options) (*Report, error) {
	if opt.Clients <= 0 {
		opt.Clients = 32
	}
	if opt.Duration <= 0 {
		opt.Duration = 10 * time.Second
	}
	dir := opt.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "corridor-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	policyFile, err := RoomyPolicy(dir)
	if err != nil {
		return nil, err
	}
	n, err := node.Open(ctx, node.Config{DataDir: filepath.Join(dir, "node"), DatabaseURL: opt.DatabaseURL,
		Country: "KR", PolicyFile: policyFile, Listen: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	defer n.Close()
	tokens, err := Seed(ctx, n.App)
	if err != nil {
		return nil, fmt.Errorf("bench: setting up organisations: %w", err)
	}
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- n.Serve(srvCtx, func(a string) { addrc <- a }) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-errc:
		return nil, err
	}
	c := NewClient(base, opt.Clients)

	rep := &Report{Database: n.Store.Dialect(), Clients: opt.Clients}
	var hc1s []string
	var mu sync.Mutex
	fileAndApprove := func(ctx context.Context, i int) error {
		id, err := c.FileAndApprove(ctx, tokens, i)
		if err != nil || i > 200 {
			return err
		}
		// Keep a few entry approvals for the verification phase; the
		// read is outside the timed operation's purpose but inside its
		// latency for these few, so only the first 200 do it.
		var full web.TripJSON
		if err := c.do(ctx, tokens.Reviewer, http.MethodGet, "/api/v1/trips/"+id, nil, &full); err != nil {
			return err
		}
		if full.Approval != nil {
			mu.Lock()
			hc1s = append(hc1s, full.Approval.HC1)
			mu.Unlock()
		}
		return nil
	}
	c.takeRequests()
	filed := run(ctx, "trips filed and approved", opt.Clients, opt.Duration, fileAndApprove)
	filed.addRequests(c.takeRequests())
	rep.Phases = append(rep.Phases, filed)
	if len(hc1s) == 0 {
		return rep, errors.New("bench: no trip was approved; nothing to verify")
	}
	verifyOne := func(ctx context.Context, i int) error {
		return c.verify(ctx, tokens.Border, hc1s[i%len(hc1s)])
	}
	verified := run(ctx, "verifications", opt.Clients, opt.Duration, verifyOne)
	verified.addRequests(c.takeRequests())
	rep.Phases = append(rep.Phases, verified)
	stop()
	if err := <-errc; err != nil {
		return rep, err
	}
	return rep, nil
}

// RoomyPolicy writes into dir the shipped policy with quotas no benchmark reaches, so
// every approval is real work, not a quota refusal.
func RoomyPolicy(dir string) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal(policies.ChinaKorea, &doc); err != nil {
		return "", err
	}
	for _, l := range doc["lanes"].([]any) {
		q := l.(map[string]any)["quota"].(map[string]any)
		for r := range q["weekly_per_region"].(map[string]any) {
			q["weekly_per_region"].(map[string]any)[r] = 100000
		}
		q["weekly_per_sponsor"] = 0
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "policy.json")
	return path, os.WriteFile(path, b, 0o600)
}

// Tokens are API token secrets for one organisation of each kind the
// benchmark and the crash test drive.
type Tokens struct{ Sponsor, Reviewer, Border string }

// Seed creates a node administrator, a sponsor, the authority and a border
// agency, and an API token for each.
func Seed(ctx context.Context, a *app.App) (Tokens, error) {
	const email, pw = "bench-admin@kr.corridor.invalid", "bench-admin-password-1"
	if _, err := a.CreateNodeAdmin(ctx, email, "Bench administrator", pw); err != nil {
		return Tokens{}, err
	}
	s, err := a.Login(ctx, app.LoginInput{Email: email, Password: pw, ClientIP: "127.0.0.1"})
	if err != nil {
		return Tokens{}, err
	}
	admin, err := a.Authenticate(ctx, s.Secret)
	if err != nil {
		return Tokens{}, err
	}
	token := func(kind auth.OrgKind, name string, role trip.Role) (string, error) {
		org, err := a.CreateOrganisation(ctx, admin, app.OrgInput{Kind: kind, Name: name, Country: "KR"})
		if err != nil {
			return "", err
		}
		t, err := a.CreateAPIToken(ctx, admin, app.TokenInput{OrgID: org.ID, Name: "bench", Roles: auth.NewRoles(role)})
		if err != nil {
			return "", err
		}
		return t.Secret, nil
	}
	var t Tokens
	if t.Sponsor, err = token(auth.KindSponsor, "Bench Display Co.", trip.RoleSponsor); err != nil {
		return t, err
	}
	if t.Reviewer, err = token(auth.KindAuthority, "Bench Authority", trip.RoleReviewer); err != nil {
		return t, err
	}
	if t.Border, err = token(auth.KindBorderAgency, "Bench Border Agency", trip.RoleBorder); err != nil {
		return t, err
	}
	return t, nil
}

// Client drives a node's JSON API over HTTP with API tokens.
type Client struct {
	base string
	http *http.Client

	mu       sync.Mutex
	requests []time.Duration // every request's latency in the current phase
}

// NewClient talks to the node at base ("http://127.0.0.1:8080") with up to
// conns connections.
func NewClient(base string, conns int) *Client {
	return &Client{base: base, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns * 2}, Timeout: 30 * time.Second}}
}

// takeRequests returns and clears the per-request latencies.
func (c *Client) takeRequests() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.requests
	c.requests = nil
	return out
}

func (c *Client) do(ctx context.Context, token, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	el := time.Since(t0)
	c.mu.Lock()
	c.requests = append(c.requests, el)
	c.mu.Unlock()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// FileAndApprove files a trip as the sponsor, submits it and approves it as
// the reviewer; it returns the trip's id.
func (c *Client) FileAndApprove(ctx context.Context, t Tokens, i int) (string, error) {
	dep := time.Now().UTC().AddDate(0, 0, 20)
	in := web.TripInputJSON{
		Lane: "CN-KR", Region: "KR", Purpose: "engineering",
		Traveller: web.TravellerJSON{GivenName: "Wei", FamilyName: "Zhang", DateOfBirth: "1985-03-14", Sex: "M",
			Nationality: "CN", PassportCountry: "CN", PassportNumber: fmt.Sprintf("E%08d", i%100000000), Email: "traveller@example.cn"},
		Host:          web.ContactJSON{Name: "Host Kim", Email: "host@example.kr", Phone: "+82 2 0000 0000"},
		DepartureDate: dep.Format(time.DateOnly), ReturnDate: dep.AddDate(0, 0, 30).Format(time.DateOnly),
		Itinerary: []web.ItineraryJSON{
			{Kind: "lodging", Site: "Hotel Asan", Address: "Asan", FromDate: dep.Format(time.DateOnly), ToDate: dep.AddDate(0, 0, 30).Format(time.DateOnly)},
			{Kind: "work_site", Site: "Display plant", Address: "Asan", FromDate: dep.AddDate(0, 0, 2).Format(time.DateOnly), ToDate: dep.AddDate(0, 0, 30).Format(time.DateOnly)},
		},
	}
	var st web.TripStateJSON
	if err := c.do(ctx, t.Sponsor, http.MethodPost, "/api/v1/trips", in, &st); err != nil {
		return "", err
	}
	if err := c.do(ctx, t.Sponsor, http.MethodPost, "/api/v1/trips/"+st.ID+"/submit", nil, &st); err != nil {
		return "", err
	}
	if err := c.do(ctx, t.Reviewer, http.MethodPost, "/api/v1/trips/"+st.ID+"/approve", web.ReasonJSON{Reason: "bench"}, &st); err != nil {
		return "", err
	}
	if st.State != string(trip.Approved) {
		return "", fmt.Errorf("trip %s is %s after approval", st.ID, st.State)
	}
	return st.ID, nil
}

func (c *Client) verify(ctx context.Context, token, hc1 string) error {
	var v web.VerdictJSON
	if err := c.do(ctx, token, http.MethodPost, "/api/v1/verify", web.VerifyInputJSON{Credentials: []string{hc1}}, &v); err != nil {
		return err
	}
	if len(v.Results) != 1 || !v.Results[0].Valid {
		return fmt.Errorf("the entry approval did not verify: %v", v.Reasons)
	}
	return nil
}

// run keeps clients busy with op for d and collects latencies.
func run(ctx context.Context, name string, clients int, d time.Duration, op func(context.Context, int) error) Phase {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var first string
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				i := int(next.Add(1))
				t0 := time.Now()
				err := op(ctx, i)
				el := time.Since(t0)
				if ctx.Err() != nil {
					break // cut off by the end of the phase, not a failure
				}
				mu.Lock()
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
				}
				mu.Unlock()
				if err == nil {
					mine = append(mine, el)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	p := Phase{Name: name, Operations: len(lat), Errors: errs, Elapsed: elapsed, FirstError: first}
	if len(lat) > 0 {
		p.PerSecond = float64(len(lat)) / elapsed.Seconds()
		p.P50 = lat[len(lat)/2]
		p.P99 = lat[(len(lat)*99)/100]
	}
	return p
}

// WriteText prints the report as a table.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "database %s, %d concurrent clients over loopback HTTP\n", r.Database, r.Clients)
	for _, p := range r.Phases {
		fmt.Fprintf(w, "%-26s %8.0f/s  p50 %7.2f ms  p99 %7.2f ms  (%d in %.1f s, %d errors)\n", p.Name, p.PerSecond,
			float64(p.P50.Microseconds())/1000, float64(p.P99.Microseconds())/1000, p.Operations, p.Elapsed.Seconds(), p.Errors)
		fmt.Fprintf(w, "%-26s %8.0f/s  p50 %7.2f ms  p99 %7.2f ms  (single HTTP requests)\n", "",
			float64(p.Requests)/p.Elapsed.Seconds(), float64(p.RequestP50.Microseconds())/1000, float64(p.RequestP99.Microseconds())/1000)
		if p.FirstError != "" {
			fmt.Fprintf(w, "  first error: %s\n", p.FirstError)
		}
	}
}
