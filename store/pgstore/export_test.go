package pgstore

// CountLive is the query with which RevokeUserSessions counts the sessions
// it ends, for a test that reads its plan.
const CountLive = countLive
