-- sessions_live_by_user lets logout everywhere count the sessions it ends
-- from the index: logout everywhere writes only the user's auth_version (a
-- session whose auth_version is below its user's is over), so counting is
-- the only work it does per session, and this makes it a range of one
-- index.
CREATE INDEX sessions_live_by_user ON sessions (user_id, auth_version, expires_at) WHERE revoked_at IS NULL;
