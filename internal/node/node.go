// Package node assembles one country's Corridor node from its parts: the
// data folder (keys, secrets, the SQLite file), the store, the policy, the
// application, the web server and the periodic jobs. `corridor serve`,
// `corridor demo` and the end-to-end tests all start nodes through it.
package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/policies"
)

// Config is a node's configuration; every field has a flag and an
// environment variable in `corridor serve`.
type Config struct {
	Listen      string // address to listen on, e.g. 127.0.0.1:8080
	DataDir     string // keys, secrets and the SQLite database
	DatabaseURL string // postgres://...; empty means SQLite in DataDir
	Country     string // ISO 3166-1 alpha-2; names the country when the keys are first made (default KR), must match them after
	PolicyFile  string // empty means the shipped China–Korea policy
	Authority   string // the approving authority's name, printed on approvals
	PublicURL   string // how users reach the node (links in invitations); derived from Listen when empty
	Logger      *slog.Logger
	Now         func() time.Time
	// TLS, when set, serves HTTPS with mutual TLS between nodes (see
	// TLSConfig); plain HTTP otherwise, as on loopback for the demo.
	TLS *TLSConfig
	// Peering tunes how the node talks to its peers.
	Peering PeeringConfig
	// JobsEvery is how often Serve runs the periodic jobs: a minute when
	// zero; never when negative, for a caller that moves the clock itself
	// and runs them (RunJobsOnce) at the times it chooses.
	JobsEvery time.Duration
}

// Defaults fill what the user left empty.
const (
	DefaultListen  = "127.0.0.1:8080"
	DefaultDataDir = "corridor-data"
	DefaultCountry = "KR"
)

// Node is an assembled node.
type Node struct {
	Config Config
	Keys   *keys.Set
	Store  *sqlstore.DB
	App    *app.App
	Policy *policy.Policy
	// Federation carries messages to and from the peer nodes.
	Federation *federation.Service

	// FirstStart is true when this start created the node's keys.
	FirstStart bool

	keysMu        sync.Mutex // AddSigner writes files; one lab signer at a time
	verifierCache atomic.Pointer[cachedVerifier]
	log           *slog.Logger
}

func (c *Config) fill() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Open prepares the data folder (making keys and secrets on first start),
// opens and migrates the store, loads the policy and builds the
// application. Close releases the store.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	cfg.fill()
	n := &Node{Config: cfg, log: cfg.Logger}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data folder %s: %w", cfg.DataDir, err)
	}
	if err := n.openKeys(); err != nil {
		return nil, err
	}
	secret, err := n.secret("rate-limit.key")
	if err != nil {
		return nil, err
	}
	if n.Policy, err = loadPolicy(cfg.PolicyFile); err != nil {
		return nil, err
	}
	if cfg.Authority == "" {
		cfg.Authority = "Corridor authority of " + n.Keys.Country
		n.Config.Authority = cfg.Authority
	}
	url := cfg.DatabaseURL
	if url == "" {
		url = "sqlite:" + filepath.Join(cfg.DataDir, "corridor.db")
	}
	if n.Store, err = sqlstore.Open(ctx, url); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	authKey, _, authKid, err := n.Keys.Signer(keys.AuthorityName)
	if err != nil {
		n.Store.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	n.App, err = app.New(app.Config{
		Store:         n.Store,
		Policy:        n.Policy,
		Country:       n.Keys.Country,
		AuthorityName: cfg.Authority,
		Issuer: &app.SigningIssuer{
			Country:   n.Keys.Country,
			Authority: app.Signer{Kid: authKid, Key: authKey},
			Lab:       n.labSigner,
		},
		RateLimitKey: secret,
		Now:          cfg.Now,
		Logger:       cfg.Logger,
	})
	if err != nil {
		n.Store.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := n.openFederation(ctx); err != nil {
		n.Store.Close()
		return nil, err
	}
	return n, nil
}

// Close releases the store.
func (n *Node) Close() error { return n.Store.Close() }

func (n *Node) keysDir() string { return filepath.Join(n.Config.DataDir, "keys") }

func (n *Node) openKeys() error {
	dir := n.keysDir()
	set, err := keys.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		country := n.Config.Country
		if country == "" {
			country = DefaultCountry
		}
		if set, err = keys.Init(dir, country, keys.Options{}); err != nil {
			return fmt.Errorf("node: creating keys: %w", err)
		}
		n.FirstStart = true
		n.log.Info("created the node's country signing CA and authority signer", "country", set.Country, "dir", dir)
	} else if err != nil {
		return fmt.Errorf("node: keys in %s: %w", dir, err)
	}
	if n.Config.Country != "" && set.Country != n.Config.Country {
		return fmt.Errorf("node: the keys in %s are %s's, not %s's", dir, set.Country, n.Config.Country)
	}
	n.Keys = set
	return nil
}

// secret returns 32 random bytes kept in the data folder, made on first
// use.
func (n *Node) secret(name string) ([]byte, error) {
	path := filepath.Join(n.Config.DataDir, name)
	b, err := os.ReadFile(path)
	if err == nil && len(b) == 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	if err == nil {
		return nil, fmt.Errorf("node: %s holds %d bytes, want 32", path, len(b))
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	return b, nil
}

func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		p, err := policy.Parse(policies.ChinaKorea)
		if err != nil {
			return nil, fmt.Errorf("node: the shipped policy: %w", err)
		}
		return p, nil
	}
	p, err := policy.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return p, nil
}

// labSignerName maps a lab organisation to the name of its document
// signer: each lab signs with a DSC of its own, made on its first test.
func labSignerName(labOrgID string) string {
	sum := sha256.Sum256([]byte(labOrgID))
	return "lab-" + hex.EncodeToString(sum[:6])
}

func (n *Node) labSigner(labOrgID string) (app.Signer, error) {
	name := labSignerName(labOrgID)
	n.keysMu.Lock()
	defer n.keysMu.Unlock()
	key, _, kid, err := n.Keys.Signer(name)
	if err == nil {
		return app.Signer{Kid: kid, Key: key}, nil
	}
	if !errors.Is(err, keys.ErrNoSigner) {
		return app.Signer{}, err
	}
	if _, err := keys.AddSigner(n.keysDir(), name, keys.Lab, keys.Options{}); err != nil {
		return app.Signer{}, fmt.Errorf("node: a signer for lab %s: %w", labOrgID, err)
	}
	set, err := keys.Load(n.keysDir())
	if err != nil {
		return app.Signer{}, err
	}
	n.Keys = set
	n.InvalidateVerifier()
	n.log.Info("created a document signer for a lab", "signer", name)
	n.publishLists() // the peers learn the new signer
	key, _, kid, err = set.Signer(name)
	if err != nil {
		return app.Signer{}, err
	}
	return app.Signer{Kid: kid, Key: key}, nil
}

// KeySet returns the node's current key set (lab signers are added while
// the node runs).
func (n *Node) KeySet() *keys.Set {
	n.keysMu.Lock()
	defer n.keysMu.Unlock()
	return n.Keys
}

// TrustList signs the node's current trust list.
func (n *Node) TrustList(now time.Time) ([]byte, error) {
	set := n.KeySet()
	return trust.SignList(set.TrustList(uint64(now.UnixNano()), now.UTC(), now.UTC().AddDate(0, 0, 7)), set.CSCAKey())
}

// BootstrapAdmin creates the first node administrator with a random
// password, which is returned to be shown once.
func (n *Node) BootstrapAdmin(ctx context.Context, email string) (string, error) {
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return "", err
	}
	password := strings.TrimRight(hex.EncodeToString(pw), "=")
	if _, err := n.App.CreateNodeAdmin(ctx, email, "Node administrator", password); err != nil {
		return "", err
	}
	return password, nil
}
