package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/server"
)

// The browser tests drive the real web page (web/index.html, web/static/app.js
// on web/static/signoff.js) in Debian's Chromium, headless, over the DevTools pipe: no debugging port is
// opened, and the only address involved is the server's 127.0.0.1:0.
//
// They prove from the browser's side what the HTTP tests prove with a cookie
// jar: after sign-out the browser holds no credential (R21: the deletion
// Set-Cookie matches the cookie it deletes, so Chromium drops it), the page
// keeps nothing in Web Storage, and the credential the browser held is dead
// on the server (R4, R5, R6, I1).

const (
	// browserTimeout bounds one browser subtest, Chromium's start included.
	browserTimeout = 60 * time.Second
	// waitTimeout bounds one wait for the page to reach a state.
	waitTimeout = 15 * time.Second
)

// chromiumPath returns the browser to run: $SIGNOFF_TEST_CHROMIUM, which
// CI sets and which must then work, else chromium on PATH. With neither, the
// test is skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SIGNOFF_TEST_CHROMIUM"); p != "" {
		full, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("SIGNOFF_TEST_CHROMIUM=%s: %v", p, err)
		}
		return full
	}
	if full, err := exec.LookPath("chromium"); err == nil {
		return full
	}
	testenv.Skip(t, "browser tests (Chromium)", "apt-get install chromium, or set SIGNOFF_TEST_CHROMIUM to a Chromium")
	return ""
}

// browser is one headless Chromium with a fresh profile, showing the page of
// e.
type browser struct {
	t   *testing.T
	e   *env
	ctx context.Context // the tab; ends at browserTimeout

	out     *syncbuf.Buffer // Chromium's stdout and stderr
	mu      sync.Mutex
	console []string // the page's console messages and exceptions
	paths   map[network.RequestID]string
	bearer  map[network.RequestID]bool // whether the request carried Authorization: Bearer
	blocked []string                   // Set-Cookie lines Chromium refused: "METHOD PATH: name: reasons"

	statusBefore string // the status line before the last whoAmI
	meBearer     bool   // whether the last whoAmI's GET /api/me carried an access token
}

// newBrowser starts Chromium with exactly the project's flags and a fresh
// user-data directory; cleanup closes it gracefully and waits for it to exit.
func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	path := chromiumPath(t)
	dir := t.TempDir() // registered first, so removed after Chromium exits
	b := &browser{t: t, e: e, out: &syncbuf.Buffer{}, paths: map[network.RequestID]string{}, bearer: map[network.RequestID]bool{}}

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(dir),
		chromedp.CombinedOutput(b.out),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	b.ctx = tabCtx
	consoleDone := make(chan struct{})
	t.Cleanup(func() {
		if err := chromedp.Cancel(tabCtx); err != nil && ctx.Err() == nil {
			t.Logf("closing Chromium: %v", err)
		}
		cancelTab()
		cancelAlloc() // waits for the process to exit
		cancel()
		<-consoleDone
		if t.Failed() {
			b.dumpDiagnostics()
		}
	})

	// The first call starts Chromium and opens the tab.
	msgs := chromedp.Console(tabCtx)
	go func() {
		defer close(consoleDone)
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	err := chromedp.Listen(tabCtx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.paths[ev.RequestID] = ev.Request.Method + " " + strings.TrimPrefix(ev.Request.URL, e.URL)
			for k, v := range ev.Request.Headers {
				if s, ok := v.(string); ok && strings.EqualFold(k, "Authorization") && strings.HasPrefix(s, "Bearer ") {
					b.bearer[ev.RequestID] = true
				}
			}
		case *network.EventResponseReceivedExtraInfo:
			for _, c := range ev.BlockedCookies {
				name := "(unparsed)"
				if c.Cookie != nil {
					name = c.Cookie.Name
				}
				// Never the cookie line: it holds the value.
				b.blocked = append(b.blocked, fmt.Sprintf("%s: %s: %v", b.paths[ev.RequestID], name, c.BlockedReasons))
			}
		}
	})
	if err != nil {
		t.Fatalf("starting Chromium (%s): %v\n%s", path, err, redact(tail(b.out.String(), 4000)))
	}
	return b
}

// newTab opens a second tab (target) in the same browser: the same cookies,
// the same origin, so BroadcastChannel and the storage event reach it.
func (b *browser) newTab() *browser {
	b.t.Helper()
	tabCtx, cancel := chromedp.NewContext(b.ctx)
	tab := &browser{t: b.t, e: b.e, ctx: tabCtx, out: b.out, paths: map[network.RequestID]string{}, bearer: map[network.RequestID]bool{}}
	b.t.Cleanup(func() {
		chromedp.Cancel(tabCtx)
		cancel()
	})
	if err := chromedp.Do(tabCtx); err != nil { // opens the tab
		b.t.Fatalf("opening a second tab: %v", err)
	}
	return tab
}

func (b *browser) dumpDiagnostics() {
	b.mu.Lock()
	console, blocked := slices.Clone(b.console), slices.Clone(b.blocked)
	b.mu.Unlock()
	if len(console) > 0 {
		b.t.Logf("page console:\n%s", redact(strings.Join(console, "\n")))
	}
	if len(blocked) > 0 {
		b.t.Logf("Set-Cookie lines Chromium refused:\n%s", strings.Join(blocked, "\n"))
	}
	var lines []string
	for l := range strings.Lines(b.out.String()) {
		if !strings.Contains(l, "dbus") { // a container has no D-Bus; Chromium says so at length
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		b.t.Logf("Chromium output (tail):\n%s", redact(tail(strings.Join(lines, ""), 4000)))
	}
}

// blockedCookies returns what Chromium refused to store so far.
func (b *browser) blockedCookies() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.blocked)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// redact replaces every credential-shaped string by its fingerprint.
func redact(s string) string {
	s = jwtPattern.ReplaceAllStringFunc(s, fp)
	return secretPattern.ReplaceAllStringFunc(s, fp)
}

// do runs actions, failing the test with the page's state on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v; %s", what, err, b.state())
	}
}

// eval evaluates a JavaScript expression whose value is decoded into T; a
// promise is awaited.
func eval[T any](b *browser, what, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v; %s", what, err, b.state())
	}
	return v
}

// waitFor polls the page until the JavaScript expression is truthy. It polls
// DOM state; it never sleeps for timing.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	if err := b.poll(expr); err != nil {
		b.t.Fatalf("waiting until %s: %v; %s", what, err, b.state())
	}
}

// poll polls the page until expr is truthy, for waitTimeout. When a
// navigation (Back, a redirect) replaces the page the poll evaluates in,
// it polls the new one, within the same deadline.
func (b *browser) poll(expr string) error {
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil || !contextGone(err) || b.ctx.Err() != nil || !time.Now().Before(deadline) {
			return err
		}
	}
}

// contextGone reports the error of an evaluation whose page was replaced
// while it ran.
func contextGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Cannot find context with specified id") || strings.Contains(s, "Execution context was destroyed")
}

// pageState is what the page shows. Status is the message the page shows:
// news in #status (role=status), or a problem in #alert (role=alert), and
// then StatusClass is "error".
type pageState struct {
	SignedIn    bool   `json:"signedIn"`
	SignedOut   bool   `json:"signedOut"`
	Who         string `json:"who"`
	Status      string `json:"status"`
	StatusClass string `json:"statusClass"`
}

const pageStateJS = `(() => {
  const $ = (id) => document.getElementById(id);
  return {
    signedIn: !$("signed-in").hidden,
    signedOut: !$("signed-out").hidden,
    who: $("who").textContent,
    status: $("alert").textContent || $("status").textContent,
    statusClass: $("alert").textContent ? "error" : "",
  };
})()`

func (b *browser) page() (pageState, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[pageState](pageStateJS))
}

// state describes the page for a failure message.
func (b *browser) state() string {
	p, err := b.page()
	if err != nil {
		return fmt.Sprintf("page state unavailable: %v", err)
	}
	return redact(fmt.Sprintf("page: %+v", p))
}

// open loads the page and waits for it to settle on the signed-out form.
func (b *browser) open() {
	b.t.Helper()
	b.do("open the page", chromedp.Navigate(b.e.URL+"/"))
	b.waitFor("the page shows the sign-in form",
		`!document.getElementById("signed-out").hidden && document.getElementById("signed-in").hidden`)
	if got := eval[string](b, "mode", `document.getElementById("mode").textContent`); got != b.e.cfg.Mode.String() {
		b.t.Fatalf("the page says mode %q, the server runs %q", got, b.e.cfg.Mode)
	}
}

// fill types the credentials into the form.
func (b *browser) fill(email string) {
	b.t.Helper()
	b.do("fill in the form",
		// chromedp v0.23.0's SetValue(sel, "") fails here ("could not set
		// value on node"), so a script empties the fields SendKeys types into.
		chromedp.Evaluate[chromedp.Void](`document.getElementById("email").value = ""; document.getElementById("password").value = ""`),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
}

// register registers email through the page's "Create an account" form.
func (b *browser) register(email string) {
	b.t.Helper()
	b.do("open the registration form", chromedp.Click(chromedp.ID("show-register")))
	b.waitFor("the page shows the registration form", `!document.getElementById("register-form").hidden`)
	b.do("fill in the registration form",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("register-email").value = ""; document.getElementById("register-password").value = ""`),
		chromedp.SendKeys(chromedp.ID("register-email"), email),
		chromedp.SendKeys(chromedp.ID("register-password"), password),
	)
	b.do("click Create account", chromedp.Click(chromedp.ID("register")))
	b.waitFor("the page confirms the registration",
		fmt.Sprintf(`document.getElementById("status").textContent === %q`, "Now sign in as "+email+". If you already had an account, sign in with its password."))
}

// signIn signs in through the page's form and returns the body of the /login
// response the page received, as the browser's network log has it.
func (b *browser) signIn(email string) map[string]any {
	b.t.Helper()
	b.fill(email)
	loginURL := b.e.URL + "/login"
	ev, err := chromedp.Run(b.ctx, chromedp.WaitEvent(network.ResponseReceived,
		func(ev network.EventResponseReceived) bool { return ev.Response.URL == loginURL },
		chromedp.Click(chromedp.ID("signin"))))
	if err != nil {
		b.t.Fatalf("click Sign in: %v; %s", err, b.state())
	}
	if ev.Response.Status != 200 {
		b.t.Fatalf("POST /login from the page: %d; %s", ev.Response.Status, b.state())
	}
	b.waitFor("the page shows the user signed in",
		fmt.Sprintf(`!document.getElementById("signed-in").hidden && document.getElementById("who").textContent === %q`, email))
	// The page has read the whole body by now, so the browser has it.
	res, err := chromedp.Call(b.ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: ev.RequestID})
	if err != nil {
		b.t.Fatalf("the body of POST /login: %v", err)
	}
	var m map[string]any // cdproto has decoded any base64 already
	if err := json.Unmarshal(res.Body, &m); err != nil {
		b.t.Fatalf("the body of POST /login is not JSON: %v", err)
	}
	return m
}

// whoAmI clicks the account's Refresh button, #whoami, which asks GET
// /api/me who is signed in (with a script click when the button is hidden,
// as it is on the signed-out page) and returns the status of the /api/me
// request it sent; b.meBearer says whether that request carried an access
// token.
func (b *browser) whoAmI() int64 {
	b.t.Helper()
	p, err := b.page()
	if err != nil {
		b.t.Fatalf("before Who am I: %v", err)
	}
	b.statusBefore = p.Status
	var click chromedp.Action[chromedp.Void]
	if p.SignedIn {
		click = chromedp.Click(chromedp.ID("whoami"))
	} else {
		click = chromedp.Evaluate[chromedp.Void](`document.getElementById("whoami").click()`)
	}
	meURL := b.e.URL + "/api/me"
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	ev, err := chromedp.Run(ctx, chromedp.WaitEvent(network.ResponseReceived,
		func(ev network.EventResponseReceived) bool { return ev.Response.URL == meURL }, click))
	if err != nil {
		b.t.Fatalf("click Who am I: %v; %s", err, b.state())
	}
	b.mu.Lock()
	b.meBearer = b.bearer[ev.RequestID]
	b.mu.Unlock()
	// The click's work goes on after /api/me answers (the devices load,
	// the button stays disabled): wait until it is done, so that what the
	// test does next (a logout elsewhere) does not meet a request of this
	// click half-way, and the next click is not ignored.
	b.waitFor("Who am I's work is done", `!document.getElementById("whoami").disabled`)
	return ev.Response.Status
}

// expectSignedOutPage waits until the page, after the last whoAmI, shows the
// signed-out form and a new status line, and checks that it reported a 401
// (not an error), with no user and no data.
func (b *browser) expectSignedOutPage(what string) {
	b.t.Helper()
	b.waitFor(what+": the page shows the sign-in form and a new status",
		fmt.Sprintf(`!document.getElementById("signed-out").hidden && document.getElementById("signed-in").hidden && `+
			`document.getElementById("status").textContent !== "" && document.getElementById("status").textContent !== %q`, b.statusBefore))
	p, err := b.page()
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if p.Who != "" || p.StatusClass == "error" {
		b.t.Fatalf("%s: %s", what, redact(fmt.Sprintf("%+v", p)))
	}
	if me := eval[string](b, "#me and #devices", `document.getElementById("me").textContent + document.getElementById("devices").textContent`); me != "" {
		b.t.Fatalf("%s: the page still shows the user's data (%d bytes)", what, len(me))
	}
}

// fetchStatus has the page itself send a same-origin request with whatever
// cookies the browser holds, and returns the status.
func (b *browser) fetchStatus(method, path string) int {
	b.t.Helper()
	return eval[int](b, method+" "+path+" from the page",
		fmt.Sprintf(`fetch(%q, {method: %q, credentials: "same-origin", cache: "no-store"}).then((r) => r.status)`, path, method))
}

// cookies returns every cookie in the browser's store.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.CallBrowser(b.ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("Storage.getCookies: %v", err)
	}
	return res.Cookies
}

// cookieNames lists the cookies' names, never their values.
func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name+" (domain "+c.Domain+", path "+c.Path+")")
	}
	return names
}

// expectWebStorageEmpty checks that the page keeps nothing in localStorage or
// sessionStorage, and that script sees no cookie (every one is HttpOnly).
func (b *browser) expectWebStorageEmpty(when string) {
	b.t.Helper()
	got := eval[[]int](b, "web storage", `[localStorage.length, sessionStorage.length, document.cookie.length]`)
	if !slices.Equal(got, []int{0, 0, 0}) {
		b.t.Fatalf("%s: localStorage has %d items, sessionStorage %d, document.cookie %d bytes; want none",
			when, got[0], got[1], got[2])
	}
}

// expectCredCookie finds the credential cookie in the browser's store and
// checks its attributes (R15–R18): a __Host- cookie that script cannot read,
// sent only over secure transport, host-only, Path=/, SameSite=Lax.
func expectCredCookie(t *testing.T, e *env, cs []*network.Cookie) *network.Cookie {
	t.Helper()
	name := credName(e.cfg.Mode)
	var found *network.Cookie
	for _, c := range cs {
		if c.Name == name {
			if found != nil {
				t.Fatalf("two %s cookies in the browser", name)
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("the browser has no %s cookie after signing in; it has %v", name, cookieNames(cs))
	}
	if len(cs) != 1 {
		t.Errorf("the browser has %v, want only %s", cookieNames(cs), name)
	}
	host, _, _ := net.SplitHostPort(e.host)
	c := found
	if c.Value == "" {
		t.Errorf("%s is empty", name)
	}
	if !c.HTTPOnly {
		t.Errorf("R17: %s is not HttpOnly", name)
	}
	if !c.Secure {
		t.Errorf("R15: %s is not Secure", name)
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("R18: %s has SameSite %q, want Lax", name, c.SameSite)
	}
	if c.Path != "/" {
		t.Errorf("R16: %s has Path %q, want /", name, c.Path)
	}
	// A Domain attribute would show as ".host"; host-only is the bare host.
	if c.Domain != host {
		t.Errorf("R16: %s has domain %q, want host-only %q", name, c.Domain, host)
	}
	if c.PartitionKey != nil {
		t.Errorf("%s is partitioned", name)
	}
	return c
}

// replayOld sends the credential the browser held, from a plain Go client,
// and expects 401: in session mode the session cookie on /api/me, in jwt mode
// the refresh cookie on /refresh (no body, then {}) and the access token
// the page was given at sign-in on /api/me.
func replayOld(t *testing.T, e *env, what, cookie, at string) {
	t.Helper()
	header := credName(e.cfg.Mode) + "=" + cookie
	if e.cfg.Mode == signoff.ModeSession {
		expect(t, what+": the old session cookie "+fp(cookie)+" on /api/me", e.raw("GET", "/api/me", nil, "Cookie", header), 401)
		expect(t, what+": the old session cookie "+fp(cookie)+" on /verify", e.raw("GET", "/verify", nil, "Cookie", header), 401)
		return
	}
	expect(t, what+": the old refresh cookie "+fp(cookie)+" on /refresh", e.raw("POST", "/refresh", nil, "Cookie", header), 401)
	expect(t, what+": the old refresh cookie "+fp(cookie)+" on /refresh with {}", e.raw("POST", "/refresh", map[string]string{}, "Cookie", header), 401)
	expect(t, what+": the old access token "+fp(at)+" on /api/me", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+at), 401)
}

// accessToken returns the access token of a /login body: in jwt mode it must
// be there, in session mode it must not.
func accessToken(t *testing.T, mode signoff.Mode, login map[string]any) string {
	t.Helper()
	at, _ := login["access_token"].(string)
	if mode == signoff.ModeJWT && at == "" {
		t.Fatal("POST /login gave the page no access token")
	}
	if mode == signoff.ModeSession && at != "" {
		t.Fatal("session mode gave the page an access token")
	}
	return at
}

// TestBrowserSignOut registers, signs in and signs out through the web page
// in Chromium, then checks that the browser forgot the credential (R21, I8)
// and that the server forgot it too (R4, R5, I1). The variant without
// Clear-Site-Data proves the deletion Set-Cookie alone removes the cookie:
// Clear-Site-Data would hide a deletion cookie whose attributes do not match.
func TestBrowserSignOut(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		for _, variant := range []struct {
			name string
			mod  func(*server.Config)
		}{
			{"clear-site-data", func(*server.Config) {}},
			{"set-cookie-only", func(c *server.Config) { c.NoClearSiteData = true }},
		} {
			t.Run(variant.name, func(t *testing.T) {
				e := newEnv(t, mode, variant.mod)
				b := newBrowser(t, e)
				email := "browser-" + mode.String() + "@example.test"

				// 1. Register, sign in and ask who I am, all through the page.
				b.open()
				b.register(email)
				login := b.signIn(email)
				at := accessToken(t, mode, login)
				if st := b.whoAmI(); st != 200 {
					t.Fatalf("Who am I while signed in: GET /api/me %d; %s", st, b.state())
				}
				if mode == signoff.ModeJWT && !b.meBearer {
					t.Fatal("jwt mode: the signed-in page sent GET /api/me without its access token")
				}
				b.waitFor("the page shows the user's data",
					fmt.Sprintf(`document.getElementById("me").textContent.includes(%q)`, "Email"+email))

				// 2. The credential is an HttpOnly __Host- cookie; the page
				// keeps no token in Web Storage (jwt: memory only).
				cred := expectCredCookie(t, e, b.cookies())
				old := cred.Value
				b.expectWebStorageEmpty("signed in")
				if mode == signoff.ModeSession {
					expect(t, "the browser's cookie, replayed before sign-out", e.raw("GET", "/api/me", nil, "Cookie", cred.Name+"="+old), 200)
				} else {
					expect(t, "the page's access token, replayed before sign-out", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+at), 200)
				}

				// 3. Sign out through the page.
				b.do("click Sign out", chromedp.Click(chromedp.ID("signout")))
				b.waitFor("the page says signed out",
					`!document.getElementById("signed-out").hidden && document.getElementById("status").textContent === "Signed out."`)
				if left := b.cookies(); len(left) != 0 {
					t.Fatalf("R21: after sign-out the browser still has %v (old value %s); refused Set-Cookie lines: %v",
						cookieNames(left), fp(old), b.blockedCookies())
				}
				b.expectWebStorageEmpty("signed out")
				if st := b.whoAmI(); st != 401 {
					t.Fatalf("Who am I after sign-out: GET /api/me %d, want 401", st)
				}
				// The access token lives only in signoff.js's memory, out of
				// a test's reach: what the page sends shows whether it kept it.
				if b.meBearer {
					t.Fatal("the page still holds an access token in memory after sign-out: it sent one on GET /api/me")
				}
				b.expectSignedOutPage("Who am I after sign-out")
				if st := b.fetchStatus("GET", "/api/me"); st != 401 {
					t.Fatalf("GET /api/me from the signed-out page: %d, want 401", st)
				}
				if mode == signoff.ModeJWT {
					if st := b.fetchStatus("POST", "/refresh"); st != 401 {
						t.Fatalf("POST /refresh from the signed-out page: %d, want 401", st)
					}
				}

				// 4. What the browser held is dead on the server.
				replayOld(t, e, "after sign-out in the browser", old, at)
			})
		}
	})
}

// TestBrowserSignedOutEverywhere signs in in Chromium, then signs the same
// user out everywhere from a separate Go client: the page finds itself signed
// out at its next request, and the credential the browser held is dead (R6,
// I6).
func TestBrowserSignedOutEverywhere(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e, email, b := startPage(t, mode)
		at := accessToken(t, mode, b.signIn(email))
		cred := expectCredCookie(t, e, b.cookies())
		old := cred.Value
		if st := b.whoAmI(); st != 200 {
			t.Fatalf("Who am I while signed in: GET /api/me %d; %s", st, b.state())
		}

		// Another device of the same user signs out everywhere.
		other := e.client()
		other.login(email)
		r := other.do("POST", "/logout/all", nil)
		expect(t, "logout/all from the other client", r, 200)
		if got := r.json(t)["revoked"]; got != float64(2) {
			t.Fatalf("logout/all revoked %v sessions, want 2 (the browser's and its own)", got)
		}
		expect(t, "the other client after its logout/all", other.do("GET", "/api/me", nil), 401)

		// The page, at its next request, is signed out.
		if st := b.whoAmI(); st != 401 {
			t.Fatalf("Who am I after logout everywhere: GET /api/me %d, want 401", st)
		}
		b.expectSignedOutPage("Who am I after logout everywhere")
		if st := b.fetchStatus("GET", "/api/me"); st != 401 {
			t.Fatalf("GET /api/me from the page after logout everywhere: %d, want 401", st)
		}
		b.expectWebStorageEmpty("after logout everywhere")

		// What the browser held is dead on the server.
		replayOld(t, e, "after logout everywhere", old, at)

		// The 401s deleted the dead cookie too: the refresh cookie in jwt
		// mode (the page's failed refresh), the session cookie in session
		// mode (Require's 401 to a presented, dead session).
		if left := b.cookies(); len(left) != 0 {
			t.Fatalf("after its credential was refused the browser still has %v", cookieNames(left))
		}
	})
}

// startPage starts a server in mode, registers a user and opens the page,
// signed out, in a new browser.
func startPage(t *testing.T, mode signoff.Mode, mods ...func(*server.Config)) (*env, string, *browser) {
	t.Helper()
	e := newEnv(t, mode, mods...)
	email := e.newUser()
	b := newBrowser(t, e)
	b.open()
	return e, email, b
}

// accountShown is true when the page shows the account of email.
func accountShown(email string) string {
	return fmt.Sprintf(`!document.getElementById("signed-in").hidden && document.getElementById("signed-out").hidden && `+
		`document.getElementById("who").textContent === %q && document.getElementById("me").textContent.includes(%q)`, email, email)
}

// signedOutShown is true when the page shows the sign-in form, status text
// and nothing of the account.
func signedOutShown(status string) string {
	return fmt.Sprintf(`!document.getElementById("signed-out").hidden && document.getElementById("signed-in").hidden && `+
		`document.getElementById("who").textContent === "" && document.getElementById("me").textContent === "" && `+
		`document.getElementById("devices").textContent === "" && document.getElementById("status").textContent === %q && `+
		`document.getElementById("alert").textContent === ""`, status)
}

// TestBrowserTwoTabs opens the page in two tabs of one browser: signing in in
// one shows the account in the other, and signing out in one shows the other
// signed out at once (by a message, not a poll), with nothing of the account
// left on it. The second tab learns of both from signoff.js's
// BroadcastChannel message (with the storage event as a fallback), not by
// polling the server.
func TestBrowserTwoTabs(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		_, _, a, b := twoTabsSignedIn(t, mode)

		a.do("click Sign out in the first tab", chromedp.Click(chromedp.ID("signout")))
		a.waitFor("the first tab says signed out", signedOutShown("Signed out."))
		// "Within a second" is the mechanism's, not a clock's: only the
		// message from the first tab (BroadcastChannel, or the storage
		// event) makes the page say "in another tab" (a request to the
		// server would say "You were signed out on this device."), and the
		// page never polls. So the wait has the usual bound, which a
		// loaded CI machine cannot turn into a false failure.
		b.waitFor("the second tab shows signed out", signedOutShown("You signed out in another tab."))
		b.expectWebStorageEmpty("the second tab after sign-out")
		if left := a.cookies(); len(left) != 0 {
			t.Fatalf("after sign-out the browser still has %v", cookieNames(left))
		}
		if st := b.fetchStatus("GET", "/api/me"); st != 401 {
			t.Fatalf("GET /api/me from the second tab after sign-out: %d, want 401", st)
		}
	})
}

// TestBrowserSignOutDuringOutage signs out while the store is down: the
// server answers 503 and keeps the session (I4, I11), and the page says so in
// words, keeps the user signed in with the account shown and the credential
// cookie in place, rather than pretend. Sign out again once the store is back
// succeeds, and the credential is dead.
func TestBrowserSignOutDuringOutage(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		outage, down := storeOutage(t)
		e, email, b := startPage(t, mode, outage)
		at := accessToken(t, mode, b.signIn(email))
		b.waitFor("the device list is shown", `document.querySelectorAll("#devices li.current").length === 1`)
		before := expectCredCookie(t, e, b.cookies()).Value

		down.Store(true)
		b.do("click Sign out during the outage", chromedp.Click(chromedp.ID("signout")))
		b.waitFor("the page says the server is not answering",
			`document.getElementById("alert").textContent === "The server is not answering. Try again in a moment." && !document.getElementById("signout").disabled`)
		b.waitFor("the page still shows the account", accountShown(email))
		if now := expectCredCookie(t, e, b.cookies()).Value; now != before {
			t.Fatalf("a failed sign-out changed the credential cookie (%s → %s)", fp(before), fp(now))
		}

		down.Store(false)
		b.do("click Sign out again", chromedp.Click(chromedp.ID("signout")))
		b.waitFor("the page says signed out", signedOutShown("Signed out."))
		if left := b.cookies(); len(left) != 0 {
			t.Fatalf("after the retried sign-out the browser still has %v", cookieNames(left))
		}
		replayOld(t, e, "after the retried sign-out", before, at)
	})
}

// TestBrowserSignOutDevice signs the same user in from two browsers (two
// profiles, so two devices): the first lists both, marks itself "This
// device", and signs the second out from its list. The second browser's next
// action lands on the sign-in form with "You were signed out on this
// device.", and the first is still signed in.
func TestBrowserSignOutDevice(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b := newBrowser(t, e), newBrowser(t, e)
		b.open()
		b.signIn(email)
		a.open()
		a.signIn(email)
		a.waitFor("the first browser lists two devices, itself marked",
			`document.querySelectorAll("#devices li").length === 2 && `+
				`document.querySelector("#devices li.current .badge")?.textContent === "This device" && `+
				`document.querySelectorAll("#devices li.current button.revoke").length === 0 && `+
				`/Chrome \(headless\) on Linux/.test(document.querySelector("#devices li:not(.current)").textContent) && `+
				`/IP 127\.0\.0\.1/.test(document.querySelector("#devices li:not(.current)").textContent)`)
		a.do("click Sign out on the other device", chromedp.Click(chromedp.CSS(`#devices li:not(.current) button.revoke`)))
		a.waitFor("the first browser lists one device and says which it signed out",
			`document.querySelectorAll("#devices li").length === 1 && document.getElementById("status").textContent === "Signed out Chrome (headless) on Linux."`)

		if st := b.whoAmI(); st != 401 {
			t.Fatalf("the signed-out device's next request: GET /api/me %d, want 401", st)
		}
		b.waitFor("the signed-out device shows the sign-in form and why", signedOutShown("You were signed out on this device."))
		if st := a.whoAmI(); st != 200 {
			t.Fatalf("the first device after signing the other out: GET /api/me %d, want 200", st)
		}
		a.waitFor("the first device still shows the account", accountShown(email))
	})
}

// twoTabsSignedIn opens the page in two tabs of one browser and signs in in
// the first; the second shows the account, told by the first.
func twoTabsSignedIn(t *testing.T, mode signoff.Mode) (e *env, email string, a, b *browser) {
	t.Helper()
	e, email, a = startPage(t, mode)
	b = a.newTab()
	b.open()
	a.signIn(email)
	b.waitFor("the second tab shows the account after the first signed in", accountShown(email))
	return e, email, a, b
}
