package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/node"
)

func init() {
	register(command{name: "peer", summary: "pin a peer node's CSCA, list the peers and the link's counters, export this node's CSCA", run: runPeer})
}

func runPeer(ctx context.Context, e *env, args []string) error {
	sub, rest, err := subcommand("peer", args, "add", "list", "export-csca")
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		return runPeerAdd(ctx, e, rest)
	case "list":
		return runPeerList(ctx, e, rest)
	}
	return runPeerExport(e, rest)
}

// nodeCountry reads the node's own country from its key folder.
func nodeCountry(dataDir string) (string, error) {
	set, err := keys.Load(filepath.Join(dataDir, "keys"))
	if err != nil {
		return "", fmt.Errorf("the node's keys in %s (start it once with `corridor serve` to make them): %w", dataDir, err)
	}
	return set.Country, nil
}

func runPeerAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "peer add", "peer add --country CC --url URL --csca FILE [--data DIR] [--database-url URL]")
	nf := addStoreFlags(fs)
	country := fs.String("country", "", "the peer's country, ISO 3166-1 alpha-2")
	url := fs.String("url", "", "the peer node's base URL, e.g. https://corridor.example.cn")
	csca := fs.String("csca", "", "the peer's CSCA certificate (PEM), as `corridor peer export-csca` prints it on the peer; it is pinned")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "country", "url", "csca"); err != nil {
		return err
	}
	self, err := nodeCountry(*nf.data)
	if err != nil {
		return err
	}
	pemText, err := readFileLimited(*csca, 64<<10)
	if err != nil {
		return usageErrorf("--csca: %v", err)
	}
	db, err := openStore(ctx, nf)
	if err != nil {
		return err
	}
	defer db.Close()
	c := strings.ToUpper(*country)
	if err := federation.AddPeer(ctx, db, self, c, *url, string(pemText), time.Now()); err != nil {
		return usageErrorf("%v", err)
	}
	cert, _ := federation.ParseCSCA(string(pemText), c)
	fmt.Fprintf(e.stdout, "peer %s at %s pinned to CSCA %q (valid until %s)\n", c, *url, cert.Subject.CommonName, cert.NotAfter.Format(time.DateOnly))
	return nil
}

func runPeerList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "peer list", "peer list [--json] [--data DIR] [--database-url URL]")
	nf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openStore(ctx, nf)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := federation.StatusOf(ctx, db)
	if err != nil {
		return err
	}
	counts, err := db.Counts(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			Peers []federation.PeerStatus `json:"peers"`
			// Unattributed counts requests refused before a peer could be
			// named (an unknown sender).
			Unattributed map[string]int64 `json:"unattributed,omitempty"`
		}{list, counts[""]}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no peers; add one with `corridor peer add`")
	}
	for _, st := range list {
		fmt.Fprintln(e.stdout, node.PeerStatusLine(st))
		var refused []string
		for k, n := range st.Counts {
			switch k {
			case federation.CountReceived, federation.CountApplied, federation.CountDuplicate, federation.CountHeld, federation.CountDead:
			default:
				refused = append(refused, fmt.Sprintf("%s %d", k, n))
			}
		}
		sort.Strings(refused)
		if len(refused) > 0 {
			fmt.Fprintf(e.stdout, "  refused: %s\n", strings.Join(refused, ", "))
		}
	}
	if u := counts[""]; len(u) > 0 {
		fmt.Fprintf(e.stdout, "requests from unknown senders refused: %v\n", u)
	}
	return nil
}

func runPeerExport(e *env, args []string) error {
	fs := newFlags(e, "peer export-csca", "peer export-csca [--data DIR] [--out FILE]")
	nf := addStoreFlags(fs) // the keys are in the data folder whatever the database
	out := fs.String("out", "", "file to write the PEM certificate to (default: standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set, err := keys.Load(filepath.Join(*nf.data, "keys"))
	if err != nil {
		return fmt.Errorf("the node's keys in %s: %w", *nf.data, err)
	}
	return writeOutput(e, *out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: set.CSCA.Raw}))
}

// addStoreFlags are the flags that find a node's data: its folder and,
// when it runs on PostgreSQL, its database. (--country here names the
// peer, not the node.)
func addStoreFlags(fs *flag.FlagSet) nodeFlags {
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	return nodeFlags{
		data: fs.String("data", env("CORRIDOR_DATA", node.DefaultDataDir), "the node's data folder (CORRIDOR_DATA)"),
		db:   fs.String("database-url", env("CORRIDOR_DATABASE_URL", ""), "the node's PostgreSQL database, when not SQLite in the data folder (CORRIDOR_DATABASE_URL)"),
	}
}

// peerFlags are serve's settings for the link with the peers.
type peerFlags struct {
	tlsCert, tlsKey, peerCA       *string
	timeout, pullEvery, maxBackof *time.Duration
}

func addPeerFlags(fs *flag.FlagSet) peerFlags {
	return peerFlags{
		tlsCert:   fs.String("tls-cert", os.Getenv("CORRIDOR_TLS_CERT"), "serve HTTPS with this certificate (PEM), also presented to peers (CORRIDOR_TLS_CERT)"),
		tlsKey:    fs.String("tls-key", os.Getenv("CORRIDOR_TLS_KEY"), "the TLS certificate's key (PEM) (CORRIDOR_TLS_KEY)"),
		peerCA:    fs.String("peer-ca", os.Getenv("CORRIDOR_PEER_CA"), "CAs (PEM) that issue the peers' TLS certificates; federation requests must present one (CORRIDOR_PEER_CA)"),
		timeout:   fs.Duration("peer-timeout", 2*time.Minute, "how long one push or pull to a peer may take"),
		pullEvery: fs.Duration("peer-pull-every", 30*time.Second, "how often to pull from each peer as a safety net"),
		maxBackof: fs.Duration("peer-max-backoff", 30*time.Second, "the longest wait between failed pushes"),
	}
}

func (f peerFlags) apply(cfg *node.Config) error {
	set := 0
	for _, s := range []string{*f.tlsCert, *f.tlsKey, *f.peerCA} {
		if s != "" {
			set++
		}
	}
	switch set {
	case 0:
	case 3:
		cfg.TLS = &node.TLSConfig{CertFile: *f.tlsCert, KeyFile: *f.tlsKey, PeerCA: *f.peerCA}
	default:
		return usageErrorf("--tls-cert, --tls-key and --peer-ca go together")
	}
	cfg.Peering = node.PeeringConfig{RequestTimeout: *f.timeout, PullEvery: *f.pullEvery, MaxBackoff: *f.maxBackof}
	return nil
}
