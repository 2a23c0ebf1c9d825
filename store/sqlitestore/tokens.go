package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signoff/signoff"
)

const tokenCols = `jti, session_id, token_hash, issued_at, expires_at, revoked_at, replaced_by_jti`

func scanToken(row scanner) (*signoff.RefreshToken, error) {
	var (
		t               signoff.RefreshToken
		hash            []byte
		issued, expires int64
		revoked         sql.NullInt64
		replaced        sql.NullString
	)
	if err := row.Scan(&t.JTI, &t.SessionID, &hash, &issued, &expires, &revoked, &replaced); err != nil {
		return nil, err
	}
	copy(t.Hash[:], hash)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt, t.ReplacedBy = fromUS(issued), fromUS(expires), fromNullUS(revoked), replaced.String
	return &t, nil
}

func insertToken(ctx context.Context, tx *sql.Tx, t *signoff.RefreshToken, sessionID string, expires time.Time) error {
	_, err := tx.ExecContext(ctx, insertTokenQuery, tokenArgs(t, sessionID, expires)...)
	return err
}

const insertTokenQuery = `INSERT INTO refresh_tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`

// tokenArgs are insertTokenQuery's arguments.
func tokenArgs(t *signoff.RefreshToken, sessionID string, expires time.Time) []any {
	return []any{t.JTI, sessionID, t.Hash[:], us(t.IssuedAt), us(expires), nullUS(t.RevokedAt), nullString(t.ReplacedBy)}
}

// The statements of a rotation, prepared on the writer on first use
// (Store.prepared): preparing them on every rotation was a fifth of its CPU.
const (
	tokenByHashQuery  = `SELECT ` + tokenCols + ` FROM refresh_tokens WHERE token_hash = ?`
	liveSessionQuery  = `SELECT ` + sessionCols + ` FROM sessions WHERE id = ? AND ` + live
	spendQuery        = `UPDATE refresh_tokens SET revoked_at = ?, replaced_by_jti = ? WHERE jti = ?`
	touchSessionQuery = `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`
)

// rotationStmts are a rotation's prepared statements.
type rotationStmts struct {
	tokenByHash, liveSession, spend, insertToken, touchSession *sql.Stmt
}

// rotation returns the rotation's statements, prepared on first use
// (after the migrations made the tables), never inside a transaction: the
// writer has one connection.
func (s *Store) rotation(ctx context.Context) (*rotationStmts, error) {
	var st rotationStmts
	for _, p := range []struct {
		to    **sql.Stmt
		query string
	}{
		{&st.tokenByHash, tokenByHashQuery},
		{&st.liveSession, liveSessionQuery},
		{&st.spend, spendQuery},
		{&st.insertToken, insertTokenQuery},
		{&st.touchSession, touchSessionQuery},
	} {
		stmt, err := s.prepared(ctx, true, p.query)
		if err != nil {
			return nil, err
		}
		*p.to = stmt
	}
	return &st, nil
}

// RefreshToken implements signoff.Store.
func (s *Store) RefreshToken(ctx context.Context, h signoff.Hash) (*signoff.RefreshToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, tokenByHashQuery, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	return t, s.fail("read refresh token", err)
}

// RotateRefreshToken implements signoff.Store. The whole decision runs in
// one BEGIN IMMEDIATE transaction on the single writer, so concurrent
// rotations of one parent are serialised and exactly one of them spends it.
func (s *Store) RotateRefreshToken(ctx context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	var out *signoff.Rotation
	var outcome error // ErrNotFound or *ReuseError: decided, not failed
	now := child.IssuedAt
	st, err := s.rotation(ctx)
	if err != nil {
		return nil, s.fail("rotate refresh token", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		p, err := scanToken(tx.StmtContext(ctx, st.tokenByHash).QueryRowContext(ctx, parent[:]))
		if errors.Is(err, sql.ErrNoRows) {
			outcome = signoff.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		sess, err := scanSession(tx.StmtContext(ctx, st.liveSession).QueryRowContext(ctx, p.SessionID, us(now)))
		if errors.Is(err, sql.ErrNoRows) {
			outcome = signoff.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		if p.ReplacedBy != "" || !p.RevokedAt.IsZero() {
			if p.ReplacedBy == child.JTI && !now.After(p.RevokedAt.Add(grace)) {
				c, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE jti = ?`, p.ReplacedBy))
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if err == nil && c.RevokedAt.IsZero() && c.ReplacedBy == "" {
					out = &signoff.Rotation{Session: sess, Child: c, Retry: true}
					return nil
				}
			}
			outcome = &signoff.ReuseError{SessionID: sess.ID, UserID: sess.UserID}
			return nil
		}
		if !now.Before(p.ExpiresAt) {
			outcome = signoff.ErrNotFound
			return nil
		}
		if _, err := tx.StmtContext(ctx, st.spend).ExecContext(ctx, us(now), child.JTI, p.JTI); err != nil {
			return err
		}
		exp := child.ExpiresAt
		if exp.After(sess.ExpiresAt) {
			exp = sess.ExpiresAt
		}
		c := *child
		c.SessionID, c.ExpiresAt, c.RevokedAt, c.ReplacedBy = sess.ID, fromUS(us(exp)), time.Time{}, ""
		c.IssuedAt = fromUS(us(c.IssuedAt))
		if _, err := tx.StmtContext(ctx, st.insertToken).ExecContext(ctx, tokenArgs(&c, sess.ID, exp)...); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, st.touchSession).ExecContext(ctx, us(now), sess.ID, us(now)); err != nil {
			return err
		}
		if now.After(sess.LastSeenAt) {
			sess.LastSeenAt = fromUS(us(now))
		}
		out = &signoff.Rotation{Session: sess, Child: &c}
		return nil
	})
	if err != nil {
		return nil, s.fail("rotate refresh token", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return out, nil
}
