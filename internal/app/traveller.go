package app

import (
	"context"
	"errors"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// A traveller has no account: the sponsor (or a reviewer) hands them a
// personal link, and they open it with their passport number. The link's
// secret is kept only as a hash; issuing a new link ends the old one and
// its sessions.

// IssueTravellerLink makes a new personal link secret for the trip's
// traveller, replacing any earlier one. Roles: sponsor (its own),
// reviewer.
func (a *App) IssueTravellerLink(ctx context.Context, p Principal, tripID string) (string, error) {
	var secret string
	_, err := a.act(ctx, p, UCTravellerLink, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		if c.t.State.Final() {
			return conflict("the trip is %s: its traveller link is closed", c.t.State)
		}
		s, hash, err := auth.NewSecret(auth.PrefixTraveller)
		if err != nil {
			return err
		}
		secret = s
		c.t.TravellerTokenHash = hash
		c.t.UpdatedAt = now
		if err := tx.DeleteTripTravellerSessions(ctx, c.t.ID); err != nil {
			return err
		}
		c.audit(entry(p, string(role), "trip.traveller_link", "trip:"+c.t.ID, now, nil))
		return nil
	})
	return secret, err
}

// TravellerLogin opens a traveller's link.
type TravellerLogin struct {
	Token          string // the secret in the personal link
	PassportNumber string
	ClientIP       string
}

// NewTravellerSession is a traveller's sign-in; Secret goes into a cookie.
type NewTravellerSession struct {
	Secret    string
	ExpiresAt time.Time
}

var errBadLink = &Error{Code: CodeUnauthenticated, Msg: "the link or the passport number is wrong, or the link was replaced"}

// OpenTravellerLink checks the link and the passport number and opens a
// traveller session. Failures are counted per (link, client address) and
// refused after five in fifteen minutes.
func (a *App) OpenTravellerLink(ctx context.Context, in TravellerLogin) (*NewTravellerSession, error) {
	if auth.CheckSecretShape(in.Token, auth.PrefixTraveller) != nil {
		return nil, errBadLink
	}
	hash := auth.HashSecret(in.Token)
	now := a.now()
	key := a.keyer.Key("traveller", hash, in.ClientIP)
	if err := a.checkRate(ctx, key, now); err != nil {
		return nil, err
	}
	t, err := a.db.GetTripByTravellerToken(ctx, hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(err, "trip")
	}
	passport, perr := approval.NormalizePassport(in.PassportNumber)
	if t == nil || perr != nil || t.Traveller.PassportNumber == "" || !auth.ConstantTimeEqual(passport, t.Traveller.PassportNumber) {
		a.hitRate(ctx, key, now)
		return nil, errBadLink
	}
	secret, sHash, err := auth.NewSecret(auth.PrefixTravellerSession)
	if err != nil {
		return nil, err
	}
	s := &store.TravellerSession{IDHash: sHash, TripID: t.ID, CreatedAt: now, ExpiresAt: now.Add(a.cfg.TravellerSessionTTL)}
	err = a.tx(ctx, "session", func(tx store.Store) error {
		if err := tx.ResetRateLimit(ctx, key); err != nil {
			return err
		}
		if err := tx.CreateTravellerSession(ctx, s); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, entry(Principal{Kind: KindTraveller, ID: t.ID}, string(trip.RoleTraveller), "session.traveller", "trip:"+t.ID, now, nil))
	})
	if err != nil {
		return nil, err
	}
	return &NewTravellerSession{Secret: secret, ExpiresAt: s.ExpiresAt}, nil
}

// AuthenticateTraveller turns a traveller session secret into the
// traveller's principal.
func (a *App) AuthenticateTraveller(ctx context.Context, secret string) (Principal, error) {
	if auth.CheckSecretShape(secret, auth.PrefixTravellerSession) != nil {
		return Principal{}, errNoSession
	}
	s, err := a.db.GetTravellerSession(ctx, auth.HashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errNoSession
	}
	if err != nil {
		return Principal{}, storeErr(err, "session")
	}
	if !a.now().Before(s.ExpiresAt) {
		return Principal{}, errNoSession
	}
	return Principal{Kind: KindTraveller, ID: s.TripID}, nil
}

// EndTravellerSession signs a traveller out.
func (a *App) EndTravellerSession(ctx context.Context, secret string) error {
	if auth.CheckSecretShape(secret, auth.PrefixTravellerSession) != nil {
		return nil
	}
	return storeErr(a.db.DeleteTravellerSession(ctx, auth.HashSecret(secret)), "session")
}

// TravellerTrip is what a traveller sees of their own trip.
type TravellerTrip struct {
	Reference     string
	State         trip.State
	Lane          string
	Region        string
	Purpose       string
	DepartureDate string
	ReturnDate    string
	Traveller     Traveller
	Itinerary     []ItineraryItem
	// Timeline is the trip's transitions: what happened, when and why.
	Timeline []TimelineStep
	// ApprovalHC1 is the entry approval to show as a QR code; "" before
	// approval.
	ApprovalHC1  string
	ApprovalTill time.Time
	Tests        []TravellerTest
	Declarations []Declaration
	// DeclarationsOpen tells whether a declaration is taken now, and
	// DeclaredToday whether today's is in.
	DeclarationsOpen bool
	DeclaredToday    bool
	Clearance        *Clearance
	FollowUpUntil    time.Time
	HoldUntil        time.Time
}

// TimelineStep is one transition as the traveller sees it.
type TimelineStep struct {
	Action trip.Action
	To     trip.State
	At     time.Time
	Reason string
}

// TravellerTest is a test result with its certificate, for the QR code.
type TravellerTest struct {
	SampledAt time.Time
	TestType  string
	Result    string
	HC1       string
}

// TravellerView returns the traveller's own trip.
func (a *App) TravellerView(ctx context.Context, p Principal) (*TravellerTrip, error) {
	if p.Kind != KindTraveller {
		return nil, forbidden("this page is the traveller's")
	}
	t, err := a.loadTrip(ctx, a.db, p, trip.RoleTraveller, p.ID)
	if err != nil {
		return nil, err
	}
	d, err := a.detail(ctx, a.db, p, t)
	if err != nil {
		return nil, storeErr(err, "trip")
	}
	v := &TravellerTrip{Reference: t.Reference, State: t.State, Lane: t.Lane, Region: t.Region, Purpose: t.Purpose,
		DepartureDate: t.DepartureDate, ReturnDate: t.ReturnDate, Traveller: t.Traveller, Itinerary: d.Itinerary,
		ApprovalHC1: t.ApprovalHC1, ApprovalTill: t.ApprovalValidUntil, Declarations: d.Declarations,
		Clearance: d.Clearance, FollowUpUntil: t.FollowUpUntil, HoldUntil: t.HoldUntil}
	for _, tr := range d.Transitions {
		v.Timeline = append(v.Timeline, TimelineStep{Action: tr.Action, To: tr.To, At: tr.At, Reason: tr.Reason})
	}
	for _, r := range d.Tests {
		v.Tests = append(v.Tests, TravellerTest{SampledAt: r.SampledAt, TestType: r.TestType, Result: r.Result, HC1: r.HC1})
	}
	phase, open := declarationPhase(t.State)
	v.DeclarationsOpen = open
	today := a.day(a.now())
	for _, dcl := range d.Declarations {
		if dcl.Phase == phase && dcl.Day == today {
			v.DeclaredToday = true
		}
	}
	return v, nil
}
