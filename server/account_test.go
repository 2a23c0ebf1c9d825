package server_test

import (
	"testing"

	"github.com/signoff/signoff"
)

// device is a signed-in client and its credentials as they were, to replay
// after they should have died.
type device struct {
	c      *client
	cookie string // the session cookie, or jwt mode's refresh cookie
	at     string // jwt mode's access token
}

// signIn signs a new client in as email and keeps its credentials.
func (e *env) signIn(mode signoff.Mode, email string) *device {
	e.t.Helper()
	c := e.client()
	c.login(email)
	expect(e.t, "me after sign-in", c.do("GET", "/api/me", nil), 200) // warm the caches
	return &device{c: c, cookie: c.cookie(credName(mode)), at: c.at}
}

// mustBeDead replays d's old credentials by hand, each on its own: every one
// is refused.
func (e *env) mustBeDead(mode signoff.Mode, d *device, why string) {
	e.t.Helper()
	if mode == signoff.ModeSession {
		expect(e.t, why+": old session cookie", e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+d.cookie), 401)
		expect(e.t, why+": old session cookie on /verify", e.raw("GET", "/verify", nil, "Cookie", "__Host-session="+d.cookie), 401)
		return
	}
	expect(e.t, why+": old access token", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+d.at), 401)
	expect(e.t, why+": old refresh cookie", e.raw("POST", "/refresh", nil, "Cookie", "__Host-refresh="+d.cookie), 401)
	expect(e.t, why+": old refresh token in a body", e.raw("POST", "/refresh", map[string]string{"refresh_token": d.cookie}), 401)
}

// mustWork checks that d is still signed in: its access token or cookie is
// taken, and in jwt mode its refresh cookie still rotates.
func (e *env) mustWork(mode signoff.Mode, d *device, why string) {
	e.t.Helper()
	expect(e.t, why+": /api/me", d.c.do("GET", "/api/me", nil), 200)
	if mode == signoff.ModeJWT {
		r := d.c.do("POST", "/refresh", nil)
		expect(e.t, why+": refresh", r, 200)
		d.c.at = r.str(e.t, "access_token")
		expect(e.t, why+": /api/me with the new access token", d.c.do("GET", "/api/me", nil), 200)
	}
}

// R7, R8: "sign out other devices" ends every other session of the user,
// whose old credentials are all refused, and keeps this one signed in.
func TestLogoutOthers(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b, c := e.signIn(mode, email), e.signIn(mode, email), e.signIn(mode, email)
		other := e.signIn(mode, e.newUser())

		r := a.c.do("POST", "/logout/others", nil)
		expect(t, "logout/others", r, 200)
		if js := r.json(t); js["ok"] != true || js["revoked"] != float64(2) {
			t.Fatalf("logout/others body %s, want ok and revoked 2", r.text())
		}
		if r.setCookie(credName(mode)) != "" || r.h.Get("Clear-Site-Data") != "" {
			t.Fatal("logout/others cleared this device")
		}
		if got := r.h.Get("Cache-Control"); got != "no-store" {
			t.Fatalf("Cache-Control = %q", got)
		}
		e.mustBeDead(mode, b, "B after logout/others")
		e.mustBeDead(mode, c, "C after logout/others")
		e.mustWork(mode, a, "A after logout/others")
		e.mustWork(mode, other, "another user")

		r = a.c.do("GET", "/sessions", nil)
		expect(t, "sessions", r, 200)
		if list := r.json(t)["sessions"].([]any); len(list) != 1 || list[0].(map[string]any)["current"] != true {
			t.Fatalf("sessions after logout/others: %s", r.text())
		}
		// An empty JSON body is fine too; nothing left to end.
		r = a.c.do("POST", "/logout/others", map[string]any{})
		expect(t, "logout/others again, with {}", r, 200)
		if got := r.json(t)["revoked"]; got != float64(0) {
			t.Fatalf("revoked = %v, want 0", got)
		}

		expect(t, "logout/others without a credential", e.raw("POST", "/logout/others", nil), 401)
		for _, m := range []string{"GET", "HEAD"} {
			if r := a.c.do(m, "/logout/others", nil); r.status != 405 || r.h.Get("Allow") != "POST" {
				t.Fatalf("%s /logout/others: %d, Allow %q; want 405, POST", m, r.status, r.h.Get("Allow"))
			}
		}
		expect(t, "a body that is not empty", a.c.do("POST", "/logout/others", map[string]any{"all": true}), 400)
		// A cross-site request is refused and ends nothing.
		d := e.signIn(mode, email)
		expect(t, "cross-site logout/others", a.c.do("POST", "/logout/others", nil, "Sec-Fetch-Site", "cross-site"), 403)
		e.mustWork(mode, d, "D after a refused cross-site logout/others")
		e.mustWork(mode, a, "A at the end")
	})
}
