package certlogic

import (
	"strings"
	"testing"
	"time"
)

func TestParseDateTimeFormats(t *testing.T) {
	// Every format the specification lists, each with the instant it means.
	cases := map[string]string{
		"2021":                          "2021-12-31T00:00:00.000Z",
		"2020-02":                       "2020-02-29T00:00:00.000Z",
		"2021-02":                       "2021-02-28T00:00:00.000Z",
		"2021-06-01":                    "2021-06-01T00:00:00.000Z",
		"2021-06-01T12:30:45":           "2021-06-01T12:30:45.000Z",
		"2021-06-01T12:30:45Z":          "2021-06-01T12:30:45.000Z",
		"2021-06-01T12:30:45+2":         "2021-06-01T10:30:45.000Z",
		"2021-06-01T12:30:45-02":        "2021-06-01T14:30:45.000Z",
		"2021-06-01T12:30:45+230":       "2021-06-01T10:00:45.000Z",
		"2021-06-01T12:30:45+0230":      "2021-06-01T10:00:45.000Z",
		"2021-06-01T12:30:45-2:30":      "2021-06-01T15:00:45.000Z",
		"2021-06-01T12:30:45+02:30":     "2021-06-01T10:00:45.000Z",
		"2021-06-01T12:30:45.5":         "2021-06-01T12:30:45.500Z",
		"2021-06-01T12:30:45.12Z":       "2021-06-01T12:30:45.120Z",
		"2021-06-01T12:30:45.9999+1":    "2021-06-01T11:30:45.999Z", // cut, not rounded
		"2021-06-01T12:30:45.123456+01": "2021-06-01T11:30:45.123Z",
		"2021-06-01T12:30:45.1+130":     "2021-06-01T11:00:45.100Z",
		"2021-06-01T12:30:45.1+0130":    "2021-06-01T11:00:45.100Z",
		"2021-06-01T12:30:45.1+1:30":    "2021-06-01T11:00:45.100Z",
		"2021-06-01T12:30:45.1-01:30":   "2021-06-01T14:00:45.100Z",
		"2021-01-01T00:30:00+01:00":     "2020-12-31T23:30:00.000Z", // offsets cross midnight and years
		"2021-07-02T07:44:21+0000":      "2021-07-02T07:44:21.000Z", // as in the FI test vectors
		"2021-06-08T15:56:26.670297":    "2021-06-08T15:56:26.670Z", // as in the GR test vectors
	}
	for in, want := range cases {
		got, err := parseDateTime(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if formatDateTime(got) != want {
			t.Errorf("%s: got %s, want %s", in, formatDateTime(got), want)
		}
	}
}

func TestParseDateTimeRejects(t *testing.T) {
	for _, in := range []string{
		"", "21", "20211", "2021-1", "2021-13", "2021-00", "2021-06-31", "2021-02-29", "2021/06/01",
		"2021-06-01T", "2021-06-01 12:30:45", "2021-06-01t12:30:45", "2021-06-01T12:30", "2021-06-01T24:00:00",
		"2021-06-01T12:60:00", "2021-06-01T12:30:60", "2021-06-01T12:30:45.", "2021-06-01T12:30:45z",
		"2021-06-01T12:30:45+", "2021-06-01T12:30:45+12345", "2021-06-01T12:30:45+1:", "2021-06-01T12:30:45+01:3",
		"2021-06-01T12:30:45+123:00", "2021-06-01T12:30:45+24:00", "2021-06-01T12:30:45+01:60",
		"2021-06-01T12:30:45Z+01", "2021-06-01T12:30:45.1a", "+2021-06-01", "２０２１",
	} {
		if got, err := parseDateTime(in); err == nil {
			t.Errorf("%q parsed as %s, want an error", in, formatDateTime(got))
		} else if !strings.Contains(err.Error(), "allowed format") {
			t.Errorf("%q: error %q does not say what is wrong", in, err)
		}
	}
}

func TestDateOfBirth(t *testing.T) {
	// The spec's mnemonic: the last date consistent with the data.
	cases := map[string]string{
		"2004":       "2004-12-31T00:00:00.000Z",
		"2004-01":    "2004-01-31T00:00:00.000Z",
		"2004-02":    "2004-02-29T00:00:00.000Z",
		"2003-02":    "2003-02-28T00:00:00.000Z",
		"2004-04":    "2004-04-30T00:00:00.000Z",
		"2004-12":    "2004-12-31T00:00:00.000Z",
		"2004-02-10": "2004-02-10T00:00:00.000Z",
	}
	for in, want := range cases {
		got, err := parseDateOfBirth(in)
		if err != nil || formatDateTime(got) != want {
			t.Errorf("%s: got %s, %v; want %s", in, formatDateTime(got), err, want)
		}
	}
	for _, in := range []string{"", "04", "2004-13", "2004-1", "2004-02-30", "2004-02-10T00:00:00", "abcd"} {
		if _, err := parseDateOfBirth(in); err == nil {
			t.Errorf("%q accepted as a date of birth", in)
		}
	}
}

func TestPlusTime(t *testing.T) {
	cases := []struct {
		from   string
		amount int64
		unit   string
		want   string
	}{
		// The leap-day table of the specification.
		{"2020-02-29", 1, unitDay, "2020-03-01T00:00:00.000Z"},
		{"2020-02-29", 1, unitMonth, "2020-03-29T00:00:00.000Z"},
		{"2020-02-29", 1, unitYear, "2021-03-01T00:00:00.000Z"},
		// JavaScript's setUTCMonth rolls an overflowing day over.
		{"2021-01-31", 1, unitMonth, "2021-03-03T00:00:00.000Z"},
		{"2020-03-31", -1, unitMonth, "2020-03-02T00:00:00.000Z"},
		{"2021-06-01T00:00:00+02:00", 1, unitMonth, "2021-07-01T22:00:00.000Z"}, // arithmetic in UTC: May 31 + 1 month
		// Days and hours ignore daylight saving time.
		{"2021-03-27T12:00:00+01:00", 1, unitDay, "2021-03-28T11:00:00.000Z"},
		{"2021-03-28T00:00:00Z", 24, unitHour, "2021-03-29T00:00:00.000Z"},
		{"2021-06-01T00:00:00Z", -72, unitHour, "2021-05-29T00:00:00.000Z"},
		{"2021-06-01T00:00:00Z", 2_000_000_000, unitHour, "+230180-05-01T08:00:00.000Z"}, // 83,333,333 days and 8 hours
		{"2021", -18, unitYear, "2003-12-31T00:00:00.000Z"},
		{"2021-06-01", 0, unitYear, "2021-06-01T00:00:00.000Z"},
	}
	for _, tc := range cases {
		from, err := parseDateTime(tc.from)
		if err != nil {
			t.Fatal(err)
		}
		got, err := plusTime(from, tc.amount, tc.unit)
		if err != nil {
			t.Errorf("%s %+d %s: %v", tc.from, tc.amount, tc.unit, err)
			continue
		}
		gotS := formatDateTime(got)
		if got.Year() > 9999 {
			gotS = "+" + got.Format("2006-01-02T15:04:05.000Z") // JavaScript's expanded years
		}
		if gotS != tc.want {
			t.Errorf("%s %+d %s: got %s, want %s", tc.from, tc.amount, tc.unit, gotS, tc.want)
		}
	}
}

func TestPlusTimeRange(t *testing.T) {
	from := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	for unit, limit := range maxAmount {
		if _, err := plusTime(from, limit+1, unit); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%d %ss: got %v, want out of range", limit+1, unit, err)
		}
		if _, err := plusTime(from, -limit-1, unit); err == nil {
			t.Errorf("%d %ss accepted", -limit-1, unit)
		}
		// Within the limit the result may still leave JavaScript's Date
		// range (±275760 years); that must be an error, never a wrap-around.
		got, err := plusTime(from, limit, unit)
		if err == nil && (got.Before(from) || got.After(jsDateMax)) {
			t.Errorf("%d %ss gave %v", limit, unit, got)
		}
	}
	if _, err := plusTime(from, 1, "week"); err == nil {
		t.Error("unknown unit accepted")
	}
}
