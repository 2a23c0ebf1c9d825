package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
	"github.com/signoff/signoff/store/memstore"
	"github.com/signoff/signoff/store/storetest"
)

// R23: duplicate cookie names never let order decide; prefixes are
// case-exact.
func TestDuplicateCookieNames(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	c := e.client()
	c.login(e.newUser())
	good := c.cookie("__Host-session")
	junk := strings.Repeat("J", 43)
	a := e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+good+"; __Host-session="+junk)
	b := e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+junk+"; __Host-session="+good)
	if a.status != b.status || a.status != 401 {
		t.Fatalf("good;junk → %d, junk;good → %d: want the same answer, 401", a.status, b.status)
	}
	// The same split over two Cookie headers.
	a = e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+good, "Cookie", "__Host-session="+junk)
	b = e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+junk, "Cookie", "__Host-session="+good)
	if a.status != b.status || a.status != 401 {
		t.Fatalf("over two headers: %d vs %d, want 401 both", a.status, b.status)
	}
	expect(t, "the same value twice", e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+good+"; __Host-session="+good), 200)
	expect(t, "__HOST-session", e.raw("GET", "/api/me", nil, "Cookie", "__HOST-session="+good), 401)
	expect(t, "__host-session", e.raw("GET", "/api/me", nil, "Cookie", "__host-session="+good), 401)
	expect(t, "other cookies around it", e.raw("GET", "/api/me", nil, "Cookie", "a=1; __Host-session="+good+"; b=2"), 200)
	// Logout with both values revokes the real one: the outcome of logout
	// does not depend on order either.
	expect(t, "logout with duplicates", e.raw("POST", "/logout", nil, "Cookie", "__Host-session="+junk+"; __Host-session="+good), 200)
	expect(t, "the good cookie after that logout", e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+good), 401)
}

// R24: credentials are never read from the URL.
func TestCredentialsInURLAreIgnored(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		c := e.client()
		c.login(e.newUser())
		cred := c.cookie(credName(mode))
		for _, q := range []string{"session=" + cred, "__Host-session=" + cred, "access_token=" + c.at, "token=" + c.at} {
			expect(t, "?"+strings.SplitN(q, "=", 2)[0], e.raw("GET", "/api/me?"+q, nil), 401)
		}
		if strings.Contains(e.logs.String(), cred) || (c.at != "" && strings.Contains(e.logs.String(), c.at)) {
			t.Fatal("R50: a credential from a URL reached the log")
		}
	})
}

// I8, R25: authenticated responses and every response that carries a
// credential are never cached; Vary: Cookie.
func TestNoStoreEverywhere(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		c := e.client()
		login := c.login(e.newUser())
		check := func(what string, r *response) {
			t.Helper()
			if got := r.h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s: Cache-Control = %q", what, got)
			}
		}
		check("login", login)
		me := c.do("GET", "/api/me", nil)
		check("me", me)
		if !strings.Contains(strings.Join(me.h.Values("Vary"), ","), "Cookie") {
			t.Errorf("me: Vary = %q", me.h.Values("Vary"))
		}
		check("sessions", c.do("GET", "/sessions", nil))
		check("verify", c.do("GET", "/verify", nil))
		check("401", e.raw("GET", "/api/me", nil))
		if mode == signoff.ModeJWT {
			r := c.do("POST", "/refresh", nil)
			check("refresh", r)
			c.at = r.str(t, "access_token")
		}
		check("logout", c.do("POST", "/logout", nil))
	})
}

// Forward-auth: 200 with the user's identity, 401 once logged out.
func TestVerifyForwardAuth(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		c := e.client()
		c.login(email)
		r := c.do("GET", "/verify", nil)
		expect(t, "verify", r, 200)
		if r.h.Get("X-Auth-Email") != email || !strings.HasPrefix(r.h.Get("X-Auth-User"), "usr_") {
			t.Fatalf("verify headers: %v", r.h)
		}
		expect(t, "verify without credentials", e.raw("GET", "/verify", nil), 401)
		expect(t, "POST /verify", c.do("POST", "/verify", nil), 405)
		expect(t, "logout", c.do("POST", "/logout", nil), 200)
		expect(t, "verify after logout", c.do("GET", "/verify", nil), 401)
	})
}

// I3, R28, R29 through forward-auth: a proxy asks /verify about a request
// it holds; when that request's method (X-Forwarded-Method, X-Original-Method)
// is unsafe, the session cookie is an ambient credential and the
// cross-origin rule of signoff's own routes decides, on the browser's
// Sec-Fetch-Site and Origin and the host the proxy names (X-Forwarded-Host).
func TestVerifyForwardedCrossOrigin(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	c := e.client()
	c.login(e.newUser())
	const app = "app.example.test"
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
	}{
		{"unsafe, same-origin", []string{"X-Forwarded-Method", "POST", "X-Forwarded-Host", app, "Sec-Fetch-Site", "same-origin", "Origin", "https://" + app}, 200},
		{"unsafe, Origin matches the forwarded host", []string{"X-Original-Method", "DELETE", "X-Forwarded-Host", app, "Origin", "https://" + app}, 200},
		{"unsafe, no Sec-Fetch-Site nor Origin (not a browser)", []string{"X-Forwarded-Method", "PUT", "X-Forwarded-Host", app}, 200},
		{"unsafe, cross-site", []string{"X-Forwarded-Method", "POST", "X-Forwarded-Host", app, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"}, 403},
		{"unsafe, same-site", []string{"X-Forwarded-Method", "POST", "X-Forwarded-Host", app, "Sec-Fetch-Site", "same-site"}, 403},
		{"unsafe, Origin mismatch without Sec-Fetch-Site", []string{"X-Original-Method", "POST", "X-Forwarded-Host", app, "Origin", "https://evil.test"}, 403},
		{"unsafe, Origin of the app but no forwarded host (nginx's default Host is signoff's)", []string{"X-Original-Method", "POST", "Origin", "https://" + app}, 403},
		{"unsafe in one header of two", []string{"X-Forwarded-Method", "GET", "X-Original-Method", "PATCH", "Sec-Fetch-Site", "cross-site"}, 403},
		{"safe, cross-site", []string{"X-Forwarded-Method", "GET", "X-Forwarded-Host", app, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"}, 200},
		{"no forwarded method, cross-site", []string{"Sec-Fetch-Site", "cross-site"}, 200},
	} {
		r := c.do("GET", "/verify", nil, tc.hdr...)
		expect(t, tc.name, r, tc.status)
		if tc.status == 403 {
			if r.h.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.str(t, "detail"), "cross-origin") {
				t.Errorf("%s: want a problem that says cross-origin, got %s", tc.name, r.text())
			}
			if r.h.Get("X-Auth-User") != "" {
				t.Errorf("%s: a refused verify still named the user", tc.name)
			}
		}
	}
	// Without a session the answer is still 403 for a cross-site unsafe
	// request: the rule does not depend on who is asking.
	expect(t, "cross-site unsafe, no cookie", e.raw("GET", "/verify", nil, "X-Forwarded-Method", "POST", "Sec-Fetch-Site", "cross-site"), 403)

	// In jwt mode the credential is a bearer token, which a cross-site page
	// cannot make a browser send: like /api/me, no cross-origin rule.
	j := newEnv(t, signoff.ModeJWT)
	jc := j.client()
	jc.login(j.newUser())
	expect(t, "jwt mode, bearer, unsafe cross-site", jc.do("GET", "/verify", nil, "X-Forwarded-Method", "POST", "Sec-Fetch-Site", "cross-site"), 200)
}

func TestRegisterAndLoginRules(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	reg := func(email, pw string) *response {
		return e.raw("POST", "/register", map[string]string{"email": email, "password": pw})
	}
	for name, r := range map[string]*response{
		"bad email":        reg("not-an-email", password),
		"display name":     reg("Bob <bob@example.test>", password),
		"short password":   reg("short@example.test", "1234567"),
		"unknown field":    e.raw("POST", "/register", map[string]string{"email": "x@example.test", "password": password, "admin": "yes"}),
		"not JSON":         e.raw("POST", "/register", "{", "Content-Type", "application/json"),
		"two JSON objects": e.raw("POST", "/register", `{"email":"a@example.test","password":"`+password+`"}{}`, "Content-Type", "application/json"),
	} {
		expect(t, name, r, 400)
		if r.h.Get("Content-Type") != "application/problem+json" || r.str(t, "detail") == "" {
			t.Errorf("%s: not a problem with a detail: %s", name, r.text())
		}
	}
	r := reg("  Mixed.Case@Example.TEST ", password)
	expect(t, "register", r, 202)
	email := r.json(t)["email"]
	if email != "mixed.case@example.test" {
		t.Fatalf("email stored as %q", email)
	}
	expect(t, "register again", reg("mixed.case@example.test", password), 202)
	expect(t, "login with other case", e.raw("POST", "/login", map[string]string{"email": "MIXED.case@example.test", "password": password}), 200)
	r = e.raw("POST", "/login", map[string]string{"email": "mixed.case@example.test", "password": "wrong password"})
	expect(t, "wrong password", r, 401)
	r2 := e.raw("POST", "/login", map[string]string{"email": "nobody@example.test", "password": "wrong password"})
	expect(t, "unknown email", r2, 401)
	if r.str(t, "detail") != r2.str(t, "detail") {
		t.Fatalf("wrong password and unknown email answer differently: %q vs %q", r.text(), r2.text())
	}
	expect(t, "bad client", e.raw("POST", "/login", map[string]string{"email": "mixed.case@example.test", "password": password, "client": "robot"}), 400)
	expect(t, "GET /login", e.raw("GET", "/login", nil), 405)

	off := newEnv(t, signoff.ModeSession, func(c *server.Config) { c.NoRegister = true })
	expect(t, "register with --no-register", off.raw("POST", "/register", map[string]string{"email": "a@example.test", "password": password}), 404)
}

// POST /register does not tell whether an address has an account: the same
// status and the same body either way, after the same work (the password is
// hashed before the store is asked to create the user).
func TestRegisterDoesNotTellWhetherAnEmailIsTaken(t *testing.T) {
	f := &fakeStore{Store: memstore.New()}
	var hashed []string // the password hash of every CreateUser call
	f.createUser = func(ctx context.Context, u *signoff.User) error {
		hashed = append(hashed, u.PasswordHash)
		return f.Store.CreateUser(ctx, u)
	}
	e := newEnv(t, signoff.ModeSession, withFakeStore(t, f))
	body := map[string]string{"email": "taken@example.test", "password": password}
	first := e.raw("POST", "/register", body)
	again := e.raw("POST", "/register", map[string]string{"email": "Taken@Example.test", "password": "another password"})
	if first.status != again.status || string(first.body) != string(again.body) {
		t.Fatalf("a new address → %d %s; a taken one → %d %s: want the same answer", first.status, first.text(), again.status, again.text())
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Set-Cookie", "Location"} {
		if first.h.Get(h) != again.h.Get(h) {
			t.Errorf("%s: %q for a new address, %q for a taken one", h, first.h.Get(h), again.h.Get(h))
		}
	}
	if first.status/100 != 2 || first.str(t, "detail") == "" {
		t.Fatalf("register: %d %s; want 2xx with a detail that says what to do next", first.status, first.text())
	}
	if len(hashed) != 2 || hashed[0] == "" || hashed[1] == "" || hashed[0] == hashed[1] {
		t.Fatalf("CreateUser got %d calls; want two, each with its own argon2id hash: the taken address costs the same work", len(hashed))
	}
	// The first password holds; the second registration changed nothing.
	expect(t, "login with the first password", e.raw("POST", "/login", body), 200)
	expect(t, "login with the second password", e.raw("POST", "/login", map[string]string{"email": "taken@example.test", "password": "another password"}), 401)
}

// R39: login, register and refresh are rate-limited per account and per IP,
// with 429 and Retry-After.
func TestRateLimits(t *testing.T) {
	e := newEnv(t, signoff.ModeJWT, func(c *server.Config) {
		c.RateLimit, c.RateLimitSet = server.Rate{N: 3, Per: time.Minute}, true
	})
	email := e.newUser() // one register attempt used from this IP
	var last *response
	for range 4 {
		last = e.raw("POST", "/login", map[string]string{"email": email, "password": "wrong password"})
	}
	expect(t, "4th login for one account", last, 429)
	secs, err := strconv.Atoi(last.h.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After = %q", last.h.Get("Retry-After"))
	}
	// The right password does not get through the limit either.
	expect(t, "login with the right password while limited", e.raw("POST", "/login", map[string]string{"email": email, "password": password}), 429)
	// Another account from the same IP still may (the per-IP limit is 10×).
	other := e.newUser()
	expect(t, "another account", e.raw("POST", "/login", map[string]string{"email": other, "password": password}), 200)
	// Refresh is limited per IP: 30 a minute here.
	statuses := map[int]int{}
	for range 35 {
		statuses[e.raw("POST", "/refresh", map[string]string{"refresh_token": strings.Repeat("r", 43)}).status]++
	}
	if statuses[429] == 0 || statuses[401] == 0 {
		t.Fatalf("35 refreshes from one IP: %v; want some 401 then 429", statuses)
	}
}

// R50: a full flow with recognisable secrets; none reaches the log or an
// error body.
func TestCanarySecretsNeverLeak(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		var b [8]byte
		rand.Read(b[:])
		canaryPW := "canary-" + hex.EncodeToString(b[:])
		email := "canary-" + hex.EncodeToString(b[:4]) + "@example.test"
		secrets := []string{canaryPW}
		var bodies []*response // responses that must not carry a credential

		expect(t, "register", e.raw("POST", "/register", map[string]string{"email": email, "password": canaryPW}), 202)
		bodies = append(bodies, e.raw("POST", "/login", map[string]string{"email": email, "password": canaryPW + "-wrong"}))
		bodies = append(bodies, e.raw("POST", "/register", map[string]string{"email": email, "password": canaryPW}))
		bodies = append(bodies, e.raw("POST", "/register", map[string]string{"email": "x@example.test", "password": "short"}))
		c := e.client()
		r := c.do("POST", "/login", map[string]string{"email": email, "password": canaryPW})
		expect(t, "login", r, 200)
		c.at = r.str(t, "access_token")
		secrets = append(secrets, c.cookie(credName(mode)))
		if c.at != "" {
			secrets = append(secrets, c.at)
		}
		bodies = append(bodies, c.do("GET", "/api/me", nil), c.do("GET", "/sessions", nil), c.do("GET", "/verify", nil))
		if mode == signoff.ModeJWT {
			old := c.cookie("__Host-refresh")
			r := c.do("POST", "/refresh", nil)
			expect(t, "refresh", r, 200)
			c.at = r.str(t, "access_token")
			secrets = append(secrets, c.at, c.cookie("__Host-refresh"))
			// Replays that fail: their error bodies and log lines must not echo.
			bodies = append(bodies, e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+c.at+"x"))
			bodies = append(bodies, e.raw("POST", "/refresh", map[string]string{"refresh_token": old + "x"}))
		}
		bodies = append(bodies, e.raw("GET", "/api/me?session="+secrets[1], nil))
		bodies = append(bodies, c.do("POST", "/logout", nil))
		for _, s := range secrets[1:] {
			bodies = append(bodies, e.raw("GET", "/api/me", nil, "Cookie", credName(mode)+"="+s, "Authorization", "Bearer "+s))
		}
		logs := e.logs.String()
		if !strings.Contains(logs, `"msg":"login"`) || !strings.Contains(logs, `"msg":"logout"`) {
			t.Fatalf("the audit events are missing from the log:\n%s", logs)
		}
		for i, s := range secrets {
			if s == "" {
				t.Fatalf("secret %d is empty: the test lost track of a credential", i)
			}
			if strings.Contains(logs, s) {
				t.Errorf("secret %d (%s) is in the log", i, fp(s))
			}
			for _, r := range bodies {
				if strings.Contains(string(r.body), s) {
					t.Errorf("secret %d (%s) is in a %d response body", i, fp(s), r.status)
				}
			}
		}
		if !strings.Contains(logs, "fp:") {
			t.Error("the log names no credential by fingerprint")
		}
	})
}

// storeOutage returns a Config change that puts the server on a memstore
// behind a storetest.FaultStore, and the switch that takes that store down:
// while it is true, every store call fails.
func storeOutage(t *testing.T) (func(*server.Config), *atomic.Bool) {
	mem := memstore.New()
	down := &atomic.Bool{}
	st := &storetest.FaultStore{Store: mem, Users: mem, Fault: func(string) error {
		if down.Load() {
			return errors.New("memstore: injected outage")
		}
		return nil
	}}
	return func(c *server.Config) {
		c.Backend = &server.Backend{Sessions: st, Users: st, Bus: &signoff.LocalBus{}}
		c.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	}, down
}

// I11, R38, R52: when the store fails, protected requests get 503 and never
// 200, logout gets 503 and deletes nothing, and after recovery nothing
// revoked comes back.
func TestStoreOutageFailsClosed(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		outage, down := storeOutage(t)
		e := newEnv(t, mode, outage)
		email := e.newUser()
		gone, kept := e.client(), e.client()
		gone.login(email)
		kept.login(email)
		goneCred, goneAT := gone.cookie(credName(mode)), gone.at
		expect(t, "logout before the outage", gone.do("POST", "/logout", nil), 200)

		down.Store(true)
		// kept has made no request yet, so nothing of it is cached: the
		// server must ask the store, and may only answer 503.
		expect(t, "me during the outage", kept.do("GET", "/api/me", nil), 503)
		r := kept.do("POST", "/logout", nil)
		expect(t, "logout during the outage", r, 503)
		if len(r.h.Values("Set-Cookie")) != 0 {
			t.Fatalf("R38: a failed logout sent Set-Cookie %q", r.h.Values("Set-Cookie"))
		}
		expect(t, "readyz during the outage", e.raw("GET", "/readyz", nil), 503)
		expect(t, "login during the outage", e.raw("POST", "/login", map[string]string{"email": email, "password": password}), 503)

		down.Store(false)
		expect(t, "the revoked cookie after recovery", e.raw("GET", "/api/me", nil, "Cookie", credName(mode)+"="+goneCred), 401)
		if mode == signoff.ModeJWT {
			expect(t, "the revoked refresh token after recovery", e.raw("POST", "/refresh", map[string]string{"refresh_token": goneCred}), 401)
			expect(t, "the revoked access token after recovery", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+goneAT), 401)
		}
		expect(t, "the kept session after recovery", kept.do("GET", "/api/me", nil), 200)
		expect(t, "logout after recovery", kept.do("POST", "/logout", nil), 200)
		expect(t, "readyz after recovery", e.raw("GET", "/readyz", nil), 200)
	})
}

func TestOperationalRoutes(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	expect(t, "healthz", e.raw("GET", "/healthz", nil), 200)
	expect(t, "readyz", e.raw("GET", "/readyz", nil), 200)
	r := e.raw("GET", "/nope", nil)
	expect(t, "unknown route", r, 404)
	if r.h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("404 is %q", r.h.Get("Content-Type"))
	}
	expect(t, "jwks in session mode", e.raw("GET", "/.well-known/jwks.json", nil), 404)
	expect(t, "refresh in session mode", e.raw("POST", "/refresh", nil), 404)
	r = e.raw("GET", "/", nil)
	expect(t, "the web app", r, 200)
	if !strings.Contains(string(r.body), `content="session"`) || r.h.Get("Content-Security-Policy") == "" {
		t.Fatalf("index: %s", r.text())
	}
	expect(t, "app.js", e.raw("GET", "/static/app.js", nil), 200)

	j := newEnv(t, signoff.ModeJWT)
	r = j.raw("GET", "/.well-known/jwks.json", nil)
	expect(t, "jwks", r, 200)
	if !strings.Contains(string(r.body), `"kty":"OKP"`) || strings.Contains(string(r.body), `"d"`) {
		t.Fatalf("jwks: %s", r.text())
	}
}

// Refresh is limited per account too, and a refused refresh leaves the
// token unspent: the client comes back after Retry-After with the same one.
func TestRefreshRateLimitPerAccount(t *testing.T) {
	clk := &fakeClock{}
	clk.set(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	e := newEnv(t, signoff.ModeJWT, withClock(clk), func(c *server.Config) {
		c.RateLimit, c.RateLimitSet = server.Rate{N: 3, Per: time.Minute}, true
	})
	c := e.client()
	c.login(e.newUser())
	for i := range 3 {
		expect(t, fmt.Sprintf("refresh %d", i+1), c.do("POST", "/refresh", nil), 200)
	}
	before := c.cookie("__Host-refresh")
	r := c.do("POST", "/refresh", nil)
	expect(t, "4th refresh of one account within a minute", r, 429)
	if secs, err := strconv.Atoi(r.h.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After = %q", r.h.Get("Retry-After"))
	}
	if got := c.cookie("__Host-refresh"); got != before {
		t.Fatalf("the refused refresh changed the refresh cookie (%s → %s)", fp(before), fp(got))
	}
	// Another account from the same IP is not held up.
	other := e.client()
	other.login(e.newUser())
	expect(t, "another account's refresh", other.do("POST", "/refresh", nil), 200)
	// After the window the same token works: it was not spent (a spent one
	// would now count as reuse and end the session).
	clk.add(time.Minute)
	r = c.do("POST", "/refresh", nil)
	expect(t, "refresh after Retry-After with the token the 429 left", r, 200)
	c.at = r.str(t, "access_token")
	expect(t, "the session is still alive", c.do("GET", "/api/me", nil), 200)
}

// Register is limited per account (the email) and every action per client
// IP, at ten times the per-account rate: one IP cannot spray passwords over
// many accounts, and the window reopens on time.
func TestRateLimitsPerIPAndRegister(t *testing.T) {
	clk := &fakeClock{}
	clk.set(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	e := newEnv(t, signoff.ModeSession, withClock(clk), func(c *server.Config) {
		c.RateLimit, c.RateLimitSet = server.Rate{N: 2, Per: time.Minute}, true
	})
	body := map[string]string{"email": "reg@example.test", "password": password}
	expect(t, "register", e.raw("POST", "/register", body), 202)
	expect(t, "register again: taken, and the same answer", e.raw("POST", "/register", body), 202)
	expect(t, "a third register of one email within the minute", e.raw("POST", "/register", body), 429)

	statuses := map[int]int{}
	for i := range 25 {
		r := e.raw("POST", "/login", map[string]string{"email": fmt.Sprintf("spray%d@example.test", i), "password": password})
		statuses[r.status]++
	}
	// 20 logins an IP a minute; no account was tried twice.
	if statuses[401] != 20 || statuses[429] != 5 {
		t.Fatalf("25 logins over 25 accounts from one IP: %v; want 20 × 401 then 5 × 429", statuses)
	}
	clk.add(time.Minute)
	expect(t, "a login after the window", e.raw("POST", "/login", map[string]string{"email": "reg@example.test", "password": password}), 200)
}

// loginFrom signs in to email with pw from the client IP ip (the server is
// --behind-proxy, so X-Forwarded-For names the client).
func (e *env) loginFrom(ip, email, pw string) *response {
	e.t.Helper()
	return e.raw("POST", "/login", map[string]string{"email": email, "password": pw}, "X-Forwarded-For", ip)
}

// expect429 checks a 429 that says when to come back.
func expect429(t *testing.T, what string, r *response) {
	t.Helper()
	expect(t, what, r, 429)
	if secs, err := strconv.Atoi(r.h.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After = %q", what, r.h.Get("Retry-After"))
	}
}

// limitedEnv is a server --behind-proxy with --rate-limit 3/min on a clock
// the test moves.
func limitedEnv(t *testing.T) (*env, *fakeClock) {
	clk := &fakeClock{}
	clk.set(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	e := newEnv(t, signoff.ModeSession, withClock(clk), func(c *server.Config) {
		c.RateLimit, c.RateLimitSet = server.Rate{N: 3, Per: time.Minute}, true
		c.BehindProxy = true
	})
	return e, clk
}

// R39 without the lockout: a stranger's wrong guesses hold back the
// stranger, never the owner on a client that has signed in to the account
// before (NIST SP 800-63B §5.2.2; OWASP's device-cookie idea, by IP).
func TestLoginLimitStrangersCannotLockOutTheOwner(t *testing.T) {
	e, _ := limitedEnv(t)
	const home, stranger = "192.0.2.10", "198.51.100.66"
	email := e.newUser()
	expect(t, "the owner signs in at home", e.loginFrom(home, email, password), 200)
	for i := range 3 {
		expect(t, fmt.Sprintf("stranger's guess %d", i+1), e.loginFrom(stranger, email, "wrong password"), 401)
	}
	for range 7 {
		expect429(t, "the stranger after 3 guesses", e.loginFrom(stranger, email, "wrong password"))
	}
	expect429(t, "the stranger with the right password while limited", e.loginFrom(stranger, email, password))
	expect(t, "the owner at home after the stranger's guesses", e.loginFrom(home, email, password), 200)
	// Successful sign-ins do not use the budget, and a success forgets the
	// client's own earlier failures.
	expect(t, "the owner mistypes", e.loginFrom(home, email, "wrong password"), 401)
	for i := range 5 {
		expect(t, fmt.Sprintf("the owner signs in again (%d)", i+1), e.loginFrom(home, email, password), 200)
	}
	// The owner's own client is still limited when it guesses.
	for range 3 {
		expect(t, "the owner's client guessing", e.loginFrom(home, email, "wrong password"), 401)
	}
	expect429(t, "the owner's client after 3 wrong guesses", e.loginFrom(home, email, password))
}

// One IP cannot hold many accounts locked: its guesses use its own budget
// for each account, and at most 10× the rate over all accounts.
func TestLoginLimitOneIPCannotLockManyAccounts(t *testing.T) {
	e, _ := limitedEnv(t)
	const attacker = "198.51.100.66"
	var emails []string
	for range 10 {
		emails = append(emails, e.newUser())
	}
	for _, email := range emails {
		for range 3 {
			expect(t, "a guess", e.loginFrom(attacker, email, "wrong password"), 401)
		}
	}
	expect429(t, "the attacker's 31st attempt (30 a minute an IP)", e.loginFrom(attacker, emails[0], "wrong password"))
	// Each owner signs in from an address that never signed in before.
	for i, email := range emails {
		expect(t, fmt.Sprintf("owner %d from a new address", i), e.loginFrom(fmt.Sprintf("203.0.113.%d", i+1), email, password), 200)
	}
}

// Distributed guessing is bounded per account: clients that never signed
// in to the account share 10× the rate in a burst, refilled at the rate;
// the owner's known client is not held back by them.
func TestLoginLimitAccountWideCeiling(t *testing.T) {
	e, clk := limitedEnv(t)
	const home = "192.0.2.10"
	email := e.newUser()
	expect(t, "the owner signs in at home", e.loginFrom(home, email, password), 200)
	for bot := range 10 {
		for range 3 {
			expect(t, "a bot's guess", e.loginFrom(fmt.Sprintf("198.51.100.%d", bot+1), email, "wrong password"), 401)
		}
	}
	expect429(t, "an 11th bot, once 30 guesses are spent", e.loginFrom("198.51.100.99", email, "wrong password"))
	expect429(t, "the owner on a new device meanwhile", e.loginFrom("203.0.113.5", email, password))
	expect(t, "the owner at home meanwhile", e.loginFrom(home, email, password), 200)
	clk.add(20 * time.Second) // one guess a 20 s at 3/min
	expect(t, "the 11th bot after the ceiling refilled one guess", e.loginFrom("198.51.100.99", email, "wrong password"), 401)
	expect429(t, "and no more", e.loginFrom("198.51.100.98", email, "wrong password"))
}

// An IPv6 host holds a whole /64: the limits count a /64 as one client, or
// one machine would be a botnet.
func TestLoginLimitCountsAnIPv6Slash64AsOneClient(t *testing.T) {
	e, _ := limitedEnv(t)
	email := e.newUser()
	for i := range 3 {
		expect(t, "a guess", e.loginFrom(fmt.Sprintf("2001:db8:1:2::%x", i+1), email, "wrong password"), 401)
	}
	expect429(t, "a 4th guess from another address of the /64", e.loginFrom("2001:db8:1:2:ffff::9", email, "wrong password"))
	expect(t, "another /64", e.loginFrom("2001:db8:1:3::1", email, "wrong password"), 401)
}
