package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// visible tells whether p, acting in role, may see trip t: a sponsor its
// own organisation's trips, a traveller their own, officials all.
func visible(p Principal, role trip.Role, t *store.Trip) bool {
	switch {
	case role == trip.RoleSponsor:
		return p.OrgID != "" && t.SponsorOrgID == p.OrgID
	case p.Kind == KindTraveller:
		return p.ID == t.ID
	}
	return true
}

// loadTrip reads a trip p may see; one it may not see is "not found", so
// that no one learns another sponsor's references.
func (a *App) loadTrip(ctx context.Context, s store.Store, p Principal, role trip.Role, tripID string) (*store.Trip, error) {
	if err := idInput("trip", tripID); err != nil {
		return nil, err
	}
	t, err := s.GetTrip(ctx, tripID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("trip")
	}
	if err != nil {
		return nil, err
	}
	if !visible(p, role, t) {
		return nil, notFound("trip")
	}
	return t, nil
}

// act runs one use case on one trip: it authorises p for uc, loads the
// trip in a transaction, lets fn change it, and commits the change. fn may
// run again if the database asks for a retry, on a freshly read trip.
func (a *App) act(ctx context.Context, p Principal, uc UseCase, tripID string,
	fn func(tx store.Store, c *change, role trip.Role, now time.Time) error) (*Trip, error) {
	role, err := authorize(p, uc)
	if err != nil {
		return nil, err
	}
	var out *Trip
	err = a.tx(ctx, "trip", func(tx store.Store) error {
		t, err := a.loadTrip(ctx, tx, p, role, tripID)
		if err != nil {
			return err
		}
		c := a.newChange(t)
		if err := fn(tx, c, role, a.now()); err != nil {
			return err
		}
		if err := c.commit(ctx, tx, true); err != nil {
			return err
		}
		out = c.t
		return nil
	})
	return out, err
}

// referenceAlphabet leaves out 0, 1, I, L and O, which people misread.
const referenceAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func (a *App) newReference() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = referenceAlphabet[int(b[i])%len(referenceAlphabet)]
	}
	return a.cfg.Country + "-" + string(b)
}

func (a *App) today() time.Time {
	d, _ := a.dayStart(a.day(a.now()))
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

func applyInput(t *store.Trip, in *TripInput) {
	t.Lane, t.Region, t.Purpose = in.Lane, in.Region, in.Purpose
	t.Traveller, t.Host = in.Traveller, in.Host
	t.DepartureDate, t.ReturnDate = in.DepartureDate, in.ReturnDate
}

func inputOf(t *store.Trip, items []ItineraryItem) TripInput {
	return TripInput{Lane: t.Lane, Region: t.Region, Purpose: t.Purpose, Traveller: t.Traveller, Host: t.Host,
		DepartureDate: t.DepartureDate, ReturnDate: t.ReturnDate, Itinerary: items}
}

// CreateTrip files a draft application for the sponsor's organisation.
// Role: sponsor.
func (a *App) CreateTrip(ctx context.Context, p Principal, in TripInput) (*Trip, error) {
	if _, err := authorize(p, UCTripCreate); err != nil {
		return nil, err
	}
	normalizeTrip(&in)
	if err := validateTrip(&in, a.Policy(), a.cfg.Country, false, a.today()); err != nil {
		return nil, err
	}
	var out *Trip
	for attempt := 0; ; attempt++ {
		now := a.now()
		t := &store.Trip{ID: auth.NewID(), Reference: a.newReference(), State: trip.Draft, SponsorOrgID: p.OrgID,
			CreatedBy: p.ActorID(), CreatedAt: now, UpdatedAt: now}
		applyInput(t, &in)
		err := a.tx(ctx, "trip", func(tx store.Store) error {
			if err := tx.CreateTrip(ctx, t); err != nil {
				return err
			}
			if err := tx.ReplaceItinerary(ctx, t.ID, in.Itinerary); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, entry(p, string(trip.RoleSponsor), "trip.create", "trip:"+t.ID, now, nil))
		})
		// A taken reference (one in 31^8) is drawn again.
		if ErrorCode(err) == CodeConflict && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = t
		return out, nil
	}
}

// UpdateTrip replaces a draft's fields, or an application's while it
// awaits more information. version is the trip's Version as the sponsor
// last saw it: a change made meanwhile is not overwritten. Role: sponsor.
func (a *App) UpdateTrip(ctx context.Context, p Principal, tripID string, version int64, in TripInput) (*Trip, error) {
	normalizeTrip(&in)
	return a.act(ctx, p, UCTripEdit, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		t := c.t
		if t.State != trip.Draft && t.State != trip.NeedsInfo {
			return conflict("the application is %s: only a draft, or one awaiting more information, can be edited", t.State)
		}
		if t.Version != version {
			return conflict("the application was changed since you opened it: reload it and make your changes again")
		}
		if err := validateTrip(&in, a.Policy(), a.cfg.Country, false, a.today()); err != nil {
			return err
		}
		applyInput(t, &in)
		t.UpdatedAt = now
		if err := tx.ReplaceItinerary(ctx, t.ID, in.Itinerary); err != nil {
			return err
		}
		c.audit(entry(p, string(role), "trip.edit", "trip:"+t.ID, now, nil))
		return nil
	})
}

// checkComplete validates a stored application as submitting requires.
func (a *App) checkComplete(ctx context.Context, tx store.Store, t *store.Trip) error {
	items, err := tx.ListItinerary(ctx, t.ID)
	if err != nil {
		return err
	}
	in := inputOf(t, items)
	return validateTrip(&in, a.Policy(), a.cfg.Country, true, a.today())
}

// SubmitTrip sends a complete draft to the reviewers. Role: sponsor.
func (a *App) SubmitTrip(ctx context.Context, p Principal, tripID string) (*Trip, error) {
	return a.act(ctx, p, UCTripSubmit, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		if err := c.move(p, role, trip.Submit, "", now); err != nil {
			return err
		}
		if err := a.checkComplete(ctx, tx, c.t); err != nil {
			return err
		}
		c.t.SubmittedAt = now
		return nil
	})
}

// AnswerInfo answers a reviewer's request for information and sends the
// application back for review; edit the fields first with UpdateTrip if
// the answer changes them. Role: sponsor.
func (a *App) AnswerInfo(ctx context.Context, p Principal, tripID, answer string) (*Trip, error) {
	answer, err := reasonText("answer", answer, true)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripAnswer, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		if err := c.move(p, role, trip.Resubmit, answer, now); err != nil {
			return err
		}
		return a.checkComplete(ctx, tx, c.t)
	})
}

// WithdrawTrip withdraws an application or an unused approval. Roles:
// sponsor (its own), reviewer.
func (a *App) WithdrawTrip(ctx context.Context, p Principal, tripID, reason string) (*Trip, error) {
	reason, err := reasonText("reason", reason, false)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripWithdraw, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		return c.move(p, role, trip.Withdraw, reason, now)
	})
}

// RequestInfo asks the sponsor for more information. Role: reviewer.
func (a *App) RequestInfo(ctx context.Context, p Principal, tripID, question string) (*Trip, error) {
	question, err := reasonText("reason", question, true)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripRequestInfo, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		return c.move(p, role, trip.RequestInfo, question, now)
	})
}

// RejectTrip refuses an application, with the reason the sponsor will
// read. Role: reviewer.
func (a *App) RejectTrip(ctx context.Context, p Principal, tripID, reason string) (*Trip, error) {
	reason, err := reasonText("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return a.act(ctx, p, UCTripReject, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		return c.move(p, role, trip.Reject, reason, now)
	})
}

// isoWeek names the ISO week of a day, e.g. 2020-W19.
func isoWeek(d time.Time) string {
	y, w := d.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// ApproveTrip approves an application within the weekly quotas and issues
// the signed entry approval. The quota counted is the week of the planned
// departure (entry), per destination region and per sponsor, because
// quotas exist to bound arrivals at the quarantine sites. Role: reviewer.
func (a *App) ApproveTrip(ctx context.Context, p Principal, tripID, note string) (*Trip, error) {
	note, err := reasonText("reason", note, false)
	if err != nil {
		return nil, err
	}
	pre := a.presignApproval(ctx, p, tripID, note)
	return a.act(ctx, p, UCTripApprove, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		t := c.t
		// The machine first: approving a draft is refused as such, not
		// as a quota matter.
		if err := c.move(p, role, trip.Approve, note, now); err != nil {
			return err
		}
		pol := a.Policy()
		lane, err := a.openLane(ctx, tx, pol, t, now)
		if err != nil {
			return err
		}
		dep, err := time.Parse(time.DateOnly, t.DepartureDate)
		if err != nil {
			return conflict("the application has no valid departure date")
		}
		if dep.Before(a.today()) {
			return conflict("the planned departure date %s has passed: ask the sponsor for new dates", t.DepartureDate)
		}
		week := isoWeek(dep)
		limit := lane.Quota.WeeklyPerRegion[t.Region]
		// Taken when the change commits, after the audit entries.
		c.takeQuota(store.QuotaKey{Lane: lane.ID, Scope: store.PerRegion, Bucket: t.Region, Week: week}, limit,
			&Error{Code: CodeQuotaExhausted, Msg: fmt.Sprintf("the weekly quota of %d approvals for %s on lane %s is used up for week %s", limit, t.Region, lane.ID, week)})
		if per := lane.Quota.WeeklyPerSponsor; per > 0 {
			c.takeQuota(store.QuotaKey{Lane: lane.ID, Scope: store.PerSponsor, Bucket: t.SponsorOrgID, Week: week}, per,
				&Error{Code: CodeQuotaExhausted, Msg: fmt.Sprintf("this sponsor's weekly quota of %d approvals on lane %s is used up for week %s", per, lane.ID, week)})
		}
		ap, err := a.issueApproval(ctx, tx, t, dep, now, pre)
		c.approval = ap
		return err
	})
}

// presigned is an entry approval signed before the approval's transaction.
type presigned struct {
	version int64  // the trip's, as read
	sponsor string // the sponsor's name, as read
	ap      *approval.Approval
	hc1     string
	until   time.Time
}

// presignApproval signs the entry approval from the trip as read outside
// the approval's transaction. Signing is the longest step of an approval,
// and inside the transaction it held up every other write queued on
// SQLite's single writer. issueApproval takes the signed approval only if
// the trip is still at the version read (every change to a trip moves its
// version) and the sponsor's name is unchanged, and signs again otherwise.
// It returns nil when the trip cannot be approved as read; the transaction
// then says why.
func (a *App) presignApproval(ctx context.Context, p Principal, tripID, note string) *presigned {
	role, err := authorize(p, UCTripApprove)
	if err != nil {
		return nil
	}
	t, err := a.loadTrip(ctx, a.db, p, role, tripID)
	if err != nil {
		return nil
	}
	now := a.now()
	if _, err := trip.Apply(t.State, t.SuspendedFrom, trip.Approve, trip.Actor{ID: p.ActorID(), Role: role}, note, now); err != nil {
		return nil
	}
	dep, err := time.Parse(time.DateOnly, t.DepartureDate)
	if err != nil {
		return nil
	}
	sponsor, err := a.db.GetOrg(ctx, t.SponsorOrgID)
	if err != nil {
		return nil
	}
	ap, until, err := a.draftApproval(t, sponsor.Name, dep, now)
	if err != nil {
		return nil
	}
	hc1, err := a.cfg.Issuer.IssueApproval(ctx, ap, now)
	if err != nil {
		return nil
	}
	return &presigned{version: t.Version, sponsor: sponsor.Name, ap: ap, hc1: hc1, until: until}
}

// openLane checks that the trip's lane, region and purpose are open under
// the policy in force and that the lane is not suspended.
func (a *App) openLane(ctx context.Context, tx store.Store, pol *policy.Policy, t *store.Trip, now time.Time) (*policy.Lane, error) {
	lane, ok := pol.Lane(t.Lane)
	switch {
	case !ok:
		return nil, conflict("lane %s is not in the corridor policy in force", t.Lane)
	case lane.Destination != a.cfg.Country:
		return nil, conflict("lane %s leads to %s, not to this node's country", lane.ID, lane.Destination)
	case !lane.OpensRegion(t.Region):
		return nil, conflict("region %s is not open on lane %s under the policy in force", t.Region, lane.ID)
	case !pol.AllowsPurpose(t.Purpose):
		return nil, conflict("purpose %s is not eligible under the policy in force", t.Purpose)
	}
	s, err := tx.ActiveLaneSuspension(ctx, lane.ID, now)
	if err == nil {
		return nil, conflict("lane %s is suspended until %s: %s", lane.ID, s.EndsAt.Format(time.RFC3339), s.Reason)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return lane, nil
}

// issueApproval gives the approved trip its signed entry approval: pre's
// if it was signed from this very trip, a new one otherwise.
func (a *App) issueApproval(ctx context.Context, tx store.Store, t *store.Trip, dep, now time.Time, pre *presigned) (*approval.Approval, error) {
	sponsor, err := tx.GetOrg(ctx, t.SponsorOrgID)
	if err != nil {
		return nil, err
	}
	if pre != nil && pre.version == t.Version && pre.sponsor == sponsor.Name {
		t.ApprovalID, t.ApprovalHC1, t.ApprovedAt, t.ApprovalValidUntil = pre.ap.ID, pre.hc1, now, pre.until
		return pre.ap, nil
	}
	ap, until, err := a.draftApproval(t, sponsor.Name, dep, now)
	if err != nil {
		return nil, err
	}
	hc1, err := a.cfg.Issuer.IssueApproval(ctx, ap, now)
	if err != nil {
		return nil, fmt.Errorf("issuing the entry approval: %w", err)
	}
	t.ApprovalID, t.ApprovalHC1, t.ApprovedAt, t.ApprovalValidUntil = ap.ID, hc1, now, until
	return ap, nil
}

// draftApproval fills in the entry approval of trip t, valid from now.
func (a *App) draftApproval(t *store.Trip, sponsor string, dep, now time.Time) (*approval.Approval, time.Time, error) {
	id, err := dcc.NewUVCI(a.cfg.Country, "AP", rand.Reader)
	if err != nil {
		return nil, time.Time{}, err
	}
	// Valid from now to the end of the departure day plus the grace days.
	until := dep.AddDate(0, 0, 1+a.cfg.ApprovalGraceDays)
	tv := t.Traveller
	ap := &approval.Approval{
		Ver: approval.Version, ID: id,
		Nam: approval.Name{Fn: tv.FamilyName, Fnt: tv.FamilyNameICAO, Gn: tv.GivenName, Gnt: tv.GivenNameICAO},
		Dob: tv.DateOfBirth, Lane: t.Lane, Region: t.Region, Purpose: t.Purpose,
		ValidFrom: now.Format(time.RFC3339), ValidUntil: until.Format(time.RFC3339),
		Itinerary: t.Reference, Authority: a.cfg.AuthorityName, Sponsor: truncate(sponsor, 120),
	}
	if err := ap.SetPassport(tv.PassportCountry, tv.PassportNumber, nil); err != nil {
		return nil, time.Time{}, conflict("the passport number cannot be put on an approval: %v", err)
	}
	return ap, until, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// ListTrips lists trips, without personal data. A sponsor sees only its
// organisation's. Roles: sponsor, reviewer, health_authority,
// border_officer, arrival_officer, health_monitor, joint_officer.
func (a *App) ListTrips(ctx context.Context, p Principal, q TripQuery) (*TripList, error) {
	role, err := authorize(p, UCTripList)
	if err != nil {
		return nil, err
	}
	v := invalid{}
	if len(q.Reference) > maxRefQuery {
		v.add("reference", "must be at most %d characters", maxRefQuery)
	}
	if q.Limit < 0 || q.Limit > 200 {
		v.add("limit", "must be 1 to 200")
	}
	for _, s := range q.States {
		if !s.Valid() {
			v.add("state", "%q is not a trip state", s)
		}
	}
	if len(q.Lane) > 20 {
		v.add("lane", "is not a lane")
	}
	if len(q.Region) > 60 || len(q.SponsorOrgID) > maxIDInput {
		v.add("region", "is not a region")
	}
	if len(q.After) > 200 {
		v.add("after", "is not a page cursor")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	f := store.TripFilter{Lane: strings.ToUpper(q.Lane), Region: q.Region, States: q.States, SponsorOrgID: q.SponsorOrgID,
		Reference: strings.ToUpper(strings.TrimSpace(q.Reference)), After: q.After, Limit: q.Limit}
	if role == trip.RoleSponsor {
		f.SponsorOrgID = p.OrgID
	}
	if q.NewestFirst {
		f.Order = store.NewestFirst
	}
	page, err := a.db.ListTrips(ctx, f)
	if err != nil {
		if errors.Is(err, store.ErrBadCursor) {
			return nil, &Error{Code: CodeInvalid, Msg: "the page cursor is not valid", Fields: map[string]string{"after": "is not a page cursor"}}
		}
		return nil, storeErr(err, "trips")
	}
	names, err := a.orgNames(ctx)
	if err != nil {
		return nil, storeErr(err, "organisations")
	}
	out := &TripList{Total: page.Total, Next: page.Next, Trips: make([]TripSummary, len(page.Trips))}
	for i, t := range page.Trips {
		out.Trips[i] = TripSummary{ID: t.ID, Reference: t.Reference, State: t.State, Lane: t.Lane, Region: t.Region,
			Purpose: t.Purpose, SponsorOrgID: t.SponsorOrgID, SponsorName: names[t.SponsorOrgID],
			DepartureDate: t.DepartureDate, ReturnDate: t.ReturnDate, CreatedAt: t.CreatedAt, SubmittedAt: t.SubmittedAt, UpdatedAt: t.UpdatedAt}
	}
	return out, nil
}

func (a *App) orgNames(ctx context.Context) (map[string]string, error) {
	orgs, err := a.db.ListOrgs(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(orgs))
	for _, o := range orgs {
		m[o.ID] = o.Name
	}
	return m, nil
}

// GetTrip opens one trip with its personal data, history and health
// records; the view is written to the audit log. Roles: as ListTrips.
func (a *App) GetTrip(ctx context.Context, p Principal, tripID string) (*TripDetail, error) {
	role, err := authorize(p, UCTripView)
	if err != nil {
		return nil, err
	}
	var d *TripDetail
	err = a.tx(ctx, "trip", func(tx store.Store) error {
		t, err := a.loadTrip(ctx, tx, p, role, tripID)
		if err != nil {
			return err
		}
		if d, err = a.detail(ctx, tx, p, t); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, entry(p, string(role), "trip.view", "trip:"+t.ID, a.now(), nil))
	})
	return d, err
}

// GetTripByReference is GetTrip by the reference people read out.
func (a *App) GetTripByReference(ctx context.Context, p Principal, ref string) (*TripDetail, error) {
	if _, err := authorize(p, UCTripView); err != nil {
		return nil, err
	}
	ref = strings.ToUpper(strings.TrimSpace(ref))
	if ref == "" || len(ref) > maxRefQuery {
		return nil, notFound("trip")
	}
	t, err := a.db.GetTripByReference(ctx, ref)
	if err != nil {
		return nil, storeErr(err, "trip")
	}
	return a.GetTrip(ctx, p, t.ID)
}

func (a *App) detail(ctx context.Context, s store.Store, p Principal, t *store.Trip) (*TripDetail, error) {
	d := &TripDetail{Trip: *t}
	var err error
	if d.Itinerary, err = s.ListItinerary(ctx, t.ID); err != nil {
		return nil, err
	}
	if d.Transitions, err = s.ListTransitions(ctx, t.ID); err != nil {
		return nil, err
	}
	pre, err := s.ListDeclarations(ctx, t.ID, store.PreDeparture)
	if err != nil {
		return nil, err
	}
	post, err := s.ListDeclarations(ctx, t.ID, store.PostArrival)
	if err != nil {
		return nil, err
	}
	d.Declarations = append(pre, post...)
	if d.Tests, err = s.ListTests(ctx, t.ID); err != nil {
		return nil, err
	}
	if d.Cases, err = s.ListCases(ctx, t.ID); err != nil {
		return nil, err
	}
	if d.Alerts, err = s.ListAlerts(ctx, store.AlertFilter{TripID: t.ID}); err != nil {
		return nil, err
	}
	if o, err := s.GetOrg(ctx, t.SponsorOrgID); err == nil {
		d.SponsorName = o.Name
	}
	if t.State == trip.PreDeparture || t.State == trip.Approved {
		if lane, ok := a.Policy().Lane(t.Lane); ok {
			d.Clearance = a.clearance(lane, t, pre, d.Tests, d.Cases, a.now())
		}
	}
	seen := map[trip.Action]bool{}
	for _, r := range p.Roles {
		for _, act := range trip.Allowed(t.State, r) {
			if !seen[act] {
				seen[act] = true
				d.Actions = append(d.Actions, act)
			}
		}
	}
	return d, nil
}
