package signoff

import (
	"context"
	"time"
)

// Store keeps sessions, refresh-token families and each user's auth_version.
// Every method is safe for concurrent use. Times are passed in by the caller
// (the Manager's clock), so stores keep no clock of their own.
//
// A session is live at now while it is not revoked, now is before its
// ExpiresAt, and its AuthVersion is not below its user's auth_version. The
// last is how RevokeUserSessions ends every session of a user at once: it
// raises the auth_version and need not touch a session's record, so a
// session it ended may still show no RevokedAt. Every read below that asks
// for a live session applies all three.
//
// Errors: ErrNotFound for what does not exist, has expired or is revoked;
// *ReuseError from RotateRefreshToken; anything else is a system error that
// the Manager turns into ErrUnavailable (503). The conformance suite in
// store/storetest checks every rule written here.
type Store interface {
	// CreateSession stores s and, when rt is not nil, the first refresh token
	// of its family, in one atomic step. It sets s.AuthVersion to the user's
	// current auth_version (0 for a user it has never seen). IDs and hashes
	// are unique; a duplicate is a system error.
	CreateSession(ctx context.Context, s *Session, rt *RefreshToken) error

	// SessionByToken returns the session whose TokenHash is h. It returns
	// ErrNotFound when there is none or it is not live at now.
	SessionByToken(ctx context.Context, h Hash, now time.Time) (*Session, error)

	// Session returns the session with ID id under the same rules as
	// SessionByToken.
	Session(ctx context.Context, id string, now time.Time) (*Session, error)

	// ListSessions returns the user's sessions live at now, newest first.
	// A user with none gets an empty slice.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)

	// TouchSessions records activity: it sets the LastSeenAt of each
	// touch's session to its At unless that is already later (of several
	// touches of one session, the latest counts). A missing or revoked
	// session is skipped, not an error (one ended by RevokeUserSessions may
	// be skipped or written: it never comes back). The Manager writes the touches it
	// has gathered in one call, so a store should write them together: one
	// transaction, one round trip.
	TouchSessions(ctx context.Context, ts []Touch) error

	// RevokeSession revokes the session and every refresh token of its
	// family, at at. Revoking a session that does not exist or is already
	// revoked is not an error. It returns only system errors.
	RevokeSession(ctx context.Context, id string, at time.Time) error

	// RevokeUserSessions ends every session of the user, with its refresh
	// tokens, by incrementing the user's auth_version, in one atomic step:
	// from then on no read finds any of them live. It returns how many of
	// the user's sessions were live just before, and the new auth_version.
	// A user it has never seen gets auth_version 1 and 0 revoked.
	//
	// Its cost must not grow with the user's sessions (logout everywhere of
	// an account with 100,000 sessions is as quick as of one with one): it
	// writes the user's auth_version and no session's or token's record,
	// and counts the live sessions from an index. Sessions created after it
	// returns are live. Once it has returned, no refresh token of the
	// sessions it ended rotates, not even a child stored by a rotation that
	// overlapped it.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (revoked int, authVersion int64, err error)

	// AuthVersion returns the user's auth_version: 0 for a user it has never
	// seen.
	AuthVersion(ctx context.Context, userID string) (int64, error)

	// RefreshToken returns the refresh token whose hash is h, spent, revoked
	// or expired as it may be, as stored: a token whose session
	// RevokeUserSessions ended may show no RevokedAt (its session is not
	// live). ErrNotFound if there is none.
	RefreshToken(ctx context.Context, h Hash) (*RefreshToken, error)

	// RotateRefreshToken spends the refresh token whose hash is parent and
	// stores child (whose JTI, Hash, IssuedAt and ExpiresAt the caller
	// sets) as its successor, in one atomic step. The child's SessionID is
	// the parent's and its ExpiresAt is capped at the session's; the session's
	// LastSeenAt becomes child.IssuedAt. Exactly one of any number of
	// concurrent calls with the same parent rotates. The others, and any
	// later call, follow the grace rule of RFC 9700 §4.14.2 as signoff
	// refines it (invariant I5):
	//
	//   - parent unknown, or its session not live, or unspent but not
	//     before its ExpiresAt at child.IssuedAt: ErrNotFound;
	//   - parent spent, its successor is child.JTI, that successor is neither
	//     spent nor revoked, and child.IssuedAt is within grace of the moment
	//     the parent was spent: a Rotation with Retry set and the successor
	//     as first stored (the same child, never a new sibling);
	//   - parent spent in any other way: a *ReuseError naming the session.
	//     The store changes nothing; the caller revokes the family.
	RotateRefreshToken(ctx context.Context, parent Hash, child *RefreshToken, grace time.Duration) (*Rotation, error)

	// Ping reports whether the store can answer requests. It reads some of
	// the stored data the way a lookup does, not only the connection, and
	// stays cheap enough for a readiness probe (signoff serve's /readyz).
	Ping(ctx context.Context) error
}

// UserStore keeps the accounts of signoff serve.
type UserStore interface {
	// CreateUser stores u. An email already in use (compared as stored:
	// callers normalise) returns ErrEmailTaken.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail returns the user with that email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByID returns the user with that ID, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// SetPassword replaces the user's password hash. A user that does not
	// exist (no account: a row that only holds an auth_version is none)
	// is ErrNotFound. Setting the same hash again is not an error. It
	// changes nothing else: sessions are the caller's to end.
	SetPassword(ctx context.Context, userID, passwordHash string) error
	// ListUsers returns every account, oldest first (by CreatedAt, then
	// ID). A row that only holds an auth_version is no account and is left
	// out. A store with no accounts returns an empty slice.
	ListUsers(ctx context.Context) ([]*User, error)
	// SetDisabled sets or clears the user's Disabled flag. A user that does
	// not exist (as for SetPassword) is ErrNotFound. Setting the value the
	// flag already has is not an error. It changes nothing else: sessions
	// are the caller's to end.
	SetDisabled(ctx context.Context, userID string, disabled bool) error
	// DeleteUser deletes the account: UserByID and UserByEmail no longer
	// find it, ListUsers leaves it out, and its email is free for a new
	// account. The user's auth_version stays, as for a user that exists
	// only in an application's own user table, so an access token minted
	// before the user's last logout everywhere stays rejected. A user that
	// does not exist, or is already deleted, is ErrNotFound. Sessions are
	// the caller's to end (Manager.RevokeUser) and to delete
	// (SessionDeleter).
	DeleteUser(ctx context.Context, userID string) error
}

// SessionDeleter is a Store that can delete what it keeps of a user's
// sessions, for an account that is deleted. It is an extra ability, found
// by type assertion: a store whose records expire on their own (Redis's
// TTLs) need not have it.
type SessionDeleter interface {
	// DeleteUserSessions deletes every session of the user, live, expired
	// or revoked, with its refresh tokens, and returns how many sessions
	// it deleted. The user's auth_version stays. It revokes nothing: an
	// instance that holds a live session in memory would go on trusting
	// it, so the caller ends the sessions first (Manager.RevokeUser). A
	// user with no sessions is not an error.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
}

// Touch is activity seen on a session: a last-seen time for TouchSessions.
type Touch struct {
	SessionID string
	At        time.Time
}
