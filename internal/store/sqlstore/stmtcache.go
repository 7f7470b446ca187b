package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// SQLite parses every statement it is given; on a busy node the parser
// costs more than the queries. stmtDB keeps each distinct query prepared
// once per pool (database/sql re-prepares it on each pooled connection as
// needed). PostgreSQL's pgx driver caches statements itself, so only the
// SQLite pools use this.
type stmtDB struct {
	db    *sql.DB
	stmts sync.Map // query text → *sql.Stmt
	n     atomic.Int32
}

// maxCachedStmts bounds the cache: Corridor's SQL is static text, but a
// query built with a variable number of placeholders must not grow it
// without end; past the bound queries run unprepared.
const maxCachedStmts = 512

func newStmtDB(db *sql.DB) *stmtDB { return &stmtDB{db: db} }

// cached returns the prepared statement for q, or nil.
func (s *stmtDB) cached(q string) *sql.Stmt {
	if v, ok := s.stmts.Load(q); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

func (s *stmtDB) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := s.cached(q); st != nil {
		return st
	}
	if s.n.Load() >= maxCachedStmts {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		// The unprepared call will report the same error where it
		// belongs.
		return nil
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	s.n.Add(1)
	return st
}

func (s *stmtDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, q, args...)
}

func (s *stmtDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}

func (s *stmtDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

// close releases the prepared statements before the pool closes.
func (s *stmtDB) close() {
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// stmtTx runs a transaction's queries through the writer pool's prepared
// statements (on SQLite's single writer connection they are prepared on
// the transaction's own connection). It cannot prepare a new one while the
// transaction holds that only connection, so a query seen for the first
// time runs unprepared and is noted; warm prepares the noted ones once the
// transaction has let the connection go.
type stmtTx struct {
	tx     *sql.Tx
	cache  *stmtDB
	misses *[]string
}

func (t stmtTx) prepared(q string) *sql.Stmt {
	if st := t.cache.cached(q); st != nil {
		return st
	}
	*t.misses = append(*t.misses, q)
	return nil
}

func (t stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.prepared(q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t stmtTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.prepared(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t stmtTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.prepared(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// warm prepares the queries a finished transaction ran unprepared.
func (s *stmtDB) warm(ctx context.Context, qs []string) {
	for _, q := range qs {
		s.stmt(ctx, q)
	}
}
