// Package webtest drives Debian's Chromium for the browser tests of the
// web pages and of the demo: finding the browser (and failing, not
// skipping, under CORRIDOR_CI), one tab per person, forms, reading the
// page, checking its texts against the catalogs, and screenshots.
package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/corridorlane/corridor/internal/i18n"
)

// ChromiumPath finds the browser: CORRIDOR_CHROMIUM, else Debian's. It
// skips the test when there is none, unless CORRIDOR_CI is set: a green
// CI run must have driven a real browser.
func ChromiumPath(t testing.TB) string {
	t.Helper()
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

// ScreenshotDir is where screenshots go: CORRIDOR_SCREENSHOTS, else the
// repository's docs/screenshots, which the README shows.
func ScreenshotDir() string {
	if d := os.Getenv("CORRIDOR_SCREENSHOTS"); d != "" {
		return d
	}
	// This file is internal/web/webtest/webtest.go in the repository.
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("..", "..", "docs", "screenshots")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "screenshots")
}

// Start starts the browser for the test, stopped when it ends.
func Start(t testing.TB) context.Context {
	t.Helper()
	// chromedp's defaults keep background tabs rendering (each actor's tab
	// is one); the flags the project asks for come on top.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath(t)),
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

// Browser is one person's browser: a tab in a browser context of its
// own, so cookies are not shared with the other actors.
type Browser struct {
	T    testing.TB
	Ctx  context.Context
	Base string // the site's URL, e.g. http://127.0.0.1:8080
	Lang i18n.Lang
	Dir  string // where Shot saves
}

// NewTab opens a tab on base for a person reading lang.
func NewTab(t testing.TB, root context.Context, base string, lang i18n.Lang) *Browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as the context of
	// that run: it must not be one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return &Browser{T: t, Ctx: ctx, Base: base, Lang: lang, Dir: ScreenshotDir()}
}

// Run runs steps with a deadline, failing the test with the page's
// location and text on error.
func (b *Browser) Run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.Ctx, chromedp.Location())
		text, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
		b.T.Fatalf("%s (%s): %v\npage %s:\n%s", what, b.Lang, err, loc, text)
	}
}

// Open loads a path of the site.
func (b *Browser) Open(path string) {
	b.T.Helper()
	b.Run("opening "+path, chromedp.Navigate(b.Base+path), chromedp.WaitReady(chromedp.CSS("body")))
	b.NoMissingKeys()
}

// Submit clicks a button that submits a form and waits for the next page.
func (b *Browser) Submit(sel string) {
	b.T.Helper()
	b.Run("submitting "+sel,
		chromedp.Evaluate[chromedp.Void](`window.__corridorOld = true`),
		chromedp.Click(chromedp.CSS(sel)),
	)
	// The old page marked itself; the next one has no mark. Evaluating
	// while the navigation replaces the page fails, so keep asking.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, 2*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__corridorOld && document.readyState === "complete"`))
		cancel()
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			b.T.Fatalf("submitting %s (%s): no new page came (%v)", sel, b.Lang, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	b.NoMissingKeys()
}

// Fill sets form fields by name: name, value, name, value...
func (b *Browser) Fill(fields ...string) {
	b.T.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`[name=%q]`, fields[i])), fields[i+1]))
	}
	b.Run("filling a form", steps...)
}

// Text is the visible text of the first element sel matches.
func (b *Browser) Text(sel string) string {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.T.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// Eval runs a script that returns JSON text and decodes it into out.
func (b *Browser) Eval(script string, out any) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](script))
	if err != nil {
		b.T.Fatalf("evaluating a script (%s): %v", b.Lang, err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		b.T.Fatalf("the script's answer %.200q: %v", s, err)
	}
}

// Location is the tab's URL.
func (b *Browser) Location() string {
	b.T.Helper()
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		b.T.Fatal(err)
	}
	return loc
}

// Expect checks that sel shows the catalog message key in the tab's
// language.
func (b *Browser) Expect(sel, key string, args ...any) {
	b.T.Helper()
	want := Catalog(b.T).T(b.Lang, key, args...)
	if got := b.Text(sel); !strings.Contains(got, want) {
		b.T.Fatalf("%s: %s shows %q, want %q (%s)", b.Lang, sel, got, want, key)
	}
}

// NoMissingKeys fails on a page that shows a key no catalog holds.
func (b *Browser) NoMissingKeys() {
	b.T.Helper()
	body, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		b.T.Fatal(err)
	}
	if i := strings.Index(body, i18n.MissingPrefix); i >= 0 {
		b.T.Fatalf("%s: the page at %s shows a missing key: %s", b.Lang, b.Location(), body[i:min(len(body), i+80)])
	}
}

// Shot saves a full-page screenshot as <lang>-<name>.png.
func (b *Browser) Shot(name string) {
	b.T.Helper()
	// A tab in the background is not composited, and a screenshot of it
	// waits forever: bring it to the front first.
	front := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, cdppage.BringToFront, cdp.Empty{})
		return chromedp.Void{}, err
	}
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, front); err != nil {
		b.T.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		b.T.Fatal(err)
	}
	lang := strings.ToLower(strings.SplitN(string(b.Lang), "-", 2)[0])
	if err := os.WriteFile(filepath.Join(b.Dir, lang+"-"+name+".png"), png, 0o644); err != nil {
		b.T.Fatal(err)
	}
}

// Phone narrows the window to a phone's.
func (b *Browser) Phone() {
	b.T.Helper()
	b.Run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
}

// Login signs in through the login page and fails the test if the page
// does not let the person in.
func (b *Browser) Login(email, password string) {
	b.T.Helper()
	b.Open("/login")
	b.Fill("email", email, "password", password)
	b.Submit(`form[action="/login"] button[type=submit]`)
	if strings.HasSuffix(strings.SplitN(b.Location(), "?", 2)[0], "/login") {
		text, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.T.Fatalf("%s could not sign in: %s", email, text)
	}
}

var catalog struct {
	once sync.Once
	c    *i18n.Catalog
	err  error
}

// Catalog is the loaded catalogs, for the texts a page should show.
func Catalog(t testing.TB) *i18n.Catalog {
	t.Helper()
	catalog.once.Do(func() { catalog.c, catalog.err = i18n.Load() })
	if catalog.err != nil {
		t.Fatal(catalog.err)
	}
	return catalog.c
}
