package signoff

// Tests of this package that need the Manager's insides: its cache, and its
// sweep run at a moment the test chooses. They cannot use memstore (which
// imports signoff), so they bring a store of one session.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// testClock is an injected Config.Now that the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// oneSession is a Store that holds one session. It answers what the jwt
// mode's hot path, revocation and the toucher ask; any other method panics
// (the embedded Store is nil).
type oneSession struct {
	Store
	mu sync.Mutex
	s  Session
}

func (st *oneSession) Session(_ context.Context, id string, now time.Time) (*Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if id != st.s.ID || !st.s.Live(now) {
		return nil, ErrNotFound
	}
	s := st.s
	return &s, nil
}

func (st *oneSession) RevokeSession(_ context.Context, id string, at time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if id == st.s.ID && st.s.RevokedAt.IsZero() {
		st.s.RevokedAt = at
	}
	return nil
}

func (st *oneSession) TouchSessions(context.Context, []Touch) error { return nil }

// jwtManager starts a jwt-mode Manager on a store of one session that
// lives a day, with leeway, and returns it with its clock and the session.
func jwtManager(t *testing.T, leeway time.Duration) (*Manager, *testClock, *oneSession) {
	t.Helper()
	clock := &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	now := clock.Now()
	st := &oneSession{s: Session{
		ID: "ses_0123456789abcdef0123456789abcdef", UserID: "usr_1",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}}
	m, err := New(Config{
		Mode: ModeJWT, Store: st, Now: clock.Now, Leeway: leeway,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, clock, st
}

// mint signs an access token for the session of st, issued now.
func mint(t *testing.T, m *Manager, st *oneSession, jti string) string {
	t.Helper()
	now := m.now()
	tok, err := m.codec.Sign(accesstoken.Claims{
		Subject: st.s.UserID, SessionID: st.s.ID, ID: jti,
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(m.cfg.AccessTokenTTL),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearerRequest(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// A cached access token is good until exp + Leeway, so the records its
// revocation reaches it through must be kept as long: a sweep between exp
// and exp + Leeway must not forget them, or a revocation arriving then
// would mark new records that the cached token does not point to, and the
// token would still be accepted until exp + Leeway.
func TestRevocationReachesTokenWithinLeeway(t *testing.T) {
	const leeway = time.Minute
	m, clock, st := jwtManager(t, leeway)
	tok := mint(t, m, st, "jti_1")
	if _, err := m.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatalf("fresh token: Authenticate: %v", err)
	}
	if _, tokens, _ := m.cache.stats(); tokens != 1 {
		t.Fatalf("the cache holds %d tokens, want the one just verified", tokens)
	}

	clock.Advance(m.cfg.AccessTokenTTL + leeway/2) // past exp, within the leeway
	if _, err := m.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatalf("within the leeway: Authenticate: %v; want success", err)
	}
	m.cache.sweep(m.now()) // what the sweeper does, at this moment
	if err := m.RevokeSession(context.Background(), st.s.ID); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if p, err := m.Authenticate(bearerRequest(tok)); !errors.Is(err, ErrSessionRevoked) {
		t.Fatalf("after the revocation, within the leeway: Authenticate = %v, %v; want ErrSessionRevoked", p != nil, err)
	}
}
