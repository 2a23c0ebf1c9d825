// Package memstore is an in-memory signoff.Store and signoff.UserStore, for
// tests and for single-process applications that accept losing every session
// on restart. It is the reference implementation of the rules in
// signoff.Store: one mutex makes every operation atomic.
package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signoff/signoff"
)

// Store is an in-memory store. The zero value is not ready: use New.
type Store struct {
	mu       sync.Mutex
	sessions map[string]*signoff.Session
	byToken  map[signoff.Hash]string // token hash -> session ID
	refresh  map[signoff.Hash]*signoff.RefreshToken
	byJTI    map[string]*signoff.RefreshToken
	families map[string][]*signoff.RefreshToken // session ID -> its refresh tokens
	versions map[string]int64                   // user ID -> auth_version
	users    map[string]*signoff.User
	byEmail  map[string]string
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		sessions: map[string]*signoff.Session{},
		byToken:  map[signoff.Hash]string{},
		refresh:  map[signoff.Hash]*signoff.RefreshToken{},
		byJTI:    map[string]*signoff.RefreshToken{},
		families: map[string][]*signoff.RefreshToken{},
		versions: map[string]int64{},
		users:    map[string]*signoff.User{},
		byEmail:  map[string]string{},
	}
}

var (
	_ signoff.Store          = (*Store)(nil)
	_ signoff.UserStore      = (*Store)(nil)
	_ signoff.SessionDeleter = (*Store)(nil)
)

func copySession(x *signoff.Session) *signoff.Session         { c := *x; return &c }
func copyToken(x *signoff.RefreshToken) *signoff.RefreshToken { c := *x; return &c }

// CreateSession implements signoff.Store.
func (s *Store) CreateSession(_ context.Context, sess *signoff.Session, rt *signoff.RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.sessions[sess.ID]; dup {
		return errDuplicate
	}
	if !sess.TokenHash.IsZero() {
		if _, dup := s.byToken[sess.TokenHash]; dup {
			return errDuplicate
		}
	}
	if rt != nil {
		if _, dup := s.refresh[rt.Hash]; dup {
			return errDuplicate
		}
		if _, dup := s.byJTI[rt.JTI]; dup {
			return errDuplicate
		}
	}
	sess.AuthVersion = s.versions[sess.UserID]
	s.sessions[sess.ID] = copySession(sess)
	if !sess.TokenHash.IsZero() {
		s.byToken[sess.TokenHash] = sess.ID
	}
	if rt != nil {
		t := copyToken(rt)
		t.SessionID = sess.ID
		s.addToken(t)
	}
	return nil
}

type storeError string

func (e storeError) Error() string { return string(e) }

const errDuplicate = storeError("memstore: duplicate ID or hash")

func (s *Store) addToken(t *signoff.RefreshToken) {
	s.refresh[t.Hash] = t
	s.byJTI[t.JTI] = t
	s.families[t.SessionID] = append(s.families[t.SessionID], t)
}

func (s *Store) live(id string, now time.Time) (*signoff.Session, bool) {
	x, ok := s.sessions[id]
	if !ok || !s.isLive(x, now) {
		return nil, false
	}
	return x, true
}

// isLive is a live session as signoff.Store defines it: not revoked, not
// expired, not below its user's auth_version.
func (s *Store) isLive(x *signoff.Session, now time.Time) bool {
	return x.Live(now) && x.AuthVersion >= s.versions[x.UserID]
}

// SessionByToken implements signoff.Store.
func (s *Store) SessionByToken(_ context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.live(s.byToken[h], now)
	if !ok {
		return nil, signoff.ErrNotFound
	}
	return copySession(x), nil
}

// Session implements signoff.Store.
func (s *Store) Session(_ context.Context, id string, now time.Time) (*signoff.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.live(id, now)
	if !ok {
		return nil, signoff.ErrNotFound
	}
	return copySession(x), nil
}

// ListSessions implements signoff.Store.
func (s *Store) ListSessions(_ context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*signoff.Session{}
	for _, x := range s.sessions {
		if x.UserID == userID && s.isLive(x, now) {
			out = append(out, copySession(x))
		}
	}
	slices.SortFunc(out, func(a, b *signoff.Session) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// TouchSessions implements signoff.Store.
func (s *Store) TouchSessions(_ context.Context, ts []signoff.Touch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range ts {
		if x, ok := s.sessions[t.SessionID]; ok && x.RevokedAt.IsZero() && t.At.After(x.LastSeenAt) {
			x.LastSeenAt = t.At
		}
	}
	return nil
}

func (s *Store) revoke(id string, at time.Time) bool {
	x, ok := s.sessions[id]
	if !ok || !x.RevokedAt.IsZero() {
		return false
	}
	x.RevokedAt = at
	for _, t := range s.families[id] {
		if t.RevokedAt.IsZero() {
			t.RevokedAt = at
		}
	}
	return true
}

// RevokeSession implements signoff.Store.
func (s *Store) RevokeSession(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoke(id, at)
	return nil
}

// RevokeUserSessions implements signoff.Store. It changes only the user's
// auth_version, which ends the sessions; it counts them by walking every
// session, which memory makes quick enough for the tests and small
// applications this store is for.
func (s *Store) RevokeUserSessions(_ context.Context, userID string, at time.Time) (int, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.sessions {
		if x.UserID == userID && s.isLive(x, at) {
			n++
		}
	}
	s.versions[userID]++
	if u, ok := s.users[userID]; ok {
		u.AuthVersion = s.versions[userID]
	}
	return n, s.versions[userID], nil
}

// AuthVersion implements signoff.Store.
func (s *Store) AuthVersion(_ context.Context, userID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[userID], nil
}

// RefreshToken implements signoff.Store.
func (s *Store) RefreshToken(_ context.Context, h signoff.Hash) (*signoff.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[h]
	if !ok {
		return nil, signoff.ErrNotFound
	}
	return copyToken(t), nil
}

// RotateRefreshToken implements signoff.Store.
func (s *Store) RotateRefreshToken(_ context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := child.IssuedAt
	p, ok := s.refresh[parent]
	if !ok {
		return nil, signoff.ErrNotFound
	}
	sess, ok := s.live(p.SessionID, now)
	if !ok {
		return nil, signoff.ErrNotFound
	}
	if p.ReplacedBy != "" || !p.RevokedAt.IsZero() {
		c := s.byJTI[p.ReplacedBy]
		if p.ReplacedBy == child.JTI && c != nil && c.RevokedAt.IsZero() && c.ReplacedBy == "" &&
			!now.After(p.RevokedAt.Add(grace)) {
			return &signoff.Rotation{Session: copySession(sess), Child: copyToken(c), Retry: true}, nil
		}
		return nil, &signoff.ReuseError{SessionID: sess.ID, UserID: sess.UserID}
	}
	if !now.Before(p.ExpiresAt) {
		return nil, signoff.ErrNotFound
	}
	if _, dup := s.refresh[child.Hash]; dup {
		return nil, errDuplicate
	}
	p.RevokedAt = now
	p.ReplacedBy = child.JTI
	c := copyToken(child)
	c.SessionID = sess.ID
	if c.ExpiresAt.After(sess.ExpiresAt) {
		c.ExpiresAt = sess.ExpiresAt
	}
	s.addToken(c)
	if now.After(sess.LastSeenAt) {
		sess.LastSeenAt = now
	}
	return &signoff.Rotation{Session: copySession(sess), Child: copyToken(c)}, nil
}

// Ping implements signoff.Store. Memory is always there: it returns nil.
func (s *Store) Ping(context.Context) error { return nil }

// CreateUser implements signoff.UserStore.
func (s *Store) CreateUser(_ context.Context, u *signoff.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byEmail[u.Email]; taken {
		return signoff.ErrEmailTaken
	}
	if _, dup := s.users[u.ID]; dup {
		return errDuplicate
	}
	c := *u
	c.AuthVersion = s.versions[u.ID]
	s.users[u.ID] = &c
	s.byEmail[u.Email] = u.ID
	return nil
}

// UserByEmail implements signoff.UserStore.
func (s *Store) UserByEmail(_ context.Context, email string) (*signoff.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[s.byEmail[email]]
	if !ok {
		return nil, signoff.ErrNotFound
	}
	c := *u
	return &c, nil
}

// SetPassword implements signoff.UserStore.
func (s *Store) SetPassword(_ context.Context, userID, passwordHash string) error {
	return s.changeUser(userID, func(u *signoff.User) { u.PasswordHash = passwordHash })
}

// changeUser applies change to the account userID, or is ErrNotFound.
func (s *Store) changeUser(userID string, change func(*signoff.User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return signoff.ErrNotFound
	}
	change(u)
	return nil
}

// UserByID implements signoff.UserStore.
func (s *Store) UserByID(_ context.Context, id string) (*signoff.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, signoff.ErrNotFound
	}
	c := *u
	return &c, nil
}

// ListUsers implements signoff.UserStore.
func (s *Store) ListUsers(_ context.Context) ([]*signoff.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*signoff.User, 0, len(s.users))
	for _, u := range s.users {
		c := *u
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *signoff.User) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// SetDisabled implements signoff.UserStore.
func (s *Store) SetDisabled(_ context.Context, userID string, disabled bool) error {
	return s.changeUser(userID, func(u *signoff.User) { u.Disabled = disabled })
}

// DeleteUser implements signoff.UserStore. The user's auth_version stays.
func (s *Store) DeleteUser(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return signoff.ErrNotFound
	}
	delete(s.byEmail, u.Email)
	delete(s.users, userID)
	return nil
}

// DeleteUserSessions implements signoff.SessionDeleter.
func (s *Store) DeleteUserSessions(_ context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, x := range s.sessions {
		if x.UserID != userID {
			continue
		}
		for _, t := range s.families[id] {
			delete(s.refresh, t.Hash)
			delete(s.byJTI, t.JTI)
		}
		delete(s.families, id)
		if !x.TokenHash.IsZero() {
			delete(s.byToken, x.TokenHash)
		}
		delete(s.sessions, id)
		n++
	}
	return n, nil
}
