package signoff

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/internal/bounded"
)

// cache is an instance's memory of what is live and what is revoked. It is
// how authenticated requests are answered without a store round trip, and the
// only thing a Bus changes.
//
// Correctness does not depend on evicting entries: every cached credential
// points at the one sidState of its session and the one userState of its
// user, and entry.dead, the one validity rule, reads those shared records.
// apply marks them, so a revocation reaches every cached credential of a
// session, or of a user after logout everywhere, in O(1).
type cache struct {
	mu       sync.RWMutex
	sessions map[key]*entry // session mode: by the cookie's hash
	// tokens holds verified access tokens (jwt mode), by the whole
	// token's hash, all verified under keys. The tokens are trusted only
	// while keys is the codec's key set: a key removed by SetKeys (for
	// instance after a compromise) stops its tokens at once, cached or
	// not. One set for the cache rather than one pointer in every entry:
	// an entry then fits in 96 bytes, not 112.
	tokens map[key]*entry
	keys   *accesstoken.KeySet
	// The records, each under the key of its ID (idKey): a map key the
	// collector does not follow, as a string's would be.
	sids    map[key]*sidState
	users   map[key]*userState
	pending map[string]pendingLogout // by Revocation.Pending
	ended   map[string]int64         // Pending → until: ended here, never to begin again
	max     int
	now     func() time.Time
}

// pendingLogout is a logout everywhere that was announced and whose end
// this instance has not heard.
type pendingLogout struct {
	user  *userState
	until int64
	at    int64 // unix ns when this instance applied it
}

// sidState is what an instance knows about one session. (24 bytes, a
// size class: see TestCacheRecordSizes.)
type sidState struct {
	revoked  atomic.Bool
	until    deadline     // from when nothing of the session can be valid
	lastSeen atomic.Int64 // unix ns of the latest authenticated request here
	touched  atomic.Int64 // unix ns of the latest LastSeenAt write sent to the store
}

// userState is what an instance knows about one user. (16 bytes.)
type userState struct {
	av    atomic.Int64 // the highest auth_version seen
	until deadline
	// pending counts the logouts everywhere of the user that are under
	// way: while it is not zero, nothing in memory about the user is
	// trusted and every credential is read through to the store.
	pending atomic.Int32
}

// settled reports whether memory may answer for the user: no logout
// everywhere of theirs is under way.
func (u *userState) settled() bool { return u.pending.Load() == 0 }

// entry is a credential this instance has checked: a session cookie's
// session (session mode) or a verified access token (jwt mode).
type entry struct {
	p    Principal
	sid  *sidState
	user *userState
	// end is the unix ns from which the credential is no longer good: the
	// session's absolute lifetime, or the access token's exp plus Leeway.
	end int64
}

// expired is what a request that presents e from its end on is told, by
// the mode of its principal: a session cookie's session expired, an access
// token is no longer valid. (Worked out, not stored: an entry is held for
// every cached session, and 96 bytes is a size class, 112 the next.)
func (e *entry) expired() error {
	if e.p.Mode == ModeJWT {
		return errTokenExpired
	}
	return ErrSessionExpired
}

// dead is the validity rule of a checked credential, written here once and
// used by every path that answers from what this instance knows: it returns
// ErrSessionRevoked once a revocation has reached the entry's session, or
// its user with a higher auth_version (logout everywhere); its expired
// error from end on; and nil while the credential is good. A good
// entry may answer a request from memory only while the Manager trusts its
// memory of the user (Manager.trusted).
func (e *entry) dead(n int64) error {
	switch {
	case e.sid.revoked.Load() || e.p.AuthVersion < e.user.av.Load():
		return ErrSessionRevoked
	case n >= e.end:
		return e.expired()
	}
	return nil
}

// key is what the cache files a checked credential under: the first 128
// bits of its Hash. A map slot then holds 16 bytes of key rather than 32:
// 28 bytes less per credential in a cache of 100,000, slots to spare
// included (BenchmarkAuthenticateScale).
//
// 128 bits are enough because the key is only an index to what was
// checked, never itself a check. A hit on a string other than the cached
// credential would answer it with that credential's principal, no other,
// and only while that credential is good; so a collision is worth
// something only to one who does not hold the cached credential:
//
//   - By accident: with n credentials cached, two of them collide (and
//     the later would answer for the earlier) with probability about
//     n²/2¹²⁹, under 2⁻⁹⁵ for the default 100,000.
//   - On purpose: the attacker must present a string whose key is a
//     cached credential's key. A key is never revealed by the cache; it is
//     a prefix of a hash that (session mode) the store keeps, so even with
//     a copy of the database this is a second preimage of 128 bits, about
//     2¹²⁸/n SHA-256 evaluations (2¹¹¹ at n = 100,000). The birthday bound
//     of 2⁶⁴ needs both colliding inputs chosen, and a cached credential
//     is one the server minted (a random secret, or a signed token): each
//     candidate costs a sign-in or a refresh, and two of one's own that
//     collide give nothing that either did not.
//
// A miss is unaffected: it reads the store by the whole Hash (session
// mode) or verifies the token's signature (jwt mode).
type key [16]byte

// keyOf returns the key credential hash h is filed under.
func keyOf(h Hash) key { return key(h[:16]) }

// idKey returns the key the record of a session or user ID is filed
// under: the first 128 bits of its SHA-256, as for a credential. Two IDs
// of one key would share a record (one's revocation would end the other's
// credentials, and one's activity count as the other's), so the key must
// not collide: by accident the odds are those of keyOf, about n²/2¹²⁹, and
// on purpose it takes a second preimage of 128 bits of an ID that the
// server or the application chose. The hash is paid only where a record
// is looked up by ID: a cache miss, a revocation, a rotation, a device
// list; a hit reaches the records through its entry.
func idKey(id string) key { return keyOf(HashString(id)) }

func newCache(max int, now func() time.Time) *cache {
	return &cache{
		ended:    map[string]int64{},
		now:      now,
		sessions: map[key]*entry{},
		tokens:   map[key]*entry{},
		sids:     map[key]*sidState{},
		users:    map[key]*userState{},
		pending:  map[string]pendingLogout{},
		max:      max,
	}
}

func (c *cache) session(h Hash) *entry {
	k := keyOf(h)
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sessions[k]
}

// token returns the access token cached under h if it was verified under
// ks, the codec's key set.
func (c *cache) token(h Hash, ks *accesstoken.KeySet) *entry {
	k := keyOf(h)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.keys != ks {
		return nil
	}
	return c.tokens[k]
}

// sid returns the one sidState of session id, creating it, and makes sure it
// is kept until at least until.
func (c *cache) sid(id string, until time.Time) *sidState {
	return record(c, c.sids, idKey(id), func(st *sidState) { st.until.raise(until) })
}

// user returns the one userState of user id, creating it, raises its
// auth_version to at least av and keeps it until at least until.
func (c *cache) user(id string, av int64, until time.Time) *userState {
	return record(c, c.users, idKey(id), func(u *userState) {
		raise(&u.av, av)
		u.until.raise(until)
	})
}

// record returns the one record under k in m, creating it, after raise has
// run on it. raise runs while a lock is held, so sweep (which takes the write
// lock) can never drop a record that a caller is about to use.
func record[V any](c *cache, m map[key]*V, k key, raise func(*V)) *V {
	c.mu.RLock()
	v := m[k]
	if v != nil {
		raise(v)
	}
	c.mu.RUnlock()
	if v == nil {
		c.mu.Lock()
		if v = m[k]; v == nil {
			v = new(V)
			m[k] = v
		}
		raise(v)
		c.mu.Unlock()
	}
	return v
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

// deadline is the moment until which a record is kept, in whole unix
// seconds, rounded up: 4 bytes where a time in unix ns takes 8. A record's
// until only decides when sweep may forget it, never whether a credential
// is good (entry.end does), so keeping it up to a second longer is safe,
// and a record is never forgotten early. A moment past 2106 is never.
type deadline struct{ s atomic.Uint32 }

// never is the deadline of a moment too late for 32 bits.
const never = math.MaxUint32

// raise makes sure d is no earlier than t.
func (d *deadline) raise(t time.Time) {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++ // rounded up
	}
	v := uint32(min(max(s, 0), never))
	for {
		old := d.s.Load()
		if v <= old || d.s.CompareAndSwap(old, v) {
			return
		}
	}
}

// passed reports whether d has come at n, in unix ns.
func (d *deadline) passed(n int64) bool {
	s := d.s.Load()
	return s != never && n >= int64(s)*int64(time.Second)
}

// addSession caches e, a session read from the store at n, unless it is
// already dead: a revocation may have arrived while it was read.
func (c *cache) addSession(h Hash, e *entry, n int64) {
	k := keyOf(h)
	c.mu.Lock()
	defer c.mu.Unlock()
	add(c, c.sessions, k, e, n)
}

// addToken caches e, a token verified at n under ks, unless it is already
// dead or ks is no longer the codec's key set. Tokens verified under another
// set are forgotten when ks becomes the cache's.
func (c *cache) addToken(h Hash, e *entry, n int64, ks *accesstoken.KeySet, codec *accesstoken.Codec) {
	k := keyOf(h)
	c.mu.Lock()
	defer c.mu.Unlock()
	// Compared under the lock: a token verified under a set that has
	// since moved cannot take the cache back to that set after a token
	// of the new one has moved it on.
	if ks != codec.Keys() {
		return
	}
	if ks != c.keys {
		c.tokens = map[key]*entry{}
		c.keys = ks
	}
	add(c, c.tokens, k, e, n)
}

// add puts e in m under k, evicting a sixteenth of m when it is full;
// c.mu is held.
func add(c *cache, m map[key]*entry, k key, e *entry, n int64) {
	if e.dead(n) != nil {
		return
	}
	if _, known := m[k]; !known {
		bounded.MakeRoom(m, c.max)
	}
	m[k] = e
}

// dropSession forgets the session cached under h.
func (c *cache) dropSession(h Hash) {
	k := keyOf(h)
	c.mu.Lock()
	delete(c.sessions, k)
	c.mu.Unlock()
}

// dropToken forgets e, the token cached under h, unless h has come to
// hold another entry meanwhile (the same token verified again, maybe under
// a new key set): that one is left alone.
func (c *cache) dropToken(h Hash, e *entry) {
	k := keyOf(h)
	c.mu.Lock()
	if c.tokens[k] == e {
		delete(c.tokens, k)
	}
	c.mu.Unlock()
}

// apply is the Bus subscriber: it records a revocation. Applying the same
// one twice changes nothing.
func (c *cache) apply(r Revocation) {
	if r.SessionID != "" {
		c.sid(r.SessionID, r.Until).revoked.Store(true)
	}
	if r.UserID == "" || (r.AuthVersion <= 0 && r.Pending == "") {
		return
	}
	u := c.user(r.UserID, r.AuthVersion, r.Until)
	if r.Pending == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, over := c.ended[r.Pending]
	switch {
	case r.AuthVersion == 0 && !over: // under way
		if _, known := c.pending[r.Pending]; !known {
			c.pending[r.Pending] = pendingLogout{user: u, until: r.Until.UnixNano(), at: c.now().UnixNano()}
			u.pending.Add(1)
		}
	case r.AuthVersion > 0: // done: the new auth_version is in force
		c.end(r.Pending, r.Until.UnixNano())
	}
}

// end ends pending logout id here for good; c.mu is held.
func (c *cache) end(id string, until int64) {
	if p, known := c.pending[id]; known {
		delete(c.pending, id)
		p.user.pending.Add(-1)
	}
	c.ended[id] = until
}

// stalePending returns the logouts everywhere of u still pending here that
// this instance applied before before.
func (c *cache) stalePending(u *userState, before time.Time) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var ids []string
	for id, p := range c.pending {
		if p.user == u && p.at < before.UnixNano() {
			ids = append(ids, id)
		}
	}
	return ids
}

// settle ends the pending logouts ids of u, whose outcome the store has
// told: av is the user's auth_version now.
func (c *cache) settle(u *userState, ids []string, av int64) {
	raise(&u.av, av)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if p, known := c.pending[id]; known {
			c.end(id, p.until)
		}
	}
}

// sweep forgets what can no longer matter at now: dead entries, and
// session and user records that outlived every credential they could vouch
// for.
func (c *cache) sweep(now time.Time) {
	n := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.sessions {
		if e.dead(n) != nil {
			delete(c.sessions, h)
		}
	}
	for h, e := range c.tokens {
		if e.dead(n) != nil {
			delete(c.tokens, h)
		}
	}
	for k, st := range c.sids {
		if st.until.passed(n) {
			delete(c.sids, k)
		}
	}
	for id, p := range c.pending {
		if n >= p.until {
			delete(c.pending, id)
			p.user.pending.Add(-1)
		}
	}
	for id, until := range c.ended {
		if n >= until {
			delete(c.ended, id)
		}
	}
	for k, u := range c.users {
		if u.until.passed(n) {
			delete(c.users, k)
		}
	}
}

// stats counts what the cache holds.
func (c *cache) stats() (sessions, tokens, pending int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sessions), len(c.tokens), len(c.pending)
}

// existingSid returns the sidState of session id if there is one.
func (c *cache) existingSid(id string) *sidState {
	k := idKey(id)
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sids[k]
}
