package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/servetest"
	"github.com/signoff/signoff/server"
)

// Issue 12 from the browser's side: Chromium walks the whole forward-auth
// flow through the real nginx of docs/forward-auth.md (the same
// nginx.conf TestProxyForwardAuth runs), in front of a real signoff
// and echoApp. Session mode only: in jwt mode a browser holds no credential
// /verify can read (docs/forward-auth.md), so it never reaches the app.

// TestProxyBrowserFlowNginx: the browser asks for the app, is sent to
// signoff's sign-in page on the same host, signs in with the page's form, is
// sent back to the app, which is told who it is; it signs out on signoff's
// page, and then neither it nor a replay of the cookie it held reaches the
// app again.
func TestProxyBrowserFlowNginx(t *testing.T) {
	chromiumPath(t) // skip before starting anything when there is no browser

	// 1. signoff, the app, and nginx in front of both. signoff's ReturnTo
	// names the app's origin (nginx's): rd is an absolute address, and
	// /return follows one only to a listed origin (docs/forward-auth.md).
	listen := servetest.FreeAddr(t)
	base := "http://" + listen
	appHost, hits := echoApp(t)
	e := newEnv(t, signoff.ModeSession, func(c *server.Config) { c.ReturnTo = []string{base} })
	runProxy(t, "nginx", sameHost.files, map[string]string{"LISTEN": listen, "APP": appHost, "SIGNOFF": e.host})
	p := via(e, base)
	email := e.newUser()
	// The address the browser asks for, query and all: it comes back whole.
	const path = "/docs/page?x=1&y=a+b"
	page := base + path
	signinPath := "/signin?rd=" + url.QueryEscape(page)
	signin := base + signinPath

	// signoff, asked through nginx, agrees to send the browser back to the
	// app (the Host it sees is the browser's: nginx passes $http_host).
	r := p.noFollow("GET", "/return?rd="+url.QueryEscape(page), nil)
	expect(t, "GET /return through nginx", r, http.StatusOK)
	if got := r.str(t, "return"); got != page {
		t.Fatalf("GET /return?rd=%s through nginx: return %q, want %q", page, got, page)
	}

	b := newBrowser(t, e)
	docs := watchDocuments(t, b)
	// Chromium asks every page's host for /favicon.ico, which on this host
	// is the app's (signoff's page names no icon): blocked, so that every
	// request the app gets is a page this test opened.
	if _, err := chromedp.Call(b.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: base + "/favicon.ico", Block: true}},
	}); err != nil {
		t.Fatalf("blocking /favicon.ico: %v", err)
	}

	// 2. The app, asked without a credential, sends the browser to
	// signoff's sign-in form on the same host, with the address it wanted.
	docs.reset()
	res := navigate(b, "open the app signed out", page)
	if res.URL != signin || res.Status != http.StatusOK {
		t.Fatalf("opening %s signed out ended at %d %s, want 200 %s", page, res.Status, res.URL, signin)
	}
	docs.expect("opening the app signed out", "302 "+page, "200 "+signin)
	b.waitFor("signoff's sign-in form", signedOutShown(""))
	expectSignInPage(b, e, signin)
	if n := hits(); n != 0 {
		t.Fatalf("the app was reached %d times before sign-in", n)
	}

	// 3. Sign in with the page's form: the page follows rd back to the
	// app, which answers as the signed-in user.
	b.fill(email)
	docs.reset()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("signin")))
	cancel()
	if err != nil {
		t.Fatalf("click Sign in: the browser did not go back to %s: %v; %s; documents %v", page, err, b.state(), docs.list())
	}
	if res.URL != page || res.Status != http.StatusOK {
		t.Fatalf("after sign-in the browser is at %d %s, want 200 %s", res.Status, res.URL, page)
	}
	docs.expect("sign-in", "200 "+page)
	if got := eval[[]string](b, "the app's page", `[location.href, document.contentType]`); !slices.Equal(got, []string{page, "application/json"}) {
		t.Fatalf("after sign-in the page is %q, want the app's JSON at %s", got, page)
	}
	body, err := chromedp.Call(b.ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: docs.lastID()})
	if err != nil {
		t.Fatalf("the body of %s: %v", page, err)
	}
	var app map[string]string
	if err := json.Unmarshal(body.Body, &app); err != nil {
		t.Fatalf("the app's page is not the echo app's JSON: %v", err)
	}
	// Who signoff says is signed in, asked by the page itself, through nginx.
	var me struct {
		User    struct{ ID, Email string }
		Session struct{ ID string }
	}
	meJSON := eval[string](b, "GET /api/me from the app's page",
		`fetch("/api/me", {credentials: "same-origin", cache: "no-store"}).then((r) => r.ok ? r.text() : "status " + r.status)`)
	if err := json.Unmarshal([]byte(meJSON), &me); err != nil || me.User.ID == "" || me.Session.ID == "" {
		t.Fatalf("GET /api/me from the app's page: %v %.200s", err, redact(meJSON))
	}
	want := map[string]string{"path": path, "user": me.User.ID, "email": email, "session": me.Session.ID}
	if me.User.Email != email || !maps.Equal(app, want) {
		t.Fatalf("the app saw %v, want %v (/api/me: %s)", app, want, me.User.Email)
	}
	before := hits()
	if before != 1 {
		t.Fatalf("the app was reached %d times, want once (the page after sign-in)", before)
	}

	// 4. The credential is signoff's session cookie, host-only on the
	// app's host (nginx's), Secure and HttpOnly. Chromium stores a
	// __Host- cookie only if it is Secure, Path=/ and has no Domain.
	cred := expectCredCookie(t, e, b.cookies())
	if cred.Name != "__Host-session" {
		t.Fatalf("the credential cookie is %q, want __Host-session", cred.Name)
	}
	old := cred.Value
	expect(t, "the browser's cookie on the app through nginx, before sign-out",
		p.noFollow("GET", "/api/me", nil, "Cookie", cred.Name+"="+old), http.StatusOK)

	// 5. Sign out on signoff's page on the app's host: signed in, it
	// shows the account.
	docs.reset()
	res = navigate(b, "open signoff's page signed in", base+"/signin")
	if res.URL != base+"/signin" || res.Status != http.StatusOK {
		t.Fatalf("opening %s/signin ended at %d %s", base, res.Status, res.URL)
	}
	docs.expect("opening signoff's page signed in", "200 "+base+"/signin")
	b.waitFor("the account page", accountShown(email))
	b.do("click Sign out", chromedp.Click(chromedp.ID("signout")))
	b.waitFor("the page says signed out", signedOutShown("Signed out."))
	if left := b.cookies(); len(left) != 0 {
		t.Fatalf("after sign-out the browser still has %v (old session %s); refused Set-Cookie lines: %v",
			cookieNames(left), fp(old), b.blockedCookies())
	}

	// 6. The very next visit to the app is sent to sign-in, and the app
	// is not reached.
	docs.reset()
	res = navigate(b, "open the app after sign-out", page)
	if res.URL != signin || res.Status != http.StatusOK {
		t.Fatalf("opening %s after sign-out ended at %d %s, want 200 %s", page, res.Status, res.URL, signin)
	}
	docs.expect("opening the app after sign-out", "302 "+page, "200 "+signin)
	b.waitFor("signoff's sign-in form after sign-out", signedOutShown(""))
	expectSignInPage(b, e, signin)
	if n := hits(); n != before {
		t.Fatalf("the app was reached %d times after sign-out", n-before)
	}

	// 7. The cookie the browser held is dead: replayed through nginx, a
	// browser is sent to sign-in and an API client gets 401, and the app
	// is not reached; signoff itself refuses it too. The browser holds no
	// session cookie.
	oldCookie := "__Host-session=" + old
	r = p.noFollow("GET", path, nil, "Cookie", oldCookie, "Accept", "text/html,application/xhtml+xml")
	expect(t, "the old session cookie "+fp(old)+" through nginx, as a browser", r, http.StatusFound)
	if loc := r.h.Get("Location"); loc != signinPath {
		t.Fatalf("the old session cookie through nginx: Location %q, want %q", loc, signinPath)
	}
	r = p.noFollow("GET", path, nil, "Cookie", oldCookie, "Accept", "application/json")
	expect(t, "the old session cookie "+fp(old)+" through nginx, as an API client", r, http.StatusUnauthorized)
	if loc := r.h.Get("Location"); loc != "" {
		t.Fatalf("the old session cookie through nginx, as an API client: a 401 with Location %q", loc)
	}
	expect(t, "the old session cookie "+fp(old)+" on /api/me through nginx",
		p.noFollow("GET", "/api/me", nil, "Cookie", oldCookie), http.StatusUnauthorized)
	replayOld(t, e, "after sign-out through nginx", old, "")
	if n := hits(); n != before {
		t.Fatalf("the app was reached %d times after sign-out", n-before)
	}
	for _, c := range b.cookies() {
		if c.Name == "__Host-session" {
			t.Fatalf("the browser still holds a session cookie after sign-out (%s)", fp(c.Value))
		}
	}
}

// navigate loads u in b's tab and returns the response of the document it
// ends at, after any redirects.
func navigate(b *browser, what, u string) *network.Response {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("%s: %v; %s", what, err, b.state())
	}
	return res
}

// expectSignInPage checks that the tab shows signoff's sign-in form at
// signin: signoff's page (its mode, its form), not the app.
func expectSignInPage(b *browser, e *env, signin string) {
	b.t.Helper()
	if loc := eval[string](b, "location", "location.href"); loc != signin {
		b.t.Fatalf("the sign-in page is at %s, want %s", loc, signin)
	}
	if got := eval[string](b, "mode", `document.getElementById("mode").textContent`); got != e.cfg.Mode.String() {
		b.t.Fatalf("the page says mode %q, the server runs %q", got, e.cfg.Mode)
	}
	ok := eval[bool](b, "the sign-in form", `!!document.querySelector("#signin-form #email") && !!document.querySelector("#signin-form #password") && !!document.querySelector("#signin-form #signin")`)
	if !ok {
		b.t.Fatal("the sign-in page has no sign-in form")
	}
}

// documents records the tab's document responses, redirects included, as
// "STATUS URL".
type documents struct {
	t    *testing.T
	mu   sync.Mutex
	l    []string
	last network.RequestID // of the last response
}

func watchDocuments(t *testing.T, b *browser) *documents {
	t.Helper()
	d := &documents{t: t}
	err := chromedp.Listen(b.ctx, func(ev any) {
		d.mu.Lock()
		defer d.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Type == network.ResourceTypeDocument && ev.RedirectResponse != nil {
				d.l = append(d.l, fmt.Sprintf("%d %s", ev.RedirectResponse.Status, ev.RedirectResponse.URL))
			}
		case *network.EventResponseReceived:
			if ev.Type == network.ResourceTypeDocument {
				d.l = append(d.l, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
				d.last = ev.RequestID
			}
		}
	})
	if err != nil {
		t.Fatalf("listening to the browser: %v", err)
	}
	return d
}

func (d *documents) reset() {
	d.mu.Lock()
	d.l = nil
	d.mu.Unlock()
}

func (d *documents) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.l)
}

// lastID is the request of the last document response.
func (d *documents) lastID() network.RequestID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// expect checks the documents since the last reset.
func (d *documents) expect(what string, want ...string) {
	d.t.Helper()
	if got := d.list(); !slices.Equal(got, want) {
		d.t.Fatalf("%s: the browser loaded %q, want %q", what, got, want)
	}
}
