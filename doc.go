// Package signoff owns the lifecycle of sign-in sessions for net/http
// servers, and makes sign-out final: when a logout answers, no credential of
// that session works again, on any instance.
//
// # The one concept: a Session
//
// A Session is one sign-in on one device. Every credential is derived from
// one, and dies with it:
//
//   - session mode (ModeSession): an opaque 256-bit secret in an HttpOnly
//     cookie (CookieSpec); the store keeps its SHA-256, never the secret;
//   - jwt mode (ModeJWT): short-lived JWT access tokens (package accesstoken)
//     carrying the session's public ID and the user's auth_version, and a
//     family of rotating refresh tokens, in an HttpOnly cookie for browsers
//     or the JSON body for native clients.
//
// Logout revokes this session; logout everywhere revokes every session of
// the user and raises the user's auth_version, so every access token minted
// before dies at once.
//
// # The Manager, one flow per file
//
//   - manager.go: Manager, New, Close, keys.
//   - config.go: Config and its defaults.
//   - login.go: Login, and minting access tokens.
//   - authenticate.go: Authenticate, behind the Require, RequireFunc and Optional
//     middleware (middleware.go).
//   - refresh.go: Refresh, rotation and reuse detection (invariant I5).
//   - revoke.go: Logout, LogoutAll, RevokeUser, RevokeSession,
//     LogoutOthers and RevokeOthers, in the order below.
//   - devices.go: a user's own sessions: Sessions, RevokeDevice.
//   - background.go: last-seen writes and the sweep of the cache.
//   - handlers.go: the flows' net/http handlers, and the JSON helpers they
//     answer with.
//   - credential.go: every way a credential is read from a request;
//     cookie.go: CookieSpec, how a cookie is set and deleted (I2).
//   - crossorigin.go: the cross-origin rule of unsafe requests (I3).
//   - cache.go: what an instance remembers, and the validity rule.
//   - hooks.go: Hooks and Stats, the seam for metrics and audit sinks.
//   - session.go, secret.go, errors.go: Session, Principal, Secret, errors;
//     store.go and bus.go: the Store and Bus contracts.
//
// # Invariants
//
// The design (DESIGN.md) numbers them; tests cite the numbers. I1: after a
// logout answers 2xx, no request with that session's cookie, refresh token
// or access token succeeds, on any instance. I2: one CookieSpec both sets and
// deletes a cookie. I3: logout is a POST, and cookie-authenticated unsafe
// requests must be same-origin. I4: logout always clears the client and
// never claims what it did not do. I5: refresh tokens rotate, and reuse
// revokes the family. I6: logout of one device leaves the others; logout
// everywhere raises the auth_version. I7: access tokens die with their
// session. I8: authenticated answers are never cached. I9: credentials are
// Secrets, printed as fingerprints. I10: time limits are the server's. I11:
// when the store cannot answer, signoff fails closed (503).
//
// # The hot path
//
// Authenticate answers a warm request from memory: a SHA-256 of the cookie
// (or of the token's signature) and a map lookup in the cache, then the
// validity rule (entry.dead): the entry's session is not revoked, its
// auth_version is not below the user's, and it has not expired. Memory
// answers only while the Bus is fresh (it is known to deliver every
// revocation) and no logout everywhere of the user is under way; otherwise
// the request reads through to the Store. Nothing is written on a request
// but a last-seen time, at most once per TouchInterval per session, in the
// background.
//
// # Revocation order
//
// A revocation the store has committed must never be missing from what the
// instances have applied, so the Manager always publishes on the Bus before
// it writes the Store, and answers only after the publishes it needs have
// returned:
//
//   - one session (Logout, RevokeDevice, RevokeSession, refresh-token
//     reuse; LogoutOthers and RevokeOthers, one session after another):
//     publish the session's Revocation, then revoke it in the store.
//     If either step fails the caller gets ErrUnavailable (503); the store
//     still says live, the client keeps its credential and retries, and the
//     instances that did apply it already refuse it.
//   - logout everywhere (LogoutAll, RevokeUser): the store hands out the new
//     auth_version, so it cannot be published first. Publish that a logout
//     everywhere of the user is pending (Revocation.Pending), during which
//     every instance reads the user's credentials through to the store;
//     write the store; then publish the new auth_version. A failure before
//     the store write is a 503 and revoked nothing. If the last publish is
//     lost, the logout did happen everywhere: it succeeds and is republished
//     in the background; an instance that never hears the end settles it
//     from the store's auth_version once the write can no longer land.
package signoff
