package tracing

import (
	"fmt"
	"time"
)

// Day is a calendar date, counted in days from 1970-01-01. Dates in
// tracing are calendar dates, not instants, so they are kept free of time
// zones; and an int32 keeps a million trips' itineraries small.
type Day int32

// Bounds of a plausible date; anything outside is bad data and is ignored.
var (
	firstDay = DayOf(1900, time.January, 1)
	lastDay  = DayOf(2999, time.December, 31)
)

var epoch = time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC)

// DayOf returns the day of a calendar date.
func DayOf(year int, month time.Month, day int) Day {
	// Unix seconds, not a Duration, which would overflow past the year 2262;
	// midnight UTC is a whole number of days from the epoch either side.
	return Day(time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayFromTime returns the calendar date of t in t's own location.
func DayFromTime(t time.Time) Day {
	y, m, d := t.Date()
	return DayOf(y, m, d)
}

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("tracing: %q is not a date YYYY-MM-DD", s)
	}
	return DayFromTime(t), nil
}

// Time returns midnight UTC of d.
func (d Day) Time() time.Time { return epoch.AddDate(0, 0, int(d)) }

// String is YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

func (d Day) plausible() bool { return d >= firstDay && d <= lastDay }

// utcDay is the UTC calendar day of an instant: hold times are instants,
// and any one zone works as long as the index and the rule agree.
func utcDay(t time.Time) Day { return DayFromTime(t.UTC()) }
