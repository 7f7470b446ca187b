package demo

import (
	"context"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
)

// engines runs fn once per database engine, PostgreSQL only where the
// test database is configured (sqltest skips it otherwise, or fails it
// under CORRIDOR_CI).
func engines(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { fn(t, engine) })
	}
}

// startDriven starts two nodes on engine, their clock driven by the test,
// and stops them when the test ends.
func startDriven(t *testing.T, engine string, opts Options, timeout time.Duration) (context.Context, *Demo) {
	t.Helper()
	opts.Dir, opts.Driven = t.TempDir(), true
	if engine == "postgres" {
		opts.DatabaseURLs = map[string]string{"CN": sqltest.PostgresURL(t), "KR": sqltest.PostgresURL(t)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	d, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return ctx, d
}
