package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/audit"
)

// Writers waiting for SQLite's one writer get it in the order they came:
// database/sql alone hands the connection to a random waiter.
func TestWriteGateIsFirstComeFirstServed(t *testing.T) {
	g := newWriteGate()
	ctx := context.Background()
	if err := g.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.acquire(ctx); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			g.release()
		}()
		// Let writer i queue before writer i+1 arrives.
		time.Sleep(10 * time.Millisecond)
	}
	g.release()
	wg.Wait()
	for i, w := range order {
		if w != i {
			t.Fatalf("writers got their turn in the order %v", order)
		}
	}

	// A writer that gives up waiting says why and leaves the turn to
	// the others.
	if err := g.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := g.acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the deadline: %v", err)
	}
	g.release()
	if err := g.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	g.release()
}

// Under a steady stream of writes and reads the checkpointer keeps the WAL
// short: it copies pages back while the writer goes on, and rewinds the
// WAL to its start once it is long. Without it the writer checkpoints
// only at the backstop, so the WAL would grow to the whole run's size.
// The test shortens both lengths, to write less.
func TestCheckpointerKeepsTheWALShort(t *testing.T) {
	if testing.Short() {
		t.Skip("writes some 50 MB")
	}
	path := filepath.Join(t.TempDir(), "corridor.db")
	ctx := context.Background()
	const rewind = 1024
	db, err := openSQLite(ctx, path, walTuning{rewind: rewind, backstop: 64 * rewind})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const writers, each = 8, 600
	detail := fmt.Sprintf("%0128d", 0) // a wide entry, so each fills pages faster
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	go func() { // a reader, whose snapshots the checkpointer must respect
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.AuditHead(ctx); err != nil {
				errs <- err
				return
			}
		}
	}()
	var maxWAL int64
	var mu sync.Mutex
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := &audit.Entry{At: start, Actor: "system", Action: "test.write", Object: fmt.Sprintf("obj:%d:%d", w, i),
					Details: map[string]string{"pad": detail}}
				if err := db.AppendAudit(ctx, e); err != nil {
					errs <- err
					return
				}
				if fi, err := os.Stat(path + "-wal"); err == nil {
					mu.Lock()
					maxWAL = max(maxWAL, fi.Size())
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	var pages int64
	if err := db.write.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// Every append rewrites at least the head's page, the entries' last
	// page and a page of the object index.
	written := int64(writers*each*3) * 4096
	t.Logf("%d appends wrote at least %d MB to the WAL; the WAL reached %.1f MB; database %.1f MB",
		writers*each, written>>20, float64(maxWAL)/(1<<20), float64(pages*4096)/(1<<20))
	if limit := int64(6*rewind) * 4096; maxWAL > limit || written < 2*limit {
		t.Fatalf("the WAL grew to %d bytes, over %d, with %d written: it was not rewound", maxWAL, limit, written)
	}
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || rep.Checked != writers*each {
		t.Fatalf("audit chain after the run: %d entries checked, problem %v", rep.Checked, rep.Problem)
	}
}
