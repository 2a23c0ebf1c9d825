package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/signoff/signoff"
)

// CreateUser implements signoff.UserStore. A row that already carries the
// user's auth_version (a user logged out everywhere before the account was
// created) becomes the account and keeps that auth_version.
func (s *Store) CreateUser(ctx context.Context, u *signoff.User) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = ?`, u.Email).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return signoff.ErrEmailTaken
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, auth_version, created_at) VALUES (?, ?, ?, 0, ?)
			ON CONFLICT (id) DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash, created_at = excluded.created_at
			WHERE users.email IS NULL`, u.ID, u.Email, u.PasswordHash, us(u.CreatedAt))
		if err != nil {
			if isUnique(err) {
				return signoff.ErrEmailTaken
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errors.New("duplicate user ID"))
		}
		return nil
	})
	if errors.Is(err, signoff.ErrEmailTaken) {
		return signoff.ErrEmailTaken
	}
	return s.fail("create user", err)
}

const userCols = `id, email, password_hash, auth_version, created_at, disabled`

// scanUser reads a row of userCols.
func scanUser(row scanner) (*signoff.User, error) {
	var (
		u       signoff.User
		created int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AuthVersion, &created, &u.Disabled); err != nil {
		return nil, err
	}
	u.CreatedAt = fromUS(created)
	return &u, nil
}

func (s *Store) oneUser(ctx context.Context, col string, key string) (*signoff.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = ? AND email IS NOT NULL`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("read user", err)
	}
	return u, nil
}

// UserByEmail implements signoff.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*signoff.User, error) {
	return s.oneUser(ctx, "email", email)
}

// UserByID implements signoff.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*signoff.User, error) {
	return s.oneUser(ctx, "id", id)
}

// SetPassword implements signoff.UserStore.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string) error {
	return s.updateAccount(ctx, "set password", `UPDATE users SET password_hash = ? WHERE id = ? AND email IS NOT NULL`, passwordHash, userID)
}

// SetDisabled implements signoff.UserStore.
func (s *Store) SetDisabled(ctx context.Context, userID string, disabled bool) error {
	return s.updateAccount(ctx, "set disabled", `UPDATE users SET disabled = ? WHERE id = ? AND email IS NOT NULL`, disabled, userID)
}

// DeleteUser implements signoff.UserStore. The row stays, with the user's
// auth_version and nothing else, as a user of an application's own user
// table has it.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	return s.updateAccount(ctx, "delete user", `UPDATE users SET email = NULL, password_hash = NULL, disabled = 0
		WHERE id = ? AND email IS NOT NULL`, userID)
}

// updateAccount runs an UPDATE of one account: no row changed is
// ErrNotFound.
func (s *Store) updateAccount(ctx context.Context, op, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return s.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(op, err)
	}
	if n == 0 {
		return signoff.ErrNotFound
	}
	return nil
}

// ListUsers implements signoff.UserStore.
func (s *Store) ListUsers(ctx context.Context) ([]*signoff.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE email IS NOT NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail("list users", err)
	}
	defer rows.Close()
	out := []*signoff.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.fail("list users", err)
		}
		out = append(out, u)
	}
	return out, s.fail("list users", rows.Err())
}

// DeleteUserSessions implements signoff.SessionDeleter.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)`, userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail("delete user sessions", err)
	}
	return int(n), nil
}
