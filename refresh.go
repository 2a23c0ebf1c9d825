package signoff

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/signoff/signoff/internal/bounded"
)

// childOf derives the successor of a refresh token: HMAC-SHA256 under
// RefreshKey. Deriving rather than drawing it means a grace retry of the
// parent gets the very same child without the child ever being stored.
func (m *Manager) childOf(parent Secret) Secret {
	mac := hmac.New(sha256.New, m.cfg.RefreshKey)
	mac.Write([]byte("signoff refresh child\x00"))
	mac.Write([]byte(parent.Reveal()))
	return NewSecret(base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
}

// jtiOf derives a refresh token's public jti.
func (m *Manager) jtiOf(t Secret) string {
	mac := hmac.New(sha256.New, m.cfg.RefreshKey)
	mac.Write([]byte("signoff refresh jti\x00"))
	mac.Write([]byte(t.Reveal()))
	return "rt_" + hex.EncodeToString(mac.Sum(nil)[:12])
}

// Refresh rotates the refresh token r carries and mints a new access token
// (jwt mode). A native client passes the refresh token it got in a body as
// bodyToken and gets the successor in Tokens.RefreshToken; a browser's comes
// from the refresh cookie, and its successor goes back in it.
//
// Rotation follows invariant I5: every use spends the token; a retry of the
// immediate parent within RefreshGrace returns the same successor; any other
// reuse revokes the whole session and is logged as refresh.reuse_detected
// (RFC 9700 §4.14.2). Refresh never extends the session's absolute lifetime.
func (m *Manager) Refresh(w http.ResponseWriter, r *http.Request, bodyToken Secret) (*Tokens, error) {
	if m.cfg.Mode != ModeJWT {
		return nil, ErrWrongMode
	}
	native := !bodyToken.IsZero()
	parent := bodyToken
	if !native {
		v, err := CookieValue(r, m.cfg.RefreshCookie.Name)
		if err != nil {
			return nil, err
		}
		parent = NewSecret(v)
	}
	if !validToken(parent.Reveal()) {
		return nil, fmt.Errorf("%w: not a refresh token", ErrInvalidCredential)
	}
	now := m.now()
	if m.cfg.RefreshLimit != nil {
		var err error
		if user, ok := m.owners.take(parent.Hash()); ok {
			err = m.cfg.RefreshLimit(r, user)
		} else {
			err = m.refreshLimit(r, parent.Hash(), now)
		}
		if err != nil {
			return nil, err
		}
	}
	child := m.childOf(parent)
	rot, err := m.store.RotateRefreshToken(r.Context(), parent.Hash(), &RefreshToken{
		JTI: m.jtiOf(child), Hash: child.Hash(), IssuedAt: now, ExpiresAt: now.Add(m.cfg.IdleTimeout),
	}, m.cfg.RefreshGrace)
	var reuse *ReuseError
	switch {
	case errors.As(err, &reuse):
		m.emit(m.requestContext(r), slog.LevelWarn, EventRefreshReused, m.on.RefreshReused, Event{UserID: reuse.UserID, SessionID: reuse.SessionID},
			slog.Any("refresh_token", parent))
		if err := m.revoke(r.Context(), reuse.SessionID, reuse.UserID, time.Time{}); err != nil {
			return nil, err
		}
		return nil, err
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: refresh token unknown, expired or revoked", ErrInvalidCredential)
	case err != nil:
		return nil, unavailable("rotate refresh token", err)
	}
	if m.cache.sid(rot.Session.ID, rot.Session.ExpiresAt).revoked.Load() {
		return nil, ErrSessionRevoked
	}
	at, exp, err := m.mint(rot.Session, now)
	if err != nil {
		return nil, err
	}
	m.owners.remember(m.cfg.RefreshLimit != nil, child.Hash(), rot.Session.UserID)
	w.Header()["Cache-Control"] = noStore
	t := &Tokens{AccessToken: at, ExpiresAt: exp}
	if native {
		t.RefreshToken = child
	} else {
		m.cfg.RefreshCookie.Set(w, child.Reveal(), rot.Child.ExpiresAt, now)
	}
	report(m.on.Refreshed, Event{UserID: rot.Session.UserID, SessionID: rot.Session.ID, Native: native, Retry: rot.Retry})
	return t, nil
}

// owners remembers whose refresh tokens this instance handed out, so that
// Config.RefreshLimit can name the account of the next refresh without
// reading the token and its session from the store: the user of a
// family never changes. A token it does not know (handed out by another
// instance, forgotten, or a grace retry of a spent one) is looked up as
// before. It is only a shortcut to a rate limit's key, never a reason to
// accept a token: the rotation decides that.
type owners struct {
	mu  sync.Mutex
	m   map[Hash]string
	max int
}

// remember records that the refresh token whose hash is h is user's, when
// on (a RefreshLimit is set). Full, it forgets a sixteenth at random.
func (o *owners) remember(on bool, h Hash, user string) {
	if !on {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[Hash]string{}
	}
	if _, known := o.m[h]; !known {
		bounded.MakeRoom(o.m, o.max)
	}
	o.m[h] = user
}

// take returns and forgets the user of the token whose hash is h: a token
// is spent by its refresh.
func (o *owners) take(h Hash) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	user, ok := o.m[h]
	delete(o.m, h)
	return user, ok
}

// refreshLimit finds the owner of the refresh token whose hash is h and asks
// Config.RefreshLimit about them.
func (m *Manager) refreshLimit(r *http.Request, h Hash, now time.Time) error {
	rt, err := m.store.RefreshToken(r.Context(), h)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return unavailable("read refresh token", err)
	}
	s, err := m.store.Session(r.Context(), rt.SessionID, now)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return unavailable("read session", err)
	}
	return m.cfg.RefreshLimit(r, s.UserID)
}
