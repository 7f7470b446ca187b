package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are embedded SQL files named NNNN_name.sql, applied in order.
// A file in migrations/<dialect>/ with the same number replaces the shared
// one for that engine, for the rare statement the engines cannot share.
//
// A small runner rather than goose: goose's PostgreSQL version table uses
// an identity column (a sequence), which this schema avoids for the sake of
// distributed engines, and its per-dialect handling would still need the
// override folders below; what remains is forty lines.
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int64
	name    string
	sql     string
}

func (c *conn) migrations() ([]migration, error) {
	byVersion := map[int64]migration{}
	read := func(dir string, override bool) error {
		entries, err := fs.ReadDir(migrationFS, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
			v, err := strconv.ParseInt(num, 10, 64)
			if !ok || err != nil || v < 1 {
				return fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
			}
			if _, dup := byVersion[v]; dup && !override {
				return fmt.Errorf("migration %d appears twice", v)
			}
			b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			byVersion[v] = migration{version: v, name: name, sql: string(b)}
		}
		return nil
	}
	if err := read("migrations", false); err != nil {
		return nil, err
	}
	if err := read("migrations/"+c.d.String(), true); err != nil {
		return nil, err
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies every migration not yet applied, each in its own
// transaction with its version row, so a failure leaves the schema at the
// last whole step. Two nodes starting at once are safe: the loser of a race
// fails on the version row or on the objects the winner created, finds the
// version applied, and moves on.
func (db *DB) Migrate(ctx context.Context) error {
	if _, err := db.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("%s: migrations table: %w", db.d, err)
	}
	ms, err := db.migrations()
	if err != nil {
		return fmt.Errorf("%s: %w", db.d, err)
	}
	for _, m := range ms {
		applied, err := db.migrationApplied(ctx, m.version)
		if err != nil {
			return err
		}
		if applied {
			continue
		}
		err = db.applyMigration(ctx, m)
		if err == nil {
			continue
		}
		if again, _ := db.migrationApplied(ctx, m.version); again {
			continue // another node applied it meanwhile
		}
		return fmt.Errorf("%s: migration %04d_%s: %w", db.d, m.version, m.name, err)
	}
	return nil
}

func (db *DB) migrationApplied(ctx context.Context, v int64) (bool, error) {
	var n int
	err := db.queryRowWrite(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("%s: reading migrations: %w", db.d, err)
	}
	return n > 0, nil
}

func (db *DB) applyMigration(ctx context.Context, m migration) error {
	tx, err := db.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range splitStatements(m.sql) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w\n in: %s", err, firstLine(stmt))
		}
	}
	// The version row goes last: CockroachDB refuses a schema change after
	// a write in the same transaction.
	if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// splitStatements cuts a migration at semicolons that end a line, dropping
// comment lines. Migrations are Corridor's own files: no semicolon ends a
// line inside a string literal.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.queryRowWrite(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
