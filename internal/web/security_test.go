package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/qr"
	"github.com/corridorlane/corridor/internal/trip"
)

func TestSecurityHeaders(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	for _, path := range []string{"/login", "/api/v1/session", "/static/style.css", "/no-such-page"} {
		res, _ := en.anonymous().get(path)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	// No page carries an inline script or style, which the CSP would block.
	res, body := en.as("sponsor").get("/trips/new")
	if res.StatusCode != 200 || strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "onclick") {
		t.Error("a page has inline script or style")
	}
}

func TestSessionCookieAndRotation(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	c := en.anonymous()
	res, body := c.get("/login")
	m := csrfInputRE.FindStringSubmatch(body)
	if res.StatusCode != 200 || m == nil {
		t.Fatal("no CSRF token on the sign-in form")
	}
	// A session id planted before sign-in must not survive it.
	planted := en.secret["sponsor"]
	u, _ := url.Parse(en.http.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieSession, Value: planted, Path: "/"}})
	// The form token was bound to the anonymous cookie; with a session
	// cookie present it binds to that, so fetch the form again.
	_, body = c.get("/login")
	m = csrfInputRE.FindStringSubmatch(body)
	res, _ = c.form("/login", url.Values{"email": {"reviewer@corridor.example"}, "password": {password}, "csrf": {m[1]}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	var set *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == cookieSession {
			set = ck
		}
	}
	if set == nil || set.Value == planted || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", set)
	}
	if _, err := en.app.Authenticate(bg, planted); err == nil {
		t.Error("the session present before sign-in still works")
	}
	// Signing out ends the session.
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieSession, Value: set.Value, Path: "/"}})
	c.csrf = en.srv.csrfToken(&reqState{binding: "s:" + set.Value})
	if res, _ := c.form("/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	if _, err := en.app.Authenticate(bg, set.Value); err == nil {
		t.Error("the session survives sign-out")
	}
}

func TestSecureCookiesOverTLS(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	cfg := en.srv.cfg
	cfg.SecureCookies = true
	cfg.Registerer, cfg.Gatherer = nil, nil
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	srv.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-"+cookieAnon || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Errorf("cookies over TLS: %+v", cookies)
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestCSRF(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	f := en.tripIn(trip.Submitted)
	reviewer := en.as("reviewer")
	good := reviewer.csrf

	// A form without the token, or with another session's, is refused
	// and changes nothing.
	reviewer.csrf = ""
	if res, _ := reviewer.form("/trips/"+f.tripID+"/actions/approve", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("no token: %d", res.StatusCode)
	}
	reviewer.csrf = en.as("sponsor").csrf
	if res, _ := reviewer.form("/trips/"+f.tripID+"/actions/approve", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: %d", res.StatusCode)
	}
	// The API with the session cookie needs the header too.
	reviewer.csrf = ""
	if code, _ := reviewer.api("POST", "/api/v1/trips/"+f.tripID+"/approve", nil, nil); code != http.StatusForbidden {
		t.Errorf("API without the header: %d", code)
	}
	d, err := en.app.GetTrip(bg, en.p("reviewer"), f.tripID)
	if err != nil || d.State != trip.Submitted {
		t.Fatalf("a refused request changed the trip: %v %v", d.State, err)
	}
	// A request marked cross-site by the browser is refused even with the
	// right token.
	req, _ := http.NewRequest(http.MethodPost, en.http.URL+"/trips/"+f.tripID+"/actions/approve",
		strings.NewReader(url.Values{"csrf": {good}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := reviewer.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d", res.StatusCode)
	}
	// With the token, it works; a bearer token needs none.
	reviewer.csrf = good
	if res, _ := reviewer.form("/trips/"+f.tripID+"/actions/approve", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("with the token: %d", res.StatusCode)
	}
	if code, body := en.bearer().api("GET", "/api/v1/session", nil, nil); code != 200 || strings.Contains(body, "csrf_token") {
		t.Errorf("bearer session: %d %s", code, body)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	c := en.anonymous()
	for i := 0; i < 5; i++ {
		if code, _ := c.api("POST", "/api/v1/session", LoginJSON{Email: "sponsor@corridor.example", Password: "guess number " + itoa(i)}, nil); code != 401 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	res, body := c.do("POST", "/api/v1/session", "application/json", `{"email": "sponsor@corridor.example", "password": "`+password+`"}`)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || decodeErr(t, body).Code != "rate_limited" {
		t.Errorf("sixth attempt: %d %s", res.StatusCode, body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	if res, body := en.anonymous().get("/healthz"); res.StatusCode != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", res.StatusCode, body)
	}
	if res, _ := en.anonymous().get("/readyz"); res.StatusCode != 200 {
		t.Errorf("readyz: %d", res.StatusCode)
	}
	en.srv.cfg.Ready = func(context.Context) error { return errors.New("database unreachable") }
	if res, body := en.anonymous().get("/readyz"); res.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "database") {
		t.Errorf("readyz when down: %d %q", res.StatusCode, body)
	}
}

// boom fails when a template runs it.
type boom struct{}

func (boom) Fail() (string, error) { return "", errors.New("the template broke half-way") }

func TestTemplateFailureIsACleanErrorPage(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	base, err := en.srv.pages["error"].Clone()
	if err != nil {
		t.Fatal(err)
	}
	broken := template.Must(base.Parse(`{{define "content"}}<p>half a page</p>{{.Data.Fail}}{{end}}`))
	en.srv.pages["broken"] = broken
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	en.srv.render(rec, req, http.StatusOK, "broken", en.srv.newView(rec, req, "title.home", boom{}))
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || strings.Contains(body, "half a page") || !strings.Contains(body, "</html>") {
		t.Errorf("status %d, body %q", rec.Code, body)
	}
}

func TestMetricsAndLogs(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	f := en.tripIn(trip.Approved)
	traveller := en.anonymous().withAnon()
	// A traveller opens their link: the path holds the link's secret.
	traveller.form("/t/"+f.link, url.Values{"passport_number": {passport}})
	en.as("reviewer").get("/trips/by-reference?reference=" + f.ref)
	approval, _ := en.credentialsOrApproval(f.tripID)
	en.as("border_officer").api("POST", "/api/v1/verify", VerifyInputJSON{Credentials: []string{approval}}, nil)
	en.as("health_authority").api("POST", "/api/v1/trips/"+f.tripID+"/start-monitoring", nil, nil)

	_, metrics := en.anonymous().get("/metrics")
	for _, want := range []string{
		`corridor_http_requests_total{code="303",method="POST",route="POST /t/{token}"} 1`,
		`corridor_http_request_duration_seconds_count{method="GET",route="GET /trips/by-reference"}`,
		`corridor_verifications_total{outcome="refused"} 1`,
		`corridor_credentials_verified_total{kind="approval",result="valid"}`,
		`corridor_trip_transitions_total{action="start_monitoring"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	logs := en.logs.String()
	if !strings.Contains(logs, `"route":"POST /t/{token}"`) || !strings.Contains(logs, `"route":"GET /trips/by-reference"`) {
		t.Errorf("the log does not name routes by pattern:\n%.2000s", logs)
	}
	for _, secret := range []string{f.link, passport, f.ref, "Zhang", "zhang.wei@example.cn", "reviewer@corridor.example", en.secret["reviewer"]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds personal data or a secret: %q", secret)
		}
	}
}

// credentialsOrApproval returns the trip's entry approval text.
func (en *env) credentialsOrApproval(id string) (string, error) {
	d, err := en.app.GetTrip(bg, en.p("reviewer"), id)
	if err != nil {
		return "", err
	}
	return d.ApprovalHC1, nil
}

// TestVerifyAPhoto uploads a photo of a QR code to the verifier page.
func TestVerifyAPhoto(t *testing.T) {
	en := newEnv(t, quickPolicy(t))
	f := en.tripIn(trip.Cleared)
	approval, test := en.credentials(f.tripID)
	png, err := qr.EncodePNG(approval)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	c := en.as("border_officer")
	_ = mw.WriteField("csrf", c.csrf)
	_ = mw.WriteField("test", test)
	fw, _ := mw.CreateFormFile("approval_photo", "approval.png")
	_, _ = fw.Write(png)
	_ = mw.Close()
	res, body := c.do(http.MethodPost, "/verify", mw.FormDataContentType(), buf.String())
	if res.StatusCode != 200 || !strings.Contains(body, `class="verdict yes"`) {
		t.Fatalf("verifying a photo: %d\n%.3000s", res.StatusCode, body)
	}
}
