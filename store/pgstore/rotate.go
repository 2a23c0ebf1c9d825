package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff"
)

// rotate spends the parent and stores the child in one statement, one round
// trip, one implicit transaction. $1 is the parent's hash, $2 now
// (child.IssuedAt), $3 the child's JTI, $4 its hash, $5 its ExpiresAt.
//
//   - old spends the parent, if it is unspent, before its ExpiresAt, and its
//     session is live (its auth_version too: see RevokeUserSessions, which
//     only raises the user's; a rotation that read the user's row before
//     that committed may still spend the parent, but the child it stores
//     belongs to a session below the new auth_version, which no read or
//     rotation finds live). The EXISTS locks the session's row (FOR NO KEY
//     UPDATE) before the parent's row is locked: the order RevokeSession
//     uses, so the two cannot deadlock, and a
//     rotation that has started holds off a revocation until it commits
//     (which then revokes the child too), while a revocation that got the
//     session first makes the EXISTS false once it commits.
//   - sess moves the session's last_seen_at forward; its RETURNING is the
//     session as it now is.
//   - child inserts the child into the parent's family, its expiry capped at
//     the session's.
//
// Exactly one of many concurrent calls with one parent updates it. Each
// call that finds the parent unspent locks the session's row, then the
// parent's; the winner holds both until it commits. Under READ COMMITTED a
// call that waited for either lock re-evaluates the WHERE on the versions
// the winner committed (EvalPlanQual), finds the parent spent, and updates
// nothing; a call that started after the commit sees it spent at once. No
// loser inserts anything. The winner's three writes are one statement, so
// they commit together: a loser's next statement, whose snapshot is taken
// after the winner committed, sees the parent spent and the child stored.
const rotate = `WITH old AS (
	UPDATE refresh_tokens p SET revoked_at = $2, replaced_by_jti = $3
	WHERE p.token_hash = $1 AND p.revoked_at IS NULL AND p.replaced_by_jti IS NULL AND p.expires_at > $2
		AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = p.session_id AND s.revoked_at IS NULL AND s.expires_at > $2
			AND s.auth_version >= coalesce((SELECT u.auth_version FROM users u WHERE u.id = s.user_id), 0)
			FOR NO KEY UPDATE OF s)
	RETURNING p.session_id
), sess AS (
	UPDATE sessions s SET last_seen_at = GREATEST(s.last_seen_at, $2)
	FROM old WHERE s.id = old.session_id
	RETURNING s.id, s.user_id, s.token_hash, s.auth_version, s.created_at, s.last_seen_at, s.expires_at,
		s.revoked_at, s.user_agent, s.ip
), child AS (
	INSERT INTO refresh_tokens (jti, session_id, token_hash, issued_at, expires_at)
	SELECT $3::text, sess.id, $4::bytea, $2::timestamptz, LEAST($5::timestamptz, sess.expires_at) FROM sess
	RETURNING expires_at
)
SELECT sess.*, child.expires_at FROM sess, child`

// decide reads, in one snapshot, the parent, its session, the parent's
// successor and the user's auth_version, so RotateRefreshToken can tell why
// rotate changed nothing.
const decide = `SELECT p.revoked_at, p.replaced_by_jti, p.expires_at,
	s.id, s.user_id, s.token_hash, s.auth_version, s.created_at, s.last_seen_at, s.expires_at,
	s.revoked_at, s.user_agent, s.ip,
	c.jti, c.session_id, c.token_hash, c.issued_at, c.expires_at, c.revoked_at, c.replaced_by_jti,
	coalesce((SELECT u.auth_version FROM users u WHERE u.id = s.user_id), 0)
FROM refresh_tokens p
JOIN sessions s ON s.id = p.session_id
LEFT JOIN refresh_tokens c ON c.jti = p.replaced_by_jti
WHERE p.token_hash = $1`

// RotateRefreshToken implements signoff.Store. The happy path is the one
// statement rotate. Only when it rotates nothing does a second query, decide,
// tell ErrNotFound, a grace retry and reuse apart; it changes nothing.
func (s *Store) RotateRefreshToken(ctx context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	now := child.IssuedAt
	var (
		r       sessionRow
		expires time.Time
	)
	err := s.pool.QueryRow(ctx, rotate, parent[:], ts(now), child.JTI, child.Hash[:], ts(child.ExpiresAt)).
		Scan(append(r.dest(), &expires)...)
	if err == nil {
		c := &signoff.RefreshToken{JTI: child.JTI, SessionID: r.s.ID, Hash: child.Hash, IssuedAt: ts(now).UTC(), ExpiresAt: expires.UTC()}
		return &signoff.Rotation{Session: r.session(), Child: c}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fail("rotate refresh token", err)
	}

	var (
		p struct {
			revoked, expires *time.Time
			replaced         *string
		}
		c tokenRow
	)
	var userAV int64
	dest := append([]any{&p.revoked, &p.replaced, &p.expires}, r.dest()...)
	err = s.pool.QueryRow(ctx, decide, parent[:]).Scan(append(append(dest, c.dest()...), &userAV)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, fail("rotate refresh token", err)
	}
	sess := r.session()
	if !sess.Live(now) || sess.AuthVersion < userAV {
		return nil, signoff.ErrNotFound
	}
	if p.revoked != nil || p.replaced != nil {
		// Spent. Only the immediate parent's retry, with the same child
		// JTI, inside the window, while that child is still unused, gets it.
		// The window is compared in Go with now untruncated, as memstore does.
		next := c.token()
		if p.replaced != nil && *p.replaced == child.JTI && next != nil &&
			next.RevokedAt.IsZero() && next.ReplacedBy == "" && p.revoked != nil && !now.After(p.revoked.Add(grace)) {
			return &signoff.Rotation{Session: sess, Child: next, Retry: true}, nil
		}
		return nil, &signoff.ReuseError{SessionID: sess.ID, UserID: sess.UserID}
	}
	if !now.Before(*p.expires) {
		return nil, signoff.ErrNotFound
	}
	// Unspent, unexpired, its session live, yet rotate did not spend it:
	// nothing in this package leads here.
	return nil, fail("rotate refresh token", errors.New("the parent is rotatable but was not rotated"))
}
