package certlogic

import (
	"fmt"
	"strings"
	"time"
)

// Time units accepted by plusTime.
const (
	unitYear  = "year"
	unitMonth = "month"
	unitDay   = "day"
	unitHour  = "hour"
)

// jsDateLimit is the range of a JavaScript Date, ±8.64e15 ms around the
// epoch: the reference implementation cannot represent anything beyond it,
// so neither do we.
const jsDateLimitMillis = 8_640_000_000_000_000

var (
	jsDateMin = time.UnixMilli(-jsDateLimitMillis).UTC()
	jsDateMax = time.UnixMilli(jsDateLimitMillis).UTC()
)

// Largest amounts plusTime accepts per unit: each keeps the result well
// inside jsDate range from any four-digit year, and keeps Go's calendar
// arithmetic far from int overflow.
var maxAmount = map[string]int64{
	unitYear:  300_000,
	unitMonth: 3_600_000,
	unitDay:   110_000_000,
	unitHour:  2_640_000_000,
}

// formatDateTime renders a date-time as JavaScript's Date.toISOString does.
func formatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseDateTime reads a date or date-time string in one of the formats the
// CertLogic spec allows for plusTime:
//
//	YYYY, YYYY-MM                        partial dates, read as dccDateOfBirth does
//	YYYY-MM-DD                           midnight UTC
//	YYYY-MM-DDThh:mm:ss[.S…][offset]     offset Z, [+-]h, hh, hmm, hhmm, h:mm or hh:mm;
//	                                     none means Z
//
// Fractions beyond milliseconds are cut off, not rounded, as the spec says.
// Calendar-impossible values (month 13, February 30, hour 24) are errors.
// It is hand-written rather than a regular expression plus time.Parse
// because the spec's offset forms are not any layout time.Parse knows.
func parseDateTime(s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q is not a date or date-time in an allowed format", s)
	}
	switch len(s) {
	case 4, 7, 10:
		t, err := parseDateOfBirth(s)
		if err != nil {
			return bad()
		}
		return t, nil
	}
	if len(s) < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad()
	}
	y, mo, d, ok := parseYMD(s[:10])
	if !ok {
		return bad()
	}
	hh, ok1 := digits(s[11:13])
	mm, ok2 := digits(s[14:16])
	ss, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return bad()
	}
	rest := s[19:]
	millis := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n == 1 {
			return bad()
		}
		frac := rest[1:n]
		for i := 0; i < 3; i++ {
			millis *= 10
			if i < len(frac) {
				millis += int(frac[i] - '0')
			}
		}
		rest = rest[n:]
	}
	offset, ok := parseOffset(rest)
	if !ok {
		return bad()
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, millis*int(time.Millisecond), time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

// parseOffset reads a time-zone offset (seconds east of UTC) in one of the
// spec's forms; an empty string is UTC.
func parseOffset(s string) (int, bool) {
	if s == "" || s == "Z" {
		return 0, true
	}
	if s[0] != '+' && s[0] != '-' {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	var h, m int
	var ok bool
	if i := strings.IndexByte(s, ':'); i >= 0 {
		// h:mm or hh:mm
		if (i != 1 && i != 2) || len(s) != i+3 {
			return 0, false
		}
		var okM bool
		h, ok = digits(s[:i])
		m, okM = digits(s[i+1:])
		ok = ok && okM
	} else {
		switch len(s) {
		case 1, 2: // h, hh
			h, ok = digits(s)
		case 3, 4: // hmm, hhmm
			var okM bool
			h, ok = digits(s[:len(s)-2])
			m, okM = digits(s[len(s)-2:])
			ok = ok && okM
		}
	}
	if !ok || h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// parseDateOfBirth converts the date-of-birth forms of a DCC (YYYY, YYYY-MM,
// YYYY-MM-DD) to the last date consistent with them, at midnight UTC: the
// spec's "beneficial interpretation", so that an age check never counts a
// holder as older than they may be.
func parseDateOfBirth(s string) (time.Time, error) {
	switch len(s) {
	case 4:
		if y, ok := digits(s); ok {
			return time.Date(y, time.December, 31, 0, 0, 0, 0, time.UTC), nil
		}
	case 7:
		y, okY := digits(s[:4])
		m, okM := digits(s[5:])
		if okY && okM && s[4] == '-' && m >= 1 && m <= 12 {
			// Day 0 of the next month is the last day of this one.
			return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC), nil
		}
	case 10:
		if y, m, d, ok := parseYMD(s); ok {
			return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date of birth of the form YYYY, YYYY-MM or YYYY-MM-DD", s)
}

// parseYMD reads YYYY-MM-DD and checks that the day exists.
func parseYMD(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, okY := digits(s[:4])
	m, okM := digits(s[5:7])
	d, okD := digits(s[8:10])
	if !okY || !okM || !okD || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// plusTime offsets t in UTC calendar terms, as JavaScript's
// Date.setUTC<Unit>(getUTC<Unit>() + amount) does: an overflowing day of the
// month rolls over (2020-02-29 plus one year is 2021-03-01), and daylight
// saving time plays no part.
func plusTime(t time.Time, amount int64, unit string) (time.Time, error) {
	limit, known := maxAmount[unit]
	if !known {
		return time.Time{}, fmt.Errorf("unknown time unit %q", unit)
	}
	if amount > limit || amount < -limit {
		return time.Time{}, fmt.Errorf("amount %d %ss is out of range (at most %d)", amount, unit, limit)
	}
	n := int(amount)
	t = t.UTC()
	switch unit {
	case unitYear:
		t = t.AddDate(n, 0, 0)
	case unitMonth:
		t = t.AddDate(0, n, 0)
	case unitDay:
		t = t.AddDate(0, 0, n)
	case unitHour:
		// Whole days first: hours alone would overflow time.Duration.
		t = t.AddDate(0, 0, n/24).Add(time.Duration(n%24) * time.Hour)
	}
	if t.Before(jsDateMin) || t.After(jsDateMax) {
		return time.Time{}, fmt.Errorf("result %s is outside the representable range of date-times", t.Format(time.RFC3339))
	}
	return t, nil
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
