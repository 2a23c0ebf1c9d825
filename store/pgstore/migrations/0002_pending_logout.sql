-- pending names a logout everywhere that is under way (signoff.Revocation's
-- Pending): published before the store write, so every instance reads the
-- user through to the store until the entry with the new auth_version
-- follows.
ALTER TABLE revocations ADD COLUMN pending text NOT NULL DEFAULT '';
