package signoff

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// revokePresented revokes every session r's credentials name (see
// presented) and returns what it ended, as an Event.
func (m *Manager) revokePresented(ctx context.Context, r *http.Request, extra []Secret) (Event, error) {
	ts, err := m.presented(ctx, r, extra)
	if err != nil {
		return Event{}, err
	}
	for _, t := range ts {
		if err := m.revoke(ctx, t.id, t.user, t.until); err != nil {
			return Event{}, err
		}
	}
	return ended(ts), nil
}

// ended describes the sessions ts as an Event: how many, the session when
// there is one, and the user when the credentials name one (a refresh
// token alone does not say whose it is).
func ended(ts []target) Event {
	e := Event{Sessions: len(ts)}
	if len(ts) == 1 {
		e.SessionID = ts[0].id
	}
	for _, t := range ts {
		if t.user != "" && e.UserID == "" {
			e.UserID = t.user
		}
	}
	return e
}

// revoke ends one session: it publishes the revocation, then writes the
// store (the order is the package doc's "Revocation order"). The until is
// how long the session's credentials could otherwise live; zero means as
// long as any session could.
func (m *Manager) revoke(ctx context.Context, id, user string, until time.Time) error {
	now := m.now()
	if until.IsZero() || until.Before(now) {
		until = now.Add(m.cfg.AbsoluteLifetime)
	}
	// Access tokens carry their own exp; hold the revocation at least that long.
	until = maxTime(until, now.Add(m.cfg.AccessTokenTTL+m.cfg.Leeway))
	// A client that hangs up must not leave a revocation half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := m.publish(ctx, Revocation{SessionID: id, UserID: user, Until: until, Operator: operatorOf(ctx), Action: ActionFrom(ctx)}); err != nil {
		return unavailable("publish revocation", err)
	}
	if err := m.store.RevokeSession(ctx, id, now); err != nil {
		return unavailable("revoke session", err)
	}
	return nil
}

// revokeTimeout bounds a revocation once begun: the bus's acknowledgements
// (5 s by default) and the store write.
const revokeTimeout = 15 * time.Second

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Logout signs out the device that sent r: it revokes every session that r's
// credentials name (and the refresh tokens in extra, which native clients send
// in the body), then deletes the cookie and asks the browser to clear site
// data. A missing, expired or garbage credential is not an error: the
// deletion is still written (I4, RFC 7009 §2.2). Only a store or bus failure
// returns an error (ErrUnavailable), and then nothing is written, so the
// client keeps its state and can retry.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request, extra ...Secret) error {
	ctx := m.requestContext(r)
	e, err := m.revokePresented(ctx, r, extra)
	if err != nil {
		return err
	}
	m.clear(w)
	m.emit(ctx, slog.LevelInfo, EventLogout, m.on.Logout, e, slog.Int("ended", e.Sessions))
	return nil
}

// clear writes the deletion of this mode's cookie, Clear-Site-Data and
// Cache-Control: no-store.
func (m *Manager) clear(w http.ResponseWriter) {
	if m.cfg.Mode == ModeSession {
		m.cfg.SessionCookie.Delete(w)
	} else {
		m.cfg.RefreshCookie.Delete(w)
	}
	h := w.Header()
	if m.csd != "" {
		h.Set("Clear-Site-Data", m.csd)
	}
	h["Cache-Control"] = noStore
}

// LogoutAll signs the user of r out everywhere: it revokes all of the user's
// sessions and bumps their auth_version, so every access token minted before
// is rejected in O(1) (I6), then clears this device like Logout. r must carry
// a valid credential. It returns how many sessions were revoked.
func (m *Manager) LogoutAll(w http.ResponseWriter, r *http.Request) (int, error) {
	p, err := m.Authenticate(r)
	if err != nil {
		return 0, err
	}
	n, err := m.revokeUser(m.requestContext(r), p.UserID, false)
	if err != nil {
		return 0, err
	}
	m.clear(w)
	return n, nil
}

// RevokeUser revokes every session of the user and bumps their auth_version,
// as LogoutAll does, for an administrator. It returns how many sessions were
// revoked.
//
// It publishes that the logout is pending, writes the store, then publishes
// the new auth_version (the package doc's "Revocation order"). A failure
// before the store write answers 503 and changes nothing (the client
// retries, on any instance). If the last publish fails, the logout did
// happen everywhere: RevokeUser succeeds and keeps publishing in the
// background until it is delivered.
func (m *Manager) RevokeUser(ctx context.Context, userID string) (int, error) {
	return m.revokeUser(ctx, userID, true)
}

func (m *Manager) revokeUser(ctx context.Context, userID string, admin bool) (int, error) {
	now := m.now()
	until := now.Add(m.cfg.AbsoluteLifetime + m.cfg.AccessTokenTTL + m.cfg.Leeway)
	// A client that hangs up must not leave a revocation half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	pending := newID("lae_")
	if err := m.publish(ctx, Revocation{UserID: userID, Pending: pending, Until: until, Operator: operatorOf(ctx), Action: ActionFrom(ctx)}); err != nil {
		return 0, unavailable("publish revocation", err)
	}
	n, av, err := m.store.RevokeUserSessions(ctx, userID, now)
	if err != nil {
		return 0, unavailable("revoke user sessions", err)
	}
	done := Revocation{UserID: userID, AuthVersion: av, Pending: pending, Until: until, Operator: operatorOf(ctx), Action: ActionFrom(ctx)}
	if err := m.publish(ctx, done); err != nil {
		m.log.Warn("logout_all: the new auth_version is not yet published; instances read this user's credentials through to the store until it is", "user", userID, "err", err)
		m.bgMu.Lock()
		if !m.closing {
			m.wg.Add(1)
			go m.republish(done)
		}
		m.bgMu.Unlock()
	}
	m.emit(ctx, slog.LevelInfo, EventLogoutAll, m.on.LogoutEverywhere, Event{UserID: userID, Sessions: n, AuthVersion: av, Admin: admin},
		slog.Int("ended", n), slog.Int64("auth_version", av))
	return n, nil
}

// settleAfter is how long after an instance applied a pending logout
// everywhere the store's answer is final: the store write was bounded by
// revokeTimeout from before the pending entry was published, so by then it
// has committed or never will.
const settleAfter = revokeTimeout + time.Minute

// settlePending ends the logouts everywhere of user u that have been
// pending here for settleAfter, their end never heard (the store write
// failed, the last publish was lost and the publisher stopped retrying):
// the store's auth_version now says how each ended, and memory may answer
// for the user again. A store error leaves them pending; the next request
// tries again.
func (m *Manager) settlePending(ctx context.Context, u *userState, user string, now time.Time) {
	ids := m.cache.stalePending(u, now.Add(-settleAfter))
	if len(ids) == 0 {
		return
	}
	av, err := m.store.AuthVersion(ctx, user)
	if err != nil {
		return
	}
	m.cache.settle(u, ids, av)
	m.log.Info("logout_all: settled from the store", "user", user, "auth_version", av, "pending", len(ids))
}

// republish publishes r until it is delivered, the Manager closes, or r no
// longer matters, waiting longer after each failure (1 s, doubling to a
// minute).
func (m *Manager) republish(r Revocation) {
	defer m.wg.Done()
	wait := time.Second
	for m.now().Before(r.Until) {
		select {
		case <-m.done:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
		err := m.publish(ctx, r)
		cancel()
		if err == nil {
			m.log.Info("logout_all: the new auth_version is published", "user", r.UserID)
			return
		}
		wait = min(2*wait, time.Minute)
	}
}

// RevokeSession ends a session by ID, for an administrator. A session that
// does not exist or is already revoked is not an error.
func (m *Manager) RevokeSession(ctx context.Context, sessionID string) error {
	s, err := m.store.Session(ctx, sessionID, m.now())
	switch {
	case errors.Is(err, ErrNotFound):
		s = &Session{ID: sessionID}
	case err != nil:
		return unavailable("read session", err)
	}
	if err := m.revoke(ctx, s.ID, s.UserID, s.ExpiresAt); err != nil {
		return err
	}
	m.emit(ctx, slog.LevelInfo, EventSessionEnded, m.on.SessionRevoked, Event{UserID: s.UserID, SessionID: s.ID, Admin: true})
	return nil
}

// LogoutOthers signs the caller out of every other device (ASVS 5 7.4.3,
// 7.5.2): it revokes every live session of r's user but the one r's
// credential names, which stays signed in, so nothing of this device is
// cleared. r must carry a valid credential. It returns how many sessions it
// revoked; see RevokeOthers.
func (m *Manager) LogoutOthers(w http.ResponseWriter, r *http.Request) (int, error) {
	p, err := m.Authenticate(r)
	if err != nil {
		return 0, err
	}
	w.Header()["Cache-Control"] = noStore
	return m.RevokeOthers(m.requestContext(r), p.UserID, p.SessionID)
}

// RevokeOthers revokes every live session of the user except keepSessionID
// (empty keeps none), for a server that has just changed the user's
// password. Each session is ended as RevokeDevice ends one: published on the
// bus, then revoked in the store, and reported to Hooks.SessionRevoked. The
// user's auth_version is left alone, so the kept session's access tokens
// stay good; those of the others die with their sessions (I7). A session
// that begins while RevokeOthers runs is not revoked.
//
// It returns how many sessions it revoked. A store or bus failure stops it
// with ErrUnavailable and the count of those already revoked, which stay
// revoked; calling it again finishes the job.
func (m *Manager) RevokeOthers(ctx context.Context, userID, keepSessionID string) (int, error) {
	ss, err := m.store.ListSessions(ctx, userID, m.now())
	if err != nil {
		return 0, unavailable("list sessions", err)
	}
	n := 0
	for _, s := range ss {
		if s.ID == keepSessionID {
			continue
		}
		if err := m.revoke(ctx, s.ID, s.UserID, s.ExpiresAt); err != nil {
			return n, err
		}
		n++
		m.emit(ctx, slog.LevelInfo, EventSessionEnded, m.on.SessionRevoked, Event{UserID: s.UserID, SessionID: s.ID})
	}
	m.emit(ctx, slog.LevelInfo, EventLogoutOthers, nil, Event{UserID: userID, SessionID: keepSessionID}, slog.Int("ended", n))
	return n, nil
}
