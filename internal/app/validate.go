package app

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/policy"
)

// Bounds on what people type.
const (
	maxName       = 80
	maxOrgName    = 120
	maxSite       = 200
	maxAddress    = 300
	maxItinerary  = 50
	maxTripDays   = 366
	maxReason     = 2000
	maxNote       = 500
	maxEmail      = 254
	maxTokenName  = 80
	maxRefQuery   = 20
	maxIDInput    = 64
	itineraryKind = "lodging, work_site or transport"
)

var (
	reICAO    = regexp.MustCompile(`^[A-Z<]{1,80}$`)
	reCountry = regexp.MustCompile(`^[A-Z]{2}$`)
	rePhone   = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{4,31}$`)
	reFlight  = regexp.MustCompile(`^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$`)
	reSeat    = regexp.MustCompile(`^[0-9]{1,3}[A-K]$`)
)

var itineraryKinds = map[string]bool{"lodging": true, "work_site": true, "transport": true}

// text checks a free-text field: valid, printable, within max characters.
func (v invalid) text(field, s string, max int, required bool) {
	switch {
	case s == "":
		if required {
			v.add(field, "is required")
		}
	case !utf8.ValidString(s):
		v.add(field, "is not valid text")
	case utf8.RuneCountInString(s) > max:
		v.add(field, "must be at most %d characters", max)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		v.add(field, "must not hold control characters")
	}
}

func (v invalid) email(field, s string, required bool) {
	if s == "" {
		if required {
			v.add(field, "is required")
		}
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > maxEmail {
		v.add(field, "must be an e-mail address such as name@example.org")
	}
}

func (v invalid) date(field, s string, required bool) (time.Time, bool) {
	if s == "" {
		if required {
			v.add(field, "is required")
		}
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.add(field, "must be a date YYYY-MM-DD")
		return time.Time{}, false
	}
	return d, true
}

func (v invalid) country(field, s string, required bool) {
	if s == "" {
		if required {
			v.add(field, "is required")
		}
		return
	}
	if !reCountry.MatchString(s) {
		v.add(field, "must be a two-letter country code such as KR")
	}
}

// normalizeTrip trims and upper-cases what has one right form, and derives
// the ICAO names when the names allow it.
func normalizeTrip(in *TripInput) {
	tv := &in.Traveller
	for _, s := range []*string{&in.Lane, &in.Region, &in.Purpose, &tv.GivenName, &tv.FamilyName, &tv.GivenNameICAO,
		&tv.FamilyNameICAO, &tv.DateOfBirth, &tv.Sex, &tv.Nationality, &tv.PassportCountry, &tv.PassportNumber, &tv.Email,
		&tv.Phone, &in.Host.Name, &in.Host.Email, &in.Host.Phone, &in.DepartureDate, &in.ReturnDate} {
		*s = strings.TrimSpace(*s)
	}
	in.Lane = strings.ToUpper(in.Lane)
	tv.Sex = strings.ToUpper(tv.Sex)
	tv.Nationality = strings.ToUpper(tv.Nationality)
	tv.PassportCountry = strings.ToUpper(tv.PassportCountry)
	tv.GivenNameICAO = strings.ToUpper(tv.GivenNameICAO)
	tv.FamilyNameICAO = strings.ToUpper(tv.FamilyNameICAO)
	tv.Email = strings.ToLower(tv.Email)
	in.Host.Email = strings.ToLower(in.Host.Email)
	if n, err := approval.NormalizePassport(tv.PassportNumber); err == nil {
		tv.PassportNumber = n
	}
	if tv.FamilyNameICAO == "" && tv.FamilyName != "" {
		tv.FamilyNameICAO, _ = dcc.Transliterate(tv.FamilyName)
	}
	if tv.GivenNameICAO == "" && tv.GivenName != "" {
		tv.GivenNameICAO, _ = dcc.Transliterate(tv.GivenName)
	}
	for i := range in.Itinerary {
		it := &in.Itinerary[i]
		it.Kind, it.Site, it.Address = strings.TrimSpace(it.Kind), strings.TrimSpace(it.Site), strings.TrimSpace(it.Address)
		it.FromDate, it.ToDate = strings.TrimSpace(it.FromDate), strings.TrimSpace(it.ToDate)
	}
}

// validateTrip checks an application. full asks for a complete one, as
// submitting does; otherwise only what is filled in must be well formed.
// today is the node's current day, for dates that must lie ahead.
func validateTrip(in *TripInput, pol *policy.Policy, country string, full bool, today time.Time) error {
	v := invalid{}
	req := full
	if in.Lane != "" || req {
		lane, ok := pol.Lane(in.Lane)
		switch {
		case in.Lane == "":
			v.add("lane", "is required")
		case !ok:
			v.add("lane", "%q is not a lane of the corridor policy", in.Lane)
		case lane.Destination != country:
			v.add("lane", "lane %s leads to %s; this node takes applications for %s", lane.ID, lane.Destination, country)
		default:
			if in.Region != "" && !lane.OpensRegion(in.Region) {
				v.add("region", "%q is not open on lane %s", in.Region, lane.ID)
			}
		}
	}
	if in.Region == "" && req {
		v.add("region", "is required")
	}
	v.text("region", in.Region, 60, req)
	if in.Purpose != "" && !pol.AllowsPurpose(in.Purpose) {
		v.add("purpose", "%q is not an eligible purpose (eligible: %s)", in.Purpose, strings.Join(pol.Purposes, ", "))
	} else if in.Purpose == "" && req {
		v.add("purpose", "is required")
	}

	tv := &in.Traveller
	v.text("traveller.given_name", tv.GivenName, maxName, false)
	v.text("traveller.family_name", tv.FamilyName, maxName, req)
	if tv.FamilyNameICAO == "" {
		if req {
			v.add("traveller.family_name_icao", "give the family name as printed in the passport's machine-readable zone (A-Z and <)")
		}
	} else if !reICAO.MatchString(tv.FamilyNameICAO) {
		v.add("traveller.family_name_icao", "must be capital letters A-Z and < only, at most 80")
	}
	if tv.GivenNameICAO == "" {
		if req && tv.GivenName != "" {
			v.add("traveller.given_name_icao", "give the given name as printed in the passport's machine-readable zone (A-Z and <)")
		}
	} else if !reICAO.MatchString(tv.GivenNameICAO) {
		v.add("traveller.given_name_icao", "must be capital letters A-Z and < only, at most 80")
	}
	if dob, ok := v.date("traveller.date_of_birth", tv.DateOfBirth, req); ok {
		if !dob.Before(today) || dob.Year() < 1900 {
			v.add("traveller.date_of_birth", "must be a past date after 1900")
		}
	}
	switch tv.Sex {
	case "F", "M", "X":
	case "":
		if req {
			v.add("traveller.sex", "is required (F, M or X, as in the passport)")
		}
	default:
		v.add("traveller.sex", "must be F, M or X, as in the passport")
	}
	v.country("traveller.nationality", tv.Nationality, req)
	v.country("traveller.passport_country", tv.PassportCountry, req)
	if tv.PassportNumber == "" {
		if req {
			v.add("traveller.passport_number", "is required")
		}
	} else if _, err := approval.NormalizePassport(tv.PassportNumber); err != nil {
		v.add("traveller.passport_number", "must be 5 to 20 letters and digits")
	}
	v.email("traveller.email", tv.Email, false)
	if tv.Phone != "" && !rePhone.MatchString(tv.Phone) {
		v.add("traveller.phone", "must be a phone number such as +86 10 1234 5678")
	}
	if req && tv.Email == "" && tv.Phone == "" {
		v.add("traveller.email", "give an e-mail address or a phone number to reach the traveller")
	}

	v.text("host.name", in.Host.Name, maxName, req)
	v.email("host.email", in.Host.Email, false)
	if in.Host.Phone != "" && !rePhone.MatchString(in.Host.Phone) {
		v.add("host.phone", "must be a phone number such as +82 2 555 0100")
	}
	if req && in.Host.Email == "" && in.Host.Phone == "" {
		v.add("host.phone", "give an e-mail address or a phone number to reach the host")
	}

	dep, depOK := v.date("departure_date", in.DepartureDate, req)
	ret, retOK := v.date("return_date", in.ReturnDate, req)
	if depOK && full && dep.Before(today) {
		v.add("departure_date", "must not be in the past")
	}
	if depOK && retOK {
		switch {
		case ret.Before(dep):
			v.add("return_date", "must not be before the departure date")
		case ret.Sub(dep) > maxTripDays*24*time.Hour:
			v.add("return_date", "a trip may last at most %d days", maxTripDays)
		}
	}
	validateItinerary(v, in.Itinerary, dep, ret, depOK && retOK, req)
	return v.err()
}

func validateItinerary(v invalid, items []ItineraryItem, dep, ret time.Time, datesOK, req bool) {
	if len(items) > maxItinerary {
		v.add("itinerary", "at most %d stops", maxItinerary)
		return
	}
	if req && len(items) == 0 {
		v.add("itinerary", "the closed-loop itinerary is required: at least the lodging")
		return
	}
	nights := map[string]bool{} // nights covered by lodging
	itemsOK := true
	for i, it := range items {
		f := fmt.Sprintf("itinerary[%d]", i)
		if !itineraryKinds[it.Kind] {
			v.add(f+".kind", "must be %s", itineraryKind)
		}
		v.text(f+".site", it.Site, maxSite, true)
		v.text(f+".address", it.Address, maxAddress, false)
		from, ok1 := v.date(f+".from_date", it.FromDate, true)
		to, ok2 := v.date(f+".to_date", it.ToDate, true)
		if !ok1 || !ok2 {
			itemsOK = false
			continue
		}
		if to.Before(from) {
			v.add(f+".to_date", "must not be before from_date")
			itemsOK = false
			continue
		}
		if datesOK && (from.Before(dep) || to.After(ret)) {
			v.add(f+".from_date", "must lie between the departure and return dates")
			itemsOK = false
			continue
		}
		if it.Kind == "lodging" {
			for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
				nights[d.Format(time.DateOnly)] = true
			}
		}
	}
	// Closed loop: every night between departure and return is spent at a
	// listed lodging, so that no night is unaccounted for.
	if req && datesOK && itemsOK {
		for d := dep; d.Before(ret); d = d.AddDate(0, 0, 1) {
			if !nights[d.Format(time.DateOnly)] {
				v.add("itinerary", "no lodging covers the night of %s", d.Format(time.DateOnly))
				break
			}
		}
	}
}

// reasonText checks a reason or message.
func reasonText(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	v := invalid{}
	v.text(field, s, maxReason, required)
	return s, v.err()
}

// idInput refuses ids that cannot be ours before they reach the database.
func idInput(field, s string) error {
	if s == "" || len(s) > maxIDInput {
		return &Error{Code: CodeNotFound, Msg: field + " not found"}
	}
	return nil
}
