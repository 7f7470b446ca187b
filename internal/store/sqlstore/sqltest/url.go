package sqltest

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// PostgresURL creates a fresh schema on the test server and returns a
// connection URL whose search path is that schema, for code that opens
// its own database (a node, a command run as a process). The schema is
// dropped when the test ends. It skips the test without a server, or
// fails it on CI, as RequirePostgres does.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := "corridor_test_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres: creating schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("postgres: dropping schema %s: %v", schema, err)
		}
	})
	u, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	return u
}
