package pgstore

// RevokeUserTokens is the statement of RevokeUserSessions that revokes the
// refresh tokens, for a test that reads its plan.
const RevokeUserTokens = revokeUserTokens
