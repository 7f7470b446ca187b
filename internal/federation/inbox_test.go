package federation_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/policies"
)

// TestInboxOrder: messages that come early wait for their predecessor,
// copies are recognised, and each message is applied once, in order.
func TestInboxOrder(t *testing.T) {
	engines(t, func(t *testing.T, url func() string) {
		r := newReceiver(t, url())
		m := make([]*envelope.Message, 6)
		for i := 1; i <= 5; i++ {
			m[i] = r.seal(stats(i))
		}
		step := func(name string, got *federation.Acks, applied, dup, held []*envelope.Message, through uint64) {
			t.Helper()
			if !slices.Equal(got.Applied, ids(applied...)) || !slices.Equal(got.Duplicate, ids(dup...)) ||
				!slices.Equal(got.Held, ids(held...)) || len(got.Dead) != 0 || len(got.Refused) != 0 || got.Through["stats"] != through {
				t.Fatalf("%s: %s", name, fmtAcks(got))
			}
		}
		step("3 first", r.deliver(m[3]), nil, nil, []*envelope.Message{m[3]}, 0)
		step("then 1", r.deliver(m[1]), []*envelope.Message{m[1]}, nil, nil, 1)
		// 2 fills the gap: 2 and the waiting 3 apply; the copy of 2 in
		// the same delivery is recognised.
		step("2 twice", r.deliver(m[2], m[2]), []*envelope.Message{m[2]}, []*envelope.Message{m[2]}, nil, 3)
		step("5 then 4", r.deliver(m[5], m[4]), []*envelope.Message{m[4]}, nil, []*envelope.Message{m[5]}, 5)
		step("all again", r.deliver(m[1], m[2], m[3], m[4], m[5]), nil, []*envelope.Message{m[1], m[2], m[3], m[4], m[5]}, nil, 5)
		// Received: 1+1+2+2+5 copies = 11; applied 5, each once.
		wantCounts(t, r.counts(), map[string]int64{"received": 11, "applied": 5, "duplicate": 6, "held": 2})
		got, err := r.n.Store.ListPeerStats(bg, "KR", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("%d days of figures stored, want 5", len(got))
		}
		gaps, err := r.n.Store.InboxGaps(bg)
		if err != nil || len(gaps) != 0 {
			t.Fatalf("gaps left: %v %v", gaps, err)
		}
	})
}

// TestInboxRefusals: forged, altered, misdirected, stale, replayed and
// malformed input is refused, counted by reason, and changes nothing.
func TestInboxRefusals(t *testing.T) {
	engines(t, func(t *testing.T, url func() string) {
		r := newReceiver(t, url())
		first := r.seal(stats(1))
		r.deliver(first)

		// Forged: a federation key certified by another CSCA claiming KR.
		forgerDir := filepath.Join(t.TempDir(), "forger")
		if _, err := keys.Init(forgerDir, "KR", keys.Options{}); err != nil {
			t.Fatal(err)
		}
		forger, err := envelope.Create(forgerDir, keys.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fm, err := envelope.Seal(forger, "CN", 2, stats(2), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fd, err := envelope.SealDelivery(forger, "CN", "", [][]byte{fm.Raw}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, r, "forged", fd, "KR", http.StatusForbidden)

		// Altered: one byte of a genuine delivery changed.
		good := r.delivery(time.Now(), r.seal(stats(2)))
		altered := alterPayload(t, good)
		wantRefused(t, r, "altered", altered, "KR", http.StatusBadRequest)

		// Stale: a genuine delivery sent an hour ago, played back now.
		wantRefused(t, r, "stale", r.delivery(time.Now().Add(-time.Hour), r.seal(stats(3))), "KR", http.StatusConflict)

		// Malformed: not an envelope at all.
		wantRefused(t, r, "malformed", []byte(`{"hello":"world"}`), "KR", http.StatusBadRequest)

		// Unknown sender: refused before any check, counted apart.
		status, _ := r.post(federation.PathDeliveries, "JP", good)
		if status != http.StatusForbidden {
			t.Fatalf("a delivery from a country that is not a peer answered %d", status)
		}

		// Misdirected: a genuine message for Japan inside a genuine
		// delivery to China; its neighbour is taken.
		r.seq["stats"] = 1 // the refused deliveries above used numbers 2 and 3; they never arrived
		toJP, err := envelope.Seal(r.kr, "JP", 99, stats(9), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		next := r.seal(stats(2))
		a := r.deliver(toJP, next)
		if len(a.Refused) != 1 || a.Refused[0].Index != 0 || a.Refused[0].Reason != "misdirected" || !slices.Equal(a.Applied, ids(next)) {
			t.Fatalf("misdirected: %s", fmtAcks(a))
		}

		// Replayed: the id of a message already taken, with other content,
		// signed by the peer itself (which is how only the peer, or its
		// stolen key, could do it).
		replay := reuseID(t, r.kr, first, stats(7))
		a = r.deliver(replay)
		if len(a.Refused) != 1 || a.Refused[0].Reason != "replayed" || len(a.Applied)+len(a.Duplicate) != 0 {
			t.Fatalf("replayed: %s", fmtAcks(a))
		}
		// A faithful copy of the same message is a duplicate, not a replay.
		a = r.deliver(first)
		if !slices.Equal(a.Duplicate, ids(first)) {
			t.Fatalf("copy: %s", fmtAcks(a))
		}
		wantCounts(t, r.counts(), map[string]int64{"received": 4, "applied": 2, "duplicate": 1,
			"forged": 1, "altered": 1, "stale": 1, "malformed": 1, "misdirected": 1, "replayed": 1})
		all, err := r.n.Store.Counts(bg)
		if err != nil {
			t.Fatal(err)
		}
		if all[""]["forged"] != 1 {
			t.Fatalf("the unknown sender was not counted apart: %v", all)
		}
		days, err := r.n.Store.ListPeerStats(bg, "KR", 10)
		if err != nil || len(days) != 2 {
			t.Fatalf("%d days applied (%v), want 2: refused input must change nothing", len(days), err)
		}
	})
}

func wantRefused(t *testing.T, r *receiver, reason string, body []byte, peer string, status int) {
	t.Helper()
	got, out := r.post(federation.PathDeliveries, peer, body)
	var e struct{ Reason string }
	json.Unmarshal(out, &e)
	if got != status || e.Reason != reason {
		t.Fatalf("%s: answered %d %s, want %d with reason %s", reason, got, out, status, reason)
	}
}

// alterPayload changes one character of a signed delivery's payload,
// keeping it valid base64 and JSON, so only the signature can tell.
func alterPayload(t *testing.T, raw []byte) []byte {
	t.Helper()
	var outer struct {
		Cert []byte `json:"cert"`
		DSSE struct {
			PayloadType string            `json:"payloadType"`
			Payload     string            `json:"payload"`
			Signatures  []json.RawMessage `json:"signatures"`
		} `json:"dsse"`
	}
	if err := json.Unmarshal(raw, &outer); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(outer.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(p, &d); err != nil {
		t.Fatal(err)
	}
	d["sent_at"] = time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano) // a plausible change
	p2, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	outer.DSSE.Payload = base64.StdEncoding.EncodeToString(p2)
	out, err := json.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// reuseID signs, with the peer's own key, a message that carries the id
// (and stream and number) of an earlier one but another body.
func reuseID(t *testing.T, id *envelope.Identity, earlier *envelope.Message, body envelope.Body) *envelope.Message {
	t.Helper()
	rawBody, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"v": envelope.Version, "id": earlier.ID, "sender": earlier.Sender,
		"receiver": earlier.Receiver, "stream": earlier.Stream, "seq": earlier.Seq, "time": time.Now().UTC(),
		"type": body.Type(), "body": json.RawMessage(rawBody)})
	if err != nil {
		t.Fatal(err)
	}
	env, err := trust.SealEnvelope(envelope.PayloadMessage, payload, id.Cert, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	var dsse json.RawMessage = env
	raw, err := json.Marshal(struct {
		Cert []byte          `json:"cert"`
		DSSE json.RawMessage `json:"dsse"`
	}{id.Cert.Raw, dsse})
	if err != nil {
		t.Fatal(err)
	}
	m, err := envelope.Verify(raw, "CN", id.CSCA, time.Now())
	if err != nil {
		t.Fatalf("the re-signed message does not verify: %v", err)
	}
	return m
}

// approvalFor is an approval Korea issued on lane CN-KR.
func approvalFor(t *testing.T, ref, passport string) *envelope.ApprovalIssued {
	t.Helper()
	id, err := dcc.NewUVCI("KR", "AP", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ap := approval.Approval{Ver: approval.Version, ID: id, Nam: approval.Name{Fn: "Zhang", Fnt: "ZHANG", Gn: "Wei", Gnt: "WEI"},
		Dob: "1985-03-02", Lane: "CN-KR", Region: "KR", Purpose: "engineering",
		ValidFrom: now.Format(time.RFC3339), ValidUntil: now.AddDate(0, 0, 20).Format(time.RFC3339),
		Itinerary: ref, Authority: "MOFA Korea"}
	if err := ap.SetPassport("CN", passport, nil); err != nil {
		t.Fatal(err)
	}
	return &envelope.ApprovalIssued{TripRef: ref, Approval: ap}
}

// TestDeadLetterRetry: a message that cannot be applied becomes a dead
// letter without stopping its stream; once its cause is fixed, a joint
// officer retries it and it applies, once.
func TestDeadLetterRetry(t *testing.T) {
	engines(t, func(t *testing.T, url func() string) {
		r := newReceiver(t, url())
		const ref = "KR-7H2M4QX0"
		// A withdrawal reported for a trip China does not know yet.
		cancel := r.seal(&envelope.TripCancelled{TripRef: ref, State: "withdrawn", At: time.Now()})
		a := r.deliver(cancel)
		if !slices.Equal(a.Dead, ids(cancel)) || a.Through["trips"] != 1 {
			t.Fatalf("first: %s", fmtAcks(a))
		}
		// The stream goes on: the approval applies.
		appr := r.seal(approvalFor(t, ref, "E12345678"))
		a = r.deliver(appr)
		if !slices.Equal(a.Applied, ids(appr)) || a.Through["trips"] != 2 {
			t.Fatalf("approval: %s", fmtAcks(a))
		}
		tw, err := r.n.Store.GetTripByReference(bg, ref)
		if err != nil || tw.State != trip.Approved || tw.Traveller.PassportNumber != "" {
			t.Fatalf("twin %+v %v: approved, without the passport number", tw, err)
		}
		dead, err := r.n.App.DeadLetters(bg, app.System(), app.DeadLetterQuery{})
		if app.ErrorCode(err) != app.CodeForbidden || dead != nil {
			t.Fatalf("the system listed dead letters: %v", err)
		}
		officer, other := principal(t, r, trip.RoleJoint), principal(t, r, trip.RoleHealthAuthority)
		dead, err = r.n.App.DeadLetters(bg, officer, app.DeadLetterQuery{OpenOnly: true})
		if err != nil || len(dead) != 1 || dead[0].ID != cancel.ID || dead[0].Reason == "" {
			t.Fatalf("dead letters %+v %v", dead, err)
		}
		if err := r.n.Federation.RetryDeadLetter(bg, other, cancel.ID); !errors.Is(err, federation.ErrNotAllowed) {
			t.Fatalf("a health authority retried a dead letter: %v", err)
		}
		if err := r.n.Federation.RetryDeadLetter(bg, officer, cancel.ID); err != nil {
			t.Fatal(err)
		}
		tw, err = r.n.Store.GetTripByReference(bg, ref)
		if err != nil || tw.State != trip.Withdrawn {
			t.Fatalf("after the retry the twin is %v (%v)", tw.State, err)
		}
		if err := r.n.Federation.RetryDeadLetter(bg, officer, cancel.ID); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a resolved dead letter was retried again: %v", err)
		}
		// A copy of the dead-lettered message, come late, changes nothing.
		a = r.deliver(cancel)
		if !slices.Equal(a.Duplicate, ids(cancel)) {
			t.Fatalf("late copy: %s", fmtAcks(a))
		}
		wantCounts(t, r.counts(), map[string]int64{"received": 3, "applied": 2, "dead": 1, "duplicate": 1})
		dead, err = r.n.App.DeadLetters(bg, officer, app.DeadLetterQuery{OpenOnly: true})
		if err != nil || len(dead) != 0 {
			t.Fatalf("open dead letters after the retry: %+v %v", dead, err)
		}
		// A dead letter that will never apply is dismissed by the officer.
		stray := r.seal(&envelope.TripCancelled{TripRef: "KR-NOSUCHTRIP", State: "expired", At: time.Now()})
		if a := r.deliver(stray); !slices.Equal(a.Dead, ids(stray)) {
			t.Fatalf("stray: %s", fmtAcks(a))
		}
		if err := r.n.Federation.DismissDeadLetter(bg, other, stray.ID); !errors.Is(err, federation.ErrNotAllowed) {
			t.Fatalf("a health authority dismissed a dead letter: %v", err)
		}
		if err := r.n.Federation.DismissDeadLetter(bg, officer, stray.ID); err != nil {
			t.Fatal(err)
		}
		if err := r.n.Federation.DismissDeadLetter(bg, officer, stray.ID); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("dismissed twice: %v", err)
		}
		dead, err = r.n.App.DeadLetters(bg, officer, app.DeadLetterQuery{})
		if err != nil || len(dead) != 2 || dead[1].ResolvedBy != officer.ActorID() {
			t.Fatalf("all dead letters: %+v %v", dead, err)
		}
	})
}

// principal signs in a person of role on the receiver's node.
func principal(t *testing.T, r *receiver, role trip.Role) app.Principal {
	t.Helper()
	a := r.n.App
	pw, err := r.n.BootstrapAdmin(bg, string(role)+"-admin@cn.example")
	if err != nil {
		t.Fatal(err)
	}
	root := login(t, a, string(role)+"-admin@cn.example", pw)
	kind := map[trip.Role]string{trip.RoleJoint: "joint_mechanism", trip.RoleHealthAuthority: "health_authority"}[role]
	org, err := a.CreateOrganisation(bg, root, app.OrgInput{Kind: authKind(kind), Name: "Org " + string(role), Country: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := a.Invite(bg, root, app.InviteInput{OrgID: org.ID, Email: string(role) + "@cn.example", Roles: rolesOf(role)})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := a.AcceptInvitation(bg, app.AcceptInput{Token: inv.Token, Name: "Officer", Password: "correct horse battery", ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(bg, sess.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func login(t *testing.T, a *app.App, email, pw string) app.Principal {
	t.Helper()
	sess, err := a.Login(bg, app.LoginInput{Email: email, Password: pw, ClientIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(bg, sess.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyAndRoutes: a newer version of the corridor policy, sent by the
// peer, is put in force; one whose digest does not match is a dead
// letter; the peer's breaker decisions suspend and reopen the route here.
func TestPolicyAndRoutes(t *testing.T) {
	engines(t, func(t *testing.T, url func() string) {
		r := newReceiver(t, url())
		doc := bytes.Replace(policies.ChinaKorea, []byte(`"version": 1,`), []byte(`"version": 2,`), 1)
		if bytes.Equal(doc, policies.ChinaKorea) {
			t.Fatal("the policy edit did not apply")
		}
		sum := sha256.Sum256(doc)
		bad := r.seal(&envelope.PolicyChanged{PolicyID: "cn-kr-fast-track", Version: 2, Digest: strings.Repeat("0", 64), Document: doc})
		good := r.seal(&envelope.PolicyChanged{PolicyID: "cn-kr-fast-track", Version: 2, Digest: hex.EncodeToString(sum[:]), Document: doc})
		a := r.deliver(bad, good)
		if !slices.Equal(a.Dead, ids(bad)) || !slices.Equal(a.Applied, ids(good)) {
			t.Fatalf("policies: %s", fmtAcks(a))
		}
		if v := r.n.App.Policy().Version; v != 2 {
			t.Fatalf("the policy in force is version %d, want the peer's 2", v)
		}
		// Another document under the version in force is a disagreement
		// the officers must see, not a policy this node already runs.
		other := bytes.Replace(doc, []byte(`"retention_days": 28`), []byte(`"retention_days": 30`), 1)
		if bytes.Equal(other, doc) {
			t.Fatal("the policy edit did not apply")
		}
		osum := sha256.Sum256(other)
		clash := r.seal(&envelope.PolicyChanged{PolicyID: "cn-kr-fast-track", Version: 2, Digest: hex.EncodeToString(osum[:]), Document: other})
		if a := r.deliver(clash); !slices.Equal(a.Dead, ids(clash)) {
			t.Fatalf("another document under version 2: %s", fmtAcks(a))
		}
		if r.n.App.Policy().Digest() != hex.EncodeToString(sum[:]) {
			t.Fatal("another document under the version in force was put in force")
		}
		now := time.Now().UTC()
		susp := r.seal(&envelope.RouteSuspended{Lane: "CN-KR", DecisionID: "d-1", Positives: 5, WindowDays: 7, SuspendDays: 7,
			TriggerRef: "case-9", From: now.Add(-time.Minute), Until: now.AddDate(0, 0, 7)})
		if a := r.deliver(susp); !slices.Equal(a.Applied, ids(susp)) {
			t.Fatalf("suspension: %s", fmtAcks(a))
		}
		s, err := r.n.Store.ActiveLaneSuspension(bg, "CN-KR", time.Now())
		if err != nil || s.ID != "d-1" || !strings.Contains(s.Reason, "circuit breaker on KR's side") {
			t.Fatalf("no suspension of CN-KR after the peer's decision: %+v %v", s, err)
		}
		// The peer cannot reopen the route alone: neither by saying it
		// lifted it, nor by approving for this side.
		early := r.seal(&envelope.RouteReinstated{Lane: "CN-KR", DecisionID: "d-1", How: envelope.ReinstatedLifted, At: time.Now()})
		forged := r.seal(&envelope.RouteLiftApproved{Lane: "CN-KR", DecisionID: "d-1", Country: "CN", OfficerRef: "officer-3", At: time.Now()})
		if a := r.deliver(early, forged); !slices.Equal(a.Dead, ids(early, forged)) {
			t.Fatalf("a one-sided lift: %s", fmtAcks(a))
		}
		if _, err := r.n.Store.ActiveLaneSuspension(bg, "CN-KR", time.Now()); err != nil {
			t.Fatalf("a one-sided lift reopened the route: %v", err)
		}
		// This side's officer approves, then the peer's: lifted, at the
		// later approval's time.
		out, err := r.n.App.LiftLaneSuspension(bg, principal(t, r, trip.RoleJoint), "CN-KR")
		if err != nil || out.Lifted || out.WaitingFor != "KR" {
			t.Fatalf("this side's lift approval: %+v %v", out, err)
		}
		at := time.Now().UTC().Add(time.Second).Truncate(time.Millisecond)
		theirs := r.seal(&envelope.RouteLiftApproved{Lane: "CN-KR", DecisionID: "d-1", Country: "KR", OfficerRef: "officer-3", At: at})
		back := r.seal(&envelope.RouteReinstated{Lane: "CN-KR", DecisionID: "d-1", How: envelope.ReinstatedLifted, At: at})
		if a := r.deliver(theirs, back); !slices.Equal(a.Applied, ids(theirs, back)) {
			t.Fatalf("the peer's lift approval: %s", fmtAcks(a))
		}
		if _, err := r.n.Store.ActiveLaneSuspension(bg, "CN-KR", at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the route is still suspended: %v", err)
		}
		if s, err := r.n.Store.GetLaneSuspension(bg, "d-1"); err != nil || !s.LiftedAt.Equal(at) {
			t.Fatalf("lifted %+v %v, want at %s", s, err, at)
		}
	})
}
