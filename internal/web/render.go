package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/qr"
	"github.com/corridorlane/corridor/internal/trip"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// layoutFiles are parsed into every page.
var layoutFiles = []string{"templates/layout.html", "templates/parts.html"}

// parsePages parses each page template with the layout, so that every
// page defines its own "content" without clashing with the others.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, layoutFiles...)
	if err != nil {
		return nil, fmt.Errorf("parsing the layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		if slices.Contains(layoutFiles, f) {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, f); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", f, err)
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return pages, nil
}

var templateFuncs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	},
	"has":     func(list []string, s string) bool { return slices.Contains(list, s) },
	"list":    func(s ...string) []string { return s },
	"stateIn": func(list []trip.State, s trip.State) bool { return slices.Contains(list, s) },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// view is what every page template receives. Its methods are the
// templates' vocabulary: T for a sentence, Word for a state or role, Date
// and Time for times, Err for a field's problem.
type view struct {
	s        *Server
	st       *reqState
	ctx      context.Context
	Lang     i18n.Lang
	Langs    []i18n.Lang
	Title    string // catalog key
	P        app.Principal
	SignedIn bool
	Path     string // for the language switch's return
	CSRF     string
	Flash    string // a catalog key, or ""
	// Problem is the form's error, translated; Fields the per-field ones,
	// keyed as the application names fields.
	Problem string
	Fields  map[string]string
	Form    url.Values
	Data    any
	Now     time.Time
	Nav     []navItem
}

type navItem struct {
	Href, Key string
	Active    bool
	also      []string // further paths under this item: pages reached from it
}

// T translates a catalog key.
func (v *view) T(key string, args ...any) string { return v.s.cat.T(v.Lang, key, args...) }

// Word translates a state, role, action or kind.
func (v *view) Word(w any) string { return v.s.cat.Word(v.Lang, fmt.Sprint(w)) }

// State names a trip state.
func (v *view) State(s trip.State) string { return v.T("state." + string(s)) }

// Msg translates a message of the application layer.
func (v *view) Msg(english string) string {
	m, known := v.s.cat.Message(v.Lang, english)
	if !known && english != "" && v.s.untranslated != nil {
		v.s.untranslated(v.Lang, english)
	}
	return m
}

// Date and Time print in UTC with the zone named, so officers in two
// countries read the same instant.
func (v *view) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}

func (v *view) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// Err is the translated problem of one field, or "".
func (v *view) Err(field string) string { return v.Fields[field] }

// Val is a submitted form value, to fill a form again after an error.
func (v *view) Val(field string) string { return v.Form.Get(field) }

// Can tells whether the viewer may take a use case at all.
func (v *view) Can(uc string) bool { return app.Can(v.P, app.UseCase(uc)) }

// HasRole tells whether the viewer holds a role in the current membership.
func (v *view) HasRole(r string) bool { return v.P.Has(trip.Role(r)) }

// QR draws text as a QR code, for an <img src>.
func (v *view) QR(text string) (template.URL, error) {
	png, err := qr.EncodePNG(text)
	if err != nil {
		return "", fmt.Errorf("drawing a QR code: %w", err)
	}
	// The value is a PNG we just made, not input: safe as a URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// LangName is a language's own name, for the switch.
func (v *view) LangName(l i18n.Lang) string { return v.s.cat.T(l, "lang.self") }

// LangHref is the language switch's link for l.
func (v *view) LangHref(l i18n.Lang) string {
	return "/lang/" + string(l) + "?next=" + url.QueryEscape(v.Path)
}

// newView prepares a page's view for the request.
func (s *Server) newView(w http.ResponseWriter, r *http.Request, title string, data any) *view {
	st := stateOf(r)
	s.ensureBinding(w, st)
	v := &view{s: s, st: st, ctx: r.Context(), Lang: st.lang, Langs: i18n.Langs, Title: title, P: st.p, SignedIn: st.p.Kind == app.KindUser,
		Path: r.URL.Path, CSRF: s.csrfToken(st), Data: data, Now: s.now(), Fields: map[string]string{}, Form: url.Values{}}
	if q := r.URL.RawQuery; q != "" && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/t/") {
		v.Path += "?" + q
	}
	if done := r.URL.Query().Get("done"); done != "" && s.cat.Has("flash."+done) {
		v.Flash = "flash." + done
	}
	v.Nav = s.nav(v)
	return v
}

// nav lists what the viewer can reach, from what the application allows.
func (s *Server) nav(v *view) []navItem {
	if v.P.Kind != app.KindUser {
		return nil
	}
	var items []navItem
	add := func(href, key string, ok bool) {
		if ok {
			items = append(items, navItem{Href: href, Key: key})
		}
	}
	p := v.P
	add("/trips", "nav.trips", app.Can(p, app.UCTripList))
	add("/trips/new", "nav.new_trip", app.Can(p, app.UCTripCreate))
	add("/tests/new", "nav.record_test", app.Can(p, app.UCTestRecord))
	add("/verify", "nav.verify", s.mayVerify(p) == nil)
	add("/arrivals", "nav.arrivals", app.Can(p, app.UCTripArrive) || app.Can(p, app.UCTripHold))
	add("/alerts", "nav.alerts", app.Can(p, app.UCAlerts))
	add("/joint", "nav.joint", app.Can(p, app.UCLaneSuspend))
	add("/joint/ledger", "nav.ledger", app.Can(p, app.UCLedger))
	add("/joint/peers", "nav.federation", app.Can(p, app.UCFederation))
	if n := len(items); n > 0 && items[n-1].Href == "/joint/peers" {
		items[n-1].also = []string{"/joint/dead-letters", "/joint/contacts"}
	}
	add("/policy", "nav.policy", true)
	add("/admin", "nav.admin", app.Can(p, app.UCOrgList))
	add("/account", "nav.account", true)
	// The item whose link is the longest prefix of the page's path is the
	// current one: /trips/new is "new application", not "trips".
	path, _, _ := strings.Cut(v.Path, "?")
	best := -1
	bestLen := 0
	for i, it := range items {
		for _, href := range append([]string{it.Href}, it.also...) {
			if (path == href || strings.HasPrefix(path, href+"/")) && len(href) > bestLen {
				best, bestLen = i, len(href)
			}
		}
	}
	if best >= 0 {
		items[best].Active = true
	}
	return items
}

// setError puts an application error on the view: the form's problem and
// the fields', translated.
func (v *view) setError(err error) {
	_, body := v.s.publicError(v.ctx, err)
	v.Problem = v.Msg(body.Error)
	for k, msg := range body.Fields {
		v.Fields[k] = v.Msg(msg)
	}
}

// render writes a page: the template runs into a buffer, and only a
// complete page is sent, so a template failure is a clean error page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := s.pages[name]
	if !ok {
		s.log.ErrorContext(r.Context(), "no such page template", "template", name)
		s.renderError(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering a page", "template", name, "err", err)
		if name == "error" {
			writePlainError(w)
			return
		}
		s.renderError(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(v.Lang))
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// renderStatus renders a page with no particular data.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	s.render(w, r, status, name, s.newView(w, r, "title."+name, data))
}

// renderError renders the error page with a catalog key.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	v := s.newView(w, r, "title.error", nil)
	v.Problem = v.T(key)
	s.render(w, r, status, "error", v)
}

// pageError renders an application error as the error page, with the
// status the API would answer.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.publicError(r.Context(), err)
	if status == http.StatusUnauthorized {
		s.needSignIn(w, r)
		return
	}
	v := s.newView(w, r, "title.error", nil)
	if status >= 500 {
		v.Problem = v.T("error.internal")
	} else {
		v.Problem = v.Msg(body.Error)
	}
	s.render(w, r, status, "error", v)
}

func writePlainError(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("internal error\n"))
}

// E is a field's problem as markup to place beside its input.
func (v *view) E(field string) template.HTML {
	msg := v.Fields[field]
	if msg == "" {
		return ""
	}
	return template.HTML(`<span class="field-error">` + template.HTMLEscapeString(msg) + `</span>`)
}

var rowIndexRE = regexp.MustCompile(`\[(\d+)\]`)

// FieldLabel names a field as the form labels it: "itinerary[2].to_date"
// reads "Itinerary, stop 3: to date".
func (v *view) FieldLabel(field string) string {
	key := "field." + rowIndexRE.ReplaceAllString(field, "")
	label := field
	if v.s.cat.Has(key) {
		label = v.T(key)
	}
	if m := rowIndexRE.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[1])
		label = v.T("field.row", n+1) + " · " + label
	}
	return label
}

// Purpose names a travel purpose; policies may add purposes the catalog
// does not know, which are shown as written.
func (v *view) Purpose(p string) string {
	if p == "" {
		return "—"
	}
	if v.s.cat.Has("purpose." + p) {
		return v.T("purpose." + p)
	}
	return p
}

// Celsius prints a temperature kept in tenths of a degree.
func (v *view) Celsius(deci int) string {
	if deci == 0 {
		return "—"
	}
	return fmt.Sprintf("%d.%d °C", deci/10, deci%10)
}

// Symptoms translates a comma-separated list of symptom codes.
func (v *view) Symptoms(codes string) string {
	if codes == "" {
		return ""
	}
	parts := strings.Split(codes, ",")
	for i, c := range parts {
		if v.s.cat.Has("symptom." + c) {
			parts[i] = v.T("symptom." + c)
		}
	}
	return strings.Join(parts, v.T("list.sep"))
}
