package audit

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// memory is a chain held in memory, as a store would hold it.
type memory struct {
	entries []Entry
	head    Head
}

func (m *memory) append(e Entry) {
	e.Seal(m.head)
	m.entries = append(m.entries, e)
	m.head = Head{Seq: e.Seq, Hash: e.Hash}
}

func (m *memory) AuditEntries(_ context.Context, after int64, limit int) ([]Entry, error) {
	var out []Entry
	for _, e := range m.entries {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memory) AuditHead(context.Context) (Head, error) { return m.head, nil }

var t0 = time.Date(2020, 5, 10, 9, 0, 0, 0, time.UTC)

func chain(n int) *memory {
	m := &memory{}
	for i := 0; i < n; i++ {
		m.append(Entry{At: t0.Add(time.Duration(i) * time.Minute), Actor: "user:u1", Role: "reviewer", Action: "trip.view",
			Object: fmt.Sprintf("trip:%d", i), Details: map[string]string{"i": fmt.Sprint(i)}})
	}
	return m
}

func verify(t *testing.T, m *memory) Report {
	t.Helper()
	rep, err := Verify(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyWholeChain(t *testing.T) {
	for _, n := range []int{0, 1, 5, pageSize + 3} { // across a page boundary too
		rep := verify(t, chain(n))
		if rep.Problem != nil || rep.Checked != int64(n) {
			t.Fatalf("chain of %d: checked %d, %v", n, rep.Checked, rep.Problem)
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(m *memory)
		seq    int64
		kind   ProblemKind
	}{
		{"actor", func(m *memory) { m.entries[2].Actor = "user:u2" }, 3, Changed},
		{"role", func(m *memory) { m.entries[2].Role = "admin" }, 3, Changed},
		{"action", func(m *memory) { m.entries[0].Action = "trip.approve" }, 1, Changed},
		{"object", func(m *memory) { m.entries[4].Object = "trip:x" }, 5, Changed},
		{"time", func(m *memory) { m.entries[3].At = m.entries[3].At.Add(time.Millisecond) }, 4, Changed},
		{"detail value", func(m *memory) { m.entries[1].Details["i"] = "9" }, 2, Changed},
		{"detail added", func(m *memory) { m.entries[1].Details["x"] = "" }, 2, Changed},
		{"seq renumbered", func(m *memory) { m.entries[5].Seq = 7 }, 6, Missing},
		{"removed", func(m *memory) { m.entries = append(m.entries[:3], m.entries[4:]...) }, 4, Missing},
		{"removed last", func(m *memory) { m.entries = m.entries[:len(m.entries)-1] }, 8, Missing},
		{"removed all", func(m *memory) { m.entries = nil }, 1, Missing},
		{"relinked", func(m *memory) { m.entries[6].PrevHash = bytes.Repeat([]byte{1}, 32) }, 7, Relinked},
		{"rehashed", func(m *memory) {
			// A forger rewrites entry 4 and its hash: entry 5's link breaks.
			e := &m.entries[3]
			e.Actor = "user:forger"
			e.Hash = e.Digest()
		}, 5, Relinked},
		{"head rewound", func(m *memory) { m.head = Head{Seq: 6, Hash: m.entries[5].Hash} }, 7, Changed},
		{"head hash", func(m *memory) { m.head.Hash = bytes.Repeat([]byte{2}, 32) }, 8, Changed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := chain(8)
			tc.tamper(m)
			rep := verify(t, m)
			if rep.Problem == nil {
				t.Fatal("not found")
			}
			if rep.Problem.Seq != tc.seq || rep.Problem.Kind != tc.kind {
				t.Fatalf("found %v, want entry %d %s", rep.Problem, tc.seq, tc.kind)
			}
		})
	}
}

func TestCanonicalIsUnambiguous(t *testing.T) {
	a := Entry{Seq: 1, At: t0, Actor: "ab", Action: "x.y", Object: "c"}
	b := Entry{Seq: 1, At: t0, Actor: "a", Action: "x.y", Object: "bc"}
	if bytes.Equal(a.Canonical(), b.Canonical()) {
		t.Fatal("fields that shift a character encode the same")
	}
	c := Entry{Seq: 1, At: t0, Actor: "a", Action: "x.y", Details: map[string]string{"k": "v,1:z"}}
	d := Entry{Seq: 1, At: t0, Actor: "a", Action: "x.y", Details: map[string]string{"k": "v", "z": ""}}
	if bytes.Equal(c.Canonical(), d.Canonical()) {
		t.Fatal("details that look alike encode the same")
	}
	// Map order does not matter.
	e1 := Entry{Seq: 2, At: t0, Actor: "a", Action: "x.y", Details: map[string]string{"a": "1", "b": "2", "c": "3"}}
	e2 := Entry{Seq: 2, At: t0, Actor: "a", Action: "x.y", Details: map[string]string{"c": "3", "a": "1", "b": "2"}}
	if !bytes.Equal(e1.Canonical(), e2.Canonical()) {
		t.Fatal("the encoding depends on map order")
	}
	// A known answer pins the format: changing it breaks every stored
	// chain, and must be a new version tag.
	want := "16:corridor-audit/1,1:2,13:1589101200000,1:a,0:,3:x.y,0:,1:3,1:a,1:1,1:b,1:2,1:c,1:3,"
	if got := string(e1.Canonical()); got != want {
		t.Fatalf("canonical form\n got %s\nwant %s", got, want)
	}
}

func TestCheck(t *testing.T) {
	ok := Entry{At: t0, Actor: "system", Action: "trip.purge", Object: "trip:1", Details: map[string]string{"retention_days": "28"}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	long := make([]byte, maxDetailValue+1)
	for i := range long {
		long[i] = 'x'
	}
	for name, e := range map[string]Entry{
		"no time":      {Actor: "a", Action: "x.y"},
		"no actor":     {At: t0, Action: "x.y"},
		"bad action":   {At: t0, Actor: "a", Action: "Approve Trip"},
		"bad key":      {At: t0, Actor: "a", Action: "x.y", Details: map[string]string{"Passport Number": "x"}},
		"prose detail": {At: t0, Actor: "a", Action: "x.y", Details: map[string]string{"note": string(long)}},
	} {
		if err := e.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
