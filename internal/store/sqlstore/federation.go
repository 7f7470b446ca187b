package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// Sequence numbers are uint64 on the wire and BIGINT here; no node will
// send 2^63 messages, but a number that large from a peer must fail
// cleanly rather than wrap.
func seqArg(n uint64) (int64, error) {
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("sequence number %d is out of range", n)
	}
	return int64(n), nil
}

// inChunks runs fn on slices of at most 500 items, below every engine's
// limit on bound parameters.
func inChunks[T any](items []T, fn func(chunk []T) error) error {
	const size = 500
	for len(items) > 0 {
		n := min(size, len(items))
		if err := fn(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func anySlice[T any](items []T) []any {
	out := make([]any, len(items))
	for i, v := range items {
		out[i] = v
	}
	return out
}

// insertOnce runs an INSERT ... ON CONFLICT DO NOTHING and turns "no row
// inserted" into ErrConflict, saying what was taken. A failed unique
// insert would abort a PostgreSQL transaction; this lets the caller find
// out and carry on.
func (c *conn) insertOnce(ctx context.Context, taken, q string, args ...any) error {
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", taken, store.ErrConflict)
	}
	return nil
}

// --- peers

func (c *conn) PutPeer(ctx context.Context, p *store.Peer) error {
	_, err := c.exec(ctx, `INSERT INTO federation_peers (country, url, csca_pem, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (country) DO UPDATE SET url = excluded.url, csca_pem = excluded.csca_pem, updated_at = excluded.updated_at`,
		p.Country, p.URL, p.CSCAPEM, p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("saving peer %s: %w", p.Country, err)
	}
	return nil
}

const peerColumns = `country, url, csca_pem, created_at, updated_at`

func scanPeer(s interface{ Scan(...any) error }) (*store.Peer, error) {
	var p store.Peer
	var created, updated int64
	if err := s.Scan(&p.Country, &p.URL, &p.CSCAPEM, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &p, nil
}

func (c *conn) GetPeer(ctx context.Context, country string) (*store.Peer, error) {
	p, err := scanPeer(c.queryRow(ctx, `SELECT `+peerColumns+` FROM federation_peers WHERE country = ?`, country))
	if err := c.scanErr(err, "peer "+country); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *conn) ListPeers(ctx context.Context) ([]store.Peer, error) {
	rows, err := c.query(ctx, `SELECT `+peerColumns+` FROM federation_peers ORDER BY country`)
	if err != nil {
		return nil, fmt.Errorf("listing peers: %w", err)
	}
	return collect(rows, scanPeer)
}

// --- outbox

// NextOutbox adds one to two counter rows, the stream's and the peer's
// position (the row of the empty stream), creating them at 1, in one
// statement; the update holds both rows' locks until the transaction
// ends.
func (c *conn) NextOutbox(ctx context.Context, peer, stream string) (uint64, uint64, error) {
	if stream == "" {
		return 0, 0, errors.New("reserving an outbox number: a stream is required")
	}
	rows, err := c.write.QueryContext(ctx, c.rebind(`INSERT INTO federation_out_counters (peer, stream, last) VALUES (?, ?, 1), (?, '', 1)
		ON CONFLICT (peer, stream) DO UPDATE SET last = federation_out_counters.last + 1
		RETURNING stream, last`), peer, stream, peer)
	if err != nil {
		return 0, 0, fmt.Errorf("reserving an outbox number to %s on %s: %w", peer, stream, c.classify(err))
	}
	defer rows.Close()
	var seq, pos int64
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return 0, 0, err
		}
		if st == "" {
			pos = n
		} else {
			seq = n
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reserving an outbox number to %s on %s: %w", peer, stream, c.classify(err))
	}
	if seq == 0 || pos == 0 {
		return 0, 0, fmt.Errorf("reserving an outbox number to %s on %s: the counters did not answer", peer, stream)
	}
	return uint64(seq), uint64(pos), nil
}

func (c *conn) AddOutbox(ctx context.Context, m *store.OutboxMessage) error {
	seq, err := seqArg(m.Seq)
	if err != nil {
		return err
	}
	pos, err := seqArg(m.Pos)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO federation_outbox (peer, stream, seq, pos, id, type, envelope, created_at, attempts,
		next_attempt_at, last_error, acked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Peer, m.Stream, seq, pos, m.ID, m.Type, string(m.Envelope), m.CreatedAt.UnixMilli(), m.Attempts,
		m.NextAttemptAt.UnixMilli(), m.LastError, ms(m.AckedAt))
	if err != nil {
		return fmt.Errorf("writing message %s to the outbox: %w", m.ID, err)
	}
	return nil
}

const outboxColumns = `peer, stream, seq, pos, id, type, envelope, created_at, attempts, next_attempt_at, last_error, acked_at`

func scanOutbox(s interface{ Scan(...any) error }) (*store.OutboxMessage, error) {
	var m store.OutboxMessage
	var seq, pos, created, next int64
	var env string
	var acked sql.NullInt64
	if err := s.Scan(&m.Peer, &m.Stream, &seq, &pos, &m.ID, &m.Type, &env, &created, &m.Attempts, &next, &m.LastError, &acked); err != nil {
		return nil, err
	}
	m.Seq, m.Pos, m.Envelope = uint64(seq), uint64(pos), []byte(env)
	m.CreatedAt, m.NextAttemptAt, m.AckedAt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC(), fromMS(acked)
	return &m, nil
}

func limitOf(n, def, max int) int {
	if n <= 0 {
		return def
	}
	return min(n, max)
}

func (c *conn) DueOutbox(ctx context.Context, peer string, now time.Time, limit int) ([]store.OutboxMessage, error) {
	rows, err := c.query(ctx, `SELECT `+outboxColumns+` FROM federation_outbox
		WHERE peer = ? AND acked_at IS NULL AND next_attempt_at <= ? ORDER BY pos LIMIT `+strconv.Itoa(limitOf(limit, 100, 10000)),
		peer, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("reading the outbox to %s: %w", peer, err)
	}
	return collect(rows, scanOutbox)
}

func (c *conn) OutboxAfter(ctx context.Context, peer, stream string, after uint64, limit int) ([]store.OutboxMessage, error) {
	a, err := seqArg(after)
	if err != nil {
		return nil, err
	}
	rows, err := c.query(ctx, `SELECT `+outboxColumns+` FROM federation_outbox
		WHERE peer = ? AND stream = ? AND seq > ? ORDER BY seq LIMIT `+strconv.Itoa(limitOf(limit, 100, 10000)),
		peer, stream, a)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox to %s on %s: %w", peer, stream, err)
	}
	return collect(rows, scanOutbox)
}

func (c *conn) AckOutbox(ctx context.Context, peer string, upTo map[string]uint64, ids []string, at time.Time) (int, error) {
	total := 0
	add := func(res sql.Result) {
		if n, err := res.RowsAffected(); err == nil {
			total += int(n)
		}
	}
	for stream, seq := range upTo {
		s, err := seqArg(seq)
		if err != nil {
			return total, err
		}
		res, err := c.exec(ctx, `UPDATE federation_outbox SET acked_at = ? WHERE peer = ? AND acked_at IS NULL AND stream = ? AND seq <= ?`,
			at.UnixMilli(), peer, stream, s)
		if err != nil {
			return total, fmt.Errorf("acknowledging messages to %s: %w", peer, err)
		}
		add(res)
	}
	err := inChunks(ids, func(chunk []string) error {
		args := append([]any{at.UnixMilli(), peer}, anySlice(chunk)...)
		res, err := c.exec(ctx, `UPDATE federation_outbox SET acked_at = ? WHERE peer = ? AND acked_at IS NULL AND id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return fmt.Errorf("acknowledging messages to %s: %w", peer, err)
		}
		add(res)
		return nil
	})
	return total, err
}

func (c *conn) RetryOutboxLater(ctx context.Context, peer string, ids []string, next time.Time, lastErr string) error {
	if len(lastErr) > 500 {
		lastErr = strings.ToValidUTF8(lastErr[:500], "")
	}
	return inChunks(ids, func(chunk []string) error {
		args := append([]any{next.UnixMilli(), lastErr, peer}, anySlice(chunk)...)
		_, err := c.exec(ctx, `UPDATE federation_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?
			WHERE peer = ? AND acked_at IS NULL AND id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return fmt.Errorf("deferring messages to %s: %w", peer, err)
		}
		return nil
	})
}

func (c *conn) OutboxStatus(ctx context.Context, peer string) (store.OutboxStatus, error) {
	st := store.OutboxStatus{LastSeq: map[string]uint64{}}
	var oldest sql.NullInt64
	err := c.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM federation_outbox WHERE peer = ? AND acked_at IS NULL`, peer).
		Scan(&st.Unacked, &oldest)
	if err != nil {
		return st, fmt.Errorf("outbox status of %s: %w", peer, c.classify(err))
	}
	st.OldestUnacked = fromMS(oldest)
	// The newest messages by position are the last acknowledged, give or
	// take a pull acknowledging one stream ahead of another: a window of
	// them keeps this a short walk down the (peer, pos) index however
	// many delivered messages the outbox keeps.
	var acked sql.NullInt64
	if err := c.queryRow(ctx, `SELECT MAX(acked_at) FROM (SELECT acked_at FROM federation_outbox
		WHERE peer = ? AND acked_at IS NOT NULL ORDER BY pos DESC LIMIT 100) recent`, peer).Scan(&acked); err != nil {
		return st, fmt.Errorf("outbox status of %s: %w", peer, c.classify(err))
	}
	st.LastAcked = fromMS(acked)
	if st.Unacked > 0 {
		err := c.queryRow(ctx, `SELECT last_error, attempts FROM federation_outbox WHERE peer = ? AND acked_at IS NULL ORDER BY pos LIMIT 1`, peer).
			Scan(&st.LastError, &st.Attempts)
		// The message may have been acknowledged since the count.
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return st, fmt.Errorf("outbox status of %s: %w", peer, c.classify(err))
		}
	}
	rows, err := c.query(ctx, `SELECT stream, last FROM federation_out_counters WHERE peer = ? AND stream <> ''`, peer)
	if err != nil {
		return st, fmt.Errorf("outbox status of %s: %w", peer, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return st, err
		}
		st.LastSeq[s] = uint64(n)
	}
	return st, rows.Err()
}

func (c *conn) PruneOutbox(ctx context.Context, ackedBefore time.Time) (int, error) {
	res, err := c.exec(ctx, `DELETE FROM federation_outbox WHERE acked_at IS NOT NULL AND acked_at < ?`, ackedBefore.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("pruning the outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// --- inbox

func (c *conn) LockInbox(ctx context.Context, peer, stream string) (uint64, error) {
	var next int64
	// An update that changes nothing still takes the row's lock on
	// PostgreSQL; SQLite has a single writer anyway.
	err := c.queryRowWrite(ctx, `INSERT INTO federation_inbox_cursors (peer, stream, next_seq) VALUES (?, ?, 1)
		ON CONFLICT (peer, stream) DO UPDATE SET next_seq = federation_inbox_cursors.next_seq
		RETURNING next_seq`, peer, stream).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("locking the inbox of %s on %s: %w", peer, stream, c.classify(err))
	}
	return uint64(next), nil
}

func (c *conn) InboxCursors(ctx context.Context, peer string) (map[string]uint64, error) {
	rows, err := c.query(ctx, `SELECT stream, next_seq FROM federation_inbox_cursors WHERE peer = ?`, peer)
	if err != nil {
		return nil, fmt.Errorf("reading the inbox cursors of %s: %w", peer, err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = uint64(n)
	}
	return out, rows.Err()
}

func (c *conn) SetInboxCursor(ctx context.Context, peer, stream string, next uint64) error {
	n, err := seqArg(next)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO federation_inbox_cursors (peer, stream, next_seq) VALUES (?, ?, ?)
		ON CONFLICT (peer, stream) DO UPDATE SET next_seq = excluded.next_seq`, peer, stream, n)
	if err != nil {
		return fmt.Errorf("moving the inbox cursor of %s on %s: %w", peer, stream, err)
	}
	return nil
}

func (c *conn) AddSeen(ctx context.Context, m *store.SeenMessage) error {
	seq, err := seqArg(m.Seq)
	if err != nil {
		return err
	}
	return c.insertOnce(ctx, fmt.Sprintf("message %s was seen already", m.ID),
		`INSERT INTO federation_inbox_seen (id, peer, stream, seq, type, digest, outcome, received_at, done_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		m.ID, m.Peer, m.Stream, seq, m.Type, m.Digest, m.Outcome, m.ReceivedAt.UnixMilli(), ms(m.DoneAt))
}

// AddSeenBatch writes the rows with multi-row inserts: one statement per
// chunk rather than per message, which is most of an inbox's writes.
func (c *conn) AddSeenBatch(ctx context.Context, seen []store.SeenMessage) error {
	return inChunks(seen, func(chunk []store.SeenMessage) error {
		args := make([]any, 0, 9*len(chunk))
		for _, m := range chunk {
			seq, err := seqArg(m.Seq)
			if err != nil {
				return err
			}
			args = append(args, m.ID, m.Peer, m.Stream, seq, m.Type, m.Digest, m.Outcome, m.ReceivedAt.UnixMilli(), ms(m.DoneAt))
		}
		_, err := c.exec(ctx, `INSERT INTO federation_inbox_seen (id, peer, stream, seq, type, digest, outcome, received_at, done_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", "), args...)
		if err != nil {
			return fmt.Errorf("recording %d messages as seen: %w", len(chunk), err)
		}
		return nil
	})
}

const seenColumns = `id, peer, stream, seq, type, digest, outcome, received_at, done_at`

func scanSeen(s interface{ Scan(...any) error }) (*store.SeenMessage, error) {
	var m store.SeenMessage
	var seq, received int64
	var done sql.NullInt64
	if err := s.Scan(&m.ID, &m.Peer, &m.Stream, &seq, &m.Type, &m.Digest, &m.Outcome, &received, &done); err != nil {
		return nil, err
	}
	m.Seq, m.ReceivedAt, m.DoneAt = uint64(seq), time.UnixMilli(received).UTC(), fromMS(done)
	return &m, nil
}

func (c *conn) GetSeen(ctx context.Context, id string) (*store.SeenMessage, error) {
	m, err := scanSeen(c.queryRow(ctx, `SELECT `+seenColumns+` FROM federation_inbox_seen WHERE id = ?`, id))
	if err := c.scanErr(err, "message "+id); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *conn) SeenAmong(ctx context.Context, ids []string) (map[string]store.SeenMessage, error) {
	out := map[string]store.SeenMessage{}
	err := inChunks(ids, func(chunk []string) error {
		rows, err := c.query(ctx, `SELECT `+seenColumns+` FROM federation_inbox_seen WHERE id IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("looking up seen messages: %w", err)
		}
		list, err := collect(rows, scanSeen)
		if err != nil {
			return fmt.Errorf("looking up seen messages: %w", err)
		}
		for _, m := range list {
			out[m.ID] = m
		}
		return nil
	})
	return out, err
}

func (c *conn) SetSeenOutcome(ctx context.Context, id, outcome string, at time.Time) error {
	return c.execOne(ctx, notFound("message "+id), `UPDATE federation_inbox_seen SET outcome = ?, done_at = ? WHERE id = ?`,
		outcome, at.UnixMilli(), id)
}

func (c *conn) HoldMessage(ctx context.Context, h *store.HeldMessage) error {
	seq, err := seqArg(h.Seq)
	if err != nil {
		return err
	}
	return c.insertOnce(ctx, fmt.Sprintf("another message waits at %s/%s/%d", h.Peer, h.Stream, h.Seq),
		`INSERT INTO federation_inbox_held (peer, stream, seq, id, envelope, received_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (peer, stream, seq) DO NOTHING`,
		h.Peer, h.Stream, seq, h.ID, string(h.Envelope), h.ReceivedAt.UnixMilli())
}

func (c *conn) TakeHeld(ctx context.Context, peer, stream string, seq uint64) (*store.HeldMessage, error) {
	s, err := seqArg(seq)
	if err != nil {
		return nil, err
	}
	h := store.HeldMessage{Peer: peer, Stream: stream, Seq: seq}
	var env string
	var received int64
	err = c.queryRowWrite(ctx, `DELETE FROM federation_inbox_held WHERE peer = ? AND stream = ? AND seq = ? RETURNING id, envelope, received_at`,
		peer, stream, s).Scan(&h.ID, &env, &received)
	if err := c.scanErr(err, fmt.Sprintf("held message %s/%s/%d", peer, stream, seq)); err != nil {
		return nil, err
	}
	h.Envelope, h.ReceivedAt = []byte(env), time.UnixMilli(received).UTC()
	return &h, nil
}

func (c *conn) InboxGaps(ctx context.Context) ([]store.InboxGap, error) {
	rows, err := c.query(ctx, `SELECT h.peer, h.stream, COALESCE(MAX(k.next_seq), 1), MIN(h.seq), COUNT(*)
		FROM federation_inbox_held h LEFT JOIN federation_inbox_cursors k ON k.peer = h.peer AND k.stream = h.stream
		GROUP BY h.peer, h.stream ORDER BY h.peer, h.stream`)
	if err != nil {
		return nil, fmt.Errorf("finding inbox gaps: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.InboxGap, error) {
		var g store.InboxGap
		var next, first int64
		if err := s.Scan(&g.Peer, &g.Stream, &next, &first, &g.Held); err != nil {
			return nil, err
		}
		g.Next, g.FirstHeld = uint64(next), uint64(first)
		return &g, nil
	})
}

func (c *conn) AddDeadLetter(ctx context.Context, d *store.DeadLetter) error {
	seq, err := seqArg(d.Seq)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO federation_dead_letters (id, peer, stream, seq, type, envelope, reason, failed_at, attempts, resolved_at, resolved_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Peer, d.Stream, seq, d.Type, string(d.Envelope), d.Reason, d.FailedAt.UnixMilli(), d.Attempts, ms(d.ResolvedAt), d.ResolvedBy)
	if err != nil {
		return fmt.Errorf("recording dead letter %s: %w", d.ID, err)
	}
	return nil
}

const deadColumns = `id, peer, stream, seq, type, envelope, reason, failed_at, attempts, resolved_at, resolved_by`

func scanDead(s interface{ Scan(...any) error }) (*store.DeadLetter, error) {
	var d store.DeadLetter
	var seq, failed int64
	var env string
	var resolved sql.NullInt64
	if err := s.Scan(&d.ID, &d.Peer, &d.Stream, &seq, &d.Type, &env, &d.Reason, &failed, &d.Attempts, &resolved, &d.ResolvedBy); err != nil {
		return nil, err
	}
	d.Seq, d.Envelope, d.FailedAt, d.ResolvedAt = uint64(seq), []byte(env), time.UnixMilli(failed).UTC(), fromMS(resolved)
	return &d, nil
}

func (c *conn) GetDeadLetter(ctx context.Context, id string) (*store.DeadLetter, error) {
	d, err := scanDead(c.queryRow(ctx, `SELECT `+deadColumns+` FROM federation_dead_letters WHERE id = ?`, id))
	if err := c.scanErr(err, "dead letter "+id); err != nil {
		return nil, err
	}
	return d, nil
}

func (c *conn) ListDeadLetters(ctx context.Context, f store.DeadLetterFilter) ([]store.DeadLetter, error) {
	var where []string
	var args []any
	if f.Peer != "" {
		where, args = append(where, "peer = ?"), append(args, f.Peer)
	}
	if f.OpenOnly {
		where = append(where, "resolved_at IS NULL")
	}
	q := `SELECT ` + deadColumns + ` FROM federation_dead_letters`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY failed_at, id LIMIT " + strconv.Itoa(limitOf(f.Limit, 100, 1000))
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	return collect(rows, scanDead)
}

func (c *conn) RetriedDeadLetter(ctx context.Context, id, reason string, at time.Time) error {
	return c.execOne(ctx, notFound("open dead letter "+id),
		`UPDATE federation_dead_letters SET attempts = attempts + 1, reason = ?, failed_at = ? WHERE id = ? AND resolved_at IS NULL`,
		reason, at.UnixMilli(), id)
}

func (c *conn) ResolveDeadLetter(ctx context.Context, id, by string, at time.Time) error {
	return c.execOne(ctx, fmt.Errorf("dead letter %s is resolved already or unknown: %w", id, store.ErrConflict),
		`UPDATE federation_dead_letters SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL`,
		at.UnixMilli(), by, id)
}

func (c *conn) AddCounts(ctx context.Context, peer string, counts map[string]int64) error {
	for name, n := range counts {
		if n == 0 {
			continue
		}
		_, err := c.exec(ctx, `INSERT INTO federation_counters (peer, name, n) VALUES (?, ?, ?)
			ON CONFLICT (peer, name) DO UPDATE SET n = federation_counters.n + excluded.n`, peer, name, n)
		if err != nil {
			return fmt.Errorf("counting %s for %s: %w", name, peer, err)
		}
	}
	return nil
}

func (c *conn) Counts(ctx context.Context) (map[string]map[string]int64, error) {
	rows, err := c.query(ctx, `SELECT peer, name, n FROM federation_counters`)
	if err != nil {
		return nil, fmt.Errorf("reading counters: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var peer, name string
		var n int64
		if err := rows.Scan(&peer, &name, &n); err != nil {
			return nil, err
		}
		if out[peer] == nil {
			out[peer] = map[string]int64{}
		}
		out[peer][name] = n
	}
	return out, rows.Err()
}

// --- lists and revocations

func (c *conn) PutPeerList(ctx context.Context, l *store.PeerList) (bool, error) {
	seq, err := seqArg(l.Sequence)
	if err != nil {
		return false, err
	}
	res, err := c.exec(ctx, `INSERT INTO federation_peer_lists (peer, kind, sequence, data, received_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (peer, kind) DO UPDATE SET sequence = excluded.sequence, data = excluded.data, received_at = excluded.received_at
		WHERE federation_peer_lists.sequence < excluded.sequence`,
		l.Peer, l.Kind, seq, string(l.Data), l.ReceivedAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("saving %s's %s list: %w", l.Peer, l.Kind, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (c *conn) GetPeerList(ctx context.Context, peer, kind string) (*store.PeerList, error) {
	l := store.PeerList{Peer: peer, Kind: kind}
	var seq, received int64
	var data string
	err := c.queryRow(ctx, `SELECT sequence, data, received_at FROM federation_peer_lists WHERE peer = ? AND kind = ?`, peer, kind).
		Scan(&seq, &data, &received)
	if err := c.scanErr(err, peer+"'s "+kind+" list"); err != nil {
		return nil, err
	}
	l.Sequence, l.Data, l.ReceivedAt = uint64(seq), []byte(data), time.UnixMilli(received).UTC()
	return &l, nil
}

func (c *conn) AddRevoked(ctx context.Context, r *store.Revoked) error {
	_, err := c.exec(ctx, `INSERT INTO revoked_credentials (hash_type, hash, kid, revoked_at, revoked_by) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (hash_type, hash, kid) DO NOTHING`, r.HashType, r.Hash, r.Kid, r.RevokedAt.UnixMilli(), r.RevokedBy)
	if err != nil {
		return fmt.Errorf("recording a revocation: %w", err)
	}
	return nil
}

func (c *conn) ListRevoked(ctx context.Context) ([]store.Revoked, error) {
	rows, err := c.query(ctx, `SELECT hash_type, hash, kid, revoked_at, revoked_by FROM revoked_credentials ORDER BY revoked_at, hash`)
	if err != nil {
		return nil, fmt.Errorf("listing revocations: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.Revoked, error) {
		var r store.Revoked
		var at int64
		if err := s.Scan(&r.HashType, &r.Hash, &r.Kid, &at, &r.RevokedBy); err != nil {
			return nil, err
		}
		r.RevokedAt = time.UnixMilli(at).UTC()
		return &r, nil
	})
}

// --- trip links

func (c *conn) AddTripLink(ctx context.Context, l *store.TripLink) error {
	return c.insertOnce(ctx, fmt.Sprintf("trip %s is linked already", l.TripID),
		`INSERT INTO federation_trip_links (trip_id, peer, side, passport_country, passport_salt, passport_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trip_id) DO NOTHING`,
		l.TripID, l.Peer, l.Side, l.PassportCountry, l.PassportSalt, l.PassportHash, l.CreatedAt.UnixMilli())
}

func (c *conn) GetTripLink(ctx context.Context, tripID string) (*store.TripLink, error) {
	var l store.TripLink
	var created int64
	err := c.queryRow(ctx, `SELECT trip_id, peer, side, passport_country, passport_salt, passport_hash, created_at
		FROM federation_trip_links WHERE trip_id = ?`, tripID).
		Scan(&l.TripID, &l.Peer, &l.Side, &l.PassportCountry, &l.PassportSalt, &l.PassportHash, &created)
	if err := c.scanErr(err, "link of trip "+tripID); err != nil {
		return nil, err
	}
	l.CreatedAt = time.UnixMilli(created).UTC()
	return &l, nil
}

// --- tracing

func (c *conn) AddPeerCase(ctx context.Context, k *store.PeerCase) error {
	return c.insertOnce(ctx, fmt.Sprintf("%s's case %s is known already", k.Peer, k.Ref),
		`INSERT INTO federation_peer_cases (ref, peer, lane, stage, detected_on, trip_ref, trip_id, exposure, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (peer, ref) DO NOTHING`,
		k.Ref, k.Peer, k.Lane, k.Stage, k.DetectedOn, k.TripRef, k.TripID, string(k.Exposure), k.ReceivedAt.UnixMilli())
}

const peerCaseColumns = `ref, peer, lane, stage, detected_on, trip_ref, trip_id, exposure, received_at`

func scanPeerCase(s interface{ Scan(...any) error }) (*store.PeerCase, error) {
	var k store.PeerCase
	var exp string
	var at int64
	if err := s.Scan(&k.Ref, &k.Peer, &k.Lane, &k.Stage, &k.DetectedOn, &k.TripRef, &k.TripID, &exp, &at); err != nil {
		return nil, err
	}
	k.Exposure, k.ReceivedAt = []byte(exp), time.UnixMilli(at).UTC()
	return &k, nil
}

func (c *conn) GetPeerCase(ctx context.Context, peer, ref string) (*store.PeerCase, error) {
	k, err := scanPeerCase(c.queryRow(ctx, `SELECT `+peerCaseColumns+` FROM federation_peer_cases WHERE peer = ? AND ref = ?`, peer, ref))
	if err := c.scanErr(err, peer+"'s case "+ref); err != nil {
		return nil, err
	}
	return k, nil
}

func (c *conn) ListPeerCases(ctx context.Context, limit int) ([]store.PeerCase, error) {
	rows, err := c.query(ctx, `SELECT `+peerCaseColumns+` FROM federation_peer_cases ORDER BY received_at DESC, ref LIMIT `+
		strconv.Itoa(limitOf(limit, 100, 1000)))
	if err != nil {
		return nil, fmt.Errorf("listing notified cases: %w", err)
	}
	return collect(rows, scanPeerCase)
}

func (c *conn) AddContact(ctx context.Context, k *store.TracedContact) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO trace_contacts (case_ref, trip_id, rules, source, found_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (case_ref, trip_id) DO NOTHING`, k.CaseRef, k.TripID, strings.Join(k.Rules, ","), k.Source, k.FoundAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("flagging a contact of case %s: %w", k.CaseRef, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (c *conn) listContacts(ctx context.Context, where string, arg any) ([]store.TracedContact, error) {
	rows, err := c.query(ctx, `SELECT case_ref, trip_id, rules, source, found_at FROM trace_contacts WHERE `+where+` ORDER BY found_at, case_ref, trip_id`, arg)
	if err != nil {
		return nil, fmt.Errorf("listing contacts: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.TracedContact, error) {
		var k store.TracedContact
		var rules string
		var at int64
		if err := s.Scan(&k.CaseRef, &k.TripID, &rules, &k.Source, &at); err != nil {
			return nil, err
		}
		if rules != "" {
			k.Rules = strings.Split(rules, ",")
		}
		k.FoundAt = time.UnixMilli(at).UTC()
		return &k, nil
	})
}

func (c *conn) ListContacts(ctx context.Context, caseRef string) ([]store.TracedContact, error) {
	return c.listContacts(ctx, "case_ref = ?", caseRef)
}

func (c *conn) ContactsOfTrip(ctx context.Context, tripID string) ([]store.TracedContact, error) {
	return c.listContacts(ctx, "trip_id = ?", tripID)
}

func (c *conn) RecentContacts(ctx context.Context, limit int) ([]store.ContactOnTrip, error) {
	rows, err := c.query(ctx, `SELECT k.case_ref, k.trip_id, k.rules, k.source, k.found_at, t.reference, t.state
		FROM trace_contacts k JOIN trips t ON t.id = k.trip_id
		ORDER BY k.found_at DESC, k.case_ref, k.trip_id LIMIT `+strconv.Itoa(limitOf(limit, 100, 1000)))
	if err != nil {
		return nil, fmt.Errorf("listing recent contacts: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*store.ContactOnTrip, error) {
		var k store.ContactOnTrip
		var rules, state string
		var at int64
		if err := s.Scan(&k.CaseRef, &k.TripID, &rules, &k.Source, &at, &k.TripRef, &state); err != nil {
			return nil, err
		}
		if rules != "" {
			k.Rules = strings.Split(rules, ",")
		}
		k.FoundAt, k.TripState = time.UnixMilli(at).UTC(), trip.State(state)
		return &k, nil
	})
}

func (c *conn) AddTraceRequest(ctx context.Context, r *store.TraceRequest) error {
	_, err := c.exec(ctx, `INSERT INTO trace_requests (ref, case_ref, peer, sent_at, answered_at, contacts) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Ref, r.CaseRef, r.Peer, r.SentAt.UnixMilli(), ms(r.AnsweredAt), r.Contacts)
	if err != nil {
		return fmt.Errorf("recording trace request %s: %w", r.Ref, err)
	}
	return nil
}

const traceRequestColumns = `ref, case_ref, peer, sent_at, answered_at, contacts`

func scanTraceRequest(s interface{ Scan(...any) error }) (*store.TraceRequest, error) {
	var r store.TraceRequest
	var sent int64
	var answered sql.NullInt64
	if err := s.Scan(&r.Ref, &r.CaseRef, &r.Peer, &sent, &answered, &r.Contacts); err != nil {
		return nil, err
	}
	r.SentAt, r.AnsweredAt = time.UnixMilli(sent).UTC(), fromMS(answered)
	return &r, nil
}

func (c *conn) GetTraceRequest(ctx context.Context, ref string) (*store.TraceRequest, error) {
	r, err := scanTraceRequest(c.queryRow(ctx, `SELECT `+traceRequestColumns+` FROM trace_requests WHERE ref = ?`, ref))
	if err := c.scanErr(err, "trace request "+ref); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *conn) ListTraceRequests(ctx context.Context, limit int) ([]store.TraceRequest, error) {
	rows, err := c.query(ctx, `SELECT `+traceRequestColumns+` FROM trace_requests ORDER BY sent_at DESC, ref LIMIT `+
		strconv.Itoa(limitOf(limit, 100, 1000)))
	if err != nil {
		return nil, fmt.Errorf("listing tracing requests: %w", err)
	}
	return collect(rows, scanTraceRequest)
}

func (c *conn) AnswerTraceRequest(ctx context.Context, ref string, at time.Time, contacts int) error {
	return c.execOne(ctx, notFound("trace request "+ref), `UPDATE trace_requests SET answered_at = ?, contacts = ? WHERE ref = ?`,
		at.UnixMilli(), contacts, ref)
}

func (c *conn) PutExposure(ctx context.Context, e *store.Exposure, keys []string) error {
	sites, err := json.Marshal(e.Sites)
	if err != nil {
		return err
	}
	if _, err := c.exec(ctx, `INSERT INTO trace_exposures (trip_id, trip_ref, flight, flight_date, seat, hold_site, hold_from, hold_until, sites)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (trip_id) DO UPDATE SET trip_ref = excluded.trip_ref, flight = excluded.flight, flight_date = excluded.flight_date,
			seat = excluded.seat, hold_site = excluded.hold_site, hold_from = excluded.hold_from, hold_until = excluded.hold_until,
			sites = excluded.sites`,
		e.TripID, e.TripRef, e.Flight, e.FlightDate, e.Seat, e.HoldSite, ms(e.HoldFrom), ms(e.HoldUntil), string(sites)); err != nil {
		return fmt.Errorf("saving the exposure of trip %s: %w", e.TripID, err)
	}
	if _, err := c.exec(ctx, `DELETE FROM trace_keys WHERE trip_id = ?`, e.TripID); err != nil {
		return fmt.Errorf("replacing the tracing keys of trip %s: %w", e.TripID, err)
	}
	return inChunks(keys, func(chunk []string) error {
		args := make([]any, 0, 2*len(chunk))
		for _, k := range chunk {
			args = append(args, keyHash(k), e.TripID)
		}
		q := `INSERT INTO trace_keys (tkey, trip_id) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?), ", len(chunk)), ", ") +
			` ON CONFLICT (tkey, trip_id) DO NOTHING`
		if _, err := c.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("writing the tracing keys of trip %s: %w", e.TripID, err)
		}
		return nil
	})
}

// keyHash files a tracing key under 63 bits of its FNV-1a hash: a million
// trips file some fifteen million keys, and an integer keeps the index a
// third of the size of the text. Two keys that share a hash only add a
// candidate, which the exact rules then turn down.
func keyHash(k string) int64 {
	h := fnv.New64a()
	h.Write([]byte(k))
	return int64(h.Sum64() >> 1)
}

const exposureColumns = `trip_id, trip_ref, flight, flight_date, seat, hold_site, hold_from, hold_until, sites`

func scanExposure(s interface{ Scan(...any) error }) (*store.Exposure, error) {
	var e store.Exposure
	var from, until sql.NullInt64
	var sites string
	if err := s.Scan(&e.TripID, &e.TripRef, &e.Flight, &e.FlightDate, &e.Seat, &e.HoldSite, &from, &until, &sites); err != nil {
		return nil, err
	}
	e.HoldFrom, e.HoldUntil = fromMS(from), fromMS(until)
	if err := json.Unmarshal([]byte(sites), &e.Sites); err != nil {
		return nil, fmt.Errorf("the sites of trip %s: %w", e.TripID, err)
	}
	return &e, nil
}

func (c *conn) GetExposure(ctx context.Context, tripID string) (*store.Exposure, error) {
	e, err := scanExposure(c.queryRow(ctx, `SELECT `+exposureColumns+` FROM trace_exposures WHERE trip_id = ?`, tripID))
	if err := c.scanErr(err, "exposure of trip "+tripID); err != nil {
		return nil, err
	}
	return e, nil
}

func (c *conn) ExposuresByKeys(ctx context.Context, keys []string) ([]store.Exposure, error) {
	var out []store.Exposure
	seen := map[string]bool{}
	err := inChunks(keys, func(chunk []string) error {
		hashes := make([]any, len(chunk))
		for i, k := range chunk {
			hashes[i] = keyHash(k)
		}
		rows, err := c.query(ctx, `SELECT `+exposureColumns+` FROM trace_exposures WHERE trip_id IN
			(SELECT trip_id FROM trace_keys WHERE tkey IN (`+placeholders(len(chunk))+`))`, hashes...)
		if err != nil {
			return fmt.Errorf("finding trace candidates: %w", err)
		}
		list, err := collect(rows, scanExposure)
		if err != nil {
			return fmt.Errorf("finding trace candidates: %w", err)
		}
		for _, e := range list {
			if !seen[e.TripID] {
				seen[e.TripID] = true
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

func (c *conn) PutPeerStats(ctx context.Context, s *store.PeerStats) error {
	_, err := c.exec(ctx, `INSERT INTO federation_peer_stats (peer, day, lane, body, received_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (peer, day, lane) DO UPDATE SET body = excluded.body, received_at = excluded.received_at`,
		s.Peer, s.Date, s.Lane, string(s.Body), s.ReceivedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("saving %s's figures of %s: %w", s.Peer, s.Date, err)
	}
	return nil
}

func (c *conn) ListPeerStats(ctx context.Context, peer string, limit int) ([]store.PeerStats, error) {
	rows, err := c.query(ctx, `SELECT peer, day, lane, body, received_at FROM federation_peer_stats WHERE peer = ?
		ORDER BY day DESC, lane LIMIT `+strconv.Itoa(limitOf(limit, 100, 1000)), peer)
	if err != nil {
		return nil, fmt.Errorf("listing %s's figures: %w", peer, err)
	}
	return collect(rows, scanPeerStats)
}

func scanPeerStats(s interface{ Scan(...any) error }) (*store.PeerStats, error) {
	var p store.PeerStats
	var body string
	var at int64
	if err := s.Scan(&p.Peer, &p.Date, &p.Lane, &body, &at); err != nil {
		return nil, err
	}
	p.Body, p.ReceivedAt = []byte(body), time.UnixMilli(at).UTC()
	return &p, nil
}

func (c *conn) DayFigures(ctx context.Context, lane string, from, to time.Time) (store.DayFigures, error) {
	f := store.DayFigures{Steps: map[string]int{}, Cases: map[string]int{}}
	count := func(q string, into map[string]int) error {
		rows, err := c.query(ctx, q, lane, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			into[k] = n
		}
		return rows.Err()
	}
	if err := count(`SELECT r.action, COUNT(*) FROM transitions r JOIN trips t ON t.id = r.trip_id
		WHERE t.lane = ? AND r.occurred_at >= ? AND r.occurred_at < ? GROUP BY r.action`, f.Steps); err != nil {
		return f, fmt.Errorf("counting the steps on lane %s: %w", lane, err)
	}
	if err := count(`SELECT k.stage, COUNT(*) FROM cases k JOIN trips t ON t.id = k.trip_id
		WHERE t.lane = ? AND k.opened_at >= ? AND k.opened_at < ? GROUP BY k.stage`, f.Cases); err != nil {
		return f, fmt.Errorf("counting the cases on lane %s: %w", lane, err)
	}
	// Secondary cases count by the day they were detected, which is all
	// the ledger knows of them.
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM secondary_cases WHERE lane = ? AND detected_on >= ? AND detected_on < ?`,
		lane, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly)).Scan(&n); err != nil {
		return f, fmt.Errorf("counting the secondary cases on lane %s: %w", lane, err)
	}
	if n > 0 {
		f.Cases[string(store.StageSecondary)] = n
	}
	return f, nil
}
