package node

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/bundle"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/issuer"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
)

// TestBundleCarriesPeers: Korea's offline bundle, taken after the nodes
// synced, lets a carrier with no network accept a test result a Chinese
// lab signed, checked as `corridor verify --bundle` checks it; once China
// revokes it and the revocation has crossed, Korea's next bundle refuses
// it.
func TestBundleCarriesPeers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	nodes, urls := map[string]*Node{}, map[string]string{}
	for _, c := range []string{"CN", "KR"} {
		n, err := Open(ctx, Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, c), Country: c,
			Peering: PeeringConfig{RequestTimeout: 5 * time.Second, MaxBackoff: 300 * time.Millisecond, PullEvery: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		ready := make(chan string, 1)
		done := make(chan struct{})
		go func() { defer close(done); n.Serve(ctx, func(addr string) { ready <- addr }) }()
		defer func() { cancel(); <-done }()
		nodes[c], urls[c] = n, "http://"+<-ready
	}
	cn, kr := nodes["CN"], nodes["KR"]
	for c, other := range map[string]string{"CN": "KR", "KR": "CN"} {
		if err := nodes[c].Federation.AddPeer(ctx, other, urls[other], string(nodes[other].FederationCSCA())); err != nil {
			t.Fatal(err)
		}
	}

	// A carrier's check: the bundle against Korea's CSCA, which the
	// carrier pinned, and its verifier.
	check := func(data []byte, hc1 string) (sig, rev verify.Outcome) {
		t.Helper()
		b, err := bundle.LoadBundle(data, kr.KeySet().CSCA)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		v, err := b.Verifier(b.Country, "", at)
		if err != nil {
			t.Fatal(err)
		}
		r := v.Text(hc1, at)
		return r.Check(verify.StepSignature).Result, r.Check(verify.StepRevocation).Result
	}

	// Korea's bundle of before China's lab had a signer cannot vouch for
	// what that lab signs.
	before, err := kr.bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A Chinese lab's first test makes its signer.
	signer, err := cn.labSigner("lab-org-beijing")
	if err != nil {
		t.Fatal(err)
	}
	hc1, _, err := issuer.IssueTest(issuer.Signer{Key: signer.Key, Kid: signer.Kid, Country: "CN"}, issuer.TestResult{
		FamilyName: "Zhang", GivenName: "Wei", DateOfBirth: "1985-03-14", Type: "NAAT", TestName: "PCR",
		SampledAt: time.Now().Add(-2 * time.Hour), Centre: "Beijing Lab", Country: "CN", Issuer: "Beijing Lab"}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sig, _ := check(before, hc1); sig != verify.Fail {
		t.Fatalf("a signer Korea had not heard of passed the signature check: %s", sig)
	}
	waitFor(t, "China's lab signer in Korea", func() bool { return trustedBy(t, kr, signer.Kid) })

	data, err := kr.bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := bundle.LoadBundle(data, kr.KeySet().CSCA); err != nil || len(b.Peers) != 1 || b.Peers[0].Country != "CN" ||
		!b.Peers[0].CSCA.Equal(cn.KeySet().CSCA) {
		t.Fatalf("Korea's bundle does not carry China's lists: %v", err)
	}
	if sig, rev := check(data, hc1); sig != verify.Pass || rev != verify.Pass {
		t.Fatalf("China's test result with Korea's bundle: signature %s, revocation %s; want pass, pass", sig, rev)
	}
	unrevoked := data

	// China revokes it; once its revocation list has crossed, Korea's
	// next bundle refuses it, while the signature still checks out.
	if err := cn.Revoke(ctx, hc1, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "China's revocation in Korea", func() bool {
		l, err := kr.Store.GetPeerList(ctx, "CN", store.ListRevocation)
		if err != nil {
			return false
		}
		rl, err := revocation.Verify(l.Data, cn.KeySet().CSCA)
		return err == nil && rl.Len() > 0
	})
	data, err = kr.bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sig, rev := check(data, hc1); sig != verify.Pass || rev != verify.Fail {
		t.Fatalf("the revoked test result with Korea's bundle: signature %s, revocation %s; want pass, fail", sig, rev)
	}
	// The bundle taken before the revocation still passes it: the carrier
	// needs the fresh one, which is why bundles say when they are due.
	if _, rev := check(unrevoked, hc1); rev != verify.Pass {
		t.Fatalf("the old bundle's revocation check: %s", rev)
	}

	// A peer list that no longer verifies against its pin is left out of
	// the bundle, and the rest still comes.
	other, err := Open(ctx, Config{DataDir: filepath.Join(dir, "other-cn"), Country: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := federation.AddPeer(ctx, kr.Store, "KR", "CN", urls["CN"], string(other.FederationCSCA()), time.Now()); err != nil {
		t.Fatal(err)
	}
	data, err = kr.bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.LoadBundle(data, kr.KeySet().CSCA)
	if err != nil || len(b.Peers) != 0 {
		t.Fatalf("after a re-pin, the bundle carries %d peers (%v)", len(b.Peers), err)
	}
	if sig, _ := check(data, hc1); sig != verify.Fail {
		t.Fatalf("a list that no longer verifies against its pin still vouched: %s", sig)
	}
}

// trustedBy tells whether the list a node keeps from China lists the
// signer kid.
func trustedBy(t *testing.T, n *Node, kid []byte) bool {
	t.Helper()
	l, err := n.Store.GetPeerList(context.Background(), "CN", store.ListTrust)
	if err != nil {
		return false
	}
	p, err := n.Store.GetPeer(context.Background(), "CN")
	if err != nil {
		t.Fatal(err)
	}
	csca, err := federation.ParseCSCA(p.CSCAPEM, "CN")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := trust.VerifyList(l.Data, csca)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl.Entries {
		if bytes.Equal(e.Kid, kid) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
