-- signoff schema, version 1, for PostgreSQL. It mirrors sqlitestore's.
-- Times are timestamptz (microseconds); NULL means "not yet" (revoked_at) or
-- "none" (replaced_by_jti, token_hash).

-- users holds accounts of signoff serve and the auth_version of every user
-- the library has seen. A row with a NULL email is a user that exists only
-- in an application's own user table: it carries an auth_version and nothing
-- else. CreateUser turns such a row into an account.
CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text CONSTRAINT users_email_key UNIQUE,
    password_hash text,
    auth_version  bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL
);

-- sessions: one sign-in on one device. token_hash is the SHA-256 of the
-- session cookie (session mode) and NULL in jwt mode.
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    user_id      text NOT NULL,
    token_hash   bytea CONSTRAINT sessions_token_hash_key UNIQUE,
    auth_version bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT ''
);
-- Logout everywhere and the device list find a user's sessions here.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

-- refresh_tokens: each session's family (jwt mode). A token is spent when it
-- has been rotated: revoked_at is set and replaced_by_jti names its child.
CREATE TABLE refresh_tokens (
    jti             text PRIMARY KEY,
    session_id      text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE,
    issued_at       timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    replaced_by_jti text
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- revocations is the bus between instances: every revocation an instance
-- makes, kept until no credential it names can still be presented
-- (until_at).
CREATE TABLE revocations (
    seq          bigserial PRIMARY KEY,
    origin       text NOT NULL,
    session_id   text NOT NULL DEFAULT '',
    user_id      text NOT NULL DEFAULT '',
    auth_version bigint NOT NULL DEFAULT 0,
    until_at     timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- instances: the processes that subscribe to revocations, how far each has
-- applied them, and when it last said so.
CREATE TABLE instances (
    id           text PRIMARY KEY,
    applied_seq  bigint NOT NULL,
    heartbeat_at timestamptz NOT NULL
);
