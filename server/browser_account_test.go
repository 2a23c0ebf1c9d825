package server_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff/signoff"
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

// TestBrowserSignOutOtherDevices signs one user in from two browsers (two
// profiles, so two devices). A's "Sign out other devices" ends B: B's next
// action lands on the sign-in form with "You were signed out on this
// device.", and what B held is refused by the server. A stays signed in, on
// the page and on the server, and lists only itself.
func TestBrowserSignOutOtherDevices(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b := newBrowser(t, e), newBrowser(t, e)
		bHeld := signInHeld(b, email)
		aHeld := signInHeld(a, email)
		a.waitFor("A lists both devices", devicesListed(2)+` && !document.getElementById("signout-others").disabled`)

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
