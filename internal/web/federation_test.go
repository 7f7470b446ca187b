package web

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/federation"
	"github.com/corridorlane/corridor/internal/federation/envelope"
	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/web/webtest"
)

// peerCN is China's node as the tests play it: its federation identity,
// whose CSCA the Korean node under test pins, and its numbering per
// stream. What it sends goes through the federation service's own
// delivery endpoint, so dead letters, cases and tracing answers arise as
// they do between two running nodes.
type peerCN struct {
	id  *envelope.Identity
	seq map[envelope.Stream]uint64
}

// pinCN makes China's keys and pins its CSCA on the node. The application
// does not share trips with China until linkPeer.
func (en *env) pinCN() *peerCN {
	t := en.t
	t.Helper()
	if en.cn != nil {
		return en.cn
	}
	dir := filepath.Join(t.TempDir(), "cn-keys")
	set, err := keys.Init(dir, "CN", keys.Options{Now: start.Add(-24 * time.Hour)})
	must(t, err)
	id, err := envelope.Create(dir, keys.Options{Now: start.Add(-24 * time.Hour)})
	must(t, err)
	csca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: set.CSCA.Raw}))
	must(t, en.fed.AddPeer(bg, "CN", "http://127.0.0.1:9", csca))
	en.cn = &peerCN{id: id, seq: map[envelope.Stream]uint64{}}
	return en.cn
}

// linkPeer connects the application to China: trips on its lanes are
// shared from then on, and tracing requests are answered.
func (en *env) linkPeer() {
	en.pinCN()
	en.app.SetFederation(en.fed)
}

// fromCN seals China's next message of body's stream.
func (en *env) fromCN(body envelope.Body) *envelope.Message {
	en.t.Helper()
	cn := en.pinCN()
	st := body.Type().Stream()
	cn.seq[st]++
	m, err := envelope.Seal(cn.id, "KR", cn.seq[st], body, en.clock.Now())
	must(en.t, err)
	return m
}

// deliver pushes messages from China to the node's delivery endpoint.
func (en *env) deliver(msgs ...*envelope.Message) *federation.Acks {
	t := en.t
	t.Helper()
	raws := make([][]byte, len(msgs))
	for i, m := range msgs {
		raws[i] = m.Raw
	}
	d, err := envelope.SealDelivery(en.pinCN().id, "KR", "", raws, en.clock.Now())
	must(t, err)
	req := httptest.NewRequest(http.MethodPost, federation.PathDeliveries, bytes.NewReader(d))
	req.Header.Set(federation.HeaderPeer, "CN")
	rec := httptest.NewRecorder()
	en.fed.Handler(false).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("delivery answered %d: %s", rec.Code, rec.Body)
	}
	var a federation.Acks
	must(t, json.Unmarshal(rec.Body.Bytes(), &a))
	return &a
}

// cnRef is a reference of a trip China's node filed.
func cnRef() string { return "CN-" + strings.ToUpper(auth.NewID()[:8]) }

// approvalFromCN is China's approval of a trip on lane KR-CN, whose
// origin this node is: applied, it makes the trip's twin here.
func (en *env) approvalFromCN(ref string) *envelope.ApprovalIssued {
	en.t.Helper()
	id, err := dcc.NewUVCI("CN", "AP", rand.Reader)
	must(en.t, err)
	now := en.clock.Now().UTC()
	ap := approval.Approval{Ver: approval.Version, ID: id, Nam: approval.Name{Fn: "Kim", Fnt: "KIM", Gn: "Min-jun", Gnt: "MIN<JUN"},
		Dob: "1980-01-02", Lane: "KR-CN", Region: "Shanghai", Purpose: "engineering",
		ValidFrom: now.Format(time.RFC3339), ValidUntil: now.AddDate(0, 0, 20).Format(time.RFC3339),
		Itinerary: ref, Authority: "MOFA China"}
	must(en.t, ap.SetPassport("KR", "M12345678", nil))
	return &envelope.ApprovalIssued{TripRef: ref, Approval: ap}
}

// withDeadLetter makes a dead letter the way it happens: China reports a
// trip withdrawn before the approval that creates it here has arrived.
// The approval then arrives, so a retry applies the withdrawal.
func (en *env) withDeadLetter() *fixture {
	t := en.t
	t.Helper()
	ref := cnRef()
	cancel := en.fromCN(&envelope.TripCancelled{TripRef: ref, State: "withdrawn", At: en.clock.Now()})
	if a := en.deliver(cancel); !slices.Equal(a.Dead, []string{cancel.ID}) {
		t.Fatalf("the withdrawal of an unknown trip was not a dead letter: %+v", a)
	}
	appr := en.fromCN(en.approvalFromCN(ref))
	if a := en.deliver(appr); !slices.Equal(a.Applied, []string{appr.ID}) {
		t.Fatalf("the approval did not apply: %+v", a)
	}
	return &fixture{deadID: cancel.ID, ref: ref}
}

// TestDeadLetters: a joint officer lists dead letters, retries one whose
// cause is still there (refused again, with the reason), retries it once
// fixed, and dismisses others, through the API and the pages; nobody else
// may.
func TestDeadLetters(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	joint := en.as("joint_officer")
	ref := cnRef()
	cancel := en.fromCN(&envelope.TripCancelled{TripRef: ref, State: "withdrawn", At: en.clock.Now()})
	if a := en.deliver(cancel); !slices.Equal(a.Dead, []string{cancel.ID}) {
		t.Fatalf("acks %+v", a)
	}

	var list []DeadLetterJSON
	if code, body := joint.api("GET", "/api/v1/federation/dead-letters", nil, &list); code != 200 {
		t.Fatalf("listing: %d %s", code, body)
	}
	if len(list) != 1 || list[0].ID != cancel.ID || list[0].Peer != "CN" || list[0].Type != string(envelope.TypeTripCancelled) ||
		!strings.Contains(list[0].Reason, ref) || list[0].Attempts != 1 || list[0].ResolvedAt != nil {
		t.Fatalf("dead letters %+v", list)
	}
	var st FederationStatusJSON
	if code, body := joint.api("GET", "/api/v1/federation/peers", nil, &st); code != 200 {
		t.Fatalf("status: %d %s", code, body)
	}
	if !st.Running || len(st.Peers) != 1 || st.Peers[0].Country != "CN" || st.Peers[0].DeadLettersOpen != 1 ||
		st.Peers[0].Messages["dead"] != 1 || st.Peers[0].Inbox.NextSeq["trips"] != 2 {
		t.Fatalf("status %+v", st)
	}

	// Its cause is still there: refused again, with the reason; it stays
	// open, one attempt more.
	code, body := joint.api("POST", "/api/v1/federation/dead-letters/"+cancel.ID+"/retry", nil, nil)
	if code != http.StatusConflict || !strings.Contains(decodeErr(t, body).Error, "no trip "+ref) {
		t.Fatalf("retry before the cause is fixed: %d %s", code, body)
	}
	joint.api("GET", "/api/v1/federation/dead-letters?peer=CN", nil, &list)
	if len(list) != 1 || list[0].Attempts != 2 {
		t.Fatalf("after a refused retry: %+v", list)
	}
	// Others may not touch it; an id that names nothing is not found.
	for _, who := range []string{"health_authority", "reviewer", "node_admin"} {
		if code, _ := en.as(who).api("POST", "/api/v1/federation/dead-letters/"+cancel.ID+"/retry", nil, nil); code != http.StatusForbidden {
			t.Errorf("%s retried a dead letter: %d", who, code)
		}
	}
	if code, _ := en.bearer().api("GET", "/api/v1/federation/dead-letters", nil, nil); code != http.StatusForbidden {
		t.Errorf("a lab token listed dead letters: %d", code)
	}
	for _, id := range []string{strings.Repeat("0", 32), "not-a-message-id"} {
		if code, body := joint.api("POST", "/api/v1/federation/dead-letters/"+id+"/retry", nil, nil); code != http.StatusNotFound {
			t.Errorf("retrying %s: %d %s", id, code, body)
		}
	}
	if code, body := joint.api("GET", "/api/v1/federation/dead-letters?peer=China", nil, nil); code != 422 ||
		!strings.Contains(decodeErr(t, body).Fields["peer"], "country code") {
		t.Errorf("a bad peer filter: %d %s", code, body)
	}

	// The page shows it with its reason and the two buttons; the refusal
	// of a retry shows above the list, in the reader's language.
	res, page := joint.get("/joint/dead-letters")
	if res.StatusCode != 200 || !strings.Contains(page, `id="dl-`+cancel.ID+`"`) || !strings.Contains(page, "no trip "+ref) ||
		!strings.Contains(page, `action="/joint/dead-letters/`+cancel.ID+`/retry"`) {
		t.Fatalf("the dead letters page: %d\n%s", res.StatusCode, page)
	}
	joint.lang = "ko"
	res, page = joint.form("/joint/dead-letters/"+cancel.ID+"/retry", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "메시지를 여전히 적용할 수 없습니다") {
		t.Fatalf("a refused retry on the page: %d\n%s", res.StatusCode, page)
	}
	joint.lang = ""
	// Without the form token the page refuses.
	if res, _ := joint.form("/joint/dead-letters/"+cancel.ID+"/retry", url.Values{"csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a retry without the form token: %d", res.StatusCode)
	}

	// The cause is fixed (the approval arrives): the page's retry applies
	// it, and the twin is withdrawn.
	appr := en.fromCN(en.approvalFromCN(ref))
	if a := en.deliver(appr); !slices.Equal(a.Applied, []string{appr.ID}) {
		t.Fatalf("approval acks %+v", a)
	}
	res, _ = joint.form("/joint/dead-letters/"+cancel.ID+"/retry", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/joint/dead-letters?done=retried" {
		t.Fatalf("the retry: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	tw, err := en.db.GetTripByReference(bg, ref)
	if err != nil || tw.State != trip.Withdrawn {
		t.Fatalf("the twin after the retry: %+v %v", tw, err)
	}
	if _, page = joint.get("/joint/dead-letters?done=retried"); !strings.Contains(page, "The message was applied.") || strings.Contains(page, `id="dl-`+cancel.ID+`"`) {
		t.Fatalf("after the retry the open list still shows it, or no flash\n%s", page)
	}
	if code, body := joint.api("POST", "/api/v1/federation/dead-letters/"+cancel.ID+"/retry", nil, nil); code != http.StatusConflict ||
		!strings.Contains(body, "closed already") {
		t.Fatalf("retried twice: %d %s", code, body)
	}

	// Dismissals: one through the API, one through the page.
	strays := []*envelope.Message{en.fromCN(&envelope.TripCancelled{TripRef: cnRef(), State: "expired", At: en.clock.Now()}),
		en.fromCN(&envelope.TripCancelled{TripRef: cnRef(), State: "expired", At: en.clock.Now()})}
	if a := en.deliver(strays...); len(a.Dead) != 2 {
		t.Fatalf("strays %+v", a)
	}
	if code, body := en.as("health_authority").api("POST", "/api/v1/federation/dead-letters/"+strays[0].ID+"/dismiss", nil, nil); code != http.StatusForbidden {
		t.Fatalf("a health authority dismissed: %d %s", code, body)
	}
	if code, body := joint.api("POST", "/api/v1/federation/dead-letters/"+strays[0].ID+"/dismiss", nil, nil); code != http.StatusNoContent {
		t.Fatalf("dismissing: %d %s", code, body)
	}
	if res, _ := joint.form("/joint/dead-letters/"+strays[1].ID+"/dismiss", nil); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/joint/dead-letters?done=dismissed" {
		t.Fatalf("dismissing on the page: %d", res.StatusCode)
	}
	if code, _ := joint.api("POST", "/api/v1/federation/dead-letters/"+strays[1].ID+"/dismiss", nil, nil); code != http.StatusConflict {
		t.Fatalf("dismissed twice: %d", code)
	}
	joint.api("GET", "/api/v1/federation/dead-letters", nil, &list)
	if len(list) != 0 {
		t.Fatalf("open after all was done: %+v", list)
	}
	joint.api("GET", "/api/v1/federation/dead-letters?open=false&peer=cn", nil, &list)
	officer := en.p("joint_officer").ActorID()
	if len(list) != 3 {
		t.Fatalf("all dead letters: %+v", list)
	}
	for _, d := range list {
		if d.ResolvedAt == nil || d.ResolvedBy != officer {
			t.Errorf("dead letter %s: resolved %v by %q, want by %q", d.ID, d.ResolvedAt, d.ResolvedBy, officer)
		}
	}
	if _, page = joint.get("/joint/dead-letters?all=1"); strings.Count(page, `<tr id="dl-`) != 3 {
		t.Errorf("the page with closed ones shows %d rows", strings.Count(page, `<tr id="dl-`))
	}
	// Each retry and dismissal is in the audit log, by the officer.
	done := map[string]int{}
	for _, d := range list {
		entries, err := en.db.AuditFor(bg, "message:"+d.ID, 10)
		must(t, err)
		for _, e := range entries {
			if strings.HasPrefix(e.Action, "federation.dead_letter.") && e.Actor == officer {
				done[e.Action]++
			}
		}
	}
	if done["federation.dead_letter.retry"] != 1 || done["federation.dead_letter.dismiss"] != 2 {
		t.Errorf("audit entries %v", done)
	}
	var after FederationStatusJSON
	joint.api("GET", "/api/v1/federation/peers", nil, &after)
	if after.Peers[0].DeadLettersOpen != 0 || after.Peers[0].Messages["dead"] != 3 || after.Peers[0].Messages["applied"] != 2 {
		t.Errorf("status at the end %+v", after.Peers[0])
	}
}

// TestContactsListing: contacts traced here when a case opens, contacts
// the peer's answer names, a case the peer notified and its tracing
// request answered here, all listed for the joint officer by reference,
// state and rules, without personal data.
func TestContactsListing(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	// Two travellers on one flight, a row apart; a third elsewhere.
	a, b, c := en.tripIn(trip.Cleared), en.tripIn(trip.Cleared), en.tripIn(trip.Cleared)
	en.clock.Add(48 * time.Hour)
	flightDay := en.clock.Now().Format(time.DateOnly)
	for id, seat := range map[string]string{a.tripID: "32A", b.tripID: "33C"} {
		_, err := en.app.Depart(bg, en.p("border_officer"), id, app.DepartureInput{Flight: "OZ324", Seat: seat})
		must(t, err)
	}
	_, err := en.app.Arrive(bg, en.p("arrival_officer"), a.tripID)
	must(t, err)
	_, err = en.app.HoldForArrivalTest(bg, en.p("arrival_officer"), a.tripID)
	must(t, err)
	// A's arrival test is positive: a case opens, and B is traced here.
	res, err := en.app.RecordTest(bg, en.p("lab"), app.TestInput{Reference: a.ref, PassportNumber: passport, TestType: "NAAT",
		TestName: "PCR", SampledAt: en.clock.Now().Add(-time.Hour), Result: "positive", Facility: "Lab"})
	must(t, err)
	if !res.CaseOpened {
		t.Fatal("no case opened")
	}
	cases, err := en.db.ListCases(bg, a.tripID)
	must(t, err)
	if len(cases) != 1 {
		t.Fatalf("cases %+v", cases)
	}
	caseRef := cases[0].ID

	en.linkPeer()
	// This node asked China to trace the case (as notifyCase records it);
	// China's answer names C.
	req := &store.TraceRequest{Ref: auth.NewID(), CaseRef: caseRef, Peer: "CN", SentAt: en.clock.Now()}
	must(t, en.db.AddTraceRequest(bg, req))
	unanswered := &store.TraceRequest{Ref: auth.NewID(), CaseRef: caseRef, Peer: "CN", SentAt: en.clock.Now().Add(time.Minute)}
	must(t, en.db.AddTraceRequest(bg, unanswered))
	en.clock.Add(time.Hour)
	answer := en.fromCN(&envelope.TraceAnswer{RequestRef: req.Ref, CaseRef: caseRef, AnsweredAt: en.clock.Now(),
		Contacts: []envelope.TracedContact{{TripRef: c.ref, Rules: []string{"site"}}, {TripRef: cnRef(), Rules: []string{"hold"}}}})
	// China's own case, from the same flight, and its request to trace it
	// here: A and B are its contacts.
	cnCase := "CN-CASE-" + strings.ToUpper(auth.NewID()[:6])
	notice := en.fromCN(&envelope.CaseNotified{CaseRef: cnCase, Lane: "CN-KR", Stage: ledger.Arrival, DetectedAt: en.clock.Now(),
		TripRef: cnRef()})
	trace := en.fromCN(&envelope.TraceRequest{RequestRef: auth.NewID(), CaseRef: cnCase,
		Exposure: envelope.Exposure{Flight: "OZ324", FlightDate: flightDay, Seat: "34B"}})
	if acks := en.deliver(answer, notice, trace); len(acks.Applied) != 3 {
		t.Fatalf("China's messages: %+v", acks)
	}

	joint := en.as("joint_officer")
	var got TracingJSON
	if code, body := joint.api("GET", "/api/v1/federation/contacts", nil, &got); code != 200 {
		t.Fatalf("contacts: %d %s", code, body)
	}
	type row struct{ kase, ref, by, rules string }
	var rows []row
	for _, k := range got.Contacts {
		rows = append(rows, row{k.Case, k.TripReference, k.FoundBy, strings.Join(k.Rules, ",")})
		if k.TripState == "" || k.TripID == "" {
			t.Errorf("contact without its trip: %+v", k)
		}
	}
	want := []row{{caseRef, b.ref, "here", "flight_near_seat"}, {caseRef, c.ref, "CN", "site"},
		{cnCase, a.ref, "here", "flight_near_seat"}, {cnCase, b.ref, "here", "flight_near_seat"}}
	for _, w := range want {
		if !slices.Contains(rows, w) {
			t.Errorf("missing contact %+v in %+v", w, rows)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("contacts %+v, want %+v", rows, want)
	}
	if len(got.PeerCases) != 1 || got.PeerCases[0].Ref != cnCase || got.PeerCases[0].ContactsHere != 2 || got.PeerCases[0].TripID != "" ||
		got.PeerCases[0].Stage != string(ledger.Arrival) {
		t.Errorf("peer cases %+v", got.PeerCases)
	}
	if len(got.Requests) != 2 || got.Requests[0].Ref != unanswered.Ref || got.Requests[0].AnsweredAt != nil ||
		got.Requests[1].Ref != req.Ref || got.Requests[1].AnsweredAt == nil || got.Requests[1].Contacts != 2 {
		t.Errorf("requests %+v", got.Requests)
	}
	var st FederationStatusJSON
	joint.api("GET", "/api/v1/federation/peers", nil, &st)
	if len(st.Peers) != 1 || st.Peers[0].Outbox.Unacknowledged != 1 || st.Peers[0].Outbox.LastSeq["cases"] != 1 ||
		st.Peers[0].Inbox.NextSeq["cases"] != 4 || st.Peers[0].Messages["applied"] != 3 {
		t.Errorf("status after the answer was sent: %+v", st.Peers)
	}

	// The page, in Chinese: references link to the trips, rules are
	// named, and no passport number or name shows.
	joint.lang = "zh-CN"
	resp, page := joint.get("/joint/contacts")
	if resp.StatusCode != 200 {
		t.Fatalf("contacts page: %d", resp.StatusCode)
	}
	for _, s := range []string{`href="/trips/` + b.tripID + `"`, `href="/trips/` + c.tripID + `"`, "同一航班邻近座位", cnCase, "本节点", "尚未答复"} {
		if !strings.Contains(page, s) {
			t.Errorf("the contacts page lacks %q", s)
		}
	}
	for _, s := range []string{passport, "Zhang", "zhang.wei@example.cn"} {
		if strings.Contains(page, s) {
			t.Errorf("the contacts page shows %q", s)
		}
	}
	// The status page shows the message waiting for China.
	_, page = joint.get("/joint/peers")
	if !regexp.MustCompile(`<dd class="waiting">1 · `).MatchString(page) || !strings.Contains(page, "对方节点 CN") {
		t.Errorf("the peers page does not show the waiting message\n%s", page)
	}
	if code, _ := en.as("health_authority").api("GET", "/api/v1/federation/contacts", nil, nil); code != http.StatusForbidden {
		t.Errorf("a health authority read the corridor's contacts: %d", code)
	}
	if code, body := joint.api("GET", "/api/v1/federation/contacts?limit=0", nil, nil); code != 422 || !strings.Contains(body, "limit") {
		t.Errorf("limit 0: %d %s", code, body)
	}
}

// TestFederationPagesWithoutFederation: on a node that runs alone the
// pages say so and the changes are refused cleanly.
func TestFederationPagesWithoutFederation(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	cfg := en.srv.cfg
	cfg.Federation = nil
	cfg.Registerer, cfg.Gatherer = nil, nil
	srv, err := New(cfg)
	must(t, err)
	h := httptest.NewServer(srv)
	defer h.Close()
	en.http = h
	en.srv = srv
	joint := en.as("joint_officer")
	for _, path := range []string{"/joint/peers", "/joint/dead-letters", "/joint/contacts"} {
		res, page := joint.get(path)
		if res.StatusCode != 200 || !strings.Contains(page, `id="federation-alone"`) {
			t.Errorf("%s: %d, without saying the node runs alone", path, res.StatusCode)
		}
		// The navigation shows where the officer is: under the peer nodes.
		if !strings.Contains(page, `<a href="/joint/peers" aria-current="page">`) || strings.Contains(page, `<a href="/joint" aria-current="page">`) {
			t.Errorf("%s: the navigation does not mark the peer nodes as the current place", path)
		}
	}
	var st FederationStatusJSON
	if code, body := joint.api("GET", "/api/v1/federation/peers", nil, &st); code != 200 || st.Running || st.Peers == nil {
		t.Errorf("status: %d %s", code, body)
	}
	code, body := joint.api("POST", "/api/v1/federation/dead-letters/"+strings.Repeat("a", 32)+"/retry", nil, nil)
	if code != http.StatusConflict || !strings.Contains(body, "without a link to peer nodes") {
		t.Errorf("a retry on a node alone: %d %s", code, body)
	}
}

// TestBrowserDeadLetters: a joint officer, in Chromium and in each
// language, goes from the navigation to the peer's status, on to its dead
// letters, retries one whose cause is still there (the refusal shows),
// retries it once the cause is fixed, and dismisses the other.
func TestBrowserDeadLetters(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is not short")
	}
	root := webtest.Start(t)
	for _, lang := range i18n.Langs {
		t.Run(string(lang), func(t *testing.T) {
			en := newEnv(t, quickPolicy(t))
			ref := cnRef()
			cancel := en.fromCN(&envelope.TripCancelled{TripRef: ref, State: "withdrawn", At: en.clock.Now()})
			stray := en.fromCN(&envelope.TripCancelled{TripRef: cnRef(), State: "expired", At: en.clock.Now()})
			if a := en.deliver(cancel, stray); len(a.Dead) != 2 {
				t.Fatalf("acks %+v", a)
			}
			b := en.browserFor(t, root, lang)
			b.login("joint_officer")
			b.Open("/joint")
			b.Submit(`nav a[href="/joint/peers"]`)
			b.Expect("#peer-CN h2", "federation.peer", "CN")
			if got := b.Text("#peer-CN .dead-open"); got != "2" {
				t.Fatalf("open dead letters shown: %q", got)
			}
			b.Shot("joint-peers")
			b.Submit(`#peer-CN .dead-open a`)
			b.Expect("h1", "title.federation_dead_letters")
			retry := `#dl-` + cancel.ID + ` form[action$="/retry"] button`
			b.Submit(retry)
			b.Expect(".problem p", "apperr.still_refused", "no trip "+ref+" on this node")
			b.Shot("joint-dead-letters")

			appr := en.fromCN(en.approvalFromCN(ref))
			if a := en.deliver(appr); len(a.Applied) != 1 {
				t.Fatalf("approval acks %+v", a)
			}
			b.Submit(retry)
			b.Expect(".flash", "flash.retried")
			b.Submit(`#dl-` + stray.ID + ` form[action$="/dismiss"] button`)
			b.Expect(".flash", "flash.dismissed")
			b.Expect(".empty", "federation.no_dead")
			if tw, err := en.db.GetTripByReference(bg, ref); err != nil || tw.State != trip.Withdrawn {
				t.Fatalf("the twin after the retry: %+v %v", tw, err)
			}
			b.Open("/joint/contacts")
			b.Expect("h1", "title.federation_contacts")
		})
	}
}
