package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/bench"
	"github.com/corridorlane/corridor/internal/node"
)

// `corridor audit verify` walks the chain of a node's database, and names
// the entry an edit behind the node's back changed.
func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Open(context.Background(), node.Config{DataDir: dir, Country: "KR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Seed(context.Background(), n.App); err != nil {
		t.Fatal(err)
	}
	n.Close()

	code, out, errOut := runCorridor(t, "audit", "verify", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "audit log intact") {
		t.Fatalf("intact chain: exit %d\n%s%s", code, out, errOut)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "corridor.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	code, out, _ = runCorridor(t, "audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "entry 2") {
		t.Fatalf("changed entry: exit %d\n%s", code, out)
	}
}
