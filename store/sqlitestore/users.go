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

const userCols = `id, email, password_hash, auth_version, created_at`

func (s *Store) oneUser(ctx context.Context, col string, key string) (*signoff.User, error) {
	var (
		u       signoff.User
		created int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = ? AND email IS NOT NULL`, key).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AuthVersion, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("read user", err)
	}
	u.CreatedAt = fromUS(created)
	return &u, nil
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
	res, err := s.w.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND email IS NOT NULL`, passwordHash, userID)
	if err != nil {
		return s.fail("set password", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail("set password", err)
	}
	if n == 0 {
		return signoff.ErrNotFound
	}
	return nil
}
