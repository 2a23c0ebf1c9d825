package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/server"
)

// The account app's device and password features, in Chromium, checked from
// both sides: what the page shows, and that the server refuses what a
// signed-out browser held.

// heldCred is what a signed-in browser held: its credential cookie and, in
// jwt mode, the access token the page got at sign-in.
type heldCred struct {
	cookie, at string
}

// signInHeld opens the page in b, signs in as email and returns what b now
// holds.
func signInHeld(b *browser, email string) heldCred {
	b.t.Helper()
	b.open()
	at := accessToken(b.t, b.e.cfg.Mode, b.signIn(email))
	return heldCred{cookie: expectCredCookie(b.t, b.e, b.cookies()).Value, at: at}
}

// expectAlive checks on the server that c still signs its device in: the
// session cookie in session mode, the access token in jwt mode (replaying
// the refresh cookie would rotate it under the browser's feet).
func expectAlive(t *testing.T, e *env, what string, c heldCred) {
	t.Helper()
	if e.cfg.Mode == signoff.ModeSession {
		expect(t, what+": its session cookie "+fp(c.cookie)+" on /api/me", e.raw("GET", "/api/me", nil, "Cookie", credName(e.cfg.Mode)+"="+c.cookie), 200)
		return
	}
	expect(t, what+": its access token "+fp(c.at)+" on /api/me", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+c.at), 200)
}

// expectRevokedHere checks that b, signed out by another device, finds out at
// its next action: the sign-in form with the app's words for it, no
// credential left in the browser, and the one it held refused by the server.
func expectRevokedHere(b *browser, what string, old heldCred) {
	b.t.Helper()
	if st := b.whoAmI(); st != 401 {
		b.t.Fatalf("%s: the device's next request, GET /api/me: %d, want 401", what, st)
	}
	b.waitFor(what+": the device shows the sign-in form and why", signedOutShown("You were signed out on this device."))
	if left := b.cookies(); len(left) != 0 {
		b.t.Fatalf("%s: the browser still has %v", what, cookieNames(left))
	}
	replayOld(b.t, b.e, what, old.cookie, old.at)
}

// devicesListed is true when the page lists n devices, itself among them.
func devicesListed(n int) string {
	return fmt.Sprintf(`document.querySelectorAll("#devices li").length === %d && document.querySelectorAll("#devices li.current").length === 1`, n)
}

// twoDevices starts a server in mode and signs one user in from two
// browsers (two profiles, so two devices), B first; it returns once A lists
// both.
func twoDevices(t *testing.T, mode signoff.Mode) (e *env, email string, a, b *browser, aHeld, bHeld heldCred) {
	t.Helper()
	e = newEnv(t, mode)
	email = e.newUser()
	a, b = newBrowser(t, e), newBrowser(t, e)
	bHeld = signInHeld(b, email)
	aHeld = signInHeld(a, email)
	a.waitFor("A lists both devices", devicesListed(2))
	return e, email, a, b, aHeld, bHeld
}

// TestBrowserSignOutOtherDevices signs one user in from two browsers (two
// profiles, so two devices). A's "Sign out other devices" ends B: B's next
// action lands on the sign-in form with "You were signed out on this
// device.", and what B held is refused by the server. A stays signed in, on
// the page and on the server, and lists only itself.
func TestBrowserSignOutOtherDevices(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e, email, a, b, aHeld, bHeld := twoDevices(t, mode)
		if eval[bool](a, "the button", `document.getElementById("signout-others").disabled`) {
			t.Fatal("Sign out other devices is disabled while another device is listed")
		}

		a.do("click Sign out other devices", chromedp.Click(chromedp.ID("signout-others")))
		a.waitFor("A says it signed the other device out and lists only itself",
			`document.getElementById("status").textContent === "Signed out 1 device. This device is still signed in." && `+devicesListed(1))

		expectRevokedHere(b, "B after A signed out the other devices", bHeld)

		if st := a.whoAmI(); st != 200 {
			t.Fatalf("A after signing out the others: GET /api/me %d, want 200", st)
		}
		a.waitFor("A still shows its account and only itself", accountShown(email)+" && "+devicesListed(1))
		expectAlive(t, e, "A after signing out the others", aHeld)
	})
}

// submitSignIn types email and pw into the sign-in form and submits it.
func (b *browser) submitSignIn(email, pw string) {
	b.t.Helper()
	b.do("sign in as "+email, signInSteps(email, pw))
}

// signInSteps is the action that types email and pw into the sign-in form
// and submits it.
func signInSteps(email, pw string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Evaluate[chromedp.Void](`document.getElementById("email").value = ""; document.getElementById("password").value = ""`),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("signin")),
	}
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, s := range steps {
			if _, err := s(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}

// changePassword changes the password from current to next through the
// account's form, with "Sign out my other devices" as signOutOthers says
// (it must be on by default), and waits for the page's confirmation.
func (b *browser) changePassword(current, next string, signOutOthers bool, confirmation string) {
	b.t.Helper()
	if on := eval[bool](b, "the checkbox", `document.getElementById("sign-out-others").checked`); !on {
		b.t.Fatal(`"Sign out my other devices" is not checked by default`)
	}
	if !signOutOthers {
		b.do("uncheck Sign out my other devices", chromedp.Click(chromedp.ID("sign-out-others")))
		if on := eval[bool](b, "the checkbox", `document.getElementById("sign-out-others").checked`); on {
			b.t.Fatal(`"Sign out my other devices" is still checked after a click`)
		}
	}
	b.do("fill in and submit the password form",
		chromedp.SendKeys(chromedp.ID("current-password"), current),
		chromedp.SendKeys(chromedp.ID("new-password"), next),
		chromedp.Click(chromedp.ID("change-password")),
	)
	b.waitFor("the page confirms the password change",
		fmt.Sprintf(`document.getElementById("status").textContent === %q && document.getElementById("alert").textContent === ""`, confirmation))
}

// TestBrowserChangePassword changes the password on A's account page while B
// is signed in as the same user. With "Sign out my other devices" (on by
// default) B is signed out — on its page and on the server — and A is not;
// B then cannot sign in with the old password (the page says "Wrong email or
// password.") and can with the new one. Unchecked, B stays signed in.
func TestBrowserChangePassword(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		t.Run("sign-out-others", func(t *testing.T) {
			e, email, a, b, aHeld, bHeld := twoDevices(t, mode)

			a.changePassword(password, newPassword, true, "Password changed. Signed out 1 device.")
			a.waitFor("A lists only itself", devicesListed(1))

			expectRevokedHere(b, "B after A changed the password", bHeld)

			if st := a.whoAmI(); st != 200 {
				t.Fatalf("A after changing the password: GET /api/me %d, want 200", st)
			}
			a.waitFor("A still shows its account", accountShown(email))
			expectAlive(t, e, "A after changing the password", aHeld)

			b.submitSignIn(email, password)
			b.waitFor("B, with the old password, is told it is wrong and stays signed out",
				`document.getElementById("alert").textContent === "Wrong email or password." && `+
					`!document.getElementById("signed-out").hidden && document.getElementById("signed-in").hidden && document.getElementById("who").textContent === ""`)
			if left := b.cookies(); len(left) != 0 {
				t.Fatalf("a refused sign-in left %v in the browser", cookieNames(left))
			}
			b.submitSignIn(email, newPassword)
			b.waitFor("B, with the new password, is signed in", accountShown(email)+` && document.getElementById("alert").textContent === ""`)
			if st := b.whoAmI(); st != 200 {
				t.Fatalf("B signed in with the new password: GET /api/me %d, want 200", st)
			}
			e.passwordIs(email, newPassword, password, "after the change in the browser")
		})

		t.Run("keep-others", func(t *testing.T) {
			e, email, a, b, aHeld, bHeld := twoDevices(t, mode)

			a.changePassword(password, newPassword, false, "Password changed.")
			a.waitFor("A still lists both devices", devicesListed(2))

			if st := b.whoAmI(); st != 200 {
				t.Fatalf("B after a change that kept the other devices: GET /api/me %d, want 200", st)
			}
			b.waitFor("B still shows the account, both devices listed", accountShown(email)+" && "+devicesListed(2))
			expectAlive(t, e, "B after a change that kept it", bHeld)
			expectAlive(t, e, "A after the change", aHeld)
			e.passwordIs(email, newPassword, password, "after a change that kept the other devices")
		})
	})
}

// appServer is another origin on loopback, standing for an application
// behind a forward-auth proxy: its page shows marker, and it counts the
// pages it serves (not Chromium's /favicon.ico).
func appServer(t *testing.T, marker string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>app</title><p id=\"marker\">%s</p>", marker)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// openAt loads the page at path (with its query) and waits for it to settle
// on the signed-out form.
func (b *browser) openAt(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.e.URL+path))
	b.waitFor("the page shows the sign-in form", signedOutShown(""))
}

// expectLeftFor waits, while trigger runs, until the tab has navigated to
// want, and then for want's page to show marker.
func (b *browser) expectLeftFor(what, want, marker string, trigger chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.FrameNavigated,
		func(ev page.EventFrameNavigated) bool { return ev.Frame.ParentID == "" && ev.Frame.URL == want }, trigger))
	if err != nil {
		b.t.Fatalf("%s: the browser did not go to %s: %v; %s", what, want, err, b.state())
	}
	// The new document's execution context may replace the one the poll
	// starts in: poll does again, within the usual bound.
	expr := fmt.Sprintf(`location.href === %q && document.getElementById("marker")?.textContent === %q`, want, marker)
	if err := b.poll(expr); err != nil {
		b.t.Fatalf("%s: waiting for the app's page at %s: %v", what, want, err)
	}
}

// TestBrowserReturnTo: ?rd= naming an origin on Config.ReturnTo (R32) is
// followed after sign-in, and when the page is opened signed in; one naming
// a foreign origin, even another loopback server, is not: the browser stays
// on the account page and the foreign server gets no request.
func TestBrowserReturnTo(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		const marker = "The app, signed in"
		app, appHits := appServer(t, marker)
		evil, evilHits := appServer(t, "not for you")
		e := newEnv(t, mode, func(c *server.Config) { c.ReturnTo = []string{app.URL} })
		email := e.newUser()

		t.Run("allowed", func(t *testing.T) {
			want := app.URL + "/dash?tab=devices"
			b := newBrowser(t, e)
			b.openAt("/?rd=" + url.QueryEscape(want))
			b.expectLeftFor("after sign-in", want, marker, signInSteps(email, password))
			expectCredCookie(t, e, b.cookies())
			// Signed in already, the page follows rd at once.
			b.expectLeftFor("opened signed in", want, marker, chromedp.Navigate(e.URL+"/?rd="+url.QueryEscape(want)))
			if n := appHits.Load(); n != 2 {
				t.Fatalf("the app served %d pages, want 2", n)
			}
		})

		t.Run("foreign", func(t *testing.T) {
			b := newBrowser(t, e)
			for i, rd := range []string{evil.URL + "/steal", "https://evil.test/"} {
				path := "/?rd=" + url.QueryEscape(rd)
				b.openAt(path)
				b.submitSignIn(email, password)
				// The page asks /return before it shows the account: once
				// shown, rd has been refused.
				b.waitFor("the account page is shown for "+rd, accountShown(email)+
					` && document.getElementById("status").textContent === "Signed in." && document.getElementById("alert").textContent === ""`)
				if got := eval[string](b, "location", "location.href"); got != e.URL+path {
					t.Fatalf("after sign-in with rd=%s the browser is at %s, want %s", rd, got, e.URL+path)
				}
				expectCredCookie(t, e, b.cookies())
				if i == 0 {
					b.do("click Sign out", chromedp.Click(chromedp.ID("signout")))
					b.waitFor("the page says signed out", signedOutShown("Signed out."))
				}
			}
			if n := evilHits.Load(); n != 0 {
				t.Fatalf("the foreign server served %d pages", n)
			}
		})
	})
}

// rotationCount is the server's session store, counting the refresh-token
// rotations it performs: fresh ones, and grace retries that hand out the
// same successor again. server.Config has no Hooks; Config.Backend is where
// a test may stand between the Manager and its store.
type rotationCount struct {
	signoff.Store
	fresh, retries atomic.Int64
}

func (s *rotationCount) RotateRefreshToken(ctx context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	rot, err := s.Store.RotateRefreshToken(ctx, parent, child, grace)
	if err == nil {
		if rot.Retry {
			s.retries.Add(1)
		} else {
			s.fresh.Add(1)
		}
	}
	return rot, err
}

// countRotations serves from the SQLite file of the Config, its session
// store wrapped in n.
func countRotations(t *testing.T, n *rotationCount) func(*server.Config) {
	return func(c *server.Config) {
		b, err := server.OpenBackend(context.Background(), server.Stores{Store: c.Store}, server.BackendOptions{})
		if err != nil {
			t.Fatalf("OpenBackend: %v", err)
		}
		t.Cleanup(func() { b.Close() }) // after the server's cleanup, registered later
		n.Store = b.Sessions
		b.Sessions = n
		c.Backend = b
		c.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	}
}

// flightSetupJS gives the tab a client of its own from signoff.js (the
// app's is out of reach, in its module) as window.flight.c, a log of the
// "PATH STATUS" of every fetch the page makes, and the changes the client
// reports.
const flightSetupJS = `(async () => {
  const { createClient } = await import("/static/signoff.js");
  const f = { c: createClient(), log: [], changes: [] };
  f.c.onChange((ch) => f.changes.push(ch));
  const fetch = window.fetch;
  window.fetch = async (input, init) => {
    const res = await fetch(input, init);
    f.log.push(new URL(input instanceof Request ? input.url : String(input), location.href).pathname + " " + res.status);
    return res;
  };
  window.flight = f;
  return true;
})()`

// flightArmJS waits for the test's "go" message (BroadcastChannel
// "test-go"), then calls client.fetch("/api/me") and resolves to its status
// and the tab's fetch log. It sets window.flightArmed to the round once it
// listens.
const flightArmJS = `new Promise((resolve) => {
  const f = window.flight;
  f.log = [];
  const go = new BroadcastChannel("test-go");
  go.onmessage = () => {
    go.close();
    f.c.fetch("/api/me").then(
      (res) => resolve({ status: res.status, log: f.log }),
      (err) => resolve({ status: -1, error: String(err), log: f.log }),
    );
  };
  window.flightArmed = %d;
})`

type flightResult struct {
	Status int      `json:"status"`
	Error  string   `json:"error"`
	Log    []string `json:"log"`
}

// TestBrowserRefreshSingleFlight: jwt mode, two tabs of one browser signed
// in. Each round the server's signing keys are replaced, so both tabs' access
// tokens are refused, and both tabs call client.fetch("/api/me") at the same
// moment (one BroadcastChannel message starts both). Every round, both end
// 200, neither tab is signed out, and the server performs exactly one
// refresh rotation (and no grace retry): the Web Lock lets one tab rotate
// and hands its token to the other.
func TestBrowserRefreshSingleFlight(t *testing.T) {
	const rounds = 10
	var n rotationCount
	_, email, a := startPage(t, signoff.ModeJWT, countRotations(t, &n))
	b := a.newTab()
	b.open()
	a.signIn(email)
	b.waitFor("the second tab shows the account", accountShown(email))
	tabs := []*browser{a, b}
	for _, tab := range tabs {
		if !eval[bool](tab, "set up the tab's client", flightSetupJS) {
			t.Fatal("the tab's client is not set up")
		}
	}
	for i, tab := range tabs {
		if st := eval[int](tab, "the tab client's first request", `window.flight.c.fetch("/api/me").then((r) => r.status)`); st != 200 {
			t.Fatalf("tab %d: the client's first GET /api/me: %d", i, st)
		}
	}

	mgr := a.e.srv.Manager()
	bothRaced := 0
	for round := 1; round <= rounds; round++ {
		// New signing keys, and none of the old: every access token the
		// tabs hold is refused from now on.
		k, err := accesstoken.GenerateKey(accesstoken.EdDSA, time.Now())
		var ks *accesstoken.KeySet
		if err == nil {
			ks, err = accesstoken.NewKeySet(k)
		}
		if err == nil {
			err = mgr.SetKeys(ks)
		}
		if err != nil {
			t.Fatalf("round %d: replacing the signing keys: %v", round, err)
		}
		fresh, retries := n.fresh.Load(), n.retries.Load()

		results := make([]flightResult, len(tabs))
		errs := make([]error, len(tabs))
		var wg sync.WaitGroup
		for i, tab := range tabs {
			wg.Go(func() {
				results[i], errs[i] = chromedp.Run(tab.ctx, chromedp.Evaluate[flightResult](fmt.Sprintf(flightArmJS, round), chromedp.EvalAwaitPromise))
			})
		}
		for i, tab := range tabs {
			tab.waitFor(fmt.Sprintf("round %d: tab %d listens", round, i), fmt.Sprintf("window.flightArmed === %d", round))
		}
		a.do("send go", chromedp.Evaluate[chromedp.Void](`new BroadcastChannel("test-go").postMessage("go")`))
		wg.Wait()

		refreshes, raced := 0, 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("round %d, tab %d: %v", round, i, errs[i])
			}
			if r.Status != 200 {
				t.Fatalf("round %d, tab %d: client.fetch(/api/me) ended %d %s; fetches %v", round, i, r.Status, r.Error, r.Log)
			}
			if len(r.Log) > 0 && r.Log[0] == "/api/me 401" {
				raced++
			}
			for _, l := range r.Log {
				if strings.HasPrefix(l, "/refresh ") {
					refreshes++
				}
			}
		}
		got, gotRetries := n.fresh.Load()-fresh, n.retries.Load()-retries
		t.Logf("round %d: tab fetches %v, %v; rotations %d, grace retries %d", round, results[0].Log, results[1].Log, got, gotRetries)
		if got != 1 || gotRetries != 0 || refreshes != 1 {
			t.Fatalf("round %d: the server rotated %d times (and %d grace retries) on %d POST /refresh from the tabs, want exactly one rotation; fetches %v, %v",
				round, got, gotRetries, refreshes, results[0].Log, results[1].Log)
		}
		if raced == 2 {
			bothRaced++
		}
	}
	t.Logf("both tabs hit 401 at once in %d of %d rounds", bothRaced, rounds)
	if bothRaced == 0 {
		t.Fatal("in no round did both tabs get 401: the rounds did not test two tabs refreshing at once")
	}
	for i, tab := range tabs {
		if out := eval[[]map[string]any](tab, "the changes", "window.flight.changes.filter((ch) => !ch.signedIn)"); len(out) != 0 {
			t.Fatalf("tab %d: the client reported signed out: %v", i, out)
		}
		tab.waitFor(fmt.Sprintf("tab %d still shows the account", i), accountShown(email))
		if st := tab.whoAmI(); st != 200 {
			t.Fatalf("tab %d: the app's Refresh after the rounds: GET /api/me %d", i, st)
		}
	}
}

// TestBrowserRevokedReachesOtherTabs: when this browser's sign-in is ended
// elsewhere (another device signs out everywhere), the tab that meets the
// 401 first tells the browser's other tabs at once, as a sign-out in a tab
// does: the other tab shows the sign-in form without a request of its own.
// In jwt mode the 401 comes from the refresh the tab tries first; the
// client used to mark itself signed out there before the check that tells
// the other tabs, so they learned only at their next request.
func TestBrowserRevokedReachesOtherTabs(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e, email, a, b := twoTabsSignedIn(t, mode)

		other := e.client()
		other.login(email)
		expect(t, "logout/all from another device", other.do("POST", "/logout/all", nil), 200)

		if st := a.whoAmI(); st != 401 {
			t.Fatalf("the first tab's request after logout everywhere: GET /api/me %d, want 401", st)
		}
		a.expectSignedOutPage("the first tab after its 401")
		b.waitFor("the second tab shows signed out, told by the first", signedOutShown("You were signed out on this device."))
	})
}

// TestBrowserBackAfterSignOut: after sign-out, Back to the account page
// shows nothing private, whether Chromium restores the page from its
// back/forward cache (signoff.js's pageshow check) or loads it again (the
// no-store answers): the sign-in form, no account, no devices, and the
// email nowhere on the page.
func TestBrowserBackAfterSignOut(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e, email, b := startPage(t, mode)
		b.signIn(email)
		b.waitFor("the account shows", accountShown(email))
		b.do("click Sign out", chromedp.Click(chromedp.ID("signout")))
		b.waitFor("the page says signed out", signedOutShown("Signed out."))

		b.do("leave for another page", chromedp.Navigate(e.URL+"/healthz"))
		b.do("go Back", chromedp.NavigateBack())
		b.waitFor("Back shows the sign-in form and nothing of the account",
			`location.pathname === "/" && !document.getElementById("signed-out").hidden && document.getElementById("signed-in").hidden && `+
				`document.getElementById("who").textContent === "" && document.getElementById("me").textContent === "" && `+
				`document.getElementById("devices").textContent === ""`)
		if eval[bool](b, "the email on the page", fmt.Sprintf(`document.body.innerText.includes(%q)`, email)) {
			t.Fatalf("after sign-out and Back the page still shows the email; %s", b.state())
		}
		if st := b.fetchStatus("GET", "/api/me"); st != 401 {
			t.Fatalf("GET /api/me from the page after Back: %d, want 401", st)
		}
	})
}

// TestBrowserKeyboard: the app works from the keyboard alone, with a
// visible focus: Tab reaches the email field, typing and Tab fill the form,
// Enter signs in, and Tab then reaches the account's Sign out button, which
// Enter presses. Every element that takes focus on the way shows an outline.
func TestBrowserKeyboard(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		_, email, b := startPage(t, mode)
		tabTo := func(id string) {
			t.Helper()
			for range 12 {
				b.do("press Tab", chromedp.KeyEvent("\t"))
				st := eval[struct {
					ID      string `json:"id"`
					Outline string `json:"outline"`
				}](b, "the focused element", `(() => { const e = document.activeElement; const s = getComputedStyle(e);
					return {id: e.id, outline: s.outlineStyle === "none" || s.outlineWidth === "0px" ? "" : s.outlineStyle + " " + s.outlineWidth}; })()`)
				if st.ID != "" && st.Outline == "" {
					t.Fatalf("#%s has the keyboard focus but no visible outline", st.ID)
				}
				if st.ID == id {
					return
				}
			}
			t.Fatalf("12 presses of Tab never reached #%s; %s", id, b.state())
		}
		tabTo("email")
		b.do("type the email", chromedp.KeyEvent(email))
		b.do("Tab to the password", chromedp.KeyEvent("\t"))
		b.do("type the password and press Enter", chromedp.KeyEvent(password), chromedp.KeyEvent("\r"))
		b.waitFor("Enter signed in", accountShown(email))
		tabTo("signout")
		b.do("press Enter on Sign out", chromedp.KeyEvent("\r"))
		b.waitFor("the keyboard signed out", signedOutShown("Signed out."))
	})
}
