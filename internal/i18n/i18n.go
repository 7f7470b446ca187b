// Package i18n holds every sentence Corridor shows to people, in English,
// Simplified Chinese and Korean, and picks the language a person reads.
//
// Catalogs are flat JSON files, one per language, embedded in the binary:
// a key ("trip.approve") maps to a message in fmt syntax. Load refuses a set
// of catalogs in which any key is missing from a language or where a
// translation takes other arguments than the English message, so a page can
// never fall back to English silently.
//
// Keys under "apperr." are not looked up by key: their English text is a
// pattern of a message the application layer returns (internal/app speaks
// English only), and Message translates such a message by matching it.
package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language Corridor speaks, as a BCP 47 tag.
type Lang string

// The languages, in the order the language switch lists them.
const (
	EN Lang = "en"
	ZH Lang = "zh-Hans"
	KO Lang = "ko"
)

// Langs lists every language.
var Langs = []Lang{EN, ZH, KO}

// Default is the language when nothing else is known.
const Default = EN

// Valid tells whether l is one of Langs.
func (l Lang) Valid() bool { return slices.Contains(Langs, l) }

// file is the catalog file of each language.
var file = map[Lang]string{EN: "catalog/en.json", ZH: "catalog/zh.json", KO: "catalog/ko.json"}

//go:embed catalog/*.json
var catalogs embed.FS

// appPrefix marks the patterns of application messages.
const appPrefix = "apperr."

// MissingPrefix starts what T returns for a key no catalog holds; tests
// look for it in rendered pages.
const MissingPrefix = "⟦missing:"

// Catalog is every language's messages. It is read-only once loaded and
// safe for concurrent use.
type Catalog struct {
	msgs     map[Lang]map[string]string
	patterns []pattern
}

// pattern recognises one English application message and its arguments.
type pattern struct {
	key string
	re  *regexp.Regexp
}

// Load reads and checks the embedded catalogs.
func Load() (*Catalog, error) {
	c := &Catalog{msgs: map[Lang]map[string]string{}}
	for _, l := range Langs {
		data, err := catalogs.ReadFile(file[l])
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		m, err := decode(data)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", file[l], err)
		}
		c.msgs[l] = m
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	en := c.msgs[EN]
	keys := make([]string, 0, len(en))
	for k := range en {
		if strings.HasPrefix(k, appPrefix) {
			keys = append(keys, k)
		}
	}
	// Longer patterns first, so that the most specific message wins when
	// a shorter one would match too.
	sort.Slice(keys, func(i, j int) bool {
		if len(en[keys[i]]) != len(en[keys[j]]) {
			return len(en[keys[i]]) > len(en[keys[j]])
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		re, err := compilePattern(en[k])
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", k, err)
		}
		c.patterns = append(c.patterns, pattern{key: k, re: re})
	}
	return c, nil
}

// decode reads one catalog, refusing duplicate keys, which a JSON object
// would otherwise silently collapse.
func decode(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("a catalog must be one JSON object of strings")
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var val string
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		if strings.TrimSpace(val) == "" {
			return nil, fmt.Errorf("key %q has an empty message", key)
		}
		m[key] = val
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the catalog")
	}
	return m, nil
}

// verbRE finds fmt verbs, with optional explicit argument indexes.
var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// verbs lists the argument verbs of a message ("%%" is not one).
func verbs(msg string) []string {
	var out []string
	for _, v := range verbRE.FindAllString(msg, -1) {
		if v != "%%" {
			out = append(out, v)
		}
	}
	return out
}

// check refuses catalogs that disagree on keys or arguments.
func (c *Catalog) check() error {
	var errs []error
	en := c.msgs[EN]
	for _, l := range Langs[1:] {
		for k := range en {
			if _, ok := c.msgs[l][k]; !ok {
				errs = append(errs, fmt.Errorf("%s lacks %q", l, k))
			}
		}
		for k := range c.msgs[l] {
			if _, ok := en[k]; !ok {
				errs = append(errs, fmt.Errorf("%s has %q, which English lacks", l, k))
			}
		}
		for k, msg := range c.msgs[l] {
			want, ok := en[k]
			if !ok {
				continue
			}
			if err := sameArgs(k, want, msg); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", l, err))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if len(errs) > 0 {
		return fmt.Errorf("i18n: catalogs disagree: %w", errors.Join(errs...))
	}
	return nil
}

// sameArgs checks a translation takes the English message's arguments. An
// application pattern's arguments are captured as text, so its translation
// must use %s (possibly indexed) for each.
func sameArgs(key, en, tr string) error {
	ev, tv := verbs(en), verbs(tr)
	if strings.HasPrefix(key, appPrefix) {
		for _, v := range tv {
			if !strings.HasSuffix(v, "s") {
				return fmt.Errorf("%q: an application message's translation takes its arguments as text (%%s), not %s", key, v)
			}
		}
		if countArgs(tv) != len(ev) {
			return fmt.Errorf("%q: the English pattern has %d arguments, the translation uses %d", key, len(ev), countArgs(tv))
		}
		return nil
	}
	norm := func(vs []string) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v[len(v)-1:]
		}
		return out
	}
	if countArgs(tv) != len(ev) {
		return fmt.Errorf("%q: English takes %d arguments, the translation %d", key, len(ev), countArgs(tv))
	}
	if !hasIndexes(tv) && !slices.Equal(norm(ev), norm(tv)) {
		return fmt.Errorf("%q: English takes %v, the translation %v", key, ev, tv)
	}
	return nil
}

var indexRE = regexp.MustCompile(`^%\[(\d+)\]`)

func hasIndexes(vs []string) bool {
	for _, v := range vs {
		if indexRE.MatchString(v) {
			return true
		}
	}
	return false
}

// countArgs counts the distinct arguments verbs refer to.
func countArgs(vs []string) int {
	if !hasIndexes(vs) {
		return len(vs)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if m := indexRE.FindStringSubmatch(v); m != nil {
			seen[m[1]] = true
		}
	}
	return len(seen)
}

// compilePattern turns an English message with verbs into a regular
// expression capturing each argument.
func compilePattern(msg string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range verbRE.FindAllStringIndex(msg, -1) {
		b.WriteString(regexp.QuoteMeta(msg[last:loc[0]]))
		v := msg[loc[0]:loc[1]]
		switch v[len(v)-1] {
		case '%':
			b.WriteString("%")
		case 'd':
			b.WriteString(`(-?\d+)`)
		case 'q':
			b.WriteString(`("(?:[^"\\]|\\.)*")`)
		default:
			b.WriteString(`(.+?)`)
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(msg[last:]))
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Keys lists every key, sorted.
func (c *Catalog) Keys() []string {
	out := make([]string, 0, len(c.msgs[EN]))
	for k := range c.msgs[EN] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Has tells whether key is in the catalogs.
func (c *Catalog) Has(key string) bool {
	_, ok := c.msgs[EN][key]
	return ok
}

// T returns the message key in language l, formatted with args. A key no
// catalog holds comes back marked with MissingPrefix, so that a typo shows
// on the page and in tests instead of passing as English.
func (c *Catalog) T(l Lang, key string, args ...any) string {
	m, ok := c.msgs[l]
	if !ok {
		m = c.msgs[Default]
	}
	msg, ok := m[key]
	if !ok {
		return MissingPrefix + key + "⟧"
	}
	if len(args) == 0 && !strings.Contains(msg, "%") {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Message translates a message of the application layer (an error's
// message or a field's problem), which is English. Arguments captured from
// the English text are translated themselves when they are a known word
// (a trip state, a role); a message no pattern matches comes back as it
// is, and known reports false.
func (c *Catalog) Message(l Lang, english string) (msg string, known bool) {
	for _, p := range c.patterns {
		m := p.re.FindStringSubmatch(english)
		if m == nil {
			continue
		}
		if l == EN {
			return english, true
		}
		args := make([]any, len(m)-1)
		for i, a := range m[1:] {
			args[i] = c.Word(l, a)
		}
		return fmt.Sprintf(c.msgs[l][p.key], args...), true
	}
	return english, false
}

// wordDomains are the key prefixes of words an argument may be, in the
// order they are tried.
var wordDomains = []string{"state.", "role.", "orgkind.", "thing.", "verb."}

// Word translates one word of the domain vocabulary (a trip state, a role,
// an organisation kind, a thing the application names, a verb of the trip
// machine) and leaves anything else as it is.
func (c *Catalog) Word(l Lang, w string) string {
	for _, d := range wordDomains {
		if msg, ok := c.msgs[l][d+w]; ok {
			return msg
		}
	}
	return w
}

// Match picks the language for an Accept-Language header.
func Match(acceptLanguage string) Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return Langs[idx]
}

// matcher knows that zh, zh-CN, zh-SG and zh-Hans all read Simplified
// Chinese; zh-TW and zh-HK read Traditional, which Corridor does not have,
// and the matcher still prefers Simplified Chinese to English for them.
var matcher = language.NewMatcher([]language.Tag{
	language.English, language.SimplifiedChinese, language.Korean,
})

// Parse reads a language name as the switch and cookies write it; it
// accepts any tag that matches one of Langs.
func Parse(s string) (Lang, bool) {
	for _, l := range Langs {
		if strings.EqualFold(s, string(l)) {
			return l, true
		}
	}
	switch strings.ToLower(s) {
	case "zh", "zh-cn", "zh-sg":
		return ZH, true
	case "ko-kr":
		return KO, true
	case "en-us", "en-gb":
		return EN, true
	}
	return "", false
}
