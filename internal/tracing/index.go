package tracing

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind is what an index key stands for.
type Kind uint8

const (
	KindFlight Kind = iota + 1 // a flight on its date
	KindHold                   // an arrival-hold site on one day
	KindSite                   // an itinerary site on one day
)

var kindNames = [...]string{KindFlight: "flight", KindHold: "hold", KindSite: "site"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Key is one entry of the tracing index. Two trips can only be contacts if
// they share a key, so tracing reads the trips filed under the case's keys
// and checks only those.
type Key struct {
	Kind  Kind
	Day   Day
	Value string // normalised flight or place name
}

// String encodes the key as one text column, "kind|YYYY-MM-DD|value".
// The kind and the date have fixed forms, so the value may hold any
// character without making the encoding ambiguous.
func (k Key) String() string { return k.Kind.String() + "|" + k.Day.String() + "|" + k.Value }

// Keys returns the index keys of a trip, without repeats: one for its
// flight, one per day of its hold, one per site per day of its itinerary.
// A store writes them to its index table whenever the exposure changes,
// replacing the trip's previous keys.
func Keys(e Exposure) []Key {
	return normalize(e).keys()
}

func (n norm) keys() []Key {
	var out []Key
	if n.flight != "" {
		out = append(out, Key{KindFlight, n.flightDay, n.flight})
	}
	if n.hold != "" {
		// The last instant of a hold is just before holdUntil.
		last := utcDay(n.holdUntil.Add(-1))
		for d := utcDay(n.holdFrom); d <= last; d++ {
			out = append(out, Key{KindHold, d, n.hold})
		}
	}
	for _, v := range n.sites {
		for d := v.from; d <= v.to; d++ {
			out = append(out, Key{KindSite, d, v.site})
		}
	}
	slices.SortFunc(out, compareKeys)
	return slices.Compact(out)
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Day, b.Day), strings.Compare(a.Value, b.Value))
}

// Index is an in-memory tracing index: the trips and, per key, the trips
// filed under it. Keys are packed into integers here (the value by an
// interned id), which makes a million-trip build several times faster
// than hashing strings; a store uses Key.String instead. It is not safe
// for concurrent writes; concurrent Traces are fine.
type Index struct {
	trips    []norm
	byRef    map[string]int32
	postings map[uint64][]int32
	ids      map[string]uint32 // interned names, normalised and as recorded: id = index in names + 1
	names    []string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byRef: map[string]int32{}, postings: map[uint64][]int32{}, ids: map[string]uint32{}}
}

// Len is the number of trips indexed.
func (x *Index) Len() int { return len(x.trips) }

// Add files a trip. Each trip is added once; a store replaces a changed
// trip's keys instead.
func (x *Index) Add(e Exposure) error {
	if e.TripRef == "" {
		return errors.New("tracing: a trip needs a reference")
	}
	if _, dup := x.byRef[e.TripRef]; dup {
		return fmt.Errorf("tracing: trip %q is already indexed", e.TripRef)
	}
	n := normalize(e)
	n.flight, n.flightName = x.intern(n.flight), x.intern(n.flightName)
	n.hold, n.holdName = x.intern(n.hold), x.intern(n.holdName)
	for i := range n.sites {
		n.sites[i].site, n.sites[i].name = x.intern(n.sites[i].site), x.intern(n.sites[i].name)
	}
	i := int32(len(x.trips))
	x.trips = append(x.trips, n)
	x.byRef[e.TripRef] = i
	for _, k := range n.keys() {
		p, _ := x.pack(k)
		x.postings[p] = append(x.postings[p], i)
	}
	return nil
}

// intern returns the one stored copy of s, giving it an id if it is new.
func (x *Index) intern(s string) string {
	if s == "" {
		return ""
	}
	if id, ok := x.ids[s]; ok {
		return x.names[id-1]
	}
	x.names = append(x.names, s)
	x.ids[s] = uint32(len(x.names))
	return s
}

// pack turns a key into one integer: 8 bits of kind, 24 of day offset,
// 32 of value id. It reports false for a value never interned, which no
// trip can share.
func (x *Index) pack(k Key) (uint64, bool) {
	id, ok := x.ids[k.Value]
	if !ok {
		return 0, false
	}
	return uint64(k.Kind)<<56 | uint64(uint32(k.Day-firstDay)&0xffffff)<<32 | uint64(id), true
}

// Trace returns the contacts of a case among the indexed trips, sorted by
// trip reference. The case need not be indexed; if it is, it is not its
// own contact.
func (x *Index) Trace(c Exposure) []Contact {
	nc := normalize(c)
	seen := make(map[int32]struct{}, 1024)
	var out []Contact
	for _, k := range nc.keys() {
		p, ok := x.pack(k)
		if !ok {
			continue
		}
		for _, i := range x.postings[p] {
			if _, dup := seen[i]; dup {
				continue
			}
			seen[i] = struct{}{}
			if rs := match(nc, x.trips[i]); len(rs) > 0 {
				out = append(out, Contact{TripRef: x.trips[i].ref, Reasons: rs})
			}
		}
	}
	sortContacts(out)
	return out
}

// Candidates counts the trips a trace of c would check: the cost of one
// trace, for benchmarks and for spotting a key that files too many trips.
func (x *Index) Candidates(c Exposure) int {
	seen := map[int32]bool{}
	for _, k := range normalize(c).keys() {
		if p, ok := x.pack(k); ok {
			for _, i := range x.postings[p] {
				seen[i] = true
			}
		}
	}
	return len(seen)
}
