package signoff_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/signoff/signoff"
)

// whoami answers the user ID of the request's Principal, or "anonymous".
func whoami() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := signoff.PrincipalFrom(r.Context()); p != nil {
			w.Write([]byte(p.UserID))
			return
		}
		w.Write([]byte("anonymous"))
	})
}

// serve runs h on r and returns the recorder.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// checkHygiene asserts Cache-Control: no-store and a Vary that names Cookie
// (I8, R25).
func checkHygiene(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("I8/R25 %s: Cache-Control = %q, want no-store", what, got)
	}
	if vary := rec.Header().Values("Vary"); !slices.Contains(vary, "Cookie") {
		t.Errorf("I8 %s: Vary = %q, want it to name Cookie", what, vary)
	}
}

// TestRequire_I8_R25_R40 checks the middleware's answers and headers in both
// modes, success and failure.
func TestRequire_I8_R25_R40(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		c := h.newClient()
		h.login(c, "alice", false)
		req := h.m.Require(whoami())

		rec := serve(req, c.request(http.MethodGet, "/api/me", ""))
		if rec.Code != http.StatusOK || rec.Body.String() != "alice" {
			t.Fatalf("Require with a valid cookie: %d %q; want 200 alice", rec.Code, rec.Body)
		}
		checkHygiene(t, "200", rec)

		anon := h.newClient()
		rec = serve(req, anon.request(http.MethodGet, "/api/me", ""))
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("Require with no cookie: %d; want 401", rec.Code)
		}
		checkHygiene(t, "401", rec)
		if rec.Header().Get("WWW-Authenticate") != "" {
			t.Error("session mode sent WWW-Authenticate")
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("401 Content-Type = %q, want application/problem+json", ct)
		}
		if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("a 401 to a request with no cookie set cookies: %q", sc)
		}

		// A dead cookie (here: the session ended on another device) is
		// refused, and the browser is told to forget it, by Require and by
		// Optional alike.
		old := c.clone()
		if _, err := h.m.RevokeUser(context.Background(), "alice"); err != nil {
			t.Fatal(err)
		}
		for name, mw := range map[string]http.Handler{"Require": req, "Optional": h.m.Optional(whoami())} {
			rec = serve(mw, old.request(http.MethodGet, "/api/me", ""))
			if name == "Require" && rec.Code != http.StatusUnauthorized {
				t.Fatalf("Require with a revoked cookie: %d; want 401", rec.Code)
			}
			sc := rec.Header().Get("Set-Cookie")
			if !strings.HasPrefix(sc, "__Host-session=;") || !strings.Contains(sc, "Max-Age=0") {
				t.Errorf("%s with a revoked cookie: Set-Cookie %q; want the deletion of __Host-session", name, sc)
			}
		}
	})
	t.Run("jwt", func(t *testing.T) {
		h := newHarness(t, signoff.ModeJWT)
		c := h.newClient()
		h.login(c, "alice", true)
		req := h.m.Require(whoami())

		rec := serve(req, c.request(http.MethodGet, "/api/me", ""))
		if rec.Code != http.StatusOK || rec.Body.String() != "alice" {
			t.Fatalf("Require with a valid token: %d %q; want 200 alice", rec.Code, rec.Body)
		}
		checkHygiene(t, "200", rec)
		if vary := rec.Header().Values("Vary"); !slices.Contains(vary, "Authorization") {
			t.Errorf("I8: jwt-mode Vary = %q, want it to name Authorization too", vary)
		}

		rec = serve(req, h.newClient().request(http.MethodGet, "/api/me", ""))
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="signoff"` {
			t.Fatalf("no token: %d, WWW-Authenticate %q; want 401 and a challenge without an error", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		checkHygiene(t, "401 without a token", rec)

		old := c.clone()
		if _, err := h.logout(c); err != nil {
			t.Fatal(err)
		}
		garbage := &client{h: h, at: "not.a.token"}
		for name, cl := range map[string]*client{"dead token": old, "garbage": garbage} {
			rec = serve(req, cl.request(http.MethodGet, "/api/me", ""))
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("R40 %s: %d; want 401", name, rec.Code)
			}
			if got, want := rec.Header().Get("WWW-Authenticate"), `Bearer realm="signoff", error="invalid_token"`; got != want {
				t.Errorf("R40 %s: WWW-Authenticate = %q, want %q", name, got, want)
			}
			checkHygiene(t, "401 "+name, rec)
		}
	})
}

// TestRequireCrossOrigin_R28_R29: in session mode the cookie is ambient, so
// an unsafe cross-origin request is refused before it reaches the handler,
// and the session survives it.
func TestRequireCrossOrigin_R28_R29(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	h.login(c, "alice", false)
	var calls int
	handler := h.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))

	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"R28 Sec-Fetch-Site: cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"R28 Sec-Fetch-Site: same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"R29 Origin: https://evil.test, no Sec-Fetch-Site", map[string]string{"Origin": "https://evil.test"}, http.StatusForbidden},
		{"R28 Sec-Fetch-Site: same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"R29 Origin of the host itself", map[string]string{"Origin": "http://example.com"}, http.StatusOK},
		{"no browser headers (not a browser)", nil, http.StatusOK},
	} {
		calls = 0
		r := c.request(http.MethodPost, "/api/things", "")
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		rec := serve(handler, r)
		if rec.Code != tc.want {
			t.Errorf("%s: %d; want %d", tc.name, rec.Code, tc.want)
		}
		if tc.want == http.StatusForbidden && calls != 0 {
			t.Errorf("%s: the handler ran", tc.name)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.name, rec.Header().Get("Cache-Control"))
		}
		h.mustAuth(c, tc.name+": the session is alive afterwards")
	}
	// A cross-site GET is a safe method: it passes.
	r := c.request(http.MethodGet, "/api/things", "")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := serve(handler, r); rec.Code != http.StatusOK {
		t.Errorf("cross-site GET: %d; want 200", rec.Code)
	}
}

// TestOptional_I8: Optional lets anonymous and bad credentials through
// without a Principal, with the same headers.
// RequireFunc guards as Require does, and hands the handler the principal
// with the request as it came; after logout the old cookie is refused.
func TestRequireFunc_I8(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	h.login(c, "alice", false)
	var got *signoff.Principal
	handler := h.m.RequireFunc(func(w http.ResponseWriter, r *http.Request, p *signoff.Principal) {
		if signoff.PrincipalFrom(r.Context()) != nil {
			t.Error("RequireFunc copied the request to put the principal in its context")
		}
		got = p
		w.Write([]byte(p.UserID))
	})
	rec := serve(handler, c.request(http.MethodGet, "/api/me", ""))
	if rec.Code != http.StatusOK || rec.Body.String() != "alice" || got == nil || got.UserID != "alice" {
		t.Fatalf("RequireFunc with a valid cookie: %d %q, principal %+v; want 200 alice", rec.Code, rec.Body, got)
	}
	checkHygiene(t, "200", rec)
	old := c.request(http.MethodGet, "/api/me", "")
	if _, err := h.logout(c); err != nil {
		t.Fatalf("logout: %v", err)
	}
	got = nil
	for name, r := range map[string]*http.Request{"no cookie": h.newClient().request(http.MethodGet, "/api/me", ""), "the cookie of before logout": old} {
		rec = serve(handler, r)
		if rec.Code != http.StatusUnauthorized || got != nil {
			t.Fatalf("RequireFunc with %s: %d, handler called: %v; want 401, not called", name, rec.Code, got != nil)
		}
		checkHygiene(t, "401", rec)
	}
}

func TestOptional_I8(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	h.login(c, "alice", false)
	opt := h.m.Optional(whoami())
	bad := h.newClient()
	bad.jar["__Host-session"] = randomToken()
	h.remember(bad.jar["__Host-session"])
	for name, tc := range map[string]struct {
		c    *client
		want string
	}{
		"valid": {c, "alice"}, "none": {h.newClient(), "anonymous"}, "unknown": {bad, "anonymous"},
	} {
		rec := serve(opt, tc.c.request(http.MethodGet, "/", ""))
		if rec.Code != http.StatusOK || rec.Body.String() != tc.want {
			t.Errorf("Optional %s: %d %q; want 200 %q", name, rec.Code, rec.Body, tc.want)
		}
		checkHygiene(t, "Optional "+name, rec)
	}
	r := c.request(http.MethodPost, "/", "")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := serve(opt, r); rec.Code != http.StatusForbidden {
		t.Errorf("Optional, cross-site POST: %d; want 403", rec.Code)
	}
}

// TestSharedHeaderValues: a handler that appends to Vary or Cache-Control
// must not change those headers for other requests (the shared slices have
// len == cap).
func TestSharedHeaderValues(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	h.login(c, "alice", false)
	appender := h.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		w.Header().Add("Cache-Control", "private")
	}))
	for range 3 {
		serve(appender, c.request(http.MethodGet, "/", ""))
	}
	rec := serve(h.m.Require(whoami()), c.request(http.MethodGet, "/", ""))
	if got := rec.Header().Values("Vary"); !slices.Equal(got, []string{"Cookie"}) {
		t.Errorf("Vary = %q after other handlers appended; want [Cookie]", got)
	}
	if got := rec.Header().Values("Cache-Control"); !slices.Equal(got, []string{"no-store"}) {
		t.Errorf("Cache-Control = %q after other handlers appended; want [no-store]", got)
	}
}

// recorder is a ResponseWriter that keeps what WriteError recorded.
type recorder struct {
	*httptest.ResponseRecorder
	errs []error
}

func (r *recorder) RecordError(err error) { r.errs = append(r.errs, err) }

// wrapper is middleware's ResponseWriter around another, found by Unwrap.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteError hands the error it answers to the ErrorRecorder under any
// number of wrappers, once; the client gets only the public detail.
func TestWriteErrorRecordsItsCause(t *testing.T) {
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	cause := errors.New("pgstore: read session: connection refused")
	err := fmt.Errorf("%w: %w", signoff.ErrUnavailable, cause)
	signoff.WriteError(wrapper{wrapper{rec}}, err)
	if len(rec.errs) != 1 || !errors.Is(rec.errs[0], cause) {
		t.Fatalf("recorded %v; want the one error answered", rec.errs)
	}
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "connection refused") {
		t.Fatalf("answer %d %s: want 503 without the cause", rec.Code, rec.Body.String())
	}
	plain := httptest.NewRecorder() // no recorder anywhere: nothing to do
	signoff.WriteError(wrapper{plain}, err)
	if plain.Code != http.StatusServiceUnavailable {
		t.Fatalf("without a recorder: %d", plain.Code)
	}
}

// CheckForwarded judges the request a forward-auth proxy describes, not the
// GET it sends.
func TestCheckForwarded(t *testing.T) {
	m := newHarness(t, signoff.ModeSession).m
	req := func(hdr ...string) *http.Request {
		r := httptest.NewRequest("GET", "http://auth.internal/verify", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{[]string{"X-Forwarded-Method", "POST", "Sec-Fetch-Site", "cross-site"}, 403},
		{[]string{"X-Original-Method", "POST", "Origin", "https://app.test", "X-Forwarded-Host", "app.test"}, 200},
		{[]string{"X-Original-Method", "POST", "Origin", "https://app.test", "X-Forwarded-Host", "app.test, proxy.internal"}, 200},
		{[]string{"X-Original-Method", "POST", "Origin", "https://app.test"}, 403},
		{[]string{"X-Forwarded-Method", "HEAD", "Sec-Fetch-Site", "cross-site"}, 200},
		{[]string{"Sec-Fetch-Site", "cross-site"}, 200},
	} {
		if got := signoff.StatusOf(m.CheckForwarded(req(tc.hdr...))); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.hdr, got, tc.want)
		}
	}
}
