// Package audit holds Corridor's audit log: who did what to which object,
// and when, as a hash chain. Each entry's hash covers its content and the
// previous entry's hash, so changing or removing an entry breaks every link
// after it, and Verify finds the first break.
//
// Entries hold no personal data: an actor is an id, an object is an id, and
// details are short codes (states, actions, digests). That keeps the chain
// whole when the retention purge blanks a traveller's data elsewhere.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Entry is one audit record.
type Entry struct {
	Seq    int64     // 1, 2, 3, ... with no gaps
	At     time.Time // kept to the millisecond
	Actor  string    // "user:<id>", "token:<id>", "traveller:<trip id>", "system", "peer:<country>"
	Role   string    // the role acted in; "" when none applies
	Action string    // e.g. "trip.approve", "trip.view", "member.invite"
	Object string    // e.g. "trip:<id>", "org:<id>"
	// Details are short facts: states, counts, digests. Never names,
	// passport numbers, e-mail addresses or free text.
	Details map[string]string

	PrevHash []byte // the previous entry's Hash; 32 zero bytes for the first
	Hash     []byte // SHA-256 over PrevHash and the canonical encoding
}

// Genesis is the PrevHash of the first entry.
var Genesis = make([]byte, sha256.Size)

var (
	reName     = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	reDetailKy = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// Bounds that keep details to codes, not prose.
const (
	maxDetails     = 16
	maxDetailValue = 128
	maxIDLen       = 128
)

// Check refuses an entry that does not fit the log's shape, before it is
// written.
func (e *Entry) Check() error {
	if e.At.IsZero() {
		return errors.New("audit: entry has no time")
	}
	if !reName.MatchString(e.Action) {
		return fmt.Errorf("audit: action %q is not a dotted lower-case name", e.Action)
	}
	if e.Actor == "" || len(e.Actor) > maxIDLen || len(e.Object) > maxIDLen || len(e.Role) > 40 {
		return errors.New("audit: actor is required; actor, object and role must be short identifiers")
	}
	if len(e.Details) > maxDetails {
		return fmt.Errorf("audit: %d details, at most %d", len(e.Details), maxDetails)
	}
	for k, v := range e.Details {
		if !reDetailKy.MatchString(k) {
			return fmt.Errorf("audit: detail key %q is not a lower-case name", k)
		}
		if len(v) > maxDetailValue || !utf8.ValidString(v) {
			return fmt.Errorf("audit: detail %q is longer than %d bytes or not text: details are codes, not prose", k, maxDetailValue)
		}
	}
	return nil
}

// Canonical is the byte string the hash covers: a version tag, then each
// field as a netstring "<length>:<bytes>," in a fixed order, the time as
// decimal Unix milliseconds, and the details sorted by key. Netstrings make
// the encoding unambiguous without escaping.
func (e *Entry) Canonical() []byte {
	var b bytes.Buffer
	put := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(',')
	}
	put("corridor-audit/1")
	put(strconv.FormatInt(e.Seq, 10))
	put(strconv.FormatInt(e.At.UnixMilli(), 10))
	put(e.Actor)
	put(e.Role)
	put(e.Action)
	put(e.Object)
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	put(strconv.Itoa(len(keys)))
	for _, k := range keys {
		put(k)
		put(e.Details[k])
	}
	return b.Bytes()
}

// Digest computes the entry's hash from its content and PrevHash.
func (e *Entry) Digest() []byte {
	h := sha256.New()
	h.Write(e.PrevHash)
	h.Write(e.Canonical())
	return h.Sum(nil)
}

// Seal links the entry after prev (the head of the chain) and computes its
// hash. The time is cut to the millisecond first, as it is stored.
func (e *Entry) Seal(prev Head) {
	e.Seq = prev.Seq + 1
	e.At = e.At.UTC().Truncate(time.Millisecond)
	if prev.Seq == 0 {
		e.PrevHash = slices.Clone(Genesis)
	} else {
		e.PrevHash = slices.Clone(prev.Hash)
	}
	e.Hash = e.Digest()
}

// Head is the chain's last link: its sequence number and hash. Seq 0 is the
// empty chain.
type Head struct {
	Seq  int64
	Hash []byte
}

// Source reads a stored chain.
type Source interface {
	// AuditEntries returns up to limit entries with Seq > after, in
	// order of Seq.
	AuditEntries(ctx context.Context, after int64, limit int) ([]Entry, error)
	// AuditHead returns the recorded head of the chain.
	AuditHead(ctx context.Context) (Head, error)
}

// ProblemKind names what Verify found.
type ProblemKind string

const (
	Changed  ProblemKind = "changed"  // an entry's content no longer matches its hash
	Missing  ProblemKind = "missing"  // an entry was removed (a gap, or the chain ends before its head)
	Relinked ProblemKind = "relinked" // an entry's link does not match the hash before it
)

// Problem is the first break in the chain.
type Problem struct {
	Seq  int64
	Kind ProblemKind
	Msg  string
}

func (p *Problem) Error() string { return fmt.Sprintf("audit entry %d %s: %s", p.Seq, p.Kind, p.Msg) }

// Report is the outcome of Verify.
type Report struct {
	Checked int64    // entries read
	Head    Head     // the recorded head
	Problem *Problem // nil when the chain is whole
}

// pageSize bounds memory while walking a long chain.
const pageSize = 1000

// Verify walks the whole chain from the first entry, recomputing every
// hash, and reports the first entry changed, relinked or missing. It
// compares the end of the chain with the recorded head, so removing the
// last entries is found too. An error is returned only when the chain
// cannot be read.
func Verify(ctx context.Context, src Source) (Report, error) {
	head, err := src.AuditHead(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit: reading the head: %w", err)
	}
	rep := Report{Head: head}
	prev := Head{Seq: 0, Hash: Genesis}
	for {
		page, err := src.AuditEntries(ctx, prev.Seq, pageSize)
		if err != nil {
			return rep, fmt.Errorf("audit: reading entries after %d: %w", prev.Seq, err)
		}
		for i := range page {
			e := &page[i]
			rep.Checked++
			if p := checkLink(e, prev); p != nil {
				rep.Problem = p
				return rep, nil
			}
			prev = Head{Seq: e.Seq, Hash: e.Hash}
		}
		if len(page) < pageSize {
			break
		}
	}
	switch {
	case prev.Seq < head.Seq:
		rep.Problem = &Problem{Seq: prev.Seq + 1, Kind: Missing,
			Msg: fmt.Sprintf("the chain ends at entry %d but its recorded head is entry %d", prev.Seq, head.Seq)}
	case prev.Seq > head.Seq:
		rep.Problem = &Problem{Seq: head.Seq + 1, Kind: Changed,
			Msg: fmt.Sprintf("entries go on past the recorded head (entry %d)", head.Seq)}
	case !bytes.Equal(prev.Hash, head.Hash) && head.Seq > 0:
		rep.Problem = &Problem{Seq: head.Seq, Kind: Changed, Msg: "the last entry's hash differs from the recorded head"}
	}
	return rep, nil
}

func checkLink(e *Entry, prev Head) *Problem {
	if e.Seq != prev.Seq+1 {
		return &Problem{Seq: prev.Seq + 1, Kind: Missing,
			Msg: fmt.Sprintf("entry %d follows entry %d: %d entries are missing", e.Seq, prev.Seq, e.Seq-prev.Seq-1)}
	}
	if !bytes.Equal(e.PrevHash, prev.Hash) {
		return &Problem{Seq: e.Seq, Kind: Relinked,
			Msg: fmt.Sprintf("its link %s does not match the hash of entry %d (%s)", short(e.PrevHash), prev.Seq, short(prev.Hash))}
	}
	if want := e.Digest(); !bytes.Equal(want, e.Hash) {
		return &Problem{Seq: e.Seq, Kind: Changed,
			Msg: fmt.Sprintf("its content hashes to %s, not the recorded %s", short(want), short(e.Hash))}
	}
	return nil
}

func short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
