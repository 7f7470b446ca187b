package web

import (
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/verify"
)

// The JSON shapes of the API. They are the web layer's own, with json tags,
// so that renaming a field in the application never changes the API by
// accident; the OpenAPI document is generated from these types.

// noBody is the request type of routes that take no body.
type noBody struct{}

// noContent is the answer type of routes that answer 204.
type noContent struct{}

type TravellerJSON struct {
	GivenName       string `json:"given_name"`
	FamilyName      string `json:"family_name"`
	GivenNameICAO   string `json:"given_name_icao"`
	FamilyNameICAO  string `json:"family_name_icao"`
	DateOfBirth     string `json:"date_of_birth"`
	Sex             string `json:"sex"`
	Nationality     string `json:"nationality"`
	PassportCountry string `json:"passport_country"`
	PassportNumber  string `json:"passport_number"`
	Email           string `json:"email"`
	Phone           string `json:"phone"`
}

type ContactJSON struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

type ItineraryJSON struct {
	Kind     string `json:"kind"` // lodging, work_site, transport
	Site     string `json:"site"`
	Address  string `json:"address"`
	FromDate string `json:"from_date"`
	ToDate   string `json:"to_date"`
}

// TripInputJSON is an application as a sponsor files it.
type TripInputJSON struct {
	Lane          string          `json:"lane"`
	Region        string          `json:"region"`
	Purpose       string          `json:"purpose"`
	Traveller     TravellerJSON   `json:"traveller"`
	Host          ContactJSON     `json:"host"`
	DepartureDate string          `json:"departure_date"`
	ReturnDate    string          `json:"return_date"`
	Itinerary     []ItineraryJSON `json:"itinerary"`
}

// TripUpdateJSON replaces a draft's fields; version is the trip's version
// as last read, so a change made meanwhile is not overwritten.
type TripUpdateJSON struct {
	Version int64 `json:"version"`
	TripInputJSON
}

func (in *TripInputJSON) toApp() app.TripInput {
	t := in.Traveller
	out := app.TripInput{Lane: in.Lane, Region: in.Region, Purpose: in.Purpose,
		Traveller: app.Traveller{GivenName: t.GivenName, FamilyName: t.FamilyName, GivenNameICAO: t.GivenNameICAO,
			FamilyNameICAO: t.FamilyNameICAO, DateOfBirth: t.DateOfBirth, Sex: t.Sex, Nationality: t.Nationality,
			PassportCountry: t.PassportCountry, PassportNumber: t.PassportNumber, Email: t.Email, Phone: t.Phone},
		Host:          app.Contact{Name: in.Host.Name, Email: in.Host.Email, Phone: in.Host.Phone},
		DepartureDate: in.DepartureDate, ReturnDate: in.ReturnDate}
	for _, it := range in.Itinerary {
		out.Itinerary = append(out.Itinerary, app.ItineraryItem{Kind: it.Kind, Site: it.Site, Address: it.Address,
			FromDate: it.FromDate, ToDate: it.ToDate})
	}
	return out
}

func travellerJSON(t app.Traveller) TravellerJSON {
	return TravellerJSON{GivenName: t.GivenName, FamilyName: t.FamilyName, GivenNameICAO: t.GivenNameICAO,
		FamilyNameICAO: t.FamilyNameICAO, DateOfBirth: t.DateOfBirth, Sex: t.Sex, Nationality: t.Nationality,
		PassportCountry: t.PassportCountry, PassportNumber: t.PassportNumber, Email: t.Email, Phone: t.Phone}
}

func itineraryJSON(items []app.ItineraryItem) []ItineraryJSON {
	out := make([]ItineraryJSON, 0, len(items))
	for _, it := range items {
		out = append(out, ItineraryJSON{Kind: it.Kind, Site: it.Site, Address: it.Address, FromDate: it.FromDate, ToDate: it.ToDate})
	}
	return out
}

// tp is a time for JSON: nil (omitted) when zero.
func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// TripStateJSON is what an action answers: where the trip stands now.
type TripStateJSON struct {
	ID        string    `json:"id"`
	Reference string    `json:"reference"`
	State     string    `json:"state"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

func tripState(t *app.Trip) TripStateJSON {
	return TripStateJSON{ID: t.ID, Reference: t.Reference, State: string(t.State), Version: t.Version, UpdatedAt: t.UpdatedAt.UTC()}
}

type TripSummaryJSON struct {
	ID            string     `json:"id"`
	Reference     string     `json:"reference"`
	State         string     `json:"state"`
	Lane          string     `json:"lane"`
	Region        string     `json:"region"`
	Purpose       string     `json:"purpose"`
	SponsorOrgID  string     `json:"sponsor_org_id"`
	SponsorName   string     `json:"sponsor_name"`
	DepartureDate string     `json:"departure_date"`
	ReturnDate    string     `json:"return_date"`
	CreatedAt     time.Time  `json:"created_at"`
	SubmittedAt   *time.Time `json:"submitted_at,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

type TripListJSON struct {
	Trips []TripSummaryJSON `json:"trips"`
	Total int               `json:"total"`
	Next  string            `json:"next,omitempty"` // pass as ?after= for the next page
}

func tripListJSON(l *app.TripList) TripListJSON {
	out := TripListJSON{Trips: make([]TripSummaryJSON, 0, len(l.Trips)), Total: l.Total, Next: l.Next}
	for _, t := range l.Trips {
		out.Trips = append(out.Trips, TripSummaryJSON{ID: t.ID, Reference: t.Reference, State: string(t.State), Lane: t.Lane,
			Region: t.Region, Purpose: t.Purpose, SponsorOrgID: t.SponsorOrgID, SponsorName: t.SponsorName,
			DepartureDate: t.DepartureDate, ReturnDate: t.ReturnDate, CreatedAt: t.CreatedAt.UTC(),
			SubmittedAt: tp(t.SubmittedAt), UpdatedAt: t.UpdatedAt.UTC()})
	}
	return out
}

type ApprovalJSON struct {
	ID         string    `json:"id"`
	HC1        string    `json:"hc1"`
	ApprovedAt time.Time `json:"approved_at"`
	ValidUntil time.Time `json:"valid_until"`
}

type TransitionJSON struct {
	Seq    int       `json:"seq"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

type TestJSON struct {
	ID        string    `json:"id"`
	Stage     string    `json:"stage"`
	TestType  string    `json:"test_type"`
	TestName  string    `json:"test_name,omitempty"`
	SampledAt time.Time `json:"sampled_at"`
	Result    string    `json:"result"`
	Facility  string    `json:"facility,omitempty"`
	Country   string    `json:"country"`
	UVCI      string    `json:"uvci"`
	HC1       string    `json:"hc1,omitempty"`
}

func testJSON(r app.TestResult) TestJSON {
	return TestJSON{ID: r.ID, Stage: string(r.Stage), TestType: r.TestType, TestName: r.TestName, SampledAt: r.SampledAt.UTC(),
		Result: r.Result, Facility: r.Facility, Country: r.Country, UVCI: r.UVCI, HC1: r.HC1}
}

type DeclarationJSON struct {
	Phase        string    `json:"phase"`
	Day          string    `json:"day"`
	TemperatureC float64   `json:"temperature_c"`
	Symptoms     []string  `json:"symptoms"`
	Note         string    `json:"note,omitempty"`
	RecordedAt   time.Time `json:"recorded_at"`
}

func declarationJSON(d app.Declaration) DeclarationJSON {
	s := d.Symptoms
	if s == nil {
		s = []string{}
	}
	return DeclarationJSON{Phase: string(d.Phase), Day: d.Day, TemperatureC: float64(d.TemperatureDeci) / 10, Symptoms: s,
		Note: d.Note, RecordedAt: d.CreatedAt.UTC()}
}

type AlertJSON struct {
	ID             string     `json:"id"`
	TripID         string     `json:"trip_id"`
	Phase          string     `json:"phase"`
	Kind           string     `json:"kind"`
	Day            string     `json:"day"`
	Detail         string     `json:"detail,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
}

func alertJSON(a app.Alert) AlertJSON {
	return AlertJSON{ID: a.ID, TripID: a.TripID, Phase: string(a.Phase), Kind: a.Kind, Day: a.Day, Detail: a.Detail,
		CreatedAt: a.CreatedAt.UTC(), AcknowledgedAt: tp(a.AcknowledgedAt)}
}

type CaseJSON struct {
	ID       string     `json:"id"`
	Stage    string     `json:"stage"`
	OpenedAt time.Time  `json:"opened_at"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}

type ClearanceJSON struct {
	DaysNeeded  int       `json:"days_needed"`
	DaysDone    int       `json:"days_done"`
	TestNeeded  string    `json:"test_needed"`
	TestOK      bool      `json:"test_ok"`
	WindowOpens time.Time `json:"window_opens"`
	OpenCase    bool      `json:"open_case"`
	Ready       bool      `json:"ready"`
}

func clearanceJSON(c *app.Clearance) *ClearanceJSON {
	if c == nil {
		return nil
	}
	return &ClearanceJSON{DaysNeeded: c.DaysNeeded, DaysDone: c.DaysDone, TestNeeded: c.TestNeeded, TestOK: c.TestOK,
		WindowOpens: c.WindowOpens.UTC(), OpenCase: c.OpenCase, Ready: c.Ready}
}

// TripJSON is one trip with everything its viewer may see.
type TripJSON struct {
	ID            string            `json:"id"`
	Reference     string            `json:"reference"`
	State         string            `json:"state"`
	SuspendedFrom string            `json:"suspended_from,omitempty"`
	Version       int64             `json:"version"`
	Lane          string            `json:"lane"`
	Region        string            `json:"region"`
	Purpose       string            `json:"purpose"`
	SponsorOrgID  string            `json:"sponsor_org_id"`
	SponsorName   string            `json:"sponsor_name"`
	Traveller     TravellerJSON     `json:"traveller"`
	Host          ContactJSON       `json:"host"`
	DepartureDate string            `json:"departure_date"`
	ReturnDate    string            `json:"return_date"`
	Itinerary     []ItineraryJSON   `json:"itinerary"`
	Approval      *ApprovalJSON     `json:"approval,omitempty"`
	Flight        string            `json:"flight,omitempty"`
	Seat          string            `json:"seat,omitempty"`
	DepartedAt    *time.Time        `json:"departed_at,omitempty"`
	ArrivedAt     *time.Time        `json:"arrived_at,omitempty"`
	HoldUntil     *time.Time        `json:"hold_until,omitempty"`
	ReleasedAt    *time.Time        `json:"released_at,omitempty"`
	FollowUpUntil *time.Time        `json:"follow_up_until,omitempty"`
	Transitions   []TransitionJSON  `json:"transitions"`
	Tests         []TestJSON        `json:"tests"`
	Declarations  []DeclarationJSON `json:"declarations"`
	Alerts        []AlertJSON       `json:"alerts"`
	Cases         []CaseJSON        `json:"cases"`
	Clearance     *ClearanceJSON    `json:"clearance,omitempty"`
	// Actions are those the viewer's roles allow in the trip's state.
	Actions   []string  `json:"actions"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func tripJSON(d *app.TripDetail) TripJSON {
	t := &d.Trip
	out := TripJSON{ID: t.ID, Reference: t.Reference, State: string(t.State), SuspendedFrom: string(t.SuspendedFrom),
		Version: t.Version, Lane: t.Lane, Region: t.Region, Purpose: t.Purpose, SponsorOrgID: t.SponsorOrgID,
		SponsorName: d.SponsorName, Traveller: travellerJSON(t.Traveller),
		Host:          ContactJSON{Name: t.Host.Name, Email: t.Host.Email, Phone: t.Host.Phone},
		DepartureDate: t.DepartureDate, ReturnDate: t.ReturnDate, Itinerary: itineraryJSON(d.Itinerary),
		Flight: t.Flight, Seat: t.Seat, DepartedAt: tp(t.DepartedAt), ArrivedAt: tp(t.ArrivedAt), HoldUntil: tp(t.HoldUntil),
		ReleasedAt: tp(t.ReleasedAt), FollowUpUntil: tp(t.FollowUpUntil), Clearance: clearanceJSON(d.Clearance),
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
		Transitions: []TransitionJSON{}, Tests: []TestJSON{}, Declarations: []DeclarationJSON{}, Alerts: []AlertJSON{},
		Cases: []CaseJSON{}, Actions: []string{}}
	if t.ApprovalHC1 != "" {
		out.Approval = &ApprovalJSON{ID: t.ApprovalID, HC1: t.ApprovalHC1, ApprovedAt: t.ApprovedAt.UTC(), ValidUntil: t.ApprovalValidUntil.UTC()}
	}
	for _, tr := range d.Transitions {
		out.Transitions = append(out.Transitions, TransitionJSON{Seq: tr.Seq, Action: string(tr.Action), From: string(tr.From),
			To: string(tr.To), Actor: tr.Actor.ID, Role: string(tr.Actor.Role), Reason: tr.Reason, At: tr.At.UTC()})
	}
	for _, r := range d.Tests {
		out.Tests = append(out.Tests, testJSON(r))
	}
	for _, dc := range d.Declarations {
		out.Declarations = append(out.Declarations, declarationJSON(dc))
	}
	for _, a := range d.Alerts {
		out.Alerts = append(out.Alerts, alertJSON(a))
	}
	for _, c := range d.Cases {
		out.Cases = append(out.Cases, CaseJSON{ID: c.ID, Stage: string(c.Stage), OpenedAt: c.OpenedAt.UTC(), ClosedAt: tp(c.ClosedAt)})
	}
	for _, a := range d.Actions {
		out.Actions = append(out.Actions, string(a))
	}
	return out
}

// ReasonJSON carries the reason or message of an action. Reject, request
// for information, isolation and suspension require one.
type ReasonJSON struct {
	Reason string `json:"reason"`
}

// AnswerJSON answers a request for information.
type AnswerJSON struct {
	Answer string `json:"answer"`
}

// DepartureJSON records boarding.
type DepartureJSON struct {
	Flight     string `json:"flight"`
	Seat       string `json:"seat"`
	DepartedAt string `json:"departed_at,omitempty"` // RFC 3339; now when empty
}

// DeclarationInputJSON is one day's health report.
type DeclarationInputJSON struct {
	Day          string   `json:"day,omitempty"` // YYYY-MM-DD; today when empty, or yesterday
	TemperatureC float64  `json:"temperature_c"`
	Symptoms     []string `json:"symptoms"`
	Note         string   `json:"note,omitempty"`
}

func (in *DeclarationInputJSON) toApp() app.DeclarationInput {
	return app.DeclarationInput{Day: in.Day, TemperatureC: in.TemperatureC, Symptoms: in.Symptoms, Note: strings.TrimSpace(in.Note)}
}

type DeclarationResultJSON struct {
	Declaration DeclarationJSON `json:"declaration"`
	Trip        TripStateJSON   `json:"trip"`
	AlertRaised bool            `json:"alert_raised"`
}

// TestInputJSON is a lab's result.
type TestInputJSON struct {
	Reference      string `json:"reference"`
	PassportNumber string `json:"passport_number"`
	TestType       string `json:"test_type"` // NAAT or RAT
	TestName       string `json:"test_name"`
	SampledAt      string `json:"sampled_at"` // RFC 3339
	Result         string `json:"result"`     // negative or positive
	Facility       string `json:"facility"`
}

type TestRecordedJSON struct {
	Test       TestJSON      `json:"test"`
	Trip       TripStateJSON `json:"trip"`
	CaseOpened bool          `json:"case_opened"`
}

// VerifyInputJSON asks for a verdict on the credentials a traveller shows.
type VerifyInputJSON struct {
	Credentials []string `json:"credentials"` // HC1 texts: the entry approval and the test result
	// PassportNumber, typed from the passport in hand, is checked against
	// the entry approval's salted passport hash.
	PassportNumber  string `json:"passport_number,omitempty"`
	PassportCountry string `json:"passport_country,omitempty"`
}

type VerdictJSON struct {
	Allowed bool   `json:"allowed"`
	Mode    string `json:"mode"` // "entry" or "boarding"
	// Reasons say why not, in English; ReasonCodes are stable.
	Reasons     []string         `json:"reasons"`
	ReasonCodes []string         `json:"reason_codes"`
	Reference   string           `json:"trip_reference,omitempty"`
	Results     []*verify.Result `json:"results"`
}

type LoginJSON struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type SwitchOrgJSON struct {
	OrgID string `json:"org_id"`
}

type PasswordChangeJSON struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type MembershipJSON struct {
	OrgID   string   `json:"org_id"`
	OrgName string   `json:"org_name"`
	OrgKind string   `json:"org_kind"`
	Roles   []string `json:"roles"`
}

// SessionJSON says who is signed in, and the token browser clients send
// as X-CSRF-Token with every change.
type SessionJSON struct {
	Kind        string           `json:"kind"` // user, token, traveller
	ID          string           `json:"id"`
	OrgID       string           `json:"org_id,omitempty"`
	OrgKind     string           `json:"org_kind,omitempty"`
	Roles       []string         `json:"roles"`
	NodeAdmin   bool             `json:"node_admin"`
	CSRFToken   string           `json:"csrf_token,omitempty"`
	Memberships []MembershipJSON `json:"memberships,omitempty"`
}

func rolesJSON(rs auth.Roles) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

func parseRoles(in []string) auth.Roles {
	rs := make([]trip.Role, 0, len(in))
	for _, r := range in {
		rs = append(rs, trip.Role(strings.TrimSpace(r)))
	}
	return auth.NewRoles(rs...)
}

type OrgInputJSON struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Country string `json:"country"`
}

type OrgJSON struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Country   string    `json:"country"`
	CreatedAt time.Time `json:"created_at"`
}

func orgJSON(o app.Org) OrgJSON {
	return OrgJSON{ID: o.ID, Kind: string(o.Kind), Name: o.Name, Country: o.Country, CreatedAt: o.CreatedAt.UTC()}
}

type MemberJSON struct {
	UserID string    `json:"user_id"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
	Roles  []string  `json:"roles"`
	Since  time.Time `json:"since"`
}

type RolesJSON struct {
	Roles []string `json:"roles"`
}

type InviteJSON struct {
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

type InvitationJSON struct {
	ID         string     `json:"id"`
	Email      string     `json:"email"`
	Roles      []string   `json:"roles"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
}

func invitationJSON(i app.Invitation) InvitationJSON {
	return InvitationJSON{ID: i.ID, Email: i.Email, Roles: rolesJSON(i.Roles), CreatedAt: i.CreatedAt.UTC(),
		ExpiresAt: i.ExpiresAt.UTC(), AcceptedAt: tp(i.AcceptedAt)}
}

// NewInvitationJSON holds the invitation link, shown once.
type NewInvitationJSON struct {
	Invitation InvitationJSON `json:"invitation"`
	Link       string         `json:"link"`
}

type AcceptJSON struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

type TokenInputJSON struct {
	Name      string   `json:"name"`
	Roles     []string `json:"roles"`
	ExpiresAt string   `json:"expires_at,omitempty"` // RFC 3339; no expiry when empty
}

type TokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Roles      []string   `json:"roles"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func tokenJSON(t app.APIToken) TokenJSON {
	return TokenJSON{ID: t.ID, Name: t.Name, Roles: rolesJSON(t.Roles), CreatedAt: t.CreatedAt.UTC(), ExpiresAt: tp(t.ExpiresAt),
		RevokedAt: tp(t.RevokedAt), LastUsedAt: tp(t.LastUsedAt)}
}

// NewTokenJSON holds the token's secret, shown once.
type NewTokenJSON struct {
	Token  TokenJSON `json:"token"`
	Secret string    `json:"secret"`
}

type TravellerLinkJSON struct {
	Link  string `json:"link"`
	Token string `json:"token"`
}

type TravellerLoginJSON struct {
	Token          string `json:"token"`
	PassportNumber string `json:"passport_number"`
}

type LaneSuspensionInputJSON struct {
	Until  string `json:"until"` // RFC 3339
	Reason string `json:"reason"`
}

type LaneSuspensionJSON struct {
	ID       string    `json:"id"`
	Lane     string    `json:"lane"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// PolicyChangeInputJSON carries a policy document as text, so its bytes,
// and with them its digest, arrive exactly as written.
type PolicyChangeInputJSON struct {
	Document string `json:"document"`
}

// PolicyJSON is the policy in force.
type PolicyJSON struct {
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Digest   string `json:"digest"`
	Document string `json:"document"`
}

// LaneLiftJSON answers a lift: lifted, or this side's approval recorded
// while the peer's officer has yet to approve.
type LaneLiftJSON struct {
	LaneSuspensionJSON
	Lifted     bool   `json:"lifted"`
	WaitingFor string `json:"waiting_for,omitempty"`
}

// TravellerTripJSON is the traveller's own view.
type TravellerTripJSON struct {
	Reference        string            `json:"reference"`
	State            string            `json:"state"`
	Lane             string            `json:"lane"`
	Region           string            `json:"region"`
	Purpose          string            `json:"purpose"`
	DepartureDate    string            `json:"departure_date"`
	ReturnDate       string            `json:"return_date"`
	Traveller        TravellerJSON     `json:"traveller"`
	Itinerary        []ItineraryJSON   `json:"itinerary"`
	Timeline         []TimelineJSON    `json:"timeline"`
	ApprovalHC1      string            `json:"approval_hc1,omitempty"`
	ApprovalUntil    *time.Time        `json:"approval_valid_until,omitempty"`
	Tests            []TestJSON        `json:"tests"`
	Declarations     []DeclarationJSON `json:"declarations"`
	DeclarationsOpen bool              `json:"declarations_open"`
	DeclaredToday    bool              `json:"declared_today"`
	Clearance        *ClearanceJSON    `json:"clearance,omitempty"`
	HoldUntil        *time.Time        `json:"hold_until,omitempty"`
	FollowUpUntil    *time.Time        `json:"follow_up_until,omitempty"`
}

type TimelineJSON struct {
	Action string    `json:"action"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

func travellerTripJSON(v *app.TravellerTrip) TravellerTripJSON {
	out := TravellerTripJSON{Reference: v.Reference, State: string(v.State), Lane: v.Lane, Region: v.Region, Purpose: v.Purpose,
		DepartureDate: v.DepartureDate, ReturnDate: v.ReturnDate, Traveller: travellerJSON(v.Traveller),
		Itinerary: itineraryJSON(v.Itinerary), Timeline: []TimelineJSON{}, ApprovalHC1: v.ApprovalHC1,
		ApprovalUntil: tp(v.ApprovalTill), Tests: []TestJSON{}, Declarations: []DeclarationJSON{},
		DeclarationsOpen: v.DeclarationsOpen, DeclaredToday: v.DeclaredToday, Clearance: clearanceJSON(v.Clearance),
		HoldUntil: tp(v.HoldUntil), FollowUpUntil: tp(v.FollowUpUntil)}
	for _, s := range v.Timeline {
		out.Timeline = append(out.Timeline, TimelineJSON{Action: string(s.Action), To: string(s.To), At: s.At.UTC(), Reason: s.Reason})
	}
	for _, t := range v.Tests {
		out.Tests = append(out.Tests, TestJSON{TestType: t.TestType, SampledAt: t.SampledAt.UTC(), Result: t.Result, HC1: t.HC1})
	}
	for _, d := range v.Declarations {
		out.Declarations = append(out.Declarations, declarationJSON(d))
	}
	return out
}
