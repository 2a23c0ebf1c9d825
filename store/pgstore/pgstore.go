// Package pgstore is a signoff.Store and signoff.UserStore on PostgreSQL,
// through a pgx connection pool. Several signoff instances share one
// database; every rule of signoff.Store holds between them, not only inside
// one process.
//
// The schema is embedded and applied by Migrate, which signoff migrate and
// signoff serve call at start. Tables are created unqualified, in the first
// schema of the connection's search_path.
//
// Concurrency rests on row locks taken in one order everywhere: a user's row,
// then a session's row, then its refresh tokens. Statements run under READ
// COMMITTED (the PostgreSQL default); a statement that waited for a lock is
// followed, where it matters, by a separate statement that sees what the
// lock holder committed. RotateRefreshToken explains the one that matters
// most.
package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff/signoff"
)

// Store is a signoff.Store and signoff.UserStore on PostgreSQL. It is safe
// for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	own  bool // Close closes pool
}

var (
	_ signoff.Store          = (*Store)(nil)
	_ signoff.UserStore      = (*Store)(nil)
	_ signoff.SessionDeleter = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN, as pgx reads them) and checks that it answers. It does not change the
// schema: call Migrate. Unless the URL sets pool_max_conns, the pool holds
// up to max(8, 2×GOMAXPROCS) connections: store calls are short, and the
// database, not the pool, should be what queues them. Close closes the pool.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error quotes the URL, and the URL may hold a password.
		return nil, errors.New("pgstore: open: the database URL does not parse")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 2*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail("open", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fail("open", err)
	}
	return &Store{pool: pool, own: true}, nil
}

// New returns a Store on a pool the caller opened and keeps: Close leaves it
// open.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// Pool is the store's connection pool, for the revocation bus
// (LISTEN/NOTIFY) and for tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool if Open made it. It waits for connections in use to
// be released.
func (s *Store) Close() {
	if s.own {
		s.pool.Close()
	}
}

// Ping implements signoff.Store. It reads the data, not only the
// connection: each lookup of the hot path (a user by email, a session and a
// refresh token by hash) for a random key that matches nothing, a few index
// pages. A schema that is gone or unreadable, as on a wrong search_path or
// after a botched restore, is not ready although the server answers.
func (s *Store) Ping(ctx context.Context) error {
	var key [32]byte
	rand.Read(key[:])
	var n int
	return fail("ping", s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users WHERE email = $1) +
		(SELECT count(*) FROM sessions WHERE token_hash = $2) +
		(SELECT count(*) FROM refresh_tokens WHERE token_hash = $2)`,
		fmt.Sprintf("%x@ping.invalid", key[:8]), key[:]).Scan(&n))
}

// fail wraps a system error with the store's name and what it was doing.
// PostgreSQL quotes row values (a token hash, an email) in an error's Detail
// and Where; they are dropped, so no error of this package carries them even
// to a caller that digs with errors.As. Queries bind hashes, never secrets.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		c := *pe
		c.Detail, c.Hint, c.Where, c.InternalQuery = "", "", "", ""
		err = &c
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// isUnique reports whether err is a unique violation on the constraint
// named constraint.
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

// ts is the time as stored: PostgreSQL keeps microseconds, and pgx
// truncates to them. Truncating first makes what the store returns equal to
// what it stored.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func nullHash(h signoff.Hash) any {
	if h.IsZero() {
		return nil
	}
	return h[:]
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const sessionCols = `id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at, revoked_at, user_agent, ip`

// sessionRow receives the columns of sessionCols.
type sessionRow struct {
	s       signoff.Session
	hash    []byte
	revoked *time.Time
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.ID, &r.s.UserID, &r.hash, &r.s.AuthVersion, &r.s.CreatedAt, &r.s.LastSeenAt,
		&r.s.ExpiresAt, &r.revoked, &r.s.UserAgent, &r.s.IP}
}

func (r *sessionRow) session() *signoff.Session {
	x := r.s
	copy(x.TokenHash[:], r.hash)
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt = x.CreatedAt.UTC(), x.LastSeenAt.UTC(), x.ExpiresAt.UTC()
	x.RevokedAt = fromNull(r.revoked)
	return &x
}

const tokenCols = `jti, session_id, token_hash, issued_at, expires_at, revoked_at, replaced_by_jti`

// tokenRow receives the columns of tokenCols. Every field is nullable so it
// can also read the missing side of an outer join.
type tokenRow struct {
	jti, session, replaced   *string
	hash                     []byte
	issued, expires, revoked *time.Time
}

func (r *tokenRow) dest() []any {
	return []any{&r.jti, &r.session, &r.hash, &r.issued, &r.expires, &r.revoked, &r.replaced}
}

// token returns the token read, or nil when the row was NULL.
func (r *tokenRow) token() *signoff.RefreshToken {
	if r.jti == nil {
		return nil
	}
	t := &signoff.RefreshToken{JTI: *r.jti, IssuedAt: fromNull(r.issued), ExpiresAt: fromNull(r.expires), RevokedAt: fromNull(r.revoked)}
	if r.session != nil {
		t.SessionID = *r.session
	}
	if r.replaced != nil {
		t.ReplacedBy = *r.replaced
	}
	copy(t.Hash[:], r.hash)
	return t
}

// live is the SQL form of a live session (see signoff.Store), with now as
// $2: not revoked, before its ExpiresAt, and not below its user's
// auth_version, read by the users table's key (a user with no row has 0).
// It names the table, so queries that use it select FROM sessions without
// an alias.
const live = `revoked_at IS NULL AND expires_at > $2
	AND auth_version >= coalesce((SELECT u.auth_version FROM users u WHERE u.id = sessions.user_id), 0)`

func (s *Store) oneSession(ctx context.Context, where string, key any, now time.Time) (*signoff.Session, error) {
	var r sessionRow
	err := s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE `+where+` = $1 AND `+live, key, ts(now)).Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, fail("read session", err)
	}
	return r.session(), nil
}

// SessionByToken implements signoff.Store.
func (s *Store) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	if h.IsZero() { // jwt-mode sessions store NULL, which nothing equals anyway
		return nil, signoff.ErrNotFound
	}
	return s.oneSession(ctx, "token_hash", h[:], now)
}

// Session implements signoff.Store.
func (s *Store) Session(ctx context.Context, id string, now time.Time) (*signoff.Session, error) {
	return s.oneSession(ctx, "id", id, now)
}

// ListSessions implements signoff.Store.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1 AND `+live+`
		ORDER BY created_at DESC, id`, userID, ts(now))
	if err != nil {
		return nil, fail("list sessions", err)
	}
	defer rows.Close()
	out := []*signoff.Session{}
	var r sessionRow
	for rows.Next() {
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fail("list sessions", err)
		}
		out = append(out, r.session())
	}
	return out, fail("list sessions", rows.Err())
}

// CreateSession implements signoff.Store. One statement reads the user's
// auth_version and inserts the session (and its first refresh token). It
// reads the version through an upsert of the user's row, which locks it:
// a RevokeUserSessions of the same user (which locks that row first) either
// finished before, and the session gets the new version, or waits for this
// insert to commit, and then counts the session and ends it with the
// version it raises. Without the lock a login
// racing a logout-everywhere could keep a live session at the old version.
// The cost is that every user who signs in gets a row (with a NULL email
// unless it is an account), as RevokeUserSessions gives one anyway.
func (s *Store) CreateSession(ctx context.Context, sess *signoff.Session, rt *signoff.RefreshToken) error {
	q := `WITH u AS (
			INSERT INTO users (id, auth_version, created_at) VALUES ($2, 0, $4)
			ON CONFLICT (id) DO UPDATE SET auth_version = users.auth_version
			RETURNING auth_version
		), s AS (
			INSERT INTO sessions (` + sessionCols + `)
			SELECT $1::text, $2::text, $3::bytea, u.auth_version, $4::timestamptz, $5::timestamptz, $6::timestamptz,
				$7::timestamptz, $8::text, $9::text FROM u
			RETURNING id, auth_version
		)`
	args := []any{sess.ID, sess.UserID, nullHash(sess.TokenHash), ts(sess.CreatedAt), ts(sess.LastSeenAt),
		ts(sess.ExpiresAt), nullTime(sess.RevokedAt), sess.UserAgent, sess.IP}
	if rt != nil {
		q += `, t AS (
			INSERT INTO refresh_tokens (` + tokenCols + `)
			SELECT $10::text, s.id, $11::bytea, $12::timestamptz, $13::timestamptz, $14::timestamptz, $15::text FROM s
		)`
		args = append(args, rt.JTI, rt.Hash[:], ts(rt.IssuedAt), ts(rt.ExpiresAt), nullTime(rt.RevokedAt), nullString(rt.ReplacedBy))
	}
	var av int64
	if err := s.pool.QueryRow(ctx, q+` SELECT auth_version FROM s`, args...).Scan(&av); err != nil {
		return fail("create session", err)
	}
	sess.AuthVersion = av
	return nil
}

// TouchSessions implements signoff.Store: one statement, whatever the
// number of touches.
func (s *Store) TouchSessions(ctx context.Context, touches []signoff.Touch) error {
	if len(touches) == 0 {
		return nil
	}
	ids, ats := make([]string, len(touches)), make([]time.Time, len(touches))
	for i, t := range touches {
		ids[i], ats[i] = t.SessionID, ts(t.At)
	}
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = t.at
		FROM (SELECT id, max(at) AS at FROM unnest($1::text[], $2::timestamptz[]) AS u (id, at) GROUP BY id) AS t
		WHERE sessions.id = t.id AND sessions.revoked_at IS NULL AND sessions.last_seen_at < t.at`, ids, ats)
	return fail("touch sessions", err)
}

// revokeTokens revokes the refresh tokens of the sessions that $1 selects,
// at $2. It runs as a statement of its own after the sessions were updated:
// that update waited for any rotation holding a session's lock, so this
// statement's snapshot, taken later, sees the child that rotation stored.
const revokeTokens = `UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND session_id `

// RevokeSession implements signoff.Store. It sends two statements in one
// round trip, as one implicit transaction: the session's row first (the
// lock every rotation of the family takes), then the family's tokens.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, ts(at))
	b.Queue(revokeTokens+`= $1`, id, ts(at))
	return fail("revoke session", s.pool.SendBatch(ctx, b).Close())
}

// countLive counts the sessions of user $1 that were live at $2 before the
// user's auth_version was raised (in the same transaction): those at the
// one before, neither revoked nor expired. sessions_live_by_user holds all
// it reads.
const countLive = `SELECT count(*) FROM sessions
	WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
	AND auth_version = (SELECT auth_version - 1 FROM users WHERE id = $1)`

// RevokeUserSessions implements signoff.Store. It writes one row, the
// user's: the sessions it ends are those below the new auth_version, which
// every read of a live session compares (live). Two statements, one round
// trip, one implicit transaction: the upsert of the user's row, which locks
// it (serialising this with CreateSession and with itself), then the count
// (countLive), whose snapshot is taken after that lock was granted, so it
// sees every session begun before.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, int64, error) {
	var (
		av int64
		n  int
	)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO users (id, auth_version, created_at) VALUES ($1, 1, $2)
		ON CONFLICT (id) DO UPDATE SET auth_version = users.auth_version + 1
		RETURNING auth_version`, userID, ts(at)).QueryRow(func(row pgx.Row) error { return row.Scan(&av) })
	b.Queue(countLive, userID, ts(at)).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, fail("revoke user sessions", err)
	}
	return n, av, nil
}

// AuthVersion implements signoff.Store.
func (s *Store) AuthVersion(ctx context.Context, userID string) (int64, error) {
	var av int64
	err := s.pool.QueryRow(ctx, `SELECT auth_version FROM users WHERE id = $1`, userID).Scan(&av)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return av, fail("auth version", err)
}

// RefreshToken implements signoff.Store.
func (s *Store) RefreshToken(ctx context.Context, h signoff.Hash) (*signoff.RefreshToken, error) {
	var r tokenRow
	err := s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE token_hash = $1`, h[:]).Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, fail("read refresh token", err)
	}
	return r.token(), nil
}
