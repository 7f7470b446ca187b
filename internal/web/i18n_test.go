package web

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/trip"
)

// TestEveryPageInEveryLanguage renders every page every role may see, in
// Chinese and Korean, and fails on a key no catalog holds or an
// application message no pattern translates.
func TestEveryPageInEveryLanguage(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	var mu sync.Mutex
	untranslated := map[string]bool{}
	en.srv.untranslated = func(l i18n.Lang, msg string) {
		mu.Lock()
		defer mu.Unlock()
		untranslated[string(l)+": "+msg] = true
	}
	table := permissionTable()
	pages := 0
	for _, lang := range []struct {
		accept string
		tag    i18n.Lang
	}{{"zh-CN,zh;q=0.9", i18n.ZH}, {"ko-KR", i18n.KO}} {
		for key, p := range table {
			pattern := strings.SplitN(key, "#", 2)[0]
			if !strings.HasPrefix(pattern, "GET /") || strings.HasPrefix(pattern, "GET /api/") {
				continue
			}
			var rt *route
			for _, r := range en.srv.routes {
				if r.method+" "+r.path == pattern {
					rt = r
				}
			}
			for _, r := range roles {
				if p.want(rt, r.name) != http.StatusOK {
					continue
				}
				f := &fixture{}
				if p.fix != nil {
					f = p.fix(en)
				}
				c := en.clientFor(r.name, f)
				c.lang = lang.accept
				path := p.path
				if path == "" {
					path = rt.path
				}
				res, body := c.get(en.fill(path, f))
				if res.StatusCode != http.StatusOK {
					t.Errorf("%s %s as %s: %d", lang.tag, path, r.name, res.StatusCode)
					continue
				}
				if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
					continue
				}
				pages++
				if !strings.Contains(body, `<html lang="`+string(lang.tag)+`">`) {
					t.Errorf("%s %s as %s: not rendered in %s", lang.tag, path, r.name, lang.tag)
				}
				if i := strings.Index(body, i18n.MissingPrefix); i >= 0 {
					t.Errorf("%s %s as %s: a missing key: %s", lang.tag, path, r.name, body[i:min(len(body), i+60)])
				}
			}
		}
		// Pages that show the application's refusals.
		c := en.as("sponsor")
		c.lang = lang.accept
		c.form("/trips/new", url.Values{"lane": {"XX-YY"}, "traveller.passport_number": {"E1"}, "traveller.email": {"nope"},
			"departure_date": {"soon"}, "itinerary[0].kind": {"tent"}, "itinerary[0].site": {"x"}})
		f := en.tripIn(trip.Submitted)
		c.form("/trips/"+f.tripID+"/actions/submit", nil)
		r := en.as("reviewer")
		r.lang = lang.accept
		r.form("/trips/"+f.tripID+"/actions/reject", url.Values{"reason": {""}})
		b := en.as("border_officer")
		b.lang = lang.accept
		b.form("/verify", url.Values{"approval": {"HC1:NOT-A-CREDENTIAL"}, "test": {"not even HC1"}})
		tr := en.traveller(nil)
		tr.lang = lang.accept
		tr.form("/traveller/declarations", url.Values{"temperature": {"51"}, "symptoms": {"hiccups"}})
	}
	if pages < 50 {
		t.Errorf("only %d pages rendered", pages)
	}
	var list []string
	for m := range untranslated {
		list = append(list, m)
	}
	sort.Strings(list)
	for _, m := range list {
		t.Errorf("shown untranslated: %s", m)
	}
}

// TestTemplatesHoldNoEnglish reads every template's literal text and the
// attributes people read (placeholder, title, alt, aria-label) and
// refuses words: every sentence must come from the catalogs. Codes that
// read the same in every language are allowed.
func TestTemplatesHoldNoEnglish(t *testing.T) {
	allowed := map[string]bool{"HC": true, "CN": true, "OZ": true, "LIS": true}
	actionRE := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	attrRE := regexp.MustCompile(`(?i)\b(placeholder|title|alt|aria-label)="([^"]*)"`)
	tagRE := regexp.MustCompile(`(?s)<[^>]*>`)
	entityRE := regexp.MustCompile(`&[a-z]+;`)
	wordRE := regexp.MustCompile(`[A-Za-z]{2,}`)
	files, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d templates", len(files))
	}
	for _, fi := range files {
		src, err := templateFS.ReadFile("templates/" + fi.Name())
		if err != nil {
			t.Fatal(err)
		}
		// Actions print catalog text or data; what is left is markup and
		// literal text.
		literal := actionRE.ReplaceAllString(string(src), "\x00")
		var visible []string
		for _, tag := range tagRE.FindAllString(literal, -1) {
			for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
				visible = append(visible, m[2])
			}
		}
		visible = append(visible, entityRE.ReplaceAllString(tagRE.ReplaceAllString(literal, " "), " "))
		for _, v := range visible {
			for _, w := range wordRE.FindAllString(v, -1) {
				if !allowed[w] {
					t.Errorf("%s: literal text %q should come from the catalog", fi.Name(), w)
				}
			}
		}
	}
}
