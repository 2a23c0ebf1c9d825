package server_test

import (
	"strings"
	"testing"

	"github.com/signoff/signoff"
)

// I1, R4, R5, R37: right after logout, every credential of the session fails:
// the cookie, the refresh token and the access token.
func TestLogoutKillsEveryOldCredential(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		c := e.client()
		c.login(e.newUser())
		expect(t, "me before logout", c.do("GET", "/api/me", nil), 200)

		oldCookie := c.cookie(credName(mode))
		oldAT := c.at
		if oldCookie == "" {
			t.Fatalf("no %s cookie after login", credName(mode))
		}
		r := c.do("POST", "/logout", nil)
		expect(t, "logout", r, 200)
		if got := r.json(t)["ok"]; got != true {
			t.Fatalf("logout body %s", r.text())
		}

		// The old cookie, replayed by hand.
		cookie := credName(mode) + "=" + oldCookie
		if mode == signoff.ModeSession {
			expect(t, "old session cookie on /api/me", e.raw("GET", "/api/me", nil, "Cookie", cookie), 401)
			expect(t, "old session cookie on /verify", e.raw("GET", "/verify", nil, "Cookie", cookie), 401)
			return
		}
		// jwt: the old refresh token, as a cookie and as a native body.
		expect(t, "old refresh cookie", e.raw("POST", "/refresh", nil, "Cookie", cookie), 401)
		expect(t, "old refresh token in a body", e.raw("POST", "/refresh", map[string]string{"refresh_token": oldCookie}), 401)
		// The old access token, still inside its 5-minute TTL.
		r = e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+oldAT)
		expect(t, "old access token", r, 401)
		if got := r.h.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Fatalf("R40: WWW-Authenticate = %q", got)
		}
		expect(t, "old access token on /verify", e.raw("GET", "/verify", nil, "Authorization", "Bearer "+oldAT), 401)
	})
}

// A native client gets its refresh token in the body and sends it back in the
// body, at refresh and at logout; after logout both its tokens are dead.
func TestNativeClientLogout(t *testing.T) {
	e := newEnv(t, signoff.ModeJWT)
	email := e.newUser()
	r := e.raw("POST", "/login", map[string]string{"email": email, "password": password, "client": "native"})
	expect(t, "native login", r, 200)
	if r.setCookie("__Host-refresh") != "" {
		t.Fatal("a native login set the refresh cookie")
	}
	rt, at := r.str(t, "refresh_token"), r.str(t, "access_token")
	if rt == "" || at == "" {
		t.Fatalf("native login body lacks tokens: %v", r.json(t))
	}
	r = e.raw("POST", "/refresh", map[string]string{"refresh_token": rt})
	expect(t, "native refresh", r, 200)
	rt2, at2 := r.str(t, "refresh_token"), r.str(t, "access_token")
	if rt2 == "" || rt2 == rt {
		t.Fatalf("refresh did not rotate: new %s, old %s", fp(rt2), fp(rt))
	}
	expect(t, "logout with the body token", e.raw("POST", "/logout", map[string]string{"refresh_token": rt2}), 200)
	expect(t, "the logged-out refresh token", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt2}), 401)
	for i, tok := range []string{at, at2} {
		expect(t, "access token "+string(rune('1'+i)), e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+tok), 401)
	}
}

// I4, R36, R21, R22, R26: logout with a missing or garbage credential still
// answers 200 with the deletion cookie and Clear-Site-Data.
func TestLogoutWithGarbageStillClears(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		c := e.client()
		login := c.login(e.newUser())
		set := login.setCookie(credName(mode))
		for name, hdr := range map[string][]string{
			"no credential":    nil,
			"garbage":          {"Cookie", credName(mode) + "=garbage"},
			"well-formed junk": {"Cookie", credName(mode) + "=" + strings.Repeat("A", 43)},
			"garbage bearer":   {"Authorization", "Bearer not.a.token"},
		} {
			r := e.raw("POST", "/logout", nil, hdr...)
			expect(t, "logout with "+name, r, 200)
			del := r.setCookie(credName(mode))
			checkDeletion(t, set, del)
			if got := r.h.Get("Clear-Site-Data"); got != `"cache", "cookies", "storage"` {
				t.Fatalf("R26: Clear-Site-Data = %q", got)
			}
			if got := r.h.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("R25: Cache-Control = %q", got)
			}
		}
		// The real session was not touched by those.
		expect(t, "me after others' garbage logouts", c.do("GET", "/api/me", nil), 200)
	})
}

// checkDeletion compares a deletion with the Set-Cookie that created the
// cookie: same name, Path, Domain, Secure, HttpOnly, SameSite (R21), empty
// value, Max-Age=0 and an Expires in the past (R22).
func checkDeletion(t *testing.T, set, del string) {
	t.Helper()
	if del == "" {
		t.Fatal("no deletion Set-Cookie")
	}
	attrs := func(line string) map[string]string {
		m := map[string]string{}
		for i, part := range strings.Split(line, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if i == 0 {
				m["name"], m["value"] = k, v
				continue
			}
			m[strings.ToLower(k)] = v
		}
		return m
	}
	s, d := attrs(set), attrs(del)
	for _, k := range []string{"name", "path", "domain", "secure", "httponly", "samesite"} {
		if s[k] != d[k] {
			t.Fatalf("R21: deletion differs in %s: set %q, delete %q", k, s[k], d[k])
		}
	}
	if d["value"] != "" || d["max-age"] != "0" || !strings.Contains(d["expires"], "1970") {
		t.Fatalf("R22: deletion %q needs an empty value, Max-Age=0 and an Expires in the past", del)
	}
	if !strings.HasPrefix(d["name"], "__Host-") || d["path"] != "/" || d["domain"] != "" {
		t.Fatalf("R16: %q is not a __Host- cookie with Path=/ and no Domain", del)
	}
	if _, ok := d["secure"]; !ok {
		t.Fatalf("R21: a __Host- deletion without Secure is ignored by browsers: %q", del)
	}
}

// I3, R27: logout is a POST; GET and HEAD change nothing.
func TestLogoutIsAPost(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		c := e.client()
		c.login(e.newUser())
		for _, m := range []string{"GET", "HEAD"} {
			r := c.do(m, "/logout", nil)
			expect(t, m+" /logout", r, 405)
			if got := r.h.Get("Allow"); got != "POST" {
				t.Fatalf("%s /logout: Allow = %q", m, got)
			}
			if r.setCookie(credName(mode)) != "" {
				t.Fatalf("%s /logout touched the cookie", m)
			}
		}
		expect(t, "me after GET /logout", c.do("GET", "/api/me", nil), 200)
		if mode == signoff.ModeJWT {
			expect(t, "refresh after GET /logout", c.do("POST", "/refresh", nil), 200)
		}
	})
}

// R28, R29: a cross-site POST is refused and leaves the session alive; a
// same-origin one works.
func TestCrossSiteLogoutIsRefused(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		c := e.client()
		c.login(e.newUser())
		for name, hdr := range map[string][]string{
			"Sec-Fetch-Site: cross-site": {"Sec-Fetch-Site", "cross-site"},
			"Sec-Fetch-Site: same-site":  {"Sec-Fetch-Site", "same-site"},
			"Origin: https://evil.test":  {"Origin", "https://evil.test"},
		} {
			for _, path := range []string{"/logout", "/logout/all"} {
				r := c.do("POST", path, nil, hdr...)
				expect(t, path+" with "+name, r, 403)
				if r.setCookie(credName(mode)) != "" {
					t.Fatalf("a refused %s still touched the cookie", path)
				}
			}
		}
		expect(t, "me after the refused logouts", c.do("GET", "/api/me", nil), 200)
		expect(t, "same-origin logout", c.do("POST", "/logout", nil, "Sec-Fetch-Site", "same-origin", "Origin", e.URL), 200)
		expect(t, "me after logout", c.do("GET", "/api/me", nil), 401)
	})
}

// R30: JSON routes refuse the content types a cross-site form can send.
func TestJSONRoutesRefuseSimpleContentTypes(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	email := e.newUser()
	body := `{"email":"` + email + `","password":"` + password + `"}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		for _, path := range []string{"/login", "/register", "/logout"} {
			r := e.raw("POST", path, body, "Content-Type", ct)
			expect(t, path+" as "+ct, r, 415)
			if r.setCookie("__Host-session") != "" {
				t.Fatalf("%s as %s set a cookie", path, ct)
			}
		}
	}
	expect(t, "login as JSON", e.raw("POST", "/login", body, "Content-Type", "application/json; charset=utf-8"), 200)
}

// I6: logout everywhere kills every device and every access token minted
// before, cached or not.
func TestLogoutEverywhere(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b, c := e.client(), e.client(), e.client()
		a.login(email)
		b.login(email)
		c.login(email)
		other := e.client()
		other.login(e.newUser())
		for _, x := range []*client{a, b, c} {
			expect(t, "me before", x.do("GET", "/api/me", nil), 200) // warm every cache
		}
		bCookie, bAT := b.cookie(credName(mode)), b.at

		r := a.do("POST", "/logout/all", nil)
		expect(t, "logout/all", r, 200)
		if got := r.json(t)["revoked"]; got != float64(3) {
			t.Fatalf("revoked = %v, want 3", got)
		}
		for i, x := range []*client{a, b, c} {
			expect(t, "device "+string(rune('A'+i))+" after logout/all", x.do("GET", "/api/me", nil), 401)
		}
		if mode == signoff.ModeJWT {
			expect(t, "B's old refresh token", e.raw("POST", "/refresh", map[string]string{"refresh_token": bCookie}), 401)
			expect(t, "B's old access token", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+bAT), 401)
		} else {
			expect(t, "B's old cookie", e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+bCookie), 401)
		}
		expect(t, "another user", other.do("GET", "/api/me", nil), 200)
		// Signing in again works and is not caught by the bumped auth_version.
		a.login(email)
		expect(t, "me after signing in again", a.do("GET", "/api/me", nil), 200)
		// logout/all needs a valid credential.
		expect(t, "logout/all without a credential", e.raw("POST", "/logout/all", nil), 401)
	})
}

// R8: revoking one device leaves the others.
func TestRevokeOneDevice(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		a, b := e.client(), e.client()
		a.login(email)
		rb := b.login(email)
		bID, _ := rb.json(t)["session"].(map[string]any)["id"].(string)

		r := a.do("GET", "/sessions", nil)
		expect(t, "list", r, 200)
		list := r.json(t)["sessions"].([]any)
		if len(list) != 2 {
			t.Fatalf("sessions: %s", r.text())
		}
		current := 0
		for _, s := range list {
			if s.(map[string]any)["current"] == true {
				current++
			}
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current", current)
		}
		expect(t, "revoke B", a.do("DELETE", "/sessions/"+bID, nil), 204)
		expect(t, "B after revoke", b.do("GET", "/api/me", nil), 401)
		if mode == signoff.ModeJWT {
			expect(t, "B's refresh after revoke", b.do("POST", "/refresh", nil), 401)
		}
		expect(t, "A after revoking B", a.do("GET", "/api/me", nil), 200)

		// Another user's session cannot be revoked, nor even seen to exist.
		o := e.client()
		ro := o.login(e.newUser())
		oID := ro.json(t)["session"].(map[string]any)["id"].(string)
		expect(t, "revoke someone else's session", a.do("DELETE", "/sessions/"+oID, nil), 404)
		expect(t, "the other user after the attempt", o.do("GET", "/api/me", nil), 200)
		expect(t, "GET /sessions/{id}", a.do("GET", "/sessions/"+oID, nil), 405)
	})
}

// R1, R2: login mints a fresh session and the one the browser had dies; a
// client-chosen value is never adopted.
func TestLoginMintsAFreshSession(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		c := e.client()
		c.login(email)
		s0, at0 := c.cookie(credName(mode)), c.at
		c.login(email)
		s1 := c.cookie(credName(mode))
		if s1 == "" || s1 == s0 {
			t.Fatalf("R1: login did not mint a new value (%s then %s)", fp(s0), fp(s1))
		}
		if mode == signoff.ModeSession {
			expect(t, "R1: S0 after a new login", e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+s0), 401)
		} else {
			expect(t, "R1: RT0 after a new login", e.raw("POST", "/refresh", map[string]string{"refresh_token": s0}), 401)
			expect(t, "R1: AT0 after a new login", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+at0), 401)
		}
		expect(t, "the new session", c.do("GET", "/api/me", nil), 200)

		// R2: a value the client made up is refused, and login replaces it.
		chosen := strings.Repeat("Q", 43)
		expect(t, "R2: a chosen value", e.raw("GET", "/api/me", nil, "Cookie", credName(mode)+"="+chosen), 401)
		r := e.raw("POST", "/login", map[string]string{"email": email, "password": password}, "Cookie", credName(mode)+"="+chosen)
		expect(t, "login with a chosen value", r, 200)
		if set := r.setCookie(credName(mode)); strings.Contains(set, chosen) || set == "" {
			t.Fatal("R2: login adopted the client's value")
		}
	})
}
