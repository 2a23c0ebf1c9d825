package signoff

import (
	"context"
	"time"
)

// Hooks are told what a Manager does, so that metrics and audit sinks can be
// plugged in from outside: the package itself imports neither. Like
// net/http/httptrace's ClientTrace, every field is optional and one left
// nil costs a nil check. A hook runs on the goroutine that did the work: a
// request's, the Manager's background writer (Store for TouchSessions) or
// republisher (Published, Store), or the bus's reader (Applied; a LocalBus
// applies on the publishing request's goroutine, under its lock). So it
// must be quick, must not block and must not call the Manager. What hooks are handed carries IDs,
// never a credential.
type Hooks struct {
	// Login: a session began. Event has UserID and SessionID, Sessions
	// (the earlier sessions the device's credentials named, which a login
	// ends, R1), and Native for a jwt-mode client that is not a browser.
	Login func(Event)
	// Logout: a device signed out. Event.Sessions is how many sessions
	// its credentials named (0 is a logout with no live credential);
	// SessionID is set when that is one, UserID when a credential named
	// the user (a refresh token alone does not).
	Logout func(Event)
	// LogoutEverywhere: every session of Event.UserID ended (Sessions of
	// them) and the user's auth_version is now Event.AuthVersion. Admin is
	// set when it came from RevokeUser rather than the user's LogoutAll.
	LogoutEverywhere func(Event)
	// SessionRevoked: one session ended, by its own user (RevokeDevice;
	// LogoutOthers and RevokeOthers, once for each session they end) or by
	// an administrator (RevokeSession, Admin set).
	SessionRevoked func(Event)
	// Refreshed: a refresh token was rotated; Retry is set for a grace
	// retry that got the same successor again.
	Refreshed func(Event)
	// RefreshReused: a spent refresh token was presented again outside the
	// grace rule; its session (the token family) is being revoked.
	RefreshReused func(Event)
	// Published: the Manager published r on the bus, which took took; err
	// is nil when every instance applied it.
	Published func(r Revocation, took time.Duration, err error)
	// Applied: this instance applied r, published by any instance.
	Applied func(r Revocation)
	// Authenticated: Authenticate answered, from memory or from the store.
	Authenticated func(Auth)
	// Store: a store operation (named as the Store method, such as
	// "SessionByToken") finished after took, with the store's err:
	// ErrNotFound included, which is a normal answer (an unknown
	// credential), not a failure.
	Store func(op string, took time.Duration, err error)
}

// Event is what the Hooks of the lifecycle are told.
type Event struct {
	UserID    string
	SessionID string
	// Sessions is how many sessions a logout, or a login (its device's
	// earlier ones), ended.
	Sessions int
	// AuthVersion is the user's auth_version after a logout everywhere.
	AuthVersion int64
	Native      bool // Login: the refresh token went in the body, not a cookie
	Admin       bool // done by an administrator, not by the user
	Retry       bool // Refreshed: a grace retry
	// IP is the client's address (Config.ClientIP) when a request of the
	// client caused the event.
	IP string
	// Operator names the administrator of an Admin event, when the
	// context said who (WithOperator).
	Operator string
}

// Auth is what Hooks.Authenticated is told about one authentication.
type Auth struct {
	// Cached is true when memory answered: a cache hit, with no store read.
	Cached bool
	// Err is nil when the credential was accepted.
	Err error
}

// Stats is a snapshot of a Manager's memory, for gauges.
type Stats struct {
	// Fresh reports whether the bus is known to deliver every revocation;
	// while it is not, every credential is read through to the store.
	Fresh bool
	// CachedSessions and CachedTokens count the session cookies and access
	// tokens that can be answered from memory.
	CachedSessions, CachedTokens int
	// PendingLogouts counts logouts everywhere under way, during which the
	// user's credentials are read through to the store.
	PendingLogouts int
}

// Stats returns a snapshot of the Manager's memory.
func (m *Manager) Stats() Stats {
	s, t, p := m.cache.stats()
	return Stats{Fresh: m.bus.Fresh(), CachedSessions: s, CachedTokens: t, PendingLogouts: p}
}

// hooks installs h: the store is timed only when someone listens.
func (m *Manager) hooks(h Hooks) {
	m.on = h
	if h.Store != nil {
		m.store = timedStore{m.store, h.Store}
	}
}

// apply is the Bus subscriber.
func (m *Manager) apply(r Revocation) {
	m.cache.apply(r)
	if m.on.Applied != nil {
		m.on.Applied(r)
	}
}

// publish publishes r and tells Hooks.Published.
func (m *Manager) publish(ctx context.Context, r Revocation) error {
	if m.on.Published == nil {
		return m.bus.Publish(ctx, r)
	}
	start := time.Now()
	err := m.bus.Publish(ctx, r)
	m.on.Published(r, time.Since(start), err)
	return err
}

// report calls hook, if it is set, with e.
func report(hook func(Event), e Event) {
	if hook != nil {
		hook(e)
	}
}

// timedStore tells Hooks.Store how long each operation of a Store took.
type timedStore struct {
	Store
	took func(op string, took time.Duration, err error)
}

func (s timedStore) done(op string, start time.Time, err *error) {
	s.took(op, time.Since(start), *err)
}

func (s timedStore) CreateSession(ctx context.Context, ses *Session, rt *RefreshToken) (err error) {
	defer s.done("CreateSession", time.Now(), &err)
	return s.Store.CreateSession(ctx, ses, rt)
}

func (s timedStore) SessionByToken(ctx context.Context, h Hash, now time.Time) (_ *Session, err error) {
	defer s.done("SessionByToken", time.Now(), &err)
	return s.Store.SessionByToken(ctx, h, now)
}

func (s timedStore) Session(ctx context.Context, id string, now time.Time) (_ *Session, err error) {
	defer s.done("Session", time.Now(), &err)
	return s.Store.Session(ctx, id, now)
}

func (s timedStore) ListSessions(ctx context.Context, userID string, now time.Time) (_ []*Session, err error) {
	defer s.done("ListSessions", time.Now(), &err)
	return s.Store.ListSessions(ctx, userID, now)
}

func (s timedStore) TouchSessions(ctx context.Context, ts []Touch) (err error) {
	defer s.done("TouchSessions", time.Now(), &err)
	return s.Store.TouchSessions(ctx, ts)
}

func (s timedStore) RevokeSession(ctx context.Context, id string, at time.Time) (err error) {
	defer s.done("RevokeSession", time.Now(), &err)
	return s.Store.RevokeSession(ctx, id, at)
}

func (s timedStore) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (_ int, _ int64, err error) {
	defer s.done("RevokeUserSessions", time.Now(), &err)
	return s.Store.RevokeUserSessions(ctx, userID, at)
}

func (s timedStore) AuthVersion(ctx context.Context, userID string) (_ int64, err error) {
	defer s.done("AuthVersion", time.Now(), &err)
	return s.Store.AuthVersion(ctx, userID)
}

func (s timedStore) RefreshToken(ctx context.Context, h Hash) (_ *RefreshToken, err error) {
	defer s.done("RefreshToken", time.Now(), &err)
	return s.Store.RefreshToken(ctx, h)
}

func (s timedStore) RotateRefreshToken(ctx context.Context, parent Hash, child *RefreshToken, grace time.Duration) (_ *Rotation, err error) {
	defer s.done("RotateRefreshToken", time.Now(), &err)
	return s.Store.RotateRefreshToken(ctx, parent, child, grace)
}

func (s timedStore) Ping(ctx context.Context) (err error) {
	defer s.done("Ping", time.Now(), &err)
	return s.Store.Ping(ctx)
}
