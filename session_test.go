package signoff_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// randomToken returns a value of the shape signoff mints (43 base64url
// characters) that it never minted.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// TestLoginRevokesPresentedSession_R1: login on a request that still carries
// an earlier credential mints a new one and kills the old (no fixation, I10).
func TestLoginRevokesPresentedSession_R1(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		c := h.newClient()
		first := h.login(c, "alice", false)
		h.mustAuth(c, "first session")
		old := c.clone()
		second := h.login(c, "alice", false) // the request carries the old cookie
		if c.jar["__Host-session"] == old.jar["__Host-session"] {
			t.Fatal("R1: login kept the cookie value it was sent")
		}
		if first.Session.ID == second.Session.ID {
			t.Fatal("R1: login kept the session ID")
		}
		h.mustReject(old, "R1: the cookie presented at login")
		if p := h.mustAuth(c, "R1: the new cookie"); p.SessionID != second.Session.ID {
			t.Fatalf("new cookie names session %s, want %s", p.SessionID, second.Session.ID)
		}
	})
	t.Run("jwt", func(t *testing.T) {
		h := newHarness(t, signoff.ModeJWT)
		c := h.newClient()
		h.login(c, "alice", false)
		h.mustAuth(c, "first session")
		old := c.clone()
		h.login(c, "alice", false) // carries the old refresh cookie and access token
		if c.jar["__Host-refresh"] == old.jar["__Host-refresh"] {
			t.Fatal("R1: login kept the refresh token it was sent")
		}
		h.mustReject(old, "R1: the access token presented at login")
		h.mustNotRefresh(old, "R1: the refresh cookie presented at login")
		h.mustAuth(c, "R1: the new access token")
		h.mustRefresh(c, "R1: the new refresh cookie")
	})
}

// TestClientChosenIDRejected_R2: a cookie value of the right shape that
// signoff never minted is refused, and login does not adopt it.
func TestClientChosenIDRejected_R2(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	chosen := randomToken()
	h.remember(chosen)
	c.jar["__Host-session"] = chosen
	h.mustReject(c, "R2: client-chosen session ID")
	attacker := c.clone()

	h.login(c, "alice", false)
	if c.jar["__Host-session"] == chosen {
		t.Fatal("R2: login adopted the client-chosen session ID")
	}
	h.mustAuth(c, "the minted cookie")
	h.mustReject(attacker, "R2: client-chosen ID after the victim logged in with it")
}

// TestSessionIDEntropy_R3: 1,000 logins give 1,000 distinct 256-bit cookie
// values and 1,000 distinct session IDs.
func TestSessionIDEntropy_R3(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	values := map[string]bool{}
	ids := map[string]bool{}
	idShape := regexp.MustCompile(`^ses_[0-9a-f]{32}$`)
	for i := range 1000 {
		c := h.newClient()
		res := h.login(c, "alice", false)
		v := c.jar["__Host-session"]
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(raw) < 32 {
			t.Fatalf("R3: login %d: cookie %s decodes to %d bytes (%v); want ≥32", i, fp(v), len(raw), err)
		}
		if values[v] {
			t.Fatalf("R3: login %d repeated cookie %s", i, fp(v))
		}
		values[v] = true
		if !idShape.MatchString(res.Session.ID) || ids[res.Session.ID] {
			t.Fatalf("R3: login %d: session ID %q is malformed or repeated", i, res.Session.ID)
		}
		ids[res.Session.ID] = true
	}
}

// TestDuplicateCookies_R23: two different values under one cookie name are
// ambiguous whatever their order; identical duplicates are fine; the __Host-
// prefix is case-exact.
func TestDuplicateCookies_R23(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	h.login(c, "alice", false)
	good := c.jar["__Host-session"]
	junk := randomToken()
	h.remember(junk)

	authWith := func(headers ...string) error {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, v := range headers {
			r.Header.Add("Cookie", v)
		}
		_, err := h.m.Authenticate(r)
		return err
	}
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"good first", []string{"__Host-session=" + good + "; __Host-session=" + junk}},
		{"junk first", []string{"__Host-session=" + junk + "; __Host-session=" + good}},
		{"malformed junk first", []string{"__Host-session=junk; __Host-session=" + good}},
		{"malformed junk last", []string{"__Host-session=" + good + "; __Host-session=junk"}},
		{"two headers, good first", []string{"__Host-session=" + good, "__Host-session=" + junk}},
		{"two headers, junk first", []string{"__Host-session=" + junk, "__Host-session=" + good}},
	} {
		if err := authWith(tc.headers...); !errors.Is(err, signoff.ErrAmbiguousCredential) {
			t.Errorf("R23 %s: Authenticate = %v; want ErrAmbiguousCredential", tc.name, err)
		}
	}
	if err := authWith("__Host-session=" + good + "; other=1; __Host-session=" + good); err != nil {
		t.Errorf("R23: identical duplicates: %v; want success", err)
	}
	if err := authWith("__HOST-session=" + good); !errors.Is(err, signoff.ErrNoCredential) {
		t.Errorf("R23: __HOST-session (wrong case): %v; want ErrNoCredential", err)
	}
	if err := authWith("__host-session=" + good); !errors.Is(err, signoff.ErrNoCredential) {
		t.Errorf("R23: __host-session (wrong case): %v; want ErrNoCredential", err)
	}
	if err := authWith("__Host-session=" + good); err != nil {
		t.Errorf("control: the good cookie alone: %v", err)
	}
}

// TestDuplicateRefreshCookies_R23: the same rule for jwt mode's refresh
// cookie; an ambiguous refresh spends nothing.
func TestDuplicateRefreshCookies_R23(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	h.login(c, "alice", false)
	good := c.jar["__Host-refresh"]
	junk := randomToken()
	h.remember(junk)
	for _, hdr := range []string{
		"__Host-refresh=" + good + "; __Host-refresh=" + junk,
		"__Host-refresh=" + junk + "; __Host-refresh=" + good,
	} {
		r := httptest.NewRequest(http.MethodPost, "/refresh", nil)
		r.Header.Set("Cookie", hdr)
		if _, err := h.m.Refresh(httptest.NewRecorder(), r, signoff.Secret{}); !errors.Is(err, signoff.ErrAmbiguousCredential) {
			t.Errorf("R23: Refresh with duplicate refresh cookies: %v; want ErrAmbiguousCredential", err)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/refresh", nil)
	r.Header.Set("Cookie", "__HOST-refresh="+good)
	if _, err := h.m.Refresh(httptest.NewRecorder(), r, signoff.Secret{}); !errors.Is(err, signoff.ErrNoCredential) {
		t.Errorf("R23: __HOST-refresh: %v; want ErrNoCredential", err)
	}
	h.mustRefresh(c, "the good refresh token, unspent by the ambiguous attempts")
}

// TestNoCredentialsInURL_R24: a valid credential in the query string is
// never read.
func TestNoCredentialsInURL_R24(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		c := h.newClient()
		h.login(c, "alice", false)
		v := c.jar["__Host-session"]
		for _, q := range []string{"session", "__Host-session", "access_token", "token"} {
			r := httptest.NewRequest(http.MethodGet, "/api/me?"+q+"="+v, nil)
			if _, err := h.m.Authenticate(r); !errors.Is(err, signoff.ErrNoCredential) {
				t.Errorf("R24: ?%s=<valid cookie>: %v; want ErrNoCredential", q, err)
			}
		}
	})
	t.Run("jwt", func(t *testing.T) {
		h := newHarness(t, signoff.ModeJWT)
		c := h.newClient()
		h.login(c, "alice", false)
		h.mustAuth(c, "control: the token as a Bearer header")
		for _, q := range []string{"access_token", "session", "token"} {
			r := httptest.NewRequest(http.MethodGet, "/api/me?"+q+"="+c.at, nil)
			if _, err := h.m.Authenticate(r); !errors.Is(err, signoff.ErrNoCredential) {
				t.Errorf("R24: ?%s=<valid access token>: %v; want ErrNoCredential", q, err)
			}
		}
		r := httptest.NewRequest(http.MethodPost, "/refresh?refresh_token="+c.jar["__Host-refresh"], nil)
		if _, err := h.m.Refresh(httptest.NewRecorder(), r, signoff.Secret{}); !errors.Is(err, signoff.ErrNoCredential) {
			t.Errorf("R24: ?refresh_token=: %v; want ErrNoCredential", err)
		}
	})
}

// TestIdleTimeout_R11: idle 5 s. Silent for 6 s → rejected; a request every
// 3 s for 30 s → alive. Only the fake clock moves.
func TestIdleTimeout_R11(t *testing.T) {
	idle := func(c *signoff.Config) { c.IdleTimeout = 5 * time.Second }
	t.Run("silent", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession, idle)
		c := h.newClient()
		h.login(c, "alice", false)
		h.clock.Advance(6 * time.Second)
		h.mustReject(c, "R11: after 6 s of silence (never cached)")
	})
	t.Run("silent after activity", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession, idle)
		c := h.newClient()
		h.login(c, "alice", false)
		h.clock.Advance(2 * time.Second)
		h.mustAuth(c, "activity at 2 s (caches the session)")
		h.clock.Advance(4900 * time.Millisecond)
		h.mustAuth(c, "4.9 s after the last request")
		h.clock.Advance(5 * time.Second)
		h.mustReject(c, "R11: 5 s after the last request (cached)")
		h.clock.Advance(time.Second)
		h.mustReject(c, "R11: activity does not revive an idle session")
	})
	t.Run("active", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession, idle)
		c := h.newClient()
		h.login(c, "alice", false)
		for i := 1; i <= 10; i++ {
			h.clock.Advance(3 * time.Second)
			h.mustAuth(c, "R11: a request every 3 s")
		}
		if got := h.clock.Now().Sub(t0); got != 30*time.Second {
			t.Fatalf("the loop covered %v, want 30s", got)
		}
	})
}

// TestAbsoluteLifetimeSession_R12: activity never extends the absolute
// lifetime.
func TestAbsoluteLifetimeSession_R12(t *testing.T) {
	h := newHarness(t, signoff.ModeSession, func(c *signoff.Config) {
		c.IdleTimeout = 30 * time.Second
		c.AbsoluteLifetime = time.Minute
	})
	c := h.newClient()
	res := h.login(c, "alice", false)
	if !res.Session.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ExpiresAt = %v, want login + 1m", res.Session.ExpiresAt)
	}
	for h.clock.Now().Before(t0.Add(50 * time.Second)) {
		h.clock.Advance(10 * time.Second)
		p := h.mustAuth(c, "R12: active, before the absolute lifetime")
		if !p.ExpiresAt.Equal(res.Session.ExpiresAt) {
			t.Fatalf("R12: activity moved ExpiresAt to %v", p.ExpiresAt)
		}
	}
	h.clock.Advance(10 * time.Second) // exactly the absolute lifetime
	h.mustReject(c, "R12: active, at the absolute lifetime")
	h.clock.Advance(time.Second)
	h.mustReject(c, "R12: active, past the absolute lifetime")
}

// TestAbsoluteLifetimeJWT_R12: in jwt mode the refresh chain stops at the
// absolute lifetime and no access token's exp passes it.
func TestAbsoluteLifetimeJWT_R12(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) {
		c.AbsoluteLifetime = time.Hour
		c.AccessTokenTTL = 5 * time.Minute
		c.IdleTimeout = 30 * time.Minute
	})
	for _, native := range []bool{false, true} {
		c := h.newClient()
		start := h.clock.Now()
		res := h.login(c, "alice", native)
		end := res.Session.ExpiresAt
		if !end.Equal(start.Add(time.Hour)) {
			t.Fatalf("ExpiresAt = %v, want login + 1h", end)
		}
		refreshes := 0
		for {
			h.clock.Advance(4 * time.Minute)
			if !h.clock.Now().Before(end) {
				break
			}
			tok := h.mustRefresh(c, "R12: refresh before the absolute lifetime")
			refreshes++
			if tok.ExpiresAt.After(end) {
				t.Fatalf("R12: access token ExpiresAt %v passes the session's %v", tok.ExpiresAt, end)
			}
			p := h.mustAuth(c, "access token before the absolute lifetime")
			if p.ExpiresAt.After(end) {
				t.Fatalf("R12: access token exp %v passes the session's %v", p.ExpiresAt, end)
			}
		}
		if refreshes != 14 {
			t.Fatalf("refreshed %d times in the hour, want 14", refreshes)
		}
		// The last access token was minted 4 minutes before the end with a
		// 5-minute TTL: its exp was capped at the end.
		h.mustReject(c, "R12: access token at the absolute lifetime")
		h.mustNotRefresh(c, "R12: the refresh chain stops at the absolute lifetime")
	}
}

// TestRefreshTokenIdle_R14: a refresh token unused for IdleTimeout expires.
func TestRefreshTokenIdle_R14(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) { c.IdleTimeout = 10 * time.Minute })
	for _, native := range []bool{false, true} {
		used, unused := h.newClient(), h.newClient()
		h.login(used, "alice", native)
		h.login(unused, "alice", native)
		h.clock.Advance(9 * time.Minute)
		h.mustRefresh(used, "R14: used within the idle timeout")
		h.clock.Advance(9 * time.Minute)
		h.mustRefresh(used, "R14: each refresh restarts the idle clock")
		h.mustNotRefresh(unused, "R14: unused for 18 minutes with a 10-minute idle timeout")
		h.clock.Advance(10*time.Minute + time.Second)
		h.mustNotRefresh(used, "R14: unused for 10 minutes and 1 second")
	}
}

// touchCounter counts the store's last-seen writes.
type touchCounter struct {
	signoff.Store
	n atomic.Int64
}

func (c *touchCounter) TouchSessions(ctx context.Context, ts []signoff.Touch) error {
	c.n.Add(int64(len(ts)))
	return c.Store.TouchSessions(ctx, ts)
}

// Last-seen writes are debounced: however many requests a session makes,
// an instance writes its last-seen time at most once per TouchInterval, and
// the write it owes when it closes is not lost.
func TestLastSeenDebounced(t *testing.T) {
	var tc *touchCounter
	h := newHarness(t, signoff.ModeSession, func(c *signoff.Config) {
		tc = &touchCounter{Store: c.Store}
		c.Store = tc
	})
	c := h.newClient()
	h.login(c, "alice", false)
	for range 100 {
		h.mustAuth(c, "right after login")
	}
	if n := tc.n.Load(); n != 0 {
		t.Fatalf("100 requests within a minute of login wrote last-seen %d times; want 0", n)
	}
	h.clock.Advance(61 * time.Second)
	for range 100 {
		h.mustAuth(c, "a minute later")
	}
	p := h.mustAuth(c, "once more")
	h.m.Close() // writes what is queued
	if n := tc.n.Load(); n != 1 {
		t.Fatalf("100 requests a minute later wrote last-seen %d times; want exactly 1", n)
	}
	s, err := h.store.Session(context.Background(), p.SessionID, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(61 * time.Second); !s.LastSeenAt.Equal(want) {
		t.Fatalf("stored LastSeenAt = %v; want %v", s.LastSeenAt, want)
	}
}

// stallToucher holds the first TouchSessions call until released, and
// records how many touches each call carried.
type stallToucher struct {
	signoff.Store
	entered, release chan struct{}
	mu               sync.Mutex
	calls            []int
}

func (s *stallToucher) TouchSessions(ctx context.Context, ts []signoff.Touch) error {
	s.mu.Lock()
	s.calls = append(s.calls, len(ts))
	first := len(s.calls) == 1
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.release
	}
	return s.Store.TouchSessions(ctx, ts)
}

// The last-seen writes that queue up while the store writes are sent in
// one call, not one call each: with many sessions, a store pays one
// transaction (and one sync) per batch.
func TestTouchesBatched(t *testing.T) {
	st := &stallToucher{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, signoff.ModeSession, func(c *signoff.Config) {
		st.Store = c.Store
		c.Store = st
	})
	var cs []*client
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		c := h.newClient()
		h.login(c, u, false)
		cs = append(cs, c)
	}
	h.clock.Advance(61 * time.Second)
	var ids []string
	for i, c := range cs {
		ids = append(ids, h.mustAuth(c, "a minute later").SessionID)
		if i == 0 {
			<-st.entered // the first touch is being written; the others queue behind it
		}
	}
	close(st.release)
	h.m.Close() // writes what is queued
	st.mu.Lock()
	calls := slices.Clone(st.calls)
	st.mu.Unlock()
	if !slices.Equal(calls, []int{1, 4}) {
		t.Fatalf("TouchSessions calls carried %v touches; want [1 4]: the four queued while the first was written go together", calls)
	}
	for _, id := range ids {
		s, err := h.store.Session(context.Background(), id, h.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(61 * time.Second); !s.LastSeenAt.Equal(want) {
			t.Fatalf("stored LastSeenAt = %v; want %v", s.LastSeenAt, want)
		}
	}
}
