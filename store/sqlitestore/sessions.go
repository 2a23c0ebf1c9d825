package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/signoff/signoff"
)

const sessionCols = `id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at, revoked_at, user_agent, ip`

func scanSession(row scanner) (*signoff.Session, error) {
	var (
		x                      signoff.Session
		hash                   []byte
		created, seen, expires int64
		revoked                sql.NullInt64
	)
	err := row.Scan(&x.ID, &x.UserID, &hash, &x.AuthVersion, &created, &seen, &expires, &revoked, &x.UserAgent, &x.IP)
	if err != nil {
		return nil, err
	}
	copy(x.TokenHash[:], hash)
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.RevokedAt = fromUS(created), fromUS(seen), fromUS(expires), fromNullUS(revoked)
	return &x, nil
}

// CreateSession implements signoff.Store.
func (s *Store) CreateSession(ctx context.Context, sess *signoff.Session, rt *signoff.RefreshToken) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var av int64
		err := tx.QueryRowContext(ctx, `SELECT auth_version FROM users WHERE id = ?`, sess.UserID).Scan(&av)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, nullHash(sess.TokenHash), av, us(sess.CreatedAt), us(sess.LastSeenAt), us(sess.ExpiresAt),
			nullUS(sess.RevokedAt), sess.UserAgent, sess.IP)
		if err != nil {
			return err
		}
		if rt != nil {
			if err := insertToken(ctx, tx, rt, sess.ID, rt.ExpiresAt); err != nil {
				return err
			}
		}
		sess.AuthVersion = av
		return nil
	})
	return s.fail("create session", err)
}

// live is the SQL form of a live session (see signoff.Store): not revoked,
// before its ExpiresAt (the one argument), and not below its user's
// auth_version, which one lookup by the users table's key reads. A user
// with no row has auth_version 0. It names the table, so queries that use
// it select FROM sessions without an alias.
const live = `revoked_at IS NULL AND expires_at > ?
	AND auth_version >= coalesce((SELECT u.auth_version FROM users u WHERE u.id = sessions.user_id), 0)`

func (s *Store) oneSession(ctx context.Context, where string, key any, now time.Time) (*signoff.Session, error) {
	x, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE `+where+` = ? AND `+live, key, us(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	return x, s.fail("read session", err)
}

// SessionByToken implements signoff.Store.
func (s *Store) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	if h.IsZero() {
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? AND `+live+`
		ORDER BY created_at DESC, id`, userID, us(now))
	if err != nil {
		return nil, s.fail("list sessions", err)
	}
	defer rows.Close()
	out := []*signoff.Session{}
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, s.fail("list sessions", err)
		}
		out = append(out, x)
	}
	return out, s.fail("list sessions", rows.Err())
}

// TouchSessions implements signoff.Store: one transaction, so one commit
// (and one sync) for the whole batch.
func (s *Store) TouchSessions(ctx context.Context, ts []signoff.Touch) error {
	if len(ts) == 0 {
		return nil
	}
	// In the order of the table's key, so that the B-tree is walked once,
	// not jumped about in.
	ts = slices.SortedFunc(slices.Values(ts), func(a, b signoff.Touch) int { return strings.Compare(a.SessionID, b.SessionID) })
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE sessions SET last_seen_at = ?1 WHERE id = ?2 AND revoked_at IS NULL AND last_seen_at < ?1`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, t := range ts {
			if _, err := st.ExecContext(ctx, us(t.At), t.SessionID); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail("touch sessions", err)
}

// revoke revokes one session and its refresh tokens inside tx.
func revoke(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, us(at), id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL`, us(at), id)
	return err
}

// RevokeSession implements signoff.Store.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return s.fail("revoke session", s.tx(ctx, func(tx *sql.Tx) error { return revoke(ctx, tx, id, at) }))
}

// countLive counts the sessions of user ?1 live at ?2: those at the user's
// auth_version, neither revoked nor expired. sessions_live_by_user holds
// all it reads.
const countLive = `SELECT count(*) FROM sessions
	WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
	AND auth_version = coalesce((SELECT auth_version FROM users WHERE id = ?1), 0)`

// RevokeUserSessions implements signoff.Store. It writes one row, the
// user's: the sessions it ends are those below the new auth_version, which
// every read of a live session compares (live). It counts them first
// (countLive).
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, int64, error) {
	var (
		n  int
		av int64
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, countLive, userID, us(at)).Scan(&n); err != nil {
			return err
		}
		// A user the store has never seen gets a row with no email: it
		// carries the auth_version of an application's own user.
		return tx.QueryRowContext(ctx, `INSERT INTO users (id, auth_version, created_at) VALUES (?, 1, ?)
			ON CONFLICT (id) DO UPDATE SET auth_version = auth_version + 1
			RETURNING auth_version`, userID, us(at)).Scan(&av)
	})
	if err != nil {
		return 0, 0, s.fail("revoke user sessions", err)
	}
	return n, av, nil
}

// AuthVersion implements signoff.Store.
func (s *Store) AuthVersion(ctx context.Context, userID string) (int64, error) {
	var av int64
	err := s.r.QueryRowContext(ctx, `SELECT auth_version FROM users WHERE id = ?`, userID).Scan(&av)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return av, s.fail("auth version", err)
}
