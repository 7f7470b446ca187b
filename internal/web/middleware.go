package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/i18n"
)

// reqState travels with a request: what the outer middleware set up and
// what the route's wrapper learned, read back for the log line and the
// metrics once the handler is done.
type reqState struct {
	id      string
	start   time.Time
	route   string // the route's pattern; "unmatched" until a route takes it
	lang    i18n.Lang
	api     bool
	p       app.Principal
	via     string // how the principal was proved: "session", "token", "traveller", ""
	binding string // what CSRF tokens are bound to
	// secret is the session (or traveller session) cookie's value, kept
	// for logout and for ending the old session at login.
	secret string
	// w lets the API's typed handlers set cookies and headers.
	w http.ResponseWriter
}

type stateKey struct{}

func stateOf(r *http.Request) *reqState { return stateFrom(r.Context()) }

// responseWriterOf is the writer of the request's answer, for the API's
// typed handlers that set a cookie or a header.
func responseWriterOf(r *http.Request) http.ResponseWriter { return stateOf(r).w }

func stateFrom(ctx context.Context) *reqState {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{route: "unmatched", lang: i18n.Default}
}

// recorder remembers the status and size written.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contentSecurityPolicy allows nothing from elsewhere and no inline
// script or style: the pages' one script and one style sheet are files of
// this server, and QR codes are data: URLs.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // for browsers that predate frame-ancestors
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// outer wraps every request: security headers, the request's state, the
// log line and the metrics, and a last guard against panics.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{id: requestID(), start: time.Now(), route: "unmatched", lang: s.language(r)}
		st.api = strings.HasPrefix(r.URL.Path, "/api/")
		rec := &recorder{ResponseWriter: w}
		securityHeaders(rec.Header())
		if s.cfg.SecureCookies {
			rec.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		ctx := context.WithValue(r.Context(), stateKey{}, st)
		r = r.WithContext(ctx)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "handler panicked", slog.String("request", st.id), slog.String("route", st.route),
					slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					s.internalError(rec, r)
				}
			}
			s.finish(ctx, rec, r, st)
		}()
		next.ServeHTTP(rec, r)
	})
}

// finish records the metrics and writes the log line. It logs the route's
// pattern, never the raw path (which may hold a traveller's link or an
// invitation), nor the query string (which may hold a reference).
func (s *Server) finish(ctx context.Context, rec *recorder, r *http.Request, st *reqState) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(st.start)
	s.metrics.request(r.Method, st.route, status, d)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if st.route == "GET /healthz" || st.route == "GET /readyz" || st.route == "GET /metrics" {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("request", st.id),
		slog.String("method", r.Method),
		slog.String("route", st.route),
		slog.Int("status", status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", d),
		slog.String("lang", string(st.lang)),
	}
	if st.p.Kind != "" {
		attrs = append(attrs, slog.Any("principal", st.p))
	}
	s.log.LogAttrs(ctx, level, "request", attrs...)
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// language picks the page language: the lang cookie set by the language
// switch, else the browser's Accept-Language.
func (s *Server) language(r *http.Request) i18n.Lang {
	if c, err := r.Cookie(cookieLang); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// clientIP is the address failed logins are counted against.
func (s *Server) clientIP(r *http.Request) string {
	if h := s.cfg.ClientIPHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			parts := strings.Split(v, ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Body limits. Forms and JSON are small; a photo of a QR code is the one
// large thing anyone sends.
const (
	maxJSONBody  = 256 << 10
	maxFormBody  = 256 << 10
	maxPhotoBody = 6 << 20
)

// handle registers a route with its wrapper: the route's pattern for logs
// and metrics, the body limit, the principal, CSRF, and access.
func (s *Server) handle(rt *route) (err error) {
	pattern := rt.path
	if rt.method != "" {
		pattern = rt.method + " " + rt.path
	}
	for _, other := range s.routes {
		if other.method == rt.method && other.path == rt.path {
			return fmt.Errorf("route %s is registered twice", pattern)
		}
	}
	s.routes = append(s.routes, rt)
	// ServeMux panics on a pattern that conflicts with another; that is
	// a mistake in the route table, reported as an error from New.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("route %s: %v", pattern, v)
		}
	}()
	limit := rt.maxBody
	if limit == 0 {
		limit = maxJSONBody
		if !rt.api {
			limit = maxFormBody
		}
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r)
		st.route = pattern
		st.api = rt.api
		st.w = w
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if unsafeMethod(r.Method) {
			if err := s.cop.Check(r); err != nil {
				s.crossOriginDenied(w, r)
				return
			}
		}
		s.authenticate(r, st, rt)
		switch rt.access {
		case accessUser:
			if st.p.Kind != app.KindUser && st.p.Kind != app.KindToken {
				s.needSignIn(w, r)
				return
			}
		case accessTraveller:
			if st.p.Kind != app.KindTraveller {
				s.needTravellerSignIn(w, r)
				return
			}
		}
		// Bearer tokens are not sent by browsers on their own, so a
		// request carrying one cannot be forged by another site.
		if unsafeMethod(r.Method) && rt.csrf && st.via != "token" && !s.validCSRF(r, st) {
			s.csrfFailed(w, r)
			return
		}
		rt.h(w, r)
	})
	return nil
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// authenticate finds who asks: an API token (API routes only), a session
// cookie, or a traveller's session cookie. A credential that does not
// authenticate leaves the request anonymous; the route decides whether
// that is enough.
func (s *Server) authenticate(r *http.Request, st *reqState, rt *route) {
	ctx := r.Context()
	if rt.api {
		if h := r.Header.Get("Authorization"); h != "" {
			st.via = "token" // even a wrong token: CSRF is not the question then
			scheme, tok, ok := strings.Cut(h, " ")
			if ok && strings.EqualFold(scheme, "Bearer") {
				if p, err := s.app.AuthenticateToken(ctx, strings.TrimSpace(tok)); err == nil {
					st.p = p
				}
			}
			return
		}
	}
	if c, err := r.Cookie(s.sessionCookie()); err == nil && c.Value != "" {
		st.secret, st.binding = c.Value, "s:"+c.Value
		if p, err := s.app.Authenticate(ctx, c.Value); err == nil {
			st.p, st.via = p, "session"
			return
		}
	}
	if c, err := r.Cookie(s.travellerCookie()); err == nil && c.Value != "" {
		if st.binding == "" {
			st.secret, st.binding = c.Value, "t:"+c.Value
		}
		if p, err := s.app.AuthenticateTraveller(ctx, c.Value); err == nil {
			st.p, st.via, st.secret, st.binding = p, "traveller", c.Value, "t:"+c.Value
			return
		}
	}
	if st.binding == "" {
		if c, err := r.Cookie(s.anonCookie()); err == nil && validAnon(c.Value) {
			st.binding = "a:" + c.Value
		}
	}
}

// Status answers shared by routes.

func (s *Server) needSignIn(w http.ResponseWriter, r *http.Request) {
	if stateOf(r).api {
		s.apiError(w, r, &app.Error{Code: app.CodeUnauthenticated, Msg: "sign in first, or send an API token"})
		return
	}
	next := r.URL.Path
	if r.Method != http.MethodGet {
		next = "/"
	}
	http.Redirect(w, r, "/login?next="+urlEscape(next), http.StatusSeeOther)
}

func (s *Server) needTravellerSignIn(w http.ResponseWriter, r *http.Request) {
	if stateOf(r).api {
		s.apiError(w, r, &app.Error{Code: app.CodeUnauthenticated, Msg: "open your personal link and give your passport number first"})
		return
	}
	s.renderStatus(w, r, http.StatusUnauthorized, "traveller_gone", nil)
}

func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	if stateOf(r).api {
		s.apiError(w, r, &app.Error{Code: app.CodeForbidden, Msg: "cross-origin requests are refused"})
		return
	}
	s.renderError(w, r, http.StatusForbidden, "error.cross_origin")
}

func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	if stateOf(r).api {
		s.apiError(w, r, &app.Error{Code: app.CodeForbidden, Msg: "the X-CSRF-Token header is missing or wrong: take it from GET /api/v1/session"})
		return
	}
	s.renderError(w, r, http.StatusForbidden, "error.csrf")
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request) {
	if stateOf(r).api {
		writeJSON(w, http.StatusInternalServerError, apiErrorBody{Error: "internal error", Code: string(app.CodeInternal)})
		return
	}
	s.renderError(w, r, http.StatusInternalServerError, "error.internal")
}

func itoa(n int) string { return strconv.Itoa(n) }
