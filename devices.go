package signoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// RevokeDevice ends one of the caller's own sessions (R8). A session that
// does not exist or belongs to someone else is ErrNotFound. Revoking the
// session the request itself uses also clears this device.
func (m *Manager) RevokeDevice(w http.ResponseWriter, r *http.Request, sessionID string) error {
	p, err := m.Authenticate(r)
	if err != nil {
		return err
	}
	ctx := m.requestContext(r)
	s, err := m.store.Session(ctx, sessionID, m.now())
	if errors.Is(err, ErrNotFound) || (err == nil && s.UserID != p.UserID) {
		return fmt.Errorf("%w: no such session of yours", ErrNotFound)
	}
	if err != nil {
		return unavailable("read session", err)
	}
	if err := m.revoke(ctx, s.ID, s.UserID, s.ExpiresAt); err != nil {
		return err
	}
	if s.ID == p.SessionID {
		m.clear(w)
	}
	m.emit(ctx, slog.LevelInfo, EventSessionEnded, m.on.SessionRevoked, Event{UserID: s.UserID, SessionID: s.ID})
	return nil
}

// Sessions lists the user's live sessions, newest first, leaving out those
// past their idle timeout.
func (m *Manager) Sessions(ctx context.Context, userID string) ([]*Session, error) {
	now := m.now()
	all, err := m.store.ListSessions(ctx, userID, now)
	if err != nil {
		return nil, unavailable("list sessions", err)
	}
	out := all[:0]
	for _, s := range all {
		last := s.LastSeenAt
		if st := m.cache.existingSid(s.ID); st != nil {
			if st.revoked.Load() {
				continue
			}
			if n := st.lastSeen.Load(); n > last.UnixNano() {
				last = time.Unix(0, n)
			}
		}
		if now.Sub(last) < m.cfg.IdleTimeout {
			s.LastSeenAt = last
			out = append(out, s)
		}
	}
	return out, nil
}

// SessionInfo is a session as its user sees it in a device list.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Current    bool      `json:"current"`
}

// Info returns the device-list view of s.
func (s *Session) Info(current bool) SessionInfo {
	return SessionInfo{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
		UserAgent: s.UserAgent, IP: s.IP, Current: current}
}
