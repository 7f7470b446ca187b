package sqlstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/store"
)

// AppendAudit takes the chain's head row with an UPDATE, which locks it
// until the transaction ends on PostgreSQL (and is the single writer on
// SQLite), so appends are strictly one after the other and each links to
// the entry committed before it.
func (c *conn) AppendAudit(ctx context.Context, e *audit.Entry) error {
	if err := e.Check(); err != nil {
		return err
	}
	if !c.inTx {
		// The head update and the entry insert must be one unit.
		return c.InTx(ctx, func(tx store.Store) error { return tx.AppendAudit(ctx, e) })
	}
	var head audit.Head
	var hash string
	err := c.queryRowWrite(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq - 1, hash`).Scan(&head.Seq, &hash)
	if err != nil {
		return fmt.Errorf("audit: taking the head: %w", c.classify(err))
	}
	if head.Hash, err = hex.DecodeString(hash); err != nil {
		return fmt.Errorf("audit: head hash is not hex: %w", err)
	}
	e.Seal(head)
	details, err := json.Marshal(e.Details)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	args := []any{e.Seq, e.At.UnixMilli(), e.Actor, e.Role, e.Action, e.Object, string(details),
		hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash), hex.EncodeToString(e.Hash), e.Seq}
	missing := fmt.Errorf("audit: the head row is missing")
	if c.d == dialectPostgres {
		// Every append waits for the one before it to commit, so each
		// round trip made while holding the head delays all the others:
		// the entry and the head's new hash go in one statement.
		if err := c.execOne(ctx, missing, `WITH entry AS (INSERT INTO audit_entries (`+auditColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?))
			UPDATE audit_head SET hash = ? WHERE id = 1 AND seq = ?`, args...); err != nil {
			return fmt.Errorf("audit: appending entry %d: %w", e.Seq, err)
		}
		return nil
	}
	if _, err := c.exec(ctx, `INSERT INTO audit_entries (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args[:9]...); err != nil {
		return fmt.Errorf("audit: appending entry %d: %w", e.Seq, err)
	}
	return c.execOne(ctx, missing, `UPDATE audit_head SET hash = ? WHERE id = 1 AND seq = ?`, args[9:]...)
}

const auditColumns = `seq, occurred_at, actor, actor_role, action, object, details, prev_hash, hash`

func scanAudit(s interface{ Scan(...any) error }) (*audit.Entry, error) {
	var e audit.Entry
	var at int64
	var details, prev, hash string
	if err := s.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Object, &details, &prev, &hash); err != nil {
		return nil, err
	}
	e.At = time.UnixMilli(at).UTC()
	// A row altered into unreadable JSON or hex still yields an entry, so
	// that Verify reports it as changed instead of failing to read.
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
		e.Details = map[string]string{"unreadable_details": strconv.Quote(details)}
	}
	e.PrevHash, _ = hex.DecodeString(prev)
	e.Hash, _ = hex.DecodeString(hash)
	return &e, nil
}

func (c *conn) AuditEntries(ctx context.Context, after int64, limit int) ([]audit.Entry, error) {
	rows, err := c.query(ctx, `SELECT `+auditColumns+` FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT `+strconv.Itoa(limit), after)
	if err != nil {
		return nil, fmt.Errorf("audit: reading entries: %w", err)
	}
	return collect(rows, scanAudit)
}

func (c *conn) AuditHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	var hash string
	if err := c.queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &hash); err != nil {
		return h, fmt.Errorf("audit: reading the head: %w", c.classify(err))
	}
	var err error
	if h.Hash, err = hex.DecodeString(hash); err != nil {
		return h, fmt.Errorf("audit: head hash is not hex: %w", err)
	}
	return h, nil
}

func (c *conn) AuditFor(ctx context.Context, object string, limit int) ([]audit.Entry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := c.query(ctx, `SELECT `+auditColumns+` FROM audit_entries WHERE object = ? ORDER BY seq DESC LIMIT `+strconv.Itoa(limit), object)
	if err != nil {
		return nil, fmt.Errorf("audit: reading entries: %w", err)
	}
	return collect(rows, scanAudit)
}
