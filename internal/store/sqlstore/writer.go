package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// writeGate orders SQLite's write transactions first come, first served.
// The writer pool has a single connection, and database/sql hands a freed
// connection to a random waiter, not the longest waiting: with tens of
// requests queued for the one writer, a few waited many turns in a row and
// set the tail latency. Goroutines blocked sending on a full channel are
// released in arrival order, so the channel is a fair lock.
type writeGate chan struct{}

func newWriteGate() writeGate { return make(writeGate, 1) }

// acquire waits for the writer's turn, or for ctx to end.
func (g writeGate) acquire(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g writeGate) release() { <-g }

// Checkpointing. In WAL mode every commit appends the pages it changed to
// the WAL, and a checkpoint copies them back into the database file and
// syncs it. SQLite runs that checkpoint by default inside the commit that
// takes the WAL past 1,000 pages, on the single writer connection: every
// hundred or so trip transactions (some 14 pages each) one commit took
// milliseconds to tens of milliseconds while every other writer queued
// behind it. The writer now leaves the WAL to a goroutine with its own
// connection, whose PASSIVE checkpoints copy pages while the writer goes
// on. SQLite rewinds the WAL to its start only when a checkpoint has
// caught up with its end and no reader still reads from it, which a
// checkpoint beside a busy writer never sees; so once the WAL is long the
// goroutine catches up once more and then takes the writer's turn for a
// RESTART checkpoint, which finds only the last few transactions' pages
// to copy and waits (briefly) for readers to leave the WAL. The next
// transaction then writes from the WAL's start.
const (
	// checkpointEvery is how often the goroutine looks at the WAL.
	checkpointEvery = 50 * time.Millisecond
	// rewindPages is the WAL length, in pages of 4 KiB, past which the
	// goroutine rewinds it: a WAL of up to 32 MiB, rewound a few times a
	// second at full load.
	rewindPages = 8192
	// checkpointBusyMS bounds the RESTART checkpoint's wait for readers,
	// since the writer waits with it; past it the WAL is rewound on a
	// later round.
	checkpointBusyMS = 20
	// backstopPages is the writer's own autocheckpoint threshold, which
	// bounds the WAL if the goroutine cannot rewind it (a long read
	// holding an old snapshot).
	backstopPages = 4 * rewindPages
)

// walTuning holds the WAL lengths, in pages, at which the checkpointer
// rewinds the WAL and the writer checkpoints by itself; tests shorten them.
type walTuning struct{ rewind, backstop int }

type checkpointer struct {
	db     *sql.DB
	gate   writeGate
	rewind int
	stop   context.CancelFunc
	done   chan struct{}
}

func startCheckpointer(db *sql.DB, gate writeGate, rewind int) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, gate: gate, rewind: rewind, stop: stop, done: make(chan struct{})}
	go c.loop(ctx)
	return c
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failed checkpoint leaves the pages in the WAL, where readers
		// still find them; the next tick, or the writer's backstop,
		// copies them.
		_ = c.run(ctx)
	}
}

// run checkpoints what it can without blocking the writer and, once the
// WAL is long, rewinds it.
func (c *checkpointer) run(ctx context.Context) error {
	log, err := c.checkpoint(ctx, "PASSIVE")
	if err != nil || log < c.rewind {
		return err
	}
	// Copy what was written during the first pass, still beside the
	// writer, so that little is left for the writer to wait on.
	if _, err := c.checkpoint(ctx, "PASSIVE"); err != nil {
		return err
	}
	if err := c.gate.acquire(ctx); err != nil {
		return err
	}
	defer c.gate.release()
	_, err = c.checkpoint(ctx, "RESTART")
	return err
}

// checkpoint runs PRAGMA wal_checkpoint(mode) and returns the WAL's
// length in pages. A checkpoint SQLite could not complete (another one
// running, readers still in the WAL) is not an error: the next round
// completes it.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (log int, err error) {
	var busy, done int
	err = c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &log, &done)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s checkpoint: %w", mode, err)
	}
	return log, nil
}

// close stops the goroutine; SQLite checkpoints the rest of the WAL when
// the last connection closes.
func (c *checkpointer) close() {
	if c == nil {
		return
	}
	c.stop()
	<-c.done
}
