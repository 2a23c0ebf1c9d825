package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff"
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
	b.waitFor(what+": the app's page is shown", fmt.Sprintf(
		`location.href === %q && document.getElementById("marker")?.textContent === %q`, want, marker))
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
