// Package policy holds the corridor policy: the one versioned document both
// nodes agree on. It says who may travel (lanes, purposes, regions), how many
// (weekly quotas), on what conditions (monitoring days, test type and window,
// arrival hold, post-arrival monitoring), when a route shuts (circuit
// breaker), how long personal data is kept, and the entry rules a border
// officer applies, in CertLogic. Everything else reads these numbers from
// here; none of them is written in code elsewhere.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// MinRetentionDays is the shortest retention a policy may set: personal data
// is needed for at least one incubation period after a trip ends, to trace
// contacts of a late case.
const MinRetentionDays = 14

// maxFileBytes bounds a policy file; a real one is a few kilobytes.
const maxFileBytes = 4 << 20

// Policy is the corridor policy document.
type Policy struct {
	ID        string   `json:"id"`
	Version   int      `json:"version"`
	Title     string   `json:"title"`
	Effective string   `json:"effective"` // YYYY-MM-DD
	Parties   []Party  `json:"parties"`
	Lanes     []Lane   `json:"lanes"`
	Purposes  []string `json:"purposes"`
	// RetentionDays: personal data of a trip finished longer ago is purged.
	RetentionDays  int             `json:"retention_days"`
	CircuitBreaker []BreakerStep   `json:"circuit_breaker"`
	EntryRules     json.RawMessage `json:"entry_rules"`

	// digest is the SHA-256 of the file as loaded: two nodes agree on a
	// policy when their digests match.
	digest string
	// doc is the document as loaded, byte for byte: what a node sends its
	// peer when the policy changes, so both hold the same digest.
	doc []byte
}

// Party is one country of the corridor and its regions.
type Party struct {
	Country string   `json:"country"` // ISO 3166-1 alpha-2
	Name    string   `json:"name"`
	Regions []string `json:"regions"`
}

// Lane is one direction of travel and its measures.
type Lane struct {
	ID          string   `json:"id"` // e.g. "CN-KR"
	Origin      string   `json:"origin"`
	Destination string   `json:"destination"`
	Regions     []string `json:"regions"` // destination regions open on this lane
	Quota       Quota    `json:"quota"`
	Measures    Measures `json:"measures"`
	// OnSuspension says what happens to trips already approved when the
	// route is suspended: "honour" lets them travel, "hold" keeps those not
	// yet departed from departing.
	OnSuspension string `json:"on_suspension"`
}

// Quota caps approvals per ISO week.
type Quota struct {
	WeeklyPerRegion map[string]int `json:"weekly_per_region"`
	// WeeklyPerSponsor caps one sponsor's approvals on the lane; 0 means no
	// cap beyond the region's.
	WeeklyPerSponsor int `json:"weekly_per_sponsor"`
}

// Measures are the health conditions of a lane.
type Measures struct {
	PreDepartureMonitoringDays int    `json:"pre_departure_monitoring_days"`
	TestType                   string `json:"test_type"` // "NAAT" or "RAT"
	TestWindowHours            int    `json:"test_window_hours"`
	ArrivalTest                bool   `json:"arrival_test"`
	ArrivalHoldHours           int    `json:"arrival_hold_hours"`
	PostArrivalMonitoringDays  int    `json:"post_arrival_monitoring_days"`
	// SymptomScreening: daily symptom declarations before departure and
	// during monitoring are checked.
	SymptomScreening bool `json:"symptom_screening"`
}

// BreakerStep suspends a route when Positives arrival positives are seen on
// it within WindowDays; the suspension lasts SuspendDays.
type BreakerStep struct {
	Positives   int `json:"positives"`
	WindowDays  int `json:"window_days"`
	SuspendDays int `json:"suspend_days"`
}

// Test types as the DCC value set names them; the policy uses the short
// words officials use.
var testTypes = map[string]string{"NAAT": "LP6464-4", "RAT": "LP217198-3"}

// TestTypeCode returns the DCC value-set code of the lane's test type.
func (m Measures) TestTypeCode() string { return testTypes[m.TestType] }

// Digest identifies the exact document.
func (p *Policy) Digest() string { return p.digest }

// Document returns the document as loaded, byte for byte.
func (p *Policy) Document() []byte { return bytes.Clone(p.doc) }

// Lane returns the lane with the given id.
func (p *Policy) Lane(id string) (*Lane, bool) {
	for i := range p.Lanes {
		if p.Lanes[i].ID == id {
			return &p.Lanes[i], true
		}
	}
	return nil, false
}

// AllowsPurpose tells whether purpose is eligible.
func (p *Policy) AllowsPurpose(purpose string) bool {
	for _, x := range p.Purposes {
		if x == purpose {
			return true
		}
	}
	return false
}

// OpensRegion tells whether the lane admits travellers to region.
func (l *Lane) OpensRegion(region string) bool {
	for _, r := range l.Regions {
		if r == region {
			return true
		}
	}
	return false
}

// Error is a fault in a policy document, located by line and field path.
type Error struct {
	Line  int    // 1-based; 0 when unknown
	Field string // JSON path, e.g. lanes[0].quota.weekly_per_region.Shanghai
	Msg   string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Field != "":
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Field != "":
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

// LoadFile reads and checks a policy file.
func LoadFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

func readLimited(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(&limitReader{f: f, left: maxFileBytes + 1})
	if err != nil {
		return nil, err
	}
	if n > maxFileBytes {
		return nil, fmt.Errorf("file larger than %d MiB", maxFileBytes>>20)
	}
	return buf.Bytes(), nil
}

type limitReader struct {
	f    *os.File
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errEOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}

var errEOF = errors.New("EOF")

// Parse reads a policy document and checks it. The error lists every fault
// found, each an *Error with its line and field.
func Parse(data []byte) (*Policy, error) {
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, lines.jsonError(err)
	}
	if dec.More() {
		return nil, &Error{Line: lines.line(int(dec.InputOffset())), Msg: "unexpected data after the policy document"}
	}
	paths, err := indexPaths(data)
	if err != nil {
		return nil, lines.jsonError(err)
	}
	errs := p.check()
	for _, e := range errs {
		var pe *Error
		if errors.As(e, &pe) && pe.Line == 0 {
			pe.Line = lines.line(paths.offset(pe.Field))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sum := sha256.Sum256(data)
	p.digest = hex.EncodeToString(sum[:])
	p.doc = bytes.Clone(data)
	return &p, nil
}

var (
	reID      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	reCountry = regexp.MustCompile(`^[A-Z]{2}$`)
	rePurpose = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
)

// check validates the decoded document; each error names its field path.
func (p *Policy) check() []error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &Error{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if !reID.MatchString(p.ID) {
		bad("id", "must be lower-case letters, digits and dashes (got %q)", p.ID)
	}
	if p.Version < 1 {
		bad("version", "must be 1 or more")
	}
	if _, err := time.Parse(time.DateOnly, p.Effective); err != nil {
		bad("effective", "must be a date YYYY-MM-DD (got %q)", p.Effective)
	}
	if len(p.Parties) < 2 {
		bad("parties", "a corridor needs at least two parties")
	}
	regions := map[string]map[string]bool{}
	for i, party := range p.Parties {
		f := fmt.Sprintf("parties[%d]", i)
		if !reCountry.MatchString(party.Country) {
			bad(f+".country", "must be an ISO 3166-1 alpha-2 code (got %q)", party.Country)
			continue
		}
		if regions[party.Country] != nil {
			bad(f+".country", "%s is listed twice", party.Country)
			continue
		}
		if party.Name == "" {
			bad(f+".name", "is required")
		}
		if len(party.Regions) == 0 {
			bad(f+".regions", "needs at least one region")
		}
		set := map[string]bool{}
		for j, r := range party.Regions {
			if strings.TrimSpace(r) == "" || len(r) > 60 {
				bad(fmt.Sprintf("%s.regions[%d]", f, j), "must be a name of 1 to 60 characters")
			}
			if set[r] {
				bad(fmt.Sprintf("%s.regions[%d]", f, j), "region %q is listed twice", r)
			}
			set[r] = true
		}
		regions[party.Country] = set
	}
	if len(p.Purposes) == 0 {
		bad("purposes", "needs at least one eligible purpose")
	}
	seenPurpose := map[string]bool{}
	for i, pu := range p.Purposes {
		if !rePurpose.MatchString(pu) {
			bad(fmt.Sprintf("purposes[%d]", i), "must be a lower-case word (got %q)", pu)
		}
		if seenPurpose[pu] {
			bad(fmt.Sprintf("purposes[%d]", i), "purpose %q is listed twice", pu)
		}
		seenPurpose[pu] = true
	}
	if len(p.Lanes) == 0 {
		bad("lanes", "needs at least one lane")
	}
	seenLane := map[string]bool{}
	for i := range p.Lanes {
		errs = append(errs, p.Lanes[i].check(fmt.Sprintf("lanes[%d]", i), regions, seenLane)...)
	}
	if p.RetentionDays < MinRetentionDays {
		bad("retention_days", "must be at least %d days, to trace contacts of a late case", MinRetentionDays)
	}
	for i, s := range p.CircuitBreaker {
		f := fmt.Sprintf("circuit_breaker[%d]", i)
		if s.Positives < 1 {
			bad(f+".positives", "must be 1 or more")
		}
		if s.WindowDays < 1 || s.WindowDays > 90 {
			bad(f+".window_days", "must be 1 to 90")
		}
		if s.SuspendDays < 1 || s.SuspendDays > 365 {
			bad(f+".suspend_days", "must be 1 to 365")
		}
		if i > 0 && s.Positives <= p.CircuitBreaker[i-1].Positives {
			bad(f+".positives", "steps must have rising thresholds")
		}
	}
	if len(bytes.TrimSpace(p.EntryRules)) == 0 {
		bad("entry_rules", "are required: the rules a border officer applies, in CertLogic")
	} else if err := checkRules(p.EntryRules); err != nil {
		bad("entry_rules", "%v", err)
	}
	return errs
}

func (l *Lane) check(f string, regions map[string]map[string]bool, seen map[string]bool) []error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &Error{Field: f + "." + field, Msg: fmt.Sprintf(format, a...)})
	}
	want := l.Origin + "-" + l.Destination
	if l.ID != want {
		bad("id", "must be ORIGIN-DESTINATION, here %q (got %q)", want, l.ID)
	}
	if seen[l.ID] {
		bad("id", "lane %q is listed twice", l.ID)
	}
	seen[l.ID] = true
	if regions[l.Origin] == nil {
		bad("origin", "%q is not one of the parties", l.Origin)
	}
	dest := regions[l.Destination]
	if dest == nil {
		bad("destination", "%q is not one of the parties", l.Destination)
	}
	if l.Origin == l.Destination {
		bad("destination", "must differ from the origin")
	}
	if len(l.Regions) == 0 {
		bad("regions", "needs at least one destination region")
	}
	for i, r := range l.Regions {
		if dest != nil && !dest[r] {
			bad(fmt.Sprintf("regions[%d]", i), "%q is not a region of %s", r, l.Destination)
		}
	}
	names := make([]string, 0, len(l.Quota.WeeklyPerRegion))
	for r := range l.Quota.WeeklyPerRegion {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		if !l.OpensRegion(r) {
			bad("quota.weekly_per_region."+r, "%q is not a region of this lane", r)
		}
		if n := l.Quota.WeeklyPerRegion[r]; n < 0 || n > 100000 {
			bad("quota.weekly_per_region."+r, "must be 0 to 100000 (got %d)", n)
		}
	}
	for _, r := range l.Regions {
		if _, ok := l.Quota.WeeklyPerRegion[r]; !ok {
			bad("quota.weekly_per_region", "has no quota for region %q", r)
		}
	}
	if l.Quota.WeeklyPerSponsor < 0 {
		bad("quota.weekly_per_sponsor", "must not be negative")
	}
	m := l.Measures
	if m.PreDepartureMonitoringDays < 0 || m.PreDepartureMonitoringDays > 28 {
		bad("measures.pre_departure_monitoring_days", "must be 0 to 28")
	}
	if _, ok := testTypes[m.TestType]; !ok {
		bad("measures.test_type", "must be NAAT or RAT (got %q)", m.TestType)
	}
	if m.TestWindowHours < 1 || m.TestWindowHours > 168 {
		bad("measures.test_window_hours", "must be 1 to 168")
	}
	if m.ArrivalHoldHours < 0 || m.ArrivalHoldHours > 24*28 {
		bad("measures.arrival_hold_hours", "must be 0 to 672")
	}
	if m.ArrivalHoldHours > 0 && !m.ArrivalTest {
		bad("measures.arrival_hold_hours", "a hold until the result needs arrival_test")
	}
	if m.PostArrivalMonitoringDays < 0 || m.PostArrivalMonitoringDays > 28 {
		bad("measures.post_arrival_monitoring_days", "must be 0 to 28")
	}
	switch l.OnSuspension {
	case "honour", "hold":
	default:
		bad("on_suspension", `must be "honour" or "hold" (got %q)`, l.OnSuspension)
	}
	return errs
}
