// Package tracing finds the contacts of a case among lane travellers. The
// rules are those of the joint mechanism: fellow passengers on the same
// flight within two rows, travellers held at the same arrival-hold site at
// overlapping times, and travellers who visited the same itinerary site on
// the same day.
//
// Tracing one case among a million trips must take milliseconds, so the
// rules come in two parts. Keys turns a trip's exposure into index keys
// (a flight on a day, a hold site on a day, an itinerary site on a day)
// that a store keeps in a table beside the trip; any two trips that can be
// contacts share a key. Tracing looks up the case's keys, takes the trips
// filed under them as candidates, and applies the exact rules (Match) to
// each. Index is that scheme in memory; a store does the same with an
// indexed table.
package tracing

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Exposure is where one trip's traveller may have met others.
type Exposure struct {
	TripRef    string
	Flight     string // e.g. "KE123"; "" when not known
	FlightDate Day
	Seat       string // e.g. "23C"; a seat that cannot be read counts as unknown
	HoldSite   string
	HoldFrom   time.Time
	// HoldUntil ends the hold. While a hold is open, the store passes its
	// planned end (HoldFrom plus the lane's arrival-hold hours) and updates
	// the trip's keys when the hold ends. A zero or earlier HoldUntil means
	// the hold is not known, and it matches nothing.
	HoldUntil time.Time
	Sites     []SiteVisit
}

// SiteVisit is an itinerary site and the days spent there, From and To
// included.
type SiteVisit struct {
	Site     string
	From, To Day
}

// Rule names why two travellers are contacts.
type Rule string

const (
	// FlightNearSeat: same flight on the same day, rows at most
	// MaxRowDistance apart.
	FlightNearSeat Rule = "flight_near_seat"
	// FlightSeatUnknown: same flight on the same day, and one of the two
	// seats is missing or unreadable. Without a seat no one can be ruled
	// out, so the whole flight counts: the safe side for a case.
	FlightSeatUnknown Rule = "flight_seat_unknown"
	// SameHold: held at the same site at overlapping times.
	SameHold Rule = "hold"
	// SharedSite: at the same itinerary site on at least one same day.
	SharedSite Rule = "site"
)

// MaxRowDistance is how many rows apart fellow passengers still count as
// contacts.
const MaxRowDistance = 2

// MaxVisitDays caps one site visit. A longer one is bad data (a year
// mistyped) and is cut to its first MaxVisitDays days, by Keys and Match
// alike, so that one record cannot flood the index.
const MaxVisitDays = 120

// maxHoldDays caps a hold the same way.
const maxHoldDays = 60

// Reason is one rule that made two travellers contacts.
type Reason struct {
	Rule Rule
	// Place is the flight, hold site or itinerary site, as the case's
	// record spells it.
	Place string
	// First and Last are the shared days: the flight's date, or the first
	// and last day both were at the place.
	First, Last Day
}

// Contact is one traveller found, with every reason.
type Contact struct {
	TripRef string
	Reasons []Reason
}

// Rules returns the contact's rules, in the order of its reasons.
func (c Contact) Rules() []Rule {
	out := make([]Rule, len(c.Reasons))
	for i, r := range c.Reasons {
		out[i] = r.Rule
	}
	return out
}

// norm is an exposure in the form both Keys and Match work on, so that the
// index can never miss a contact the rules would find.
type norm struct {
	ref        string
	flight     string // normalised; "" for none
	flightName string // as recorded
	flightDay  Day
	row        int // 0 when the seat is unknown
	hold       string
	holdName   string
	holdFrom   time.Time
	holdUntil  time.Time
	sites      []visit
}

type visit struct {
	site, name string
	from, to   Day
}

func normalize(e Exposure) norm {
	n := norm{ref: e.TripRef}
	if f := normFlight(e.Flight); f != "" && e.FlightDate.plausible() {
		n.flight, n.flightName, n.flightDay = f, e.Flight, e.FlightDate
		n.row, _ = SeatRow(e.Seat)
	}
	if h := normPlace(e.HoldSite); h != "" && e.HoldUntil.After(e.HoldFrom) &&
		utcDay(e.HoldFrom).plausible() && utcDay(e.HoldUntil).plausible() {
		n.hold, n.holdName, n.holdFrom, n.holdUntil = h, e.HoldSite, e.HoldFrom, e.HoldUntil
		if limit := e.HoldFrom.AddDate(0, 0, maxHoldDays); n.holdUntil.After(limit) {
			n.holdUntil = limit
		}
	}
	for _, v := range e.Sites {
		s := normPlace(v.Site)
		if s == "" || v.To < v.From || !v.From.plausible() || !v.To.plausible() {
			continue
		}
		to := min(v.To, v.From+MaxVisitDays-1)
		n.sites = append(n.sites, visit{site: s, name: v.Site, from: v.From, to: to})
	}
	return n
}

// normFlight makes "ke 0123", "KE-123" and "KE123" one flight: an
// airline designator (two characters, and a third letter for ICAO codes)
// and the flight number without leading zeros. A number that does not look
// like that is compared as typed, without spaces and in upper case.
// Hand-written rather than a regular expression: it runs for every trip
// the index files.
func normFlight(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	if len(b) < 3 || !isAlnum(b[0]) || !isAlnum(b[1]) {
		return string(b)
	}
	airline := 2
	if isUpper(b[2]) {
		airline = 3
	}
	num := b[airline:]
	if n := len(num); n > 0 && isUpper(num[n-1]) {
		num = num[:n-1] // an operational suffix letter
	}
	if len(num) == 0 || len(num) > 4+3 || !allDigits(num) {
		return string(b)
	}
	zeros := 0
	for zeros < len(num)-1 && num[zeros] == '0' {
		zeros++
	}
	if len(num)-zeros > 4 {
		return string(b)
	}
	return string(b[:airline]) + string(b[airline+zeros:])
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isUpper(c) || '0' <= c && c <= '9' }

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// normPlace compares place names without regard to case or spacing.
func normPlace(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// SeatRow reads the row of a seat such as "23C" (or "23c", "023C"): a row
// of 1 to 999 and one letter. It reports false for a seat it cannot read.
func SeatRow(seat string) (int, bool) {
	s := strings.TrimSpace(seat)
	if len(s) < 2 {
		return 0, false
	}
	letter := s[len(s)-1]
	if !isUpper(letter) && !('a' <= letter && letter <= 'z') {
		return 0, false
	}
	digits := strings.TrimLeft(s[:len(s)-1], "0")
	if len(digits) == 0 || len(digits) > 3 || !allDigits([]byte(digits)) {
		return 0, false
	}
	row, err := strconv.Atoi(digits)
	return row, err == nil
}

// Match applies the exact rules to two trips and returns every reason they
// are contacts, or nil. A trip is never its own contact.
func Match(a, b Exposure) []Reason {
	if a.TripRef == b.TripRef {
		return nil
	}
	return match(normalize(a), normalize(b))
}

func match(a, b norm) []Reason {
	if a.ref == b.ref {
		return nil
	}
	var out []Reason
	if a.flight != "" && a.flight == b.flight && a.flightDay == b.flightDay {
		switch {
		case a.row == 0 || b.row == 0:
			out = append(out, Reason{FlightSeatUnknown, a.flightName, a.flightDay, a.flightDay})
		case abs(a.row-b.row) <= MaxRowDistance:
			out = append(out, Reason{FlightNearSeat, a.flightName, a.flightDay, a.flightDay})
		}
	}
	if a.hold != "" && a.hold == b.hold && a.holdFrom.Before(b.holdUntil) && b.holdFrom.Before(a.holdUntil) {
		from, until := later(a.holdFrom, b.holdFrom), earlier(a.holdUntil, b.holdUntil)
		// until is exclusive: a hold ending at midnight does not take in
		// the new day.
		out = append(out, Reason{SameHold, a.holdName, utcDay(from), utcDay(until.Add(-time.Nanosecond))})
	}
	// Several overlaps at one site (two visits, say) fold into one reason
	// spanning them, so a contact names each place once.
	firstSite := len(out)
	for _, va := range a.sites {
		for _, vb := range b.sites {
			if va.site != vb.site || va.from > vb.to || vb.from > va.to {
				continue
			}
			r := Reason{SharedSite, va.name, max(va.from, vb.from), min(va.to, vb.to)}
			merged := false
			for i := firstSite; i < len(out); i++ {
				if normPlace(out[i].Place) == va.site {
					out[i].First, out[i].Last = min(out[i].First, r.First), max(out[i].Last, r.Last)
					merged = true
					break
				}
			}
			if !merged {
				out = append(out, r)
			}
		}
	}
	return out
}

// Contacts applies Match to every candidate and returns the contacts,
// sorted by trip reference: the brute-force form of tracing, for small
// sets and for checking an index.
func Contacts(c Exposure, candidates []Exposure) []Contact {
	nc := normalize(c)
	var out []Contact
	for _, e := range candidates {
		if e.TripRef == c.TripRef {
			continue
		}
		if rs := match(nc, normalize(e)); len(rs) > 0 {
			out = append(out, Contact{TripRef: e.TripRef, Reasons: rs})
		}
	}
	sortContacts(out)
	return out
}

func sortContacts(cs []Contact) {
	slices.SortFunc(cs, func(a, b Contact) int { return cmp.Compare(a.TripRef, b.TripRef) })
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
