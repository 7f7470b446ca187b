// Package sqlstore is the SQL implementation of store.Store, one code base
// for two engines: SQLite through the pure-Go modernc.org/sqlite (the
// default, embedded in the binary) and PostgreSQL through pgx's
// database/sql driver (production). The SQL is the common ground of
// SQLite, PostgreSQL, CockroachDB and YugabyteDB: queries are written with
// '?' placeholders and renumbered to $1, $2, ... for PostgreSQL.
//
// pgx is used through database/sql rather than its native pool so that both
// engines run exactly the same query code; Corridor's queries are small and
// few, and nothing here needs pgx's batch or COPY features.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/corridorlane/corridor/internal/store"
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs the store's queries, either on the database or inside one
// transaction. It is the one type that implements store.Store.
type conn struct {
	d dialect
	// On SQLite reads go to a pool of read-only connections and writes to
	// a single connection, since SQLite has one writer at a time anyway
	// and a second writer would only wait on the file lock. On
	// PostgreSQL both are the same pool. Inside a transaction both are
	// the transaction.
	read, write querier
	// writeDB begins transactions; nil inside one.
	writeDB *sql.DB
	// writeStmts holds the writer's prepared statements on SQLite, for
	// transactions to reuse; nil on PostgreSQL.
	writeStmts *stmtDB
	// gate queues SQLite's write transactions in arrival order; nil on
	// PostgreSQL and inside a transaction.
	gate writeGate
	inTx bool
}

// DB is an open database.
type DB struct {
	*conn
	pools []*sql.DB
	stmts []*stmtDB
	ckpt  *checkpointer // SQLite only
}

var _ store.DB = (*DB)(nil)

// Open opens the database named by url and brings its schema up to date:
// "postgres://..." or "postgresql://..." for PostgreSQL, "sqlite:PATH" or
// a plain file path for SQLite.
func Open(ctx context.Context, url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return OpenPostgres(ctx, url)
	case strings.HasPrefix(url, "sqlite:"):
		return OpenSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("database %q: only postgres:// and SQLite file paths are supported", redactURL(url))
	}
	return OpenSQLite(ctx, url)
}

// SQLite settings: WAL lets readers run beside the writer; busy_timeout
// makes a second process wait for the lock instead of failing at once;
// foreign keys are off by default in SQLite; _txlock=immediate takes the
// write lock at BEGIN, so two transactions never both read and then both
// try to upgrade to writing (which deadlocks, and SQLite answers with
// SQLITE_BUSY without waiting).
const sqliteBusyTimeoutMS = 10000

func sqliteDSN(path string, readOnly bool, busyMS int, extra ...string) string {
	params := []string{
		"_pragma=busy_timeout(" + strconv.Itoa(busyMS) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)", // with WAL: durable at checkpoints, never corrupt
		"_txlock=immediate",
	}
	if readOnly {
		params = append(params, "_pragma=query_only(1)")
	}
	params = append(params, extra...)
	return "file:" + path + "?" + strings.Join(params, "&")
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// migrates it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	return openSQLite(ctx, path, walTuning{rewind: rewindPages, backstop: backstopPages})
}

func openSQLite(ctx context.Context, path string, wt walTuning) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must be a plain file path", path)
	}
	// The writer checkpoints only as a backstop; see checkpointer.
	w, err := sql.Open("sqlite", sqliteDSN(path, false, sqliteBusyTimeoutMS, "_pragma=wal_autocheckpoint("+strconv.Itoa(wt.backstop)+")"))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// The writer must create the file and switch it to WAL before a
	// read-only connection opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, true, sqliteBusyTimeoutMS))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	ck, err := sql.Open("sqlite", sqliteDSN(path, false, checkpointBusyMS))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ws, rs := newStmtDB(w), newStmtDB(r)
	gate := newWriteGate()
	db := &DB{conn: &conn{d: dialectSQLite, read: rs, write: ws, writeDB: w, writeStmts: ws, gate: gate},
		pools: []*sql.DB{w, r, ck}, stmts: []*stmtDB{ws, rs}}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.ckpt = startCheckpointer(ck, gate, wt.rewind)
	return db, nil
}

// OpenPostgres connects to PostgreSQL (or a compatible engine) and
// migrates the database.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	p, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", redactURL(url), err)
	}
	p.SetMaxOpenConns(25)
	p.SetMaxIdleConns(10)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres %s: %w", redactURL(url), err)
	}
	db := &DB{conn: &conn{d: dialectPostgres, read: p, write: p, writeDB: p}, pools: []*sql.DB{p}}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// redactURL hides a password in a connection URL for messages.
func redactURL(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// Dialect names the engine.
func (db *DB) Dialect() string { return db.d.String() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	for _, p := range db.pools {
		if err := p.PingContext(ctx); err != nil {
			return fmt.Errorf("%s: %w", db.d, err)
		}
	}
	return nil
}

// Close closes every pool.
func (db *DB) Close() error {
	db.ckpt.close()
	for _, s := range db.stmts {
		s.close()
	}
	var errs []error
	for _, p := range db.pools {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// maxTxAttempts bounds retries of a transaction that the database aborted
// to keep it serializable (PostgreSQL under contention; CockroachDB
// whenever two transactions touch the same rows).
const maxTxAttempts = 8

// InTx runs fn in a transaction; see store.Store.
func (c *conn) InTx(ctx context.Context, fn func(tx store.Store) error) error {
	if c.inTx {
		return fn(c)
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = c.runTx(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// Back off a little, more each time, so that the transactions
		// that collided do not collide again in lockstep.
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * time.Millisecond):
		}
	}
}

func (c *conn) runTx(ctx context.Context, fn func(tx store.Store) error) (err error) {
	if c.gate != nil {
		if err := c.gate.acquire(ctx); err != nil {
			return fmt.Errorf("%s: begin: %w", c.d, err)
		}
		defer c.gate.release()
	}
	tx, err := c.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", c.d, c.classify(err))
	}
	var misses []string
	committed := false
	defer func() {
		if !committed {
			// A rollback error is less useful than the error that
			// caused it, and a failed connection is discarded by
			// database/sql anyway.
			_ = tx.Rollback()
		}
		// Only now is the writer connection free to prepare on.
		if c.writeStmts != nil {
			c.writeStmts.warm(context.WithoutCancel(ctx), misses)
		}
	}()
	var q querier = tx
	if c.writeStmts != nil {
		q = stmtTx{tx: tx, cache: c.writeStmts, misses: &misses}
	}
	if err := fn(&conn{d: c.d, read: q, write: q, inTx: true}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", c.d, c.classify(err))
	}
	committed = true
	return nil
}

// errRetry marks a serialization failure or deadlock the engine asks the
// client to retry.
var errRetry = errors.New("transaction aborted by the database, to be retried")

func retryable(err error) bool { return errors.Is(err, errRetry) }

// classify turns driver errors into the store's sentinels: unique
// violations into ErrConflict, retryable aborts into errRetry.
func (c *conn) classify(err error) error {
	if err == nil {
		return nil
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", store.ErrConflict, pg.ConstraintName)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("%w: %v", errRetry, err)
		}
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	return err
}

// rebind renumbers '?' placeholders for PostgreSQL. Corridor's SQL never
// holds a '?' inside a string literal, so a plain scan is enough.
func (c *conn) rebind(q string) string {
	if c.d != dialectPostgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (c *conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := c.write.ExecContext(ctx, c.rebind(q), args...)
	return res, c.classify(err)
}

// execOne runs a write that must touch exactly one row; none is notFound.
func (c *conn) execOne(ctx context.Context, notFound error, q string, args ...any) error {
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

func (c *conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := c.read.QueryContext(ctx, c.rebind(q), args...)
	return rows, c.classify(err)
}

func (c *conn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return c.read.QueryRowContext(ctx, c.rebind(q), args...)
}

// queryRowWrite reads through the writer: for UPDATE ... RETURNING, and
// for reads that must see the transaction's own writes on SQLite outside
// a transaction.
func (c *conn) queryRowWrite(ctx context.Context, q string, args ...any) *sql.Row {
	return c.write.QueryRowContext(ctx, c.rebind(q), args...)
}

// notFound wraps store.ErrNotFound with what was looked for.
func notFound(what string) error { return fmt.Errorf("%s: %w", what, store.ErrNotFound) }

// scanErr turns sql.ErrNoRows into ErrNotFound.
func (c *conn) scanErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, c.classify(err))
	}
	return nil
}

// Instants are stored as Unix milliseconds; the zero time as NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nullText stores "" as NULL, for unique columns that may be unset.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
