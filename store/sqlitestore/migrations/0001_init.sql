-- signoff schema, version 1. Times are unix microseconds (UTC); NULL means
-- "not yet" (revoked_at) or "none" (replaced_by_jti).

-- users holds accounts of signoff serve and the auth_version of every user
-- the library has seen. A row with a NULL email is a user that exists only
-- in an application's own user table: it carries an auth_version and nothing
-- else.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT UNIQUE,
    password_hash TEXT,
    auth_version  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- sessions: one sign-in on one device. token_hash is the SHA-256 of the
-- session cookie (session mode) and NULL in jwt mode.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    token_hash   BLOB UNIQUE,
    auth_version INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

-- refresh_tokens: each session's family (jwt mode). A token is spent when it
-- has been rotated: revoked_at is set and replaced_by_jti names its child.
CREATE TABLE refresh_tokens (
    jti             TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions (id),
    token_hash      BLOB NOT NULL UNIQUE,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    replaced_by_jti TEXT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- revocations is the bus between processes that share this file: every
-- revocation a process makes, kept until no credential it names can still
-- be presented (until_at).
CREATE TABLE revocations (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin       TEXT NOT NULL,
    session_id   TEXT NOT NULL DEFAULT '',
    user_id      TEXT NOT NULL DEFAULT '',
    auth_version INTEGER NOT NULL DEFAULT 0,
    until_at     INTEGER NOT NULL
);

-- instances: the processes that subscribe to revocations, how far each has
-- applied them, and when it last said so.
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    applied_seq  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
