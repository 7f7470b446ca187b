package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/corridorlane/corridor/internal/i18n"
)

// The browser test drives Debian's Chromium through one whole trip: a
// sponsor files, a reviewer approves, the traveller opens the link and
// declares, a lab posts its results with an API token, the border page
// verifies the QR codes, the arrival desk holds and releases, and the
// trip completes. It runs in English, Chinese and Korean, and saves
// screenshots of the key pages.
//
// It is skipped when Chromium is absent, unless CORRIDOR_CI is set: a
// green CI run must have driven a real browser.

// chromiumPath finds the browser: CORRIDOR_CHROMIUM, else Debian's.
func chromiumPath(t *testing.T) string {
	p := os.Getenv("CORRIDOR_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("CORRIDOR_CI") != "" {
			t.Fatalf("CORRIDOR_CI is set but Chromium is missing at %s: install it (apt-get install -y chromium)", p)
		}
		t.Skipf("Chromium not found at %s; set CORRIDOR_CHROMIUM or install it", p)
	}
	return p
}

// screenshotDir is where screenshots go: CORRIDOR_SCREENSHOTS, else the
// repository's docs/screenshots, which the README shows.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("CORRIDOR_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "docs", "screenshots")
}

// browser is one person's browser: a context of its own, so cookies are
// not shared with the other actors.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	lang i18n.Lang
	dir  string
}

func startBrowser(t *testing.T) context.Context {
	// chromedp's defaults keep background tabs rendering (each actor's tab
	// is one); the flags the project asks for come on top.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	root, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	return root
}

func (en *env) browserFor(t *testing.T, root context.Context, lang i18n.Lang) *browser {
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as the context of
	// that run: it must not be one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	b := &browser{t: t, ctx: ctx, base: en.http.URL, lang: lang, dir: screenshotDir(t)}
	b.open("/lang/" + string(lang) + "?next=/login")
	return b
}

// run runs steps with a deadline, failing the test with the page's
// location and problem on error.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
		b.t.Fatalf("%s (%s): %v\npage %s:\n%s", what, b.lang, err, loc, text)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.run("opening "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// submit clicks a button that submits a form and waits for the next page.
func (b *browser) submit(sel string) {
	b.t.Helper()
	b.run("submitting "+sel,
		chromedp.Evaluate[chromedp.Void](`window.__corridorOld = true`),
		chromedp.Click(chromedp.CSS(sel)),
	)
	// The old page marked itself; the next one has no mark. Evaluating
	// while the navigation replaces the page fails, so keep asking.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__corridorOld && document.readyState === "complete"`))
		cancel()
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("submitting %s (%s): no new page came (%v)", sel, b.lang, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	b.noMissingKeys()
}

// fill sets form fields by name.
func (b *browser) fill(fields ...string) {
	b.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`[name=%q]`, fields[i])), fields[i+1]))
	}
	b.run("filling a form", steps...)
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (b *browser) location() string {
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// expect checks that the page shows the catalog message key in the
// browser's language.
func (b *browser) expect(sel, key string, args ...any) {
	b.t.Helper()
	want := catalog(b.t).T(b.lang, key, args...)
	if got := b.text(sel); !strings.Contains(got, want) {
		b.t.Fatalf("%s: %s shows %q, want %q (%s)", b.lang, sel, got, want, key)
	}
}

// noMissingKeys fails on a page that shows a key no catalog holds.
func (b *browser) noMissingKeys() {
	b.t.Helper()
	body, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		b.t.Fatal(err)
	}
	if strings.Contains(body, i18n.MissingPrefix) {
		i := strings.Index(body, i18n.MissingPrefix)
		b.t.Fatalf("%s: the page at %s shows a missing key: %s", b.lang, b.location(), body[i:min(len(body), i+80)])
	}
}

// shot saves a full-page screenshot as <lang>-<name>.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	// A tab in the background is not composited, and a screenshot of it
	// waits forever: bring it to the front first.
	front := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, cdppage.BringToFront, cdp.Empty{})
		return chromedp.Void{}, err
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, front); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	lang := strings.ToLower(strings.SplitN(string(b.lang), "-", 2)[0])
	if err := os.WriteFile(filepath.Join(b.dir, lang+"-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// phone narrows the window to a phone's.
func (b *browser) phone() {
	b.run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
}

func (b *browser) login(name string) {
	b.t.Helper()
	b.open("/login")
	b.fill("email", name+"@corridor.example", "password", password)
	b.submit(`form[action="/login"] button[type=submit]`)
	if strings.HasSuffix(b.location(), "/login") {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s could not sign in: %s", name, text)
	}
}

var catalogCache *i18n.Catalog

func catalog(t testing.TB) *i18n.Catalog {
	if catalogCache == nil {
		c, err := i18n.Load()
		if err != nil {
			t.Fatal(err)
		}
		catalogCache = c
	}
	return catalogCache
}

func TestBrowserWholeTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is not short")
	}
	root := startBrowser(t)
	for _, lang := range i18n.Langs {
		t.Run(string(lang), func(t *testing.T) {
			en := newEnv(t, testPolicy(t))
			en.wholeTrip(t, root, lang)
		})
	}
}

func (en *env) wholeTrip(t *testing.T, root context.Context, lang i18n.Lang) {
	full := lang == i18n.EN // the English run shows every page
	day := func(d int) string { return start.AddDate(0, 0, d).Format(time.DateOnly) }
	dep, ret := day(3), day(12)

	// The sponsor files the application in the browser.
	sponsor := en.browserFor(t, root, lang)
	if full {
		sponsor.shot("login")
	}
	sponsor.login("sponsor")
	sponsor.open("/trips/new")
	sponsor.fill(
		"lane", "CN-KR", "region", "KR", "purpose", "engineering",
		"traveller.family_name", "Zhang", "traveller.given_name", "Wei", "traveller.date_of_birth", "1985-03-14",
		"traveller.sex", "M", "traveller.nationality", "CN", "traveller.passport_country", "CN",
		"traveller.passport_number", "E12345678", "traveller.email", "zhang.wei@example.cn",
		"host.name", "Kim Min-jun", "host.phone", "+82 2 555 0100",
		"departure_date", dep, "return_date", ret,
		"itinerary[0].kind", "transport", "itinerary[0].site", "Incheon Airport to Cheonan by company car",
		"itinerary[0].from_date", dep, "itinerary[0].to_date", dep,
		"itinerary[1].kind", "lodging", "itinerary[1].site", "Shilla Stay Cheonan", "itinerary[1].address", "Seobuk-gu, Cheonan",
		"itinerary[1].from_date", dep, "itinerary[1].to_date", ret,
		"itinerary[2].kind", "work_site", "itinerary[2].site", "Samsung Display Asan Campus",
		"itinerary[2].from_date", dep, "itinerary[2].to_date", ret,
	)
	sponsor.shot("sponsor-new-trip")
	sponsor.submit(`form.trip-form > button[type=submit]`)
	sponsor.expect(".flash", "flash.created")
	tripID := strings.TrimPrefix(strings.SplitN(sponsor.location(), "?", 2)[0], en.http.URL+"/trips/")
	sponsor.submit(`form.action-submit button`)
	sponsor.expect(".flash", "flash.submit")
	sponsor.submit(`form[action$="/traveller-link"] button`)
	link := sponsor.text("#traveller-link")
	if !strings.HasPrefix(link, "http://corridor.test/t/tl_") {
		t.Fatalf("traveller link %q", link)
	}
	linkPath := strings.TrimPrefix(link, "http://corridor.test")
	if full {
		sponsor.shot("sponsor-trip")
		sponsor.open("/trips")
		sponsor.shot("sponsor-trips")
	}

	// The reviewer works the queue and approves.
	reviewer := en.browserFor(t, root, lang)
	reviewer.login("reviewer")
	reviewer.open("/trips?state=submitted")
	reviewer.shot("reviewer-queue")
	reviewer.submit(`table.list a[href="/trips/` + tripID + `"]`)
	reviewer.submit(`form.action-approve button`)
	reviewer.expect(".flash", "flash.approve")
	reviewer.shot("reviewer-approved")
	reviewer.open("/trips/" + tripID + "/letter")
	reviewer.shot("letter")

	// The traveller opens the personal link and declares, two days running.
	traveller := en.browserFor(t, root, lang)
	traveller.phone()
	// A traveller's sign-in lasts hours, not days: each day they open
	// the link again and give the passport number, typed as people do.
	signIn := func() {
		traveller.open(linkPath)
		traveller.fill("passport_number", "e1234 5678")
		traveller.submit(`form button[type=submit]`)
	}
	signIn()
	traveller.expect(".status-line", "state.approved")
	traveller.shot("traveller-approved")
	for d := 0; d < 3; d++ {
		if d > 0 {
			en.clock.Add(24 * time.Hour)
			signIn()
		}
		traveller.fill("temperature", "36.6")
		traveller.submit(`form[action="/traveller/declarations"] button[type=submit]`)
		traveller.expect(".flash", "flash.declared")
	}
	traveller.expect(".status-line", "state.pre_departure")

	// The lab posts the pre-departure test with its API token: the trip
	// is cleared.
	ref := en.reference(tripID)
	var rec TestRecordedJSON
	code, body := en.bearer().api(http.MethodPost, "/api/v1/tests", TestInputJSON{Reference: ref, PassportNumber: "E12345678",
		TestType: "NAAT", TestName: "Allplex SARS-CoV-2 Assay", SampledAt: en.clock.Now().Add(-2 * time.Hour).Format(time.RFC3339),
		Result: "negative", Facility: "Beijing Tiantan Hospital"}, &rec)
	if code != http.StatusCreated || rec.Trip.State != "cleared" {
		t.Fatalf("lab result: %d %s", code, body)
	}
	traveller.open("/traveller")
	traveller.expect(".status-line", "state.cleared")
	traveller.shot("traveller")

	// Departure day: the border officer verifies the QR texts, pasted.
	en.clock.Add(24 * time.Hour)
	approvalHC1, testHC1 := en.credentials(tripID)
	border := en.browserFor(t, root, lang)
	border.login("border_officer")
	if full {
		border.open("/verify")
		border.fill("test", testHC1)
		border.submit(`form[action="/verify"] button[type=submit]`)
		border.expect(".verdict .big", "verdict.no.entry")
		border.expect(".verdict .reasons", "verdict.reason.no_approval")
		border.shot("border-refused")
	}
	border.open("/verify")
	border.fill("approval", approvalHC1, "test", testHC1, "passport_number", "E12345678")
	border.submit(`form[action="/verify"] button[type=submit]`)
	border.expect(".verdict .big", "verdict.yes.entry")
	border.shot("border-verdict")
	border.open("/trips/" + tripID)
	border.fill("flight", "OZ324", "seat", "32A")
	border.submit(`form.action-depart button`)
	border.expect(".flash", "flash.depart")

	// The arrival desk finds the traveller by the approval's QR, records
	// the arrival and holds for the arrival test.
	en.clock.Add(3 * time.Hour)
	desk := en.browserFor(t, root, lang)
	desk.login("arrival_officer")
	desk.open("/arrivals")
	if full {
		desk.shot("arrival-desk")
	}
	desk.fill("qr", approvalHC1)
	desk.submit(`form[action="/arrivals"] button[type=submit]`)
	desk.submit(`form.action-arrive button`)
	desk.expect(".flash", "flash.arrive")
	desk.submit(`form.action-hold button`)
	desk.expect(".flash", "flash.hold")
	desk.shot("arrival-held")
	code, body = en.bearer().api(http.MethodPost, "/api/v1/tests", TestInputJSON{Reference: ref, PassportNumber: "E12345678",
		TestType: "NAAT", TestName: "Allplex SARS-CoV-2 Assay", SampledAt: en.clock.Now().Add(-30 * time.Minute).Format(time.RFC3339),
		Result: "negative", Facility: "Incheon Airport Testing Centre"}, &rec)
	if code != http.StatusCreated || rec.Trip.State != "arrival_hold" {
		t.Fatalf("arrival test: %d %s", code, body)
	}
	// Too early: the hold lasts 48 hours, and the page says so.
	desk.submit(`form.action-release button`)
	if got := desk.text(".problem"); !strings.Contains(got, catalog(t).T(lang, "error.heading")) && got == "" {
		t.Fatalf("an early release was not refused")
	}
	en.clock.Add(49 * time.Hour)
	desk.login("arrival_officer") // two days on, the session has ended
	desk.open("/trips/" + tripID)
	desk.submit(`form.action-release button`)
	desk.expect(".flash", "flash.release")
	desk.expect("h1 .state", "state.monitoring")

	// Post-arrival monitoring: the traveller declares daily; in English a
	// day is missed, the health monitor sees the alert and acknowledges it.
	for d := 0; d < 4; d++ {
		if d > 0 {
			en.clock.Add(24 * time.Hour)
		}
		if full && d == 1 {
			continue
		}
		signIn()
		traveller.fill("temperature", "36.5")
		traveller.submit(`form[action="/traveller/declarations"] button[type=submit]`)
		traveller.expect(".flash", "flash.declared")
	}
	if full {
		if _, err := en.app.RaiseAlerts(bg, en.clock.Now()); err != nil {
			t.Fatal(err)
		}
		monitor := en.browserFor(t, root, lang)
		monitor.login("health_monitor")
		monitor.open("/alerts")
		monitor.expect("table.list", "alert.missed_day")
		monitor.shot("monitor-alerts")
		monitor.submit(`table.list form button`)
		monitor.expect(".flash", "flash.acknowledged")
	}
	en.clock.Add(24 * time.Hour)
	rep, err := en.app.CompleteDueMonitoring(bg, en.clock.Now())
	if err != nil || rep.Done != 1 {
		t.Fatalf("completing monitoring: %+v %v", rep, err)
	}
	signIn()
	traveller.expect(".status-line", "state.completed")
	traveller.shot("traveller-completed")
}

// reference reads a trip's reference as the reviewer.
func (en *env) reference(id string) string {
	var tj TripJSON
	if code, body := en.as("reviewer").api(http.MethodGet, "/api/v1/trips/"+id, nil, &tj); code != http.StatusOK {
		en.t.Fatalf("reading the trip: %d %s", code, body)
	}
	return tj.Reference
}

// credentials returns the trip's entry approval and latest test, as the
// texts inside their QR codes.
func (en *env) credentials(id string) (approval, test string) {
	var tj TripJSON
	if code, body := en.as("reviewer").api(http.MethodGet, "/api/v1/trips/"+id, nil, &tj); code != http.StatusOK {
		en.t.Fatalf("reading the trip: %d %s", code, body)
	}
	if tj.Approval == nil || len(tj.Tests) == 0 {
		en.t.Fatalf("trip %s has no approval or no test", id)
	}
	return tj.Approval.HC1, tj.Tests[len(tj.Tests)-1].HC1
}
