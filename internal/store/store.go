// Package store says what Corridor keeps and how the application reaches
// it: the records (organisations, people, trips and their health data,
// quotas, the audit chain) and one small interface per concern. The SQL
// implementation, shared by SQLite and PostgreSQL, lives in sqlstore; the
// one test suite both must pass lives in storetest.
//
// A Store is satisfied both by a connection and by a transaction (InTx), so
// the same code runs inside or outside one; a use case that must be all or
// nothing runs in InTx. A later federation outbox is one more interface
// here, written in the same transaction as the change it reports.
package store

import (
	"context"
	"errors"

	"github.com/corridorlane/corridor/internal/audit"
)

// Sentinel errors, wrapped with context by the implementations: test with
// errors.Is.
var (
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value is taken, or the row changed since it
	// was read (an optimistic version check failed).
	ErrConflict = errors.New("conflict")
	// ErrBadCursor: a page cursor that the store did not make.
	ErrBadCursor = errors.New("not a valid page cursor")
)

// Store is everything the application keeps.
type Store interface {
	Orgs
	Users
	Sessions
	Trips
	Health
	Quotas
	AuditLog
	Federation
	Ledger

	// InTx runs fn in one transaction: everything fn writes through tx
	// is committed when fn returns nil and rolled back otherwise. Called
	// on a transaction, it joins it. fn may run more than once when the
	// database asks to retry a serialization failure, so it must not
	// have effects outside tx that cannot be repeated.
	InTx(ctx context.Context, fn func(tx Store) error) error
}

// DB is an open database: a Store plus what only a connection can do.
type DB interface {
	Store
	// Migrate brings the schema up to date; opening a DB runs it too.
	Migrate(ctx context.Context) error
	// Ping checks the database answers (readiness).
	Ping(ctx context.Context) error
	// Dialect names the engine: "sqlite" or "postgres".
	Dialect() string
	Close() error
}

// AuditLog keeps the hash-chained audit log.
type AuditLog interface {
	audit.Source
	// AppendAudit links e after the current head, computes its hash and
	// stores it, setting e.Seq, e.PrevHash and e.Hash. Appends are
	// serialised: call it last in a transaction, so that the lock on the
	// chain's head is held as briefly as possible.
	AppendAudit(ctx context.Context, e *audit.Entry) error
	// AuditFor lists the entries about one object, newest first.
	AuditFor(ctx context.Context, object string, limit int) ([]audit.Entry, error)
}
