-- sessions_live_by_user lets logout everywhere count the sessions it ends
-- from the index alone. Logout everywhere writes only the user's
-- auth_version (a session whose auth_version is below its user's is over),
-- so counting is the only work it does per session, and this makes it a
-- range of one index, without reading a row. revoked_at is always NULL in
-- it; it is a column all the same because SQLite otherwise reads each row
-- to check the index's own condition.
CREATE INDEX sessions_live_by_user ON sessions (user_id, auth_version, expires_at, revoked_at) WHERE revoked_at IS NULL;
