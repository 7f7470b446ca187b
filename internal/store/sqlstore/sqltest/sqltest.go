// Package sqltest opens throw-away databases for tests, on SQLite always
// and on PostgreSQL when CORRIDOR_TEST_DATABASE_URL names a server. Each
// PostgreSQL database is a fresh schema, dropped when the test ends, so
// tests and concurrent runs never see each other's rows.
//
// On CI (CORRIDOR_CI set) a missing CORRIDOR_TEST_DATABASE_URL fails the
// test instead of skipping it: a green CI run must have covered both
// engines.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/corridorlane/corridor/internal/store/sqlstore"
)

// EnvURL names the PostgreSQL server for tests.
const EnvURL = "CORRIDOR_TEST_DATABASE_URL"

// EnvCI, when set, turns a skipped PostgreSQL test into a failure.
const EnvCI = "CORRIDOR_CI"

// Engine opens fresh databases of one kind.
type Engine struct {
	Name string
	// Open returns a new, empty, migrated database, closed (and dropped)
	// when the test ends.
	Open func(t testing.TB) *sqlstore.DB
	// Reopen opens another, separate connection pool on the database
	// behind db, closed when the test ends.
	Reopen func(t testing.TB, db *sqlstore.DB) *sqlstore.DB
	// Exec runs raw SQL ('?' placeholders) on the database behind db,
	// around the store: for tests that tamper with rows.
	Exec func(t testing.TB, db *sqlstore.DB, query string, args ...any)
}

// Engines returns SQLite and PostgreSQL; see ForEach.
func Engines() []Engine { return []Engine{SQLite(), Postgres()} }

// ForEach runs f as a subtest per engine. The PostgreSQL subtest skips
// without CORRIDOR_TEST_DATABASE_URL, or fails on CI.
func ForEach(t *testing.T, f func(t *testing.T, e Engine)) {
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			if e.Name == "postgres" {
				RequirePostgres(t) // once, not in every subtest
			}
			f(t, e)
		})
	}
}

// sources remembers the file or URL behind each database so that Reopen
// and Exec can find it.
var sources sync.Map // *sqlstore.DB -> string

func source(t testing.TB, db *sqlstore.DB) string {
	s, ok := sources.Load(db)
	if !ok {
		t.Fatalf("sqltest: database not opened by sqltest")
	}
	return s.(string)
}

// rawExec opens a plain connection of driver on dsn and runs query.
func rawExec(t testing.TB, driver, dsn, query string, args ...any) {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("sqltest: %s: %v", query, err)
	}
}

// SQLite opens a database file in the test's temporary folder.
func SQLite() Engine {
	return Engine{
		Name: "sqlite",
		Open: func(t testing.TB) *sqlstore.DB {
			t.Helper()
			path := filepath.Join(t.TempDir(), "corridor.db")
			db, err := sqlstore.OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatalf("opening SQLite: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			sources.Store(db, path)
			return db
		},
		Reopen: func(t testing.TB, db *sqlstore.DB) *sqlstore.DB {
			t.Helper()
			other, err := sqlstore.OpenSQLite(context.Background(), source(t, db))
			if err != nil {
				t.Fatalf("reopening SQLite: %v", err)
			}
			t.Cleanup(func() { other.Close() })
			return other
		},
		Exec: func(t testing.TB, db *sqlstore.DB, query string, args ...any) {
			t.Helper()
			rawExec(t, "sqlite", "file:"+source(t, db)+"?_pragma=busy_timeout(10000)", query, args...)
		},
	}
}

// Postgres opens a fresh schema on the server named by
// CORRIDOR_TEST_DATABASE_URL.
func Postgres() Engine {
	return Engine{
		Name: "postgres",
		Open: func(t testing.TB) *sqlstore.DB {
			t.Helper()
			u := PostgresURL(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := sqlstore.OpenPostgres(ctx, u)
			if err != nil {
				t.Fatalf("opening PostgreSQL: %v", err)
			}
			// Registered after the drop, so it runs before it.
			t.Cleanup(func() { db.Close() })
			sources.Store(db, u)
			return db
		},
		Reopen: func(t testing.TB, db *sqlstore.DB) *sqlstore.DB {
			t.Helper()
			other, err := sqlstore.OpenPostgres(context.Background(), source(t, db))
			if err != nil {
				t.Fatalf("reopening PostgreSQL: %v", err)
			}
			t.Cleanup(func() { other.Close() })
			return other
		},
		Exec: func(t testing.TB, db *sqlstore.DB, query string, args ...any) {
			t.Helper()
			rawExec(t, "pgx", source(t, db), rebind(query), args...)
		},
	}
}

// rebind renumbers '?' placeholders as $1, $2, ...
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RequirePostgres returns the test server's URL, skipping the test when
// none is configured, or failing it on CI.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u != "" {
		return u
	}
	if os.Getenv(EnvCI) != "" {
		t.Fatalf("%s is set but %s is not: the PostgreSQL tests must run on CI", EnvCI, EnvURL)
	}
	t.Skipf("%s not set: PostgreSQL tests skipped", EnvURL)
	return ""
}

// withSearchPath adds search_path=schema to a postgres:// URL; pgx sends
// unknown URL parameters to the server as run-time settings.
func withSearchPath(base, schema string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
