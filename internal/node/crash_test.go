package node_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/bench"
	"github.com/corridorlane/corridor/internal/node"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
)

// buildCorridor builds the real binary once for the package's tests.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func corridorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "corridor-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "corridor")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/corridorlane/corridor/cmd/corridor").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var servingRe = regexp.MustCompile(`serving on (http://[0-9.:]+)`)

// startServe runs `corridor serve` on dir and returns its process and URL.
func startServe(t *testing.T, bin, dir, policyFile string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--policy", policyFile)
	cmd.Stderr = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingRe.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("corridor serve did not start")
	}
	return nil, ""
}

// TestKillNineMidTransition kills a node with SIGKILL while 16 clients
// file, submit and approve trips, then checks that every trip is in its old
// state or its new one: its state is the last transition recorded for it,
// the quota taken equals the approvals recorded, and the audit chain is
// whole. It then restarts the node on the same data and goes on.
func TestKillNineMidTransition(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the corridor binary")
	}
	bin := corridorBinary(t)
	dir := t.TempDir()
	ctx := context.Background()

	// Seed organisations and tokens in-process, then hand the data
	// folder to the real binary.
	policyFile, err := bench.RoomyPolicy(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, node.Config{DataDir: dir, Country: "KR", PolicyFile: policyFile})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := bench.Seed(ctx, n.App)
	if err != nil {
		t.Fatal(err)
	}
	n.Close()

	for round := 1; round <= 3; round++ {
		cmd, base := startServe(t, bin, dir, policyFile)
		c := bench.NewClient(base, 16)
		var done atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := c.FileAndApprove(ctx, tokens, round*1_000_000+w*10_000+i); err == nil {
						done.Add(1)
					}
				}
			}(w)
		}
		// Kill once work is flowing, at a moment the clients do not
		// choose.
		deadline := time.Now().Add(20 * time.Second)
		for done.Load() < int64(20*round) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(37*round) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		close(stop)
		wg.Wait()
		if done.Load() == 0 {
			t.Fatalf("round %d: no trip was approved before the kill", round)
		}
		checkConsistent(t, dir, round)
	}
}

func checkConsistent(t *testing.T, dir string, round int) {
	t.Helper()
	path := filepath.Join(dir, "corridor.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT t.id, t.state,
		COALESCE((SELECT to_state FROM transitions x WHERE x.trip_id = t.id ORDER BY seq DESC LIMIT 1), ''),
		(SELECT COUNT(*) FROM transitions x WHERE x.trip_id = t.id)
		FROM trips t`)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for rows.Next() {
		var id, state, last string
		var n int
		if err := rows.Scan(&id, &state, &last, &n); err != nil {
			t.Fatal(err)
		}
		states[state]++
		switch {
		case n == 0 && state != "draft":
			t.Errorf("round %d: trip %s is %s with no transition recorded", round, id, state)
		case n > 0 && last != state:
			t.Errorf("round %d: trip %s is %s but its last transition leads to %s", round, id, state, last)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var approved, quota int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM trips WHERE state = 'approved'`).Scan(&approved); err != nil {
		t.Fatal(err)
	}
	// Each approval takes one unit of its region's quota and one of its
	// sponsor's: the region counters must add up to the approvals.
	if err := raw.QueryRow(`SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE scope = 'region'`).Scan(&quota); err != nil {
		t.Fatalf("reading quota usage: %v", err)
	}
	if quota != approved {
		t.Errorf("round %d: %d approvals but %d units of region quota taken", round, approved, quota)
	}
	db, err := sqlstore.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := audit.Verify(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil {
		t.Errorf("round %d: audit chain broken by the kill: %v", round, rep.Problem)
	}
	var parts []string
	for s, n := range states {
		parts = append(parts, fmt.Sprintf("%s %d", s, n))
	}
	t.Logf("round %d: after SIGKILL, trips: %s; audit entries %d, all consistent", round, strings.Join(parts, ", "), rep.Checked)
}
