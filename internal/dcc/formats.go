package dcc

// The string rules of the schema: its patterns (as Go's regexp, the engine
// JSON Schema validators in Go use, reads them) and the RFC 3339 formats.

// matchesVersionPattern reports whether s matches ^\d+.\d+.\d+$. The dots
// are unescaped in the schema, so each stands for any character but a
// newline (a digit too: "10203" matches). It runs the pattern's automaton
// rather than a regexp to stay allocation-free.
func matchesVersionPattern(s string) bool {
	// States: 0 before the first number, 1 in it, 2 after the first
	// separator, 3 in the second number, 4 after the second separator,
	// 5 in the third number (accepting).
	var states uint8 = 1 << 0
	for _, r := range s {
		digit := r >= '0' && r <= '9'
		anyChar := r != '\n'
		var next uint8
		for st := 0; st < 6; st++ {
			if states&(1<<st) == 0 {
				continue
			}
			switch st {
			case 0, 2, 4:
				if digit {
					next |= 1 << (st + 1)
				}
			case 1, 3:
				if digit {
					next |= 1 << st
				}
				if anyChar {
					next |= 1 << (st + 1)
				}
			case 5:
				if digit {
					next |= 1 << 5
				}
			}
		}
		if next == 0 {
			return false
		}
		states = next
	}
	return states&(1<<5) != 0
}

// isBirthDate reports whether s matches ^((19|20)\d\d(-\d\d){0,2}){0,1}$:
// empty, or a year 1900-2099 optionally followed by two-digit month and
// day. The pattern does not check month or day ranges, nor does this.
func isBirthDate(s string) bool {
	switch len(s) {
	case 0:
		return true
	case 4, 7, 10:
	default:
		return false
	}
	if s[:2] != "19" && s[:2] != "20" {
		return false
	}
	for i := 2; i < len(s); i++ {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isFullDate reports whether s is an RFC 3339 full-date: YYYY-MM-DD naming
// a real day of the proleptic Gregorian calendar.
func isFullDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	year, ok1 := twoDigits(s[0:2])
	yy, ok2 := twoDigits(s[2:4])
	month, ok3 := twoDigits(s[5:7])
	day, ok4 := twoDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return false
	}
	year = year*100 + yy
	return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year)
}

// isDateTime reports whether s is an RFC 3339 date-time. As RFC 3339
// allows, T and Z may be lower case and the seconds may be 60 for a leap
// second, which can only fall at 23:59 UTC.
func isDateTime(s string) bool {
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't') || !isFullDate(s[:10]) {
		return false
	}
	t := s[11:]
	if t[2] != ':' || t[5] != ':' {
		return false
	}
	hour, ok1 := twoDigits(t[0:2])
	minute, ok2 := twoDigits(t[3:5])
	second, ok3 := twoDigits(t[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || second > 60 {
		return false
	}
	rest := t[8:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	offset := 0 // minutes east of UTC
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := twoDigits(rest[1:3])
		om, ok2 := twoDigits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return false
		}
		offset = oh*60 + om
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return false
	}
	if second == 60 {
		const minutesPerDay = 24 * 60
		utc := ((hour*60+minute-offset)%minutesPerDay + minutesPerDay) % minutesPerDay
		if utc != 23*60+59 {
			return false
		}
	}
	return true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
