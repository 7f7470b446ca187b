package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreAddDSCThroughAnchor(t *testing.T) {
	ca := newCSCA(t, "CN")
	dsc, _ := ca.issue(t, dscOpts{name: "lab-1"})
	st := &Store{}
	if err := st.AddAnchor(ca.cert); err != nil {
		t.Fatal(err)
	}
	if err := st.AddDSC(NewSigner(dsc, "test"), t0); err != nil {
		t.Fatal(err)
	}
	got := st.Lookup(Kid(dsc.Raw))
	if len(got) != 1 || !got[0].Cert.Equal(dsc) {
		t.Fatalf("Lookup = %v, want the DSC", got)
	}
	if got[0].Country != "CN" || got[0].Source != "test" || got[0].PublicKey == nil {
		t.Errorf("signer = %+v, want country CN, source test and a key", got[0])
	}
	if st.Len() != 1 || len(st.Anchors()) != 1 {
		t.Errorf("Len = %d, anchors = %d; want 1, 1", st.Len(), len(st.Anchors()))
	}
	if got := st.Lookup(Kid(ca.cert.Raw)); got != nil {
		t.Errorf("the CSCA itself must not be a signer, got %v", got)
	}
}

func TestStoreRefusesDSCOfUntrustedCSCA(t *testing.T) {
	trusted, other := newCSCA(t, "CN"), newCSCA(t, "CN")
	dsc, _ := other.issue(t, dscOpts{})
	st := &Store{}
	err := st.AddDSC(NewSigner(dsc, ""), t0)
	if !errors.Is(err, ErrNoChain) || !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("no anchor: got %v, want ErrNoChain and ErrNoAnchor", err)
	}
	if err := st.AddAnchor(trusted.cert); err != nil {
		t.Fatal(err)
	}
	err = st.AddDSC(NewSigner(dsc, ""), t0)
	if !errors.Is(err, ErrNoChain) {
		t.Fatalf("wrong CSCA: got %v, want ErrNoChain", err)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("cause not kept: %v", err)
	}
	if st.Len() != 0 {
		t.Errorf("refused signer was stored")
	}
}

func TestStoreValidityWindow(t *testing.T) {
	ca := newCSCA(t, "KR")
	expired, _ := ca.issue(t, dscOpts{notBefore: t0.AddDate(-2, 0, 0), notAfter: t0.Add(-time.Hour)})
	future, _ := ca.issue(t, dscOpts{notBefore: t0.Add(time.Hour), notAfter: t0.AddDate(1, 0, 0)})
	st := &Store{}
	if err := st.AddAnchor(ca.cert); err != nil {
		t.Fatal(err)
	}
	err := st.AddDSC(NewSigner(expired, ""), t0)
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "expired on") {
		t.Fatalf("expired DSC at T: got %v", err)
	}
	err = st.AddDSC(NewSigner(future, ""), t0)
	if !errors.Is(err, ErrNotYetValid) {
		t.Fatalf("future DSC at T: got %v", err)
	}
	// The same DSC is fine at a time inside its window.
	if err := st.AddDSC(NewSigner(expired, ""), t0.AddDate(-1, 0, 0)); err != nil {
		t.Fatalf("expired DSC inside its window: %v", err)
	}
	if err := CheckValidity(st.Lookup(Kid(expired.Raw))[0], t0); !errors.Is(err, ErrExpired) {
		t.Errorf("CheckValidity at T = %v, want ErrExpired", err)
	}
	if err := CheckValidity(&Signer{Kid: []byte("bare-key"), PublicKey: newKey(t).Public()}, t0); err != nil {
		t.Errorf("bare key has no validity to fail: %v", err)
	}
}

func TestStoreAddAnchorRefusesLeaf(t *testing.T) {
	ca := newCSCA(t, "SG")
	dsc, _ := ca.issue(t, dscOpts{})
	if err := (&Store{}).AddAnchor(dsc); !errors.Is(err, ErrNotCA) {
		t.Fatalf("got %v, want ErrNotCA", err)
	}
}

func TestStoreAddDirect(t *testing.T) {
	ca := newCSCA(t, "CN")
	dsc, _ := ca.issue(t, dscOpts{})
	st := &Store{}
	if err := st.AddDirect(NewSigner(dsc, "pinned")); err != nil {
		t.Fatalf("direct certificate: %v", err)
	}
	if len(st.Lookup(Kid(dsc.Raw))) != 1 {
		t.Fatal("direct certificate not found")
	}

	wrong := NewSigner(dsc, "")
	wrong.Kid = []byte("12345678")
	if err := st.AddDirect(wrong); !errors.Is(err, ErrKidCert) {
		t.Errorf("kid mismatch: got %v, want ErrKidCert", err)
	}
	if err := st.AddDirect(&Signer{Kid: []byte("k")}); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: got %v, want ErrNoKey", err)
	}
	if err := st.AddDirect(&Signer{PublicKey: newKey(t).Public()}); !errors.Is(err, ErrKidCert) {
		t.Errorf("no kid: got %v, want ErrKidCert", err)
	}
}

func TestStoreDuplicateKids(t *testing.T) {
	kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	a := &Signer{Kid: kid, PublicKey: newKey(t).Public(), Source: "a"}
	b := &Signer{Kid: kid, PublicKey: newKey(t).Public(), Source: "b"}
	st := &Store{}
	for _, s := range []*Signer{a, b, a} {
		if err := st.AddDirect(s); err != nil {
			t.Fatal(err)
		}
	}
	got := st.Lookup(kid)
	if len(got) != 2 || got[0].Source != "a" || got[1].Source != "b" {
		t.Fatalf("Lookup = %d signers, want a and b once each", len(got))
	}
	if st.Len() != 2 {
		t.Errorf("Len = %d, want 2", st.Len())
	}
}

func TestStoreResultsAreIsolated(t *testing.T) {
	kid := []byte("abcdefgh")
	orig := &Signer{Kid: kid, PublicKey: newKey(t).Public(), Source: "orig"}
	st := &Store{}
	if err := st.AddDirect(orig); err != nil {
		t.Fatal(err)
	}
	orig.Source = "changed"
	kid[0] = 'z'

	got := st.Lookup([]byte("abcdefgh"))
	if len(got) != 1 || got[0].Source != "orig" {
		t.Fatalf("the caller's later changes reached the store: %+v", got)
	}
	// Appending to a Lookup result must not write into the store.
	_ = append(got, &Signer{Source: "intruder"})
	if err := st.AddDirect(&Signer{Kid: []byte("abcdefgh"), PublicKey: newKey(t).Public(), Source: "second"}); err != nil {
		t.Fatal(err)
	}
	got = st.Lookup([]byte("abcdefgh"))
	if len(got) != 2 || got[1].Source != "second" {
		t.Fatalf("Lookup after append = %+v", got)
	}
}

func TestStoreLookupDoesNotAllocate(t *testing.T) {
	st := fillStore(t, 100)
	kid := st.Signers()[42].Kid
	miss := []byte("no-such!")
	allocs := testing.AllocsPerRun(1000, func() {
		if len(st.Lookup(kid)) != 1 || st.Lookup(miss) != nil {
			panic("lookup broken")
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per call", allocs)
	}
	if (&Store{}).Lookup(kid) != nil {
		t.Fatal("empty store found a signer")
	}
}

// Readers run while a writer adds signers; under -race this checks that
// lookups never see a half-built index.
func TestStoreConcurrentReadsAndWrites(t *testing.T) {
	st := &Store{}
	keys := make([]*Signer, 200)
	for i := range keys {
		keys[i] = &Signer{Kid: fmt.Appendf(nil, "kid-%04d", i), PublicKey: newKey(t).Public()}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := st.Len()
				for i := 0; i < n; i++ {
					if len(st.Lookup(keys[i].Kid)) != 1 {
						t.Errorf("signer %d missing after Len reported %d", i, n)
						return
					}
				}
			}
		}()
	}
	for _, k := range keys {
		if err := st.AddDirect(k); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// fillStore makes a store of n directly trusted bare keys.
func fillStore(tb testing.TB, n int) *Store {
	tb.Helper()
	st := &Store{}
	signers := make([]*Signer, n)
	for i := range signers {
		signers[i] = &Signer{Kid: Kid(fmt.Appendf(nil, "signer %d", i)), PublicKey: newKey(tb).Public()}
	}
	err := st.edit(func(sn *snapshot) error {
		for _, s := range signers {
			if _, err := sn.addDirect(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// The EU gateway lists a few thousand DSCs; 5000 is a generous size.
func BenchmarkStoreLookup(b *testing.B) {
	st := fillStore(b, 5000)
	hit := st.Signers()[2500].Kid
	miss := []byte("missing!")
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st.Lookup(hit) == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st.Lookup(miss) != nil {
				b.Fatal("hit")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if st.Lookup(hit) == nil {
					b.Fatal("miss")
				}
			}
		})
	})
}
