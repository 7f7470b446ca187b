package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/store"
)

// writePEM writes one PEM block to dir/name.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsFiles makes a CA and, for each node, a certificate for 127.0.0.1
// good as TLS server and client, and returns each node's TLS settings.
func tlsFiles(t *testing.T, dir string, names ...string) map[string]*TLSConfig {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Corridor nodes test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	caFile := writePEM(t, dir, "peer-ca.pem", "CERTIFICATE", caDER)
	out := map[string]*TLSConfig{}
	for i, name := range names {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: "corridor " + name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		out[name] = &TLSConfig{CertFile: writePEM(t, dir, name+".crt", "CERTIFICATE", der),
			KeyFile: writePEM(t, dir, name+".key", "PRIVATE KEY", keyDER), PeerCA: caFile}
	}
	return out
}

// TestMutualTLS: two nodes that talk over HTTPS with client certificates
// carry messages; a client without a certificate is refused at the
// federation endpoints, while the node's pages stay open to browsers.
func TestMutualTLS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	certs := tlsFiles(t, dir, "CN", "KR")
	nodes, urls := map[string]*Node{}, map[string]string{}
	for _, c := range []string{"CN", "KR"} {
		n, err := Open(ctx, Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, c), Country: c, TLS: certs[c],
			Peering: PeeringConfig{RequestTimeout: 5 * time.Second, MaxBackoff: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		ready := make(chan string, 1)
		done := make(chan struct{})
		go func() { defer close(done); n.Serve(ctx, func(addr string) { ready <- addr }) }()
		defer func() { cancel(); <-done }()
		nodes[c], urls[c] = n, "https://"+<-ready
	}
	for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
		if err := nodes[c].Federation.AddPeer(ctx, other, urls[other], string(nodes[other].FederationCSCA())); err != nil {
			t.Fatal(err)
		}
	}
	err := nodes["KR"].Store.InTx(ctx, func(tx store.Store) error {
		return nodes["KR"].Federation.Send(ctx, tx, "CN", &envelope.StatsDaily{Date: "2020-05-01", Lane: "CN-KR", Approved: 3}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := nodes["CN"].Store.ListPeerStats(ctx, "KR", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message did not cross over mutual TLS")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A client that trusts the node but has no certificate of its own.
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(certs["CN"].PeerCA)
	pool.AppendCertsFromPEM(caPEM)
	anon := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := anon.Post(urls["CN"]+federation.PathDeliveries, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a federation request without a client certificate answered %d", resp.StatusCode)
	}
	resp, err = anon.Get(urls["CN"] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the health page without a client certificate answered %d", resp.StatusCode)
	}
}
