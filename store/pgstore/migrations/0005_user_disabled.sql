-- disabled marks an account an administrator disabled (signoff.User's
-- Disabled): it cannot sign in until it is enabled again.
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;
