package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
)

// SymptomCodes are the symptoms a declaration can report.
var SymptomCodes = []string{"fever", "cough", "sore_throat", "shortness_of_breath", "loss_of_taste_or_smell",
	"fatigue", "muscle_aches", "headache", "diarrhoea", "other"}

// FeverDeci is the temperature, in tenths of a degree Celsius, from which a
// declaration counts as feverish: 37.3 °C, the screening threshold the
// 2020 fast-track lanes used.
const FeverDeci = 373

// DeclarationInput is one day's health report.
type DeclarationInput struct {
	// Day is the day reported, YYYY-MM-DD in the node's time zone: today
	// when empty, or yesterday for a late report; no other day.
	Day          string
	TemperatureC float64 // 34.0 to 43.0
	Symptoms     []string
	Note         string // optional free text; purged with the trip
}

// DeclarationResult is what recording a declaration did.
type DeclarationResult struct {
	Declaration Declaration
	Trip        *Trip
	Alert       *Alert // raised for fever or symptoms; nil otherwise
}

// declarationPhase is the monitoring phase a trip in state s takes
// declarations for.
func declarationPhase(s trip.State) (store.Phase, bool) {
	switch s {
	case trip.Approved, trip.PreDeparture, trip.Cleared:
		return store.PreDeparture, true
	case trip.Released, trip.Monitoring:
		return store.PostArrival, true
	}
	return "", false
}

// RecordDeclaration records a daily health declaration. The first one
// before departure starts pre-departure monitoring; each one before
// departure re-evaluates clearance; fever or symptoms raise an alert.
// Roles: traveller (own trip), health_authority (before departure),
// health_monitor (after arrival).
func (a *App) RecordDeclaration(ctx context.Context, p Principal, tripID string, in DeclarationInput) (*DeclarationResult, error) {
	if _, err := authorize(p, UCDeclare); err != nil {
		return nil, err
	}
	v := invalid{}
	in.Note = strings.TrimSpace(in.Note)
	v.text("note", in.Note, maxNote, false)
	if math.IsNaN(in.TemperatureC) || in.TemperatureC < 34 || in.TemperatureC > 43 {
		v.add("temperature", "must be a body temperature between 34.0 and 43.0 °C")
	}
	symptoms := slices.Clone(in.Symptoms)
	slices.Sort(symptoms)
	symptoms = slices.Compact(symptoms)
	for _, s := range symptoms {
		if !slices.Contains(SymptomCodes, s) {
			v.add("symptoms", "%q is not a known symptom (known: %s)", s, strings.Join(SymptomCodes, ", "))
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var res *DeclarationResult
	_, err := a.act(ctx, p, UCDeclare, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		res = &DeclarationResult{}
		t := c.t
		phase, ok := declarationPhase(t.State)
		if !ok {
			return conflict("no health declarations are taken while the trip is %s", t.State)
		}
		if (role == trip.RoleHealthAuthority && phase != store.PreDeparture) || (role == trip.RoleHealthMonitor && phase != store.PostArrival) {
			return forbidden("a %s may not record declarations while the trip is %s", role, t.State)
		}
		today := a.day(now)
		yesterday := a.day(now.AddDate(0, 0, -1))
		day := in.Day
		if day == "" {
			day = today
		}
		if day != today && day != yesterday {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"day": "must be today or yesterday"}}
		}
		if t.State == trip.Approved {
			// The first declaration starts pre-departure monitoring.
			if err := c.move(p, monitoringRole(role), trip.StartMonitoring, "", now); err != nil {
				return err
			}
			t.MonitoringStartedAt = now
		}
		if phase == store.PreDeparture && day < a.day(t.MonitoringStartedAt) {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"day": "is before monitoring started"}}
		}
		if phase == store.PostArrival && day < a.day(t.ReleasedAt) {
			return &Error{Code: CodeInvalid, Msg: "some fields need correcting", Fields: map[string]string{"day": "is before the release from the arrival hold"}}
		}
		d := store.Declaration{ID: auth.NewID(), TripID: t.ID, Phase: phase, Day: day,
			TemperatureDeci: int(math.Round(in.TemperatureC * 10)), Symptoms: symptoms, Note: in.Note,
			RecordedBy: p.ActorID(), CreatedAt: now}
		if err := tx.AddDeclaration(ctx, &d); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("a declaration for %s is already recorded", day)
			}
			return err
		}
		res.Declaration = d
		c.audit(entry(p, string(role), "declaration.record", "trip:"+t.ID, now, map[string]string{"phase": string(phase), "day": day}))
		if flags := healthFlags(&d); flags != "" {
			al := &store.Alert{ID: auth.NewID(), TripID: t.ID, Phase: phase, Kind: store.AlertSymptoms, Day: day, Detail: flags, CreatedAt: now}
			created, err := tx.AddAlert(ctx, al)
			if err != nil {
				return err
			}
			if created {
				res.Alert = al
				c.audit(entry(System(), string(trip.RoleSystem), "alert.raise", "trip:"+t.ID, now, map[string]string{"kind": al.Kind, "day": day}))
			}
		}
		if phase == store.PreDeparture {
			if err := a.evaluateClearance(ctx, tx, c, now); err != nil {
				return err
			}
		}
		res.Trip = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// monitoringRole is the role in which a declarant starts monitoring.
func monitoringRole(r trip.Role) trip.Role {
	if r == trip.RoleTraveller {
		return trip.RoleTraveller
	}
	return trip.RoleHealthAuthority
}

// healthFlags lists what in a declaration needs a health officer's look,
// as codes: "fever" and the symptoms.
func healthFlags(d *store.Declaration) string {
	flags := slices.Clone(d.Symptoms)
	if d.TemperatureDeci >= FeverDeci && !slices.Contains(flags, "fever") {
		flags = append([]string{"fever"}, flags...)
	}
	return strings.Join(flags, ",")
}

// StartPreDepartureMonitoring starts monitoring for an approved trip
// without waiting for the traveller's first declaration. Role:
// health_authority.
func (a *App) StartPreDepartureMonitoring(ctx context.Context, p Principal, tripID string) (*Trip, error) {
	return a.act(ctx, p, UCStartMonitoring, tripID, func(tx store.Store, c *change, role trip.Role, now time.Time) error {
		if err := c.move(p, role, trip.StartMonitoring, "", now); err != nil {
			return err
		}
		c.t.MonitoringStartedAt = now
		return a.evaluateClearance(ctx, tx, c, now)
	})
}

// clearance measures a trip against its lane's pre-departure conditions:
// the monitoring days, each declared (and without fever or symptoms when
// the lane screens them), ending today or yesterday; and a negative test
// of the lane's type sampled inside the window before the planned
// departure day.
func (a *App) clearance(lane *policy.Lane, t *store.Trip, pre []store.Declaration, tests []store.TestResult, cases []store.Case, now time.Time) *Clearance {
	m := lane.Measures
	c := &Clearance{DaysNeeded: m.PreDepartureMonitoringDays, TestNeeded: m.TestTypeCode()}
	byDay := map[string]*store.Declaration{}
	for i := range pre {
		byDay[pre[i].Day] = &pre[i]
	}
	today := now.In(a.cfg.Location)
	start := today
	if byDay[a.day(start)] == nil {
		start = today.AddDate(0, 0, -1) // today's report may still come
	}
	for d := start; ; d = d.AddDate(0, 0, -1) {
		decl := byDay[a.day(d)]
		if decl == nil || (m.SymptomScreening && healthFlags(decl) != "") {
			break
		}
		c.DaysDone++
		if c.DaysDone > len(pre) { // cannot happen; bounds the loop all the same
			break
		}
	}
	if depDay, err := a.dayStart(t.DepartureDate); err == nil {
		c.WindowOpens = depDay.Add(-time.Duration(m.TestWindowHours) * time.Hour).UTC()
		windowCloses := depDay.AddDate(0, 0, 1)
		var lastNegative time.Time
		for _, r := range tests {
			if r.Stage == store.StagePreDeparture && r.TestType == c.TestNeeded && r.Result == store.ResultNegative &&
				!r.SampledAt.Before(c.WindowOpens) && r.SampledAt.Before(windowCloses) && !r.SampledAt.After(now) {
				lastNegative = r.SampledAt
			}
		}
		c.TestOK = !lastNegative.IsZero()
		for _, r := range tests {
			if r.Result == store.ResultPositive && !r.SampledAt.Before(lastNegative) {
				c.TestOK = false // a later positive outweighs an earlier negative
			}
		}
	}
	for _, k := range cases {
		if k.ClosedAt.IsZero() {
			c.OpenCase = true
		}
	}
	c.Ready = c.DaysDone >= c.DaysNeeded && c.TestOK && !c.OpenCase
	return c
}

// evaluateClearance clears a trip in pre-departure monitoring that meets
// its lane's conditions; it is called whenever a declaration or a test
// arrives. With no monitoring days required, an approved trip starts
// monitoring here too.
func (a *App) evaluateClearance(ctx context.Context, tx store.Store, c *change, now time.Time) error {
	t := c.t
	lane, ok := a.Policy().Lane(t.Lane)
	if !ok {
		return nil
	}
	if t.State == trip.Approved && lane.Measures.PreDepartureMonitoringDays == 0 {
		if err := c.move(System(), trip.RoleSystem, trip.StartMonitoring, "", now); err != nil {
			return err
		}
		t.MonitoringStartedAt = now
	}
	if t.State != trip.PreDeparture {
		return nil
	}
	pre, err := tx.ListDeclarations(ctx, t.ID, store.PreDeparture)
	if err != nil {
		return err
	}
	tests, err := tx.ListTests(ctx, t.ID)
	if err != nil {
		return err
	}
	cases, err := tx.ListCases(ctx, t.ID)
	if err != nil {
		return err
	}
	cl := a.clearance(lane, t, pre, tests, cases, now)
	if !cl.Ready {
		return nil
	}
	reason := fmt.Sprintf("%d monitoring days declared; negative %s test in the %d h window", cl.DaysDone, lane.Measures.TestType, lane.Measures.TestWindowHours)
	if err := c.move(System(), trip.RoleSystem, trip.Clear, reason, now); err != nil {
		return err
	}
	t.ClearedAt = now
	return nil
}

// TestInput is a lab's result. The lab names the trip by its reference and
// the traveller's passport number, so a result never lands on the wrong
// person.
type TestInput struct {
	Reference      string
	PassportNumber string
	TestType       string // "NAAT" or "RAT" (or their DCC codes)
	// TestName is the NAAT's name or the RAT device identifier (from the
	// EU value set), printed on the certificate.
	TestName  string
	SampledAt time.Time
	Result    string // "negative" or "positive"
	Facility  string // testing centre
}

// TestRecorded is what recording a test did.
type TestRecorded struct {
	Test       TestResult // with the signed DCC in HC1
	Trip       *Trip
	CaseOpened bool
}

var testTypeCodes = map[string]string{"NAAT": dcc.TestTypeNAAT, "RAT": dcc.TestTypeRAT, dcc.TestTypeNAAT: dcc.TestTypeNAAT, dcc.TestTypeRAT: dcc.TestTypeRAT}

// testStage is the stage a test on a trip in state s belongs to.
func testStage(s trip.State) (store.Stage, bool) {
	switch s {
	case trip.Approved, trip.PreDeparture, trip.Cleared:
		return store.StagePreDeparture, true
	case trip.Departed, trip.Arrived, trip.ArrivalHold:
		return store.StageArrival, true
	case trip.Released, trip.Monitoring:
		return store.StageFollowUp, true
	case trip.Isolated:
		return store.StageIsolation, true
	}
	return "", false
}

// RecordTest records a lab result and issues the signed DCC test
// certificate to the traveller. A positive result opens a case on the
// trip and isolates the traveller where the trip's state allows; a
// negative one may clear the trip before departure, or release it from the
// arrival hold once the hold hours have passed. Role: lab (a user or an
// API token).
func (a *App) RecordTest(ctx context.Context, p Principal, in TestInput) (*TestRecorded, error) {
	role, err := authorize(p, UCTestRecord)
	if err != nil {
		return nil, err
	}
	v := invalid{}
	in.Reference = strings.ToUpper(strings.TrimSpace(in.Reference))
	if in.Reference == "" || len(in.Reference) > maxRefQuery {
		v.add("reference", "must be the trip's reference, such as KR-7H2M4QX0")
	}
	passport, perr := approval.NormalizePassport(in.PassportNumber)
	if perr != nil {
		v.add("passport_number", "must be 5 to 20 letters and digits")
	}
	code, ok := testTypeCodes[strings.ToUpper(strings.TrimSpace(in.TestType))]
	if !ok {
		v.add("test_type", "must be NAAT or RAT")
	}
	in.TestName = strings.TrimSpace(in.TestName)
	v.text("test_name", in.TestName, 80, code == dcc.TestTypeRAT)
	in.Facility = strings.TrimSpace(in.Facility)
	v.text("facility", in.Facility, 80, false)
	now := a.now()
	switch {
	case in.SampledAt.IsZero():
		v.add("sampled_at", "is required")
	case in.SampledAt.After(now.Add(5 * time.Minute)):
		v.add("sampled_at", "must not be in the future")
	case in.SampledAt.Before(now.AddDate(0, 0, -14)):
		v.add("sampled_at", "must be within the last 14 days")
	}
	if in.Result != store.ResultNegative && in.Result != store.ResultPositive {
		v.add("result", "must be negative or positive")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *TestRecorded
	err = a.tx(ctx, "trip", func(tx store.Store) error {
		now := a.now()
		t, err := tx.GetTripByReference(ctx, in.Reference)
		if err == nil {
			var match bool
			if match, err = a.passportMatches(ctx, tx, t, passport); err == nil && !match {
				err = store.ErrNotFound
			}
		}
		if errors.Is(err, store.ErrNotFound) {
			return &Error{Code: CodeNotFound, Msg: "no trip with this reference and passport number"}
		}
		if err != nil {
			return err
		}
		stage, ok := testStage(t.State)
		if !ok {
			return conflict("the trip is %s: no test results are recorded at this stage", t.State)
		}
		lab, err := tx.GetOrg(ctx, p.OrgID)
		if err != nil {
			return err
		}
		c := a.newChange(t)
		r := store.TestResult{ID: auth.NewID(), TripID: t.ID, LabOrgID: lab.ID, Stage: stage, TestType: code, TestName: in.TestName,
			SampledAt: in.SampledAt.UTC().Truncate(time.Millisecond), Result: in.Result, Facility: in.Facility, Country: lab.Country,
			RecordedBy: p.ActorID(), CreatedAt: now}
		if err := a.issueTestResult(ctx, lab, t, &r, now); err != nil {
			return err
		}
		if err := tx.AddTest(ctx, &r); err != nil {
			return err
		}
		c.test = &r
		c.audit(entry(p, string(role), "test.record", "trip:"+t.ID, now, map[string]string{"stage": string(stage), "result": r.Result, "test": r.ID}))
		out = &TestRecorded{Test: r, Trip: t}
		if r.Result == store.ResultPositive {
			opened, err := a.openCase(ctx, tx, c, &r, now)
			if err != nil {
				return err
			}
			out.CaseOpened = opened
		} else {
			switch t.State {
			case trip.Approved, trip.PreDeparture:
				if err := a.evaluateClearance(ctx, tx, c, now); err != nil {
					return err
				}
			case trip.ArrivalHold:
				if _, err := a.releaseIfDue(ctx, tx, c, System(), trip.RoleSystem, now); err != nil {
					return err
				}
			}
		}
		return c.commit(ctx, tx, true)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *App) issueTestResult(ctx context.Context, lab *store.Org, t *store.Trip, r *store.TestResult, now time.Time) error {
	uvci, err := dcc.NewUVCI(lab.Country, "T", rand.Reader)
	if err != nil {
		return err
	}
	r.UVCI = uvci
	tr := dcc.ResultNotDetected
	if r.Result == store.ResultPositive {
		tr = dcc.ResultDetected
	}
	test := dcc.Test{Tg: dcc.DiseaseCOVID19, Tt: r.TestType, Sc: r.SampledAt.Format(time.RFC3339), Tr: tr,
		Tc: r.Facility, Co: lab.Country, Is: truncate(lab.Name, 80), Ci: uvci}
	if r.TestType == dcc.TestTypeRAT {
		test.Ma = r.TestName
	} else {
		test.Nm = r.TestName
	}
	tv := t.Traveller
	p := &dcc.Payload{Ver: dcc.SchemaVersion, Dob: tv.DateOfBirth, T: []dcc.Test{test},
		Nam: dcc.Name{Fn: tv.FamilyName, Fnt: tv.FamilyNameICAO, Gn: tv.GivenName, Gnt: tv.GivenNameICAO}}
	// A test certificate is evidence for days, not months: the entry
	// rules judge its age; the envelope lives 30 days.
	hc1, err := a.cfg.Issuer.IssueTestResult(ctx, lab.ID, p, now, now.AddDate(0, 0, 30))
	if err != nil {
		return fmt.Errorf("issuing the test certificate: %w", err)
	}
	r.HC1 = hc1
	return nil
}

// openCase opens a case for a positive test, unless one is already open,
// and isolates the traveller where the state allows.
func (a *App) openCase(ctx context.Context, tx store.Store, c *change, r *store.TestResult, now time.Time) (bool, error) {
	cases, err := tx.ListCases(ctx, c.t.ID)
	if err != nil {
		return false, err
	}
	for _, k := range cases {
		if k.ClosedAt.IsZero() {
			return false, nil
		}
	}
	k := &store.Case{ID: auth.NewID(), TripID: c.t.ID, TestID: r.ID, Stage: r.Stage, OpenedAt: now}
	if err := tx.OpenCase(ctx, k); err != nil {
		return false, err
	}
	c.opened = k
	c.audit(entry(System(), string(trip.RoleSystem), "case.open", "trip:"+c.t.ID, now, map[string]string{"stage": string(k.Stage), "case": k.ID}))
	if allows(c.t.State, trip.RoleSystem, trip.Isolate) {
		reason := fmt.Sprintf("positive test sampled %s", r.SampledAt.Format(time.RFC3339))
		if err := c.move(System(), trip.RoleSystem, trip.Isolate, reason, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// AlertQuery selects alerts.
type AlertQuery struct {
	TripID   string
	OpenOnly bool
	Limit    int
}

// ListAlerts lists monitoring alerts. Roles: health_monitor,
// health_authority.
func (a *App) ListAlerts(ctx context.Context, p Principal, q AlertQuery) ([]Alert, error) {
	if _, err := authorize(p, UCAlerts); err != nil {
		return nil, err
	}
	if len(q.TripID) > maxIDInput {
		return nil, notFound("trip")
	}
	list, err := a.db.ListAlerts(ctx, store.AlertFilter{TripID: q.TripID, OpenOnly: q.OpenOnly, Limit: q.Limit})
	return list, storeErr(err, "alerts")
}

// AcknowledgeAlert marks an alert as seen to. Roles: health_monitor,
// health_authority.
func (a *App) AcknowledgeAlert(ctx context.Context, p Principal, alertID string) error {
	role, err := authorize(p, UCAlertAck)
	if err != nil {
		return err
	}
	if err := idInput("alert", alertID); err != nil {
		return err
	}
	return a.tx(ctx, "alert", func(tx store.Store) error {
		al, err := tx.GetAlert(ctx, alertID)
		if err != nil {
			return storeErr(err, "alert")
		}
		now := a.now()
		if err := tx.AcknowledgeAlert(ctx, al.ID, p.ActorID(), now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("the alert is already acknowledged")
			}
			return err
		}
		return tx.AppendAudit(ctx, entry(p, string(role), "alert.acknowledge", "trip:"+al.TripID, now, map[string]string{"alert": al.ID}))
	})
}
