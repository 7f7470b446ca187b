package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/trip"
)

// TestPolicyChangeSurvivesRestart: a version put in force by an officer
// is kept in the store, so the node runs it again after a restart even
// though its policy file (here the shipped one) is older.
func TestPolicyChangeSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "kr")
	open := func() *Node {
		t.Helper()
		n, err := Open(ctx, Config{Listen: "127.0.0.1:0", DataDir: dir, Country: "KR"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	cur := n.App.Policy()
	next := strings.Replace(string(cur.Document()), fmt.Sprintf(`"version": %d,`, cur.Version), fmt.Sprintf(`"version": %d,`, cur.Version+1), 1)
	// The use case's permission is tested in app and web; here an
	// officer's principal is enough.
	joint := app.Principal{Kind: app.KindUser, ID: "usr-joint", OrgID: "org-joint", OrgKind: auth.KindJointMechanism, Roles: auth.Roles{trip.RoleJoint}}
	np, err := n.App.ChangePolicy(ctx, joint, []byte(next))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = open()
	defer n.Close()
	if p := n.App.Policy(); p.Version != np.Version || p.Digest() != np.Digest() {
		t.Fatalf("after a restart the node runs version %d (%s), want %d (%s)", p.Version, p.Digest(), np.Version, np.Digest())
	}
}
