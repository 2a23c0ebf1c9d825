-- disabled marks an account an administrator disabled (signoff.User's
-- Disabled): it cannot sign in until it is enabled again. 1 is disabled.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
