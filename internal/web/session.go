package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookies. The session cookie is HttpOnly and SameSite=Lax; over TLS it is
// Secure and carries the __Host- prefix, which browsers refuse to accept
// from a sub-domain or over plain HTTP, so no neighbour can plant one.
const (
	cookieSession   = "corridor_session"
	cookieTraveller = "corridor_traveller"
	cookieAnon      = "corridor_csrf"
	cookieLang      = "corridor_lang"
)

func (s *Server) cookieName(base string) string {
	if s.cfg.SecureCookies {
		return "__Host-" + base
	}
	return base
}

func (s *Server) sessionCookie() string   { return s.cookieName(cookieSession) }
func (s *Server) travellerCookie() string { return s.cookieName(cookieTraveller) }
func (s *Server) anonCookie() string      { return s.cookieName(cookieAnon) }

func (s *Server) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode}
	// Max-Age rather than Expires: it is counted from the node's clock,
	// so a browser with a wrong clock keeps the cookie as long as the
	// session lives.
	if !expires.IsZero() {
		c.MaxAge = int(expires.Sub(s.now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	http.SetCookie(w, c)
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// CSRF protection takes two layers. http.CrossOriginProtection refuses
// unsafe requests that browsers mark as cross-site (Sec-Fetch-Site, or an
// Origin that is not this host); it needs no state, but a browser that
// sends neither header passes it. So every form also carries a
// synchronizer token: an HMAC, under the node's CSRF key, of what the
// browser already holds secretly (its session cookie, or its traveller
// session cookie, or before sign-in a random anonymous cookie). Nothing
// is stored; the token changes whenever the session does, at sign-in
// included, and another site can neither read nor compute it.

// anonTTL bounds the anonymous cookie that login forms are bound to.
const anonTTL = 12 * time.Hour

func validAnon(v string) bool {
	if len(v) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// ensureBinding gives a browser with nothing to bind a form token to a
// fresh anonymous cookie; pages call it before rendering a form.
func (s *Server) ensureBinding(w http.ResponseWriter, st *reqState) {
	if st.binding != "" {
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(w, s.anonCookie(), v, s.now().Add(anonTTL))
	st.binding = "a:" + v
}

// csrfToken is the form token for the request's binding.
func (s *Server) csrfToken(st *reqState) string {
	if st.binding == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.cfg.CSRFKey)
	m.Write([]byte("corridor-csrf\x00"))
	m.Write([]byte(st.binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF checks the token of a form field "csrf" or of the
// X-CSRF-Token header.
func (s *Server) validCSRF(r *http.Request, st *reqState) bool {
	want := s.csrfToken(st)
	if want == "" {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && !st.api {
		got = formValue(r, "csrf")
	}
	return hmac.Equal([]byte(got), []byte(want))
}

// formValue reads one field of a urlencoded or multipart form; a body too
// large or malformed reads as no value.
func formValue(r *http.Request, key string) string {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/form-data") {
		if r.MultipartForm == nil {
			if err := r.ParseMultipartForm(maxPhotoBody); err != nil {
				return ""
			}
		}
	} else if r.PostForm == nil {
		if err := r.ParseForm(); err != nil {
			return ""
		}
	}
	return r.PostFormValue(key)
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// localPath keeps a redirect target on this server: a path starting with
// one slash and no backslash, so "//evil.example" and "/\evil" are refused.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}
