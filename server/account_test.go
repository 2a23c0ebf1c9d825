package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
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

// revokedKeeping checks an answer that ended n other sessions and kept this
// device: 200 {"ok":true,"revoked":n}, no-store, and no deletion of this
// device's cookie nor Clear-Site-Data.
func revokedKeeping(t *testing.T, mode signoff.Mode, what string, r *response, n int) {
	t.Helper()
	expect(t, what, r, 200)
	if js := r.json(t); js["ok"] != true || js["revoked"] != float64(n) {
		t.Fatalf("%s: body %s, want ok and revoked %d", what, r.text(), n)
	}
	if r.setCookie(credName(mode)) != "" || r.h.Get("Clear-Site-Data") != "" {
		t.Fatalf("%s cleared this device", what)
	}
	if got := r.h.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("%s: Cache-Control = %q", what, got)
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

		revokedKeeping(t, mode, "logout/others", a.c.do("POST", "/logout/others", nil), 2)
		e.mustBeDead(mode, b, "B after logout/others")
		e.mustBeDead(mode, c, "C after logout/others")
		e.mustWork(mode, a, "A after logout/others")
		e.mustWork(mode, other, "another user")

		r := a.c.do("GET", "/sessions", nil)
		expect(t, "sessions", r, 200)
		if list := r.json(t)["sessions"].([]any); len(list) != 1 || list[0].(map[string]any)["current"] != true {
			t.Fatalf("sessions after logout/others: %s", r.text())
		}
		// An empty JSON body is fine too; nothing left to end.
		revokedKeeping(t, mode, "logout/others again, with {}", a.c.do("POST", "/logout/others", map[string]any{}), 0)

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

const newPassword = "a different horse, still stapled"

// passwordIs checks that email's password is pw and not old: a sign-in
// with pw gets 200, with old 401.
func (e *env) passwordIs(email, pw, old, why string) {
	e.t.Helper()
	expect(e.t, why+": sign in with the password", e.raw("POST", "/login", map[string]string{"email": email, "password": pw}), 200)
	expect(e.t, why+": sign in with the other password", e.raw("POST", "/login", map[string]string{"email": email, "password": old}), 401)
}

// detail is a problem+json answer's detail.
func detail(t *testing.T, r *response) string {
	t.Helper()
	if ct := r.h.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want problem+json: %s", r.status, ct, r.text())
	}
	return r.str(t, "detail")
}

// R7: a password change ends the other devices by default (their old
// cookie, refresh token and access token all refused) and keeps this one;
// the new password signs in and the old one does not. Nothing raw reaches
// the log, and the audit line names the user and the session.
func TestChangePasswordSignsOutOthers(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b := e.signIn(mode, email), e.signIn(mode, email)
		other := e.signIn(mode, e.newUser())

		r := a.c.do("POST", "/password", map[string]string{"current_password": password, "new_password": newPassword})
		revokedKeeping(t, mode, "change the password (sign_out_others absent)", r, 1)
		e.mustBeDead(mode, b, "R7: the other device after the password change")
		e.mustWork(mode, a, "R7: this device after the password change")
		e.mustWork(mode, other, "another user")
		e.passwordIs(email, newPassword, password, "R7: after the change")

		var audit map[string]any
		for _, l := range e.logLines() {
			if l["msg"] == "password.changed" {
				audit = l
			}
		}
		me := a.c.do("GET", "/api/me", nil).json(t)
		user := me["user"].(map[string]any)["id"]
		session := me["session"].(map[string]any)["id"]
		if audit == nil || audit["user"] != user || audit["session"] != session || audit["ended"] != float64(1) {
			t.Fatalf("audit line %v, want user %v, session %v, ended 1", audit, user, session)
		}
		for _, secret := range []string{password, newPassword, email} {
			if strings.Contains(e.logs.String(), secret) {
				t.Fatal("a password or the email is in the log")
			}
		}
	})
}

// R7: with "sign_out_others": false the other devices stay signed in, and
// the password still changes.
func TestChangePasswordKeepingOthers(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b := e.signIn(mode, email), e.signIn(mode, email)
		r := a.c.do("POST", "/password", map[string]any{"current_password": password, "new_password": newPassword, "sign_out_others": false})
		revokedKeeping(t, mode, "change the password, keeping the others", r, 0)
		e.mustWork(mode, b, "the other device, kept")
		e.mustWork(mode, a, "this device")
		e.passwordIs(email, newPassword, password, "after a change keeping the others")
		// "sign_out_others": true says so explicitly.
		r = a.c.do("POST", "/password", map[string]any{"current_password": newPassword, "new_password": password, "sign_out_others": true})
		// b, and the sign-in with the new password
		revokedKeeping(t, mode, "change it back, signing the others out", r, 2)
		e.mustBeDead(mode, b, "the other device, now signed out")
		e.mustWork(mode, a, "this device, still")
	})
}

// A wrong current password or a weak new one is 400 (never 401: the session
// is alive) and changes nothing; the route needs a live credential, is a
// POST, and in session mode refuses a cross-site request.
func TestChangePasswordRefusals(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b := e.signIn(mode, email), e.signIn(mode, email)

		r := a.c.do("POST", "/password", map[string]string{"current_password": "not the password", "new_password": newPassword})
		expect(t, "a wrong current password", r, 400)
		if got := detail(t, r); got != "the current password is wrong" {
			t.Fatalf("detail %q", got)
		}
		r = a.c.do("POST", "/password", map[string]string{"current_password": password, "new_password": "short"})
		expect(t, "a weak new password", r, 400)
		reg := e.raw("POST", "/register", map[string]string{"email": "weak@example.test", "password": "short"})
		if got, want := detail(t, r), detail(t, reg); got != want {
			t.Fatalf("weak password detail %q, register says %q", got, want)
		}
		expect(t, "no current password", a.c.do("POST", "/password", map[string]string{"new_password": newPassword}), 400)
		expect(t, "no body (nor Content-Type)", a.c.do("POST", "/password", nil), 415)
		expect(t, "an unknown field", a.c.do("POST", "/password", map[string]any{"current_password": password, "new_password": newPassword, "all": true}), 400)
		expect(t, "without a credential", e.raw("POST", "/password", map[string]string{"current_password": password, "new_password": newPassword}), 401)
		for _, m := range []string{"GET", "PUT"} {
			if r := a.c.do(m, "/password", nil); r.status != 405 || r.h.Get("Allow") != "POST" {
				t.Fatalf("%s /password: %d, Allow %q; want 405, POST", m, r.status, r.h.Get("Allow"))
			}
		}
		if mode == signoff.ModeSession {
			r := a.c.do("POST", "/password", map[string]string{"current_password": password, "new_password": newPassword}, "Sec-Fetch-Site", "cross-site")
			expect(t, "a cross-site password change", r, 403)
		}
		// Nothing changed: both devices work, the old password signs in, the new one does not.
		e.mustWork(mode, a, "this device after the refusals")
		e.mustWork(mode, b, "the other device after the refusals")
		e.passwordIs(email, password, newPassword, "after the refusals")
		if strings.Contains(e.logs.String(), "not the password") {
			t.Fatal("the wrong current password is in the log")
		}
	})
}

// R39: wrong current passwords count as failed logins of the account from
// this client, so a held session is no way around sign-in's limit.
func TestChangePasswordIsRateLimited(t *testing.T) {
	e, _ := limitedEnv(t)
	email := e.newUser()
	a := e.signIn(signoff.ModeSession, email)
	wrong := map[string]string{"current_password": "guess", "new_password": newPassword}
	for i := range 3 {
		expect(t, fmt.Sprintf("wrong guess %d", i+1), a.c.do("POST", "/password", wrong), 400)
	}
	expect429(t, "a fourth guess", a.c.do("POST", "/password", wrong))
	expect429(t, "the right password while limited", a.c.do("POST", "/password", map[string]string{"current_password": password, "new_password": newPassword}))
	expect429(t, "a sign-in from the same client while limited", e.raw("POST", "/login", map[string]string{"email": email, "password": "guess"}))
	e.mustWork(signoff.ModeSession, a, "the session, which guessing does not end")
}

// When the other devices cannot be signed out after the new password is
// stored, the answer is 503 and says the password did change, so the user
// is not told to retry with a password that is no longer current.
func TestChangePasswordOthersNotEnded(t *testing.T) {
	var down atomic.Bool
	f := &fakeStore{Store: memstore.New()}
	f.listSessions = func(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
		if down.Load() {
			return nil, errors.New("fakestore: injected outage")
		}
		return f.Store.ListSessions(ctx, userID, now)
	}
	e := newEnv(t, signoff.ModeSession, withFakeStore(t, f))
	email := e.newUser()
	a, b := e.signIn(signoff.ModeSession, email), e.signIn(signoff.ModeSession, email)
	down.Store(true)
	r := a.c.do("POST", "/password", map[string]string{"current_password": password, "new_password": newPassword})
	expect(t, "a change whose sign-out of the others fails", r, 503)
	if got := detail(t, r); !strings.Contains(got, "the password was changed") {
		t.Fatalf("detail %q does not say the password changed", got)
	}
	down.Store(false)
	e.passwordIs(email, newPassword, password, "after a change whose sign-out of the others failed")
	e.mustWork(signoff.ModeSession, b, "the other device, not yet signed out")
	r = a.c.do("POST", "/logout/others", nil)
	expect(t, "sign out other devices again", r, 200)
	e.mustBeDead(signoff.ModeSession, b, "the other device after the retry")
	e.mustWork(signoff.ModeSession, a, "this device")
}
