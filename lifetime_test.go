package signoff_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/store/memstore"
)

// signWithManagerKeys signs cl with the Manager's own current key set: a
// token no forgery check can tell from one the Manager minted, except by its
// times.
func signWithManagerKeys(t *testing.T, h *harness, cl accesstoken.Claims) string {
	t.Helper()
	cfg := h.m.Config()
	c, err := accesstoken.NewCodec(h.m.Keys(), cfg.Issuer, cfg.Audience, cfg.AccessTokenTTL, cfg.Leeway, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Sign(cl)
	if err != nil {
		t.Fatal(err)
	}
	h.remember(tok)
	return tok
}

// status answers a request carrying the Bearer token tok through Require.
func status(h *harness, tok string) int {
	c := &client{h: h, jar: map[string]string{}, at: tok}
	rec := httptest.NewRecorder()
	h.m.Require(okHandler()).ServeHTTP(rec, c.request(http.MethodGet, "/api/me", ""))
	return rec.Code
}

// TestAccessTokenLifetimeCeiling_I7: a token signed with the Manager's own
// key but living longer than AccessTokenTTL (+ Leeway) gets 401, on the
// first request and on the next, which would be a hit had the first been
// cached; the store being down changes nothing, because such a token never
// reaches the cache. An exp near 2^62 seconds is the case that overflowed
// the cache's nanosecond expiry. A genuine token still works and is served
// from the cache, before and after a key rotation.
func TestAccessTokenLifetimeCeiling_I7(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	ttl := h.m.Config().AccessTokenTTL
	normal := h.newClient()
	s := h.login(normal, "alice", true).Session

	if got := status(h, normal.at); got != http.StatusOK {
		t.Fatalf("control: a genuine token: %d; want 200", got)
	}
	h.down.Store(true)
	if got := status(h, normal.at); got != http.StatusOK {
		t.Fatalf("control: a genuine token while the store is down: %d; want 200 from the verified-token cache", got)
	}
	h.down.Store(false)

	long := func(iat, exp time.Time) accesstoken.Claims {
		return accesstoken.Claims{
			Subject: s.UserID, SessionID: s.ID, AuthVersion: s.AuthVersion, ID: "jti-long",
			IssuedAt: iat, NotBefore: iat, ExpiresAt: exp,
		}
	}
	check := func(name string) {
		now := h.clock.Now()
		if got := status(h, signWithManagerKeys(t, h, long(now, now.Add(ttl)))); got != http.StatusOK {
			t.Errorf("%s: control: a token signed here with exp = now + TTL: %d; want 200", name, got)
		}
		for _, tc := range []struct {
			name     string
			iat, exp time.Time
		}{
			{"exp = now + 10 years", now, now.AddDate(10, 0, 0)},
			{"exp = 2^62 s", now, time.Unix(1<<62, 0)},
			{"exp = 2^62-1 s", now, time.Unix(1<<62-1, 0)},
			{"exp = now + TTL + 1s", now, now.Add(ttl + time.Second)},
			{"iat 10 years ago, exp in a minute", now.AddDate(-10, 0, 0), now.Add(time.Minute)},
		} {
			tok := signWithManagerKeys(t, h, long(tc.iat, tc.exp))
			if got := status(h, tok); got != http.StatusUnauthorized {
				t.Errorf("%s: %s: first request: %d; want 401", name, tc.name, got)
			}
			if got := status(h, tok); got != http.StatusUnauthorized {
				t.Errorf("%s: %s: second request: %d; want 401", name, tc.name, got)
			}
			h.down.Store(true)
			if got := status(h, tok); got != http.StatusUnauthorized {
				t.Errorf("%s: %s: while the store is down: %d; want 401 (only a cached token is answered without the store)", name, tc.name, got)
			}
			h.down.Store(false)
		}
	}
	check("before rotation")

	h.rotate()
	if got := status(h, normal.at); got != http.StatusOK {
		t.Fatalf("the genuine token after rotation: %d; want 200", got)
	}
	fresh := h.newClient()
	h.login(fresh, "alice", true)
	if got := status(h, fresh.at); got != http.StatusOK {
		t.Fatalf("a token minted after rotation: %d; want 200", got)
	}
	check("after rotation")

	h.clock.Advance(ttl)
	if got := status(h, normal.at); got != http.StatusUnauthorized {
		t.Fatalf("the genuine token at its exp: %d; want 401", got)
	}
}

// TestAccessTokenTTLNotWholeSeconds: JWT times are whole seconds, so a token
// minted for 90.5s at 0.7s past a second carries exp - iat = 91s; the
// Manager's own tokens pass the lifetime ceiling whatever the fraction.
func TestAccessTokenTTLNotWholeSeconds(t *testing.T) {
	for _, frac := range []time.Duration{0, 300 * time.Millisecond, 700 * time.Millisecond, 999 * time.Millisecond} {
		h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) { c.AccessTokenTTL = 90*time.Second + 500*time.Millisecond })
		h.clock.Advance(frac)
		c := h.newClient()
		h.login(c, "alice", true)
		if got := status(h, c.at); got != http.StatusOK {
			t.Errorf("TTL 90.5s, minted %v past a second: %d; want 200", frac, got)
		}
	}
}

// TestNegativeLeeway: a negative Leeway would make the lifetime ceiling
// refuse the Manager's own tokens; New refuses it.
func TestNegativeLeeway(t *testing.T) {
	m, err := signoff.New(signoff.Config{Mode: signoff.ModeJWT, Store: memstore.New(), Leeway: -time.Second})
	if err == nil {
		m.Close()
		t.Fatal("New accepted a negative Leeway in jwt mode")
	}
}

// TestLeewayWarmAgreesWithCold_I7: with a Leeway, an access token is good
// until exp + Leeway on every request: the first (verified, then cached)
// and the later ones (answered from the cache) follow one validity rule.
// Before that rule was written once, a cached token was refused from exp on
// while the same token on an instance that had not cached it passed.
func TestLeewayWarmAgreesWithCold_I7(t *testing.T) {
	const leeway = 30 * time.Second
	h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) { c.Leeway = leeway })
	c := h.newClient()
	h.login(c, "alice", true)
	h.mustAuth(c, "a fresh token, now cached")
	h.clock.Advance(h.m.Config().AccessTokenTTL + leeway/3)
	h.mustAuth(c, "a cached token past exp but within the leeway")
	h.clock.Advance(leeway)
	h.mustReject(c, "a cached token past exp + leeway")
}
