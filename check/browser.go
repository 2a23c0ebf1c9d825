package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff/internal/syncbuf"
)

// The browser stage (Config.Browser): a fresh headless Chromium signs in and
// out as a user would, and the checker reads what the browser itself keeps,
// which no HTTP client can see: its cookie store after logout (R21 as the
// browser applies the deletion), what logout's Clear-Site-Data cleared
// (R26), and what Back shows after logout (R26b: Chromium's back/forward
// cache and HTTP cache, left as a user has them).

// Titles of the browser's findings under IDs the HTTP checks share.
const (
	titleBrowserCookies = "In a browser, no credential cookie survives logout"
	titleBrowserClear   = "In a browser, Clear-Site-Data clears what it names"
)

const (
	// browserTimeout bounds the whole browser stage, Chromium's start and
	// stop included; Config.Timeout bounds each step in it.
	browserTimeout = 60 * time.Second
	// backSettle is how long a page shown by Back may take to hide what it
	// showed signed in (a pageshow handler that asks the server again)
	// before R26b fails; never more than Config.Timeout.
	backSettle = 2 * time.Second
	// stopWait bounds the wait for a killed Chromium to exit.
	stopWait = 10 * time.Second
	// marker is the key of the entries the browser stage leaves in Web
	// Storage and Cache Storage before logout, to see Clear-Site-Data
	// "storage" clear them.
	marker = "signoff-check"
)

// browserChecks is the browser stage: R21 and R26 as the browser sees them,
// and R26b. Without Config.Browser they are SKIP, and when the cookies
// alone do not open Config.Protected (how): a page the browser opens
// carries only cookies. A browser that cannot sign in, or is refused
// Config.Protected once signed in, makes them SKIP with the reason: the
// HTTP findings stand either way.
func (r *runner) browserChecks(ctx context.Context, how auth) {
	skipAll := func(why string) {
		r.addTitled("R21", titleBrowserCookies, Skip, "%s", why)
		r.addTitled("R26", titleBrowserClear, Skip, "%s", why)
		r.add("R26b", Skip, "%s", why)
	}
	if r.cfg.Browser == "" {
		r.addTitled("R21", titleBrowserCookies, Skip, "needs --browser")
		r.addTitled("R26", titleBrowserClear, Skip, "needs --browser")
		r.add("R26b", Skip, "needs --browser (Chromium's Back button); R25 covers the HTTP cache")
		return
	}
	if !how.cookies {
		skipAll(fmt.Sprintf("the cookies alone do not open %s: a page the browser opens carries the cookies, not the access token", r.cfg.Protected))
		return
	}
	seen, err := r.browse(ctx)
	if err != nil {
		skipAll("the browser: " + r.hideBrowserSecrets(err.Error()))
		return
	}
	r.browserCookies(seen)
	r.browserClearSiteData(seen)
	r.backAfterLogout(seen)
}

// browserSeen is what the browser stage saw.
type browserSeen struct {
	creds   []string          // credential cookie names the browser held signed in
	logout  string            // how it signed out: "the logout form (POST /logout), 303"
	left    []*network.Cookie // credential cookies kept through logout, value and all
	site    []*network.Cookie // every cookie of the site kept through logout
	renewed []string          // credential cookie names set again, to a new value, after logout
	blocked []string          // logout Set-Cookie lines Chromium refused: "name: reasons"
	csd     string            // logout's Clear-Site-Data, "" without one
	set     []string          // the markers set before logout: "localStorage", …
	kept    []string          // those still there after logout
	back    backSeen
}

// backSeen is what Back after logout showed.
type backSeen struct {
	path    string // the page signed out from, which Back returns to
	private string // what of the signed-in page it still shows, "" for nothing
	how     string // "Chromium restored it from its back/forward cache", …
	failed  string // why Back could not be seen through, "" when it was
}

// browse starts Chromium, signs in, signs out and goes Back, and returns
// what it saw. An error says why the browser checks could not run.
func (r *runner) browse(ctx context.Context) (*browserSeen, error) {
	ch, err := startChromium(ctx, r.cfg)
	if err != nil {
		return nil, err
	}
	defer ch.stop()
	return r.browseWith(ch)
}

// chromium is one headless Chromium with a fresh profile and one tab, and
// the log of what that tab sent and loaded.
type chromium struct {
	cfg    Config
	origin string          // the target's origin, scheme://host[:port]
	prefix string          // the target's path, "" or "/app": the site's paths are below it
	tab    context.Context // ends at browserTimeout
	stop   func()          // closes Chromium, waits for it and removes its profile
	out    *syncbuf.Buffer // Chromium's stdout and stderr

	mu       sync.Mutex
	notify   chan struct{} // signalled, without blocking, on every event logged
	reqs     map[network.RequestID]*netReq
	order    []network.RequestID
	loads    int      // main-frame load events
	restores int      // main-frame restores from the back/forward cache
	notUsed  []string // why the last Back did not use the back/forward cache
}

// netReq is one request the tab sent, with its redirects.
type netReq struct {
	method  string
	url     string // the first URL
	doc     bool   // a navigation
	hops    []*network.Response
	extra   []*network.EventResponseReceivedExtraInfo
	done    bool
	errText string
}

// status is the status of the request's first answer, 0 before it has one.
func (q *netReq) status() int64 {
	switch {
	case len(q.hops) > 0:
		return q.hops[0].Status
	case len(q.extra) > 0:
		return q.extra[0].StatusCode
	}
	return 0
}

// header returns the first answer's header name, from the raw headers
// when Chromium reported them.
func (q *netReq) header(name string) string {
	var hs []network.Headers
	if len(q.extra) > 0 {
		hs = append(hs, q.extra[0].Headers)
	}
	if len(q.hops) > 0 {
		hs = append(hs, q.hops[0].Headers)
	}
	for _, h := range hs {
		for k, v := range h {
			if s, ok := v.(string); ok && strings.EqualFold(k, name) {
				return s
			}
		}
	}
	return ""
}

// startChromium starts a headless Chromium with a fresh profile in a temp
// directory and opens a tab. Its stop closes Chromium, waits for it to exit
// and removes the profile; every error path has called it already.
func startChromium(parent context.Context, cfg Config) (*chromium, error) {
	base, err := url.Parse(strings.TrimRight(cfg.Target, "/"))
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath(cfg.Browser); err != nil {
		return nil, fmt.Errorf("no Chromium at %s: %w", cfg.Browser, errors.Unwrap(err))
	}
	dir, err := os.MkdirTemp("", "signoff-check-chromium-")
	if err != nil {
		return nil, fmt.Errorf("a profile for Chromium: %w", err)
	}
	ctx, cancel := context.WithTimeout(parent, browserTimeout)
	ch := &chromium{cfg: cfg, origin: base.Scheme + "://" + base.Host, prefix: base.Path, out: &syncbuf.Buffer{},
		notify: make(chan struct{}, 1), reqs: map[network.RequestID]*netReq{}}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(cfg.Browser),
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(dir),
		chromedp.CombinedOutput(ch.out),
	}
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox; as any other
		// user the sandbox stays on.
		opts = append(opts, chromedp.Flag("no-sandbox", true))
	}
	if cfg.Insecure {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	ch.tab = tab
	started := false
	ch.stop = func() {
		if started {
			_ = chromedp.Cancel(tab) // a graceful close, within browserTimeout
		}
		cancel() // kills a Chromium still running
		// chromedp waits for a process it failed to start for ever: bound
		// the wait for the one it did start, killed by now.
		done := make(chan struct{})
		go func() {
			cancelTab()
			cancelAlloc() // waits for the process to exit
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(stopWait):
		}
		_ = os.RemoveAll(dir)
	}
	// The first call starts Chromium and opens the tab.
	if err := chromedp.Listen(tab, ch.log); err != nil {
		ch.stop()
		return nil, fmt.Errorf("Chromium (%s) did not start: %v%s", cfg.Browser, err, ch.output())
	}
	started = true
	// The checker's own scripts (a fetch sign-in, the storage markers) run
	// on the site's pages; an error page's Content-Security-Policy
	// (Express answers default-src 'none') must not stop them.
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		ch.stop()
		return nil, fmt.Errorf("Chromium (%s): %v", cfg.Browser, err)
	}
	return ch, nil
}

// output is the end of Chromium's output, for an error.
func (ch *chromium) output() string {
	var lines []string
	for l := range strings.Lines(ch.out.String()) {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "dbus") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "; it said: " + strings.Join(lines[max(0, len(lines)-3):], " / ")
}

// log keeps the tab's network and navigation events. It runs on chromedp's
// reading goroutine, so it only records and signals.
func (ch *chromium) log(ev any) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	req := func(id network.RequestID) *netReq {
		q := ch.reqs[id]
		if q == nil {
			q = &netReq{}
			ch.reqs[id] = q
			ch.order = append(ch.order, id)
		}
		return q
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		q := req(ev.RequestID)
		if ev.RedirectResponse != nil {
			q.hops = append(q.hops, ev.RedirectResponse)
		} else if q.url == "" {
			q.method, q.url, q.doc = ev.Request.Method, ev.Request.URL, ev.Type == network.ResourceTypeDocument
		}
	case *network.EventResponseReceived:
		q := req(ev.RequestID)
		q.hops = append(q.hops, ev.Response)
	case *network.EventResponseReceivedExtraInfo:
		q := req(ev.RequestID)
		q.extra = append(q.extra, ev)
	case *network.EventLoadingFinished:
		req(ev.RequestID).done = true
	case *network.EventLoadingFailed:
		q := req(ev.RequestID)
		q.done, q.errText = true, ev.ErrorText
	case *page.EventLoadEventFired:
		ch.loads++
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" && ev.Type == page.NavigationTypeBackForwardCacheRestore {
			ch.restores++
		}
	case *page.EventBackForwardCacheNotUsed:
		ch.notUsed = ch.notUsed[:0]
		for _, e := range ev.NotRestoredExplanations {
			ch.notUsed = append(ch.notUsed, string(e.Reason))
		}
	default:
		return
	}
	select {
	case ch.notify <- struct{}{}:
	default:
	}
}

// mark is a point in the tab's log: the requests and loads so far.
type mark struct{ reqs, loads, restores int }

func (ch *chromium) mark() mark {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return mark{len(ch.order), ch.loads, ch.restores}
}

// waitUntil waits until cond, called under the lock, holds, or ctx ends.
func (ch *chromium) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		ch.mu.Lock()
		ok := cond()
		ch.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch.notify:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// step is a context for one step: Config.Timeout within the stage's.
func (ch *chromium) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(ch.tab, ch.cfg.Timeout)
}

// url is the URL of a path on the target's origin.
func (ch *chromium) url(path string) string { return ch.origin + path }

// at is the path on the target's origin of a site's path (Config.Logout,
// …): below the target's own path, as the HTTP client resolves them.
func (ch *chromium) at(path string) string { return ch.prefix + path }

// pathOf is the path of u when it is on the target's origin, else u.
func (ch *chromium) pathOf(u string) string {
	if rest, ok := strings.CutPrefix(u, ch.origin); ok && (rest == "" || rest[0] == '/' || rest[0] == '?') {
		return redactQuery(rest)
	}
	return redactQuery(u)
}

// navigate loads a URL of the target and returns the answer to the
// document: the last of its redirects.
func (ch *chromium) navigate(path string) (*network.Response, error) {
	ctx, cancel := ch.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(ch.url(path)))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if res == nil {
		return nil, fmt.Errorf("opening %s: no answer", path)
	}
	return res, nil
}

// act runs a script that sends a request (a form's submission, a fetch)
// and waits until the first request after it to path has its answer, and
// when that request is a navigation, until the new page has loaded. It
// returns that request, or nil when none was sent within the step.
func (ch *chromium) act(script string, path string, args ...any) (*netReq, error) {
	ctx, cancel := ch.step()
	defer cancel()
	m := ch.mark()
	if _, err := chromedp.Run(ctx, callJS[chromedp.Void](script, args...)); err != nil && !contextGone(err) {
		return nil, err
	}
	var q *netReq
	err := ch.waitUntil(ctx, func() bool {
		for _, id := range ch.order[m.reqs:] {
			r := ch.reqs[id]
			if u, err := url.Parse(r.url); err == nil && r.url != "" && ch.origin == u.Scheme+"://"+u.Host && u.Path == path {
				q = r
				break
			}
		}
		return q != nil && q.done && (!q.doc || q.errText != "" || ch.loads > m.loads)
	})
	if q == nil {
		return nil, nil
	}
	ch.mu.Lock()
	snap := *q // events of the request may still come: a copy to read
	snap.hops, snap.extra = slices.Clone(q.hops), slices.Clone(q.extra)
	ch.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("waiting for %s %s: %w", snap.method, path, err)
	}
	return &snap, nil
}

// callJS calls a JavaScript function with arguments, which never appear in
// the function's text, and awaits the promise it returns.
func callJS[T any](fn string, args ...any) chromedp.Action[T] {
	return func(ctx context.Context, t *chromedp.Target) (T, error) {
		var zero T
		win, err := chromedp.Evaluate[*runtime.RemoteObject]("window")(ctx, t)
		if err != nil {
			return zero, err
		}
		return chromedp.CallFunctionOn[T](fn, func(p *runtime.CallFunctionOnParams) {
			p.ObjectID = win.ObjectID
			p.AwaitPromise = ptrTo(true)
		}, args...)(ctx, t)
	}
}

func ptrTo[T any](v T) *T { return &v }

// eval evaluates a script with arguments in the tab.
func evalJS[T any](ch *chromium, fn string, args ...any) (T, error) {
	ctx, cancel := ch.step()
	defer cancel()
	return chromedp.Run(ctx, callJS[T](fn, args...))
}

// contextGone reports the error of a script whose page was replaced while
// it ran: a form's submission navigates away from the script.
func contextGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Cannot find context with specified id") ||
		strings.Contains(s, "Execution context was destroyed") ||
		strings.Contains(s, "Inspected target navigated or closed")
}

// cookies returns the cookies Chromium holds for the target's host.
func (ch *chromium) cookies() ([]*network.Cookie, error) {
	ctx, cancel := ch.step()
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		return nil, fmt.Errorf("reading the cookie store: %w", err)
	}
	u, err := url.Parse(ch.origin)
	if err != nil {
		return nil, err
	}
	var out []*network.Cookie
	for _, c := range res.Cookies {
		if d := strings.TrimPrefix(c.Domain, "."); d == u.Hostname() || strings.HasSuffix(u.Hostname(), "."+d) {
			out = append(out, c)
		}
	}
	return out, nil
}

// onSite reports whether the tab shows a page of the target's origin, from
// which a script can reach it with its cookies.
func (ch *chromium) onSite() bool {
	o, err := evalJS[string](ch, `function() { return location.origin }`)
	return err == nil && o == ch.origin
}

// text is what the page shows: document.body.innerText.
func (ch *chromium) text() (string, error) {
	return evalJS[string](ch, `function() { return document.body ? document.body.innerText : "" }`)
}

// browseWith is the browser's story: sign in, open Config.Protected, leave
// markers, sign out, read what is left, go Back.
func (r *runner) browseWith(ch *chromium) (*browserSeen, error) {
	cfg := r.cfg
	seen := &browserSeen{}

	// 1. Sign in as a user would: the site's form, or a script of the site.
	before, landed, err := r.browserSignIn(ch)
	if err != nil {
		return nil, err
	}
	after, err := ch.cookies()
	if err != nil {
		return nil, err
	}
	for _, c := range after {
		r.c.seen(c.Value)
	}
	seen.creds = credNames(cfg, r.jar.names, before, after)

	// 2. Signed in, the browser opens the protected page.
	res, err := ch.navigate(ch.at(cfg.Protected))
	if err != nil {
		return nil, err
	}
	if p := ch.pathOf(res.URL); res.Status < 200 || res.Status > 299 || p != redactQuery(ch.at(cfg.Protected)) {
		why := fmt.Sprintf("signed in, it was refused %s: %d", cfg.Protected, res.Status)
		if p != redactQuery(ch.at(cfg.Protected)) {
			why = fmt.Sprintf("signed in, opening %s led to %s (%d)", cfg.Protected, p, res.Status)
		}
		if len(seen.creds) == 0 {
			why += "; it holds no cookie from the sign-in (a site whose credential is a bearer token a page sends itself is beyond a navigation)"
		}
		return nil, errors.New(why)
	}
	if len(seen.creds) == 0 {
		return nil, fmt.Errorf("signed in and shown %s, it holds no cookie the sign-in set: nothing to see cleared", cfg.Protected)
	}

	// 3. The page to sign out from: the protected page, or the page the
	// sign-in landed on when that one holds the logout form.
	form, err := logoutForm(ch, ch.at(cfg.Logout))
	if err != nil {
		return nil, err
	}
	if form < 0 && landed != "" && landed != ch.at(cfg.Protected) {
		if _, err := ch.navigate(landed); err != nil {
			return nil, err
		}
		if form, err = logoutForm(ch, ch.at(cfg.Logout)); err != nil {
			return nil, err
		}
		if form < 0 {
			if _, err := ch.navigate(ch.at(cfg.Protected)); err != nil {
				return nil, err
			}
		}
	}
	loc, err := evalJS[string](ch, `function() { return location.href }`)
	if err != nil {
		return nil, err
	}
	seen.back.path = ch.pathOf(loc)
	signedIn, err := ch.text()
	if err != nil {
		return nil, err
	}
	if seen.set, err = setMarkers(ch); err != nil {
		return nil, err
	}
	hist, err := history(ch)
	if err != nil {
		return nil, err
	}
	entry := hist.Entries[hist.CurrentIndex].ID
	held, err := ch.cookies()
	if err != nil {
		return nil, err
	}
	for _, c := range held {
		r.c.seen(c.Value)
	}

	// 4. Sign out as the page would, and read what the browser kept: a
	// cookie kept is one with the value it held signed in. A page after
	// logout may set a cookie of the same name afresh (a CSRF cookie, an
	// anonymous session), which Clear-Site-Data cannot have been meant to
	// prevent.
	q, err := r.browserSignOut(ch, form, held)
	if err != nil {
		return nil, err
	}
	seen.logout = q.via
	seen.csd = q.req.header("Clear-Site-Data")
	for _, e := range q.req.extra {
		for _, b := range e.BlockedCookies {
			name, _, _ := strings.Cut(b.CookieLine, "=")
			if b.Cookie != nil {
				name = b.Cookie.Name
			}
			name = strings.TrimSpace(name)
			reasons := make([]string, len(b.BlockedReasons))
			for i, why := range b.BlockedReasons {
				reasons[i] = string(why)
			}
			// Never the cookie line: it may hold a value.
			seen.blocked = append(seen.blocked, name+": "+strings.Join(reasons, ", "))
		}
	}
	now, err := ch.cookies()
	if err != nil {
		return nil, err
	}
	for _, c := range now {
		r.c.seen(c.Value)
		kept := slices.ContainsFunc(held, func(h *network.Cookie) bool {
			return h.Name == c.Name && h.Domain == c.Domain && h.Path == c.Path && h.Value == c.Value
		})
		switch {
		case kept && slices.Contains(seen.creds, c.Name):
			seen.left = append(seen.left, c)
			seen.site = append(seen.site, c)
		case kept:
			seen.site = append(seen.site, c)
		case slices.Contains(seen.creds, c.Name):
			seen.renewed = append(seen.renewed, c.Name)
		}
	}
	if !ch.onSite() {
		if _, err := ch.navigate(ch.at(cfg.LoginPath)); err != nil {
			return nil, err
		}
	}
	if seen.kept, err = keptMarkers(ch, seen.set); err != nil {
		return nil, err
	}

	// 5. Back to the page signed out from. A logout by script stays on
	// that page: the user leaves it first, for the sign-in page.
	if hist, err = history(ch); err != nil {
		return nil, err
	}
	if hist.Entries[hist.CurrentIndex].ID == entry {
		if _, err := ch.navigate(ch.at(cfg.LoginPath)); err != nil {
			return nil, err
		}
	}
	seen.back.private, seen.back.how, seen.back.failed = r.goBack(ch, entry, signedIn)
	return seen, nil
}

// browserSignIn signs in as a user would: with the form on the sign-in
// page that has the user and password fields, typing into it; or, for a
// JSON API, by a script of a page of the site. It returns the cookies the
// browser held before, and the page the sign-in landed on ("" when it did
// not navigate).
func (r *runner) browserSignIn(ch *chromium) (before []*network.Cookie, landed string, err error) {
	cfg := r.cfg
	res, err := ch.navigate(ch.at(cfg.LoginPath))
	if err != nil {
		return nil, "", err
	}
	if !ch.onSite() {
		// An empty error page is Chromium's, not the site's: try its root.
		if _, err := ch.navigate(ch.at("/")); err != nil {
			return nil, "", err
		}
		if !ch.onSite() {
			return nil, "", fmt.Errorf("neither %s (%d) nor / shows a page of the site to sign in from", cfg.LoginPath, res.Status)
		}
	}
	if before, err = ch.cookies(); err != nil {
		return nil, "", err
	}
	form, err := evalJS[loginFormInfo](ch, findLoginFormJS, cfg.UserField, cfg.PasswordField)
	if err != nil {
		return nil, "", fmt.Errorf("looking for a sign-in form: %w", err)
	}
	var q *netReq
	how := "a script's " + cfg.LoginMethod + " " + cfg.LoginPath
	if form.Index >= 0 {
		how = "the form on " + ch.pathOf(form.Page)
		if q, err = r.fillAndSubmit(ch, form); err != nil {
			return nil, "", fmt.Errorf("signing in with %s: %w", how, err)
		}
		if q == nil {
			return nil, "", fmt.Errorf("signing in with %s: it sent nothing to %s within %v", how, form.Action, cfg.Timeout)
		}
	} else {
		hdr, err := csrfHeaders(ch, cfg, before)
		if err != nil {
			return nil, "", err
		}
		body, ctype := string(jsonBody(loginFields(cfg))), "application/json"
		if cfg.LoginFormat == "form" {
			body, ctype = string(formBody(loginFields(cfg))), "application/x-www-form-urlencoded"
		}
		hdr["Content-Type"] = ctype
		if q, err = ch.act(fetchJS, ch.at(cfg.LoginPath), ch.at(cfg.LoginPath), cfg.LoginMethod, hdr, body); err != nil {
			return nil, "", fmt.Errorf("signing in with %s: %w", how, err)
		}
		if q == nil {
			return nil, "", fmt.Errorf("signing in with %s: Chromium sent nothing within %v", how, cfg.Timeout)
		}
	}
	switch st := q.status(); {
	case q.errText != "" && st == 0:
		return nil, "", fmt.Errorf("signing in with %s: %s", how, q.errText)
	case st == 429:
		return nil, "", fmt.Errorf("signing in with %s: rate limited (429)", how)
	case st >= 400:
		return nil, "", fmt.Errorf("signing in with %s: %s %s answered %d", how, q.method, ch.pathOf(q.url), st)
	}
	if q.doc {
		if loc, err := evalJS[string](ch, `function() { return location.href }`); err == nil && strings.HasPrefix(loc, ch.origin+"/") {
			landed = strings.TrimPrefix(loc, ch.origin)
		}
	}
	return before, landed, nil
}

// loginFormInfo is the sign-in form findLoginFormJS found: its index in
// document.forms (-1 for none), its action's path and the page it is on.
type loginFormInfo struct {
	Index  int    `json:"index"`
	Action string `json:"action"`
	Page   string `json:"page"`
}

// findLoginFormJS finds the form holding inputs named the user and the
// password field.
const findLoginFormJS = `function(user, pass) {
  const forms = Array.from(document.forms);
  for (let i = 0; i < forms.length; i++) {
    const u = forms[i].elements.namedItem(user), p = forms[i].elements.namedItem(pass);
    if (u instanceof HTMLInputElement && p instanceof HTMLInputElement) {
      return {index: i, action: new URL(forms[i].getAttribute("action") || location.href, location.href).pathname, page: location.href};
    }
  }
  return {index: -1, action: "", page: location.href};
}`

// fillAndSubmit types the user and the password into the sign-in form
// (Input.insertText into the focused field: the page sees typing, and the
// password appears in no script), sets Config.LoginExtra's fields, and
// clicks its submit button.
func (r *runner) fillAndSubmit(ch *chromium, form loginFormInfo) (*netReq, error) {
	cfg := r.cfg
	for _, f := range []struct{ name, value string }{{cfg.UserField, cfg.User}, {cfg.PasswordField, cfg.Password.Reveal()}} {
		if _, err := evalJS[chromedp.Void](ch, `function(i, name) {
  const el = document.forms[i].elements.namedItem(name);
  el.value = "";
  el.focus();
}`, form.Index, f.name); err != nil {
			return nil, fmt.Errorf("focusing %s: %w", f.name, err)
		}
		ctx, cancel := ch.step()
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: f.value})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("typing into %s: %w", f.name, err)
		}
	}
	for name, v := range cfg.LoginExtra {
		if _, err := evalJS[chromedp.Void](ch, `function(i, name, v) {
  const f = document.forms[i];
  let el = f.elements.namedItem(name);
  if (!el) { el = document.createElement("input"); el.type = "hidden"; el.name = name; f.append(el); }
  el.value = v;
}`, form.Index, name, v); err != nil {
			return nil, fmt.Errorf("setting %s: %w", name, err)
		}
	}
	return ch.act(submitJS, form.Action, form.Index)
}

// submitJS clicks a form's submit button, as a user would, or submits it
// as Enter would when it has none.
const submitJS = `function(i) {
  const f = document.forms[i];
  const b = f.querySelector('button[type=submit], input[type=submit], button:not([type])');
  if (b) { b.click(); } else { f.requestSubmit(); }
}`

// followJS follows a link to path, as a click on it would.
const followJS = `function(path) { location.assign(path); }`

// fetchJS sends a request from the page with its cookies and reads the
// whole answer.
const fetchJS = `async function(path, method, headers, body) {
  const init = {method: method, headers: headers, credentials: "include"};
  if (body !== "") { init.body = body; }
  const r = await fetch(path, init);
  await r.text();
  return r.status;
}`

// credNames are the credential cookies the browser holds after sign-in:
// Config.Cookies when set; else the ones the HTTP run found to be the
// credential (the jar's names, after it told the session cookie from a
// CSRF or locale cookie), even if a page set them before sign-in (Rails'
// session cookie holds the CSRF token); else, when the HTTP run learnt
// none, every cookie that sign-in added.
func credNames(cfg Config, jarNames []string, before, after []*network.Cookie) []string {
	if len(cfg.Cookies) == 0 && len(jarNames) > 0 {
		var out []string
		for _, n := range jarNames {
			if slices.ContainsFunc(after, func(c *network.Cookie) bool { return c.Name == n }) {
				out = append(out, n)
			}
		}
		return out
	}
	had := map[string]bool{}
	for _, c := range before {
		had[c.Name] = true
	}
	var out []string
	for _, c := range after {
		want := !had[c.Name]
		if len(cfg.Cookies) > 0 {
			want = slices.Contains(cfg.Cookies, c.Name)
		}
		if want && !slices.Contains(out, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// logoutForm returns the index of the page's form whose action is the
// logout path on the target's origin, or -1.
func logoutForm(ch *chromium, logout string) (int, error) {
	i, err := evalJS[int](ch, `function(path) {
  const forms = Array.from(document.forms);
  return forms.findIndex((f) => {
    const u = new URL(f.getAttribute("action") || location.href, location.href);
    return u.origin === location.origin && u.pathname === path;
  });
}`, logout)
	if err != nil {
		return -1, fmt.Errorf("looking for a logout form: %w", err)
	}
	return i, nil
}

// signOut is how the browser signed out: the request, and a description.
type signOut struct {
	req *netReq
	via string
}

// browserSignOut signs out as the page would: by its logout form when it
// has one (clicking the form's button), by following a link when sign-out
// is a GET, else by a script's request to Config.Logout (with the method
// the run signs out with) carrying the CSRF token the usual ways.
func (r *runner) browserSignOut(ch *chromium, form int, cookies []*network.Cookie) (signOut, error) {
	cfg := r.cfg
	var q *netReq
	var err error
	how := ""
	if form >= 0 {
		how = "the logout form"
		q, err = ch.act(submitJS, ch.at(cfg.Logout), form)
	} else if r.logoutMethod == http.MethodGet {
		// A sign-out that is a GET is a link: follow it.
		how = "a link to " + cfg.Logout
		q, err = ch.act(followJS, ch.at(cfg.Logout), ch.at(cfg.Logout))
	} else {
		method := r.logoutMethod
		how = "a script's " + method + " " + cfg.Logout
		hdr, herr := csrfHeaders(ch, cfg, cookies)
		if herr != nil {
			return signOut{}, herr
		}
		q, err = ch.act(fetchJS, ch.at(cfg.Logout), ch.at(cfg.Logout), method, hdr, "")
	}
	if err != nil {
		return signOut{}, fmt.Errorf("signing out with %s: %w", how, err)
	}
	if q == nil {
		return signOut{}, fmt.Errorf("signing out with %s: nothing was sent to %s within %v", how, cfg.Logout, cfg.Timeout)
	}
	st := q.status()
	if st == 0 || st >= 400 {
		what := fmt.Sprintf("answered %d", st)
		if st == 0 {
			what = "failed: " + q.errText
		}
		return signOut{}, fmt.Errorf("signing out with %s: %s %s %s", how, q.method, cfg.Logout, what)
	}
	if form >= 0 {
		how = fmt.Sprintf("the logout form (%s %s)", q.method, cfg.Logout)
	}
	return signOut{req: q, via: fmt.Sprintf("%s, %d", how, st)}, nil
}

// csrfHeaders are the headers that carry a CSRF token the conventional
// ways: the csrftoken cookie as X-CSRFToken (Django), XSRF-TOKEN as
// X-XSRF-TOKEN (Angular, Laravel), <meta name="csrf-token"> as
// X-CSRF-Token (Rails); and Config.CSRFCookie as Config.CSRFHeader.
func csrfHeaders(ch *chromium, cfg Config, cookies []*network.Cookie) (map[string]string, error) {
	h := map[string]string{}
	val := func(name string) string {
		for _, c := range cookies {
			if c.Name == name {
				if v, err := url.PathUnescape(c.Value); err == nil {
					return v
				}
				return c.Value
			}
		}
		return ""
	}
	for _, cv := range csrfCookies {
		if v := val(cv[0]); v != "" {
			h[cv[1]] = v
		}
	}
	meta, err := evalJS[string](ch, `function() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : "";
}`)
	if err != nil {
		return nil, fmt.Errorf("reading the page's csrf-token: %w", err)
	}
	if meta != "" {
		h["X-CSRF-Token"] = meta
	}
	// As the HTTP client: --csrf-cookie goes in --csrf-header, by default
	// X-CSRF-Token.
	if cfg.CSRFCookie != "" {
		if v := val(cfg.CSRFCookie); v != "" {
			h[or(cfg.CSRFHeader, "X-CSRF-Token")] = v
		}
	} else if cfg.CSRFHeader != "" && meta != "" {
		h[cfg.CSRFHeader] = meta
	}
	return h, nil
}

// setMarkers leaves an entry in each storage the page can write, to see
// Clear-Site-Data "storage" clear it, and returns their names.
func setMarkers(ch *chromium) ([]string, error) {
	set, err := evalJS[[]string](ch, `async function(key) {
  const set = [];
  try { localStorage.setItem(key, "1"); set.push("localStorage"); } catch (e) {}
  try { sessionStorage.setItem(key, "1"); set.push("sessionStorage"); } catch (e) {}
  try {
    if (self.caches) {
      const c = await caches.open(key);
      await c.put(new Request(location.origin + "/" + key), new Response("1"));
      set.push("Cache Storage");
    }
  } catch (e) {}
  return set;
}`, marker)
	if err != nil {
		return nil, fmt.Errorf("leaving markers in the page's storage: %w", err)
	}
	return set, nil
}

// keptMarkers returns the markers of set still there.
func keptMarkers(ch *chromium, set []string) ([]string, error) {
	kept, err := evalJS[[]string](ch, `async function(key) {
  const kept = [];
  try { if (localStorage.getItem(key) !== null) kept.push("localStorage"); } catch (e) {}
  try { if (sessionStorage.getItem(key) !== null) kept.push("sessionStorage"); } catch (e) {}
  try { if (self.caches && await caches.has(key)) kept.push("Cache Storage"); } catch (e) {}
  return kept;
}`, marker)
	if err != nil {
		return nil, fmt.Errorf("reading the markers after logout: %w", err)
	}
	var out []string
	for _, k := range kept {
		if slices.Contains(set, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// history is the tab's navigation history.
func history(ch *chromium) (page.GetNavigationHistoryResult, error) {
	ctx, cancel := ch.step()
	defer cancel()
	h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err == nil && (h.CurrentIndex < 0 || int(h.CurrentIndex) >= len(h.Entries)) {
		err = errors.New("no current entry")
	}
	if err != nil {
		return h, fmt.Errorf("reading the tab's history: %w", err)
	}
	return h, nil
}

// goBack goes back in history to entry, the page signed out from, as the
// Back button does, and returns what of the signed-in text it shows (the
// user's identifier, or the whole text unchanged), how Chromium showed it,
// and why it could not, if it could not. It waits for the page to load, or
// to be restored from the back/forward cache, and gives a script of the
// page backSettle to hide what it shows.
func (r *runner) goBack(ch *chromium, entry int64, signedIn string) (private, how, failed string) {
	ctx, cancel := ch.step()
	defer cancel()
	m := ch.mark()
	ch.mu.Lock()
	ch.notUsed = nil
	ch.mu.Unlock()
	if _, err := chromedp.Call(ctx, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: entry}); err != nil {
		return "", "", "Back: " + err.Error()
	}
	var doc *netReq
	err := ch.waitUntil(ctx, func() bool {
		if ch.restores > m.restores {
			return true
		}
		for _, id := range ch.order[m.reqs:] {
			if q := ch.reqs[id]; q.doc {
				doc = q
			}
		}
		return ch.loads > m.loads || (doc != nil && doc.errText != "")
	})
	if err != nil {
		return "", "", "Back: the page did not load within " + ch.cfg.Timeout.String()
	}
	ch.mu.Lock()
	switch {
	case ch.restores > m.restores:
		how = "Chromium restored it from its back/forward cache"
	case doc == nil:
		how = "Chromium showed it again without a request (from memory)"
	case len(doc.hops) > 0 && doc.hops[len(doc.hops)-1].FromDiskCache:
		how = "Chromium showed it from its HTTP cache"
	case doc.errText != "":
		how = "Chromium could not load it again: " + doc.errText
	default:
		how = fmt.Sprintf("Chromium loaded it again: %d", doc.status())
		if n := len(doc.hops); n > 1 {
			how += fmt.Sprintf(", then %s %d", ch.pathOf(doc.hops[n-1].URL), doc.hops[n-1].Status)
		}
	}
	if len(ch.notUsed) > 0 && ch.restores == m.restores {
		how += " (not from the back/forward cache: " + strings.Join(ch.notUsed[:min(3, len(ch.notUsed))], ", ") + ")"
	}
	ch.mu.Unlock()

	// Give the page's scripts their chance to hide what it shows.
	settle, stop := context.WithTimeout(ctx, min(backSettle, ch.cfg.Timeout))
	defer stop()
	var text string
	for {
		t, err := ch.text()
		if err == nil {
			text = t
			if private = r.privateIn(text, signedIn); private == "" {
				return "", how, ""
			}
		} else if !contextGone(err) {
			return "", how, "reading the page after Back: " + err.Error()
		}
		select {
		case <-settle.Done():
			if private != "" && !strings.Contains(text, r.cfg.User) {
				// The same text, without the user's identifier: private
				// only if a fresh load, signed out, shows something else.
				ctx, cancel := ch.step()
				err := chromedp.Do(ctx, chromedp.Reload())
				cancel()
				if fresh, terr := ch.text(); err == nil && terr == nil && fresh == signedIn {
					return "", how + "; a fresh load, signed out, shows the same", ""
				}
			}
			return private, how, ""
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// privateIn says what of the signed-in page a page shown after logout
// still shows: the user's identifier, or the signed-in text itself.
func (r *runner) privateIn(text, signedIn string) string {
	switch {
	case r.cfg.User != "" && strings.Contains(text, r.cfg.User):
		return "the user's identifier (" + r.cfg.User + ")"
	case signedIn != "" && text == signedIn:
		return "the signed-in page's text, unchanged"
	}
	return ""
}

// hideBrowserSecrets keeps the password out of a browser error; the
// report's scrubber replaces the credentials.
func (r *runner) hideBrowserSecrets(s string) string {
	if pw := r.cfg.Password.Reveal(); pw != "" {
		s = strings.ReplaceAll(s, pw, "(hidden)")
	}
	return s
}

// browserCookies is R21 as the browser sees it: after logout, no credential
// cookie is left in Chromium's store.
func (r *runner) browserCookies(s *browserSeen) {
	if len(s.left) > 0 {
		var names []string
		for _, c := range s.left {
			names = append(names, fmt.Sprintf("%s (domain %s, path %s)", c.Name, c.Domain, c.Path))
		}
		ev := fmt.Sprintf("after logout (%s) Chromium still holds %s", s.logout, strings.Join(names, ", "))
		if len(s.blocked) > 0 {
			ev += "; it refused logout's Set-Cookie for " + strings.Join(s.blocked, "; ")
		}
		r.addTitled("R21", titleBrowserCookies, Fail, "%s", ev)
		return
	}
	ev := fmt.Sprintf("after logout (%s) Chromium holds none of %s", s.logout, strings.Join(s.creds, ", "))
	if len(s.renewed) > 0 {
		ev += fmt.Sprintf(" with the value it held signed in; after logout the site set %s anew, to another value", strings.Join(s.renewed, ", "))
	}
	if slices.ContainsFunc(clearTypes(s.csd), func(t csdType) bool { return t.quoted && (t.name == "cookies" || t.name == "*") }) {
		ev += ` (Clear-Site-Data "cookies" removes them whatever the deletions say; the HTTP R21 checks those)`
	}
	r.addTitled("R21", titleBrowserCookies, Pass, "%s", ev)
}

// csdType is one type a Clear-Site-Data header names.
type csdType struct {
	name   string
	quoted bool
}

// clearTypes parses a Clear-Site-Data value. Browsers act only on quoted
// types; an unquoted one is kept, marked.
func clearTypes(v string) []csdType {
	var out []csdType
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		q := len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"'
		out = append(out, csdType{strings.ToLower(strings.Trim(p, `"`)), q})
	}
	return out
}

// browserClearSiteData is R26 as the browser sees it: what logout's
// Clear-Site-Data names is gone. The header's absence is the HTTP R26's
// finding, not counted twice.
func (r *runner) browserClearSiteData(s *browserSeen) {
	if s.csd == "" {
		r.addTitled("R26", titleBrowserClear, Skip, "logout sent no Clear-Site-Data (R26)")
		return
	}
	var bad, good []string
	done := map[string]bool{}
	for _, t := range clearTypes(s.csd) {
		for _, kind := range []string{"cookies", "storage"} {
			if (t.name != kind && t.name != "*") || done[kind] {
				continue
			}
			done[kind] = true
			var left []string
			named := "the cookies"
			if kind == "cookies" {
				for _, c := range s.site {
					left = append(left, c.Name)
				}
			} else {
				left, named = s.kept, strings.Join(s.set, ", ")
			}
			switch {
			case len(left) > 0 && kind == "cookies":
				bad = append(bad, fmt.Sprintf("%q is named, but Chromium still holds %s", t.name, strings.Join(left, ", ")))
			case len(left) > 0:
				bad = append(bad, fmt.Sprintf("%q is named, but the page's %s entries are still there", t.name, strings.Join(left, ", ")))
			case named != "" && !t.quoted:
				good = append(good, named+" (gone, though "+t.name+" is not quoted)")
			case named != "":
				good = append(good, named)
			}
			if len(left) > 0 && !t.quoted {
				bad[len(bad)-1] += " (" + t.name + " is not quoted: browsers ignore it)"
			}
		}
	}
	switch {
	case len(bad) > 0:
		r.addTitled("R26", titleBrowserClear, Fail, "Clear-Site-Data: %s: %s", s.csd, strings.Join(bad, "; "))
	case len(good) == 0:
		r.addTitled("R26", titleBrowserClear, Skip, "Clear-Site-Data: %s names nothing a page can see cleared (only \"cookies\" and \"storage\" are checked)", s.csd)
	default:
		r.addTitled("R26", titleBrowserClear, Pass, "Clear-Site-Data: %s cleared %s", s.csd, strings.Join(good, ", "))
	}
}

// backAfterLogout is R26b: after logout, Back to the page signed out from
// shows nothing private.
func (r *runner) backAfterLogout(s *browserSeen) {
	b := s.back
	switch {
	case b.failed != "":
		r.add("R26b", Skip, "after logout (%s), %s", s.logout, b.failed)
	case b.private != "":
		r.add("R26b", Fail, "after logout (%s), Back to %s still shows %s: %s", s.logout, b.path, b.private, b.how)
	default:
		r.add("R26b", Pass, "after logout (%s), Back to %s shows nothing of the signed-in page: %s", s.logout, b.path, b.how)
	}
}
