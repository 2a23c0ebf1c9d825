package signoff_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// hookLog collects what the Hooks of a Manager are told, one line per call.
type hookLog struct {
	mu    sync.Mutex
	lines []string
}

func (r *hookLog) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// take returns the lines recorded since the last take.
func (r *hookLog) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.lines
	r.lines = nil
	return out
}

func (r *hookLog) hooks() signoff.Hooks {
	ev := func(name string) func(signoff.Event) {
		return func(e signoff.Event) {
			r.add("%s user=%s session=%t sessions=%d av=%d native=%t admin=%t retry=%t",
				name, e.UserID, e.SessionID != "", e.Sessions, e.AuthVersion, e.Native, e.Admin, e.Retry)
		}
	}
	return signoff.Hooks{
		Login: ev("login"), Logout: ev("logout"), LogoutEverywhere: ev("logout_everywhere"),
		SessionRevoked: ev("session_revoked"), Refreshed: ev("refreshed"), RefreshReused: ev("refresh_reused"),
		Published: func(rv signoff.Revocation, _ time.Duration, err error) {
			r.add("published session=%t user=%s pending=%t av=%d err=%v", rv.SessionID != "", rv.UserID, rv.Pending != "", rv.AuthVersion, err)
		},
		Applied: func(rv signoff.Revocation) {
			r.add("applied session=%t user=%s pending=%t av=%d", rv.SessionID != "", rv.UserID, rv.Pending != "", rv.AuthVersion)
		},
		Authenticated: func(a signoff.Auth) { r.add("auth cached=%t err=%v", a.Cached, a.Err != nil) },
		Store:         func(op string, _ time.Duration, err error) { r.add("store %s err=%t", op, err != nil) },
	}
}

func expectLines(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: the hooks were told\n  %s\nwant\n  %s", step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestHooksSessionMode: every flow of session mode tells its hook what
// happened, store operations are timed by name, and a cache hit is told
// apart from a store read.
func TestHooksSessionMode(t *testing.T) {
	rec := &hookLog{}
	h := newHarness(t, signoff.ModeSession, func(c *signoff.Config) { c.Hooks = rec.hooks() })
	a, b := h.newClient(), h.newClient()

	h.login(a, "alice", false)
	expectLines(t, "login", rec.take(),
		"store CreateSession err=false",
		"login user=alice session=true sessions=0 av=0 native=false admin=false retry=false")

	h.mustAuth(a, "first request")
	h.mustAuth(a, "second request")
	expectLines(t, "two requests", rec.take(),
		"store SessionByToken err=false", "auth cached=false err=false",
		"auth cached=true err=false")

	h.login(b, "alice", false)
	rec.take()
	old := a.clone()
	if _, err := h.logout(a); err != nil {
		t.Fatal(err)
	}
	expectLines(t, "logout", rec.take(),
		"store SessionByToken err=false",
		"applied session=true user=alice pending=false av=0",
		"published session=true user=alice pending=false av=0 err=<nil>",
		"store RevokeSession err=false",
		"logout user=alice session=true sessions=1 av=0 native=false admin=false retry=false")
	h.mustReject(old, "the old cookie after logout")
	expectLines(t, "the old cookie", rec.take(), "auth cached=true err=true")

	if _, err := h.m.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	expectLines(t, "logout everywhere", rec.take(),
		"applied session=false user=alice pending=true av=0",
		"published session=false user=alice pending=true av=0 err=<nil>",
		"store RevokeUserSessions err=false",
		"applied session=false user=alice pending=true av=1",
		"published session=false user=alice pending=true av=1 err=<nil>",
		"logout_everywhere user=alice session=false sessions=1 av=1 native=false admin=true retry=false")
	h.mustReject(b, "a cookie after logout everywhere")
	expectLines(t, "a cookie after logout everywhere", rec.take(),
		"store SessionByToken err=true", // ErrNotFound
		"auth cached=false err=true")

	d := h.newClient()
	h.login(d, "carol", false)
	rec.take()
	h.login(d, "carol", false)
	got := rec.take()
	expectLines(t, "a second login on one device (R1)", got[len(got)-1:],
		"login user=carol session=true sessions=1 av=0 native=false admin=false retry=false")

	h.down.Store(true)
	c := h.newClient()
	if _, _, err := h.tryLogin(c, "bob", false); !errors.Is(err, signoff.ErrUnavailable) {
		t.Fatalf("login with the store down: %v; want ErrUnavailable", err)
	}
	expectLines(t, "a login with the store down", rec.take(), "store CreateSession err=true")
	h.down.Store(false)
}

// TestHooksJWTMode: refresh, reuse detection, a device revoked by its own
// user and one by an administrator each tell their hook.
func TestHooksJWTMode(t *testing.T) {
	rec := &hookLog{}
	h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) { c.Hooks = rec.hooks() })
	a := h.newClient()
	h.login(a, "alice", true)
	rec.take()

	spent := a.clone()
	h.mustRefresh(a, "a first refresh")
	got := rec.take()
	expectLines(t, "refresh", got[len(got)-1:], "refreshed user=alice session=true sessions=0 av=0 native=true admin=false retry=false")

	h.clock.Advance(time.Minute) // out of the grace period
	h.mustNotRefresh(spent, "a spent refresh token")
	got = rec.take()
	if !contains(got, "refresh_reused user=alice session=true sessions=0 av=0 native=false admin=false retry=false") {
		t.Errorf("reuse: the hooks were told\n  %s\nwant refresh_reused", strings.Join(got, "\n  "))
	}

	b, c := h.newClient(), h.newClient()
	h.login(b, "bob", true)
	sc := h.login(c, "bob", true).Session
	rec.take()
	if err := h.m.RevokeSession(context.Background(), sc.ID); err != nil {
		t.Fatal(err)
	}
	got = rec.take()
	expectLines(t, "admin revoke", got[len(got)-1:], "session_revoked user=bob session=true sessions=0 av=0 native=false admin=true retry=false")
	h.mustReject(c, "an access token of a session an administrator revoked")
	h.mustAuth(b, "the other device of the user")

	// A native client signs out with its refresh token alone: the event
	// names the user all the same.
	d := h.newClient()
	h.login(d, "dave", true)
	d.at = ""
	rec.take()
	if _, err := h.logout(d); err != nil {
		t.Fatal(err)
	}
	got = rec.take()
	expectLines(t, "logout with a refresh token alone", got[len(got)-1:], "logout user=dave session=true sessions=1 av=0 native=false admin=false retry=false")

	st := h.m.Stats()
	if !st.Fresh || st.CachedTokens == 0 || st.CachedSessions != 0 || st.PendingLogouts != 0 {
		t.Errorf("Stats() = %+v; want a fresh bus, some cached tokens, no cached sessions, nothing pending", st)
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// TestConfigHandsOutNoSecrets: Manager.Config returns the defaults filled
// in, but not the signing keys or the refresh key.
func TestConfigHandsOutNoSecrets(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	cfg := h.m.Config()
	if cfg.Keys != nil || cfg.RefreshKey != nil {
		t.Errorf("Config() hands out Keys=%v, RefreshKey of %d bytes; want neither", cfg.Keys != nil, len(cfg.RefreshKey))
	}
	if cfg.AccessTokenTTL != signoff.DefaultAccessTokenTTL || cfg.Issuer != signoff.DefaultIssuer {
		t.Errorf("Config() = TTL %v, issuer %q; want the defaults filled in", cfg.AccessTokenTTL, cfg.Issuer)
	}
	if h.m.Keys() == nil {
		t.Error("Keys() is nil in jwt mode")
	}
}
