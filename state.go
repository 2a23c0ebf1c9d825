package signoff

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// state is an instance's memory of what is live and what is revoked. It is
// how authenticated requests are answered without a store round trip, and the
// only thing a Bus changes.
//
// Correctness does not depend on evicting entries: every cache entry points at
// the one sidState of its session and the one userState of its user, and a
// hit is accepted only while the sidState is not revoked and the entry's
// auth_version is not below the userState's. apply marks those shared objects,
// so a revocation reaches every cached credential of a session, or of a user
// after logout everywhere, in O(1).
type state struct {
	mu       sync.RWMutex
	sessions map[Hash]*sessionEntry // session mode: by the cookie's hash
	tokens   map[Hash]*tokenEntry   // jwt mode: verified access tokens, by the token's hash
	sids     map[string]*sidState
	users    map[string]*userState
	pending  map[string]pendingLogout // by Revocation.Pending
	ended    map[string]int64         // Pending → until: ended here, never to begin again
	max      int
	now      func() time.Time
}

// pendingLogout is a logout everywhere that was announced and whose end
// this instance has not heard.
type pendingLogout struct {
	user  *userState
	until int64
	at    int64 // unix ns when this instance applied it
}

// sidState is what an instance knows about one session.
type sidState struct {
	revoked  atomic.Bool
	lastSeen atomic.Int64 // unix ns of the latest authenticated request here
	touched  atomic.Int64 // unix ns of the latest LastSeenAt write sent to the store
	until    atomic.Int64 // unix ns after which nothing of the session can be valid
}

// userState is what an instance knows about one user.
type userState struct {
	av    atomic.Int64 // the highest auth_version seen
	until atomic.Int64
	// pending counts the logouts everywhere of the user that are under
	// way: while it is not zero, nothing in memory about the user is
	// trusted and every credential is read through to the store.
	pending atomic.Int32
}

// settled reports whether memory may answer for the user: no logout
// everywhere of theirs is under way.
func (u *userState) settled() bool { return u.pending.Load() == 0 }

type sessionEntry struct {
	p       Principal
	sid     *sidState
	user    *userState
	expires int64 // unix ns: the session's absolute lifetime
}

type tokenEntry struct {
	p    Principal
	sid  *sidState
	user *userState
	exp  int64 // unix ns: the token's exp
	// keys is the key set the token was verified under. The entry is
	// trusted only while that set is current: a key removed by SetKeys (for
	// instance after a compromise) stops its tokens at once, cached or not.
	keys *accesstoken.KeySet
	tok  string // the whole token, compared on every hit
}

func newState(max int, now func() time.Time) *state {
	return &state{
		ended:    map[string]int64{},
		now:      now,
		sessions: map[Hash]*sessionEntry{},
		tokens:   map[Hash]*tokenEntry{},
		sids:     map[string]*sidState{},
		users:    map[string]*userState{},
		pending:  map[string]pendingLogout{},
		max:      max,
	}
}

func (s *state) session(h Hash) *sessionEntry {
	s.mu.RLock()
	e := s.sessions[h]
	s.mu.RUnlock()
	return e
}

func (s *state) token(h Hash) *tokenEntry {
	s.mu.RLock()
	e := s.tokens[h]
	s.mu.RUnlock()
	return e
}

// sid returns the one sidState of session id, creating it, and makes sure it
// is kept until at least until.
func (s *state) sid(id string, until time.Time) *sidState {
	// The until is raised while a lock is held, so sweep (which takes the
	// write lock) can never drop a record that a caller is about to use.
	s.mu.RLock()
	st := s.sids[id]
	if st != nil {
		raise(&st.until, until.UnixNano())
	}
	s.mu.RUnlock()
	if st == nil {
		s.mu.Lock()
		if st = s.sids[id]; st == nil {
			st = &sidState{}
			s.sids[id] = st
		}
		raise(&st.until, until.UnixNano())
		s.mu.Unlock()
	}
	return st
}

// user returns the one userState of user id, creating it, raises its
// auth_version to at least av and keeps it until at least until.
func (s *state) user(id string, av int64, until time.Time) *userState {
	s.mu.RLock()
	u := s.users[id]
	if u != nil {
		raise(&u.av, av)
		raise(&u.until, until.UnixNano())
	}
	s.mu.RUnlock()
	if u == nil {
		s.mu.Lock()
		if u = s.users[id]; u == nil {
			u = &userState{}
			s.users[id] = u
		}
		raise(&u.av, av)
		raise(&u.until, until.UnixNano())
		s.mu.Unlock()
	}
	return u
}

// raise sets *a to v if v is larger.
func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

func (s *state) addSession(h Hash, e *sessionEntry) {
	s.mu.Lock()
	if !e.sid.revoked.Load() && e.p.AuthVersion >= e.user.av.Load() {
		if len(s.sessions) >= s.max {
			evict(s.sessions, s.max/16+1)
		}
		s.sessions[h] = e
	}
	s.mu.Unlock()
}

func (s *state) addToken(h Hash, e *tokenEntry) {
	s.mu.Lock()
	if !e.sid.revoked.Load() && e.p.AuthVersion >= e.user.av.Load() {
		if len(s.tokens) >= s.max {
			evict(s.tokens, s.max/16+1)
		}
		s.tokens[h] = e
	}
	s.mu.Unlock()
}

func (s *state) dropSession(h Hash) {
	s.mu.Lock()
	delete(s.sessions, h)
	s.mu.Unlock()
}

func (s *state) dropToken(h Hash) {
	s.mu.Lock()
	delete(s.tokens, h)
	s.mu.Unlock()
}

// evict removes n entries; Go's map order is unspecified, which is as good
// as random for a cache that is only ever a shortcut.
func evict[V any](m map[Hash]V, n int) {
	for k := range m {
		if n == 0 {
			return
		}
		delete(m, k)
		n--
	}
}

// apply is the Bus subscriber: it records a revocation. Applying the same
// one twice changes nothing.
func (s *state) apply(r Revocation) {
	if r.SessionID != "" {
		s.sid(r.SessionID, r.Until).revoked.Store(true)
	}
	if r.UserID == "" || (r.AuthVersion <= 0 && r.Pending == "") {
		return
	}
	u := s.user(r.UserID, r.AuthVersion, r.Until)
	if r.Pending == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, over := s.ended[r.Pending]
	switch {
	case r.AuthVersion == 0 && !over: // under way
		if _, known := s.pending[r.Pending]; !known {
			s.pending[r.Pending] = pendingLogout{user: u, until: r.Until.UnixNano(), at: s.now().UnixNano()}
			u.pending.Add(1)
		}
	case r.AuthVersion > 0: // done: the new auth_version is in force
		s.end(r.Pending, r.Until.UnixNano())
	}
}

// end ends pending logout id here for good; s.mu is held.
func (s *state) end(id string, until int64) {
	if p, known := s.pending[id]; known {
		delete(s.pending, id)
		p.user.pending.Add(-1)
	}
	s.ended[id] = until
}

// stalePending returns the logouts everywhere of u still pending here that
// this instance applied before before.
func (s *state) stalePending(u *userState, before time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for id, p := range s.pending {
		if p.user == u && p.at < before.UnixNano() {
			ids = append(ids, id)
		}
	}
	return ids
}

// settle ends the pending logouts ids of u, whose outcome the store has
// told: av is the user's auth_version now.
func (s *state) settle(u *userState, ids []string, av int64) {
	raise(&u.av, av)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if p, known := s.pending[id]; known {
			s.end(id, p.until)
		}
	}
}

// sweep forgets what can no longer matter at now: expired cache entries, and
// session and user records that outlived every credential they could vouch
// for.
func (s *state) sweep(now time.Time) {
	n := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, e := range s.sessions {
		if n >= e.expires || e.sid.revoked.Load() {
			delete(s.sessions, h)
		}
	}
	for h, e := range s.tokens {
		if n >= e.exp || e.sid.revoked.Load() {
			delete(s.tokens, h)
		}
	}
	for id, st := range s.sids {
		if n >= st.until.Load() {
			delete(s.sids, id)
		}
	}
	for id, p := range s.pending {
		if n >= p.until {
			delete(s.pending, id)
			p.user.pending.Add(-1)
		}
	}
	for id, until := range s.ended {
		if n >= until {
			delete(s.ended, id)
		}
	}
	for id, u := range s.users {
		if n >= u.until.Load() {
			delete(s.users, id)
		}
	}
}

// size reports the number of cached credentials, for tests and metrics.
func (s *state) size() (sessions, tokens, sids int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions), len(s.tokens), len(s.sids)
}

// existingSid returns the sidState of session id if there is one.
func (s *state) existingSid(id string) *sidState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sids[id]
}
