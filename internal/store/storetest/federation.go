package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// RunFederation runs the suite of the federation's tables: peers, the
// outbox, the inbox, lists, links and the tracing index.
func RunFederation(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Peers", testPeers},
		{"OutboxNumbers", testOutboxNumbers},
		{"OutboxNumbersRace", testOutboxNumbersRace},
		{"OutboxDeliver", testOutboxDeliver},
		{"InboxCursor", testInboxCursor},
		{"InboxSeen", testInboxSeen},
		{"InboxHeld", testInboxHeld},
		{"DeadLetters", testDeadLetters},
		{"Counters", testCounters},
		{"PeerLists", testPeerLists},
		{"Revoked", testRevoked},
		{"TripLinks", testTripLinks},
		{"Tracing", testTracing},
		{"PurgeFederation", testPurgeFederation},
		{"DayFigures", testDayFigures},
		{"Ledger", testLedger},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func testPeers(t *testing.T, h Harness) {
	db := h.Open(t)
	_, err := db.GetPeer(ctx, "CN")
	wantErr(t, err, store.ErrNotFound)
	must(t, db.PutPeer(ctx, &store.Peer{Country: "CN", URL: "http://a", CSCAPEM: "pem-1", CreatedAt: t0, UpdatedAt: t0}))
	must(t, db.PutPeer(ctx, &store.Peer{Country: "JP", URL: "http://j", CSCAPEM: "pem-j", CreatedAt: t0, UpdatedAt: t0}))
	// Adding again replaces the address and the pin, not the creation time.
	later := t0.Add(time.Hour)
	must(t, db.PutPeer(ctx, &store.Peer{Country: "CN", URL: "http://b", CSCAPEM: "pem-2", CreatedAt: later, UpdatedAt: later}))
	p, err := db.GetPeer(ctx, "CN")
	must(t, err)
	if p.URL != "http://b" || p.CSCAPEM != "pem-2" || !p.CreatedAt.Equal(t0) || !p.UpdatedAt.Equal(later) {
		t.Fatalf("peer after update: %+v", p)
	}
	list, err := db.ListPeers(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Country != "CN" || list[1].Country != "JP" {
		t.Fatalf("peers: %+v", list)
	}
}

// enqueue writes one message to peer on stream in its own transaction.
func enqueue(t testing.TB, s store.Store, peer, stream string, at time.Time) *store.OutboxMessage {
	t.Helper()
	var m *store.OutboxMessage
	must(t, s.InTx(ctx, func(tx store.Store) error {
		seq, pos, err := tx.NextOutbox(ctx, peer, stream)
		if err != nil {
			return err
		}
		m = &store.OutboxMessage{Peer: peer, Stream: stream, Seq: seq, Pos: pos, ID: id("msg"), Type: stream + ".test",
			Envelope: []byte(fmt.Sprintf(`{"seq":%d}`, seq)), CreatedAt: at, NextAttemptAt: at}
		return tx.AddOutbox(ctx, m)
	}))
	return m
}

func testOutboxNumbers(t *testing.T, h Harness) {
	db := h.Open(t)
	a1 := enqueue(t, db, "CN", "trips", t0)
	b1 := enqueue(t, db, "CN", "cases", t0)
	a2 := enqueue(t, db, "CN", "trips", t0)
	j1 := enqueue(t, db, "JP", "trips", t0)
	if a1.Seq != 1 || b1.Seq != 1 || a2.Seq != 2 || j1.Seq != 1 {
		t.Fatalf("sequence numbers %d %d %d %d, want 1 1 2 1", a1.Seq, b1.Seq, a2.Seq, j1.Seq)
	}
	if a1.Pos != 1 || b1.Pos != 2 || a2.Pos != 3 || j1.Pos != 1 {
		t.Fatalf("positions %d %d %d %d, want 1 2 3 1", a1.Pos, b1.Pos, a2.Pos, j1.Pos)
	}
	// A rolled-back transaction gives its numbers back: no gap.
	boom := errors.New("rolled back")
	err := db.InTx(ctx, func(tx store.Store) error {
		if _, _, err := tx.NextOutbox(ctx, "CN", "trips"); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	a3 := enqueue(t, db, "CN", "trips", t0)
	if a3.Seq != 3 || a3.Pos != 4 {
		t.Fatalf("after a rollback: seq %d pos %d, want 3 and 4", a3.Seq, a3.Pos)
	}
	// A taken id is a conflict.
	dup := *a1
	dup.Seq, dup.Pos = 99, 99
	err = db.InTx(ctx, func(tx store.Store) error { return tx.AddOutbox(ctx, &dup) })
	wantErr(t, err, store.ErrConflict)
	st, err := db.OutboxStatus(ctx, "CN")
	must(t, err)
	if st.Unacked != 4 || !st.OldestUnacked.Equal(t0) || st.LastSeq["trips"] != 3 || st.LastSeq["cases"] != 1 || len(st.LastSeq) != 2 {
		t.Fatalf("status %+v", st)
	}
}

// testOutboxNumbersRace: writers on several pools at once still get
// consecutive numbers, none twice and none skipped.
func testOutboxNumbersRace(t *testing.T, h Harness) {
	db := h.Open(t)
	pools := []store.DB{db, h.Reopen(t, db), h.Reopen(t, db)}
	const writers = 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seqs, poss []uint64
	var errs []error
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(s store.DB) {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Store) error {
				seq, pos, err := tx.NextOutbox(ctx, "CN", "trips")
				if err != nil {
					return err
				}
				m := &store.OutboxMessage{Peer: "CN", Stream: "trips", Seq: seq, Pos: pos, ID: id("msg"), Type: "x.y",
					Envelope: []byte("{}"), CreatedAt: t0, NextAttemptAt: t0}
				if err := tx.AddOutbox(ctx, m); err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				seqs, poss = append(seqs, seq), append(poss, pos)
				return nil
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(pools[i%len(pools)])
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d writers failed, first: %v", len(errs), errs[0])
	}
	// A retried transaction reports twice; the committed rows decide.
	got, err := db.OutboxAfter(ctx, "CN", "trips", 0, 100)
	must(t, err)
	if len(got) != writers {
		t.Fatalf("%d messages stored, want %d", len(got), writers)
	}
	for i, m := range got {
		if m.Seq != uint64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
	slices.Sort(poss)
	if poss = slices.Compact(poss); len(poss) < writers {
		t.Fatalf("positions repeat: %v", poss)
	}
}

func testOutboxDeliver(t *testing.T, h Harness) {
	db := h.Open(t)
	var ms []*store.OutboxMessage
	for i := 0; i < 5; i++ {
		stream := "trips"
		if i%2 == 1 {
			stream = "cases"
		}
		ms = append(ms, enqueue(t, db, "CN", stream, t0))
	}
	due, err := db.DueOutbox(ctx, "CN", t0, 3)
	must(t, err)
	if len(due) != 3 || due[0].ID != ms[0].ID || due[1].ID != ms[1].ID || due[2].ID != ms[2].ID {
		t.Fatalf("due: %v", ids(due))
	}
	if string(due[0].Envelope) != string(ms[0].Envelope) {
		t.Fatalf("envelope %q", due[0].Envelope)
	}
	st, err := db.OutboxStatus(ctx, "CN")
	must(t, err)
	if st.Unacked != 5 || !st.LastAcked.IsZero() || st.LastError != "" || st.Attempts != 0 || !st.OldestUnacked.Equal(t0) {
		t.Fatalf("status before any attempt %+v", st)
	}
	// A failed attempt defers the messages and counts.
	must(t, db.RetryOutboxLater(ctx, "CN", []string{ms[0].ID, ms[1].ID}, t0.Add(time.Minute), "connection refused"))
	st, err = db.OutboxStatus(ctx, "CN")
	must(t, err)
	if st.LastError != "connection refused" || st.Attempts != 1 || !st.LastAcked.IsZero() {
		t.Fatalf("status after a failed attempt %+v", st)
	}
	due, err = db.DueOutbox(ctx, "CN", t0, 10)
	must(t, err)
	if len(due) != 3 || due[0].ID != ms[2].ID {
		t.Fatalf("due after deferring: %v", ids(due))
	}
	due, err = db.DueOutbox(ctx, "CN", t0.Add(time.Minute), 10)
	must(t, err)
	if len(due) != 5 || due[0].Attempts != 1 || due[0].LastError != "connection refused" || !due[0].NextAttemptAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("due later: %+v", due[0])
	}
	// Acknowledged up to trips 1 (ms[0]) and by id (ms[3], a case).
	n, err := db.AckOutbox(ctx, "CN", map[string]uint64{"trips": 1}, []string{ms[3].ID}, t0.Add(2*time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("acknowledged %d, want 2", n)
	}
	// Again: nothing new.
	n, err = db.AckOutbox(ctx, "CN", map[string]uint64{"trips": 1}, []string{ms[3].ID}, t0.Add(3*time.Minute))
	must(t, err)
	if n != 0 {
		t.Fatalf("acknowledged %d again", n)
	}
	// The status names when the peer last acknowledged, and the error
	// of the oldest message still waiting (ms[1], tried once).
	must(t, db.RetryOutboxLater(ctx, "CN", []string{ms[1].ID}, t0.Add(time.Minute), "peer answered 503"))
	st, err = db.OutboxStatus(ctx, "CN")
	must(t, err)
	if st.Unacked != 3 || !st.LastAcked.Equal(t0.Add(2*time.Minute)) || st.LastError != "peer answered 503" || st.Attempts != 2 {
		t.Fatalf("status after acks %+v", st)
	}
	due, err = db.DueOutbox(ctx, "CN", t0.Add(time.Hour), 10)
	must(t, err)
	if got := ids(due); !slices.Equal(got, []string{ms[1].ID, ms[2].ID, ms[4].ID}) {
		t.Fatalf("due after acks: %v", got)
	}
	// A pull sees acknowledged messages too, per stream, after a number.
	after, err := db.OutboxAfter(ctx, "CN", "trips", 1, 10)
	must(t, err)
	if got := ids(after); !slices.Equal(got, []string{ms[2].ID, ms[4].ID}) {
		t.Fatalf("trips after 1: %v", got)
	}
	after, err = db.OutboxAfter(ctx, "CN", "cases", 0, 1)
	must(t, err)
	if len(after) != 1 || after[0].ID != ms[1].ID || after[0].Seq != 1 {
		t.Fatalf("cases after 0: %v", ids(after))
	}
	// Pruning drops only what was acknowledged before the cut.
	n, err = db.PruneOutbox(ctx, t0.Add(2*time.Minute+time.Millisecond))
	must(t, err)
	if n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	st, err = db.OutboxStatus(ctx, "CN")
	must(t, err)
	if st.Unacked != 3 || st.LastSeq["trips"] != 3 || !st.LastAcked.IsZero() {
		t.Fatalf("status after prune %+v", st)
	}
}

func ids(ms []store.OutboxMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testInboxCursor(t *testing.T, h Harness) {
	db := h.Open(t)
	var next uint64
	must(t, db.InTx(ctx, func(tx store.Store) error {
		var err error
		next, err = tx.LockInbox(ctx, "CN", "trips")
		return err
	}))
	if next != 1 {
		t.Fatalf("a new stream expects %d", next)
	}
	must(t, db.SetInboxCursor(ctx, "CN", "trips", 7))
	must(t, db.SetInboxCursor(ctx, "CN", "cases", 2))
	must(t, db.InTx(ctx, func(tx store.Store) error {
		var err error
		next, err = tx.LockInbox(ctx, "CN", "trips")
		return err
	}))
	if next != 7 {
		t.Fatalf("cursor %d, want 7", next)
	}
	cur, err := db.InboxCursors(ctx, "CN")
	must(t, err)
	if len(cur) != 2 || cur["trips"] != 7 || cur["cases"] != 2 {
		t.Fatalf("cursors %v", cur)
	}
	// The lock serialises two transactions on one stream: each reads the
	// cursor the other committed.
	pools := []store.DB{db, h.Reopen(t, db)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(s store.DB) {
			defer wg.Done()
			errs <- s.InTx(ctx, func(tx store.Store) error {
				n, err := tx.LockInbox(ctx, "CN", "stats")
				if err != nil {
					return err
				}
				return tx.SetInboxCursor(ctx, "CN", "stats", n+1)
			})
		}(pools[i%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	cur, err = db.InboxCursors(ctx, "CN")
	must(t, err)
	if cur["stats"] != 21 {
		t.Fatalf("20 locked increments from 1 reached %d", cur["stats"])
	}
}

func testInboxSeen(t *testing.T, h Harness) {
	db := h.Open(t)
	m := &store.SeenMessage{ID: id("msg"), Peer: "CN", Stream: "trips", Seq: 3, Type: "trip.departed", Digest: "abc",
		Outcome: store.InboxHeld, ReceivedAt: t0}
	must(t, db.AddSeen(ctx, m))
	// Seeing it again inside a transaction is a conflict that leaves the
	// transaction usable (PostgreSQL aborts one on a failed insert).
	must(t, db.InTx(ctx, func(tx store.Store) error {
		if err := tx.AddSeen(ctx, m); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("second AddSeen: %v, want a conflict", err)
		}
		return tx.SetSeenOutcome(ctx, m.ID, store.InboxApplied, t0.Add(time.Second))
	}))
	got, err := db.GetSeen(ctx, m.ID)
	must(t, err)
	if got.Outcome != store.InboxApplied || got.Digest != "abc" || got.Seq != 3 || !got.DoneAt.Equal(t0.Add(time.Second)) || !got.ReceivedAt.Equal(t0) {
		t.Fatalf("seen %+v", got)
	}
	_, err = db.GetSeen(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, db.SetSeenOutcome(ctx, "nope", store.InboxDead, t0), store.ErrNotFound)
}

func testInboxHeld(t *testing.T, h Harness) {
	db := h.Open(t)
	for _, seq := range []uint64{5, 3, 4} {
		must(t, db.HoldMessage(ctx, &store.HeldMessage{Peer: "CN", Stream: "trips", Seq: seq, ID: fmt.Sprintf("m%d", seq),
			Envelope: []byte(fmt.Sprintf("env-%d", seq)), ReceivedAt: t0}))
	}
	must(t, db.HoldMessage(ctx, &store.HeldMessage{Peer: "CN", Stream: "cases", Seq: 9, ID: "c9", Envelope: []byte("c"), ReceivedAt: t0}))
	must(t, db.SetInboxCursor(ctx, "CN", "trips", 2))
	must(t, db.InTx(ctx, func(tx store.Store) error {
		err := tx.HoldMessage(ctx, &store.HeldMessage{Peer: "CN", Stream: "trips", Seq: 4, ID: "other", Envelope: []byte("x"), ReceivedAt: t0})
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a second message at seq 4: %v, want a conflict", err)
		}
		return nil
	}))
	gaps, err := db.InboxGaps(ctx)
	must(t, err)
	want := []store.InboxGap{{Peer: "CN", Stream: "cases", Next: 1, FirstHeld: 9, Held: 1}, {Peer: "CN", Stream: "trips", Next: 2, FirstHeld: 3, Held: 3}}
	if !slices.Equal(gaps, want) {
		t.Fatalf("gaps %+v, want %+v", gaps, want)
	}
	var got *store.HeldMessage
	must(t, db.InTx(ctx, func(tx store.Store) error {
		got, err = tx.TakeHeld(ctx, "CN", "trips", 4)
		return err
	}))
	if got.ID != "m4" || string(got.Envelope) != "env-4" || !got.ReceivedAt.Equal(t0) {
		t.Fatalf("taken %+v", got)
	}
	_, err = db.TakeHeld(ctx, "CN", "trips", 4)
	wantErr(t, err, store.ErrNotFound)
}

func testDeadLetters(t *testing.T, h Harness) {
	db := h.Open(t)
	d := &store.DeadLetter{ID: id("msg"), Peer: "CN", Stream: "trips", Seq: 4, Type: "trip.departed", Envelope: []byte("env"),
		Reason: "no trip KR-X", FailedAt: t0, Attempts: 1}
	must(t, db.AddDeadLetter(ctx, d))
	d2 := &store.DeadLetter{ID: id("msg"), Peer: "JP", Stream: "cases", Seq: 1, Type: "case.notified", Envelope: []byte("e2"),
		Reason: "bad", FailedAt: t0.Add(time.Minute), Attempts: 1}
	must(t, db.AddDeadLetter(ctx, d2))
	must(t, db.RetriedDeadLetter(ctx, d.ID, "still no trip", t0.Add(2*time.Minute)))
	got, err := db.GetDeadLetter(ctx, d.ID)
	must(t, err)
	if got.Attempts != 2 || got.Reason != "still no trip" || string(got.Envelope) != "env" || got.Seq != 4 || !got.ResolvedAt.IsZero() {
		t.Fatalf("dead letter %+v", got)
	}
	list, err := db.ListDeadLetters(ctx, store.DeadLetterFilter{OpenOnly: true})
	must(t, err)
	if len(list) != 2 || list[0].ID != d2.ID { // by time of the last failure
		t.Fatalf("open dead letters %+v", list)
	}
	list, err = db.ListDeadLetters(ctx, store.DeadLetterFilter{Peer: "CN"})
	must(t, err)
	if len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("CN's dead letters %+v", list)
	}
	must(t, db.ResolveDeadLetter(ctx, d.ID, "user:u1", t0.Add(time.Hour)))
	wantErr(t, db.ResolveDeadLetter(ctx, d.ID, "user:u1", t0.Add(time.Hour)), store.ErrConflict)
	wantErr(t, db.RetriedDeadLetter(ctx, d.ID, "x", t0), store.ErrNotFound)
	list, err = db.ListDeadLetters(ctx, store.DeadLetterFilter{OpenOnly: true})
	must(t, err)
	if len(list) != 1 || list[0].ID != d2.ID {
		t.Fatalf("open dead letters after resolving %+v", list)
	}
	got, err = db.GetDeadLetter(ctx, d.ID)
	must(t, err)
	if got.ResolvedBy != "user:u1" || !got.ResolvedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("resolved %+v", got)
	}
}

func testCounters(t *testing.T, h Harness) {
	db := h.Open(t)
	must(t, db.AddCounts(ctx, "CN", map[string]int64{"applied": 3, "duplicate": 1, "forged": 0}))
	must(t, db.InTx(ctx, func(tx store.Store) error {
		return tx.AddCounts(ctx, "CN", map[string]int64{"applied": 2})
	}))
	must(t, db.AddCounts(ctx, "", map[string]int64{"forged": 1}))
	got, err := db.Counts(ctx)
	must(t, err)
	if len(got) != 2 || got["CN"]["applied"] != 5 || got["CN"]["duplicate"] != 1 || len(got["CN"]) != 2 || got[""]["forged"] != 1 {
		t.Fatalf("counts %v", got)
	}
}

func testPeerLists(t *testing.T, h Harness) {
	db := h.Open(t)
	_, err := db.GetPeerList(ctx, "CN", store.ListTrust)
	wantErr(t, err, store.ErrNotFound)
	put := func(seq uint64, data string) bool {
		t.Helper()
		ok, err := db.PutPeerList(ctx, &store.PeerList{Peer: "CN", Kind: store.ListTrust, Sequence: seq, Data: []byte(data), ReceivedAt: t0})
		must(t, err)
		return ok
	}
	if !put(5, "five") || put(4, "four") || put(5, "five again") || !put(6, "six") {
		t.Fatal("a list must replace only an older one")
	}
	l, err := db.GetPeerList(ctx, "CN", store.ListTrust)
	must(t, err)
	if l.Sequence != 6 || string(l.Data) != "six" {
		t.Fatalf("list %+v", l)
	}
	_, err = db.GetPeerList(ctx, "CN", store.ListRevocation)
	wantErr(t, err, store.ErrNotFound)
}

func testRevoked(t *testing.T, h Harness) {
	db := h.Open(t)
	r := &store.Revoked{HashType: "UCI", Hash: "00ff", RevokedAt: t0, RevokedBy: "user:x"}
	must(t, db.AddRevoked(ctx, r))
	must(t, db.AddRevoked(ctx, r))
	must(t, db.AddRevoked(ctx, &store.Revoked{HashType: "UCI", Hash: "00ff", Kid: "0102030405060708", RevokedAt: t0.Add(time.Second), RevokedBy: "user:x"}))
	list, err := db.ListRevoked(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Kid != "" || list[1].Kid != "0102030405060708" {
		t.Fatalf("revoked %+v", list)
	}
}

func testTripLinks(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	tr := newTrip(t, db, sp, t0)
	l := &store.TripLink{TripID: tr.ID, Peer: "CN", Side: store.SideOrigin, PassportCountry: "CN", PassportSalt: "salt", PassportHash: "hash", CreatedAt: t0}
	must(t, db.AddTripLink(ctx, l))
	wantErr(t, db.AddTripLink(ctx, l), store.ErrConflict)
	got, err := db.GetTripLink(ctx, tr.ID)
	must(t, err)
	if *got != *l {
		t.Fatalf("link %+v, want %+v", got, l)
	}
	_, err = db.GetTripLink(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
}

func testTracing(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	a, b, c := newTrip(t, db, sp, t0), newTrip(t, db, sp, t0), newTrip(t, db, sp, t0)
	ea := &store.Exposure{TripID: a.ID, TripRef: a.Reference, Flight: "OZ361", FlightDate: "2020-05-20", Seat: "32A",
		HoldSite: "Hotel A", HoldFrom: t0, HoldUntil: t0.Add(48 * time.Hour),
		Sites: []store.ExposureSite{{Site: "Plant 1", From: "2020-05-22", To: "2020-05-30"}}}
	must(t, db.PutExposure(ctx, ea, []string{"flight|OZ361", "hold|a"}))
	must(t, db.PutExposure(ctx, &store.Exposure{TripID: b.ID, TripRef: b.Reference, Flight: "OZ361", FlightDate: "2020-05-20"}, []string{"flight|OZ361"}))
	must(t, db.PutExposure(ctx, &store.Exposure{TripID: c.ID, TripRef: c.Reference}, []string{"hold|c"}))
	got, err := db.GetExposure(ctx, a.ID)
	must(t, err)
	if got.Seat != "32A" || !got.HoldUntil.Equal(t0.Add(48*time.Hour)) || len(got.Sites) != 1 || got.Sites[0] != ea.Sites[0] {
		t.Fatalf("exposure %+v", got)
	}
	found, err := db.ExposuresByKeys(ctx, []string{"flight|OZ361", "hold|a", "nothing"})
	must(t, err)
	refs := []string{}
	for _, e := range found {
		refs = append(refs, e.TripID)
	}
	slices.Sort(refs)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(refs, want) {
		t.Fatalf("candidates %v, want %v", refs, want)
	}
	// Replacing a trip's exposure replaces its keys.
	must(t, db.PutExposure(ctx, &store.Exposure{TripID: b.ID, TripRef: b.Reference}, []string{"hold|c"}))
	found, err = db.ExposuresByKeys(ctx, []string{"flight|OZ361"})
	must(t, err)
	if len(found) != 1 || found[0].TripID != a.ID {
		t.Fatalf("after replacing b's keys: %+v", found)
	}

	k := &store.PeerCase{Ref: "CN-CASE-1", Peer: "CN", Lane: "CN-KR", Stage: "arrival", DetectedOn: "2020-05-21", TripRef: a.Reference,
		TripID: a.ID, Exposure: []byte(`{"flight":"OZ361"}`), ReceivedAt: t0}
	must(t, db.AddPeerCase(ctx, k))
	wantErr(t, db.AddPeerCase(ctx, k), store.ErrConflict)
	cases, err := db.ListPeerCases(ctx, 10)
	must(t, err)
	if len(cases) != 1 || string(cases[0].Exposure) != `{"flight":"OZ361"}` || cases[0].TripID != a.ID {
		t.Fatalf("peer cases %+v", cases)
	}
	pc, err := db.GetPeerCase(ctx, "CN", "CN-CASE-1")
	must(t, err)
	if pc.TripRef != a.Reference || pc.Stage != "arrival" {
		t.Fatalf("peer case %+v", pc)
	}
	_, err = db.GetPeerCase(ctx, "JP", "CN-CASE-1")
	wantErr(t, err, store.ErrNotFound)

	con := &store.TracedContact{CaseRef: "CASE-1", TripID: b.ID, Rules: []string{"flight_near_seat", "hold"}, Source: "CN", FoundAt: t0}
	ok, err := db.AddContact(ctx, con)
	must(t, err)
	again, err := db.AddContact(ctx, con)
	must(t, err)
	if !ok || again {
		t.Fatalf("AddContact: first %v, again %v", ok, again)
	}
	list, err := db.ListContacts(ctx, "CASE-1")
	must(t, err)
	if len(list) != 1 || !slices.Equal(list[0].Rules, con.Rules) || list[0].Source != "CN" {
		t.Fatalf("contacts %+v", list)
	}
	list, err = db.ContactsOfTrip(ctx, b.ID)
	must(t, err)
	if len(list) != 1 || list[0].CaseRef != "CASE-1" {
		t.Fatalf("contacts of b %+v", list)
	}

	// The joint officers' listing: every case's contacts, newest first,
	// with the trips' references and states.
	_, err = db.AddContact(ctx, &store.TracedContact{CaseRef: "CN-CASE-1", TripID: c.ID, Rules: []string{"hold"}, FoundAt: t0.Add(time.Hour)})
	must(t, err)
	_, err = db.AddContact(ctx, &store.TracedContact{CaseRef: "CASE-2", TripID: b.ID, FoundAt: t0.Add(-time.Hour)})
	must(t, err)
	recent, err := db.RecentContacts(ctx, 10)
	must(t, err)
	if len(recent) != 3 || recent[0].TripID != c.ID || recent[0].TripRef != c.Reference || recent[0].TripState != c.State ||
		recent[0].Source != "" || !slices.Equal(recent[0].Rules, []string{"hold"}) || recent[1].CaseRef != "CASE-1" ||
		!slices.Equal(recent[1].Rules, con.Rules) || recent[2].CaseRef != "CASE-2" || recent[2].Rules != nil {
		t.Fatalf("recent contacts %+v", recent)
	}
	if recent, err = db.RecentContacts(ctx, 1); err != nil || len(recent) != 1 || recent[0].CaseRef != "CN-CASE-1" {
		t.Fatalf("the newest contact %+v %v", recent, err)
	}

	must(t, db.AddTraceRequest(ctx, &store.TraceRequest{Ref: "REQ-1", CaseRef: "CASE-1", Peer: "CN", SentAt: t0}))
	must(t, db.AnswerTraceRequest(ctx, "REQ-1", t0.Add(time.Minute), 3))
	r, err := db.GetTraceRequest(ctx, "REQ-1")
	must(t, err)
	if r.Contacts != 3 || !r.AnsweredAt.Equal(t0.Add(time.Minute)) || r.CaseRef != "CASE-1" {
		t.Fatalf("trace request %+v", r)
	}
	wantErr(t, db.AnswerTraceRequest(ctx, "REQ-2", t0, 0), store.ErrNotFound)
	must(t, db.AddTraceRequest(ctx, &store.TraceRequest{Ref: "REQ-3", CaseRef: "CASE-2", Peer: "CN", SentAt: t0.Add(time.Hour)}))
	reqs, err := db.ListTraceRequests(ctx, 10)
	must(t, err)
	if len(reqs) != 2 || reqs[0].Ref != "REQ-3" || !reqs[0].AnsweredAt.IsZero() || reqs[1].Ref != "REQ-1" || reqs[1].Contacts != 3 ||
		!reqs[1].AnsweredAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("trace requests %+v", reqs)
	}

	must(t, db.PutPeerStats(ctx, &store.PeerStats{Peer: "CN", Date: "2020-05-20", Lane: "CN-KR", Body: []byte(`{"a":1}`), ReceivedAt: t0}))
	must(t, db.PutPeerStats(ctx, &store.PeerStats{Peer: "CN", Date: "2020-05-20", Lane: "CN-KR", Body: []byte(`{"a":2}`), ReceivedAt: t0}))
	must(t, db.PutPeerStats(ctx, &store.PeerStats{Peer: "CN", Date: "2020-05-21", Lane: "CN-KR", Body: []byte(`{"a":3}`), ReceivedAt: t0}))
	stats, err := db.ListPeerStats(ctx, "CN", 10)
	must(t, err)
	if len(stats) != 2 || stats[0].Date != "2020-05-21" || string(stats[1].Body) != `{"a":2}` {
		t.Fatalf("peer stats %+v", stats)
	}
}

// testPurgeFederation: the retention purge reaches the federation's copies
// of personal data too.
func testPurgeFederation(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	tr := newTrip(t, db, sp, t0)
	must(t, db.AddTripLink(ctx, &store.TripLink{TripID: tr.ID, Peer: "CN", Side: store.SideOrigin, PassportCountry: "CN",
		PassportSalt: "salt", PassportHash: "hash", CreatedAt: t0}))
	must(t, db.PutExposure(ctx, &store.Exposure{TripID: tr.ID, TripRef: tr.Reference, Flight: "OZ361", FlightDate: "2020-05-20", Seat: "1A"},
		[]string{"flight|OZ361"}))
	must(t, db.PurgeTrip(ctx, tr.ID, t0.Add(time.Hour)))
	l, err := db.GetTripLink(ctx, tr.ID)
	must(t, err)
	if l.PassportHash != "" || l.PassportSalt != "" || l.Peer != "CN" {
		t.Fatalf("link after purge %+v", l)
	}
	_, err = db.GetExposure(ctx, tr.ID)
	wantErr(t, err, store.ErrNotFound)
	found, err := db.ExposuresByKeys(ctx, []string{"flight|OZ361"})
	must(t, err)
	if len(found) != 0 {
		t.Fatalf("purged trip still indexed: %+v", found)
	}
}

func testDayFigures(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	lab := newOrg(t, db, auth.KindLab)
	day := time.Date(2020, 5, 20, 0, 0, 0, 0, time.UTC)
	step := func(tr *store.Trip, a trip.Action, at time.Time) {
		t.Helper()
		must(t, db.AddTransition(ctx, &store.Transition{ID: id("trn"), TripID: tr.ID, Transition: trip.Transition{Action: a,
			From: trip.Approved, To: trip.Departed, Actor: trip.Actor{ID: "system", Role: trip.RoleSystem}, At: at}}))
	}
	a, b, c := newTrip(t, db, sp, t0), newTrip(t, db, sp, t0), newTrip(t, db, sp, t0)
	c.Lane = "KR-CN"
	must(t, db.UpdateTrip(ctx, c))
	step(a, trip.Depart, day.Add(time.Hour))
	step(b, trip.Depart, day.Add(23*time.Hour))
	step(b, trip.Arrive, day.Add(25*time.Hour))  // the next day
	step(a, trip.Approve, day.Add(-time.Minute)) // the day before
	step(c, trip.Depart, day.Add(2*time.Hour))   // another lane
	for i, tr := range []*store.Trip{a, c} {
		r := &store.TestResult{ID: id("tst"), TripID: tr.ID, LabOrgID: lab.ID, Stage: store.StageArrival, TestType: "LP6464-4", SampledAt: day,
			Result: store.ResultPositive, Country: "KR", UVCI: id("URN:UVCI:"), RecordedBy: "x", CreatedAt: day}
		must(t, db.AddTest(ctx, r))
		must(t, db.OpenCase(ctx, &store.Case{ID: id("cas"), TripID: tr.ID, TestID: r.ID, Stage: store.StageArrival, OpenedAt: day.Add(time.Duration(i+3) * time.Hour)}))
	}
	f, err := db.DayFigures(ctx, "CN-KR", day, day.AddDate(0, 0, 1))
	must(t, err)
	if len(f.Steps) != 1 || f.Steps["depart"] != 2 || len(f.Cases) != 1 || f.Cases["arrival"] != 1 {
		t.Fatalf("figures %+v", f)
	}
}
