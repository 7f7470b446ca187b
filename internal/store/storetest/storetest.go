// Package storetest is the one test suite every store.DB implementation
// must pass: run it against each engine with Run.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// Harness gives the suite fresh databases.
type Harness struct {
	// Open returns a new, empty, migrated database, closed when the test
	// ends.
	Open func(t testing.TB) store.DB
	// Reopen opens a separate connection pool on the same database.
	Reopen func(t testing.TB, db store.DB) store.DB
	// Exec runs raw SQL ('?' placeholders) on the database, around the
	// store, to tamper with rows.
	Exec func(t testing.TB, db store.DB, query string, args ...any)
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Migrate", testMigrate},
		{"Orgs", testOrgs},
		{"Users", testUsers},
		{"Invitations", testInvitations},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"RateLimit", testRateLimit},
		{"Trips", testTrips},
		{"TripList", testTripList},
		{"TripDue", testTripDue},
		{"Transitions", testTransitions},
		{"Purge", testPurge},
		{"Health", testHealth},
		{"Alerts", testAlerts},
		{"Quota", testQuota},
		{"QuotaRace", testQuotaRace},
		{"LaneSuspension", testLaneSuspension},
		{"TxRollback", testTxRollback},
		{"TxNested", testTxNested},
		{"Audit", testAudit},
		{"AuditTamper", testAuditTamper},
		{"AuditConcurrent", testAuditConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var (
	ctx = context.Background()
	t0  = time.Date(2020, 5, 10, 9, 0, 0, 0, time.UTC)
)

var idSeq struct {
	sync.Mutex
	n int
}

// id returns a fresh id with a readable prefix.
func id(prefix string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("%s%06d", prefix, idSeq.n)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func newOrg(t testing.TB, s store.Store, kind auth.OrgKind) *store.Org {
	t.Helper()
	o := &store.Org{ID: id("org"), Kind: kind, Name: id("Org "), Country: "KR", CreatedAt: t0}
	must(t, s.CreateOrg(ctx, o))
	return o
}

func newUser(t testing.TB, s store.Store) *store.User {
	t.Helper()
	u := &store.User{ID: id("usr"), Email: id("user") + "@example.org", Name: "A. Person", PasswordHash: "$argon2id$x", CreatedAt: t0}
	must(t, s.CreateUser(ctx, u))
	return u
}

func newTrip(t testing.TB, s store.Store, sponsor *store.Org, created time.Time) *store.Trip {
	t.Helper()
	tr := &store.Trip{
		ID: id("trp"), Reference: id("KR-"), State: trip.Draft, Lane: "CN-KR", Region: "KR", Purpose: "business",
		SponsorOrgID: sponsor.ID, CreatedBy: "usr-x",
		Traveller: store.Traveller{GivenName: "Wei", FamilyName: "Zhang", GivenNameICAO: "WEI", FamilyNameICAO: "ZHANG",
			DateOfBirth: "1985-03-02", Sex: "M", Nationality: "CN", PassportCountry: "CN", PassportNumber: "E12345678",
			Email: "wei@example.cn", Phone: "+86 10 1234"},
		Host:          store.Contact{Name: "Kim Host", Email: "host@example.kr", Phone: "+82 2 555"},
		DepartureDate: "2020-05-20", ReturnDate: "2020-06-20",
		CreatedAt: created, UpdatedAt: created,
	}
	must(t, s.CreateTrip(ctx, tr))
	return tr
}

func testMigrate(t *testing.T, h Harness) {
	db := h.Open(t)
	// Running again is a no-op, and so is a second pool's migration.
	must(t, db.Migrate(ctx))
	other := h.Reopen(t, db)
	must(t, other.Migrate(ctx))
	must(t, db.Ping(ctx))
	if d := db.Dialect(); d != "sqlite" && d != "postgres" {
		t.Fatalf("dialect %q", d)
	}
	head, err := db.AuditHead(ctx)
	must(t, err)
	if head.Seq != 0 {
		t.Fatalf("new database has audit head %d", head.Seq)
	}
}

func testOrgs(t *testing.T, h Harness) {
	db := h.Open(t)
	o := newOrg(t, db, auth.KindSponsor)
	got, err := db.GetOrg(ctx, o.ID)
	must(t, err)
	if *got != *o {
		t.Fatalf("got %+v, want %+v", got, o)
	}
	dup := *o
	dup.ID = id("org")
	wantErr(t, db.CreateOrg(ctx, &dup), store.ErrConflict)
	_, err = db.GetOrg(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
	newOrg(t, db, auth.KindLab)
	list, err := db.ListOrgs(ctx)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("listed %d organisations, want 2", len(list))
	}
}

func testUsers(t *testing.T, h Harness) {
	db := h.Open(t)
	u := newUser(t, db)
	got, err := db.GetUserByEmail(ctx, u.Email)
	must(t, err)
	if got.ID != u.ID || got.Name != u.Name || got.NodeAdmin || !got.CreatedAt.Equal(t0) {
		t.Fatalf("got %+v", got)
	}
	dup := *u
	dup.ID = id("usr")
	wantErr(t, db.CreateUser(ctx, &dup), store.ErrConflict)
	_, err = db.GetUser(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)

	must(t, db.SetPasswordHash(ctx, u.ID, "new"))
	got, _ = db.GetUser(ctx, u.ID)
	if got.PasswordHash != "new" {
		t.Fatalf("password hash not updated")
	}
	wantErr(t, db.SetPasswordHash(ctx, "nope", "x"), store.ErrNotFound)

	admin := &store.User{ID: id("usr"), Email: "root@example.org", Name: "Root", PasswordHash: "x", NodeAdmin: true, CreatedAt: t0}
	must(t, db.CreateUser(ctx, admin))
	n, err := db.CountNodeAdmins(ctx)
	must(t, err)
	if n != 1 {
		t.Fatalf("%d node admins, want 1", n)
	}

	org := newOrg(t, db, auth.KindBorderAgency)
	m := &store.Membership{UserID: u.ID, OrgID: org.ID, Roles: auth.NewRoles(trip.RoleBorder), CreatedAt: t0}
	must(t, db.PutMembership(ctx, m))
	m.Roles = auth.NewRoles(trip.RoleArrival, trip.RoleBorder)
	must(t, db.PutMembership(ctx, m)) // replaces
	gm, err := db.GetMembership(ctx, u.ID, org.ID)
	must(t, err)
	if gm.Roles.String() != "arrival_officer,border_officer" {
		t.Fatalf("roles %q", gm.Roles)
	}
	members, err := db.ListMembers(ctx, org.ID)
	must(t, err)
	if len(members) != 1 || members[0].User.ID != u.ID || !members[0].Membership.Roles.Has(trip.RoleArrival) {
		t.Fatalf("members %+v", members)
	}
	ms, err := db.ListMemberships(ctx, u.ID)
	must(t, err)
	if len(ms) != 1 {
		t.Fatalf("memberships %+v", ms)
	}
	must(t, db.DeleteMembership(ctx, u.ID, org.ID))
	_, err = db.GetMembership(ctx, u.ID, org.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, db.DeleteMembership(ctx, u.ID, org.ID), store.ErrNotFound)
}

func testInvitations(t *testing.T, h Harness) {
	db := h.Open(t)
	org := newOrg(t, db, auth.KindLab)
	u := newUser(t, db)
	inv := &store.Invitation{ID: id("inv"), TokenHash: "h1", OrgID: org.ID, Email: "new@example.org",
		Roles: auth.NewRoles(trip.RoleLab), InvitedBy: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(72 * time.Hour)}
	must(t, db.CreateInvitation(ctx, inv))
	got, err := db.GetInvitationByTokenHash(ctx, "h1")
	must(t, err)
	if got.ID != inv.ID || !got.AcceptedAt.IsZero() || !got.ExpiresAt.Equal(inv.ExpiresAt) || !got.Roles.Has(trip.RoleLab) {
		t.Fatalf("got %+v", got)
	}
	_, err = db.GetInvitationByTokenHash(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
	must(t, db.AcceptInvitation(ctx, inv.ID, u.ID, t0.Add(time.Hour)))
	wantErr(t, db.AcceptInvitation(ctx, inv.ID, u.ID, t0.Add(2*time.Hour)), store.ErrConflict)
	got, _ = db.GetInvitationByTokenHash(ctx, "h1")
	if !got.AcceptedAt.Equal(t0.Add(time.Hour)) || got.AcceptedBy != u.ID {
		t.Fatalf("accepted %+v", got)
	}
	list, err := db.ListInvitations(ctx, org.ID)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("listed %d invitations", len(list))
	}
}

func testSessions(t *testing.T, h Harness) {
	db := h.Open(t)
	u := newUser(t, db)
	s := &store.Session{IDHash: "sess1", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}
	must(t, db.CreateSession(ctx, s))
	s2 := &store.Session{IDHash: "sess2", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour), LastSeenAt: t0}
	must(t, db.CreateSession(ctx, s2))
	must(t, db.TouchSession(ctx, "sess1", t0.Add(time.Minute)))
	must(t, db.SetSessionOrg(ctx, "sess1", "org-1"))
	got, err := db.GetSession(ctx, "sess1")
	must(t, err)
	if got.OrgID != "org-1" || !got.LastSeenAt.Equal(t0.Add(time.Minute)) || !got.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("got %+v", got)
	}
	ts := &store.TravellerSession{IDHash: "tsess", TripID: "trip-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, db.CreateTravellerSession(ctx, ts))
	gotTS, err := db.GetTravellerSession(ctx, "tsess")
	must(t, err)
	if *gotTS != *ts {
		t.Fatalf("traveller session %+v", gotTS)
	}
	n, err := db.DeleteExpiredSessions(ctx, t0.Add(2*time.Hour))
	must(t, err)
	if n != 2 {
		t.Fatalf("deleted %d expired sessions, want 2 (one of each kind)", n)
	}
	_, err = db.GetTravellerSession(ctx, "tsess")
	wantErr(t, err, store.ErrNotFound)
	must(t, db.CreateTravellerSession(ctx, ts))
	must(t, db.DeleteTripTravellerSessions(ctx, "trip-1"))
	_, err = db.GetTravellerSession(ctx, "tsess")
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetSession(ctx, "sess1")
	wantErr(t, err, store.ErrNotFound)
	must(t, db.DeleteUserSessions(ctx, u.ID))
	_, err = db.GetSession(ctx, "sess2")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, db.TouchSession(ctx, "sess2", t0), store.ErrNotFound)
}

func testAPITokens(t *testing.T, h Harness) {
	db := h.Open(t)
	org := newOrg(t, db, auth.KindLab)
	tok := &store.APIToken{ID: id("tok"), TokenHash: "th", OrgID: org.ID, Name: "LIS", Roles: auth.NewRoles(trip.RoleLab),
		CreatedBy: "usr", CreatedAt: t0}
	must(t, db.CreateAPIToken(ctx, tok))
	got, err := db.GetAPITokenByHash(ctx, "th")
	must(t, err)
	if got.ID != tok.ID || !got.ExpiresAt.IsZero() || !got.RevokedAt.IsZero() || !got.Roles.Has(trip.RoleLab) {
		t.Fatalf("got %+v", got)
	}
	must(t, db.TouchAPIToken(ctx, tok.ID, t0.Add(time.Minute)))
	must(t, db.RevokeAPIToken(ctx, tok.ID, t0.Add(time.Hour)))
	wantErr(t, db.RevokeAPIToken(ctx, tok.ID, t0.Add(2*time.Hour)), store.ErrNotFound)
	got, err = db.GetAPIToken(ctx, tok.ID)
	must(t, err)
	if !got.RevokedAt.Equal(t0.Add(time.Hour)) || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("got %+v", got)
	}
	list, err := db.ListAPITokens(ctx, org.ID)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("listed %d tokens", len(list))
	}
	dup := *tok
	dup.ID = id("tok")
	wantErr(t, db.CreateAPIToken(ctx, &dup), store.ErrConflict)
}

func testRateLimit(t *testing.T, h Harness) {
	db := h.Open(t)
	w := 15 * time.Minute
	for i := 1; i <= 3; i++ {
		n, err := db.HitRateLimit(ctx, "k", t0.Add(time.Duration(i)*time.Minute), w)
		must(t, err)
		if n != i {
			t.Fatalf("hit %d counted %d", i, n)
		}
	}
	n, err := db.RateLimitCount(ctx, "k", t0.Add(5*time.Minute), w)
	must(t, err)
	if n != 3 {
		t.Fatalf("count %d, want 3", n)
	}
	// The window started at the first hit (t0+1m); past it, counting restarts.
	n, err = db.RateLimitCount(ctx, "k", t0.Add(16*time.Minute), w)
	must(t, err)
	if n != 0 {
		t.Fatalf("count after the window %d, want 0", n)
	}
	n, err = db.HitRateLimit(ctx, "k", t0.Add(16*time.Minute), w)
	must(t, err)
	if n != 1 {
		t.Fatalf("first hit of a new window counted %d", n)
	}
	must(t, db.ResetRateLimit(ctx, "k"))
	n, _ = db.RateLimitCount(ctx, "k", t0.Add(17*time.Minute), w)
	if n != 0 {
		t.Fatalf("count after reset %d", n)
	}
	n, _ = db.RateLimitCount(ctx, "unknown", t0, w)
	if n != 0 {
		t.Fatalf("unknown key counted %d", n)
	}
	_, err = db.HitRateLimit(ctx, "old", t0, w)
	must(t, err)
	_, err = db.HitRateLimit(ctx, "new", t0.Add(time.Hour), w)
	must(t, err)
	n, err = db.DeleteStaleRateLimits(ctx, t0.Add(30*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("deleted %d stale counters, want 1", n)
	}
	if n, _ := db.RateLimitCount(ctx, "new", t0.Add(time.Hour), w); n != 1 {
		t.Fatal("a current counter was deleted")
	}
}

func testTrips(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	tr := newTrip(t, db, sp, t0)
	got, err := db.GetTrip(ctx, tr.ID)
	must(t, err)
	if got.Version != 1 || got.Traveller != tr.Traveller || got.Host != tr.Host || got.State != trip.Draft ||
		!got.ApprovedAt.IsZero() || got.TravellerTokenHash != "" {
		t.Fatalf("got %+v", got)
	}
	byRef, err := db.GetTripByReference(ctx, tr.Reference)
	must(t, err)
	if byRef.ID != tr.ID {
		t.Fatal("wrong trip by reference")
	}
	dup := *tr
	dup.ID = id("trp")
	wantErr(t, db.CreateTrip(ctx, &dup), store.ErrConflict)

	// Update with the right version succeeds and bumps it; a stale copy
	// is refused and changes nothing.
	stale := *got
	got.State = trip.Submitted
	got.SubmittedAt = t0.Add(time.Hour)
	got.TravellerTokenHash = "tokhash"
	got.ApprovalValidUntil = t0.Add(48 * time.Hour)
	must(t, db.UpdateTrip(ctx, got))
	if got.Version != 2 {
		t.Fatalf("version %d after update", got.Version)
	}
	stale.State = trip.Withdrawn
	wantErr(t, db.UpdateTrip(ctx, &stale), store.ErrConflict)
	if stale.Version != 1 {
		t.Fatalf("a refused update changed the version to %d", stale.Version)
	}
	again, _ := db.GetTrip(ctx, tr.ID)
	if again.State != trip.Submitted || !again.SubmittedAt.Equal(t0.Add(time.Hour)) || !again.ApprovalValidUntil.Equal(t0.Add(48*time.Hour)) {
		t.Fatalf("after update %+v", again)
	}
	byTok, err := db.GetTripByTravellerToken(ctx, "tokhash")
	must(t, err)
	if byTok.ID != tr.ID {
		t.Fatal("wrong trip by token")
	}
	// Two trips without a token do not collide on the unique index.
	newTrip(t, db, sp, t0)
	_, err = db.GetTripByTravellerToken(ctx, "")
	wantErr(t, err, store.ErrNotFound)

	items := []store.ItineraryItem{
		{Kind: "lodging", Site: "Hotel", Address: "1 Road", FromDate: "2020-05-20", ToDate: "2020-06-20"},
		{Kind: "work_site", Site: "Plant", Address: "2 Road", FromDate: "2020-05-21", ToDate: "2020-06-19"},
	}
	must(t, db.ReplaceItinerary(ctx, tr.ID, items))
	must(t, db.ReplaceItinerary(ctx, tr.ID, items[:1]))
	gotItems, err := db.ListItinerary(ctx, tr.ID)
	must(t, err)
	if !slices.Equal(gotItems, items[:1]) {
		t.Fatalf("itinerary %+v", gotItems)
	}
	counts, err := db.CountTrips(ctx)
	must(t, err)
	if counts[trip.Submitted] != 1 || counts[trip.Draft] != 1 {
		t.Fatalf("counts %v", counts)
	}
}

func testTripList(t *testing.T, h Harness) {
	db := h.Open(t)
	a := newOrg(t, db, auth.KindSponsor)
	b := newOrg(t, db, auth.KindSponsor)
	var aTrips []*store.Trip
	for i := 0; i < 7; i++ {
		aTrips = append(aTrips, newTrip(t, db, a, t0.Add(time.Duration(i)*time.Minute)))
	}
	bTrip := newTrip(t, db, b, t0)
	bTrip.Region = "Busan"
	bTrip.State = trip.Submitted
	must(t, db.UpdateTrip(ctx, bTrip))

	// Pages of 3, oldest first, cover a's trips once each, in order.
	var seen []string
	f := store.TripFilter{SponsorOrgID: a.ID, Limit: 3}
	for pages := 0; ; pages++ {
		p, err := db.ListTrips(ctx, f)
		must(t, err)
		if p.Total != 7 {
			t.Fatalf("total %d, want 7", p.Total)
		}
		for _, tr := range p.Trips {
			seen = append(seen, tr.ID)
		}
		if p.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		f.After = p.Next
	}
	if len(seen) != 7 {
		t.Fatalf("saw %d trips", len(seen))
	}
	for i, tr := range aTrips {
		if seen[i] != tr.ID {
			t.Fatalf("position %d: got %s, want %s", i, seen[i], tr.ID)
		}
	}
	p, err := db.ListTrips(ctx, store.TripFilter{SponsorOrgID: a.ID, Order: store.NewestFirst, Limit: 2})
	must(t, err)
	if p.Trips[0].ID != aTrips[6].ID || p.Trips[1].ID != aTrips[5].ID {
		t.Fatal("newest first is not newest first")
	}
	p, err = db.ListTrips(ctx, store.TripFilter{SponsorOrgID: a.ID, Order: store.NewestFirst, Limit: 2, After: p.Next})
	must(t, err)
	if p.Trips[0].ID != aTrips[4].ID {
		t.Fatal("second page of newest first")
	}

	for _, f := range []struct {
		name string
		f    store.TripFilter
		want int
	}{
		{"region", store.TripFilter{Region: "Busan"}, 1},
		{"state", store.TripFilter{States: []trip.State{trip.Submitted, trip.NeedsInfo}}, 1},
		{"lane", store.TripFilter{Lane: "CN-KR"}, 8},
		{"other lane", store.TripFilter{Lane: "KR-CN"}, 0},
		{"reference", store.TripFilter{Reference: aTrips[3].Reference[3:]}, 1},
		{"reference wildcard is literal", store.TripFilter{Reference: "%"}, 0},
		{"sponsor b", store.TripFilter{SponsorOrgID: b.ID}, 1},
	} {
		p, err := db.ListTrips(ctx, f.f)
		must(t, err)
		if p.Total != f.want || len(p.Trips) != f.want {
			t.Errorf("%s: %d (%d listed), want %d", f.name, p.Total, len(p.Trips), f.want)
		}
	}
	_, err = db.ListTrips(ctx, store.TripFilter{After: "not a cursor"})
	wantErr(t, err, store.ErrBadCursor)
}

func testTripDue(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	due := newTrip(t, db, sp, t0)
	due.State = trip.ArrivalHold
	due.HoldUntil = t0.Add(48 * time.Hour)
	must(t, db.UpdateTrip(ctx, due))
	later := newTrip(t, db, sp, t0)
	later.State = trip.ArrivalHold
	later.HoldUntil = t0.Add(72 * time.Hour)
	must(t, db.UpdateTrip(ctx, later))
	other := newTrip(t, db, sp, t0) // due, but in another state
	other.State = trip.Released
	other.HoldUntil = t0
	must(t, db.UpdateTrip(ctx, other))

	ids, err := db.ListDue(ctx, []trip.State{trip.ArrivalHold}, store.DueHold, t0.Add(48*time.Hour), 0)
	must(t, err)
	if !slices.Equal(ids, []string{due.ID}) {
		t.Fatalf("due %v, want [%s]", ids, due.ID)
	}
	ids, _ = db.ListDue(ctx, []trip.State{trip.ArrivalHold}, store.DueHold, t0.Add(100*time.Hour), 1)
	if len(ids) != 1 {
		t.Fatalf("limit ignored: %v", ids)
	}
	if _, err := db.ListDue(ctx, []trip.State{trip.ArrivalHold}, store.DueField("version; DROP TABLE trips"), t0, 0); err == nil {
		t.Fatal("an unknown field was accepted")
	}

	done := newTrip(t, db, sp, t0)
	done.State = trip.Completed
	done.FinishedAt = t0
	must(t, db.UpdateTrip(ctx, done))
	ids, _ = db.ListDue(ctx, []trip.State{trip.Completed}, store.DueFinishedBefore, t0.Add(time.Hour), 0)
	if !slices.Equal(ids, []string{done.ID}) {
		t.Fatalf("finished %v", ids)
	}
	must(t, db.PurgeTrip(ctx, done.ID, t0.Add(time.Hour)))
	ids, _ = db.ListDue(ctx, []trip.State{trip.Completed}, store.DueFinishedBefore, t0.Add(time.Hour), 0)
	if len(ids) != 0 {
		t.Fatalf("a purged trip is still due for purging: %v", ids)
	}
}

func testTransitions(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	tr := newTrip(t, db, sp, t0)
	steps := []trip.Action{trip.Submit, trip.RequestInfo, trip.Resubmit}
	for i, a := range steps {
		x := &store.Transition{ID: id("trn"), TripID: tr.ID, Transition: trip.Transition{Action: a, From: trip.Draft, To: trip.Submitted,
			Actor: trip.Actor{ID: "user:u1", Role: trip.RoleSponsor}, Reason: "r", At: t0.Add(time.Duration(i) * time.Minute)}}
		must(t, db.AddTransition(ctx, x))
		if x.Seq != i+1 {
			t.Fatalf("seq %d, want %d", x.Seq, i+1)
		}
	}
	list, err := db.ListTransitions(ctx, tr.ID)
	must(t, err)
	if len(list) != 3 || list[1].Action != trip.RequestInfo || list[2].Seq != 3 || list[0].Actor.Role != trip.RoleSponsor || !list[2].At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("transitions %+v", list)
	}
}

func testPurge(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	lab := newOrg(t, db, auth.KindLab)
	tr := newTrip(t, db, sp, t0)
	tr.State, tr.FinishedAt, tr.TravellerTokenHash, tr.ApprovalHC1, tr.Flight, tr.Seat = trip.Completed, t0, "tok", "HC1:X", "KE123", "12A"
	must(t, db.UpdateTrip(ctx, tr))
	must(t, db.ReplaceItinerary(ctx, tr.ID, []store.ItineraryItem{{Kind: "lodging", Site: "Hotel", Address: "1 Road", FromDate: "2020-05-20", ToDate: "2020-05-21"}}))
	must(t, db.AddDeclaration(ctx, &store.Declaration{ID: id("dcl"), TripID: tr.ID, Phase: store.PostArrival, Day: "2020-05-21", TemperatureDeci: 366, Note: "headache after the flight", RecordedBy: "traveller", CreatedAt: t0}))
	must(t, db.AddTransition(ctx, &store.Transition{ID: id("trn"), TripID: tr.ID, Transition: trip.Transition{Action: trip.Complete, From: trip.Monitoring, To: trip.Completed, Actor: trip.Actor{ID: "system", Role: trip.RoleSystem}, Reason: "Mr Zhang is fine", At: t0}}))
	must(t, db.AddTest(ctx, &store.TestResult{ID: id("tst"), TripID: tr.ID, LabOrgID: lab.ID, Stage: store.StageArrival, TestType: "LP6464-4", SampledAt: t0, Result: store.ResultNegative, Country: "KR", UVCI: id("URN:UVCI:"), HC1: "HC1:Y", RecordedBy: "x", CreatedAt: t0}))

	must(t, db.PurgeTrip(ctx, tr.ID, t0.Add(time.Hour)))
	wantErr(t, db.PurgeTrip(ctx, "nope", t0), store.ErrNotFound)

	got, err := db.GetTrip(ctx, tr.ID)
	must(t, err)
	if got.Traveller != (store.Traveller{}) || got.Host != (store.Contact{}) || got.TravellerTokenHash != "" || got.ApprovalHC1 != "" || got.Flight != "" {
		t.Fatalf("personal data left: %+v", got)
	}
	if got.State != trip.Completed || got.Reference != tr.Reference || got.Lane != tr.Lane || !got.PurgedAt.Equal(t0.Add(time.Hour)) || got.DepartureDate != tr.DepartureDate {
		t.Fatalf("purge removed what it should keep: %+v", got)
	}
	items, _ := db.ListItinerary(ctx, tr.ID)
	if len(items) != 1 || items[0].Site != "" || items[0].Address != "" || items[0].Kind != "lodging" {
		t.Fatalf("itinerary after purge %+v", items)
	}
	decl, _ := db.ListDeclarations(ctx, tr.ID, store.PostArrival)
	if len(decl) != 1 || decl[0].Note != "" || decl[0].TemperatureDeci != 366 {
		t.Fatalf("declarations after purge %+v", decl)
	}
	trs, _ := db.ListTransitions(ctx, tr.ID)
	if len(trs) != 1 || trs[0].Reason != "" || trs[0].To != trip.Completed {
		t.Fatalf("transitions after purge %+v", trs)
	}
	tests, _ := db.ListTests(ctx, tr.ID)
	if len(tests) != 1 || tests[0].HC1 != "" || tests[0].Result != store.ResultNegative {
		t.Fatalf("tests after purge %+v", tests)
	}
}

func testHealth(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	lab := newOrg(t, db, auth.KindLab)
	tr := newTrip(t, db, sp, t0)
	d := &store.Declaration{ID: id("dcl"), TripID: tr.ID, Phase: store.PreDeparture, Day: "2020-05-11", TemperatureDeci: 365,
		Symptoms: []string{"cough", "fever"}, Note: "n", RecordedBy: "traveller", CreatedAt: t0}
	must(t, db.AddDeclaration(ctx, d))
	again := *d
	again.ID = id("dcl")
	wantErr(t, db.AddDeclaration(ctx, &again), store.ErrConflict)
	again.Phase = store.PostArrival // the same day in another phase is another declaration
	must(t, db.AddDeclaration(ctx, &again))
	list, err := db.ListDeclarations(ctx, tr.ID, store.PreDeparture)
	must(t, err)
	if len(list) != 1 || !slices.Equal(list[0].Symptoms, d.Symptoms) || list[0].TemperatureDeci != 365 {
		t.Fatalf("declarations %+v", list)
	}
	none := &store.Declaration{ID: id("dcl"), TripID: tr.ID, Phase: store.PreDeparture, Day: "2020-05-12", CreatedAt: t0}
	must(t, db.AddDeclaration(ctx, none))
	list, _ = db.ListDeclarations(ctx, tr.ID, store.PreDeparture)
	if len(list) != 2 || list[1].Symptoms != nil {
		t.Fatalf("a declaration without symptoms reads back as %+v", list[1])
	}

	r := &store.TestResult{ID: id("tst"), TripID: tr.ID, LabOrgID: lab.ID, Stage: store.StagePreDeparture, TestType: "LP6464-4",
		TestName: "PCR", SampledAt: t0, Result: store.ResultPositive, Facility: "Lab 1", Country: "CN", UVCI: "URN:UVCI:01:CN:X#1",
		HC1: "HC1:Z", RecordedBy: "token:t", CreatedAt: t0.Add(time.Hour)}
	must(t, db.AddTest(ctx, r))
	got, err := db.GetTest(ctx, r.ID)
	must(t, err)
	if *got != *r {
		t.Fatalf("test %+v, want %+v", got, r)
	}
	dup := *r
	dup.ID = id("tst")
	wantErr(t, db.AddTest(ctx, &dup), store.ErrConflict) // same UVCI
	k := &store.Case{ID: id("cas"), TripID: tr.ID, TestID: r.ID, Stage: store.StagePreDeparture, OpenedAt: t0.Add(time.Hour)}
	must(t, db.OpenCase(ctx, k))
	k2 := *k
	k2.ID = id("cas")
	wantErr(t, db.OpenCase(ctx, &k2), store.ErrConflict) // one case per test
	cases, err := db.ListCases(ctx, tr.ID)
	must(t, err)
	if len(cases) != 1 || cases[0] != *k {
		t.Fatalf("cases %+v", cases)
	}
}

func testAlerts(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	tr := newTrip(t, db, sp, t0)
	a := &store.Alert{ID: id("alr"), TripID: tr.ID, Phase: store.PostArrival, Kind: store.AlertMissedDay, Day: "2020-05-22", CreatedAt: t0}
	created, err := db.AddAlert(ctx, a)
	must(t, err)
	if !created {
		t.Fatal("first alert not created")
	}
	dup := *a
	dup.ID = id("alr")
	created, err = db.AddAlert(ctx, &dup)
	must(t, err)
	if created {
		t.Fatal("the same alert was raised twice")
	}
	b := &store.Alert{ID: id("alr"), TripID: tr.ID, Phase: store.PostArrival, Kind: store.AlertSymptoms, Day: "2020-05-22", Detail: "fever", CreatedAt: t0.Add(time.Minute)}
	if ok, err := db.AddAlert(ctx, b); err != nil || !ok {
		t.Fatalf("second kind: %v %v", ok, err)
	}
	must(t, db.AcknowledgeAlert(ctx, a.ID, "user:m", t0.Add(time.Hour)))
	wantErr(t, db.AcknowledgeAlert(ctx, a.ID, "user:m", t0.Add(time.Hour)), store.ErrConflict)
	open, err := db.ListAlerts(ctx, store.AlertFilter{OpenOnly: true})
	must(t, err)
	if len(open) != 1 || open[0].ID != b.ID || open[0].Detail != "fever" {
		t.Fatalf("open alerts %+v", open)
	}
	all, _ := db.ListAlerts(ctx, store.AlertFilter{TripID: tr.ID})
	if len(all) != 2 {
		t.Fatalf("alerts %+v", all)
	}
	got, err := db.GetAlert(ctx, a.ID)
	must(t, err)
	if got.AcknowledgedBy != "user:m" || !got.AcknowledgedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("acknowledged %+v", got)
	}
}

func testQuota(t *testing.T, h Harness) {
	db := h.Open(t)
	k := store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: "2020-W21"}
	for i := 0; i < 3; i++ {
		ok, err := db.TakeQuota(ctx, k, 3)
		must(t, err)
		if !ok {
			t.Fatalf("take %d refused below the limit", i+1)
		}
	}
	ok, err := db.TakeQuota(ctx, k, 3)
	must(t, err)
	if ok {
		t.Fatal("took quota past the limit")
	}
	// Raising the limit (a policy change) opens room again.
	if ok, _ := db.TakeQuota(ctx, k, 4); !ok {
		t.Fatal("a raised limit was not honoured")
	}
	used, err := db.QuotaUsed(ctx, k)
	must(t, err)
	if used != 4 {
		t.Fatalf("used %d, want 4", used)
	}
	other := k
	other.Week = "2020-W22"
	if ok, _ := db.TakeQuota(ctx, other, 0); ok {
		t.Fatal("a zero quota admitted an approval")
	}
	if used, _ := db.QuotaUsed(ctx, other); used != 0 {
		t.Fatalf("another week used %d", used)
	}
}

// testQuotaRace: 50 transactions on several separate connection pools race
// for a quota of 10; exactly 10 win, and the counter says 10.
func testQuotaRace(t *testing.T, h Harness) {
	db := h.Open(t)
	pools := []store.DB{db, h.Reopen(t, db), h.Reopen(t, db), h.Reopen(t, db)}
	k := store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: "2020-W21"}
	const racers, limit = 50, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, errs := 0, []error{}
	start := make(chan struct{})
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func(s store.DB) {
			defer wg.Done()
			<-start
			err := s.InTx(ctx, func(tx store.Store) error {
				ok, err := tx.TakeQuota(ctx, k, limit)
				if err != nil {
					return err
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(pools[i%len(pools)])
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d transactions failed, first: %v", len(errs), errs[0])
	}
	if won != limit {
		t.Fatalf("%d of %d racers took the quota of %d", won, racers, limit)
	}
	used, err := db.QuotaUsed(ctx, k)
	must(t, err)
	if used != limit {
		t.Fatalf("counter at %d, want %d", used, limit)
	}
}

func testLaneSuspension(t *testing.T, h Harness) {
	db := h.Open(t)
	_, err := db.ActiveLaneSuspension(ctx, "CN-KR", t0)
	wantErr(t, err, store.ErrNotFound)
	s := &store.LaneSuspension{ID: id("sus"), Lane: "CN-KR", StartsAt: t0, EndsAt: t0.Add(7 * 24 * time.Hour), Reason: "5 arrival positives in 7 days", CreatedBy: "system"}
	must(t, db.AddLaneSuspension(ctx, s))
	got, err := db.ActiveLaneSuspension(ctx, "CN-KR", t0.Add(time.Hour))
	must(t, err)
	if got.ID != s.ID || got.Reason != s.Reason {
		t.Fatalf("got %+v", got)
	}
	if _, err := db.ActiveLaneSuspension(ctx, "KR-CN", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("another lane is suspended")
	}
	if _, err := db.ActiveLaneSuspension(ctx, "CN-KR", t0.Add(8*24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a suspension outlived its end")
	}
	// A second report of the same suspension is refused without spoiling
	// the transaction it runs in (PostgreSQL aborts on a caught unique
	// violation), so the writes after it still commit.
	must(t, db.InTx(ctx, func(tx store.Store) error {
		wantErr(t, tx.AddLaneSuspension(ctx, &store.LaneSuspension{ID: s.ID, Lane: "CN-KR", StartsAt: t0, EndsAt: t0.Add(time.Hour), Reason: "again", CreatedBy: "peer:KR"}), store.ErrConflict)
		wantErr(t, tx.AddLiftApproval(ctx, &store.LiftApproval{SuspensionID: s.ID, Lane: "CN-KR", Country: "KR", OfficerRef: "usr-1", At: t0.Add(time.Hour)}), nil)
		wantErr(t, tx.AddLiftApproval(ctx, &store.LiftApproval{SuspensionID: s.ID, Lane: "CN-KR", Country: "KR", OfficerRef: "usr-2", At: t0.Add(2 * time.Hour)}), store.ErrConflict)
		return tx.AddLiftApproval(ctx, &store.LiftApproval{SuspensionID: s.ID, Lane: "CN-KR", Country: "CN", OfficerRef: "usr-9", At: t0.Add(90 * time.Minute)})
	}))
	got, err = db.GetLaneSuspension(ctx, s.ID)
	must(t, err)
	if got.Reason != s.Reason || !got.EndsAt.Equal(s.EndsAt) {
		t.Fatalf("suspension %+v, want %+v", got, s)
	}
	_, err = db.GetLaneSuspension(ctx, "sus-none")
	wantErr(t, err, store.ErrNotFound)
	lifts, err := db.ListLiftApprovals(ctx, "CN-KR")
	must(t, err)
	if len(lifts) != 2 || lifts[0].Country != "KR" || lifts[0].OfficerRef != "usr-1" || !lifts[0].At.Equal(t0.Add(time.Hour)) || lifts[1].Country != "CN" {
		t.Fatalf("lift approvals %+v", lifts)
	}
	if other, err := db.ListLiftApprovals(ctx, "KR-CN"); err != nil || len(other) != 0 {
		t.Fatalf("another lane's lift approvals: %+v, %v", other, err)
	}
	must(t, db.LiftLaneSuspension(ctx, s.ID, t0.Add(2*time.Hour)))
	wantErr(t, db.LiftLaneSuspension(ctx, s.ID, t0.Add(3*time.Hour)), store.ErrNotFound)
	if _, err := db.ActiveLaneSuspension(ctx, "CN-KR", t0.Add(3*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a lifted suspension is still active")
	}
	if got, err := db.GetLaneSuspension(ctx, s.ID); err != nil || !got.LiftedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("lifted suspension %+v, %v", got, err)
	}

	// The breaker's input: a lane's cases of one stage since a time.
	sp := newOrg(t, db, auth.KindSponsor)
	lab := newOrg(t, db, auth.KindLab)
	a, b := newTrip(t, db, sp, t0), newTrip(t, db, sp, t0)
	b.Lane = "KR-CN"
	must(t, db.UpdateTrip(ctx, b))
	open := func(tr *store.Trip, stage store.Stage, at time.Time) string {
		r := &store.TestResult{ID: id("tst"), TripID: tr.ID, LabOrgID: lab.ID, Stage: stage, TestType: "LP6464-4", SampledAt: at,
			Result: store.ResultPositive, Country: "KR", UVCI: id("URN:UVCI:"), RecordedBy: "x", CreatedAt: at}
		must(t, db.AddTest(ctx, r))
		k := &store.Case{ID: id("cas"), TripID: tr.ID, TestID: r.ID, Stage: stage, OpenedAt: at}
		must(t, db.OpenCase(ctx, k))
		return k.ID
	}
	open(a, store.StageArrival, t0.Add(-time.Hour)) // before the window
	in1 := open(a, store.StageArrival, t0.Add(time.Hour))
	open(a, store.StageFollowUp, t0.Add(2*time.Hour)) // another stage
	open(b, store.StageArrival, t0.Add(3*time.Hour))  // another lane
	in2 := open(a, store.StageArrival, t0)            // the window's first instant
	cases, err := db.LaneCases(ctx, "CN-KR", store.StageArrival, t0)
	must(t, err)
	if len(cases) != 2 || cases[0].ID != in2 || cases[1].ID != in1 || cases[1].Stage != store.StageArrival || !cases[1].OpenedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("lane cases %+v, want %s then %s", cases, in2, in1)
	}
}

// testTxRollback: a transaction that fails after several writes leaves
// every row as it was, the trip in its old state.
func testTxRollback(t *testing.T, h Harness) {
	db := h.Open(t)
	sp := newOrg(t, db, auth.KindSponsor)
	tr := newTrip(t, db, sp, t0)
	boom := errors.New("crash between writes")
	err := db.InTx(ctx, func(tx store.Store) error {
		cur, err := tx.GetTrip(ctx, tr.ID)
		if err != nil {
			return err
		}
		cur.State = trip.Submitted
		if err := tx.UpdateTrip(ctx, cur); err != nil {
			return err
		}
		if err := tx.AddTransition(ctx, &store.Transition{ID: id("trn"), TripID: tr.ID, Transition: trip.Transition{Action: trip.Submit, From: trip.Draft, To: trip.Submitted, Actor: trip.Actor{ID: "user:x", Role: trip.RoleSponsor}, At: t0}}); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &audit.Entry{At: t0, Actor: "user:x", Action: "trip.submit", Object: "trip:" + tr.ID}); err != nil {
			return err
		}
		if _, err := tx.TakeQuota(ctx, store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: "2020-W21"}, 5); err != nil {
			return err
		}
		// Inside the transaction its own writes are visible.
		if cur, err := tx.GetTrip(ctx, tr.ID); err != nil || cur.State != trip.Submitted {
			return fmt.Errorf("the transaction does not see its own write: %v", err)
		}
		return boom
	})
	wantErr(t, err, boom)
	got, err := db.GetTrip(ctx, tr.ID)
	must(t, err)
	if got.State != trip.Draft || got.Version != 1 {
		t.Fatalf("after a failed transaction the trip is %s v%d", got.State, got.Version)
	}
	if trs, _ := db.ListTransitions(ctx, tr.ID); len(trs) != 0 {
		t.Fatalf("transitions survived the rollback: %+v", trs)
	}
	if head, _ := db.AuditHead(ctx); head.Seq != 0 {
		t.Fatalf("audit head moved to %d", head.Seq)
	}
	if used, _ := db.QuotaUsed(ctx, store.QuotaKey{Lane: "CN-KR", Scope: store.PerRegion, Bucket: "KR", Week: "2020-W21"}); used != 0 {
		t.Fatalf("quota taken by a rolled-back transaction: %d", used)
	}

	// A panic rolls back too, and propagates.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		_ = db.InTx(ctx, func(tx store.Store) error {
			cur, _ := tx.GetTrip(ctx, tr.ID)
			cur.State = trip.Withdrawn
			_ = tx.UpdateTrip(ctx, cur)
			panic("process dies mid-transaction")
		})
	}()
	got, _ = db.GetTrip(ctx, tr.ID)
	if got.State != trip.Draft {
		t.Fatalf("after a panic the trip is %s", got.State)
	}
	// The store still works after both.
	got.State = trip.Submitted
	must(t, db.UpdateTrip(ctx, got))
}

func testTxNested(t *testing.T, h Harness) {
	db := h.Open(t)
	boom := errors.New("outer fails")
	err := db.InTx(ctx, func(tx store.Store) error {
		if err := tx.InTx(ctx, func(inner store.Store) error {
			_ = newOrg(t, inner, auth.KindLab)
			return nil
		}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	orgs, _ := db.ListOrgs(ctx)
	if len(orgs) != 0 {
		t.Fatal("a nested transaction committed on its own")
	}
}

func appendN(t testing.TB, s store.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		e := &audit.Entry{At: t0.Add(time.Duration(i) * time.Second), Actor: "user:u1", Role: "reviewer", Action: "trip.view",
			Object: fmt.Sprintf("trip:%d", i%3), Details: map[string]string{"n": fmt.Sprint(i)}}
		must(t, s.AppendAudit(ctx, e))
	}
}

func testAudit(t *testing.T, h Harness) {
	db := h.Open(t)
	appendN(t, db, 5)
	rep, err := audit.Verify(ctx, db)
	must(t, err)
	if rep.Problem != nil || rep.Checked != 5 || rep.Head.Seq != 5 {
		t.Fatalf("report %+v %v", rep, rep.Problem)
	}
	got, err := db.AuditFor(ctx, "trip:1", 10)
	must(t, err)
	if len(got) != 2 || got[0].Seq != 5 || got[1].Seq != 2 || got[0].Details["n"] != "4" {
		t.Fatalf("entries for trip:1 %+v", got)
	}
	bad := &audit.Entry{At: t0, Actor: "user:u1", Action: "Trip View!", Object: "x"}
	if err := db.AppendAudit(ctx, bad); err == nil {
		t.Fatal("a malformed entry was appended")
	}
	if head, _ := db.AuditHead(ctx); head.Seq != 5 {
		t.Fatalf("a refused entry moved the head to %d", head.Seq)
	}
}

// testAuditTamper changes, removes and truncates entries behind the
// store's back; Verify names the first entry hit each time.
func testAuditTamper(t *testing.T, h Harness) {
	cases := []struct {
		name  string
		sql   string
		args  []any
		seq   int64
		kinds []audit.ProblemKind
	}{
		{"changed detail", `UPDATE audit_entries SET details = ? WHERE seq = ?`, []any{`{"n":"99"}`, 4}, 4, []audit.ProblemKind{audit.Changed}},
		{"changed actor", `UPDATE audit_entries SET actor = ? WHERE seq = ?`, []any{"user:someone-else", 2}, 2, []audit.ProblemKind{audit.Changed}},
		{"changed time", `UPDATE audit_entries SET occurred_at = occurred_at + 1 WHERE seq = ?`, []any{6}, 6, []audit.ProblemKind{audit.Changed}},
		{"removed middle", `DELETE FROM audit_entries WHERE seq = ?`, []any{3}, 3, []audit.ProblemKind{audit.Missing}},
		{"removed last", `DELETE FROM audit_entries WHERE seq = ?`, []any{8}, 8, []audit.ProblemKind{audit.Missing}},
		{"removed first", `DELETE FROM audit_entries WHERE seq = ?`, []any{1}, 1, []audit.ProblemKind{audit.Missing}},
		// Rewriting an entry and its hash breaks the next link.
		{"rehashed", `UPDATE audit_entries SET hash = ? WHERE seq = ?`, []any{"00", 5}, 5, []audit.ProblemKind{audit.Changed}},
		{"relinked", `UPDATE audit_entries SET prev_hash = ? WHERE seq = ?`, []any{"00", 7}, 7, []audit.ProblemKind{audit.Relinked}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := h.Open(t)
			appendN(t, db, 8)
			if rep, err := audit.Verify(ctx, db); err != nil || rep.Problem != nil {
				t.Fatalf("before tampering: %v %v", err, rep.Problem)
			}
			h.Exec(t, db, tc.sql, tc.args...)
			rep, err := audit.Verify(ctx, db)
			must(t, err)
			if rep.Problem == nil {
				t.Fatal("tampering not found")
			}
			if rep.Problem.Seq != tc.seq || !slices.Contains(tc.kinds, rep.Problem.Kind) {
				t.Fatalf("found %v, want entry %d %v", rep.Problem, tc.seq, tc.kinds)
			}
		})
	}
}

func testAuditConcurrent(t *testing.T, h Harness) {
	db := h.Open(t)
	pools := []store.DB{db, h.Reopen(t, db)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- pools[i%2].AppendAudit(ctx, &audit.Entry{At: t0, Actor: "system", Action: "job.run", Object: fmt.Sprint(i)})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	rep, err := audit.Verify(ctx, db)
	must(t, err)
	if rep.Problem != nil || rep.Checked != 20 {
		t.Fatalf("after concurrent appends: checked %d, %v", rep.Checked, rep.Problem)
	}
}
