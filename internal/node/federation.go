package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
)

// The node's side of the federation: its federation identity (a key the
// CSCA certifies for federation messages only, kept beside the CSCA), the
// service that carries messages to and from the peers, its endpoints on
// the node's port, the trust material peers send, and TLS between nodes.

// TLSConfig sets up mutual TLS between nodes. With it, the node serves
// HTTPS and asks every client for a certificate; federation requests must
// present one issued by PeerCA, and the node presents its own to peers.
// Browsers are not asked to present one: the pages and the API work as
// before.
type TLSConfig struct {
	CertFile string // this node's server and client certificate, PEM
	KeyFile  string // its key, PEM
	PeerCA   string // the CAs that issue the peers' certificates, PEM
}

// PeeringConfig tunes the federation; zero values take the defaults.
type PeeringConfig struct {
	RequestTimeout time.Duration // one push or pull: 2 min
	PullEvery      time.Duration // the safety-net pull: 30 s
	MaxBackoff     time.Duration // longest wait between failed pushes: 30 s
	// MaxSkew widens the freshness window of deliveries (15 min) for a
	// node on a simulated clock that jumps; leave it zero otherwise.
	MaxSkew time.Duration
}

// FederationCSCA returns this node's CSCA in PEM, for a peer to pin.
func (n *Node) FederationCSCA() []byte {
	return pemCert(n.KeySet().CSCA)
}

// openFederation loads (or, on first start, makes) the federation
// identity and connects the application to the peers.
func (n *Node) openFederation(ctx context.Context) error {
	id, err := envelope.Load(n.keysDir())
	if errors.Is(err, fs.ErrNotExist) {
		id, err = envelope.Create(n.keysDir(), keys.Options{Now: n.Config.Now()})
		if err == nil {
			n.log.Info("created the node's federation signer", "country", id.Country)
		}
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	var clientTLS *tls.Config
	if n.Config.TLS != nil {
		if clientTLS, err = n.Config.TLS.client(); err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}
	pc := n.Config.Peering
	n.Federation, err = federation.New(federation.Config{
		Store: n.Store, App: n.App, Identity: id, Lists: n.signedLists, ListsChanged: n.InvalidateVerifier, TLS: clientTLS,
		Logger: n.log, Now: n.Config.Now,
		RequestTimeout: pc.RequestTimeout, PullEvery: pc.PullEvery, MaxBackoff: pc.MaxBackoff, MaxSkew: pc.MaxSkew,
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.App.SetFederation(n.Federation)
	if applied, err := n.App.ApplyStoredPolicy(ctx); err != nil {
		return fmt.Errorf("node: %w", err)
	} else if applied {
		n.log.Info("put in force the newer policy a peer sent", "policy", n.App.Policy().ID, "version", n.App.Policy().Version)
	}
	return nil
}

// withFederation mounts the federation endpoints beside the web handler.
func (n *Node) withFederation(web http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/federation/", n.Federation.Handler(n.Config.TLS != nil))
	mux.Handle("/", web)
	return mux
}

// signedLists makes this node's trust list and revocation list, signed by
// its CSCA, for the peers.
func (n *Node) signedLists(ctx context.Context, now time.Time) ([]byte, []byte, error) {
	tl, err := n.TrustList(now)
	if err != nil {
		return nil, nil, err
	}
	rl, err := n.revocationList(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	set := n.KeySet()
	data, err := revocation.Sign(rl, set.CSCA, set.CSCAKey())
	return tl, data, err
}

// revocationList is this node's own revocation list.
func (n *Node) revocationList(ctx context.Context, now time.Time) (*revocation.List, error) {
	now = now.UTC()
	l := &revocation.List{Country: n.Keys.Country, Sequence: uint64(now.UnixNano()), IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1)}
	revoked, err := n.Store.ListRevoked(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range revoked {
		e, err := revokedEntry(r)
		if err != nil {
			return nil, err
		}
		if err := l.Add(e); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func revokedEntry(r store.Revoked) (revocation.Entry, error) {
	var e revocation.Entry
	t, err := revocation.ParseHashType(r.HashType)
	if err != nil {
		return e, err
	}
	h, err := hex.DecodeString(r.Hash)
	if err != nil || len(h) != revocation.HashLen {
		return e, fmt.Errorf("revoked hash %q is not %d bytes of hex", r.Hash, revocation.HashLen)
	}
	e.Type = t
	copy(e.Hash[:], h)
	if r.Kid != "" {
		if e.Kid, err = hex.DecodeString(r.Kid); err != nil {
			return e, fmt.Errorf("revoked kid %q: %w", r.Kid, err)
		}
	}
	return e, nil
}

// Revoke revokes a credential this node issued (an entry approval or a
// lab's test result), by its UVCI and its signature, scoped to its
// signer, and sends the new revocation list to the peers. by names who
// revoked it, for the record.
func (n *Node) Revoke(ctx context.Context, hc1, by string) error {
	now := n.Config.Now()
	own, err := n.trustStore(now)
	if err != nil {
		return err
	}
	r := (&verify.Verifier{Trust: own}).Text(hc1, now)
	if c := r.Check(verify.StepSignature); c.Result != verify.Pass {
		return fmt.Errorf("not a credential signed by this node: %s", c.Detail)
	}
	entries, err := r.RevocationEntries()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := n.Store.AddRevoked(ctx, &store.Revoked{HashType: e.Type.String(), Hash: hex.EncodeToString(e.Hash[:]), Kid: hex.EncodeToString(e.Kid),
			RevokedAt: now.UTC().Truncate(time.Millisecond), RevokedBy: by}); err != nil {
			return err
		}
	}
	return n.Federation.PublishLists(ctx)
}

// loadPeerTrust adds the peers' signers to a trust store; a peer list
// that no longer verifies is left out and logged.
func (n *Node) loadPeerTrust(ts *trust.Store) {
	if err := n.Federation.LoadPeerTrust(context.Background(), ts); err != nil {
		n.log.Warn("a peer's trust list was left out", "err", err)
	}
}

// revocations is this node's revocation list with its peers'.
func (n *Node) revocations() *revocation.List {
	ctx := context.Background()
	l, err := n.revocationList(ctx, n.Config.Now())
	if err != nil {
		n.log.Error("reading the revocation list", "err", err)
		l = &revocation.List{}
	}
	if err := n.Federation.AddPeerRevocations(ctx, l); err != nil {
		n.log.Warn("a peer's revocation list was left out", "err", err)
	}
	return l
}

// publishLists sends the lists to the peers in the background: a lab's
// new signer is made inside the transaction that records its first test,
// and the outbox write must wait for that transaction to end.
func (n *Node) publishLists() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := n.Federation.PublishLists(ctx); err != nil {
			n.log.Error("sending the trust list to the peers", "err", err)
		}
	}()
}

// listen opens the node's port, with TLS when configured.
func (n *Node) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", n.Config.Listen)
	if err != nil {
		return nil, fmt.Errorf("node: listen on %s: %w", n.Config.Listen, err)
	}
	if n.Config.TLS == nil {
		return ln, nil
	}
	cfg, err := n.Config.TLS.server()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	return tls.NewListener(ln, cfg), nil
}

func (c *TLSConfig) pair() (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return cert, nil, fmt.Errorf("TLS certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	data, err := os.ReadFile(c.PeerCA)
	if err != nil {
		return cert, nil, fmt.Errorf("peer CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return cert, nil, fmt.Errorf("peer CA %s holds no PEM certificate", c.PeerCA)
	}
	return cert, pool, nil
}

// server asks clients for a certificate and checks any they present
// against the peer CA; browsers present none and are let through to the
// pages, while the federation handler insists on one.
func (c *TLSConfig) server() (*tls.Config, error) {
	cert, pool, err := c.pair()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}, nil
}

// client presents this node's certificate to peers and checks theirs
// against the peer CA.
func (c *TLSConfig) client() (*tls.Config, error) {
	cert, pool, err := c.pair()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: pool}, nil
}

// PeerStatusLine sums up one peer for a command's output.
func PeerStatusLine(st federation.PeerStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: outbox %d unacknowledged", st.Country, st.URL, st.Outbox.Unacked)
	for _, k := range []string{federation.CountReceived, federation.CountApplied, federation.CountDuplicate, federation.CountHeld, federation.CountDead} {
		fmt.Fprintf(&b, ", %s %d", k, st.Counts[k])
	}
	if len(st.Gaps) > 0 {
		fmt.Fprintf(&b, ", %d streams waiting", len(st.Gaps))
	}
	return b.String()
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Verifier is what the border page checks credentials with: this node's
// signers and its peers', both sides' revocations, and the entry rules.
func (n *Node) Verifier() *verify.Verifier { return n.verifier() }
