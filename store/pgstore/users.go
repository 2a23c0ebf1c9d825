package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff"
)

// CreateUser implements signoff.UserStore. A row that carries only the
// user's auth_version (a user logged out everywhere, or signed in through
// the library, before the account existed) becomes the account and keeps
// that auth_version. An email in use is ErrEmailTaken, found by the unique
// constraint, so two concurrent registrations of one email cannot both win.
func (s *Store) CreateUser(ctx context.Context, u *signoff.User) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO users (id, email, password_hash, auth_version, created_at)
		VALUES ($1, $2, $3, 0, $4)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash,
			created_at = excluded.created_at
		WHERE users.email IS NULL`, u.ID, u.Email, u.PasswordHash, ts(u.CreatedAt))
	switch {
	case isUnique(err, "users_email_key"):
		return signoff.ErrEmailTaken
	case err != nil:
		return fail("create user", err)
	case tag.RowsAffected() == 1:
		return nil
	}
	// The ID is an account already. Report a taken email first, as the
	// contract names that case.
	var taken bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)`, u.Email).Scan(&taken); err != nil {
		return fail("create user", err)
	}
	if taken {
		return signoff.ErrEmailTaken
	}
	return fail("create user", errors.New("duplicate user ID"))
}

const userCols = `id, email, coalesce(password_hash, ''), auth_version, created_at, disabled`

// scanUser reads a row of userCols.
func scanUser(row pgx.Row) (*signoff.User, error) {
	var u signoff.User
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AuthVersion, &u.CreatedAt, &u.Disabled); err != nil {
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

func (s *Store) oneUser(ctx context.Context, col, key string) (*signoff.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = $1 AND email IS NOT NULL`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, fail("read user", err)
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
	return s.updateAccount(ctx, "set password", `UPDATE users SET password_hash = $2 WHERE id = $1 AND email IS NOT NULL`, userID, passwordHash)
}

// SetDisabled implements signoff.UserStore.
func (s *Store) SetDisabled(ctx context.Context, userID string, disabled bool) error {
	return s.updateAccount(ctx, "set disabled", `UPDATE users SET disabled = $2 WHERE id = $1 AND email IS NOT NULL`, userID, disabled)
}

// DeleteUser implements signoff.UserStore. The row stays, with the user's
// auth_version and nothing else, as a user of an application's own user
// table has it.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	return s.updateAccount(ctx, "delete user", `UPDATE users SET email = NULL, password_hash = NULL, disabled = false
		WHERE id = $1 AND email IS NOT NULL`, userID)
}

// updateAccount runs an UPDATE of one account: no row changed is
// ErrNotFound.
func (s *Store) updateAccount(ctx context.Context, op, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fail(op, err)
	}
	if tag.RowsAffected() == 0 {
		return signoff.ErrNotFound
	}
	return nil
}

// ListUsers implements signoff.UserStore.
func (s *Store) ListUsers(ctx context.Context) ([]*signoff.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE email IS NOT NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fail("list users", err)
	}
	defer rows.Close()
	out := []*signoff.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fail("list users", err)
		}
		out = append(out, u)
	}
	return out, fail("list users", rows.Err())
}

// DeleteUserSessions implements signoff.SessionDeleter. The refresh
// tokens go with their sessions (ON DELETE CASCADE).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fail("delete user sessions", err)
	}
	return int(tag.RowsAffected()), nil
}
