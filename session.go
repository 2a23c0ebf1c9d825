package signoff

import (
	"context"
	"time"
)

// Mode is how a Manager carries a session to the client.
type Mode int

const (
	// ModeSession: an opaque session ID in an HttpOnly cookie; the session is
	// held server-side.
	ModeSession Mode = iota
	// ModeJWT: short-lived JWT access tokens (sent as Bearer tokens) minted
	// from a rotating opaque refresh token.
	ModeJWT
)

func (m Mode) String() string {
	if m == ModeJWT {
		return "jwt"
	}
	return "session"
}

// ParseMode parses "session" or "jwt".
func ParseMode(s string) (Mode, bool) {
	switch s {
	case "session":
		return ModeSession, true
	case "jwt":
		return ModeJWT, true
	}
	return 0, false
}

// A Session is one sign-in on one device. Every credential derives from one:
// the session cookie in session mode; in jwt mode the refresh-token family and
// the access tokens minted from it (whose sid claim is the session's ID).
//
// ID is public: it names the session in a device list and in access tokens.
// The secret that proves possession of the session is never stored; in
// session mode TokenHash is its SHA-256.
type Session struct {
	ID          string
	UserID      string
	TokenHash   Hash  // session mode only; zero in jwt mode
	AuthVersion int64 // the user's auth_version when the session began
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time // the absolute lifetime; never extended
	RevokedAt   time.Time // zero while live
	UserAgent   string
	IP          string
}

// Live reports whether s is neither revoked nor past its absolute lifetime at
// now. The idle timeout is the Manager's to judge.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// RefreshToken is one link of a session's refresh-token family (jwt mode).
// Only its hash is stored. A token is spent when it is rotated: RevokedAt is
// set and ReplacedBy names the child.
type RefreshToken struct {
	JTI        string
	SessionID  string
	Hash       Hash
	IssuedAt   time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
	ReplacedBy string
}

// Rotation is the outcome of Store.RotateRefreshToken.
type Rotation struct {
	Session *Session
	Child   *RefreshToken // as stored: its ExpiresAt never exceeds the session's
	Retry   bool          // a grace retry: Child was issued earlier, to the same parent
}

// Principal is who an authenticated request is from. Middleware puts it in
// the request context; read it with PrincipalFrom.
type Principal struct {
	UserID      string
	SessionID   string
	AuthVersion int64
	Mode        Mode
	// ExpiresAt is when the credential stops working without a refresh or a
	// new sign-in: the session's absolute lifetime, or the access token's exp.
	ExpiresAt time.Time
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal that middleware put in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// User is an account of signoff serve. The library itself needs only user
// IDs; applications that keep their own users never create these.
type User struct {
	ID           string
	Email        string
	PasswordHash string // a PHC string; see the server package
	AuthVersion  int64
	CreatedAt    time.Time
	// Disabled is set on an account an administrator disabled: it cannot
	// sign in until it is enabled again.
	Disabled bool
}
