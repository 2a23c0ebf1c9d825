// Package redisstore is a signoff.Store on Redis: sessions, refresh-token
// families, the revoked-session denylist and each user's auth_version. It
// does not keep users (signoff.UserStore): those stay in SQL.
//
// It runs unchanged on a single Redis, behind Sentinel, or on Redis Cluster
// (pass a *redis.ClusterClient to New). It uses Lua scripts and nothing
// newer than Redis 6.2; it is tested on Redis 7.
//
// # Key layout
//
// Everything of one user lives under the hash tag {u:<userID>}, so it sits in
// one hash slot, and every step that touches several keys (create, rotate,
// revoke, logout everywhere, list) is one Lua script in that slot, or (the
// read of a session with its user's auth_version) one MULTI/EXEC there.
// Callers arrive with a session ID or a credential's hash rather than a user
// ID, so small index keys, each a single key anywhere in the cluster, say
// which user (and session) a record belongs to. P is Options.Prefix ("signoff:").
//
//	key                        type    holds                                               TTL
//	P{u:<user>}:s:<sid>        hash    the session; av is the user's auth_version when     session's expiry + 1h
//	                                   it began, rt names its unspent refresh token
//	P{u:<user>}:sessions       zset    the user's session IDs, scored by CreatedAt         the longest of its sessions'
//	P{u:<user>}:live           zset    the live index: IDs of the sessions begun since     the longest of its sessions'
//	                                   the last logout everywhere, not revoked one by
//	                                   one, scored by ExpiresAt
//	P{u:<user>}:prune          string  the rank in :sessions from which the next session   the latest session's expiry + 1h
//	                                   created checks members for collected sessions
//	P{u:<user>}:rt:<hash hex>  hash    a refresh token: jti, sid, issued, expires,         session's expiry + 1h
//	                                   revoked, next (ReplacedBy), nexthash
//	P{u:<user>}:av             string  the user's auth_version                             none, on purpose
//	Pidx:sid:<sid>             string  ref: session expiry, user, sid                      session's expiry + 1h
//	Pidx:tok:<hash hex>        string  ref of the session whose cookie hashes to this      session's expiry + 1h
//	Pidx:rt:<hash hex>         string  ref of the session whose refresh token this is      session's expiry + 1h
//
// In <user>, the characters '{', '}' and '%' are percent-escaped, so that a
// user ID can neither end the hash tag early nor collide with another's.
// Times are unix microseconds. Hashes are SHA-256 in hex: the store holds no
// credential a client could present (I9).
//
// A revoked session stays stored, revoked, until its absolute lifetime ends:
// that is the sid denylist. (A session a logout everywhere ended stays stored
// too, not revoked: its av below the user's says it is over.) Access tokens
// never outlive their session, so when Redis collects the record nothing it
// named can still be presented.
// Spent and revoked refresh tokens stay too (RefreshToken returns them, and a
// spent one presented again is reuse), for as long as their session.
//
// # Lookups in two steps
//
// A lookup by session ID or by hash GETs the index key, then reads or runs a
// script on the record in the user's slot (checking there that the record is
// the one named, and live at the caller's now). Two steps are safe because an
// index never changes meaning: it is written with SET NX before its record
// exists, never overwritten, and removed only by its TTL (or at once, by the
// call that wrote it, when that call fails as a duplicate). So an index read
// at any moment names the only record it can ever name, and that record's
// state is then read atomically. An index whose record is not there (not yet
// written, or a rotation that did not happen) reads as not found.
//
// Uniqueness of session IDs and hashes across the whole store is enforced by
// those SET NX calls, since a script cannot look outside one slot.
//
// # Logout everywhere
//
// Every session records, in its av field, the user's auth_version when it
// began, and is live only while that is not below the user's av: every read
// of a live session compares the two in the user's slot, atomically (a
// lookup reads the session and av in one MULTI/EXEC; listing and rotation do
// it in their scripts). RevokeUserSessions is then one script that does not
// grow with the user's sessions: it INCRs av, which ends them all, and
// writes no session's or refresh token's record.
//
// It also returns how many sessions were live just before, and counts them
// from the live index, in O(log n): the sessions whose ExpiresAt is after
// its time (ZCOUNT). CreateSession enters each session there (unless stored
// revoked) in the same script that gives it the user's current av, and
// RevokeSession takes it out; RevokeUserSessions then drops the whole index
// (UNLINK, so Redis frees a large one off its main thread), since every
// session in it is over. As the scripts run one at a time, a session is
// either created before a logout everywhere (with the old av, counted, and
// ended) or after it (with the new av, in the new index). The count leaves
// out sessions revoked one by one, expired ones, and those an earlier
// logout everywhere ended, and needs no session read. Creating a session
// first drops from the index the sessions that expired more than gcMargin
// (an hour) before its CreatedAt, so that the index of a user who never signs
// out everywhere does not grow without end.
//
// Sessions created by an older build of this store, which kept no live
// index, are not in it: a logout everywhere ends them all the same (by av)
// but does not count them. Instances of an older build, during a rolling
// upgrade, do not compare av when they read a session: a logout everywhere
// by a new instance does not end a session for them (one by an old instance,
// which revoked each session, ends it for all).
//
// TouchSessions and RevokeSession do not read av: they may write the seen or
// revoked field of a session a logout everywhere ended, which is harmless,
// as no read finds it live again.
//
// # Expiry: TTLs collect, the caller's clock decides
//
// The Store contract passes the time in (the Manager's clock), and so does
// this store: whether a session is live, a refresh token expired or a retry
// within grace is always decided by the stored times against the caller's
// now, inside the scripts, never by Redis's clock. TTLs only collect garbage,
// generously: a key is given (ExpiresAt - now) + 1h as a relative TTL, where
// now is the caller's time of the write (CreatedAt, child.IssuedAt), and Redis
// counts it from its own clock. An absolute PEXPIREAT would compare the
// caller's clock with Redis's: a skewed clock, or a test clock in the past,
// would make keys vanish at once.
//
// The auth_version key has no TTL. If it expired, the count would restart at
// 0: sessions created afterwards would carry a lower version than instances
// remember for the user, and be refused; and the next logouts everywhere would
// hand out versions that tokens minted before the reset already carry, so they
// would no longer reach those tokens. It is written only by
// RevokeUserSessions: one small key per user who ever signed out everywhere.
//
// # Durability
//
// A revocation is as durable as Redis makes it. Run Redis with the append-only
// file (appendfsync everysec, or always to lose nothing), or a logout written
// just before a crash can come back after it (I11). Replication is
// asynchronous: a failover may drop the newest writes. A Redis that loses its
// data entirely signs everyone out, and restarts every auth_version at 0, with
// the consequences above.
package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/signoff/signoff"
)

// Options configure a Store.
type Options struct {
	// Prefix begins every key. The default is "signoff:". It must not contain
	// '{' or '}': the store places the hash tags itself.
	Prefix string
}

// Store is a signoff.Store on Redis. It is safe for concurrent use.
type Store struct {
	c     redis.UniversalClient
	k     keys
	owned bool // Open made c, so Close closes it
}

var _ signoff.Store = (*Store)(nil)

func (o Options) prefix() (string, error) {
	p := o.Prefix
	if p == "" {
		p = "signoff:"
	}
	if strings.ContainsAny(p, "{}") {
		return "", errors.New("redisstore: Prefix must not contain '{' or '}'")
	}
	return p, nil
}

// Open connects to the Redis at url (redis:// or rediss://, as
// redis.ParseURL reads it) and checks that it answers.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	p, err := opt.prefix()
	if err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		// A *url.Error quotes the whole URL, password included: keep only
		// what went wrong.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redisstore: open: invalid Redis URL: %w", err)
	}
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	return &Store{c: c, k: keys{p}, owned: true}, nil
}

// New returns a Store that uses c, which may be a cluster, a failover or a
// single-node client. The caller keeps c: Close does not close it. New
// panics if opt.Prefix contains '{' or '}'.
func New(c redis.UniversalClient, opt Options) *Store {
	p, err := opt.prefix()
	if err != nil {
		panic(err)
	}
	return &Store{c: c, k: keys{p}}
}

// Client returns the client the store uses, for instance to share its
// connections with a revocation bus on Redis pub/sub.
func (s *Store) Client() redis.UniversalClient { return s.c }

// Close closes the client if Open created it.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.c.Close()
}

// fail wraps a system error with the operation's name.
func fail(op string, err error) error { return fmt.Errorf("redisstore: %s: %w", op, err) }

var errDuplicate = errors.New("duplicate session ID or hash")

// CreateSession implements signoff.Store.
func (s *Store) CreateSession(ctx context.Context, sess *signoff.Session, rt *signoff.RefreshToken) error {
	const op = "create session"
	now := sess.CreatedAt
	if now.IsZero() {
		now = time.Now()
	}
	life := ttl(sess.ExpiresAt, now)
	r := ref{userID: sess.UserID, sessionID: sess.ID, expires: sess.ExpiresAt}
	v := r.encode()

	// Claim the indexes first: they make IDs and hashes unique store-wide.
	idx := []string{s.k.sidIndex(sess.ID)}
	if !sess.TokenHash.IsZero() {
		idx = append(idx, s.k.tokIndex(sess.TokenHash.Hex()))
	}
	if rt != nil {
		idx = append(idx, s.k.tokenIndex(rt.Hash.Hex()))
	}
	claims := make([]*redis.BoolCmd, len(idx))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range idx {
			claims[i] = p.SetNX(ctx, key, v, life)
		}
		return nil
	})
	var mine []string // the index keys this call created
	dup := false
	for i, c := range claims {
		switch {
		case c.Err() == nil && c.Val():
			mine = append(mine, idx[i])
		case c.Err() == nil:
			dup = true
		}
	}
	if err != nil || dup {
		s.release(mine)
		if err != nil {
			return fail(op, err)
		}
		return fail(op, errDuplicate)
	}

	f := []any{
		"id", sess.ID, "user", sess.UserID,
		"created", micros(sess.CreatedAt), "seen", micros(sess.LastSeenAt), "expires", micros(sess.ExpiresAt),
		"ua", sess.UserAgent, "ip", sess.IP,
	}
	if !sess.TokenHash.IsZero() {
		f = append(f, "token", sess.TokenHash.Hex())
	}
	if !sess.RevokedAt.IsZero() {
		f = append(f, "revoked", micros(sess.RevokedAt))
	}
	ks := []string{s.k.session(sess.UserID, sess.ID), s.k.sessions(sess.UserID), s.k.authVersion(sess.UserID), s.k.live(sess.UserID), s.k.pruneCursor(sess.UserID)}
	if rt != nil {
		f = append(f, "rt", rt.Hash.Hex())
		ks = append(ks, s.k.token(sess.UserID, rt.Hash.Hex()))
	}
	enter := "1"
	if !sess.RevokedAt.IsZero() {
		enter = "0"
	}
	// The live index forgets sessions that expired more than gcMargin ago
	// on this caller's clock: no caller within gcMargin of it can count them.
	args := append([]any{ms(life), s.k.sessionPrefix(sess.UserID), sess.ID, micros(sess.CreatedAt),
		micros(sess.ExpiresAt), enter, micros(now.Add(-gcMargin)), pruneBatch, len(f)}, f...)
	if rt != nil {
		args = append(args, tokenFields(rt, sess.ID)...)
	}
	av, err := createScript.Run(ctx, s.c, ks, args...).Int64()
	if err != nil {
		// The script may or may not have run: keep the indexes, which
		// expire with the session anyway.
		return fail(op, err)
	}
	if av < 0 {
		s.release(mine)
		return fail(op, errDuplicate)
	}
	sess.AuthVersion = av
	return nil
}

// release deletes index keys this call claimed and then could not use. Each
// is deleted on its own: on a cluster they lie in different slots.
func (s *Store) release(ks []string) {
	if len(ks) == 0 {
		return
	}
	// Best effort, and not under the caller's context, which may be the
	// reason the call failed. A key left behind only blocks its own ID or
	// hash, until its TTL.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range ks {
			p.Del(ctx, k)
		}
		return nil
	})
}

// tokenFields are the hash fields of a session's first refresh token.
func tokenFields(t *signoff.RefreshToken, sid string) []any {
	f := []any{
		"jti", t.JTI, "sid", sid, "hash", t.Hash.Hex(),
		"issued", micros(t.IssuedAt), "expires", micros(t.ExpiresAt),
	}
	if !t.RevokedAt.IsZero() {
		f = append(f, "revoked", micros(t.RevokedAt))
	}
	if t.ReplacedBy != "" {
		f = append(f, "next", t.ReplacedBy)
	}
	return f
}

// lookup reads the index key and returns its ref; ok is false when there is
// none.
func (s *Store) lookup(ctx context.Context, key string) (r ref, ok bool, err error) {
	v, err := s.c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return ref{}, false, nil
	}
	if err != nil {
		return ref{}, false, err
	}
	r, err = decodeRef(v)
	return r, err == nil, err
}

// liveSession reads the session r names and returns it if it is live at now
// (and, when tokenHex is not empty, if its cookie hashes to that). It reads
// the session and the user's auth_version in one transaction (MULTI/EXEC,
// one round trip; both keys are in the user's slot), so the two are of one
// moment.
func (s *Store) liveSession(ctx context.Context, r ref, tokenHex string, now time.Time) (*signoff.Session, error) {
	if !now.Before(r.expires) {
		return nil, signoff.ErrNotFound // the index knows the absolute lifetime
	}
	var (
		hg *redis.MapStringStringCmd
		av *redis.StringCmd
	)
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		hg = p.HGetAll(ctx, s.k.session(r.userID, r.sessionID))
		av = p.Get(ctx, s.k.authVersion(r.userID))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) { // Nil: a user with no auth_version yet
		return nil, err
	}
	m, err := hg.Result()
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, signoff.ErrNotFound
	}
	userAV, err := av.Int64()
	if errors.Is(err, redis.Nil) {
		userAV, err = 0, nil
	}
	if err != nil {
		return nil, err
	}
	x, err := decodeSession(m)
	if err != nil {
		return nil, err
	}
	if x.ID != r.sessionID || x.UserID != r.userID || (tokenHex != "" && m["token"] != tokenHex) || !x.Live(now) || x.AuthVersion < userAV {
		return nil, signoff.ErrNotFound
	}
	return x, nil
}

// SessionByToken implements signoff.Store.
func (s *Store) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	const op = "session by token"
	if h.IsZero() {
		return nil, signoff.ErrNotFound
	}
	hx := h.Hex()
	r, ok, err := s.lookup(ctx, s.k.tokIndex(hx))
	if err != nil {
		return nil, fail(op, err)
	}
	if !ok {
		return nil, signoff.ErrNotFound
	}
	x, err := s.liveSession(ctx, r, hx, now)
	if err != nil && !errors.Is(err, signoff.ErrNotFound) {
		return nil, fail(op, err)
	}
	return x, err
}

// Session implements signoff.Store.
func (s *Store) Session(ctx context.Context, id string, now time.Time) (*signoff.Session, error) {
	const op = "session"
	r, ok, err := s.lookup(ctx, s.k.sidIndex(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if !ok {
		return nil, signoff.ErrNotFound
	}
	x, err := s.liveSession(ctx, r, "", now)
	if err != nil && !errors.Is(err, signoff.ErrNotFound) {
		return nil, fail(op, err)
	}
	return x, err
}

// ListSessions implements signoff.Store.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
	const op = "list sessions"
	res, err := listScript.Run(ctx, s.c, []string{s.k.sessions(userID), s.k.authVersion(userID)}, micros(now), s.k.sessionPrefix(userID)).Slice()
	if err != nil {
		return nil, fail(op, err)
	}
	out := make([]*signoff.Session, 0, len(res))
	for _, v := range res {
		m, err := flatMap(v)
		if err != nil {
			return nil, fail(op, err)
		}
		x, err := decodeSession(m)
		if err != nil {
			return nil, fail(op, err)
		}
		if x.UserID == userID && x.Live(now) {
			out = append(out, x)
		}
	}
	return out, nil
}

// TouchSessions implements signoff.Store. It does not read the user's
// auth_version: touching a session a logout everywhere ended is harmless.
func (s *Store) TouchSessions(ctx context.Context, ts []signoff.Touch) error {
	const op = "touch sessions"
	for _, t := range ts {
		r, ok, err := s.lookup(ctx, s.k.sidIndex(t.SessionID))
		if err != nil {
			return fail(op, err)
		}
		if !ok {
			continue
		}
		if err := touchScript.Run(ctx, s.c, []string{s.k.session(r.userID, r.sessionID)}, micros(t.At)).Err(); err != nil {
			return fail(op, err)
		}
	}
	return nil
}

// RevokeSession implements signoff.Store.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	const op = "revoke session"
	r, ok, err := s.lookup(ctx, s.k.sidIndex(id))
	if err != nil {
		return fail(op, err)
	}
	if !ok {
		return nil
	}
	ks := []string{s.k.session(r.userID, r.sessionID), s.k.live(r.userID)}
	err = revokeScript.Run(ctx, s.c, ks, micros(at), s.k.tokenPrefix(r.userID)).Err()
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// RevokeUserSessions implements signoff.Store. It increments the user's
// auth_version and counts from the live index, in one script whose cost does
// not grow with the user's sessions; see "Logout everywhere" in the package
// documentation.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, int64, error) {
	const op = "revoke user sessions"
	ks := []string{s.k.live(userID), s.k.authVersion(userID)}
	res, err := revokeUserScript.Run(ctx, s.c, ks, micros(at)).Int64Slice()
	if err != nil {
		return 0, 0, fail(op, err)
	}
	if len(res) != 2 {
		return 0, 0, fail(op, errMalformed("script result"))
	}
	return int(res[0]), res[1], nil
}

// AuthVersion implements signoff.Store.
func (s *Store) AuthVersion(ctx context.Context, userID string) (int64, error) {
	v, err := s.c.Get(ctx, s.k.authVersion(userID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fail("auth version", err)
	}
	return v, nil
}

// RefreshToken implements signoff.Store.
func (s *Store) RefreshToken(ctx context.Context, h signoff.Hash) (*signoff.RefreshToken, error) {
	const op = "refresh token"
	hx := h.Hex()
	r, ok, err := s.lookup(ctx, s.k.tokenIndex(hx))
	if err != nil {
		return nil, fail(op, err)
	}
	if !ok {
		return nil, signoff.ErrNotFound
	}
	m, err := s.c.HGetAll(ctx, s.k.token(r.userID, hx)).Result()
	if err != nil {
		return nil, fail(op, err)
	}
	if len(m) == 0 {
		return nil, signoff.ErrNotFound
	}
	t, err := decodeToken(m)
	if err != nil {
		return nil, fail(op, err)
	}
	if t.SessionID != r.sessionID || t.Hash != h {
		return nil, signoff.ErrNotFound
	}
	return t, nil
}

// RotateRefreshToken implements signoff.Store. It takes three round trips:
// it finds the parent's index, claims the child's (the same ref: the child
// belongs to the same session), then runs the rotation in the user's slot.
// When the rotation does not happen (not found, reuse, a retry), the claimed
// child index stays until its TTL, naming no record: it reads as not found.
func (s *Store) RotateRefreshToken(ctx context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	const op = "rotate refresh token"
	ph := parent.Hex()
	pk := s.k.tokenIndex(ph)
	v, err := s.c.Get(ctx, pk).Result()
	if errors.Is(err, redis.Nil) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, fail(op, err)
	}
	r, err := decodeRef(v)
	if err != nil {
		return nil, fail(op, err)
	}
	now := child.IssuedAt
	if !now.Before(r.expires) {
		return nil, signoff.ErrNotFound // the session's absolute lifetime is over
	}
	ch := child.Hash.Hex()
	life := ttl(r.expires, now)
	if err := s.claim(ctx, s.k.tokenIndex(ch), v, life); err != nil {
		return nil, fail(op, err)
	}
	ks := []string{s.k.token(r.userID, ph), s.k.session(r.userID, r.sessionID), s.k.token(r.userID, ch), s.k.authVersion(r.userID)}
	res, err := rotateScript.Run(ctx, s.c, ks,
		micros(now), grace.Microseconds(), child.JTI, ch, micros(child.ExpiresAt), ms(life),
		r.sessionID, s.k.tokenPrefix(r.userID)).Slice()
	if err != nil {
		return nil, fail(op, err)
	}
	code, _ := res[0].(int64)
	switch code {
	case rotNotFound:
		return nil, signoff.ErrNotFound
	case rotReuse:
		user, _ := res[1].(string)
		return nil, &signoff.ReuseError{SessionID: r.sessionID, UserID: user}
	case rotDuplicate:
		return nil, fail(op, errDuplicate)
	case rotRotated, rotRetry:
		if len(res) != 3 {
			break
		}
		sm, err1 := flatMap(res[1])
		cm, err2 := flatMap(res[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fail(op, err)
		}
		sess, err1 := decodeSession(sm)
		c, err2 := decodeToken(cm)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fail(op, err)
		}
		return &signoff.Rotation{Session: sess, Child: c, Retry: code == rotRetry}, nil
	}
	return nil, fail(op, errMalformed("script result"))
}

// claim makes the index key k hold v: it sets it if it is free, and accepts
// it if it already holds v (a concurrent or earlier rotation to the same
// child). Any other value means the hash is taken.
func (s *Store) claim(ctx context.Context, k, v string, life time.Duration) error {
	for range 2 {
		set, err := s.c.SetNX(ctx, k, v, life).Result()
		if err != nil || set {
			return err
		}
		old, err := s.c.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue // expired in between: claim it again
		}
		if err != nil {
			return err
		}
		if old == v {
			return nil
		}
		break
	}
	return errDuplicate
}

// Ping implements signoff.Store. It reads the data, not only the
// connection: the lookup of a session by hash, for a random hash that
// matches nothing, in the store's keyspace. A Redis that answers PING but
// not reads (a replica still loading its dataset answers -LOADING; an ACL
// whose key pattern misses the prefix answers -NOPERM) is not ready.
func (s *Store) Ping(ctx context.Context) error {
	var h signoff.Hash
	rand.Read(h[:])
	if _, _, err := s.lookup(ctx, s.k.tokIndex(h.Hex())); err != nil {
		return fail("ping", err)
	}
	return nil
}

// flatMap turns a script's HGETALL reply into a map.
func flatMap(v any) (map[string]string, error) {
	l, ok := v.([]any)
	if !ok || len(l)%2 != 0 {
		return nil, errMalformed("script result")
	}
	m := make(map[string]string, len(l)/2)
	for i := 0; i < len(l); i += 2 {
		k, ok1 := l[i].(string)
		x, ok2 := l[i+1].(string)
		if !ok1 || !ok2 {
			return nil, errMalformed("script result")
		}
		m[k] = x
	}
	return m, nil
}

// fields reads the time and integer fields of a record.
type fields struct {
	m   map[string]string
	bad bool
}

func (f *fields) int(name string) int64 {
	v, ok := f.m[name]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f.bad = true
	}
	return n
}

// time reads a time field; an absent one is the zero time.
func (f *fields) time(name string) time.Time {
	if _, ok := f.m[name]; !ok {
		return time.Time{}
	}
	return fromMicros(f.int(name))
}

func (f *fields) hash(name string) signoff.Hash {
	v, ok := f.m[name]
	if !ok {
		return signoff.Hash{}
	}
	h, err := signoff.HashFromHex(v)
	if err != nil {
		f.bad = true
	}
	return h
}

func decodeSession(m map[string]string) (*signoff.Session, error) {
	f := fields{m: m}
	x := &signoff.Session{
		ID: m["id"], UserID: m["user"], TokenHash: f.hash("token"), AuthVersion: f.int("av"),
		CreatedAt: f.time("created"), LastSeenAt: f.time("seen"), ExpiresAt: f.time("expires"),
		RevokedAt: f.time("revoked"), UserAgent: m["ua"], IP: m["ip"],
	}
	if f.bad || x.ID == "" || x.ExpiresAt.IsZero() {
		return nil, errMalformed("session")
	}
	return x, nil
}

func decodeToken(m map[string]string) (*signoff.RefreshToken, error) {
	f := fields{m: m}
	t := &signoff.RefreshToken{
		JTI: m["jti"], SessionID: m["sid"], Hash: f.hash("hash"),
		IssuedAt: f.time("issued"), ExpiresAt: f.time("expires"), RevokedAt: f.time("revoked"),
		ReplacedBy: m["next"],
	}
	if f.bad || t.SessionID == "" || t.Hash.IsZero() {
		return nil, errMalformed("refresh token")
	}
	return t, nil
}
