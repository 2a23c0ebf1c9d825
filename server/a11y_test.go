package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
)

// The accessibility tests run axe-core (https://github.com/dequelabs/axe-core)
// in the real page, in Chromium, on every view of the account app, in light
// and dark colours, at a desktop width and at 375 px: no WCAG 2.1 A or AA
// rule may fail. axe-core comes from npm; the page's Content-Security-Policy
// forbids inline scripts, but evaluation over the DevTools protocol is not a
// script of the page and needs no exception.
//
// The same walk writes a screenshot of every view and variant when
// SIGNOFF_SCREENSHOTS names a directory: docs/screenshots/ is made this way
// (see the README, "The account app").

// axeTags are the rule sets axe-core runs: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// noAxe is why the accessibility test is skipped.
const noAxe = "SIGNOFF_TEST_AXE is not set: point it at axe-core's axe.min.js " +
	"(npm install axe-core@4, then node_modules/axe-core/axe.min.js); .ci/run installs it into a temp folder and sets it"

// axeSource returns axe-core's axe.min.js, from $SIGNOFF_TEST_AXE; without it
// the test is skipped.
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SIGNOFF_TEST_AXE")
	if p == "" {
		testenv.Skip(t, "accessibility tests (axe-core)", noAxe)
	}
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("SIGNOFF_TEST_AXE: %v", err)
	}
	return string(src)
}

// viewport is a window size the views are checked at; suffix ends the
// screenshot's name.
type viewport struct {
	suffix        string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{suffix: "", width: 1024, height: 768},
	{suffix: "-375", width: 375, height: 812, mobile: true},
}

var colorSchemes = []string{"light", "dark"}

// axeViolation is one failed rule, with the elements it failed on.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	URL     string   `json:"url"`
	Targets []string `json:"targets"`
	Summary string   `json:"summary"`
}

// axeResult is what axe.run found: violations fail the test; incomplete are
// the checks axe could not decide (a colour over an image, say), logged for a
// person to look at.
type axeResult struct {
	Violations []axeViolation `json:"violations"`
	Incomplete []axeViolation `json:"incomplete"`
}

// axeRunJS runs axe-core on the whole document with the rules of axeTags and
// returns an axeResult.
var axeRunJS = fmt.Sprintf(`(() => {
  const brief = (rules) => rules.map((r) => ({
    id: r.id, impact: r.impact || "", help: r.help, url: r.helpUrl,
    targets: r.nodes.map((n) => n.target.map(String).join(" ")),
    summary: r.nodes.length ? (r.nodes[0].failureSummary || "") : "",
  }));
  return axe.run(document, {runOnly: {type: "tag", values: %s}})
    .then((r) => ({violations: brief(r.violations), incomplete: brief(r.incomplete)}));
})()`, jsStrings(axeTags))

func jsStrings(ss []string) string {
	return `["` + strings.Join(ss, `", "`) + `"]`
}

// auditor checks the views of one browser's page.
type auditor struct {
	b   *browser
	axe string // axe.min.js
	dir string // where screenshots go; "" for none
}

// check runs axe-core on the page as it is, in every colour scheme and
// viewport, after scroll (a script that brings the part of the page that
// matters into view), and writes the screenshots VIEW-SCHEME[-375].png.
func (a *auditor) check(view, scroll string) {
	a.b.t.Helper()
	for _, scheme := range colorSchemes {
		for _, vp := range viewports {
			name := view + "-" + scheme + vp.suffix
			a.emulate(name, scheme, vp)
			a.b.do(name+": scroll", chromedp.Evaluate[chromedp.Void](scroll))
			if eval[bool](a.b, name+": axe loaded?", `typeof axe === "undefined"`) {
				// A trailing value, so that the result is not axe's module object.
				a.b.do("inject axe-core", chromedp.Evaluate[chromedp.Void](a.axe+"\n;0"))
			}
			res := eval[axeResult](a.b, name+": axe.run", axeRunJS)
			for _, v := range res.Violations {
				a.b.t.Errorf("%s: axe-core: %s (%s): %s\n\ton %s\n\t%s\n\t%s",
					name, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "), strings.ReplaceAll(v.Summary, "\n", "\n\t"), v.URL)
			}
			for _, v := range res.Incomplete {
				a.b.t.Logf("%s: axe-core could not decide %s (%s) on %s", name, v.ID, v.Help, strings.Join(v.Targets, ", "))
			}
			if a.dir != "" {
				png, err := chromedp.Run(a.b.ctx, chromedp.CaptureScreenshot())
				if err != nil {
					a.b.t.Fatalf("%s: screenshot: %v", name, err)
				}
				if err := os.WriteFile(filepath.Join(a.dir, name+".png"), png, 0o644); err != nil {
					a.b.t.Fatal(err)
				}
			}
		}
	}
}

// emulate sets the colour scheme and the viewport, and checks that the page
// sees the scheme.
func (a *auditor) emulate(name, scheme string, vp viewport) {
	a.b.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if _, err := chromedp.Call(a.b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		a.b.t.Fatalf("%s: Emulation.setEmulatedMedia: %v", name, err)
	}
	a.b.do(name+": viewport", chromedp.EmulateViewport(vp.width, vp.height, opts...))
	if got := eval[bool](a.b, name+": colour scheme", `matchMedia("(prefers-color-scheme: dark)").matches`); got != (scheme == "dark") {
		a.b.t.Fatalf("%s: the page does not see prefers-color-scheme: %s", name, scheme)
	}
}

// otherDeviceUA is the user agent of the second device the account view
// lists: a phone.
const otherDeviceUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// TestBrowserAccessibility walks the account app through its views — the
// sign-in form, the registration form, a wrong password's alert, the account
// with two devices, the password change — in both modes, and has axe-core
// check each in light and dark colours, at 1024 and 375 px wide. Session
// mode's views are the screenshots.
func TestBrowserAccessibility(t *testing.T) {
	src := axeSource(t)
	dir := os.Getenv("SIGNOFF_SCREENSHOTS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("SIGNOFF_SCREENSHOTS: %v", err)
		}
	}
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		const email = "ada@example.test"
		expect(t, "register", e.raw("POST", "/register", map[string]string{"email": email, "password": password}), 202)
		b := newBrowser(t, e)
		a := &auditor{b: b, axe: src}
		if mode == signoff.ModeSession {
			a.dir = dir
		}
		top := `window.scrollTo(0, 0)`

		b.open()
		a.check("signin", top)

		b.do("click Create an account", chromedp.Click(chromedp.ID("show-register")))
		b.waitFor("the registration form", `!document.getElementById("register-form").hidden`)
		a.check("register", top)

		b.do("click Sign in", chromedp.Click(chromedp.ID("show-signin")))
		b.waitFor("the sign-in form", `!document.getElementById("signin-form").hidden`)
		b.do("sign in with a wrong password",
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), "not the password"),
			chromedp.Click(chromedp.ID("signin")))
		b.waitFor("the page says the password is wrong", `document.getElementById("alert").textContent === "Wrong email or password."`)
		a.check("error", top)

		// A second device, so that the list has one to sign out.
		other := e.client()
		expect(t, "sign in from a phone", other.do("POST", "/login", map[string]string{"email": email, "password": password}, "User-Agent", otherDeviceUA), 200)
		b.signIn(email)
		b.waitFor("the account lists both devices, and the wrong password's alert is gone",
			`document.querySelectorAll("#devices li").length === 2 && document.querySelectorAll("#devices li.current").length === 1 && `+
				`document.getElementById("alert").textContent === "" && document.getElementById("status").textContent === "Signed in."`)
		a.check("account", top)

		a.check("password", `document.getElementById("password-title").scrollIntoView({block: "start"}); `+
			`document.getElementById("current-password").focus({preventScroll: true})`)
	})
}
