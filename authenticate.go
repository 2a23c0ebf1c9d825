package signoff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Authenticate returns the principal r's credential names: the session cookie
// in session mode, the Bearer access token in jwt mode. Credentials are never
// read from the URL (R24). Errors: ErrNoCredential, ErrInvalidCredential,
// ErrAmbiguousCredential, ErrSessionExpired, ErrSessionRevoked, or
// ErrUnavailable when the store cannot answer (fail closed, I11).
//
// A warm request costs a SHA-256 and a map lookup; nothing is written to the
// store but a last-seen time, at most once per TouchInterval per session.
func (m *Manager) Authenticate(r *http.Request) (*Principal, error) {
	var p *Principal
	var cached bool
	var err error
	if m.cfg.Mode == ModeJWT {
		p, cached, err = m.authToken(r)
	} else {
		p, cached, err = m.authSession(r)
	}
	if m.on.Authenticated != nil {
		m.on.Authenticated(Auth{Cached: cached, Err: err})
	}
	return p, err
}

// trusted reports whether memory may answer for user u: the bus is known to
// deliver every revocation and no logout everywhere of u is under way.
// Otherwise every credential of u is read through to the store.
func (m *Manager) trusted(u *userState) bool { return m.bus.Fresh() && u.settled() }

// authSession authenticates a session cookie, from memory when it can; cached
// reports that it could.
func (m *Manager) authSession(r *http.Request) (_ *Principal, cached bool, _ error) {
	v, err := CookieValue(r, m.cfg.SessionCookie.Name)
	if err != nil {
		return nil, false, err
	}
	if !validToken(v) {
		return nil, false, ErrInvalidCredential
	}
	h := HashString(v)
	now := m.now()
	n := now.UnixNano()
	if e := m.cache.session(h); e != nil && m.trusted(e.user) {
		if err := e.dead(n); err != nil {
			m.cache.dropSession(h)
			return nil, true, err
		}
		if n-e.sid.lastSeen.Load() < int64(m.cfg.IdleTimeout) {
			m.seen(e.sid, e.p.SessionID, n)
			return &e.p, true, nil
		}
		// Idle as far as this instance knows; the store knows whether
		// another instance saw it since.
	}
	p, err := m.readSession(r.Context(), h, now)
	return p, false, err
}

// readSession answers a session-mode request from the store and, while the
// bus is fresh, caches the answer.
func (m *Manager) readSession(ctx context.Context, h Hash, now time.Time) (*Principal, error) {
	s, err := m.store.SessionByToken(ctx, h, now)
	if errors.Is(err, ErrNotFound) {
		// A cached entry must not outlive the store's answer: it is here
		// while the bus was not fresh, and may name a session whose
		// revocation that bus missed.
		if m.cache.session(h) != nil {
			m.cache.dropSession(h)
		}
		return nil, ErrInvalidCredential
	}
	if err != nil {
		return nil, unavailable("read session", err)
	}
	n := now.UnixNano()
	sid, uid := idsOf(s.ID, s.UserID)
	st := m.cache.sid(sid, s.ExpiresAt)
	raise(&st.lastSeen, s.LastSeenAt.UnixNano())
	raise(&st.touched, s.LastSeenAt.UnixNano())
	if n-st.lastSeen.Load() >= int64(m.cfg.IdleTimeout) {
		return nil, ErrSessionExpired
	}
	u := m.cache.user(uid, s.AuthVersion, s.ExpiresAt)
	if !u.settled() {
		m.settlePending(ctx, u, uid, now)
	}
	e := &entry{
		p:   Principal{UserID: uid, SessionID: sid, AuthVersion: s.AuthVersion, Mode: ModeSession, ExpiresAt: s.ExpiresAt},
		sid: st, user: u, end: s.ExpiresAt.UnixNano(),
	}
	if err := e.dead(n); err != nil {
		return nil, err
	}
	if m.bus.Fresh() {
		m.cache.addSession(h, e, n)
	}
	m.seen(st, sid, n)
	return &e.p, nil
}

// testHookBeforeVerify, when a test sets it, runs on a token cache miss
// just before the token is verified: after the key set was read.
var testHookBeforeVerify func()

// errTokenExpired answers an access token past its exp (and Leeway).
var errTokenExpired = fmt.Errorf("%w: access token expired", ErrInvalidCredential)

// authToken authenticates a Bearer access token, from memory when it can;
// cached reports that it could.
func (m *Manager) authToken(r *http.Request) (_ *Principal, cached bool, _ error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, false, err
	}
	// Verified tokens are cached by the hash of the whole token: a known
	// signature under another header or payload is a miss. (Not by the
	// signature's hash alone, with the token kept to compare: a cached
	// token would then hold on to the request header it came in, a few
	// hundred bytes each.)
	h := HashString(tok)
	now := m.now()
	n := now.UnixNano()
	// The one reading of the key set: the token is looked for under it,
	// verified under it and filed under it (VerifyUnder), so a cached
	// token is always one this set accepts.
	ks := m.codec.Keys()
	if e := m.cache.token(h, ks); e != nil {
		if err := e.dead(n); err != nil {
			m.cache.dropToken(h, e)
			return nil, true, err
		}
		if m.trusted(e.user) {
			m.seen(e.sid, e.p.SessionID, n)
			return &e.p, true, nil
		}
		// The signature is still good, but only the store can say
		// whether the session is.
		p, err := m.readToken(r.Context(), e, now)
		return p, false, err
	}
	if testHookBeforeVerify != nil {
		testHookBeforeVerify()
	}
	cl, err := m.codec.VerifyUnder(tok, ks)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	// Verify accepts a token until exp + Leeway; so does a hit, and so
	// the records a revocation reaches it through are kept as long (a
	// sweep that forgot them at exp would leave the token pointing at
	// records no later revocation marks).
	end := cl.ExpiresAt.Add(m.cfg.Leeway)
	sid, uid := idsOf(cl.SessionID, cl.Subject)
	e := &entry{
		p:   Principal{UserID: uid, SessionID: sid, AuthVersion: cl.AuthVersion, Mode: ModeJWT, ExpiresAt: cl.ExpiresAt},
		sid: m.cache.sid(sid, end), user: m.cache.user(uid, 0, end),
		end: end.UnixNano(),
	}
	p, err := m.readToken(r.Context(), e, now)
	if err != nil {
		return nil, false, err
	}
	// Cached even while the bus is not fresh: the entry remembers that the
	// signature is good, which no revocation changes; a hit while the bus
	// is not fresh still asks the store about the session (above), and the
	// bus catches up on what it missed before it is fresh again. So an
	// outage costs one store read per request, not an Ed25519
	// verification as well.
	m.cache.addToken(h, e, n, ks, m.codec)
	m.seen(e.sid, sid, n)
	return p, false, nil
}

// idsOf copies a session ID and a user ID into one string, which both
// returned IDs are parts of, for a principal that is cached: one
// allocation rather than two (a session ID of 36 bytes takes 48, a short
// user ID 16; both together fit in 48), and nothing kept of the store's
// row or of the token's claims.
func idsOf(sessionID, userID string) (sid, uid string) {
	s := sessionID + userID
	return s[:len(sessionID)], s[len(sessionID):]
}

// readToken answers for the verified access token e from the store: whether
// its session is live, and whether a logout everywhere ended it.
func (m *Manager) readToken(ctx context.Context, e *entry, now time.Time) (*Principal, error) {
	n := now.UnixNano()
	if err := e.dead(n); err != nil {
		return nil, err
	}
	s, err := m.liveSession(ctx, e.sid, e.p.SessionID, e.p.UserID, now)
	if err != nil {
		return nil, err
	}
	raise(&e.user.av, s.AuthVersion)
	raise(&e.sid.touched, s.LastSeenAt.UnixNano())
	if !e.user.settled() {
		m.settlePending(ctx, e.user, e.p.UserID, now)
	}
	if err := e.dead(n); err != nil {
		return nil, err
	}
	return &e.p, nil
}

// liveSession asks the store whether session id of user is live; a session
// that is not is remembered as revoked.
func (m *Manager) liveSession(ctx context.Context, st *sidState, id, user string, now time.Time) (*Session, error) {
	s, err := m.store.Session(ctx, id, now)
	if errors.Is(err, ErrNotFound) {
		st.revoked.Store(true)
		return nil, ErrSessionRevoked
	}
	if err != nil {
		return nil, unavailable("read session", err)
	}
	if s.UserID != user {
		return nil, fmt.Errorf("%w: sub does not match the session", ErrInvalidCredential)
	}
	if st.revoked.Load() {
		return nil, ErrSessionRevoked
	}
	return s, nil
}
