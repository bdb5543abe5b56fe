// Package browsertest drives Debian's Chromium (headless, through the
// DevTools protocol with chromedp) for the staff pages' browser tests:
// tabs, navigation, typing and clicks, full-page screenshots kept as test
// artefacts, the axe-core accessibility checker injected into each page,
// and keyboard-only navigation with a visible-focus check.
//
// When Chromium is missing the tests are skipped, except under CI=true
// where they fail (scripts/test.sh installs it). axe-core is vendored
// here (axe/, test-only: the product never serves it).
package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

//go:embed axe/axe.min.js
var axeSource string

// Timeout bounds each browser action.
const Timeout = 20 * time.Second

// ChromiumPath finds the browser: $CIVICFLOW_CHROMIUM, /usr/bin/chromium,
// or chromium / chromium-browser in PATH ("" if none).
func ChromiumPath() string {
	if p := os.Getenv("CIVICFLOW_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	t      testing.TB
	ctx    context.Context // the browser's (first tab's) context
	cancel context.CancelFunc
	dir    string // artefacts
}

// Start launches Chromium for the test; it is closed at the test's end.
// Without Chromium the test is skipped (CI=true: it fails).
func Start(t testing.TB) *Browser {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is missing (CI=true): install Debian's chromium package (scripts/test.sh does)")
		}
		t.Skip("Chromium is missing: install Debian's chromium package to run the browser tests")
	}
	profile, err := os.MkdirTemp("", "civicflow-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "fr-FR"),
		chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		acancel()
		os.RemoveAll(profile)
		t.Fatalf("cannot start Chromium (%s): %v", path, err)
	}
	b := &Browser{t: t, ctx: ctx, cancel: func() { cancel(); acancel() }, dir: ArtefactDir(t)}
	t.Cleanup(func() {
		b.cancel()
		// Chromium's children may still write for a moment after exit.
		for i := 0; i < 10; i++ {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	return b
}

// ArtefactDir is where screenshots go: $CIVICFLOW_TEST_ARTIFACTS, else
// <repo>/test-artifacts/screenshots (gitignored).
func ArtefactDir(t testing.TB) string {
	dir := os.Getenv("CIVICFLOW_TEST_ARTIFACTS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			root = os.TempDir()
		}
		dir = filepath.Join(root, "test-artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artefact directory: %v", err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Tab is a browser tab with its console errors recorded.
type Tab struct {
	t   testing.TB
	b   *Browser
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// NewTab opens a tab (closed at the test's end). Tabs share cookies:
// NewPerson opens one of its own.
func (b *Browser) NewTab() *Tab { return b.newTab() }

// NewPerson opens a tab in a browser context of its own (its own cookies,
// as another person on another computer would have).
func (b *Browser) NewPerson() *Tab { return b.newTab(chromedp.WithNewBrowserContext()) }

func (b *Browser) newTab(opts ...chromedp.ContextOption) *Tab {
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	tab := &Tab{t: b.t, b: b, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		b.t.Fatalf("new tab: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			// Network log entries ("Failed to load resource: 404") are the
			// statuses the tests ask for; scripts' errors and CSP refusals count.
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException) && m.Source != "network" {
				tab.mu.Lock()
				tab.errors = append(tab.errors, string(m.Type)+": "+m.Text)
				tab.mu.Unlock()
			}
		}
	}()
	b.t.Cleanup(cancel)
	return tab
}

// Do runs chromedp steps with the action timeout; failure ends the test.
func (tb *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action that returns a value, with the action timeout.
func run[T any](tb *Tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Navigate opens url and waits for the page's body.
func (tb *Tab) Navigate(url string) {
	tb.t.Helper()
	tb.Do("navigate to "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

// Fill replaces the value of the input matching the CSS selector sel by typing value.
func (tb *Tab) Fill(sel, value string) {
	tb.t.Helper()
	tb.Do("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// Click clicks the element matching sel.
func (tb *Tab) Click(sel string) {
	tb.t.Helper()
	tb.Do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// ClickAndWait clicks sel and waits for the page it leads to to load.
func (tb *Tab) ClickAndWait(sel string) {
	tb.t.Helper()
	tb.Do("click "+sel+" and wait", chromedp.WaitVisible(chromedp.CSS(sel)))
	run(tb, "click "+sel+" and wait for the load", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
	tb.Do("wait for the body", chromedp.WaitReady(chromedp.CSS("body")))
}

// PressAndWait presses a key (kb.Enter…) and waits for the page it leads to to load.
func (tb *Tab) PressAndWait(key string) {
	tb.t.Helper()
	run(tb, "press and wait for the load", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent(key)))
	tb.Do("wait for the body", chromedp.WaitReady(chromedp.CSS("body")))
}

// WaitVisible waits until sel is visible.
func (tb *Tab) WaitVisible(sel string) {
	tb.t.Helper()
	tb.Do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Text is the visible text of the first element matching sel.
func (tb *Tab) Text(sel string) string {
	tb.t.Helper()
	tb.Do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	return run(tb, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// Location is the tab's URL.
func (tb *Tab) Location() string {
	tb.t.Helper()
	return run(tb, "location", chromedp.Location())
}

// Eval evaluates a JavaScript expression, awaiting a promise, and decodes the result as T.
func Eval[T any](tb *Tab, expr string) T {
	tb.t.Helper()
	return run(tb, "evaluate", chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// ConsoleErrors are the exceptions, console.error calls and browser
// errors (CSP refusals…) seen so far; failed network loads are not counted.
func (tb *Tab) ConsoleErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errors...)
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Screenshot saves a full-page PNG named after the test and name into the
// artefact directory and returns its path.
func (tb *Tab) Screenshot(name string) string {
	tb.t.Helper()
	buf := run(tb, "screenshot "+name, chromedp.FullScreenshot(100))
	file := unsafeName.ReplaceAllString(tb.t.Name()+"-"+name, "_") + ".png"
	p := filepath.Join(tb.b.dir, file)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	tb.t.Logf("screenshot: %s", p)
	return p
}

// Violation is an axe-core rule broken on the page.
type Violation struct {
	ID          string `json:"id"`
	Impact      string `json:"impact"`
	Help        string `json:"help"`
	HelpURL     string `json:"helpUrl"`
	Description string `json:"description"`
	Nodes       []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// Axe runs axe-core (WCAG 2.1 A and AA rules and best practices) on the
// page and returns the violations.
func (tb *Tab) Axe() []Violation {
	tb.t.Helper()
	return tb.AxeExcluding()
}

// AxeExcluding is Axe on the page without the parts matching the CSS
// selectors exclude (a third-party widget such as the bpmn.io canvas).
func (tb *Tab) AxeExcluding(exclude ...string) []Violation {
	tb.t.Helper()
	if !Eval[bool](tb, `typeof window.axe === "object"`) {
		// Evaluated through the DevTools protocol: the page's CSP does not apply.
		run(tb, "inject axe-core", chromedp.Evaluate[bool](axeSource+"\n;true"))
	}
	context := "document"
	if len(exclude) > 0 {
		var sels []string
		for _, e := range exclude {
			sels = append(sels, "["+strconv.Quote(e)+"]")
		}
		context = "{include: [[\"html\"]], exclude: [" + strings.Join(sels, ", ") + "]}"
	}
	raw := Eval[string](tb, `axe.run(`+context+`, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, resultTypes: ["violations"]})
		.then(r => JSON.stringify(r.violations))`)
	var vs []Violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		tb.t.Fatalf("axe result: %v", err)
	}
	return vs
}

// RequireAccessible fails the test, with a readable list, when axe finds a
// serious or critical violation on the page (others are logged).
func (tb *Tab) RequireAccessible(pageName string) {
	tb.t.Helper()
	tb.RequireAccessibleExcluding(pageName)
}

// RequireAccessibleExcluding is RequireAccessible without the parts of the
// page matching the CSS selectors exclude.
func (tb *Tab) RequireAccessibleExcluding(pageName string, exclude ...string) {
	tb.t.Helper()
	var bad []string
	for _, v := range tb.AxeExcluding(exclude...) {
		line := fmt.Sprintf("[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
		for i, n := range v.Nodes {
			if i == 5 {
				line += fmt.Sprintf("\n      … and %d more", len(v.Nodes)-5)
				break
			}
			line += fmt.Sprintf("\n      at %v: %s\n        %s", n.Target, truncate(n.HTML, 200), strings.ReplaceAll(n.FailureSummary, "\n", "\n        "))
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, line)
		} else {
			tb.t.Logf("axe on %s (not blocking): %s", pageName, line)
		}
	}
	if len(bad) > 0 {
		tb.t.Errorf("axe-core found %d serious or critical violation(s) on %s:\n  %s", len(bad), pageName, strings.Join(bad, "\n  "))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Focused describes the element that has the keyboard focus.
type Focused struct {
	Tag, ID, Name, Type, Text, Href string
	// Visible: the focused element shows a focus indicator (an outline or
	// a box-shadow).
	Visible bool
}

func (f Focused) String() string {
	return fmt.Sprintf("<%s id=%q name=%q type=%q href=%q> %q", f.Tag, f.ID, f.Name, f.Type, f.Href, f.Text)
}

// Press sends one key (kb.Tab, kb.Enter, "a"…) to the focused element.
func (tb *Tab) Press(key string) {
	tb.t.Helper()
	tb.Do("press key", chromedp.KeyEvent(key))
}

// Type types text into the focused element.
func (tb *Tab) Type(text string) {
	tb.t.Helper()
	tb.Do("type", chromedp.KeyEvent(text))
}

// Focus reports the focused element.
func (tb *Tab) Focus() Focused {
	tb.t.Helper()
	return Eval[Focused](tb, `(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return {Tag: "body"};
		const cs = getComputedStyle(el);
		const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0;
		const shadow = cs.boxShadow && cs.boxShadow !== "none";
		return {Tag: el.tagName.toLowerCase(), ID: el.id || "", Name: el.getAttribute("name") || "", Type: el.getAttribute("type") || "",
			Text: (el.innerText || el.value || "").trim().slice(0, 60), Href: el.getAttribute("href") || "",
			Visible: outline || shadow};
	})()`)
}

// TabTo presses Tab until the focused element matches want (at most max
// presses), checking at each step that the focus is visible. It returns
// the elements passed through.
func (tb *Tab) TabTo(want func(Focused) bool, max int) []Focused {
	tb.t.Helper()
	var seen []Focused
	for i := 0; i < max; i++ {
		tb.Press(kb.Tab)
		f := tb.Focus()
		seen = append(seen, f)
		if f.Tag != "body" && !f.Visible {
			tb.t.Errorf("focus is not visible on %s", f)
		}
		if want(f) {
			return seen
		}
	}
	var path []string
	for _, f := range seen {
		path = append(path, f.String())
	}
	tb.t.Fatalf("no matching element after %d Tab presses; focus went through:\n  %s", max, strings.Join(path, "\n  "))
	return seen
}

// TabThrough presses Tab n times (or until the focus comes back to the
// first element) and fails the test for every focused element whose focus
// is not visible. It returns the elements reached.
func (tb *Tab) TabThrough(n int) []Focused {
	tb.t.Helper()
	var seen []Focused
	for i := 0; i < n; i++ {
		tb.Press(kb.Tab)
		f := tb.Focus()
		if len(seen) > 0 && f == seen[0] {
			break
		}
		seen = append(seen, f)
		if f.Tag != "body" && !f.Visible {
			tb.t.Errorf("focus is not visible on %s", f)
		}
	}
	return seen
}
