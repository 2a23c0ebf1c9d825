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
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/signoff/signoff/accesstoken"
)

// FakeClock is an injected Config.Now that a test moves by hand; nothing
// sleeps. Exported for the package's external tests too.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock that reads t until it is moved.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// oneSession is a Store that holds one session. It answers what the hot
// path, revocation and the toucher ask; any other method panics (the
// embedded Store is nil). Its reads return IDs of their own, as SQL
// stores' do.
type oneSession struct {
	Store
	mu   sync.Mutex
	s    Session
	av   int64  // the user's auth_version
	hook func() // run before each read of the session by ID, if set
}

// onRead sets the function run before each read of the session by ID: a
// point between an access token's verification and its caching.
func (st *oneSession) onRead(f func()) {
	st.mu.Lock()
	st.hook = f
	st.mu.Unlock()
}

func (st *oneSession) Session(_ context.Context, id string, now time.Time) (*Session, error) {
	st.mu.Lock()
	hook := st.hook
	st.mu.Unlock()
	if hook != nil {
		hook()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if id != st.s.ID || !st.live(now) {
		return nil, ErrNotFound
	}
	return st.read(), nil
}

func (st *oneSession) SessionByToken(_ context.Context, h Hash, now time.Time) (*Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if h != st.s.TokenHash || !st.live(now) {
		return nil, ErrNotFound
	}
	return st.read(), nil
}

// read returns a copy of the session; st.mu is held.
func (st *oneSession) read() *Session {
	s := st.s
	s.ID, s.UserID = strings.Clone(s.ID), strings.Clone(s.UserID)
	return &s
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

// RevokeUserSessions raises the user's auth_version, which ends the
// session (live compares the two), as the store contract says.
func (st *oneSession) RevokeUserSessions(_ context.Context, userID string, at time.Time) (int, int64, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	if userID == st.s.UserID && st.live(at) {
		n = 1
	}
	st.av++
	return n, st.av, nil
}

func (st *oneSession) AuthVersion(context.Context, string) (int64, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.av, nil
}

// live reports whether the session is live at now; st.mu is held.
func (st *oneSession) live(now time.Time) bool {
	return st.s.Live(now) && st.s.AuthVersion >= st.av
}

// cookieValue is the session cookie of oneSession's session.
const cookieValue = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

// testManager starts a Manager in mode on a store of one session that
// lives a day, with leeway, and returns it with its clock and the session.
func testManager(t *testing.T, mode Mode, leeway time.Duration) (*Manager, *FakeClock, *oneSession) {
	t.Helper()
	clock := NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	now := clock.Now()
	st := &oneSession{s: Session{
		ID: "ses_0123456789abcdef0123456789abcdef", UserID: "usr_1", TokenHash: HashString(cookieValue),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}}
	m, err := New(Config{
		Mode: mode, Store: st, Now: clock.Now, Leeway: leeway,
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
	m, clock, st := testManager(t, ModeJWT, leeway)
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

// The same holds for the user's record, which a logout everywhere reaches
// the token through.
func TestLogoutEverywhereReachesTokenWithinLeeway(t *testing.T) {
	const leeway = time.Minute
	m, clock, st := testManager(t, ModeJWT, leeway)
	tok := mint(t, m, st, "jti_1")
	if _, err := m.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatalf("fresh token: Authenticate: %v", err)
	}
	clock.Advance(m.cfg.AccessTokenTTL + leeway/2) // past exp, within the leeway
	if _, err := m.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatalf("within the leeway: Authenticate: %v; want success", err)
	}
	m.cache.sweep(m.now())
	if n, err := m.RevokeUser(context.Background(), st.s.UserID); err != nil || n != 1 {
		t.Fatalf("RevokeUser = %d, %v; want 1 session ended", n, err)
	}
	if p, err := m.Authenticate(bearerRequest(tok)); !errors.Is(err, ErrSessionRevoked) {
		t.Fatalf("after logout everywhere, within the leeway: Authenticate = %v, %v; want ErrSessionRevoked", p != nil, err)
	}
}

// A cached principal's session ID and user ID are two parts of one string:
// the store's row or the token's claims are not kept, and the IDs cost one
// allocation. The session's and user's records are filed under keys of the
// IDs, which hold no string.
func TestCachedIDsShareOneString(t *testing.T) {
	for _, mode := range []Mode{ModeSession, ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			m, _, st := testManager(t, mode, 0)
			r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			if mode == ModeJWT {
				r = bearerRequest(mint(t, m, st, "jti_1"))
			} else {
				r.AddCookie(&http.Cookie{Name: m.cfg.SessionCookie.Name, Value: cookieValue})
			}
			p, err := m.Authenticate(r)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if p.SessionID != st.s.ID || p.UserID != st.s.UserID {
				t.Fatalf("Authenticate = session %s of user %s, want %s of %s", p.SessionID, p.UserID, st.s.ID, st.s.UserID)
			}
			base := unsafe.StringData(p.SessionID)
			if got, want := unsafe.StringData(p.UserID), unsafe.Add(unsafe.Pointer(base), len(p.SessionID)); unsafe.Pointer(got) != want {
				t.Errorf("the principal's user ID is not the rest of its session ID's string")
			}
			m.cache.mu.RLock()
			defer m.cache.mu.RUnlock()
			if m.cache.sids[idKey(p.SessionID)] == nil || m.cache.users[idKey(p.UserID)] == nil {
				t.Errorf("the session's or the user's record is not under the key of its ID")
			}
			if len(m.cache.sids) != 1 || len(m.cache.users) != 1 {
				t.Errorf("the cache holds %d session and %d user records, want 1 and 1", len(m.cache.sids), len(m.cache.users))
			}
		})
	}
}

// A token is cached only under the key set that verified it. Here the
// codec's set moves from a to b, which adds a key, while a request is
// between reading the set and verifying the token, and back to the very
// same a before the token is cached: the token, signed with b's new key, is
// one a does not accept, and must not be answered from memory while the
// codec holds a.
func TestTokenCachedUnderTheSetThatVerifiedIt(t *testing.T) {
	m, _, st := testManager(t, ModeJWT, 0)
	a := m.codec.Keys()
	k, err := accesstoken.GenerateKey(a.Alg(), m.now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Rotate(k, 2) // k signs; a's key still verifies
	if err != nil {
		t.Fatal(err)
	}
	m.codec.SetKeys(b)
	tok := mint(t, m, st, "jti_b") // signed with k, which a lacks
	m.codec.SetKeys(a)
	if _, err := m.Authenticate(bearerRequest(tok)); !errors.Is(err, ErrInvalidCredential) {
		t.Fatalf("a token signed with a key the set lacks: Authenticate: %v; want ErrInvalidCredential", err)
	}

	// The interleaving: the request reads a, the set moves to b, the token
	// is verified, the set moves back to a, the token is cached.
	testHookBeforeVerify = func() { m.codec.SetKeys(b) }
	t.Cleanup(func() { testHookBeforeVerify = nil })
	st.onRead(func() { m.codec.SetKeys(a) })
	m.Authenticate(bearerRequest(tok)) // whatever it answers under the moving set
	testHookBeforeVerify = nil
	st.onRead(nil)
	m.codec.SetKeys(a) // where the request left it, had it not been read back
	if p, err := m.Authenticate(bearerRequest(tok)); !errors.Is(err, ErrInvalidCredential) {
		t.Fatalf("with the set back to a: Authenticate = %v, %v; want ErrInvalidCredential: the token was cached under a set that does not accept it", p != nil, err)
	}
}
