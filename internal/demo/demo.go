// Package demo runs the corridor as it is meant to be seen: two nodes,
// China's and Korea's, on loopback ports in one process, each with its
// own data folder and database, peered with each other's pinned CSCA, and
// an organisation and a login for every role on both sides. `corridor
// demo` starts it for people to click through; `corridor demo --script`
// and the tests run scripted trips through both nodes (script.go).
//
// The nodes share one clock, which a script moves forward by days so that
// fourteen days of monitoring pass in seconds. It starts at the real time
// (the nodes' keys are made then and are valid from then) and keeps
// ticking with it.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/node"
	"github.com/corridorlane/corridor/internal/trip"
)

// Clock is the real time moved forward by a script.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the real time plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Options set up a demo.
type Options struct {
	// Dir holds the nodes' data folders (cn/ and kr/).
	Dir string
	// DatabaseURLs, per country, puts a node on PostgreSQL; SQLite in its
	// data folder otherwise.
	DatabaseURLs map[string]string
	// PolicyFile is the corridor policy both nodes run; the shipped
	// China–Korea policy when empty.
	PolicyFile string
	Logger     *slog.Logger
	// Driven: the caller moves the demo clock and runs the jobs
	// (RunScript, tests). The nodes then run no jobs of their own, pull
	// from each other only when a stream waits for a message (and
	// hourly), and take a delivery signed before the clock jumped days
	// ahead as fresh: the freshness window is there against replays in
	// real time, which a simulated clock does not have, and a seen id is
	// still refused.
	Driven bool
}

// Countries are the demo's two sides: lane CN-KR goes from China (the
// origin) to Korea (the destination).
var Countries = []string{"CN", "KR"}

// Demo is two running, peered nodes.
type Demo struct {
	Clock *Clock
	Sides map[string]*Side

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// Side is one country's node and the people on it.
type Side struct {
	Country string
	Node    *node.Node
	URL     string // http://127.0.0.1:PORT
	// Admin is the node administrator's login.
	Admin Person
	// People are the logins of every role, in the order of People's
	// roles.
	People []Person
	// As holds a signed-in principal per role, for scripts.
	As map[trip.Role]app.Principal
	// Orgs holds the organisation of each role.
	Orgs map[trip.Role]*app.Org
}

// Person is one login.
type Person struct {
	Role     string
	Org      string
	Email    string
	Password string
}

// roleOrgs names, per role, the kind and name of the organisation its
// person belongs to on each side.
var roleOrgs = []struct {
	role  trip.Role
	kind  auth.OrgKind
	names map[string]string
}{
	{trip.RoleSponsor, auth.KindSponsor, map[string]string{"CN": "Sinopec Engineering", "KR": "Samsung Display"}},
	{trip.RoleReviewer, auth.KindAuthority, map[string]string{"CN": "Ministry of Foreign Affairs of the PRC", "KR": "Ministry of Foreign Affairs, Republic of Korea"}},
	{trip.RoleHealthAuthority, auth.KindHealthAuthority, map[string]string{"CN": "Shanghai Municipal Health Commission", "KR": "Korea Disease Control and Prevention Agency"}},
	{trip.RoleLab, auth.KindLab, map[string]string{"CN": "Shanghai Clinical Laboratory", "KR": "Seoul Clinical Laboratory"}},
	{trip.RoleBorder, auth.KindBorderAgency, map[string]string{"CN": "Shanghai Pudong Border Control", "KR": "Incheon Border Control"}},
	{trip.RoleArrival, auth.KindQuarantineSite, map[string]string{"CN": "Shanghai Quarantine Hotel", "KR": "Incheon Quarantine Hotel"}},
	{trip.RoleHealthMonitor, auth.KindQuarantineSite, map[string]string{"CN": "Shanghai Quarantine Hotel", "KR": "Incheon Quarantine Hotel"}},
	{trip.RoleJoint, auth.KindJointMechanism, map[string]string{"CN": "China–Korea Joint Mechanism (CN)", "KR": "China–Korea Joint Mechanism (KR)"}},
}

// Start opens both nodes, serves them on loopback, peers them and sets up
// their people. Close stops them.
func Start(ctx context.Context, opts Options) (*Demo, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	d := &Demo{Clock: &Clock{}, Sides: map[string]*Side{}, cancel: cancel, errs: make(chan error, len(Countries))}
	for _, c := range Countries {
		s, err := d.open(ctx, runCtx, c, opts)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.Sides[c] = s
	}
	for _, c := range Countries {
		for _, other := range Countries {
			if other == c {
				continue
			}
			o := d.Sides[other]
			if err := d.Sides[c].Node.Federation.AddPeer(ctx, other, o.URL, string(o.Node.FederationCSCA())); err != nil {
				d.Close()
				return nil, fmt.Errorf("demo: peering %s with %s: %w", c, other, err)
			}
		}
	}
	for _, c := range Countries {
		if err := d.Sides[c].setupPeople(ctx); err != nil {
			d.Close()
			return nil, fmt.Errorf("demo: people of %s: %w", c, err)
		}
	}
	return d, nil
}

func (d *Demo) open(ctx, runCtx context.Context, country string, opts Options) (*Side, error) {
	n, err := node.Open(ctx, node.Config{
		Listen: "127.0.0.1:0", DataDir: filepath.Join(opts.Dir, strings.ToLower(country)), DatabaseURL: opts.DatabaseURLs[country],
		Country: country, PolicyFile: opts.PolicyFile, Logger: opts.Logger.With("node", country), Now: d.Clock.Now,
		JobsEvery: driven(opts.Driven, -1),
		Peering:   node.PeeringConfig{PullEvery: driven(opts.Driven, time.Hour), MaxSkew: driven(opts.Driven, 400*24*time.Hour)},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: node %s: %w", country, err)
	}
	s := &Side{Country: country, Node: n, As: map[trip.Role]app.Principal{}, Orgs: map[trip.Role]*app.Org{}}
	ready := make(chan string, 1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := n.Serve(runCtx, func(addr string) { ready <- addr }); err != nil {
			d.errs <- fmt.Errorf("node %s: %w", country, err)
			close(ready)
		}
	}()
	select {
	case addr, ok := <-ready:
		if !ok {
			n.Close()
			return nil, <-d.errs
		}
		s.URL = "http://" + addr
	case <-ctx.Done():
		n.Close()
		return nil, ctx.Err()
	}
	return s, nil
}

// driven returns d when the demo is driven by its caller, else zero (the
// node's default).
func driven(on bool, d time.Duration) time.Duration {
	if on {
		return d
	}
	return 0
}

// Close stops both nodes and closes their stores.
func (d *Demo) Close() error {
	d.cancel()
	d.wg.Wait()
	var errs []error
	for _, s := range d.Sides {
		errs = append(errs, s.Node.Close())
	}
	return errors.Join(errs...)
}

func randomPassword() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}

// setupPeople creates the node administrator, an organisation per role
// and a person in it, through the use cases (invitation and acceptance),
// and signs each in.
func (s *Side) setupPeople(ctx context.Context) error {
	a := s.Node.App
	email := "admin@" + strings.ToLower(s.Country) + ".corridor.invalid"
	if !s.Node.FirstStart {
		return errors.New("the demo needs fresh data folders")
	}
	pw, err := s.Node.BootstrapAdmin(ctx, email)
	if err != nil {
		return err
	}
	s.Admin = Person{Role: "node_admin", Email: email, Password: pw}
	root, err := s.login(ctx, email, pw)
	if err != nil {
		return err
	}
	orgs := map[string]*app.Org{}
	for _, r := range roleOrgs {
		name := r.names[s.Country]
		org := orgs[name]
		if org == nil {
			if org, err = a.CreateOrganisation(ctx, root, app.OrgInput{Kind: r.kind, Name: name, Country: s.Country}); err != nil {
				return err
			}
			orgs[name] = org
		}
		s.Orgs[r.role] = org
		p := Person{Role: string(r.role), Org: name, Email: strings.ReplaceAll(string(r.role), "_", "-") + "@" + strings.ToLower(s.Country) + ".corridor.invalid",
			Password: randomPassword()}
		inv, err := a.Invite(ctx, root, app.InviteInput{OrgID: org.ID, Email: p.Email, Roles: auth.NewRoles(r.role)})
		if err != nil {
			return err
		}
		sess, err := a.AcceptInvitation(ctx, app.AcceptInput{Token: inv.Token, Name: "Demo " + strings.ReplaceAll(string(r.role), "_", " "),
			Password: p.Password, ClientIP: "127.0.0.1"})
		if err != nil {
			return err
		}
		if s.As[r.role], err = a.Authenticate(ctx, sess.Secret); err != nil {
			return err
		}
		s.People = append(s.People, p)
	}
	return nil
}

func (s *Side) login(ctx context.Context, email, password string) (app.Principal, error) {
	sess, err := s.Node.App.Login(ctx, app.LoginInput{Email: email, Password: password, ClientIP: "127.0.0.1"})
	if err != nil {
		return app.Principal{}, err
	}
	return s.Node.App.Authenticate(ctx, sess.Secret)
}

// Settle waits until everything each node wrote for the other has been
// acknowledged and no stream waits for a message: the nodes have
// converged. It gives up after timeout.
func (d *Demo) Settle(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	calm := 0
	for {
		busy, err := d.busy(ctx)
		if err != nil {
			return err
		}
		if busy == "" {
			calm++
			if calm == 3 { // quiet three looks in a row: no answer is still on its way
				return nil
			}
		} else {
			calm = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the nodes did not settle: %s", busy)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// busy names what is still moving between the nodes, or "".
func (d *Demo) busy(ctx context.Context) (string, error) {
	for _, c := range Countries {
		st, err := d.Sides[c].Node.Federation.Status(ctx)
		if err != nil {
			return "", err
		}
		for _, p := range st {
			if p.Outbox.Unacked > 0 {
				return fmt.Sprintf("%s has %d messages for %s unacknowledged", c, p.Outbox.Unacked, p.Country), nil
			}
			if len(p.Gaps) > 0 {
				return fmt.Sprintf("%s waits for a message from %s", c, p.Country), nil
			}
		}
	}
	return "", nil
}

// RunJobs runs each node's periodic jobs once, at the demo clock's time.
func (d *Demo) RunJobs(ctx context.Context) {
	for _, c := range Countries {
		d.Sides[c].Node.RunJobsOnce(ctx, nil)
	}
}

// Logins lists every login of both nodes, for people to try the demo.
func (d *Demo) Logins() []string {
	var out []string
	for _, c := range Countries {
		s := d.Sides[c]
		out = append(out, fmt.Sprintf("%s  %s  (node administrator)  %s / %s", c, s.URL, s.Admin.Email, s.Admin.Password))
		people := append([]Person(nil), s.People...)
		sort.SliceStable(people, func(i, j int) bool { return people[i].Role < people[j].Role })
		for _, p := range people {
			out = append(out, fmt.Sprintf("%s  %-17s %-46s %s / %s", c, p.Role, p.Org, p.Email, p.Password))
		}
	}
	return out
}
